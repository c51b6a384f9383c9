import Foundation
import TestSupport
import XCTest

/// Settings out of range that were accepted silently (a reversed overlay-weight range, a negative
/// grouse points range, a positive silence threshold) or found only after the demo had written its
/// whole dataset (--epochs=-1, an unknown --arch), or refused with exit 1 as if a file were at fault
/// (spectrogram --start -1, evaluate --threshold nan): each is now refused up front naming its
/// option, exit 64.
final class RangeOptionTests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else {
            throw XCTSkip("train-gpu binary not built at \(CLI.binary)")
        }
    }

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
