import Audio
import ChorusCore
import Foundation
import TestSupport
import XCTest

/// Nothing lost, nothing crashes: each test reproduces a case of a careless or unlucky user
/// (issue 13) through the real `train-gpu` binary, on a small dataset made here (no ../shared).
final class SafetyTests: XCTestCase {
    /// Recordings, a training and a validation table, and a trained model, made once.
    struct Fixture {
        var dir: String
        var recordings: [String]
        var model: String
        var runs: String
    }

    nonisolated(unsafe) static var shared: Fixture?
    nonisolated(unsafe) static var sharedError: Error?

    static func fixture() throws -> Fixture {
        if let shared { return shared }
        if let sharedError { throw sharedError }
        do {
            let dir = makeTemporaryDirectory("cli-safety")
            var random = TestRNG(seed: 13)
            var recordings: [String] = []
            var train = ["file,start_time,end_time,TONE"], validation = ["file,start_time,end_time,TONE"]
            for i in 0..<6 {
                // 4 s at 16 kHz: noise, with a 2 kHz tone in the odd seconds of even recordings.
                var samples = random.uniform(64_000, -0.05, 0.05)
                for s in samples.indices where i % 2 == 0 && (s / 16_000) % 2 == 1 { samples[s] += 0.3 * sinf(2 * .pi * 2000 * Float(s) / 16_000) }
                let path = "\(dir)/rec\(i).wav"
                try AudioFile.write(AudioSamples(samples: samples, sampleRate: 16_000), to: path)
                recordings.append(path)
                for c in 0..<4 {
                    let row = "\(path),\(c).0,\(c + 1).0,\(i % 2 == 0 && c % 2 == 1 ? 1 : 0)"
                    if i < 4 { train.append(row) } else { validation.append(row) }
                }
            }
            try train.joined(separator: "\n").write(toFile: dir + "/train.csv", atomically: true, encoding: .utf8)
            try validation.joined(separator: "\n").write(toFile: dir + "/validation.csv", atomically: true, encoding: .utf8)
            let r = try CLI.run(trainArguments(name: "fixture", epochs: 1), in: dir)
            guard r.status == 0 else { throw NSError(domain: "fixture", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.output]) }
            let runs = dir + "/runs"
            let run = try FileManager.default.contentsOfDirectory(atPath: runs).first { $0.hasSuffix("_fixture") } ?? ""
            let f = Fixture(dir: dir, recordings: recordings, model: "\(runs)/\(run)/best.model", runs: runs)
            shared = f
            return f
        } catch {
            sharedError = error
            throw error
        }
    }

    static func trainArguments(name: String, epochs: Int, train: String = "train.csv", extra: [String] = []) -> [String] {
        ["train", "--train", train, "--validation", "validation.csv", "--arch", "small", "--epochs", "\(epochs)", "--batch-size", "4",
         "--size", "32x32", "--device", "cpu", "--workers", "1", "--name", name, "--out", "runs"] + extra
    }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else {
            throw XCTSkip("train-gpu binary not built at \(CLI.binary)")
        }
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    // MARK: crashes

    /// `predict --batch-size 0` and `--batch-size=-3` crashed after truncating --out.
    func testPredictRefusesBadBatchSizesBeforeTouchingItsOutput() throws {
        let f = try Self.fixture()
        let out = f.dir + "/kept-scores.csv"
        try "earlier results\n".write(toFile: out, atomically: true, encoding: .utf8)
        for size in ["0", "-3"] {
            let r = try CLI.run(["predict", "--model", f.model, f.recordings[0], "--batch-size=\(size)", "--out", out])
            XCTAssertEqual(r.status, 64, "an argument error: \(r.output)")
            XCTAssertTrue(r.output.contains("--batch-size"), r.output)
            XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "earlier results\n", "--out untouched")
        }
    }

    // MARK: a full disk

    /// On a full disk `predict` stopped with a stack dump (a `try!` in the writer) and ended its CSV
    /// mid-row; `split` left the training table without the validation table.
    func testAFullDiskIsAClearErrorAndLeavesNoHalfOutputs() throws {
        let f = try Self.fixture()
        guard getuid() == 0 else { throw XCTSkip("a full disk is simulated with a small tmpfs, which needs root") }
        let disk = makeTemporaryDirectory("full-disk")
        func system(_ args: [String]) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = args
            p.standardError = FileHandle.nullDevice
            try p.run(); p.waitUntilExit()
            return p.terminationStatus
        }
        // 4 pages of 4 KiB: the lock, the scores table, its .done list and its record; the table
        // fills its page after about 18 recordings.
        guard try system(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", disk]) == 0 else { throw XCTSkip("cannot mount a tmpfs here") }
        defer { _ = try? system(["umount", disk]) }
        let many = f.dir + "/many"
        try FileManager.default.createDirectory(atPath: many, withIntermediateDirectories: true)
        for i in 0..<40 where !FileManager.default.fileExists(atPath: many + "/r\(i).wav") {
            try FileManager.default.copyItem(atPath: f.recordings[0], toPath: many + String(format: "/r%02d.wav", i))
        }
        let r = try CLI.run(["predict", "--model", f.model, many, "--out", disk + "/scores.csv"])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("No space left on device"), r.output)
        XCTAssertFalse(r.output.contains("Fatal error"), r.output)
        // Whole recordings only: every file's 4 clips, or none of them.
        let rows = try String(contentsOfFile: disk + "/scores.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertGreaterThan(rows.count, 0)
        var perFile: [String: Int] = [:]
        for row in rows { perFile[String(row.split(separator: ",")[0]), default: 0] += 1 }
        XCTAssertEqual(Set(perFile.values), [4], "\(perFile)")
        // Now full: split writes both tables and both records, or nothing.
        try? Data(repeating: 1, count: 4096).write(to: URL(fileURLWithPath: disk + "/filler2"))
        let s = try CLI.run(["split", f.dir + "/train.csv", "--validation", "0.25", "--seed", "1",
                             "--out-train", disk + "/t.csv", "--out-validation", disk + "/v.csv"])
        XCTAssertEqual(s.status, 1, s.output)
        XCTAssertTrue(s.output.contains("No space left on device"), s.output)
        let left = try FileManager.default.contentsOfDirectory(atPath: disk).filter { !$0.hasSuffix(".lock") }
        XCTAssertFalse(left.contains { $0.hasPrefix("t.") || $0.hasPrefix("v.") || $0.contains(".tmp-") }, "\(left)")
    }

    // MARK: finished work never overwritten

    /// `predict X.wav --out X.wav` destroyed the recording.
    func testAnOutputThatIsAnInputIsRefused() throws {
        let f = try Self.fixture()
        let copy = f.dir + "/victim.wav"
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: f.recordings[1], toPath: copy)
        let before = bytes(copy)
        for args in [["predict", "--model", f.model, copy, "--out", copy], ["ribbit", copy, "--signal-band", "1900", "2400", "--pulse-rate-range", "8", "20", "--out", copy], ["grouse", copy, "--out", copy]] {
            let r = try CLI.run(args)
            XCTAssertNotEqual(r.status, 0, "\(args[0]): \(r.output)")
            XCTAssertTrue(r.output.contains("would destroy the input"), "\(args[0]): \(r.output)")
            XCTAssertEqual(bytes(copy), before, "\(args[0]) left the input intact")
        }
        // labels --out onto its own annotation table
        let table = f.dir + "/ann.Table.1.selections.txt"
        try "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tAnnotation\n1\tSpectrogram 1\t1\t1.0\t2.0\t1000\t3000\tTONE\n"
            .write(toFile: table, atomically: true, encoding: .utf8)
        let tableBefore = bytes(table)
        let r = try CLI.run(["labels", "--raven", table, "--duration", "4", "--clip-duration", "1", "--out", table])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertEqual(bytes(table), tableBefore)
    }

    /// A second `predict` into an existing table replaced it; now it needs --resume or --overwrite.
    func testPredictKeepsAFinishedTableUnlessAskedToReplaceIt() throws {
        let f = try Self.fixture()
        let out = f.dir + "/scores-once.csv"
        var r = try CLI.run(["predict", "--model", f.model, f.recordings[0], "--out", out])
        XCTAssertEqual(r.status, 0, r.output)
        let first = bytes(out)
        r = try CLI.run(["predict", "--model", f.model, f.recordings[1], "--out", out])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("--overwrite"), r.output)
        XCTAssertEqual(bytes(out), first)
        r = try CLI.run(["predict", "--model", f.model, f.recordings[1], "--overwrite", "--out", out])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(try String(contentsOfFile: out, encoding: .utf8).contains("rec1.wav"))
        // The record beside the table names the model by hash.
        let record = try JSONSerialization.jsonObject(with: XCTUnwrap(bytes(f.dir + "/scores-once.json"))) as? [String: Any]
        XCTAssertEqual((record?["modelSHA256"] as? String)?.count, 64)
    }

    /// `train` again with the same --name replaced the finished run's models.
    func testASecondRunWithTheSameNameGetsItsOwnFolder() throws {
        let f = try Self.fixture()
        let r = try CLI.run(Self.trainArguments(name: "fixture", epochs: 1), in: f.dir)
        XCTAssertEqual(r.status, 0, r.output)
        let folders = try FileManager.default.contentsOfDirectory(atPath: f.runs).filter { $0.contains("_fixture") }.sorted()
        XCTAssertEqual(folders, ["\(dateStamp())_fixture", "\(dateStamp())_fixture_2"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: f.model), "the first run's model is still there")
        XCTAssertTrue(r.output.contains("_fixture_2"), r.output)
    }

    /// `ribbit` and `grouse` wrote no provenance record, though every table should have one.
    func testRibbitAndGrouseWriteTheirRecord() throws {
        let f = try Self.fixture()
        for args in [["ribbit", f.recordings[0], "--signal-band", "1900", "2400", "--pulse-rate-range", "8", "20", "--out", f.dir + "/rb.csv"],
                     ["grouse", f.recordings[0], "--out", f.dir + "/gr.csv"]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 0, r.output)
            let record = try JSONSerialization.jsonObject(with: XCTUnwrap(bytes(f.dir + "/\(args[0] == "ribbit" ? "rb" : "gr").json"))) as? [String: Any]
            XCTAssertEqual(record?["step"] as? String, args[0])
            XCTAssertNotNil(record?["parameters"] as? [String: Any])
            XCTAssertEqual((record?["tableSHA256"] as? String)?.count, 64)
        }
    }

    /// `predict --raven-out` wrote one table per base name: a/x.wav and b/x.wav overwrote each other.
    func testRavenTablesOfRecordingsWithTheSameNameAreKeptApart() throws {
        let f = try Self.fixture()
        let a = f.dir + "/siteA/x.wav", b = f.dir + "/siteB/x.wav"
        for (src, dst) in [(f.recordings[0], a), (f.recordings[2], b)] {
            try FileManager.default.createDirectory(atPath: (dst as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: dst)
            try FileManager.default.copyItem(atPath: src, toPath: dst)
        }
        let r = try CLI.run(["predict", "--model", f.model, a, b, "--threshold", "0", "--raven-out", f.dir + "/tables", "--overwrite", "--out", f.dir + "/x-scores.csv"])
        XCTAssertEqual(r.status, 0, r.output)
        let tables = try FileManager.default.contentsOfDirectory(atPath: f.dir + "/tables").sorted()
        XCTAssertEqual(tables, ["siteA_x.Table.1.selections.txt", "siteB_x.Table.1.selections.txt"])
    }

    // MARK: one writer at a time

    /// Two writers of one output at once mixed their results; the second now fails at once.
    func testASecondWriterFailsAtOnceNamingTheHolder() throws {
        let f = try Self.fixture()
        let out = f.dir + "/locked-scores.csv"
        try OutputLock.acquire(for: out)  // this test process holds it
        let r = try CLI.run(["predict", "--model", f.model, f.recordings[0], "--out", out])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("is being written by process \(getpid())"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // A run folder likewise.
        try OutputLock.acquire(for: "\(f.runs)/\(dateStamp())_busy", isFolder: true)
        let t = try CLI.run(Self.trainArguments(name: "busy", epochs: 1), in: f.dir)
        XCTAssertNotEqual(t.status, 0, t.output)
        XCTAssertTrue(t.output.contains("is being written by process \(getpid())"), t.output)
    }

    // MARK: resumes checked

    /// `predict --resume` with other settings appended rows of another clip layout.
    func testPredictResumeWithOtherSettingsIsRefused() throws {
        let f = try Self.fixture()
        let out = f.dir + "/resume-scores.csv"
        var r = try CLI.run(["predict", "--model", f.model, f.recordings[0], "--overwrite", "--out", out])
        XCTAssertEqual(r.status, 0, r.output)
        r = try CLI.run(["predict", "--model", f.model, f.recordings[0], f.recordings[1], "--resume", "--clip-overlap", "0.5", "--out", out])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("clip overlap"), r.output)
        r = try CLI.run(["predict", "--model", f.model, f.recordings[0], f.recordings[1], "--resume", "--out", out])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("1 files were already scored"), r.output)
    }

    /// `train --resume` accepted another training table, and `--epochs 3` silently extended a finished run.
    func testTrainResumeWithOtherTablesOrSettingsIsRefused() throws {
        let f = try Self.fixture()
        var r = try CLI.run(Self.trainArguments(name: "resumed", epochs: 1), in: f.dir)
        XCTAssertEqual(r.status, 0, r.output)
        let fewer = try String(contentsOfFile: f.dir + "/train.csv", encoding: .utf8).split(separator: "\n").prefix(9).joined(separator: "\n")
        try fewer.write(toFile: f.dir + "/train-fewer.csv", atomically: true, encoding: .utf8)
        r = try CLI.run(Self.trainArguments(name: "resumed", epochs: 1, train: "train-fewer.csv", extra: ["--resume"]), in: f.dir)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("train.csv: the run was started with SHA-256"), r.output)
        r = try CLI.run(Self.trainArguments(name: "resumed", epochs: 3, extra: ["--resume"]), in: f.dir)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("epochs: 1 recorded, 3 now"), r.output)
    }

    // MARK: bounded work

    /// Tens of millions of clips, 10,000,000 per class and 100 MHz sample rates ran until killed.
    func testAbsurdRequestsAreRefusedBeforeAnyWork() throws {
        let f = try Self.fixture()
        let table = f.dir + "/bounds.Table.1.selections.txt"
        try "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tAnnotation\n1\tSpectrogram 1\t1\t1.0\t2.0\t1000\t3000\tTONE\n"
            .write(toFile: table, atomically: true, encoding: .utf8)
        let start = Date()
        var r = try CLI.run(["labels", "--raven", table, "--duration", "120", "--clip-duration", "2", "--clip-overlap", "1.9999999", "--out", f.dir + "/many.csv"])
        XCTAssertEqual(r.status, 64, r.output)
        XCTAssertTrue(r.output.contains("clips; the limit is 2000000"), r.output)
        r = try CLI.run(["balance", f.dir + "/train.csv", "--per-class", "10000000", "--seed", "1", "--out", f.dir + "/huge.csv"])
        XCTAssertEqual(r.status, 64, r.output)
        XCTAssertTrue(r.output.contains("--per-class") && r.output.contains("10000000"), r.output)
        r = try CLI.run(["balance", f.dir + "/train.csv", "--per-class", "0", "--seed", "1", "--out", f.dir + "/empty.csv"])
        XCTAssertEqual(r.status, 64, r.output)
        r = try CLI.run(["spectrogram", f.recordings[0], "--sample-rate", "100000000", "--out", f.dir + "/s.png"])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("100000000 Hz"), r.output)
        XCTAssertLessThan(Date().timeIntervalSince(start), 60, "refused at once, not after the work")
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.dir + "/many.csv"))
    }

    // MARK: non-finite values

    /// `--learning-rate 1e30` left models of NaN weights that predict used (exit 0, -nan scores).
    func testDivergedTrainingNeverBecomesAModel() throws {
        let f = try Self.fixture()
        // One batch per epoch: the step that breaks the weights is the epoch's last, so only the
        // validation and the weights show it (the per-batch loss check never sees it).
        let r = try CLI.run(Self.trainArguments(name: "diverged", epochs: 2, extra: ["--learning-rate", "1e30", "--batch-size", "16"]), in: f.dir)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("NaN or infinite"), r.output)
        let folder = "\(f.runs)/\(dateStamp())_diverged"
        for model in ["best.model", "last.model"] where FileManager.default.fileExists(atPath: "\(folder)/\(model)") {
            // Whatever was kept is a good epoch's: it scores with finite numbers.
            let p = try CLI.run(["predict", "--model", "\(folder)/\(model)", f.recordings[0], "--overwrite", "--out", f.dir + "/diverged-scores.csv"])
            XCTAssertEqual(p.status, 0, p.output)
            XCTAssertFalse(try String(contentsOfFile: f.dir + "/diverged-scores.csv", encoding: .utf8).lowercased().contains("nan"))
        }
    }

    /// All-NaN audio got plausible scores (and the devices disagreed); now it is named and skipped.
    func testAudioWithNaNSamplesIsReportedAndSkipped() throws {
        let f = try Self.fixture()
        let path = f.dir + "/nan.wav"
        try Self.writeFloatWAV([Float](repeating: .nan, count: 16_000), sampleRate: 16_000, to: path)
        let r = try CLI.run(["predict", "--model", f.model, path, "--overwrite", "--out", f.dir + "/nan-scores.csv"])
        XCTAssertNotEqual(r.status, 0, "every input failed: \(r.output)")
        XCTAssertTrue(r.output.contains("nan.wav: 16000 audio samples are NaN or infinite"), r.output)
    }

    /// A damaged MP3 was reported as "File does not exist or is not a regular file (possibly a pipe?)".
    func testADamagedAudioFileIsCalledDamaged() throws {
        let f = try Self.fixture()
        let path = f.dir + "/broken.mp3"
        try Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 37) }).write(to: URL(fileURLWithPath: path))
        let r = try CLI.run(["predict", "--model", f.model, path, "--overwrite", "--out", f.dir + "/broken-scores.csv"])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("broken.mp3") && r.output.contains("not a valid MP3 file"), r.output)
        XCTAssertFalse(r.output.contains("does not exist"), r.output)
    }

    // MARK: bad input accepted silently

    func testTrainRefusesBadParametersAndTables() throws {
        let f = try Self.fixture()
        for (extra, words) in [(["--overlay-weight=-0.5"], "--overlay-weight"), (["--overlay-probability", "2"], "--overlay-probability"),
                               (["--gain-range=0,300"], "--gain-range")] {
            let r = try CLI.run(Self.trainArguments(name: "bad", epochs: 1, extra: extra), in: f.dir)
            XCTAssertEqual(r.status, 64, "\(extra): \(r.output)")
            XCTAssertTrue(r.output.contains(words), r.output)
        }
        var r = try CLI.run(Self.trainArguments(name: "../../escape", epochs: 1), in: f.dir)
        XCTAssertEqual(r.status, 64, r.output)
        XCTAssertTrue(r.output.contains("--name"), r.output)
        r = try CLI.run(["train", "--train", "validation.csv", "--validation", "validation.csv", "--arch", "small", "--epochs", "1",
                         "--device", "cpu", "--name", "same", "--out", "runs"], in: f.dir)
        XCTAssertEqual(r.status, 64, r.output)
        XCTAssertTrue(r.output.contains("the same table"), r.output)
        r = try CLI.run(["predict", "--model", f.model, f.recordings[0], "--threshold", "nan", "--raven-out", f.dir + "/t", "--out", f.dir + "/t.csv"])
        XCTAssertEqual(r.status, 64, r.output)
        r = try CLI.run(["predict", "--model", f.model, f.recordings[0], "--threshold", "2", "--raven-out", f.dir + "/t", "--out", f.dir + "/t.csv"])
        XCTAssertEqual(r.status, 64, r.output)
        r = try CLI.run(["predict", "--model", f.model, f.recordings[0], "--clip-overlap", "1", "--out", f.dir + "/t.csv"])
        XCTAssertEqual(r.status, 64, r.output)
        XCTAssertTrue(r.output.contains("--clip-overlap"), r.output)
    }

    /// A `train` that failed after making its run folder left a folder `--resume` rejected.
    func testResumeAfterAFailedStartStartsAtEpochOne() throws {
        let f = try Self.fixture()
        let rows = try String(contentsOfFile: f.dir + "/validation.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        try ([rows[0]] + rows.dropFirst().map { $0.replacingOccurrences(of: "rec", with: "gone") }).joined(separator: "\n")
            .write(toFile: f.dir + "/validation-gone.csv", atomically: true, encoding: .utf8)
        var r = try CLI.run(Self.trainArguments(name: "restart", epochs: 1).map { $0 == "validation.csv" ? "validation-gone.csv" : $0 }, in: f.dir)
        XCTAssertNotEqual(r.status, 0, r.output)
        let folder = "\(f.runs)/\(dateStamp())_restart"
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/config.json"), "the failed start made its folder")
        // A kill during a save leaves a hidden temporary file; the next run in the folder removes it.
        try Data(count: 1000).write(to: URL(fileURLWithPath: folder + "/.best.model.tmp-1-2"))
        r = try CLI.run(Self.trainArguments(name: "restart", epochs: 1, extra: ["--resume"]), in: f.dir)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("starting at epoch 1"), r.output)
        XCTAssertEqual(try String(contentsOfFile: folder + "/validation.csv", encoding: .utf8),
                       try String(contentsOfFile: f.dir + "/validation.csv", encoding: .utf8), "the run folder holds the tables it trained on")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/.best.model.tmp-1-2"))
    }

    /// "No audio files found" exited 64 in ribbit and grouse and 1 in predict.
    func testNoAudioFilesIsTheSameRuntimeErrorEverywhere() throws {
        let f = try Self.fixture()
        let empty = makeTemporaryDirectory("no-audio")
        for args in [["predict", "--model", f.model, empty, "--out", empty + "/s.csv"],
                     ["ribbit", empty, "--signal-band", "1900", "2400", "--pulse-rate-range", "8", "20", "--out", empty + "/r.csv"],
                     ["grouse", empty, "--out", empty + "/g.csv"]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 1, "\(args[0]): \(r.output)")
            XCTAssertTrue(r.output.contains("no audio files found"), "\(args[0]): \(r.output)")
        }
    }

    /// Weights of another architecture printed every one of ~120 missing tensor names; a file too
    /// short for one spectrogram window was "audio too short: 0 samples" without a file name.
    func testMessagesAreShortAndNameTheFile() throws {
        let f = try Self.fixture()
        let r = try CLI.run(Self.trainArguments(name: "arch", epochs: 1, extra: ["--arch", "resnet18", "--init-weights", f.model]), in: f.dir)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("more") && r.output.contains("--arch"), r.output)
        XCTAssertLessThan(r.output.count, 3000, r.output)
        let tiny = f.dir + "/tiny.wav"
        try AudioFile.write(AudioSamples(samples: [Float](repeating: 0.1, count: 10), sampleRate: 16_000), to: tiny)
        let s = try CLI.run(["spectrogram", tiny, "--out", f.dir + "/tiny.png"])
        XCTAssertNotEqual(s.status, 0, s.output)
        XCTAssertTrue(s.output.contains("tiny.wav"), s.output)
    }

    /// 10 of 28 validation clips unreadable and training exited 0: the 10% rule pooled both sets.
    func testMostlyUnreadableValidationStopsTraining() throws {
        let f = try Self.fixture()
        var rows = try String(contentsOfFile: f.dir + "/validation.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        for i in 1...3 { rows[i] = rows[i].replacingOccurrences(of: "rec4.wav", with: "missing.wav") }
        try rows.joined(separator: "\n").write(toFile: f.dir + "/validation-broken.csv", atomically: true, encoding: .utf8)
        let r = try CLI.run(["train", "--train", "train.csv", "--validation", "validation-broken.csv", "--arch", "small", "--epochs", "1",
                             "--batch-size", "4", "--size", "32x32", "--device", "cpu", "--name", "broken", "--out", "runs"], in: f.dir)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("3 of 8 validation clips could not be read"), r.output)
    }

    /// `split` without --group-by-file put copies of one clip (from balance) on both sides.
    func testSplitNeverPutsCopiesOfAClipOnBothSides() throws {
        let f = try Self.fixture()
        let r0 = try CLI.run(["balance", f.dir + "/train.csv", "--per-class", "20", "--seed", "3", "--out", f.dir + "/balanced.csv"])
        XCTAssertEqual(r0.status, 0, r0.output)
        let r = try CLI.run(["split", f.dir + "/balanced.csv", "--validation", "0.3", "--seed", "1",
                             "--out-train", f.dir + "/s-train.csv", "--out-validation", f.dir + "/s-val.csv"])
        XCTAssertEqual(r.status, 0, r.output)
        func clips(_ p: String) throws -> Set<String> {
            Set(try String(contentsOfFile: p, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",").prefix(3).joined(separator: ",") })
        }
        let train = try clips(f.dir + "/s-train.csv"), validation = try clips(f.dir + "/s-val.csv")
        XCTAssertFalse(validation.isEmpty)
        XCTAssertTrue(train.isDisjoint(with: validation), "\(train.intersection(validation))")
    }

    /// `labels --classes` with a class no annotation has wrote a column of zeros without a word.
    func testLabelsWarnsAboutARequestedClassNoAnnotationHas() throws {
        let f = try Self.fixture()
        let table = f.dir + "/typo.Table.1.selections.txt"
        try "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tAnnotation\n1\tSpectrogram 1\t1\t1.0\t2.0\t1000\t3000\tTONE\n"
            .write(toFile: table, atomically: true, encoding: .utf8)
        let r = try CLI.run(["labels", "--raven", table, "--duration", "4", "--clip-duration", "1", "--classes", "TONE,TOEN", "--out", f.dir + "/typo.csv"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("warning: no annotation has the class TOEN"), r.output)
        // Blank and zero-length annotations were dropped without a word.
        let blank = f.dir + "/blank.Table.1.selections.txt"
        try "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tAnnotation\n1\tSpectrogram 1\t1\t1.0\t2.0\t1000\t3000\t\n2\tSpectrogram 1\t1\t2.5\t2.5\t1000\t3000\tTONE\n3\tSpectrogram 1\t1\t3.0\t3.5\t1000\t3000\tTONE\n"
            .write(toFile: blank, atomically: true, encoding: .utf8)
        let b = try CLI.run(["labels", "--raven", blank, "--duration", "4", "--clip-duration", "1", "--out", f.dir + "/blank.csv"])
        XCTAssertEqual(b.status, 0, b.output)
        XCTAssertTrue(b.output.contains("2 annotations label nothing") && b.output.contains("blank.Table.1.selections.txt:2: blank name")
                      && b.output.contains(":3: 'TONE' at 2.5–2.5 s"), b.output)
        // A clip longer than the recording wrote 0 clips and exited 0; so did a --min-overlap longer than the clip.
        var e = try CLI.run(["labels", "--raven", table, "--duration", "4", "--clip-duration", "5", "--out", f.dir + "/none.csv"])
        XCTAssertNotEqual(e.status, 0, e.output)
        XCTAssertTrue(e.output.contains("no clip of 5.0 s fits"), e.output)
        e = try CLI.run(["labels", "--raven", table, "--duration", "4", "--clip-duration", "1", "--min-overlap", "2", "--out", f.dir + "/none.csv"])
        XCTAssertEqual(e.status, 64, e.output)
        XCTAssertTrue(e.output.contains("--min-overlap"), e.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.dir + "/none.csv"))
        // A negative value is a bad value, not a missing one.
        e = try CLI.run(["labels", "--raven", table, "--duration", "-1", "--clip-duration", "1", "--out", f.dir + "/none.csv"])
        XCTAssertEqual(e.status, 64, e.output)
        XCTAssertTrue(e.output.contains("--duration must be > 0 seconds; got -1"), e.output)
    }

    /// `--device gpu` silently picked the POCL CPU device; it now means a GPU or an error naming what there is.
    func testDeviceGPUMeansAGPU() throws {
        let f = try Self.fixture()
        let r = try CLI.run(["predict", "--model", f.model, f.recordings[0], "--device", "gpu", "--overwrite", "--out", f.dir + "/gpu.csv"])
        let devices = try CLI.run(["devices"]).output
        if devices.contains("GPU") { XCTAssertEqual(r.status, 0, r.output) } else {
            XCTAssertNotEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("no OpenCL device 'gpu'"), r.output)
        }
    }

    /// The README's tutorial (predict with the default --final-clip extend, then evaluate) failed
    /// without saying how to fix it.
    func testUnlabelledScoresErrorSaysHowToFixIt() throws {
        let f = try Self.fixture()
        try "file,start_time,end_time,TONE\n\(f.recordings[0]),0.0,1.0,0.9\n\(f.recordings[0]),1.0,2.0,0.1\n\(f.recordings[0]),4.0,5.0,0.2\n"
            .write(toFile: f.dir + "/extra-scores.csv", atomically: true, encoding: .utf8)
        try "file,start_time,end_time,TONE\n\(f.recordings[0]),0.0,1.0,1\n\(f.recordings[0]),1.0,2.0,0\n"
            .write(toFile: f.dir + "/few-labels.csv", atomically: true, encoding: .utf8)
        let r = try CLI.run(["evaluate", "--scores", f.dir + "/extra-scores.csv", "--labels", f.dir + "/few-labels.csv", "--out", f.dir + "/eval-x"])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("--final-clip none") && r.output.contains("--ignore-unlabelled"), r.output)
    }

    /// A 32-bit float WAV written byte by byte (Chorus's own writer refuses non-finite samples).
    static func writeFloatWAV(_ samples: [Float], sampleRate: Int, to path: String) throws {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        let bytes = UInt32(samples.count * 4)
        d.append(contentsOf: Array("RIFF".utf8)); u32(36 + bytes); d.append(contentsOf: Array("WAVE".utf8))
        d.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(3); u16(1); u32(UInt32(sampleRate)); u32(UInt32(sampleRate * 4)); u16(4); u16(32)
        d.append(contentsOf: Array("data".utf8)); u32(bytes)
        for s in samples { u32(s.bitPattern) }
        try d.write(to: URL(fileURLWithPath: path))
    }
}
