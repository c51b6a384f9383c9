import Annotations
import ArgumentParser
import ChorusCore
import Evaluation
import Foundation
import Model
import Synthesis

/// `train-gpu demo`: the whole workflow of a field lab on a synthetic dataset made on the spot,
/// through the same commands a user runs (each step prints its command line).
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole workflow on a built-in synthetic dataset: labels, balance, split, train with overlays, predict, evaluate, report.",
        discussion: """
        Synthesizes targeted recordings (one species each, Raven tables of every call) and field recordings \
        (distant calls over wind, rain, insects, traffic and chatter) with three target species and one \
        confusion species, then runs each step with the real commands, printing them so you can repeat them. \
        A folder that already holds a demo's dataset or outputs is kept unless --overwrite, which the demo \
        then passes to every step (and replaces its run folders).
        """)

    @Option(help: "Folder for the dataset and every output.") var out: String = "chorus-demo"
    @Option(help: "Device: auto, cpu, gpu, opencl, opencl:N.") var device: String = "auto"
    @Flag(help: "A smaller dataset and fewer epochs (about 3 minutes on 2 cores).") var quick = false
    @Flag(help: "Train without field-noise overlays.") var noOverlays = false
    @Flag(help: "Train twice, with and without overlays, and compare the field test scores.") var compareOverlays = false
    @Option(help: "Seed for the dataset, shuffling and augmentation.") var seed: UInt64 = 2024
    @Option(help: "Training epochs (default 15, or 10 with --quick).") var epochs: Int?
    @Option(help: "Architecture: resnet18 (default) or small.") var arch: String?
    @OptionGroup var firstUseTuning: FirstUseTuningOptions
    @OptionGroup var outputs: OverwriteOption

    /// The variants trained: with overlays, without, or both.
    var variants: [(name: String, overlays: Bool)] {
        compareOverlays ? [("with-overlays", true), ("no-overlays", false)] : [(noOverlays ? "no-overlays" : "with-overlays", !noOverlays)]
    }

    /// Checked before anything is synthesized: the options the later steps pass on.
    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1; got \(epochs)") }
        if let arch, Architecture(rawValue: arch) == nil {
            throw ValidationError("--arch must be one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")); got '\(arch)'")
        }
    }

    func run() throws {
        let started = Date()
        let root = URL(fileURLWithPath: out).standardizedFileURL.path  // absolute: tables name files by path
        // An earlier demo's dataset and outputs are finished work like any other: refused before
        // anything is made, unless --overwrite (then every step replaces its own).
        try OutputPolicy.claim((["data", "labels"] + variants.flatMap { ["runs/\(dateStamp())_\($0.name)", "scores-\($0.name).csv", "evaluation-\($0.name)"] })
                                .map { PlannedOutput(root + "/" + $0, parameter: "--out (an earlier demo's)") },
                               inputs: [], overwrite: outputs.overwrite, hint: "pass --overwrite to run the demo again over it, or choose another --out")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var spec = quick ? SoundscapeDatasetSpec.quick : SoundscapeDatasetSpec.standard
        spec.seed = seed
        step(1, "Synthesize the dataset (targeted and field recordings with Raven tables)")
        let t0 = Date()
        let data = try SoundscapeGenerator.generate(spec, into: root + "/data")
        print("  \(data.targetedAudio.count) targeted recordings, \(data.fieldTrainAudio.count) field recordings for overlays, \(data.fieldTestAudio.count) field test recordings in \(root)/data (\(String(format: "%.1f", Date().timeIntervalSince(t0))) s)")
        print("  target species: \(spec.targetSpecies.map { "\($0.code) (\($0.name))" }.joined(separator: ", ")); confusion species: \(spec.confusionSpecies.map { "\($0.code) (\($0.name))" }.joined(separator: ", "))")
        let classes = data.targetClasses.joined(separator: ",")
        let clip = "2"
        let L = root + "/labels"

        step(2, "Clip labels from the targeted recordings' Raven tables")
        try runCommand(["labels", "--raven", data.targetedDirectory, "--audio", data.targetedDirectory, "--classes", classes,
                        "--clip-duration", clip, "--min-overlap", "0.5", "--out", L + "/targeted.csv"] + outputs.arguments)
        step(3, "Balance: the same number of clips per class, negatives at 1x")
        try runCommand(["balance", L + "/targeted.csv", "--per-class", quick ? "60" : "150", "--negatives-ratio", "1",
                        "--seed", "\(seed)", "--out", L + "/balanced.csv"] + outputs.arguments)
        step(4, "Split into training and validation sets (whole recordings stay on one side)")
        try runCommand(["split", L + "/balanced.csv", "--validation", "0.2", "--group-by-file", "--seed", "\(seed)",
                        "--out-train", L + "/train.csv", "--out-validation", L + "/validation.csv"] + outputs.arguments)
        step(5, "Overlay clips: field recordings with no target calls")
        try runCommand(["labels", "--raven", data.fieldTrainDirectory, "--audio", data.fieldTrainDirectory, "--classes", classes,
                        "--clip-duration", clip, "--include-unannotated", "--out", L + "/overlays.csv"] + outputs.arguments)
        step(6, "Labels of the annotated field test recordings (never used in training)")
        try runCommand(["labels", "--raven", data.fieldTestDirectory, "--audio", data.fieldTestDirectory, "--classes", classes,
                        "--clip-duration", clip, "--min-overlap", "0.5", "--include-unannotated", "--out", L + "/field_test.csv"] + outputs.arguments)

        var results: [(String, EvaluationResult)] = []
        var reportPath = "", trainingReportPath = ""
        for (k, v) in variants.enumerated() {
            let n = 7 + 3 * k
            let architecture = arch ?? "resnet18"
            step(n, "Train \(architecture == "small" ? "the small CNN" : architecture) \(v.overlays ? "with field-noise overlays" : "without overlays")")
            // The default recipe, as a user gets it; only the run's size is set (small images and
            // batches for 2 cores). Clip duration and sample rate come from the tables and recordings.
            var trainArgs = ["train", "--train", L + "/train.csv", "--validation", L + "/validation.csv", "--arch", architecture,
                             "--epochs", "\(epochs ?? (quick ? 10 : 15))", "--batch-size", "32", "--size", "128x128",
                             "--device", device, "--seed", "\(seed)", "--name", v.name, "--out", root + "/runs",
                             "--note", "demo run \(v.name)"] + firstUseTuning.arguments
            if v.overlays { trainArgs += ["--overlays", L + "/overlays.csv"] }
            // The run folder is new, or an earlier demo's that --overwrite replaces.
            let runDir = root + "/runs/\(dateStamp())_\(v.name)"
            if outputs.overwrite { try? FileManager.default.removeItem(atPath: runDir) }
            try runCommand(trainArgs)
            step(n + 1, "Predict on the field test recordings")
            let scores = root + "/scores-\(v.name).csv"
            try runCommand(["predict", "--model", runDir, data.fieldTestDirectory, "--final-clip", "none",
                            "--device", device, "--out", scores] + firstUseTuning.arguments + outputs.arguments)
            step(n + 2, "Evaluate against the field test labels and write the report")
            let evalDir = root + "/evaluation-\(v.name)"
            try runCommand(["evaluate", "--scores", scores, "--labels", L + "/field_test.csv", "--review", "10", "--export-clips", "--out", evalDir] + outputs.arguments)
            let result = try JSONDecoder().decode(EvaluationResult.self, from: Data(contentsOf: URL(fileURLWithPath: evalDir + "/metrics.json")))
            results.append((v.name, result))
            if k == 0 { reportPath = evalDir + "/report.html"; trainingReportPath = runDir + "/report.html" }
            try reviewConfusion(evalDir: evalDir, data: data)
        }

        print("")
        print("== Field test set: average precision per class ==")
        for (name, r) in results {
            let per = r.classes.map { "\($0.name) \($0.averagePrecision.map { String(format: "%.3f", $0) } ?? "undefined")" }.joined(separator: ", ")
            print("  \(name): \(per); macro mAP \(r.macroAP.map { String(format: "%.3f", $0) } ?? "undefined")")
        }
        if results.count == 2, let a = results[0].1.macroAP, let b = results[1].1.macroAP {
            print(String(format: "  overlays %@ the field test mAP by %.3f (%.3f with vs %.3f without)", a >= b ? "raised" : "lowered", abs(a - b), a, b))
        }
        print("evaluation report (clips to review, with pictures and sound): \(reportPath)")
        print("training report (learning curves): \(trainingReportPath)")
        print(String(format: "demo finished in %.0f s", Date().timeIntervalSince(started)))
    }

    func step(_ n: Int, _ title: String) {
        print("\n[\(n)] \(title)")
    }

    /// Runs a subcommand exactly as the CLI would, after printing its command line.
    func runCommand(_ args: [String]) throws {
        print("$ train-gpu " + args.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))
        fflush(nil)
        var command = try TrainGPU.parseAsRoot(args)
        try command.run()
        fflush(nil)
    }

    /// Says which species the high-scoring negatives are, by looking up the field test tables.
    func reviewConfusion(evalDir: String, data: GeneratedDataset) throws {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: evalDir) else { return }
        // Annotations of each field test recording (tables matched to audio by recording name).
        var annotations: [String: [(Double, Double, String)]] = [:]
        let audioByName = Dictionary(data.fieldTestAudio.map { (RecordingMatcher.recordingName(ofAudio: $0), $0) }, uniquingKeysWith: { a, _ in a })
        for table in data.fieldTestTables {
            guard let audio = audioByName[RecordingMatcher.recordingName(ofTable: table)] else { continue }
            annotations[audio] = try RavenTable.read(table).map { ($0.start, $0.end, $0.label) }
        }
        for f in files.sorted() where f.hasPrefix("review_") && f.hasSuffix(".csv") {
            let rows = try CSV.read(evalDir + "/" + f)
            guard let header = rows.first?.fields, let kind = header.firstIndex(of: "kind"), let fileIndex = header.firstIndex(of: "file"),
                  let startIndex = header.firstIndex(of: "start_time"), let endIndex = header.firstIndex(of: "end_time") else { continue }
            var heard: [String: Int] = [:]
            for r in rows.dropFirst() where r.fields[kind].contains("negative") {
                guard let s = Double(r.fields[startIndex]), let e = Double(r.fields[endIndex]) else { continue }
                let inside = (annotations[r.fields[fileIndex]] ?? []).filter { $0.0 < e && $0.1 > s }.map(\.2)
                for sp in Set(inside.isEmpty ? ["background only"] : inside) { heard[sp, default: 0] += 1 }
            }
            if !heard.isEmpty {
                let cls = String(f.dropFirst(7).dropLast(4))
                print("  the \(cls) clips to review (high-scoring negatives) hold: " + heard.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
            }
        }
    }
}
