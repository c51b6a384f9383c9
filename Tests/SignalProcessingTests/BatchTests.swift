import ChorusCore
import Foundation
import TestSupport
import XCTest
@testable import SignalProcessing

final class BatchTests: XCTestCase {
    func testRibbitBatchScoresInParallelSkipsBadFilesAndPlots() throws {
        let toad = try SharedData.path("audio/great_plains_toad.wav")
        let forest = try SharedData.path("audio/1min.wav")
        let empty = try SharedData.path("audio/empty_2c.wav")
        let directory = makeTemporaryDirectory("ribbit-batch")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let plots = (directory as NSString).appendingPathComponent("plots")
        let report = try RibbitBatch.run(files: [toad, empty, forest], parameters: .greatPlainsToad, workers: 2, plotDirectory: plots)
        XCTAssertEqual(report.files.map(\.path), [toad, forest])
        XCTAssertEqual(report.failures.map(\.path), [empty])
        XCTAssertTrue(report.failures.first?.reason.contains("shorter than one spectrogram window") ?? false)
        let single = try Ribbit.scores(file: toad, parameters: .greatPlainsToad)
        XCTAssertEqual(report.files.first?.clips, single.clips, "parallel run equals a single run")

        let rows = CSV.parse(RibbitBatch.csv(report))
        XCTAssertEqual(rows.first?.fields, ["file", "start_time", "end_time", "score"])
        XCTAssertEqual(rows.count, 1 + 30 + 23)
        XCTAssertEqual(rows[1].fields[0], forest, "sorted by file")
        XCTAssertEqual(rows[1].fields[1], "0.0")
        XCTAssertEqual(rows.last?.fields[1], "44.0")
        for name in ["great_plains_toad.png", "1min.png"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: (plots as NSString).appendingPathComponent(name)))
            XCTAssertEqual(Array(data.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        }
        XCTAssertEqual(RibbitBatch.plotFileNames(["/a/x.wav", "/b/x.flac", "/c/y.wav"])["/c/y.wav"], "y.png")
        XCTAssertNotEqual(RibbitBatch.plotFileNames(["/a/x.wav", "/b/x.flac"])["/a/x.wav"], "x.png")
    }

    func testGrouseBatchCSV() throws {
        let drum = try SharedData.path("audio/rugr_drum.wav")
        let birds = try SharedData.path("audio/birds_10s.wav")
        let report = try GrouseBatch.run(files: [birds, drum, "/nonexistent.wav"], parameters: GrouseParameters(), workers: 3)
        XCTAssertEqual(report.failures.map(\.path), ["/nonexistent.wav"])
        let rows = CSV.parse(GrouseBatch.csv(report))
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0].fields, ["file", "start_time", "end_time", "beats", "beat_times"])
        let fields = rows[1].fields
        XCTAssertEqual(fields[0], drum)
        let beats = fields[4].split(separator: ";").compactMap { Double($0) }
        XCTAssertEqual(beats.count, Int(fields[3]))
        XCTAssertEqual(beats.first ?? 0, Double(fields[1]) ?? -1, accuracy: 1e-9)
    }

    /// RIBBIT over the 24 h soundscape folder (48 recordings of 10 s); prints seconds per hour of audio.
    func testBenchmarkRibbitOnSoundscapeFolder() throws {
        let folder = try SharedData.path("audio/soundscape-24h")
        let (seconds, hours) = try Ribbit.benchmarkRibbit(folder: folder)
        print("RIBBIT benchmark: \(String(format: "%.3f", seconds)) s for \(String(format: "%.4f", hours)) h of audio = \(String(format: "%.2f", seconds / hours)) s per hour of audio")
        XCTAssertEqual(hours, 48 * 10 / 3600, accuracy: 0.01)
        XCTAssertGreaterThan(seconds, 0)
    }
}
