import ChorusCore
import Foundation
import Model
import TestSupport
import XCTest

/// Numbers far past Int.max (1e300), or past any sane memory request, trapped (exit 132) or asked
/// for terabytes: seconds converted to samples, clips or frames unchecked. Each is now a typed
/// error naming its option (exit 64) or, when it comes from a file, naming the file (exit 1).
final class CLIHugeNumberTests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else {
            throw XCTSkip("train-gpu binary not built at \(CLI.binary)")
        }
    }

    func testHugeArgumentsAreRefusedNamingTheirOption() throws {
        let f = try SafetyTests.fixture()
        let dir = makeTemporaryDirectory("cli-huge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = dir + "/huge.Table.1.selections.txt"
        try "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tAnnotation\n1\tSpectrogram 1\t1\t1.0\t2.0\t1000\t3000\tTONE\n"
            .write(toFile: table, atomically: true, encoding: .utf8)
        let rec = f.recordings[0]
        let ribbit = ["ribbit", rec, "--signal-band", "1900", "2400", "--pulse-rate-range", "8", "20", "--out", dir + "/r.csv"]
        let cases: [(args: [String], status: Int32, words: [String])] = [
            (["spectrogram", rec, "--start", "1e300", "--out", dir + "/s1.png"], 1, [rec, "beyond the end"]),
            (["labels", "--raven", table, "--duration", "1e300", "--clip-duration", "1", "--out", dir + "/l1.csv"], 64, ["clips; the limit is 2000000"]),
            (["labels", "--raven", table, "--duration", "120", "--clip-duration", "1e300", "--final-clip", "extend", "--out", dir + "/l2.csv"], 64, ["--clip-duration"]),
            (["labels", "--raven", table, "--duration", "120", "--clip-duration", "0", "--out", dir + "/l3.csv"], 64, ["--clip-duration"]),
            (["labels", "--raven", table, "--duration", "120", "--clip-duration=-1", "--out", dir + "/l4.csv"], 64, ["--clip-duration"]),
            (ribbit + ["--clip-duration", "1e300"], 64, ["--clip-duration"]),
            (ribbit + ["--clip-duration", "1e12"], 64, ["--clip-duration"]),
            (["grouse", rec, "--window-duration", "1e300", "--out", dir + "/g1.csv"], 64, ["--window-duration"]),
            (["grouse", rec, "--window-duration", "1e9", "--out", dir + "/g2.csv"], 64, ["--window-duration"]),
            (["grouse", rec, "--peak-separation", "1e300", "--out", dir + "/g3.csv"], 64, ["--peak-separation"]),
            (["balance", f.dir + "/train.csv", "--seed", "1", "--negatives-ratio", "1e300", "--out", dir + "/b1.csv"], 64, ["--negatives-ratio"]),
            (["balance", f.dir + "/train.csv", "--seed", "1", "--negatives-ratio", "1e19", "--out", dir + "/b2.csv"], 64, ["--negatives-ratio"]),
            (["train", "--train", f.dir + "/train.csv", "--validation", f.dir + "/validation.csv", "--arch", "small", "--size", "32x32",
              "--device", "cpu", "--out", dir + "/runs", "--clip-duration", "1e300"], 64, ["--clip-duration"]),
        ]
        for c in cases {
            let r = try CLI.run(c.args, timeout: 60)
            XCTAssertEqual(r.status, c.status, "\(c.args.joined(separator: " ")): \(r.output)")
            for word in c.words { XCTAssertTrue(r.output.contains(word), "\(c.args.joined(separator: " ")): \(r.output)") }
            XCTAssertFalse(r.output.contains("--min-overlap"), r.output)
            XCTAssertFalse(r.output.contains("Fatal error"), r.output)
        }
        for out in ["l2.csv", "l3.csv", "b1.csv", "r.csv", "g1.csv"] { XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/" + out), out) }
        // A duration past the end reads to the end, as --duration 100 always did.
        let r = try CLI.run(["spectrogram", rec, "--duration", "1e300", "--out", dir + "/s2.png"])
        XCTAssertEqual(r.status, 0, r.output)
    }

    /// A model whose preprocessing says 1e300 s clips trapped `predict`; checkpoints with
    /// completed_epochs -5 or 100000 (or optimizer_steps Int.max) trapped `train --resume`.
    func testDamagedModelAndCheckpointNameTheirFile() throws {
        let f = try SafetyTests.fixture()
        let dir = makeTemporaryDirectory("cli-huge-files")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var model = try SafeTensorsFile.read(f.model)
        var pp = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((model.metadata["preprocessing"] ?? "").utf8)) as? [String: Any])
        pp["clipDuration"] = 1e300
        model.metadata["preprocessing"] = String(decoding: try JSONSerialization.data(withJSONObject: pp), as: UTF8.self)
        let bad = dir + "/huge.model"
        try model.write(to: bad)
        var r = try CLI.run(["predict", "--model", bad, f.recordings[0], "--device", "cpu", "--out", dir + "/p.csv"], timeout: 120)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains(bad) && r.output.contains("--clip-duration"), r.output)

        let run = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: f.runs).first { $0.hasSuffix("_fixture") })
        for (key, value) in [("completed_epochs", "-5"), ("completed_epochs", "100000"), ("optimizer_steps", "\(Int.max)")] {
            let runs = dir + "/runs-\(key)-\(value)"
            try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "\(f.runs)/\(run)", toPath: "\(runs)/\(run)")
            let checkpoint = "\(runs)/\(run)/checkpoint.safetensors"
            var file = try SafeTensorsFile.read(checkpoint)
            file.metadata[key] = value
            try file.write(to: checkpoint)
            var args = SafetyTests.trainArguments(name: "fixture", epochs: 1, extra: ["--resume"])
            args[args.firstIndex(of: "runs")!] = runs
            r = try CLI.run(args, in: f.dir, timeout: 120)
            XCTAssertEqual(r.status, 1, "\(key) \(value): \(r.output)")
            XCTAssertTrue(r.output.contains(checkpoint) && r.output.contains("\(key) is \(value)"), r.output)
        }
    }

    /// Settings out of range that were accepted silently (a reversed overlay-weight range, a negative
    /// grouse points range, a positive silence threshold) or found only after the demo had written its
    /// whole dataset (--epochs=-1, an unknown --arch), or refused with exit 1 as if a file were at fault
    /// (spectrogram --start -1, evaluate --threshold nan): each is now refused up front naming its
    /// option, exit 64.
    func testOutOfRangeSettingsAreRefusedBeforeAnyWork() throws {
        let f = try SafetyTests.fixture()
        let dir = makeTemporaryDirectory("cli-ranges")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rec = f.recordings[0]
        let cases: [(args: [String], words: [String])] = [
            (["train", "--train", f.dir + "/train.csv", "--validation", f.dir + "/validation.csv", "--arch", "small", "--size", "32x32",
              "--device", "cpu", "--out", dir + "/runs", "--overlays", f.dir + "/train.csv", "--overlay-weight", "0.7-0.3"], ["--overlay-weight", "LOW above HIGH"]),
            (["grouse", rec, "--points-range=-5,10", "--out", dir + "/g1.csv"], ["--points-range", "negative"]),
            (["grouse", rec, "--points-range", "100,9", "--out", dir + "/g2.csv"], ["--points-range", "above HI"]),
            (["balance", f.dir + "/train.csv", "--seed", "1", "--silence-threshold-db", "10", "--out", dir + "/b.csv"], ["--silence-threshold-db"]),
            (["spectrogram", rec, "--start=-1", "--out", dir + "/s1.png"], ["--start"]),
            (["spectrogram", rec, "--start", "nan", "--out", dir + "/s2.png"], ["--start"]),
            (["spectrogram", rec, "--duration", "0", "--out", dir + "/s3.png"], ["--duration"]),
            (["evaluate", "--scores", f.dir + "/train.csv", "--labels", f.dir + "/train.csv", "--threshold", "nan", "--out", dir + "/ev"], ["--threshold", "nan"]),
            (["demo", "--quick", "--epochs=-1", "--out", dir + "/demo1"], ["--epochs"]),
            (["demo", "--quick", "--arch", "bogus", "--out", dir + "/demo2"], ["--arch", "resnet18"]),
        ]
        for c in cases {
            let r = try CLI.run(c.args, timeout: 120)
            XCTAssertEqual(r.status, 64, "\(c.args.joined(separator: " ")): \(r.output)")
            for word in c.words { XCTAssertTrue(r.output.contains(word), "\(c.args.joined(separator: " ")): \(r.output)") }
        }
        for out in ["runs", "g1.csv", "g2.csv", "b.csv", "s1.png", "s2.png", "s3.png", "ev", "demo1", "demo2"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/" + out), "\(out) was written")
        }
    }
}
