import Foundation
import TestSupport
@testable import Synthesis

/// The quick dataset, generated once for all tests that only read it.
enum QuickDatasetFixture {
    struct Generated {
        let dataset: GeneratedDataset
        let seconds: Double
    }

    static let shared: Result<Generated, Error> = Result {
        let directory = makeTemporaryDirectory("synthesis-quick")
        let start = Date()
        let dataset = try SoundscapeGenerator.generate(.quick, into: directory, progress: nil)
        return Generated(dataset: dataset, seconds: Date().timeIntervalSince(start))
    }

    static func dataset() throws -> GeneratedDataset { try shared.get().dataset }
}
