import Audio
import ChorusCore
import Foundation
import Model
import TestSupport
import XCTest

/// Prediction shared between processes: MPI ranks (mpirun) and job-array parts (`--shard` +
/// `merge`) write byte for byte what one process writes; a failing rank stops the job.
final class DistributedTests: XCTestCase {
    static let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("train-gpu binary not built at \(CLI.binary)") }
    }

    func launcher(_ ranks: Int) throws -> [String] { try Self.launcher(ranks) }

    static func launcher(_ ranks: Int) throws -> [String] {
        guard let mpirun = Self.mpirun else {
            XCTAssertNil(ProcessInfo.processInfo.environment["CI"], "CI installs Open MPI (scripts/setup)")
            throw XCTSkip("no mpirun (Debian: apt install openmpi-bin libopenmpi-dev)")
        }
        return [mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)"]
    }

    func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    func predictArguments(_ f: SafetyTests.Fixture, out: String) -> [String] {
        ["predict", "--model", f.model] + f.recordings + ["--clip-overlap", "0.5", "--final-clip", "extend", "--workers", "1", "--out", out]
    }

    func testPredictInTwoAndThreeRanksWritesTheBytesOfOneProcess() throws {
        let f = try SafetyTests.fixture()
        let one = try CLI.run(predictArguments(f, out: "mpi-one.csv"), in: f.dir)
        XCTAssertEqual(one.status, 0, one.output)
        for ranks in [2, 3] {
            let out = "mpi-\(ranks).csv"
            let r = try CLI.run(predictArguments(f, out: out), in: f.dir, launcher: try launcher(ranks), timeout: 300)
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("in \(ranks) ranks") && r.output.contains("joined the \(ranks) ranks' parts: 6 files"), r.output)
            XCTAssertEqual(try text(f.dir + "/" + out), try text(f.dir + "/mpi-one.csv"), "\(ranks) ranks")
            XCTAssertEqual(try text(f.dir + "/" + out + ".done"), try text(f.dir + "/mpi-one.csv.done"))
            let left = try FileManager.default.contentsOfDirectory(atPath: f.dir).filter { $0.contains("mpi-\(ranks).part-") }
            XCTAssertEqual(left, [], "the ranks' parts are removed once joined")
        }
    }

    func testAFailingRankStopsTheJobWithItsMessage() throws {
        let f = try SafetyTests.fixture()
        // Rank 1's part cannot be written: a folder stands where the file would go.
        try FileManager.default.createDirectory(atPath: f.dir + "/fail.part-2-of-2.csv", withIntermediateDirectories: true)
        let start = Date()
        let r = try CLI.run(predictArguments(f, out: "fail.csv"), in: f.dir, launcher: try launcher(2), timeout: 120)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertNotEqual(r.status, 137, "the job hung until the watchdog killed it: \(r.output)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 100)
        XCTAssertTrue(r.output.contains("train-gpu rank 1 of 2 on") && r.output.contains("fail.part-2-of-2.csv"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.dir + "/fail.csv"), "no joined table from a failed job")
    }

    func testShardsOfAJobArrayMergeIntoTheBytesOfOneProcess() throws {
        let f = try SafetyTests.fixture()
        let one = try CLI.run(predictArguments(f, out: "array-one.csv"), in: f.dir)
        XCTAssertEqual(one.status, 0, one.output)
        // Parts 1 and 3 by --shard, part 2 as Slurm's array task 5 of tasks 4-6.
        for k in [1, 3] {
            let r = try CLI.run(predictArguments(f, out: "array.csv") + ["--shard", "\(k)/3"], in: f.dir)
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("train-gpu merge --out array.csv array.part-*-of-3.csv"), r.output)
        }
        let task = try CLI.run(predictArguments(f, out: "array.csv"), in: f.dir,
                               environment: ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_COUNT": "3"])
        XCTAssertEqual(task.status, 0, task.output)
        XCTAssertTrue(task.output.contains("part 2/3"), task.output)
        let parts = (1...3).map { "array.part-\($0)-of-3.csv" }
        let sizes = try parts.map { try text(f.dir + "/" + $0).components(separatedBy: "\n").count }
        XCTAssertTrue(sizes.allSatisfy { $0 > 2 }, "every part scored some files: \(sizes)")

        // Missing, duplicated or foreign parts are refused and nothing is written.
        var r = try CLI.run(["merge", parts[0], parts[2], "--out", "array.csv"], in: f.dir)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("missing part 2/3"), r.output)
        r = try CLI.run(["merge", parts[0], parts[1], parts[1], parts[2], "--out", "array.csv"], in: f.dir)
        XCTAssertTrue(r.output.contains("part 2/3 given twice"), r.output)
        let other = try CLI.run(["predict", "--model", f.model] + f.recordings + ["--final-clip", "extend", "--workers", "1", "--shard", "2/3", "--out", "other.csv"], in: f.dir)
        XCTAssertEqual(other.status, 0, other.output)
        r = try CLI.run(["merge", parts[0], "other.part-2-of-3.csv", parts[2], "--out", "array.csv"], in: f.dir)
        XCTAssertTrue(r.output.contains("clip overlap"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.dir + "/array.csv"))

        r = try CLI.run(["merge"] + parts.reversed() + ["--out", "array.csv"], in: f.dir)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("joined 3 parts: 6 files"), r.output)
        XCTAssertEqual(try text(f.dir + "/array.csv"), try text(f.dir + "/array-one.csv"))
        XCTAssertEqual(try text(f.dir + "/array.csv.done"), try text(f.dir + "/array-one.csv.done"))
        r = try CLI.run(["merge"] + parts + ["--out", "array.csv"], in: f.dir)
        XCTAssertEqual(r.status, 1, "finished work is not replaced without --overwrite: \(r.output)")
        let bad = try CLI.run(predictArguments(f, out: "x.csv") + ["--shard", "4/3"], in: f.dir)
        XCTAssertEqual(bad.status, 64, bad.output)
        XCTAssertTrue(bad.output.contains("--shard must be K/N"), bad.output)
    }
}

/// ribbit and grouse shared between processes as predict is: MPI ranks, and job-array parts
/// joined by `merge`, write byte for byte the table one process writes, with its record.
extension DistributedTests {
    /// Five short recordings at 8 kHz (names not in duration order, one in a subfolder): pulsing
    /// 2.15 kHz calls (RIBBIT) in some, accelerating 50 Hz thumps (grouse drumming) in others,
    /// and an unreadable file that every run reports and skips.
    nonisolated(unsafe) static var detectorAudio: String?

    static func detectorFixture() throws -> String {
        if let detectorAudio { return detectorAudio }
        let dir = makeTemporaryDirectory("cli-detector-shards")
        try FileManager.default.createDirectory(atPath: dir + "/audio/sub", withIntermediateDirectories: true)
        var random = TestRNG(seed: 21)
        let rate = 8000
        let recordings: [(name: String, seconds: Double, pulsing: Bool, drumming: Bool)] =
            [("c.wav", 6, true, false), ("a.wav", 3, false, false), ("sub/b.wav", 5, false, true), ("e.wav", 2.5, true, false), ("d.wav", 5.5, true, true)]
        for r in recordings {
            let n = Int(r.seconds * Double(rate))
            var x = random.uniform(n, -0.02, 0.02)
            if r.pulsing {
                for i in 0..<n {
                    let t = Double(i) / Double(rate)
                    if (t * 12).truncatingRemainder(dividingBy: 1) < 0.4 { x[i] += Float(0.3 * sin(2 * .pi * 2150 * t)) }
                }
            }
            if r.drumming {
                var t = 0.5, gap = 0.6
                while gap > 0.08 && t < r.seconds - 0.2 {
                    let start = Int(t * Double(rate))
                    for j in 0..<Int(0.06 * Double(rate)) where start + j < n {
                        let u = Double(j) / Double(rate)
                        x[start + j] += Float(0.8 * exp(-u / 0.015) * sin(2 * .pi * 50 * u))
                    }
                    t += gap; gap *= 0.88
                }
            }
            try AudioFile.write(AudioSamples(samples: x, sampleRate: rate), to: dir + "/audio/" + r.name)
        }
        try Data("not audio".utf8).write(to: URL(fileURLWithPath: dir + "/audio/broken.wav"))
        detectorAudio = dir
        return dir
    }

    /// The record beside a table without its date (and, for a merge, its command line).
    func record(_ path: String, ignoring: [String] = ["date"]) throws -> NSDictionary {
        var r = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any], path)
        for key in ignoring { r[key] = nil }
        return r as NSDictionary
    }

    func ribbitArguments(_ audio: [String], out: String) -> [String] {
        ["ribbit"] + audio + [ "--signal-band", "1900", "2400", "--pulse-rate-range", "8", "20", "--noise-bands", "0", "1500", "2500", "3500",
         "--window-samples", "256", "--overlap-samples", "128", "--workers", "1", "--plot", "plots", "--out", out]
    }

    func grouseArguments(_ audio: [String], out: String) -> [String] { ["grouse"] + audio + ["--workers", "1", "--out", out] }

    /// One process, 2 ranks, and parts 1/2 (--shard) + 2/2 (Slurm array task) joined by merge:
    /// the same table bytes, the same record (all input files, the failure), the ranks' parts
    /// removed, the summary printed once with every rank's failure. Returns the array folder.
    @discardableResult
    func checkDetectorShards(_ step: String, _ arguments: ([String], String) -> [String]) throws -> String {
        let dir = try Self.detectorFixture(), audio = dir + "/audio"
        // sub/b.wav first: the input order is not the order of the rows (sorted by file).
        let inputs = [audio + "/sub", audio]
        let one = dir + "/\(step)-one", mpi = dir + "/\(step)-mpi", array = dir + "/\(step)-array"
        for d in [one, mpi, array] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        let single = try CLI.run(arguments(inputs, "t.csv"), in: one)
        XCTAssertEqual(single.status, 0, single.output)
        let reference = try text(one + "/t.csv")
        let referenceRecord = try record(one + "/t.json")
        XCTAssertEqual((referenceRecord["inputs"] as? [String])?.count, 6, "\(referenceRecord)")
        XCTAssertNotNil((referenceRecord["failures"] as? [String: String])?[audio + "/broken.wav"], "\(referenceRecord)")

        let r = try CLI.run(arguments(inputs, "t.csv"), in: mpi, launcher: try launcher(2), timeout: 300)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("joined the 2 ranks' parts: 5 files"), r.output)
        XCTAssertEqual(r.output.components(separatedBy: "\n").filter { $0.hasPrefix("\(step): ") }.count, 1, "one summary, rank 0's: \(r.output)")
        XCTAssertTrue(r.output.contains("of 6 files") && r.output.contains("1 file(s) skipped") && r.output.contains("broken.wav"), r.output)
        XCTAssertEqual(try text(mpi + "/t.csv"), reference, "2 ranks")
        XCTAssertEqual(try record(mpi + "/t.json"), referenceRecord)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mpi).filter { $0.contains(".part-") }, [], "the ranks' parts are removed once joined")

        let first = try CLI.run(arguments(inputs, "t.csv") + ["--shard", "1/2"], in: array)
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.output.contains("train-gpu merge --out t.csv t.part-*-of-2.csv"), first.output)
        let second = try CLI.run(arguments(inputs, "t.csv"), in: array, environment: ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "2"])
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertTrue(second.output.contains("part 2/2"), second.output)
        let parts = ["t.part-1-of-2.csv", "t.part-2-of-2.csv"]
        var m = try CLI.run(["merge", parts[1], "--out", "t.csv"], in: array)
        XCTAssertEqual(m.status, 1, m.output)
        XCTAssertTrue(m.output.contains("missing part 1/2"), m.output)
        m = try CLI.run(["merge", parts[0], parts[1], parts[1], "--out", "t.csv"], in: array)
        XCTAssertTrue(m.output.contains("part 2/2 given twice"), m.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: array + "/t.csv"))
        m = try CLI.run(["merge"] + parts.reversed() + ["--out", "t.csv"], in: array)
        XCTAssertEqual(m.status, 0, m.output)
        XCTAssertTrue(m.output.contains("joined 2 parts: 5 files"), m.output)
        XCTAssertEqual(try text(array + "/t.csv"), reference, "--shard 1/2 + 2/2 + merge")
        XCTAssertEqual(try record(array + "/t.json", ignoring: ["date", "commandLine"]), try record(one + "/t.json", ignoring: ["date", "commandLine"]))
        return array
    }

    func testRibbitInTwoRanksAndInMergedShardsWritesTheBytesOfOneProcess() throws {
        try checkDetectorShards("ribbit", ribbitArguments)
        let dir = try Self.detectorFixture()
        XCTAssertGreaterThan(try text(dir + "/ribbit-one/t.csv").components(separatedBy: "\n").count, 10)
        // The plots: one per readable file, named and drawn as by one process.
        let plots = try FileManager.default.contentsOfDirectory(atPath: dir + "/ribbit-one/plots").sorted()
        XCTAssertEqual(plots.count, 5, "\(plots)")
        for folder in ["ribbit-mpi", "ribbit-array"] {
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/\(folder)/plots").sorted(), plots, folder)
            for p in plots { XCTAssertEqual(FileManager.default.contents(atPath: dir + "/\(folder)/plots/" + p), FileManager.default.contents(atPath: dir + "/ribbit-one/plots/" + p), p) }
        }
    }

    /// The grouse table lists drumming sequences only: files without any have no rows.
    func testGrouseInTwoRanksAndInMergedShardsWritesTheBytesOfOneProcess() throws {
        let array = try checkDetectorShards("grouse", grouseArguments)
        let dir = try Self.detectorFixture()
        let rows = try text(dir + "/grouse-one/t.csv").split(separator: "\n").dropFirst()
        XCTAssertFalse(rows.isEmpty, "the synthesised drumming is found")
        XCTAssertTrue(rows.allSatisfy { $0.hasPrefix(dir + "/audio/d.wav,") || $0.hasPrefix(dir + "/audio/sub/b.wav,") }, "\(rows)")
        // A part of another table is refused by name.
        let ribbit = try CLI.run(ribbitArguments([dir + "/audio"], out: "r.csv") + ["--shard", "2/2"], in: array)
        XCTAssertEqual(ribbit.status, 0, ribbit.output)
        let m = try CLI.run(["merge", "t.part-1-of-2.csv", "r.part-2-of-2.csv", "--out", "mixed.csv"], in: array)
        XCTAssertEqual(m.status, 1, m.output)
        XCTAssertTrue(m.output.contains("r.part-2-of-2.csv is a part of a ribbit table"), m.output)
    }
}

/// Data-parallel training: N ranks, each with its share of every global batch, gradients summed
/// over the ranks, train as one process does.
final class DataParallelTrainingTests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("train-gpu binary not built at \(CLI.binary)") }
    }

    func metrics(_ folder: String) throws -> [[Double]] {
        try String(contentsOfFile: folder + "/metrics.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { line in
            line.split(separator: ",").prefix(4).map { Double($0) ?? .nan }
        }
    }

    func testTwoAndThreeRanksWithSynchronisedBatchNormTrainAsOneProcess() throws {
        let f = try SafetyTests.fixture()
        // No random augmentation: every draw then depends only on the sample, not on which rank
        // holds it, so the runs must agree to float tolerance.
        let common = ["--augment", "none", "--seed", "3"]
        let one = try CLI.run(SafetyTests.trainArguments(name: "dp-1", epochs: 2, extra: common), in: f.dir)
        XCTAssertEqual(one.status, 0, one.output)
        let reference = try metrics("\(f.runs)/\(dateStamp())_dp-1")
        let referenceWeights = try SafeTensorsFile.read("\(f.runs)/\(dateStamp())_dp-1/last.model")
        for ranks in [2, 3] {
            let name = "dp-\(ranks)"
            let r = try CLI.run(SafetyTests.trainArguments(name: name, epochs: 2, extra: common + ["--sync-batchnorm"]), in: f.dir,
                                launcher: try DistributedTests.launcher(ranks), timeout: 120)
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("in \(ranks) ranks (global batch 4"), r.output)
            let folder = "\(f.runs)/\(dateStamp())_\(name)"
            let got = try metrics(folder)
            XCTAssertEqual(got.count, reference.count)
            for (a, b) in zip(got, reference) {
                for k in 1..<4 { XCTAssertEqual(a[k], b[k], accuracy: 1e-4 * max(1, abs(b[k])), "\(ranks) ranks, epoch \(b[0]), column \(k)") }
            }
            let weights = try SafeTensorsFile.read(folder + "/last.model")
            for (key, t) in referenceWeights.tensors {
                let u = try XCTUnwrap(weights.tensors[key], key)
                let worst = zip(t.values, u.values).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-3, "\(ranks) ranks: \(key)")
            }
            let config = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
            XCTAssertTrue(config.contains("\"ranks\" : \(ranks)"), config)
        }
    }

    /// With random augmentation too: every draw (host-side per sample, device-side noise per
    /// global row) is the same whichever rank holds the sample, so 2 ranks train as one process.
    func testTwoRanksWithAugmentationTrainAsOneProcess() throws {
        let f = try SafetyTests.fixture()
        for augment in ["audio", "classic"] {
            let common = ["--augment", augment, "--seed", "7"]
            let one = try CLI.run(SafetyTests.trainArguments(name: "aug-\(augment)-1", epochs: 2, extra: common), in: f.dir)
            XCTAssertEqual(one.status, 0, one.output)
            let r = try CLI.run(SafetyTests.trainArguments(name: "aug-\(augment)-2", epochs: 2, extra: common + ["--sync-batchnorm"]), in: f.dir,
                                launcher: try DistributedTests.launcher(2), timeout: 120)
            XCTAssertEqual(r.status, 0, r.output)
            let reference = try metrics("\(f.runs)/\(dateStamp())_aug-\(augment)-1"), got = try metrics("\(f.runs)/\(dateStamp())_aug-\(augment)-2")
            XCTAssertEqual(got.count, reference.count)
            for (a, b) in zip(got, reference) {
                for k in 1..<4 { XCTAssertEqual(a[k], b[k], accuracy: 1e-4 * max(1, abs(b[k])), "--augment \(augment), epoch \(b[0]), column \(k)") }
            }
        }
    }

    /// Two ranks on two hosts that see each other only over TCP: two network namespaces joined by
    /// a virtual Ethernet pair, each with its own address and hostname; mpirun starts the second
    /// host's daemon through a remote-shell agent, as it would with ssh. Needs root (CI runs as root).
    func testTwoHostsOverTCPTrainAsOneProcess() throws {
        guard let mpirun = DistributedTests.mpirun else { throw XCTSkip("no mpirun") }
        let hosts = try TwoHostNetwork()
        defer { hosts.remove() }
        let f = try SafetyTests.fixture()
        let common = ["--augment", "none", "--seed", "3"]
        let one = try CLI.run(SafetyTests.trainArguments(name: "tcp-1", epochs: 2, extra: common), in: f.dir)
        XCTAssertEqual(one.status, 0, one.output)
        let launcher = hosts.launcher(mpirun: mpirun)
        let r = try CLI.run(SafetyTests.trainArguments(name: "tcp-2", epochs: 2, extra: common + ["--sync-batchnorm"]), in: f.dir,
                            launcher: launcher, timeout: 180)
        XCTAssertEqual(r.status, 0, "\(launcher.joined(separator: " "))\n\(r.output)")
        let reference = try metrics("\(f.runs)/\(dateStamp())_tcp-1"), folder = "\(f.runs)/\(dateStamp())_tcp-2"
        let got = try metrics(folder)
        XCTAssertEqual(got.count, reference.count)
        for (a, b) in zip(got, reference) {
            for k in 1..<4 { XCTAssertEqual(a[k], b[k], accuracy: 1e-4 * max(1, abs(b[k])), "two hosts, epoch \(b[0]), column \(k)") }
        }
        let config = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains(hosts.names[0]) && config.contains(hosts.names[1]), config)
    }

    /// A run killed after some epochs in 2 ranks and resumed in 3 ends where one process does.
    func testResumeWithAnotherRankCountEndsAsOneProcess() throws {
        let f = try SafetyTests.fixture()
        let common = ["--augment", "none", "--seed", "5", "--sync-batchnorm"]
        let epochs = 6
        let one = try CLI.run(SafetyTests.trainArguments(name: "rs-1", epochs: epochs, extra: common), in: f.dir)
        XCTAssertEqual(one.status, 0, one.output)
        // Two ranks, stopped early in epoch 3 (after epoch 2's checkpoint) as a kill would stop them.
        let folder = "\(f.runs)/\(dateStamp())_rs-n"
        let killed = try CLI.run(SafetyTests.trainArguments(name: "rs-n", epochs: epochs, extra: common), in: f.dir,
                                 launcher: try DistributedTests.launcher(2), environment: ["CHORUS_SIMULATE_KILL_AFTER_EPOCH": "2"], timeout: 120)
        XCTAssertNotEqual(killed.status, 0, killed.output)
        XCTAssertTrue(killed.output.contains("simulated kill"), killed.output)
        let done = ((try? String(contentsOfFile: folder + "/metrics.csv", encoding: .utf8))?.split(separator: "\n").count ?? 1) - 1
        XCTAssertEqual(done, 2, "the checkpoint of epoch 2 is kept")
        let r = try CLI.run(SafetyTests.trainArguments(name: "rs-n", epochs: epochs, extra: common + ["--resume"]), in: f.dir,
                            launcher: try DistributedTests.launcher(3), timeout: 120)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("resuming") && r.output.contains("in 3 ranks"), r.output)
        let a = try SafeTensorsFile.read("\(f.runs)/\(dateStamp())_rs-1/last.model"), b = try SafeTensorsFile.read(folder + "/last.model")
        for (key, t) in a.tensors {
            let u = try XCTUnwrap(b.tensors[key], key)
            let worst = zip(t.values, u.values).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-3, "\(key) after a resume in 3 ranks of a run started in 2 (stopped after epoch \(done))")
        }
    }
}

/// Two "hosts" on this machine: network namespaces joined by a veth pair (10.X.0.1 and 10.X.0.2),
/// and a remote-shell agent that runs mpirun's daemon in the other namespace under its own hostname.
struct TwoHostNetwork {
    let namespaces: [String]
    let addresses: [String]
    let names: [String]
    let subnet: String
    let agent: String

    init() throws {
        let id = Int(getpid()) % 200 + 20
        namespaces = ["chorus\(id)a", "chorus\(id)b"]
        addresses = ["10.77.\(id).1", "10.77.\(id).2"]
        names = ["chorus-host-\(id)-a", "chorus-host-\(id)-b"]
        subnet = "10.77.\(id).0/24"
        let ip = "/usr/sbin/ip"
        guard FileManager.default.isExecutableFile(atPath: ip), FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else {
            throw XCTSkip("no ip or unshare (Debian: iproute2, util-linux)")
        }
        let (a, b) = (namespaces[0], namespaces[1])
        let steps = [["netns", "add", a], ["netns", "add", b], ["link", "add", "v\(a)", "type", "veth", "peer", "name", "v\(b)"],
                     ["link", "set", "v\(a)", "netns", a], ["link", "set", "v\(b)", "netns", b],
                     ["-n", a, "addr", "add", "\(addresses[0])/24", "dev", "v\(a)"], ["-n", b, "addr", "add", "\(addresses[1])/24", "dev", "v\(b)"],
                     ["-n", a, "link", "set", "v\(a)", "up"], ["-n", b, "link", "set", "v\(b)", "up"],
                     ["-n", a, "link", "set", "lo", "up"], ["-n", b, "link", "set", "lo", "up"]]
        for (k, step) in steps.enumerated() {
            let status = Self.run(ip, step)
            if status != 0 {
                Self.removeNamespaces(namespaces)
                if k == 0 { throw XCTSkip("cannot make network namespaces here (ip netns add exit \(status); needs root)") }
                XCTFail("ip \(step.joined(separator: " ")) failed (exit \(status))")
                throw XCTSkip("network setup failed")
            }
        }
        agent = NSTemporaryDirectory() + "chorus-rsh-agent-\(id).sh"
        let script = """
        #!/bin/sh
        # mpirun's remote shell for the test: "ssh HOST COMMAND" becomes COMMAND in HOST's namespace.
        host=$1; shift
        case $host in
          \(addresses[0])) ns=\(namespaces[0]); name=\(names[0]);;
          \(addresses[1])) ns=\(namespaces[1]); name=\(names[1]);;
          *) echo "unknown host $host" >&2; exit 1;;
        esac
        exec \(ip) netns exec $ns /usr/bin/unshare --uts sh -c "hostname $name; $*"

        """
        try script.write(toFile: agent, atomically: true, encoding: .utf8)
        chmod(agent, 0o755)
    }

    /// mpirun started on the first host, one rank per host, TCP only (no shared memory between them).
    func launcher(mpirun: String) -> [String] {
        ["/usr/sbin/ip", "netns", "exec", namespaces[0], "/usr/bin/unshare", "--uts", "sh", "-c", "hostname \(names[0]) && exec \"$@\"", "sh",
         mpirun, "--allow-run-as-root", "--host", "\(addresses[0]):1,\(addresses[1]):1", "-np", "2",
         "--mca", "plm_rsh_agent", agent, "--mca", "btl", "self,tcp",
         "--mca", "oob_tcp_if_include", subnet, "--mca", "btl_tcp_if_include", subnet]
    }

    func remove() {
        Self.removeNamespaces(namespaces)
        try? FileManager.default.removeItem(atPath: agent)
    }

    static func removeNamespaces(_ namespaces: [String]) {
        for ns in namespaces { _ = run("/usr/sbin/ip", ["netns", "del", ns]) }
    }

    static func run(_ tool: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
