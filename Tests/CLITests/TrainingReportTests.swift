import Audio
import ChorusCore
import Foundation
import XCTest

/// Every run folder has a report.html with the learning curves, rewritten after each epoch.
final class TrainingReportTests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("train-gpu binary not built at \(CLI.binary)") }
    }

    func testRunFolderHasAReportWithCurvesDataAndProvenance() throws {
        let f = try SafetyTests.fixture()
        let r = try CLI.run(SafetyTests.trainArguments(name: "report", epochs: 2, extra: ["--note", "<script>alert(1)</script> & more"]), in: f.dir)
        XCTAssertEqual(r.status, 0, r.output)
        let folder = "\(f.runs)/\(dateStamp())_report"
        let html = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 3, "loss, AP and learning-rate charts")
        XCTAssertTrue(html.contains("2 of 2 epochs (finished)"), html)
        XCTAssertTrue(html.contains("best ") && html.contains("★"), "the best epoch is marked")
        XCTAssertTrue(html.contains("train.csv") && html.contains("validation.csv") && html.contains("TONE"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"), "the note is escaped")
        XCTAssertFalse(html.contains("<script>"), "no script in the page")
        // Two epoch rows, each with its throughput.
        XCTAssertEqual(html.components(separatedBy: "samples/s").count - 1, 1)
        let rows = html.components(separatedBy: "<tr").filter { $0.contains("%</td></tr>") }
        XCTAssertEqual(rows.count, 2, "one row per epoch")
    }
}

/// The clips to review can be seen and heard in the evaluation report.
final class ReviewMediaTests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("train-gpu binary not built at \(CLI.binary)") }
    }

    func testReviewClipsHaveAPlayerAndASpectrogramWithContext() throws {
        let f = try SafetyTests.fixture()
        let scores = f.dir + "/review-scores.csv"
        var r = try CLI.run(["predict", "--model", f.model, f.recordings[4], f.recordings[5], "--final-clip", "none", "--overwrite", "--out", scores])
        XCTAssertEqual(r.status, 0, r.output)
        let out = f.dir + "/review-eval"
        r = try CLI.run(["evaluate", "--scores", scores, "--labels", f.dir + "/validation.csv", "--review", "2", "--export-clips", "--out", out])
        XCTAssertEqual(r.status, 0, r.output)
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        let audios = html.components(separatedBy: "<audio controls").count - 1
        let images = html.components(separatedBy: "<img ").count - 1
        XCTAssertGreaterThan(audios, 0, html)
        XCTAssertEqual(audios, images, "each clip with its picture")
        // Every referenced file exists, relative to the report (the folder works when copied).
        for piece in html.components(separatedBy: "src=\"").dropFirst() {
            let path = String(piece.prefix { $0 != "\"" })
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + path), path)
        }
        // A clip inside its recording comes with a second of context on each side.
        let wavs = try FileManager.default.subpathsOfDirectory(atPath: out + "/review_clips").filter { $0.hasSuffix(".wav") }
        let inner = try XCTUnwrap(wavs.first { $0.contains("_1.000-2.000s") || $0.contains("_2.000-3.000s") }, "\(wavs)")
        XCTAssertEqual(try AudioFile.info(out + "/review_clips/" + inner).duration, 3, accuracy: 0.01)
        let png = try Data(contentsOf: URL(fileURLWithPath: out + "/review_clips/" + (inner as NSString).deletingPathExtension + ".png"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
    }
}
