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
