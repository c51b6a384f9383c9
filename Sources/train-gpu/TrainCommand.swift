import Annotations
import ArgumentParser
import Audio
import ChorusCore
import Collectives
import Evaluation
import Foundation
import Model
import Pipeline
import Tensor

/// Options shared by train and demo for how clips become tensors.
struct PreprocessingOptions: ParsableArguments {
    @Option(help: "Audio sample rate (Hz) clips are resampled to (default: the most common rate of the training recordings).") var sampleRate: Int?
    @Option(help: "Clip length in seconds (default: the length of the tables' rows).") var clipDuration: Double?
    @Option(help: "Spectrogram window length in samples.") var windowSamples: Int = 512
    @Option(help: "Spectrogram window overlap in samples (default: half the window).") var overlapSamples: Int?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Frequency band kept (Hz): LOW HIGH.", valueName: "hz")) var bandpass: [Double] = []
    @Option(parsing: .upToNextOption, help: ArgumentHelp("dB range mapped to the image: LOW HIGH (e.g. -100 -20).", valueName: "db")) var dbRange: [Double] = []
    @Option(help: "Image size HxW.") var size: String = "224x224"

    /// The preprocessing with the given sample rate and clip duration, or the placeholders until
    /// `TrainingJob` takes them from the data.
    func preprocessing() throws -> Preprocessing {
        var p = Preprocessing()
        if let sampleRate { p.sampleRate = sampleRate }
        if let clipDuration { p.clipDuration = clipDuration }
        p.spectrogram = SpectrogramParameters(windowSamples: windowSamples, overlapSamples: overlapSamples)
        let (h, w) = try ImageParameters.parseSize(size)
        p.image.height = h; p.image.width = w
        if !bandpass.isEmpty {
            guard bandpass.count == 2, bandpass[0] < bandpass[1] else { throw ValidationError("--bandpass needs LOW HIGH with LOW < HIGH") }
            p.image.minFrequency = bandpass[0]; p.image.maxFrequency = bandpass[1]
        }
        if !dbRange.isEmpty {
            guard dbRange.count == 2, dbRange[0] < dbRange[1] else { throw ValidationError("--db-range needs LOW HIGH with LOW < HIGH") }
            p.image.dBRange = dbRange[0]...dbRange[1]
        }
        try p.validate()
        return p
    }
}

extension TrainingRecipe: ExpressibleByArgument {}
extension ModelSelection: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension Architecture: ExpressibleByArgument {}
extension AugmentationSettings.OverlayChoice: ExpressibleByArgument {}

/// `--augment`: a pipeline, or none but overlays and random trims.
enum AugmentChoice: String, ExpressibleByArgument, CaseIterable { case audio, classic, none }

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a CNN classifier from labels tables, with field-noise overlays and augmentation.",
        discussion: """
        Creates a run folder <out>/<YYYY-MM-DD>_<name>/ with best.model (best validation mAP), last.model (the final \
        epoch, the run's model by default: --select-model), summary.json, report.html, \
        checkpoint.safetensors (resume with --resume), metrics.csv, config.json, copies of the tables and a \
        README.txt log.

        Recipes: `default` is AdamW (learning rate 1e-3, weight decay 5e-4) with augmentation in the audio: \
        random gain U(-30, 0) dB that never takes a clip below -40 dBFS, overlays (a labels table of field \
        recordings) mixed as audio out = (1-w)*sample + w*overlay, noise at the clip's level + U(-20, 0) dB, \
        random wrap, up to 10 short time masks, then narrow frequency masks on the spectrogram image. \
        `classic` is SGD (0.01, momentum 0.9, weight decay 5e-4) with image augmentation (overlays blended as \
        images, time and frequency masks, noise, translation). Options given explicitly override the recipe.

        The clip duration defaults to the tables' row length and the sample rate to the most common rate \
        of the training recordings; train prints what it chose.
        """)

    @Option(help: "Training labels CSV (file,start_time,end_time,<class>...).") var train: String
    @Option(help: "Validation labels CSV, same classes.") var validation: String
    @Option(help: "Labels CSV of overlay (field noise) clips.") var overlays: String?
    @Option(help: "Clips known to hold none of the classes, added to the training clips as negatives: evaluate's hard_negatives.csv after review (rows of zeros).")
    var hardNegatives: String?
    @Option(help: "Recipe: default (AdamW, augmentation in the audio) or classic (SGD, image augmentation).") var recipe: TrainingRecipe = .default
    @Option(help: "Augmentation pipeline: audio, classic, or none (overlays and random trims only). Default: the recipe's.") var augment: AugmentChoice?
    @Option(name: .customLong("without"), parsing: .singleValue,
            help: ArgumentHelp("Turn augmentation steps off (repeat or comma-separate): \(AugmentationStep.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "step"))
    var withoutSteps: [String] = []
    @Option(help: "Overlay weight: a number (0.5) or a range (0.3-0.7).") var overlayWeight: String = "0.5"
    @Option(help: "Probability of each overlay round.") var overlayProbability: Double = 1.0
    @Option(help: "Overlay choice: any, or different (sharing no positive class with the sample).") var overlayClass: AugmentationSettings.OverlayChoice = .different
    @Flag(help: "Keep the sample's labels when overlaying (default: unite them with the overlay's).") var keepLabels = false
    @Flag(help: "Turn off time/frequency masks, translation and noise.") var noSpecAugment = false
    @Option(help: "Classic pipeline: largest random time shift as a fraction of the image width (0 turns it off).") var maxTimeShift: Double?
    @Option(help: "Classic pipeline: largest random frequency shift as a fraction of the image height (0 turns it off).") var maxFrequencyShift: Double?
    @Option(help: ArgumentHelp("Random level change in dB, LOW,HIGH (default -30,0 in the audio pipeline, off in the classic one).", valueName: "low,high")) var gainRange: String?
    @Flag(help: "Allow rows longer than --clip-duration: training uses a random crop of each.") var cropLongerRows = false
    @Option(help: "Architecture: resnet18 or small.") var arch: Architecture = .resnet18
    @Option(help: "Epochs.") var epochs: Int = 20
    @Option(help: "Samples per batch.") var batchSize: Int = 128
    @Option(help: "Optimizer: adamw or sgd (momentum 0.9). Default: the recipe's.") var optimizer: OptimizerKind?
    @Option(help: "Peak learning rate (cosine decay over the run after a short warm-up). Default: 1e-3 for adamw, 0.01 for sgd.") var learningRate: Float?
    @Option(help: "Weight decay (decoupled for adamw, L2 for sgd).") var weightDecay: Float = 5e-4
    @Option(help: "Device: auto, cpu, gpu, opencl, opencl:N (see `train-gpu devices`).") var device: String = "auto"
    @Option(help: "Random seed (shuffling, augmentation, initialisation).") var seed: UInt64 = 0
    @Option(help: "Threads that decode audio and build spectrograms.") var workers: Int = Machine.usableCores
    @Flag(help: "Single-target (softmax cross-entropy); default multi-target (BCE).") var singleTarget = false
    @Option(help: "Start from these weights (safetensors with PyTorch names; a 3-channel conv1 is averaged).") var initWeights: String?
    @Flag(help: "Continue the run in <out> from its last checkpoint.") var resume = false
    @Option(help: "Why this run was made (appended to the run's README.txt).") var note: String?
    @Option(help: "Run name (folder <out>/<date>_<name>).") var name: String = "chorus"
    @Flag(help: "Mark the finished models read-only.") var final = false
    @Flag(help: "After training, print each kernel's share of the device time (OpenCL profiling events), or on the CPU each operation's share of the time in them.") var profile = false
    @Flag(help: "Under mpirun/srun: batch-norm statistics over the whole global batch, not each rank's share (then N ranks train as one process would).")
    var syncBatchnorm = false
    @Option(help: "The run's model (summary.json, predict --model <run folder>): last (the final epoch; chosen by the recipe check) or best (best validation mAP). Both are written.")
    var selectModel: ModelSelection = .last
    @OptionGroup var preprocessingOptions: PreprocessingOptions
    @OptionGroup var firstUseTuning: FirstUseTuningOptions
    @Option(help: "Parent folder of run folders.") var out: String
    @Option(help: "Only draw N training clips per class as the network sees them (preview.html in the run folder), then stop without training.")
    var preview: Int?

    func configuration() throws -> TrainingConfiguration {
        var c = TrainingConfiguration(recipe: recipe)
        c.architecture = arch; c.epochs = epochs; c.batchSize = batchSize
        c.seed = seed; c.workers = workers; c.singleTarget = singleTarget; c.device = device; c.note = note
        c.initWeights = initWeights; c.final = final; c.modelSelection = selectModel; c.syncBatchNorm = syncBatchnorm
        if let optimizer, optimizer != c.optimizer {
            c.optimizer = optimizer
            c.learningRate = TrainingConfiguration.defaultLearningRate(optimizer)
        }
        if let learningRate { c.learningRate = learningRate }
        c.weightDecay = weightDecay
        c.preprocessing = try preprocessingOptions.preprocessing()
        switch augment {
        case nil: break
        case .audio?: if c.augmentation.pipeline != .audio { c.augmentation = AugmentationSettings() }
        case .classic?: if c.augmentation.pipeline != .classic { c.augmentation = .classic }
        case .none?: c.augmentation = .overlaysOnly(c.augmentation.pipeline)
        }
        c.augmentation.overlayWeight = try AugmentationSettings.parseWeight(overlayWeight)
        c.augmentation.overlayProbability = overlayProbability
        c.augmentation.overlayClass = overlayClass
        c.augmentation.updateLabels = !keepLabels
        if let maxTimeShift { c.augmentation.maxTimeShift = maxTimeShift }
        if let maxFrequencyShift { c.augmentation.maxFrequencyShift = maxFrequencyShift }
        guard (0...1).contains(c.augmentation.maxTimeShift), (0...1).contains(c.augmentation.maxFrequencyShift) else {
            throw ValidationError("--max-time-shift and --max-frequency-shift must lie in [0, 1]")
        }
        if let gainRange {
            let v = gainRange.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard v.count == 2, v[0] <= v[1] else { throw ValidationError("--gain-range must be LOW,HIGH in dB (e.g. -30,0), got '\(gainRange)'") }
            c.augmentation.gainRange = v
        }
        var steps: [AugmentationStep] = []
        for word in withoutSteps.flatMap({ $0.split(separator: ",") }) {
            let w = word.trimmingCharacters(in: .whitespaces)
            guard let step = AugmentationStep(rawValue: w) else {
                throw ValidationError("--without: unknown step '\(w)'; choose from \(AugmentationStep.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            steps.append(step)
        }
        if noSpecAugment { steps += [.timeMasks, .frequencyMasks, .translate, .noise] }
        c.augmentation.disable(steps)
        try c.validate()
        return c
    }

    func run() throws {
        let config = try configuration()
        let summary = try TrainingJob.run(configuration: config, train: train, validation: validation, overlays: overlays, hardNegatives: hardNegatives,
                                          out: out, name: name, resume: resume, note: note,
                                          clipDuration: preprocessingOptions.clipDuration, sampleRate: preprocessingOptions.sampleRate,
                                          cropLongerRows: cropLongerRows, preview: preview, profile: profile, firstUseTuning: firstUseTuning)
        _ = summary
    }
}

/// The train step shared by `train` and `demo`.
enum TrainingJob {
    /// - Parameters:
    ///   - clipDuration, sampleRate: as requested; nil takes them from the tables and recordings.
    static func run(configuration: TrainingConfiguration, train: String, validation: String, overlays: String?, hardNegatives: String? = nil, out: String,
                    name: String, resume: Bool, note: String?, quietProgress: Bool = false,
                    clipDuration: Double? = nil, sampleRate: Int? = nil, cropLongerRows: Bool = false, preview: Int? = nil,
                    profile: Bool = false, firstUseTuning: FirstUseTuningOptions? = nil) throws -> TrainingSummary? {
        if let preview, !(1...1000).contains(preview) { throw ValidationError("--preview must be between 1 and 1000 clips per class, got \(preview)") }
        var configuration = configuration
        // Under mpirun or srun every rank runs this with the same arguments; rank 0 speaks and writes.
        let world = Communicator.world
        let say: (String) -> Void = { if world.rank == 0 { print($0) } }
        if world.isDistributed {
            let devices = configuration.device.split(separator: ",").map(String.init)
            if devices.count > 1 { configuration.device = devices[world.localRank % devices.count] }
        } else if configuration.syncBatchNorm {
            say("--sync-batchnorm: a single process normalises over its whole batch anyway")
        }
        if OutputPolicy.sameFile(train, validation) || ((try? SHA256.hex(fileAt: train)) ?? "t") == ((try? SHA256.hex(fileAt: validation)) ?? "v") {
            throw ValidationError("--train and --validation are the same table (\(train)); validation must be clips the network does not train on (train-gpu split makes both)")
        }
        let device = try firstUseTuning.map { try $0.select(configuration.device, say: say) } ?? Device.select(configuration.device)
        // Rows whose audio is missing or unreadable are skipped and reported by the trainer, not fatal here.
        var trainTable = try ClipLabelTable.read(train, checkFilesExist: false)
        let hardNegativeTable = try hardNegatives.map { try ClipLabelTable.read($0, checkFilesExist: false) }
        if let hardNegatives, let table = hardNegativeTable {
            if let bad = table.rows.firstIndex(where: { $0.labels.contains { $0 != 0 } }) {
                let named = zip(table.classes, table.rows[bad].labels).filter { $0.1 != 0 }.map(\.0)
                throw ValidationError("--hard-negatives \(hardNegatives) line \(bad + 2) labels \(named.joined(separator: ", ")) present; "
                                      + "hard negatives are clips holding none of the classes (rows of zeros, as evaluate writes them)")
            }
            // Paths relative to the hard-negatives table are resolved now, as the training table's are later.
            trainTable.rows += table.rows.map {
                ClipLabelRow(file: table.resolvedPath($0.file) ?? $0.file, start: $0.start, end: $0.end,
                             labels: [Float](repeating: 0, count: trainTable.classes.count))
            }
        }
        let validationTable = try ClipLabelTable.read(validation, checkFilesExist: false)
        let overlayTable = try overlays.map { try ClipLabelTable.read($0, checkFilesExist: false) }
        // Settings the data decides unless given, said out loud and recorded in config.json.
        let clip = try DataDefaults.clipDuration(requested: clipDuration, cropLongerRows: cropLongerRows,
                                                 tables: [("training table \(train)", trainTable), ("validation table \(validation)", validationTable)]
                                                     + (hardNegativeTable.map { [("hard negatives \(hardNegatives ?? "")", $0)] } ?? []))
        let rate = try DataDefaults.sampleRate(requested: sampleRate, files: trainTable.labeledClips().map(\.file))
        configuration.preprocessing.clipDuration = clip.value
        configuration.preprocessing.sampleRate = rate.value
        configuration.derivedSettings = ["clip_duration": clip.reason, "sample_rate": rate.reason]
        try configuration.validate()
        // Rank 0 finds (or makes) the run folder and tells the others where it is.
        var runPath = ""
        if world.rank == 0 { runPath = try RunFolder.locate(parent: out, name: name, resume: resume).path }
        runPath = String(decoding: world.broadcast(Array(runPath.utf8)), as: UTF8.self)
        let run = RunFolder(path: runPath)
        if world.rank == 0 {
            try run.lock()
            if resume && !FileSystem.exists(run.checkpointPath) { say("--resume: no finished epoch of '\(name)' under \(out) yet; starting at epoch 1") }
            run.note = note
            // Without a finished epoch there is nothing to resume: record this command's tables afresh.
            try run.recordTables(train: train, validation: validation, overlays: overlays, hardNegatives: hardNegatives, resume: resume && FileSystem.exists(run.checkpointPath))
        }
        world.barrier()
        say("training \(configuration.architecture.rawValue) on \(device.description)"
            + (world.isDistributed ? " in \(world.size) ranks (global batch \(configuration.batchSize), \(configuration.batchSize / world.size)–\((configuration.batchSize + world.size - 1) / world.size) per rank\(configuration.syncBatchNorm ? ", batch norm synchronised" : ""))" : ""))
        say("  \(trainTable.rows.count) training clips\(hardNegativeTable.map { " (\($0.rows.count) of them hard negatives)" } ?? ""), \(validationTable.rows.count) validation clips, \(overlayTable?.rows.count ?? 0) overlay clips; classes \(trainTable.classes.joined(separator: ", "))")
        say("  clip duration \(DataDefaults.format(clip.value)) s (\(clip.reason)); sample rate \(rate.value) Hz (\(rate.reason))")
        say("  recipe \(configuration.recipe.rawValue): \(configuration.optimizer.rawValue) learning rate \(configuration.learningRate), weight decay \(configuration.weightDecay); \(configuration.augmentation.pipeline.rawValue) augmentation: \(configuration.augmentation.activeSteps.joined(separator: "; "))")
        if let warning = DataDefaults.shortScheduleWarning(clips: trainTable.rows.count, batchSize: configuration.batchSize, epochs: configuration.epochs) {
            say("  " + warning)
        }
        say("  run folder \(run.path)")
        let trainer = try Trainer(configuration: configuration, trainTable: trainTable, validationTable: validationTable, overlayTable: overlayTable, device: device, run: run)
        trainer.showProgress = !quietProgress && world.rank == 0
        if world.isDistributed {
            trainer.group = CommunicatorGroup(world)
            if world.rank != 0 { trainer.log = { _ in } }
        }
        if let preview {
            guard world.rank == 0 else { return nil }
            let samples = try trainer.writePreview(perClass: preview)
            let page = run.path + "/preview.html"
            try AtomicFile.write(TrainingReport.renderPreview(runName: (run.path as NSString).lastPathComponent, samples: samples,
                                                              augmentation: "\(configuration.augmentation.pipeline.rawValue): " + configuration.augmentation.activeSteps.joined(separator: "; ")),
                                 to: page)
            say("preview: \(samples.count) training clips as the network sees them in epoch 1 → \(page) (no training done)")
            return nil
        }
        trainer.onEpoch = { m in
            let ap = m.validationMAP.map { String(format: "%.4f", $0) } ?? "undefined"
            var line = String(format: "epoch %d: train loss %.4f, validation loss %.4f, mAP %@, %.1f samples/s, %.0f s (loader wait %.0f%%)",
                              m.epoch, m.trainLoss, m.validationLoss ?? .nan, ap, m.samplesPerSecond, m.seconds, 100 * m.loaderWaitFraction)
            if let t = m.gradientSumSeconds, let steps = m.steps, steps > 0 {
                line += String(format: "; summing gradients over the ranks %.1f ms per step (%.0f%% of the epoch)", 1000 * t / Double(steps), 100 * t / max(m.seconds, 1e-9))
            }
            say(line)
        }
        // Test hook: a simulated kill early in epoch N+1, after epoch N's checkpoint (the resume tests).
        if let n = ProcessInfo.processInfo.environment["CHORUS_SIMULATE_KILL_AFTER_EPOCH"].flatMap(Int.init) {
            let report = trainer.onEpoch
            trainer.onEpoch = { [unowned trainer] m in
                report?(m)
                if m.epoch == n { trainer.stopAfterBatches = 1 }
            }
        }
        let cl = device.openCLContext, cpu = cl == nil ? device.backend as? CPUBackend : nil
        if profile {
            cl?.startKernelProfile()
            cpu?.startOperationProfile()
        }
        let summary = try trainer.fit(resume: resume)
        if profile {
            if let cl { say(try cl.stopKernelProfile().table()) }
            if let cpu { say(cpu.stopOperationProfile().table()) }
        }
        if !summary.skippedClips.isEmpty {
            say("\(summary.skippedClips.count) clips were skipped (unreadable audio):")
            for s in summary.skippedClips.prefix(20) { say("  " + s) }
        }
        say("best epoch \(summary.bestEpoch): validation mAP \(summary.bestValidationMAP.map { String(format: "%.4f", $0) } ?? "undefined")")
        say("models: \(run.bestModelPath), \(run.lastModelPath)")
        say("the run's model (--select-model \(configuration.modelSelection.rawValue)): \(run.modelPath(configuration.modelSelection)); predict with --model \(run.path)")
        return summary
    }
}

/// The MPI ranks as the trainer's process group.
final class CommunicatorGroup: ProcessGroup {
    let world: Communicator
    init(_ world: Communicator) { self.world = world }
    var rank: Int { world.rank }
    var size: Int { world.size }
    func sum(_ values: inout [Float]) { world.allreduceSum(&values) }
    func sum(_ values: inout [Double]) { world.allreduceSum(&values) }
    func broadcast(_ data: [UInt8], root: Int) -> [UInt8] { world.broadcast(data, root: root) }
    func allgather(_ data: [UInt8]) -> [[UInt8]] { world.allgather(data) }
}
