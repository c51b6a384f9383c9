import Foundation
import TestSupport
import XCTest

/// Replays the fuzz seed corpus and every input the fuzzer ever crashed on (Tests/FuzzTests/
/// Crashes/<target>/, kept forever) through the same readers as `scripts/fuzz`. A crash fails
/// the whole test run; a slow input fails its test.
final class FuzzRegressionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    func inputs(_ target: FuzzTarget) throws -> [URL] {
        var out: [URL] = []
        for folder in ["Corpus", "Crashes"] {
            let dir = Self.root.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            out += names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
        }
        return out
    }

    func replay(_ target: FuzzTarget, expectAccepted: Set<String> = []) throws {
        let scratch = makeTemporaryDirectory("fuzz-\(target.rawValue)")
        let files = try inputs(target)
        XCTAssertFalse(files.isEmpty, "the seed corpus of \(target.rawValue) is missing")
        for file in files {
            let start = Date()
            let outcome = target.run(try Data(contentsOf: file), scratch: scratch)
            XCTAssertLessThan(Date().timeIntervalSince(start), 10, "\(file.lastPathComponent): \(outcome)")
            // The seed corpus is made of good files: each must be read, not refused.
            if file.path.contains("/Corpus/") { XCTAssertFalse(outcome.hasPrefix("refused"), "\(file.lastPathComponent): \(outcome)") }
        }
    }

    func testRavenTables() throws { try replay(.raven) }
    func testAudacityLabels() throws { try replay(.audacity) }
    func testLabelsTables() throws { try replay(.labels) }
    func testSafetensorsFiles() throws { try replay(.safetensors) }
    func testAudioFiles() throws { try replay(.audio) }
}
