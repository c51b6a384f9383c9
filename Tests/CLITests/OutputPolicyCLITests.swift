import ChorusCore
import Foundation
import TestSupport
import XCTest

/// One output policy for every command (README, "What is never lost"): no output is an input or
/// an input's record, no two outputs share a file, finished work is replaced only with
/// --overwrite, one writer at a time. Each test is a case that lost data before, through the
/// real `train-gpu` on SafetyTests' small dataset.
final class OutputPolicyCLITests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else {
            throw XCTSkip("train-gpu binary not built at \(CLI.binary)")
        }
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }
    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// A fresh folder inside the fixture's (its tables name the recordings by absolute path).
    func folder(_ name: String) throws -> String {
        let f = try SafetyTests.fixture()
        let dir = f.dir + "/" + name
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A copy of the fixture's training run folder, and its model.
    func runFolderCopy(_ name: String) throws -> String {
        let f = try SafetyTests.fixture()
        let copy = try folder(name) + "/run"
        try FileManager.default.copyItem(atPath: (f.model as NSString).deletingLastPathComponent, toPath: copy)
        return copy
    }

    /// Every regular file under `dir` with its bytes.
    func snapshot(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for rel in try FileManager.default.subpathsOfDirectory(atPath: dir) where !rel.hasPrefix(".") && !rel.contains("/.") {
            if let d = bytes(dir + "/" + rel) { out[rel] = d }
        }
        return out
    }

    static let ravenTable = "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tAnnotation\n"
        + "1\tSpectrogram 1\t1\t1.0\t2.0\t1000\t3000\tTONE\n"

    // MARK: 1. predict --raven-out into the recordings' folder

    /// `predict --raven-out <audio folder>` replaced the user's own Raven tables with detections.
    func testPredictKeepsRavenTablesItDidNotWrite() throws {
        let f = try SafetyTests.fixture()
        let dir = try folder("raven-in-audio")
        for k in 0..<2 { try FileManager.default.copyItem(atPath: f.recordings[k], toPath: dir + "/rec\(k).wav") }
        let handMade = dir + "/rec0.Table.1.selections.txt"
        try Self.ravenTable.write(toFile: handMade, atomically: true, encoding: .utf8)
        let scores = dir + "/../raven-in-audio-scores.csv"
        try? FileManager.default.removeItem(atPath: scores)
        var r = try CLI.run(["predict", "--model", f.model, dir, "--threshold", "0.5", "--raven-out", dir, "--device", "cpu", "--out", scores])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("--raven-out table \(handMade) exists and holds finished work"), r.output)
        XCTAssertEqual(try String(contentsOfFile: handMade, encoding: .utf8), Self.ravenTable, "the hand-made table is kept")
        XCTAssertFalse(exists(dir + "/rec1.Table.1.selections.txt"), "refused before anything was written")
        XCTAssertFalse(exists(scores), "refused before anything was written")
        // Asked for, it is replaced.
        r = try CLI.run(["predict", "--model", f.model, dir, "--threshold", "0.5", "--raven-out", dir, "--device", "cpu", "--overwrite", "--out", scores])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertNotEqual(try String(contentsOfFile: handMade, encoding: .utf8), Self.ravenTable)
    }

    // MARK: 2. the records beside the outputs

    /// `balance labels.csv --out labels.tsv` replaced the input's own record labels.json.
    func testAnOutputsRecordMayNotBeAnInputsRecord() throws {
        let f = try SafetyTests.fixture()
        let dir = try folder("records")
        try FileManager.default.copyItem(atPath: f.dir + "/train.csv", toPath: dir + "/labels.csv")
        let record = "{\"step\": \"labels\"}\n"
        try record.write(toFile: dir + "/labels.json", atomically: true, encoding: .utf8)
        for extra in [[], ["--overwrite"]] {
            let r = try CLI.run(["balance", "labels.csv", "--seed", "1", "--no-check-files", "--no-silence-check", "--out", "labels.tsv"] + extra, in: dir)
            XCTAssertNotEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("the record of --out labels.json is the input labels.json"), r.output)
            XCTAssertEqual(try String(contentsOfFile: dir + "/labels.json", encoding: .utf8), record)
            XCTAssertFalse(exists(dir + "/labels.tsv"))
        }
    }

    /// `split --out-train s.csv --out-validation s.tsv`: both records were s.json, the training one lost.
    func testTwoOutputsMayNotShareARecord() throws {
        let f = try SafetyTests.fixture()
        let dir = try folder("shared-record")
        let r = try CLI.run(["split", f.dir + "/train.csv", "--seed", "1", "--no-check-files", "--out-train", "s.csv", "--out-validation", "s.tsv"], in: dir)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("the record of --out-validation s.json is also the record of --out-train"), r.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }, [], "nothing written")
    }

    /// `predict --model RUN --out RUN/summary.csv` replaced the run's summary.json, after which
    /// `--model RUN` failed; `--out RUN/config.csv` its config.json.
    func testTheRunFolderAModelComesFromIsAnInput() throws {
        let f = try SafetyTests.fixture()
        let run = try runFolderCopy("run-as-input")
        let before = try snapshot(run)
        for (model, out) in [(run, "summary.csv"), (run, "config.csv"), (run + "/best.model", "config.csv"), (run, "metrics.csv")] {
            for extra in [[], ["--overwrite"]] {
                let r = try CLI.run(["predict", "--model", model, f.recordings[0], "--device", "cpu", "--out", run + "/" + out] + extra)
                XCTAssertNotEqual(r.status, 0, "\(out) \(extra): \(r.output)")
                XCTAssertTrue(r.output.contains("would destroy the input"), r.output)
            }
        }
        XCTAssertEqual(try snapshot(run), before, "the run folder is as it was")
        let r = try CLI.run(["predict", "--model", run, f.recordings[0], "--device", "cpu", "--out", run + "/../after.csv"])
        XCTAssertEqual(r.status, 0, r.output)
    }

    // MARK: 3. evaluate

    /// `evaluate --out X` replaced its own inputs X/thresholds.csv and X/review_TONE.csv, and
    /// `--out RUN` the run's report.html, ignoring the run folder's lock.
    func testEvaluateChecksEveryFileItWrites() throws {
        let f = try SafetyTests.fixture()
        let dir = try folder("evaluate")
        let scores = dir + "/scores.csv"
        var r = try CLI.run(["predict", "--model", f.model, f.recordings[4], f.recordings[5], "--device", "cpu", "--out", scores])
        XCTAssertEqual(r.status, 0, r.output)
        let x = dir + "/X"
        try FileManager.default.createDirectory(atPath: x, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.dir + "/validation.csv", toPath: x + "/thresholds.csv")
        try FileManager.default.copyItem(atPath: scores, toPath: x + "/review_TONE.csv")
        let inputs = try snapshot(x)
        for extra in [[], ["--overwrite"]] {
            r = try CLI.run(["evaluate", "--scores", x + "/review_TONE.csv", "--labels", x + "/thresholds.csv", "--out", x] + extra)
            XCTAssertNotEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("would destroy the input"), r.output)
            XCTAssertEqual(try snapshot(x), inputs, "both inputs kept, nothing else written")
        }
        // A training run's folder: its report.html is finished work; its lock is respected.
        let run = try runFolderCopy("evaluate-run")
        let report = bytes(run + "/report.html")
        r = try CLI.run(["evaluate", "--scores", scores, "--labels", f.dir + "/validation.csv", "--out", run])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("report.html exists and holds finished work; pass --overwrite"), r.output)
        XCTAssertEqual(bytes(run + "/report.html"), report)
        XCTAssertFalse(exists(run + "/metrics.json"), "nothing written")
        try OutputLock.acquire(for: run, isFolder: true)  // this process is "training" into it
        r = try CLI.run(["evaluate", "--scores", scores, "--labels", f.dir + "/validation.csv", "--overwrite", "--out", run])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("is being written by process \(getpid())"), r.output)
        XCTAssertEqual(bytes(run + "/report.html"), report)
        // predict into that folder waits for it too.
        r = try CLI.run(["predict", "--model", f.model, f.recordings[4], "--device", "cpu", "--out", run + "/new-scores.csv"])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("is being written by process \(getpid())"), r.output)
        XCTAssertFalse(exists(run + "/new-scores.csv"))
    }

    // MARK: 4. one overwrite policy for every command

    /// labels, balance, split, ribbit, grouse, spectrogram and evaluate replaced an existing
    /// --out without a word; only predict and merge refused. Now every command refuses (output
    /// untouched) and replaces it with --overwrite.
    func testEveryCommandKeepsAnExistingOutputUnlessOverwrite() throws {
        let f = try SafetyTests.fixture()
        let dir = try folder("overwrite")
        try Self.ravenTable.write(toFile: dir + "/rec0.Table.1.selections.txt", atomically: true, encoding: .utf8)
        let commands: [(args: [String], outputs: [String])] = [
            (["labels", "--raven", "rec0.Table.1.selections.txt", "--duration", "4", "--clip-duration", "1", "--out", "l.csv"], ["l.csv", "l.json"]),
            (["balance", f.dir + "/train.csv", "--seed", "1", "--no-silence-check", "--no-check-files", "--out", "b.csv"], ["b.csv", "b.json"]),
            (["split", f.dir + "/train.csv", "--seed", "1", "--no-check-files", "--out-train", "t.csv", "--out-validation", "v.csv"],
             ["t.csv", "t.json", "v.csv", "v.json"]),
            (["ribbit", f.recordings[0], "--signal-band", "1900", "2400", "--pulse-rate-range", "8", "20", "--out", "rb.csv"], ["rb.csv", "rb.json"]),
            (["grouse", f.recordings[0], "--out", "gr.csv"], ["gr.csv", "gr.json"]),
            (["spectrogram", f.recordings[0], "--out", "s.png"], ["s.png"]),
            (["predict", "--model", f.model, f.recordings[4], f.recordings[5], "--device", "cpu", "--out", "p.csv"], ["p.csv", "p.json", "p.csv.done"]),
            (["evaluate", "--scores", "p.csv", "--labels", f.dir + "/validation.csv", "--out", "ev"],
             ["ev/metrics.json", "ev/report.html", "ev/thresholds.csv"]),
        ]
        for c in commands {
            var r = try CLI.run(c.args, in: dir)
            XCTAssertEqual(r.status, 0, "\(c.args[0]): \(r.output)")
            // Mark every output so a replacement shows.
            for o in c.outputs { try Data("earlier work of \(o)\n".utf8).write(to: URL(fileURLWithPath: dir + "/" + o)) }
            r = try CLI.run(c.args, in: dir)
            XCTAssertNotEqual(r.status, 0, "\(c.args[0]) replaced its output: \(r.output)")
            XCTAssertTrue(r.output.contains("exists and holds finished work") && r.output.contains("--overwrite"), "\(c.args[0]): \(r.output)")
            for o in c.outputs { XCTAssertEqual(bytes(dir + "/" + o), Data("earlier work of \(o)\n".utf8), "\(c.args[0]): \(o)") }
            r = try CLI.run(c.args + ["--overwrite"], in: dir)
            XCTAssertEqual(r.status, 0, "\(c.args[0]) --overwrite: \(r.output)")
            for o in c.outputs { XCTAssertNotEqual(bytes(dir + "/" + o), Data("earlier work of \(o)\n".utf8), "\(c.args[0]): \(o)") }
        }
        // A record alone (its table removed by hand) is finished work too.
        for c in commands where c.outputs.count > 1 && c.args[0] != "evaluate" {
            try FileManager.default.removeItem(atPath: dir + "/" + c.outputs[0])
            let r = try CLI.run(c.args, in: dir)
            XCTAssertNotEqual(r.status, 0, "\(c.args[0]): \(r.output)")
            XCTAssertTrue(r.output.contains("exists and holds finished work"), "\(c.args[0]): \(r.output)")
            XCTAssertFalse(exists(dir + "/" + c.outputs[0]), c.args[0])
        }
        // The demo refuses a folder holding an earlier demo's outputs before it makes anything.
        try FileManager.default.createDirectory(atPath: dir + "/demo/labels", withIntermediateDirectories: true)
        let r = try CLI.run(["demo", "--quick", "--device", "cpu", "--out", dir + "/demo"])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("--overwrite"), r.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/demo"), ["labels"])
    }

    // MARK: 5. a recording given twice

    /// `predict DIR DIR/r0.wav ./r0.wav` scored r0.wav three times, and evaluate then refused the
    /// table; ribbit kept `./r0.wav` beside `r0.wav` too.
    func testAFileGivenTwiceIsProcessedOnce() throws {
        let f = try SafetyTests.fixture()
        let dir = try folder("twice")
        try FileManager.default.copyItem(atPath: f.recordings[0], toPath: dir + "/rec0.wav")
        try FileManager.default.copyItem(atPath: f.recordings[1], toPath: dir + "/rec1.wav")
        try FileManager.default.linkItem(atPath: dir + "/rec1.wav", toPath: dir + "/hard-link.wav")
        var r = try CLI.run(["predict", "--model", f.model, ".", "rec0.wav", "./rec0.wav", dir + "/rec0.wav", "--device", "cpu", "--out", "../twice.csv"], in: dir)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("4 input files were given more than once and are processed once"), r.output)
        XCTAssertTrue(r.output.contains("  rec0.wav: the same file as ./rec0.wav"), r.output)
        XCTAssertTrue(r.output.contains("  ./rec0.wav: given twice"), r.output)
        XCTAssertTrue(r.output.contains("  ./rec1.wav: the same file as ./hard-link.wav"), r.output)
        let rows = try String(contentsOfFile: f.dir + "/twice.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        var perFile: [String: Int] = [:]
        for row in rows { perFile[String(row.split(separator: ",")[0]), default: 0] += 1 }
        XCTAssertEqual(perFile.count, 2, "\(perFile)")
        XCTAssertEqual(Set(perFile.values), [4], "each recording's 4 clips once: \(perFile)")
        // Such a table evaluates (a clip scored twice is refused).
        r = try CLI.run(["predict", "--model", f.model, f.recordings[0], f.recordings[0], "./rec0.wav", "--device", "cpu", "--out", "t2.csv"], in: f.dir)
        XCTAssertEqual(r.status, 0, r.output)
        let labels = try String(contentsOfFile: f.dir + "/train.csv", encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("file,") || $0.hasPrefix(f.recordings[0] + ",") }.joined(separator: "\n")
        try labels.write(toFile: dir + "/rec0-labels.csv", atomically: true, encoding: .utf8)
        r = try CLI.run(["evaluate", "--scores", f.dir + "/t2.csv", "--labels", dir + "/rec0-labels.csv", "--out", dir + "/ev"])
        XCTAssertEqual(r.status, 0, r.output)
        r = try CLI.run(["ribbit", ".", "./rec0.wav", "--signal-band", "1900", "2400", "--pulse-rate-range", "8", "20", "--out", "../twice-rb.csv"], in: dir)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("given more than once"), r.output)
        let files = Set(try String(contentsOfFile: f.dir + "/twice-rb.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] })
        XCTAssertEqual(files.count, 2, "\(files)")
    }

    // MARK: 6. a table of no finished recording

    /// After a predict where every file failed, the header-only table blocked a plain re-run as
    /// "finished work".
    func testAScoresTableWithoutAFinishedRecordingIsNotFinishedWork() throws {
        let f = try SafetyTests.fixture()
        let dir = try folder("all-failed")
        try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: dir + "/broken.wav"))
        var r = try CLI.run(["predict", "--model", f.model, dir + "/broken.wav", "--device", "cpu", "--out", dir + "/s.csv"])
        XCTAssertEqual(r.status, 1, r.output)
        r = try CLI.run(["predict", "--model", f.model, dir + "/broken.wav", "--device", "cpu", "--out", dir + "/s.csv"])
        XCTAssertEqual(r.status, 1, "the same failure, not a refusal: \(r.output)")
        XCTAssertFalse(r.output.contains("holds finished work"), r.output)
        r = try CLI.run(["predict", "--model", f.model, f.recordings[0], "--device", "cpu", "--out", dir + "/s.csv"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(try String(contentsOfFile: dir + "/s.csv", encoding: .utf8).contains("rec0.wav"))
        // A table with a finished recording is finished work again; so is a file that is no scores table.
        r = try CLI.run(["predict", "--model", f.model, f.recordings[1], "--device", "cpu", "--out", dir + "/s.csv"])
        XCTAssertNotEqual(r.status, 0, r.output)
        try "a note of my own\n".write(toFile: dir + "/note.csv", atomically: true, encoding: .utf8)
        r = try CLI.run(["predict", "--model", f.model, f.recordings[1], "--device", "cpu", "--out", dir + "/note.csv"])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertEqual(try String(contentsOfFile: dir + "/note.csv", encoding: .utf8), "a note of my own\n")
    }
}
