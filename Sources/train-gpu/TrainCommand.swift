import Annotations
import ArgumentParser
import Audio
import ChorusCore
import Foundation
import Model
import Pipeline
import Tensor

/// Options shared by train and demo for how clips become tensors.
struct PreprocessingOptions: ParsableArguments {
    @Option(help: "Audio sample rate (Hz) clips are resampled to.") var sampleRate: Int = 32000
    @Option(help: "Clip length in seconds.") var clipDuration: Double = 3.0
    @Option(help: "Spectrogram window length in samples.") var windowSamples: Int = 512
    @Option(help: "Spectrogram window overlap in samples (default: half the window).") var overlapSamples: Int?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Frequency band kept (Hz): LOW HIGH.", valueName: "hz")) var bandpass: [Double] = []
    @Option(parsing: .upToNextOption, help: ArgumentHelp("dB range mapped to the image: LOW HIGH (e.g. -100 -20).", valueName: "db")) var dbRange: [Double] = []
    @Option(help: "Image size HxW.") var size: String = "224x224"

    func preprocessing() throws -> Preprocessing {
        var p = Preprocessing()
        p.sampleRate = sampleRate
        p.clipDuration = clipDuration
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

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a CNN classifier from labels tables, with field-noise overlays and spectrogram augmentation.",
        discussion: """
        Creates a run folder <out>/<YYYY-MM-DD>_<name>/ with best.model (best validation mAP), last.model, \
        checkpoint.safetensors (resume with --resume), metrics.csv, config.json, copies of the tables and a \
        README.txt log. Overlay clips (a labels table of field recordings) are blended into training samples: \
        out = (1-w)*sample + w*overlay.
        """)

    @Option(help: "Training labels CSV (file,start_time,end_time,<class>...).") var train: String
    @Option(help: "Validation labels CSV, same classes.") var validation: String
    @Option(help: "Labels CSV of overlay (field noise) clips.") var overlays: String?
    @Option(help: "Overlay weight: a number (0.5) or a range (0.3-0.7).") var overlayWeight: String = "0.5"
    @Option(help: "Probability of each overlay round.") var overlayProbability: Double = 1.0
    @Option(help: "Overlay choice: any, or different (sharing no positive class with the sample).") var overlayClass: String = "different"
    @Flag(help: "Keep the sample's labels when overlaying (default: unite them with the overlay's).") var keepLabels = false
    @Flag(help: "Turn off time/frequency masks, translation and noise.") var noSpecAugment = false
    @Option(help: "Largest random time shift as a fraction of the image width (0 turns it off).") var maxTimeShift: Double = 0.3
    @Option(help: "Largest random frequency shift as a fraction of the image height (0 turns it off).") var maxFrequencyShift: Double = 0.1
    @Option(help: ArgumentHelp("Random level change in dB, LOW,HIGH (e.g. -30,0); off by default.", valueName: "low,high")) var gainRange: String?
    @Option(help: "Architecture: resnet18 or small.") var arch: String = "resnet18"
    @Option(help: "Epochs.") var epochs: Int = 20
    @Option(help: "Samples per batch.") var batchSize: Int = 128
    @Option(help: "Peak learning rate (cosine decay over the run after a short warm-up).") var learningRate: Float = 0.01
    @Option(help: "Optimizer: sgd (momentum 0.9, weight decay 5e-4) or adamw.") var optimizer: String = "sgd"
    @Option(help: "Device: auto, cpu, opencl, opencl:N (see `train-gpu devices`).") var device: String = "auto"
    @Option(help: "Random seed (shuffling, augmentation, initialisation).") var seed: UInt64 = 0
    @Option(help: "Threads that decode audio and build spectrograms.") var workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
    @Flag(help: "Single-target (softmax cross-entropy); default multi-target (BCE).") var singleTarget = false
    @Option(help: "Start from these weights (safetensors with PyTorch names; a 3-channel conv1 is averaged).") var initWeights: String?
    @Flag(help: "Continue the run in <out> from its last checkpoint.") var resume = false
    @Option(help: "Why this run was made (appended to the run's README.txt).") var note: String?
    @Option(help: "Run name (folder <out>/<date>_<name>).") var name: String = "chorus"
    @Flag(help: "Mark the finished models read-only.") var final = false
    @OptionGroup var preprocessingOptions: PreprocessingOptions
    @Option(help: "Parent folder of run folders.") var out: String

    func configuration() throws -> TrainingConfiguration {
        var c = TrainingConfiguration()
        guard let a = Architecture(rawValue: arch) else { throw ValidationError("--arch must be resnet18 or small, got '\(arch)'") }
        guard let o = OptimizerKind(rawValue: optimizer) else { throw ValidationError("--optimizer must be sgd or adamw, got '\(optimizer)'") }
        guard let oc = AugmentationSettings.OverlayChoice(rawValue: overlayClass) else { throw ValidationError("--overlay-class must be any or different") }
        c.architecture = a; c.optimizer = o; c.epochs = epochs; c.batchSize = batchSize; c.learningRate = learningRate
        c.seed = seed; c.workers = workers; c.singleTarget = singleTarget; c.device = device; c.note = note
        c.initWeights = initWeights; c.final = final
        if o == .adamw { c.weightDecay = 0.01 }
        c.preprocessing = try preprocessingOptions.preprocessing()
        c.augmentation.overlayWeight = try AugmentationSettings.parseWeight(overlayWeight)
        c.augmentation.overlayProbability = overlayProbability
        c.augmentation.overlayClass = oc
        c.augmentation.updateLabels = !keepLabels
        guard (0...1).contains(maxTimeShift), (0...1).contains(maxFrequencyShift) else {
            throw ValidationError("--max-time-shift and --max-frequency-shift must lie in [0, 1]")
        }
        c.augmentation.maxTimeShift = maxTimeShift
        c.augmentation.maxFrequencyShift = maxFrequencyShift
        if let gainRange {
            let v = gainRange.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard v.count == 2, v[0] <= v[1] else { throw ValidationError("--gain-range must be LOW,HIGH in dB (e.g. -30,0), got '\(gainRange)'") }
            c.augmentation.gainRange = v
        }
        if noSpecAugment { c.augmentation.timeMask = false; c.augmentation.frequencyMask = false; c.augmentation.translate = false; c.augmentation.noiseStd = 0 }
        try c.validate()
        return c
    }

    func run() throws {
        let config = try configuration()
        let summary = try TrainingJob.run(configuration: config, train: train, validation: validation, overlays: overlays,
                                          out: out, name: name, resume: resume, note: note)
        _ = summary
    }
}

/// The train step shared by `train` and `demo`.
enum TrainingJob {
    static func run(configuration: TrainingConfiguration, train: String, validation: String, overlays: String?, out: String,
                    name: String, resume: Bool, note: String?, quietProgress: Bool = false) throws -> TrainingSummary {
        let device = try Device.select(configuration.device)
        // Rows whose audio is missing or unreadable are skipped and reported by the trainer, not fatal here.
        let trainTable = try ClipLabelTable.read(train, checkFilesExist: false)
        let validationTable = try ClipLabelTable.read(validation, checkFilesExist: false)
        let overlayTable = try overlays.map { try ClipLabelTable.read($0, checkFilesExist: false) }
        let run = try RunFolder.locate(parent: out, name: name, resume: resume)
        run.note = note
        try run.recordTables(train: train, validation: validation, overlays: overlays)
        print("training \(configuration.architecture.rawValue) on \(device.description)")
        print("  \(trainTable.rows.count) training clips, \(validationTable.rows.count) validation clips, \(overlayTable?.rows.count ?? 0) overlay clips; classes \(trainTable.classes.joined(separator: ", "))")
        print("  run folder \(run.path)")
        let trainer = try Trainer(configuration: configuration, trainTable: trainTable, validationTable: validationTable, overlayTable: overlayTable, device: device, run: run)
        trainer.showProgress = !quietProgress
        trainer.onEpoch = { m in
            let ap = m.validationMAP.map { String(format: "%.4f", $0) } ?? "undefined"
            print(String(format: "epoch %d: train loss %.4f, validation loss %.4f, mAP %@, %.1f samples/s, %.0f s (loader wait %.0f%%)",
                         m.epoch, m.trainLoss, m.validationLoss ?? .nan, ap, m.samplesPerSecond, m.seconds, 100 * m.loaderWaitFraction))
        }
        let summary = try trainer.fit(resume: resume)
        if !summary.skippedClips.isEmpty {
            print("\(summary.skippedClips.count) clips were skipped (unreadable audio):")
            for s in summary.skippedClips.prefix(20) { print("  " + s) }
        }
        print("best epoch \(summary.bestEpoch): validation mAP \(summary.bestValidationMAP.map { String(format: "%.4f", $0) } ?? "undefined")")
        print("models: \(run.bestModelPath), \(run.lastModelPath)")
        return summary
    }
}
