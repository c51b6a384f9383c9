import Audio
import Foundation
import TestSupport
import XCTest

/// Runs the built `train-gpu` binary as a user would.
enum CLI {
    static var binary: String {
        // The test bundle sits next to the products of the same build.
        var dir = URL(fileURLWithPath: CommandLine.arguments.first { $0.contains(".xctest") } ?? Bundle.main.bundlePath)
        while dir.pathComponents.count > 1 && !dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
        return dir.deletingLastPathComponent().appendingPathComponent("train-gpu").path
    }

    struct Result { var status: Int32; var output: String }

    /// Runs train-gpu (under `launcher`, e.g. mpirun and its options, when given) with extra
    /// environment variables; a run longer than `timeout` seconds is killed (status 137).
    @discardableResult
    static func run(_ args: [String], in directory: String? = nil, launcher: [String] = [], environment: [String: String] = [:],
                    timeout: Double = 600) throws -> Result {
        let p = Process()
        if let first = launcher.first {
            p.executableURL = URL(fileURLWithPath: first)
            p.arguments = Array(launcher.dropFirst()) + [binary] + args
        } else {
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = args
        }
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        var env = ProcessInfo.processInfo.environment
        env["CHORUS_PLAIN_PROGRESS"] = "1"
        env.merge(environment) { _, new in new }
        p.environment = env
        try p.run()
        let watchdog = DispatchWorkItem { if p.isRunning { kill(-p.processIdentifier, SIGKILL); p.terminate(); kill(p.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        watchdog.cancel()
        return Result(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}

final class CLITests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else {
            throw XCTSkip("train-gpu binary not built at \(CLI.binary)")
        }
    }

    func testDevicesListsOpenCLAndTheFallbackWithADefault() throws {
        let r = try CLI.run(["devices"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("cpu  native (oneDNN + OpenBLAS + FFTW)"), r.output)
        XCTAssertTrue(r.output.contains("convolutions: per shape, oneDNN, im2col + OpenBLAS or (3x3, stride 1) Winograd"), r.output)
        XCTAssertEqual(r.output.components(separatedBy: "[default]").count, 2, "exactly one default: \(r.output)")
        if ProcessInfo.processInfo.environment["CI"] != nil { XCTAssertTrue(r.output.contains("opencl:0"), r.output) }
    }

    func testUnknownDeviceSaysWhichExist() throws {
        let r = try CLI.run(["bench", "--devices", "opencl:7", "--quick"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("no OpenCL device 'opencl:7'") || r.output.contains("no OpenCL platform"), r.output)
        XCTAssertTrue(r.output.contains("cpu"), r.output)
    }

    func testLabelsReproduceTheReferenceTableExactly() throws {
        let dir = makeTemporaryDirectory("cli-labels")
        let table = try SharedData.path("annotations/MSD-0003_20180427_2minstart00.Table.1.selections.txt")
        let r = try CLI.run(["labels", "--raven", table, "--duration", "120", "--clip-duration", "3", "--out", dir + "/labels.csv"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try String(contentsOfFile: dir + "/labels.csv", encoding: .utf8),
                       try String(contentsOfFile: try SharedData.path("reference/msd_clip_labels.csv"), encoding: .utf8))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/labels.json"), "provenance sidecar")
    }

    func testSpectrogramWritesPictureAndData() throws {
        let dir = makeTemporaryDirectory("cli-spec")
        let audio = try SharedData.path("audio/1min.wav")
        var r = try CLI.run(["spectrogram", audio, "--start", "3", "--duration", "3", "--bandpass", "500", "8000", "--size", "224x224", "--out", dir + "/t.npy"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("224"), r.output)
        r = try CLI.run(["spectrogram", audio, "--duration", "5", "--out", dir + "/s.png"])
        XCTAssertEqual(r.status, 0, r.output)
        let png = try Data(contentsOf: URL(fileURLWithPath: dir + "/s.png"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        r = try CLI.run(["spectrogram", dir + "/missing.wav", "--out", dir + "/x.png"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("missing.wav"), r.output)
    }

    /// labels → split → train → predict → evaluate, end to end on real recordings.
    func testWorkflowEndToEnd() throws {
        let dir = makeTemporaryDirectory("cli-flow")
        let S = try SharedData.path("")
        func ok(_ args: [String]) throws -> String {
            let r = try CLI.run(args, in: dir)
            XCTAssertEqual(r.status, 0, "train-gpu \(args.joined(separator: " ")):\n\(r.output)")
            return r.output
        }
        _ = try ok(["labels", "--audacity", S + "/annotations/spinetail.audacity.txt", "--audio", S + "/audio/spinetail.wav",
                    "--clip-duration", "1", "--clip-overlap", "0.5", "--out", "labels.csv"])
        _ = try ok(["split", "labels.csv", "--validation", "0.3", "--seed", "1", "--out-train", "train.csv", "--out-validation", "val.csv"])
        let train = try ok(["train", "--train", "train.csv", "--validation", "val.csv", "--arch", "small", "--epochs", "2", "--batch-size", "8",
                            "--size", "48x48", "--sample-rate", "22050", "--clip-duration", "1", "--device", "cpu", "--note", "cli test",
                            "--final", "--name", "spinetail", "--out", "runs"])
        XCTAssertTrue(train.contains("best epoch"), train)
        let runs = try FileManager.default.contentsOfDirectory(atPath: dir + "/runs")
        XCTAssertEqual(runs.count, 1)
        let run = dir + "/runs/" + runs[0]
        XCTAssertTrue(runs[0].hasSuffix("_spinetail"))
        for f in ["best.model", "last.model", "checkpoint.safetensors", "metrics.csv", "config.json", "train.csv", "validation.csv", "README.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/" + f), "missing \(f)")
        }
        let perms = try FileManager.default.attributesOfItem(atPath: run + "/best.model")[.posixPermissions] as? Int
        XCTAssertEqual(perms, 0o444)
        XCTAssertTrue(try String(contentsOfFile: run + "/README.txt", encoding: .utf8).contains("note: cli test"))
        let predict = try ok(["predict", "--model", run + "/best.model", S + "/audio/spinetail.wav", "--clip-overlap", "0.5", "--final-clip", "none",
                              "--threshold", "0.5", "--raven-out", "detections", "--out", "scores.csv"])
        XCTAssertTrue(predict.contains("scored 1 files"), predict)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/detections/spinetail.Table.1.selections.txt"))
        // The run's model: summary.json names last.model (the default --select-model), and a run folder
        // given as --model loads it; a folder that is not a finished run is refused, naming its models.
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/summary.json"))) as? [String: Any]
        XCTAssertEqual(summary?["model"] as? String, "last.model")
        XCTAssertTrue(train.contains("the run's model (--select-model last): runs/\(runs[0])/last.model"), train)
        let byFolder = try ok(["predict", "--model", run, S + "/audio/spinetail.wav", "--clip-overlap", "0.5", "--final-clip", "none", "--out", "scores-run.csv"])
        XCTAssertTrue(byFolder.contains("with \(run)/last.model"), byFolder)
        _ = try ok(["predict", "--model", run + "/last.model", S + "/audio/spinetail.wav", "--clip-overlap", "0.5", "--final-clip", "none", "--out", "scores-last.csv"])
        XCTAssertEqual(try String(contentsOfFile: dir + "/scores-run.csv", encoding: .utf8), try String(contentsOfFile: dir + "/scores-last.csv", encoding: .utf8))
        try FileManager.default.createDirectory(atPath: dir + "/unfinished", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: run + "/best.model", toPath: dir + "/unfinished/best.model")
        let refused = try CLI.run(["predict", "--model", "unfinished", S + "/audio/spinetail.wav", "--out", "never.csv"], in: dir)
        XCTAssertEqual(refused.status, 64, refused.output)
        XCTAssertTrue(refused.output.contains("unfinished is a folder without summary.json") && refused.output.contains("best.model"), refused.output)
        let eval = try ok(["evaluate", "--scores", "scores.csv", "--labels", "labels.csv", "--out", "eval"])
        XCTAssertTrue(eval.contains("SP") && eval.contains("CRER"), eval)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/eval/report.html"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/eval/metrics.json"))
    }

    /// `train` with no --clip-duration/--sample-rate on a table of 2 s clips of 22.05 kHz
    /// recordings trains on 2 s clips at 22.05 kHz, says so, and records it; mismatches are errors.
    func testTrainTakesClipDurationAndSampleRateFromTheData() throws {
        let dir = makeTemporaryDirectory("cli-defaults")
        let field = try AudioFile.read(SharedData.path("audio/1min.wav"), sampleRate: 22050).samples
        var rows = ["file,start_time,end_time,A"]
        for i in 0..<6 {
            let path = "\(dir)/rec\(i).wav"
            try AudioFile.write(AudioSamples(samples: Array(field[(i * 88200)..<((i + 1) * 88200)]), sampleRate: 22050), to: path)
            rows += ["\(path),0.0,2.0,\(i % 2)", "\(path),2.0,4.0,\((i + 1) % 2)"]
        }
        try rows.joined(separator: "\n").write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
        try rows.prefix(5).joined(separator: "\n").write(toFile: dir + "/v.csv", atomically: true, encoding: .utf8)
        let r = try CLI.run(["train", "--train", "t.csv", "--validation", "v.csv", "--arch", "small", "--epochs", "1", "--batch-size", "4",
                             "--size", "32x32", "--device", "cpu", "--name", "d", "--out", "runs"], in: dir)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("clip duration 2 s (from the tables' rows (all 2 s))"), r.output)
        XCTAssertTrue(r.output.contains("sample rate 22050 Hz (the most common rate of the training recordings (all 6 recordings))"), r.output)
        XCTAssertTrue(r.output.contains("warning: only 3 optimiser steps"), r.output)
        let run = try FileManager.default.contentsOfDirectory(atPath: dir + "/runs")[0]
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/runs/\(run)/config.json"))) as? [String: Any]
        let configuration = try XCTUnwrap(config?["configuration"] as? [String: Any])
        let preprocessing = try XCTUnwrap(configuration["preprocessing"] as? [String: Any])
        XCTAssertEqual(preprocessing["sampleRate"] as? Int, 22050)
        XCTAssertEqual(preprocessing["clipDuration"] as? Double, 2)
        let derived = try XCTUnwrap(configuration["derivedSettings"] as? [String: String])
        XCTAssertTrue(derived["sample_rate"]?.contains("most common rate") == true, "\(derived)")
        // A clip duration that the rows do not have is refused, naming the fix.
        let longer = try CLI.run(["train", "--train", "t.csv", "--validation", "v.csv", "--arch", "small", "--epochs", "1", "--clip-duration", "1",
                                  "--device", "cpu", "--name", "e", "--out", "runs"], in: dir)
        XCTAssertNotEqual(longer.status, 0)
        XCTAssertTrue(longer.output.contains("--crop-longer-rows"), longer.output)
        // --profile on the CPU: every operation's share of the time spent in them.
        let cpuProfiled = try CLI.run(["train", "--train", "t.csv", "--validation", "v.csv", "--arch", "small", "--epochs", "1", "--batch-size", "4",
                                       "--size", "32x32", "--device", "cpu", "--name", "pc", "--out", "runs", "--profile"], in: dir)
        XCTAssertEqual(cpuProfiled.status, 0, cpuProfiled.output)
        XCTAssertTrue(cpuProfiled.output.contains("time in operations on cpu: "), cpuProfiled.output)
        XCTAssertTrue(cpuProfiled.output.contains("us each  convolution 5x5 backward-weights"), cpuProfiled.output)
        XCTAssertTrue(cpuProfiled.output.contains("us each  batchnormForwardTrain"), cpuProfiled.output)
        // --profile on OpenCL: every kernel's share of the device time, from OpenCL events. The
        // device has no tuning kept in this kernel cache: it is tuned first (the defaults only, in
        // a limit this short) and the tuning is kept.
        let kernelCache = dir + "/kernel-cache"
        let profiled = try CLI.run(["train", "--train", "t.csv", "--validation", "v.csv", "--arch", "small", "--epochs", "1", "--batch-size", "4",
                                    "--size", "32x32", "--device", "opencl", "--name", "p", "--out", "runs", "--profile", "--tune-seconds", "0.001"],
                                   in: dir, environment: ["CHORUS_KERNEL_CACHE": kernelCache])
        if profiled.output.contains("no OpenCL platform") && ProcessInfo.processInfo.environment["CI"] == nil { return }
        XCTAssertEqual(profiled.status, 0, profiled.output)
        XCTAssertTrue(profiled.output.contains("first use of opencl:"), profiled.output)
        XCTAssertTrue(profiled.output.contains("kept in \(kernelCache)/tuning-"), profiled.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: kernelCache).filter { $0.hasPrefix("tuning-") }.count, 1)
        XCTAssertTrue(profiled.output.contains("kernel time on "), profiled.output)
        XCTAssertTrue(profiled.output.contains("us each  gemm_"), profiled.output)
        // Every launch of the run is in the profile (its first 15 kernels by time are listed: which
        // ones depends on the device's timings).
        XCTAssertNotNil(profiled.output.range(of: #"kernel time on [^\n]*: [0-9.]+ s in [0-9]{3,} launches"#, options: .regularExpression), profiled.output)
    }
}

/// A model file is loadable by Python's `safetensors` package with no Chorus code.
final class ModelInteroperabilityTests: XCTestCase {
    func testPythonSafetensorsReadsModelFile() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import safetensors.numpy"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { throw XCTSkip("python3 not found") }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("Python package 'safetensors' not installed (pip install safetensors numpy)") }
        let dir = makeTemporaryDirectory("py")
        let S = try SharedData.path("")
        var r = try CLI.run(["labels", "--audacity", S + "/annotations/spinetail.audacity.txt", "--audio", S + "/audio/spinetail.wav",
                             "--clip-duration", "2", "--out", dir + "/l.csv"])
        XCTAssertEqual(r.status, 0, r.output)
        r = try CLI.run(["split", dir + "/l.csv", "--validation", "0.3", "--seed", "1", "--out-train", dir + "/t.csv", "--out-validation", dir + "/v.csv"])
        XCTAssertEqual(r.status, 0, r.output)
        r = try CLI.run(["train", "--train", dir + "/t.csv", "--validation", dir + "/v.csv", "--arch", "small", "--epochs", "1", "--batch-size", "4",
                         "--size", "32x32", "--sample-rate", "22050", "--clip-duration", "2", "--device", "cpu", "--name", "py", "--out", dir + "/runs"])
        XCTAssertEqual(r.status, 0, r.output)
        let run = try FileManager.default.contentsOfDirectory(atPath: dir + "/runs")[0]
        let script = """
        import json, sys
        from safetensors import safe_open
        with safe_open(sys.argv[1], framework="numpy") as f:
            meta = f.metadata()
            w = f.get_tensor("fc.weight")
            print(json.loads(meta["classes"]), meta["architecture"], list(w.shape), len(list(f.keys())))
        """
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", "-c", script, dir + "/runs/" + run + "/best.model"]
        let pipe = Pipe()
        py.standardOutput = pipe
        py.standardError = pipe
        try py.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        py.waitUntilExit()
        XCTAssertEqual(py.terminationStatus, 0, out)
        XCTAssertTrue(out.hasPrefix("['SP', 'CRER'] small [2, 64]"), out)
    }
}

/// `train-gpu demo --quick` (three epochs) end to end, twice with the same seed: the same files.
final class DemoTests: XCTestCase {
    func testQuickDemoRunsEndToEndAndIsReproducible() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("train-gpu not built") }
        let base = makeTemporaryDirectory("demo")
        var outputs: [String] = []
        for run in ["a", "b"] {
            let dir = base + "/" + run
            // Three epochs instead of --quick's ten: every step still runs, in a third of the training time.
            let r = try CLI.run(["demo", "--quick", "--epochs", "3", "--device", "cpu", "--out", dir])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("$ train-gpu labels --raven"), "prints the command lines")
            XCTAssertTrue(r.output.contains("average precision per class"), r.output)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/evaluation-with-overlays/report.html"))
            outputs.append(r.output)
        }
        // Data, tables, scores and metrics are identical once the folder name is replaced;
        // model weights are identical (their metadata carries the creation time).
        let fm = FileManager.default
        let files = try XCTUnwrap(fm.subpathsOfDirectory(atPath: base + "/a")).filter {
            $0.hasSuffix(".wav") || $0.hasSuffix(".txt") && $0.contains("selections") || $0.hasSuffix(".csv") && !$0.hasSuffix("metrics.csv")
                || $0.hasSuffix("metrics.json")
        }
        XCTAssertGreaterThan(files.count, 20)
        for f in files {
            func text(_ run: String) throws -> String {
                let folder = base + "/" + run
                return try String(decoding: Data(contentsOf: URL(fileURLWithPath: folder + "/" + f)), as: UTF8.self)
                    .replacingOccurrences(of: folder, with: "")
                    .replacingOccurrences(of: folder.replacingOccurrences(of: "/", with: "\\/"), with: "")  // JSON escapes slashes
            }
            let a = try text("a"), b = try text("b")
            XCTAssertTrue(a == b, "\(f) differs between two runs with the same seed")
        }
        let runs = try fm.contentsOfDirectory(atPath: base + "/a/runs")
        for run in runs {
            let a = try Data(contentsOf: URL(fileURLWithPath: base + "/a/runs/\(run)/best.model"))
            let b = try Data(contentsOf: URL(fileURLWithPath: base + "/b/runs/\(run)/best.model"))
            // Header length, then the header (metadata differs), then identical raw weights.
            func body(_ d: Data) -> Data { let n = d.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }; return d.subdata(in: (8 + Int(n))..<d.count) }
            XCTAssertEqual(body(a), body(b), "\(run) weights differ")
        }
    }
}
