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
        // What the network sees: up to 3 clips of TONE and 3 without a class, each clean and augmented,
        // at the network's input size, every picture present.
        XCTAssertTrue(html.contains("What the network sees"), html)
        XCTAssertEqual(html.components(separatedBy: "<figure class=\"sample\">").count - 1, 6, html)
        XCTAssertTrue(html.contains("The run's model, the one <code>predict --model &lt;run folder&gt;</code> uses, is the last epoch's weights"), html)
        try Self.checkPictures(in: html, folder: folder, count: 12, size: (32, 32))
    }

    /// `train --preview N` draws N clips per class as the network sees them and stops without training.
    func testPreviewDrawsTheNetworkInputsAndStops() throws {
        let f = try SafetyTests.fixture()
        let r = try CLI.run(SafetyTests.trainArguments(name: "preview", epochs: 5, extra: ["--preview", "2"]), in: f.dir)
        XCTAssertEqual(r.status, 0, r.output)
        let folder = "\(f.runs)/\(dateStamp())_preview"
        XCTAssertTrue(r.output.contains("preview: 4 training clips as the network sees them in epoch 1 → runs/\(dateStamp())_preview/preview.html"), r.output)
        XCTAssertFalse(r.output.contains("epoch 1:"), "no training: \(r.output)")
        for done in ["checkpoint.safetensors", "last.model", "metrics.csv"] { XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/" + done), done) }
        let html = try String(contentsOfFile: folder + "/preview.html", encoding: .utf8)
        XCTAssertTrue(html.contains("TONE") && html.contains("none"), html)
        try Self.checkPictures(in: html, folder: folder, count: 8, size: (32, 32))
        // The augmentation is visible: the clean and augmented pictures of a clip differ.
        let pngs = try FileManager.default.contentsOfDirectory(atPath: folder + "/preview").sorted()
        let clean = try XCTUnwrap(pngs.first { $0.hasSuffix("_clean.png") })
        XCTAssertNotEqual(FileManager.default.contents(atPath: folder + "/preview/" + clean),
                          FileManager.default.contents(atPath: folder + "/preview/" + clean.replacingOccurrences(of: "_clean", with: "_augmented")))
        let bad = try CLI.run(SafetyTests.trainArguments(name: "preview", epochs: 5, extra: ["--preview", "0"]), in: f.dir)
        XCTAssertEqual(bad.status, 64, bad.output)
        XCTAssertTrue(bad.output.contains("--preview must be between 1 and 1000"), bad.output)
    }

    /// Every `<img src>` of `html` names a PNG under `folder` of the given size; `count` of them.
    static func checkPictures(in html: String, folder: String, count: Int, size: (height: Int, width: Int)?,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let sources = html.components(separatedBy: "<img ").dropFirst().compactMap { tag -> String? in
            guard let r = tag.range(of: "src=\"") else { return nil }
            return String(tag[r.upperBound...].prefix { $0 != "\"" })
        }
        XCTAssertEqual(sources.count, count, "pictures", file: file, line: line)
        for src in sources {
            let data = try XCTUnwrap(FileManager.default.contents(atPath: folder + "/" + src), src, file: file, line: line)
            XCTAssertEqual(Array(data.prefix(4)), [0x89, 0x50, 0x4E, 0x47], src, file: file, line: line)
            if let size {
                let be = { (o: Int) in data[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
                XCTAssertEqual(be(16), size.width, src, file: file, line: line)
                XCTAssertEqual(be(20), size.height, src, file: file, line: line)
            }
        }
    }
}

/// The clips to review can be seen and heard in the evaluation report.
final class ReviewMediaTests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("train-gpu binary not built at \(CLI.binary)") }
    }

    nonisolated(unsafe) static var exported: (folder: String, output: String)?

    /// The fixture model's scores of two recordings, evaluated with `--export-clips` (once per
    /// test run; the review and browser tests both read it).
    static func exportedEvaluation() throws -> (folder: String, output: String) {
        if let exported { return exported }
        let f = try SafetyTests.fixture()
        let scores = f.dir + "/review-scores.csv"
        let p = try CLI.run(["predict", "--model", f.model, f.recordings[4], f.recordings[5], "--final-clip", "none", "--overwrite", "--out", scores])
        guard p.status == 0 else { throw NSError(domain: "predict", code: Int(p.status), userInfo: [NSLocalizedDescriptionKey: p.output]) }
        let out = f.dir + "/review-eval"
        let e = try CLI.run(["evaluate", "--scores", scores, "--labels", f.dir + "/validation.csv", "--review", "2", "--export-clips", "--out", out])
        guard e.status == 0 else { throw NSError(domain: "evaluate", code: Int(e.status), userInfo: [NSLocalizedDescriptionKey: e.output]) }
        exported = (out, e.output)
        return (out, e.output)
    }

    func testReviewClipsHaveAPlayerAndASpectrogramWithContext() throws {
        let f = try SafetyTests.fixture()
        let (out, output) = try Self.exportedEvaluation()
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        let audios = html.components(separatedBy: "<audio controls").count - 1
        let images = html.components(separatedBy: "<img ").count - 1
        let modelViews = html.components(separatedBy: "<img class=\"model-view\"").count - 1
        XCTAssertGreaterThan(audios, 0, html)
        XCTAssertEqual(images, 2 * audios, "each clip with its picture and the model's view")
        XCTAssertEqual(modelViews, audios, "the model's view of each clip, the model found through <scores>.json")
        XCTAssertTrue(output.contains("and the model's view (\(f.model))"), output)
        // The model's view is the network's input: 32x32, as the fixture's model was trained.
        let views = html.components(separatedBy: "<img class=\"model-view\"").dropFirst().map { String($0.components(separatedBy: "src=\"")[1].prefix { $0 != "\"" }) }
        for v in views {
            let data = try Data(contentsOf: URL(fileURLWithPath: out + "/" + v))
            XCTAssertEqual(data[16..<24].map { Int($0) }, [0, 0, 0, 32, 0, 0, 0, 32], v)
        }
        // How to feed the review back into training.
        XCTAssertTrue(html.contains("After the review") && html.contains("--hard-negatives hard_negatives.csv"), html)
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

/// The review goes back into training: `train --hard-negatives` adds evaluate's table of
/// unlabelled high-scoring clips to the training clips as negatives.
final class HardNegativeTrainingTests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("train-gpu binary not built at \(CLI.binary)") }
    }

    func testHardNegativesJoinTheTrainingClipsAndLabelledRowsAreRefused() throws {
        let f = try SafetyTests.fixture()
        // Relative to their own table, as evaluate writes them beside its report.
        try FileManager.default.createDirectory(atPath: f.dir + "/review", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.recordings[4], toPath: f.dir + "/review/field.wav")
        try "file,start_time,end_time,TONE\nfield.wav,0.0,1.0,0\nfield.wav,2.0,3.0,0\n".write(toFile: f.dir + "/review/hard_negatives.csv", atomically: true, encoding: .utf8)
        let r = try CLI.run(SafetyTests.trainArguments(name: "hard", epochs: 1, extra: ["--hard-negatives", "review/hard_negatives.csv"]), in: f.dir)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("18 training clips (2 of them hard negatives)"), r.output)
        let folder = "\(f.runs)/\(dateStamp())_hard"
        XCTAssertEqual(try String(contentsOfFile: folder + "/hard_negatives.csv", encoding: .utf8).components(separatedBy: "\n").filter { !$0.isEmpty }.count, 3)
        let config = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("hard_negatives.csv"), "its hash is recorded: \(config)")

        try "file,start_time,end_time,TONE\nfield.wav,0.0,1.0,0\nfield.wav,1.0,2.0,1\n".write(toFile: f.dir + "/review/labelled.csv", atomically: true, encoding: .utf8)
        let bad = try CLI.run(SafetyTests.trainArguments(name: "hard-bad", epochs: 1, extra: ["--hard-negatives", "review/labelled.csv"]), in: f.dir)
        XCTAssertEqual(bad.status, 64, bad.output)
        XCTAssertTrue(bad.output.contains("--hard-negatives review/labelled.csv line 3 labels TONE present"), bad.output)
    }
}

/// Both reports open in a browser as a person would open them: every picture and audio player
/// loads and the page logs no error (headless Chromium, `scripts/check-report`). Where no Chromium
/// is installed, the pages are checked as text: tags balanced, every referenced file present. CI
/// installs Chromium (scripts/setup), so there the browser check must run.
final class ReportInBrowserTests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("train-gpu binary not built at \(CLI.binary)") }
    }

    static var checker: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/check-report").path
    }

    func testEvaluationAndTrainingReportsLoadEveryPictureAndPlayer() throws {
        let f = try SafetyTests.fixture()
        let evaluation = try ReviewMediaTests.exportedEvaluation().folder
        let run = (f.model as NSString).deletingLastPathComponent
        for report in [evaluation + "/report.html", run + "/report.html"] {
            let html = try String(contentsOfFile: report, encoding: .utf8)
            XCTAssertEqual(Self.unbalancedTags(html), [], report)
            let folder = (report as NSString).deletingLastPathComponent
            for src in Self.references(html) { XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/" + src), "\(report): \(src)") }
            let p = Process(), pipe = Pipe()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [Self.checker, report]
            p.standardOutput = pipe; p.standardError = pipe
            try p.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            if p.terminationStatus == 2 {
                XCTAssertNil(ProcessInfo.processInfo.environment["CI"], "CI installs Chromium (scripts/setup): \(output)")
                continue
            }
            XCTAssertEqual(p.terminationStatus, 0, "\(report): \(output)")
            let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], output)
            let images = result["images"] as? Int ?? 0, audio = result["audio"] as? Int ?? 0
            XCTAssertEqual(result["problems"] as? [String], [], output)
            if report.hasPrefix(evaluation) {
                XCTAssertGreaterThan(audio, 0, output)
                XCTAssertEqual(images, 2 * audio, "the model's view and the context picture of each clip: \(output)")
            } else {
                XCTAssertEqual(images, 12, "6 preview clips, clean and augmented: \(output)")
            }
        }
    }

    /// `src` and `href` values that name files (not anchors or web addresses).
    static func references(_ html: String) -> [String] {
        ["src=\"", "href=\""].flatMap { key in
            html.components(separatedBy: key).dropFirst().map { String($0.prefix { $0 != "\"" }) }
        }.filter { !$0.hasPrefix("#") && !$0.contains("://") && !$0.hasPrefix("data:") && !$0.isEmpty }
    }

    /// Elements opened and not closed (or closed without being opened), void elements aside.
    static func unbalancedTags(_ html: String) -> [String] {
        let void: Set<String> = ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "!doctype"]
        var stack: [String] = [], problems: [String] = []
        var rest = Substring(html)
        // Inline SVG is XML: its self-closing elements end with "/>".
        while let open = rest.firstIndex(of: "<") {
            guard let close = rest[open...].firstIndex(of: ">") else { problems.append("unterminated tag"); break }
            let tag = rest[rest.index(after: open)..<close]
            rest = rest[rest.index(after: close)...]
            if tag.hasPrefix("!--") || tag.hasSuffix("/") { continue }
            let name = tag.prefix { !$0.isWhitespace }.lowercased()
            if name.hasPrefix("/") {
                let n = String(name.dropFirst())
                if stack.last == n { stack.removeLast() } else { problems.append("</\(n)> closes <\(stack.last ?? "nothing")>"); if let i = stack.lastIndex(of: n) { stack.removeSubrange(i...) } }
            } else if !void.contains(name) {
                stack.append(name)
                if name == "style" || name == "script" {
                    // Their text is not markup.
                    guard let end = rest.range(of: "</\(name)>") else { problems.append("unclosed <\(name)>"); break }
                    rest = rest[end.lowerBound...]
                }
            }
        }
        return problems + stack.map { "<\($0)> never closed" }
    }
}
