import Annotations
import ArgumentParser
import ChorusCore
import Collectives
import Foundation
import Pipeline
import Tensor

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Score every clip of field recordings with a trained model.",
        discussion: """
        Writes file,start_time,end_time,<class>... incrementally; an interrupted run keeps what it scored and \
        --resume skips finished files (listed in <out>.done). Unreadable files are reported and skipped; a file \
        given twice (another path to the same file) is scored once. With --threshold and --raven-out, one Raven \
        selection table per recording lists the clips scoring at or above it. An existing <out> (or its record \
        <out>.json, its <out>.done, a Raven table) is kept unless --resume or --overwrite; a table that holds no \
        finished recording (every file failed) is not finished work and is replaced. No output may be an input: \
        a recording, the model, or a file of the run folder it comes from.
        """)

    @Option(help: "Model file (best.model or last.model of a run), or a finished run folder (its summary.json names the model).") var model: String
    @Argument(help: "Audio files or folders (searched recursively).") var inputs: [String]
    @Option(help: "Overlap of consecutive clips in seconds.") var clipOverlap: Double = 0
    @Option(help: "Partial last clip: extend (pad), remainder, full, none.") var finalClip: String = "extend"
    @Option(help: "Clips per batch.") var batchSize: Int = 64
    @Option(help: "Score activation: sigmoid, softmax or none (default from the model's loss).") var activation: String?
    @Option(help: "Device: auto, cpu, gpu, opencl, opencl:N.") var device: String = "auto"
    @Option(help: "Threads for decoding and spectrograms.") var workers: Int = Machine.usableCores
    @OptionGroup var firstUseTuning: FirstUseTuningOptions
    @Flag(help: "Skip files already finished in <out> (same model and settings only).") var resume = false
    @OptionGroup var outputs: OverwriteOption
    var overwrite: Bool { outputs.overwrite }
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Detection threshold: one value, or CLASS=T per class.", valueName: "t")) var threshold: [String] = []
    @Option(help: "Folder for one Raven selection table per recording with the detections (needs --threshold).") var ravenOut: String?
    @Option(help: "Output scores CSV.") var out: String
    @Option(help: ArgumentHelp("Score only part K of N of the files (split by duration), into <out stem>.part-K-of-N.<ext>; join the parts with train-gpu merge. Default in a Slurm job array: the task's part.", valueName: "K/N"))
    var shard: String?

    func run() throws {
        guard let fc = FinalClip(rawValue: finalClip) else { throw ValidationError("--final-clip must be extend, remainder, full or none") }
        var options = PredictionOptions()
        options.clipOverlap = clipOverlap; options.finalClip = fc; options.batchSize = batchSize; options.workers = workers
        if let activation {
            guard let a = Activation(rawValue: activation) else { throw ValidationError("--activation must be sigmoid, softmax or none") }
            options.activation = a
        }
        let dev = try firstUseTuning.select(device) { line in if Communicator.world.rank == 0 { print(line) } }
        let modelFile = try RunFolder.modelFile(model)
        let classifier = try ClassifierModel.load(modelFile, device: dev)
        if ravenOut != nil && threshold.isEmpty { throw ValidationError("--raven-out needs --threshold") }
        let scoreActivation = options.activation ?? (classifier.loss == .softmaxCrossEntropy ? .softmax : .sigmoid)
        let thresholds = try parseThresholds(threshold, classes: classifier.classes, bounded: scoreActivation != .none)
        try Predictor.validate(options, clipDuration: classifier.preprocessing.clipDuration)
        let allFiles = withoutDuplicateInputs(try Predictor.audioFiles(inputs))
        let ravenNames = RavenNames(files: allFiles)
        // Which files this process scores: all, its rank's share under mpirun/srun, or a job-array part.
        let share = try ProcessShare(allFiles: allFiles, shard: shard, out: out)
        let world = share.world, part = share.part, files = share.files, output = share.output
        // Every file this run writes, checked before any is: the table, its record and list of
        // finished files (a table --resume continues, or one with no finished recording, may be
        // replaced), and the Raven tables of the files it will score; none may be a recording,
        // the model or a file of the run folder the model comes from.
        var planned = share.plannedOutputs(done: true) { table in !resume && Predictor.holdsFinishedWork(table) }
        if let ravenOut {
            let finished = resume ? Predictor.finishedFiles(output) : []
            for file in files where !finished.contains(file) {
                planned.append(PlannedOutput(ravenTablePath(ravenOut, ravenNames[file]), parameter: "--raven-out table",
                                             hint: "pass --overwrite to replace it, or choose another --raven-out folder"))
            }
        }
        try OutputPolicy.claim(planned, inputs: allFiles + [modelFile] + runFolderFiles(model: model, modelFile: modelFile), overwrite: overwrite,
                               hint: "pass --resume to continue it, --overwrite to replace it, or choose another output")
        if world.isDistributed { options.showProgress = world.rank == 0 }
        let say: (String) -> Void = { line in if world.rank == 0 || !world.isDistributed { print(line) } }
        say("scoring \(allFiles.count) files with \(modelFile) (\(classifier.network.architecture.rawValue), classes \(classifier.classes.joined(separator: ", "))) on \(dev.description)"
            + (world.isDistributed ? " in \(world.size) ranks, each its share by duration" : part.map { "; part \($0) (\(files.count) files)" } ?? ""))
        var onFile: ((String, [(start: Double, end: Double, scores: [Float])]) throws -> Void)?
        if let ravenOut, let thresholds {
            let pp = classifier.preprocessing
            let band = (low: pp.image.minFrequency ?? 0, high: pp.image.maxFrequency ?? Double(pp.sampleRate) / 2)
            onFile = { file, rows in
                var selections: [Annotation] = []
                for r in rows {
                    for (c, name) in classifier.classes.enumerated() where Double(r.scores[c]) >= thresholds[c] {
                        selections.append(Annotation(file: nil, start: r.start, end: r.end, lowFrequency: band.low, highFrequency: band.high, label: name,
                                                     extra: ["Score": String(format: "%.4f", r.scores[c])]))
                    }
                }
                try RavenTable.write(selections, to: ravenTablePath(ravenOut, ravenNames[file]), extraColumns: ["Score"])
            }
        }
        var s = try Predictor.predict(model: classifier, modelPath: modelFile, files: files, options: options, output: output, resume: resume,
                                      overwrite: overwrite, shard: part, device: dev, onFile: onFile)
        if world.isDistributed {
            // Every rank's totals, then rank 0 joins the parts into --out (the bytes one process writes).
            s = try gatherSummaries(s, world: world)
            world.barrier()
            if world.rank == 0 { try share.joinRankParts() }
            world.barrier()
            guard world.rank == 0 else { return }
        }
        print(String(format: "scored %d files (%d clips, %.1f h of audio) in %.1f s: %.1f hours of audio per minute", s.filesScored, s.clips,
                     s.audioSeconds / 3600, s.seconds, s.audioSeconds / 3600 / max(s.seconds, 1e-9) * 60))
        if s.filesSkippedAsDone > 0 { print("\(s.filesSkippedAsDone) files were already scored (--resume)") }
        if !s.failures.isEmpty {
            print("\(s.failures.count) files could not be scored:")
            for f in s.failures { print("  \(f.file): \(f.reason)") }
        }
        print("scores → \(world.isDistributed ? out : output)")
        share.printMergeHint()
        if s.filesScored == 0 && !s.failures.isEmpty {
            throw PipelineError.noData("none of the \(s.failures.count) input files could be scored (see above)")
        }
    }

    /// The Raven table of a recording under --raven-out.
    func ravenTablePath(_ folder: String, _ name: String) -> String {
        (folder as NSString).appendingPathComponent("\(name).Table.1.selections.txt")
    }

    /// Every file of the training run folder the model comes from (--model is the folder, or a model
    /// file in a folder with a run's config.json or summary.json): inputs, never outputs.
    func runFolderFiles(model: String, modelFile: String) -> [String] {
        let folder = FileSystem.isDirectory(model) ? model : (modelFile as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        guard ["config.json", "summary.json"].contains(where: { FileSystem.exists((dir as NSString).appendingPathComponent($0)) }) else { return [] }
        return OutputPolicy.files(inside: dir)
    }

    /// The sums of every rank's prediction summary (failures of all ranks), on every rank.
    func gatherSummaries(_ s: PredictionSummary, world: Communicator) throws -> PredictionSummary {
        struct Wire: Codable { var scored: Int; var skipped: Int; var clips: Int; var audio: Double; var seconds: Double; var failures: [[String]] }
        let mine = Wire(scored: s.filesScored, skipped: s.filesSkippedAsDone, clips: s.clips, audio: s.audioSeconds, seconds: s.seconds,
                        failures: s.failures.map { [$0.file, $0.reason] })
        let all = try world.allgather(Array(JSONEncoder().encode(mine))).map { try JSONDecoder().decode(Wire.self, from: Data($0)) }
        var total = s
        total.filesScored = all.map(\.scored).reduce(0, +)
        total.filesSkippedAsDone = all.map(\.skipped).reduce(0, +)
        total.clips = all.map(\.clips).reduce(0, +)
        total.audioSeconds = all.map(\.audio).reduce(0, +)
        total.seconds = all.map(\.seconds).max() ?? s.seconds
        total.failures = all.flatMap { $0.failures.map { (file: $0[0], reason: $0[1]) } }
        return total
    }

    /// `bounded`: scores are probabilities, so a threshold must lie in [0, 1].
    func parseThresholds(_ values: [String], classes: [String], bounded: Bool) throws -> [Double]? {
        guard !values.isEmpty else { return nil }
        var out = [Double](repeating: .infinity, count: classes.count)
        for v in values {
            if let t = Double(v) { for i in out.indices where out[i] == .infinity { out[i] = t }; continue }
            let parts = v.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let t = Double(parts[1]), let i = classes.firstIndex(of: parts[0]) else {
                throw ValidationError("--threshold '\(v)': use a number or CLASS=T with a class of the model (\(classes.joined(separator: ", ")))")
            }
            out[i] = t
        }
        for (c, t) in zip(classes, out) where t != .infinity {  // +infinity: no threshold given for the class
            guard t.isFinite, !bounded || (0...1).contains(t) else {
                throw ValidationError("--threshold for \(c) is \(t); it must be a number\(bounded ? " in [0, 1] (scores are probabilities)" : "")")
            }
        }
        return out
    }
}

/// The name of each recording's Raven table: its file name without extension, or, where two
/// recordings share one (a/x.wav, b/x.wav), its path below their common folder with `/` → `_`,
/// so no recording's detections overwrite another's.
struct RavenNames {
    private var names: [String: String] = [:]

    init(files: [String]) {
        func stem(_ f: String) -> String { ((f as NSString).lastPathComponent as NSString).deletingPathExtension }
        var counts: [String: Int] = [:]
        for f in files { counts[stem(f), default: 0] += 1 }
        let absolute = files.map { URL(fileURLWithPath: $0).standardizedFileURL.pathComponents }
        var common = absolute.first.map { Array($0.dropLast()) } ?? []
        for parts in absolute { while !common.isEmpty && !(parts.count > common.count && Array(parts.prefix(common.count)) == common) { common.removeLast() } }
        var used = Set<String>()
        for (f, parts) in zip(files, absolute) {
            var name = stem(f)
            if counts[name, default: 0] > 1 {
                let relative = parts.dropFirst(common.count).joined(separator: "_")
                name = (relative as NSString).deletingPathExtension
            }
            var unique = name, k = 2
            while used.contains(unique) { unique = "\(name)_\(k)"; k += 1 }
            used.insert(unique)
            names[f] = unique
        }
    }

    subscript(file: String) -> String { names[file] ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension }
}
