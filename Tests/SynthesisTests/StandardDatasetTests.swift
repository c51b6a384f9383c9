import Foundation
import TestSupport
import XCTest
@testable import Synthesis

final class StandardDatasetTests: XCTestCase {
    /// The demo's default dataset: generation time and dozens of calls per class in each part.
    /// Release builds only (a debug build is many times slower).
    func testStandardDatasetSizeAndTiming() throws {
        #if DEBUG
        throw XCTSkip("timing is measured in release builds (swift test -c release -Xswiftc -enable-testing)")
        #else
        let directory = makeTemporaryDirectory("synthesis-standard")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let start = Date()
        let dataset = try SoundscapeGenerator.generate(.standard, into: directory, progress: nil)
        let seconds = Date().timeIntervalSince(start)
        var targeted: [String: Int] = [:], fieldTest: [String: Int] = [:], fieldTrain: [String: Int] = [:]
        var audioSeconds = 0.0
        for file in dataset.manifest.files {
            audioSeconds += file.duration
            for (code, n) in file.calls {
                switch file.part {
                case .targeted: targeted[code, default: 0] += n
                case .fieldTest: fieldTest[code, default: 0] += n
                case .fieldTrain: fieldTrain[code, default: 0] += n
                }
            }
        }
        print("standard dataset: \(dataset.manifest.files.count) files, \(Int(audioSeconds)) s of audio, generated in \(String(format: "%.2f", seconds)) s")
        print("calls: targeted \(targeted.sorted { $0.key < $1.key }), field test \(fieldTest.sorted { $0.key < $1.key }), field train \(fieldTrain.sorted { $0.key < $1.key })")
        XCTAssertLessThan(seconds, 15, "the standard dataset must generate in seconds")
        for code in dataset.targetClasses + [dataset.confusionClass] {
            XCTAssertGreaterThanOrEqual(targeted[code] ?? 0, 30, "\(code): too few targeted calls")
        }
        for code in dataset.targetClasses {
            XCTAssertGreaterThanOrEqual(fieldTest[code] ?? 0, 12, "\(code): too few field test calls")
        }
        XCTAssertGreaterThanOrEqual(fieldTest[dataset.confusionClass] ?? 0, 6)
        XCTAssertNil(fieldTrain.keys.first { dataset.targetClasses.contains($0) })
        #endif
    }
}
