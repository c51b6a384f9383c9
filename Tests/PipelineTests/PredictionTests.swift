import Annotations
import ChorusCore
import Foundation
import Model
@testable import Pipeline
import Tensor
import TestSupport
import XCTest

final class PredictionTests: XCTestCase {
    func smallModel() throws -> ClassifierModel {
        var pp = Preprocessing()
        pp.sampleRate = 22000; pp.clipDuration = 3; pp.image.height = 48; pp.image.width = 48
        return ClassifierModel(network: try Network(architecture: .small, classes: 2, device: .cpu, seed: 5), classes: ["a", "b"], preprocessing: pp, loss: .bceWithLogits)
    }

    /// One row per clip of every file of the 24 h soundscape folder; an interrupted run resumed
    /// with --resume gives the same CSV as one uninterrupted run.
    func testSoundscapeFolderOneRowPerClipAndResumeEqualsUninterrupted() throws {
        let folder = try SharedData.path("audio/soundscape-24h")
        let dir = makeTemporaryDirectory("predict")
        let model = try smallModel()
        let files = try Predictor.audioFiles([folder])
        XCTAssertEqual(files.count, 48)
        var options = PredictionOptions()
        options.showProgress = false
        let full = try Predictor.predict(model: model, files: files, options: options, output: dir + "/full.csv", resume: false, device: .cpu)
        XCTAssertEqual(full.filesScored, 48)
        XCTAssertTrue(full.failures.isEmpty)
        let rows = try CSV.read(dir + "/full.csv")
        XCTAssertEqual(rows[0].fields, ["file", "start_time", "end_time", "a", "b"])
        // 10 s files, 3 s clips, final clip extended: 0,3,6,9 -> 4 clips per file.
        XCTAssertEqual(rows.count - 1, 48 * 4)
        XCTAssertEqual(Set(rows.dropFirst().map { $0.fields[0] }).count, 48)
        // Simulate a kill part-way through file 20: 19 finished files, 2 rows of the 20th, no done mark for it.
        let fullText = try String(contentsOfFile: dir + "/full.csv", encoding: .utf8)
        let lines = fullText.split(separator: "\n", omittingEmptySubsequences: false)
        try AtomicFile.write(lines[0..<(1 + 19 * 4 + 2)].joined(separator: "\n") + "\n", to: dir + "/part.csv")
        try AtomicFile.write(files[0..<19].joined(separator: "\n") + "\n", to: dir + "/part.csv.done")
        let resumed = try Predictor.predict(model: model, files: files, options: options, output: dir + "/part.csv", resume: true, device: .cpu)
        XCTAssertEqual(resumed.filesSkippedAsDone, 19)
        XCTAssertEqual(resumed.filesScored, 29)
        XCTAssertEqual(try String(contentsOfFile: dir + "/part.csv", encoding: .utf8), fullText)
        // A finished run's record seals its table: the SHA-256 and the row count merge checks.
        for table in ["full.csv", "part.csv"] {
            let record = try JSONDecoder().decode(Predictor.ScoresRecord.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/" + table.replacingOccurrences(of: ".csv", with: ".json"))))
            XCTAssertEqual(record.tableSHA256, SHA256.hex(string: fullText), table)
            XCTAssertEqual(record.rows, 48 * 4, table)
        }
    }

    func testUnreadableFilesAreReportedNotFatal() throws {
        let dir = makeTemporaryDirectory("predict-bad")
        try FileManager.default.createDirectory(atPath: dir + "/audio", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try SharedData.path("audio/veryshort.wav"), toPath: dir + "/audio/short.wav")
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/audio/broken.wav"))
        var options = PredictionOptions()
        options.showProgress = false
        let s = try Predictor.predict(model: try smallModel(), files: try Predictor.audioFiles([dir + "/audio"]), options: options,
                                      output: dir + "/scores.csv", resume: false, device: .cpu)
        XCTAssertEqual(s.filesScored, 1, "the 0.14 s file is padded to one clip")
        XCTAssertEqual(s.failures.count, 1)
        XCTAssertTrue(s.failures[0].file.hasSuffix("broken.wav"))
        XCTAssertEqual(try CSV.read(dir + "/scores.csv").count, 2)
        // An empty folder is a clear error.
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        XCTAssertThrowsError(try Predictor.audioFiles([dir + "/empty"])) { XCTAssertTrue("\($0)".contains("no audio files found"), "\($0)") }
    }

    /// On an OpenCL device the spectrograms come from the STFT kernels and the network runs there;
    /// the scores equal the CPU fallback's.
    func testOpenCLPredictionMatchesCPU() throws {
        guard let cl = try? Device.select("opencl") else {
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("CI needs POCL") }
            throw XCTSkip("no OpenCL device")
        }
        let dir = makeTemporaryDirectory("predict-cl")
        var model = try smallModel()
        model.preprocessing.image.minFrequency = 500
        model.preprocessing.image.maxFrequency = 8000
        try model.write(to: dir + "/m.model")
        let file = try SharedData.path("audio/birds_10s.wav")
        var options = PredictionOptions()
        options.showProgress = false
        var outputs: [[[String]]] = []
        for (name, device) in [("cpu", Device.cpu), ("cl", cl)] {
            let m = try ClassifierModel.load(dir + "/m.model", device: device)
            XCTAssertNotNil(try m.preprocessing.deviceSpectrogramSettings())
            try Predictor.predict(model: m, files: [file], options: options, output: dir + "/\(name).csv", resume: false, device: device)
            outputs.append(try CSV.read(dir + "/\(name).csv").map(\.fields))
        }
        XCTAssertEqual(outputs[0].count, outputs[1].count)
        for (a, b) in zip(outputs[0].dropFirst(), outputs[1].dropFirst()) {
            XCTAssertEqual(Array(a[0..<3]), Array(b[0..<3]))
            for k in 3..<a.count { XCTAssertEqual(Double(a[k])!, Double(b[k])!, accuracy: 2e-3, "\(a) vs \(b)") }
        }
    }
}
