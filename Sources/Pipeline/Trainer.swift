import Annotations
import Audio
import ChorusCore
import Evaluation
import Foundation
import Model
import Tensor

/// One epoch's figures, as written to metrics.csv.
public struct EpochMetrics: Codable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var validationLoss: Double?
    public var validationMAP: Double?
    public var validationMacroAUC: Double?
    public var classAP: [Double?]
    public var learningRate: Double
    public var samplesPerSecond: Double
    public var seconds: Double
    /// Share of the epoch the device waited for the data loader.
    public var loaderWaitFraction: Double
    /// Data-parallel runs: seconds spent summing gradients over the processes, and the steps.
    public var gradientSumSeconds: Double? = nil
    public var steps: Int? = nil
    /// OpenCL: device-to-host reads in the epoch's training steps (the loss, once per
    /// `Trainer.lossReadInterval` steps and at the end; nil on the CPU fallback).
    public var deviceReads: Int? = nil
}

/// The processes of a data-parallel training run (MPI ranks): each trains on its share of every
/// global batch, and these collectives make them one run. Nil in a trainer: a single process.
public protocol ProcessGroup: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Element-wise sums over all processes, in place, the same on each.
    func sum(_ values: inout [Float])
    func sum(_ values: inout [Double])
    /// `data` of `root` on every process.
    func broadcast(_ data: [UInt8], root: Int) -> [UInt8]
    /// Every process's `data`, in rank order, on every process.
    func allgather(_ data: [UInt8]) -> [[UInt8]]
}

/// What a finished run reports.
public struct TrainingSummary: Codable, Sendable {
    public var runDirectory: String
    public var epochs: [EpochMetrics]
    public var bestEpoch: Int
    public var bestValidationMAP: Double?
    /// The run's result, a file in the run folder (`last.model` or `best.model`, by `--select-model`).
    public var model: String
    public var skippedClips: [String]
    public var device: String
}

/// Trains a classifier: streams shuffled, augmented batches through the network on a device for
/// many epochs, validates each epoch, keeps the best model by validation mAP, and writes a
/// resumable checkpoint atomically after every epoch.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let classes: [String]
    public let device: Device
    public let run: RunFolder
    let train: ClipImageStore
    let validation: ClipImageStore
    let overlays: ClipImageStore?
    /// The audio pipeline's stores (nil in the classic pipeline, which uses the image stores).
    let trainAudio: ClipAudioStore?
    let overlayAudio: ClipAudioStore?
    let network: Network
    let optimizer: Optimizer
    /// Called with each finished epoch (for the CLI).
    public var onEpoch: ((EpochMetrics) -> Void)?
    public var log: (String) -> Void = { print($0) }
    /// Stop after this many batches of the current epoch (tests simulate a killed run).
    public var stopAfterBatches: Int?
    /// The processes training together (nil: this one alone). Every process runs `fit` with the
    /// same configuration and tables; only rank 0 writes the run folder.
    public var group: ProcessGroup? {
        didSet { BatchNorm2d.crossProcessSum = configuration.syncBatchNorm ? { [group] v in group?.sum(&v) } : nil }
    }
    var writes: Bool { (group?.rank ?? 0) == 0 }
    public var showProgress = true

    public init(configuration: TrainingConfiguration, trainTable: ClipLabelTable, validationTable: ClipLabelTable,
                overlayTable: ClipLabelTable?, device: Device, run: RunFolder) throws {
        try configuration.validate()
        guard trainTable.classes == validationTable.classes else {
            throw PipelineError.incompatible("training classes \(trainTable.classes) differ from validation classes \(validationTable.classes)")
        }
        guard !trainTable.rows.isEmpty else { throw PipelineError.noData("the training table has no rows") }
        guard !validationTable.rows.isEmpty else { throw PipelineError.noData("the validation table has no rows") }
        if configuration.singleTarget {
            if let bad = trainTable.rows.firstIndex(where: { $0.labels.reduce(0, +) != 1 }) {
                throw PipelineError.invalidParameter("single-target training needs exactly one positive class per row; training row \(bad + 2) (\(trainTable.rows[bad].file)) has \(Int(trainTable.rows[bad].labels.reduce(0, +)))")
            }
        }
        self.configuration = configuration
        classes = trainTable.classes
        self.device = device
        self.run = run
        let pp = configuration.preprocessing
        train = ClipImageStore(clips: trainTable.labeledClips(), preprocessing: pp, workers: configuration.workers)
        validation = ClipImageStore(clips: validationTable.labeledClips(), preprocessing: pp, workers: configuration.workers)
        let audioPipeline = configuration.augmentation.pipeline == .audio
        trainAudio = audioPipeline ? ClipAudioStore(clips: train.clips, preprocessing: pp, workers: configuration.workers) : nil
        if let o = overlayTable, !o.rows.isEmpty {
            // Overlay labels are aligned to the training classes by name (absent classes are 0).
            let map = trainTable.classes.map { o.classes.firstIndex(of: $0) }
            let clips = o.labeledClips().map { c in LabeledClip(file: c.file, start: c.start, end: c.end, labels: map.map { $0.map { c.labels[$0] } ?? 0 }) }
            overlays = ClipImageStore(clips: clips, preprocessing: pp, workers: configuration.workers)
            overlayAudio = audioPipeline ? ClipAudioStore(clips: clips, preprocessing: pp, workers: configuration.workers) : nil
        } else { overlays = nil; overlayAudio = nil }
        network = try Network(architecture: configuration.architecture, classes: classes.count, inputChannels: pp.channels, device: device, seed: configuration.seed)
        if let w = configuration.initWeights {
            let file = try SafeTensorsFile.read(w)
            // The classification head is new when the class count differs.
            let head = Set(["fc.weight", "fc.bias"])
            let skip = file.tensors["fc.weight"]?.shape.first == classes.count ? Set<String>() : head
            try network.loadWeights(file, strict: false, skipping: skip)
        }
        // One buffer of values and one of gradients: an optimizer step is one launch, and a
        // data-parallel gradient sum one transfer each way.
        try network.flattenParameters()
        switch configuration.optimizer {
        case .sgd: optimizer = SGD(momentum: configuration.momentum, weightDecay: configuration.weightDecay)
        case .adamw: optimizer = AdamW(weightDecay: configuration.weightDecay)
        }
    }

    /// Training samples per class that the report shows as the network sees them.
    public static let reportPreviewPerClass = 3
    var previewEntries: [TrainingReportData.PreviewSample] = []

    func makePlanner() -> AugmentationPlanner {
        AugmentationPlanner(settings: configuration.augmentation, overlayLabels: overlays?.clips.map(\.labels) ?? [],
                            height: configuration.preprocessing.image.height, width: configuration.preprocessing.image.width)
    }

    /// Draws up to `perClass` training samples of each class (and of clips with no class) as the
    /// network gets them in epoch 1 — after overlays and every augmentation, with the labels it
    /// trains on — and as they are without augmentation, into `<run>/preview/` as PNGs (the
    /// model's input size, one pixel per value). The draws are each sample's own epoch-1 draws;
    /// the device's noise is seeded for this preview batch. Returns the report's entries.
    public func writePreview(perClass: Int) throws -> [TrainingReportData.PreviewSample] {
        guard perClass > 0 else { return [] }
        let clips = train.clips
        var chosen: [Int] = [], taken = Set<Int>()
        for c in classes.indices {
            for i in clips.indices.lazy.filter({ clips[$0].labels[c] > 0.5 && !taken.contains($0) }).prefix(perClass) { chosen.append(i); taken.insert(i) }
        }
        for i in clips.indices.lazy.filter({ clips[$0].labels.allSatisfy { $0 <= 0.5 } }).prefix(perClass) { chosen.append(i) }
        guard !chosen.isEmpty, let batch = try hostBatch(chosen, epoch: 0, planner: makePlanner()) else { return [] }
        let (x, y) = try deviceBatch(batch, epoch: 0, batchIndex: 0)
        let augmented = try x.toArray(), trainingLabels = try y.toArray()
        let clean = train.images(batch.indices)
        let pp = configuration.preprocessing
        let h = pp.image.height, w = pp.image.width, hw = pp.imageCount * pp.channels, c = classes.count
        let folder = run.path + "/preview"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func names(_ labels: ArraySlice<Float>) -> String {
            let on = zip(classes, labels).filter { $0.1 > 0.5 }.map(\.0)
            return on.isEmpty ? "none" : on.joined(separator: ", ")
        }
        var entries: [TrainingReportData.PreviewSample] = []
        for (k, i) in batch.indices.enumerated() {
            let clip = clips[i]
            let original = names(clip.labels[...])
            let stem = String(format: "%02d_", k + 1) + OutputNames.fileStems(for: [original.replacingOccurrences(of: ", ", with: "+")])[0]
            let augmentedImage = Array(augmented[(k * hw)..<(k * hw + h * w)])
            try AtomicFile.write(PNG.encode(SpectrogramImage.render(networkInput: augmentedImage, height: h, width: w)), to: "\(folder)/\(stem)_augmented.png")
            var cleanPath: String? = nil
            if let image = clean[k] {
                try AtomicFile.write(PNG.encode(SpectrogramImage.render(networkInput: Array(image.prefix(h * w)), height: h, width: w)), to: "\(folder)/\(stem)_clean.png")
                cleanPath = "preview/\(stem)_clean.png"
            }
            entries.append(TrainingReportData.PreviewSample(
                file: clip.file, start: clip.start, end: clip.end, labels: original,
                trainingLabels: names(trainingLabels[(k * c)..<((k + 1) * c)]),
                clean: cleanPath, augmented: "preview/\(stem)_augmented.png"))
        }
        return entries
    }

    var batchesPerEpoch: Int { (train.clips.count + configuration.batchSize - 1) / configuration.batchSize }

    var schedule: CosineSchedule {
        let total = batchesPerEpoch * configuration.epochs
        return CosineSchedule(baseLearningRate: configuration.learningRate, totalSteps: total,
                              warmupSteps: max(1, Int(Double(total) * configuration.warmupFraction)))
    }

    /// Runs (or resumes) training to the configured number of epochs.
    @discardableResult
    public func fit(resume: Bool = false) throws -> TrainingSummary {
        var history: [EpochMetrics] = []
        var startEpoch = 0
        var best: (epoch: Int, map: Double?) = (0, nil)
        // Rank 0 recorded the tables, so it checks them (its error stops every rank).
        if resume && writes && FileSystem.exists(run.checkpointPath) { try run.checkResume(configuration: configuration, classes: classes) }
        if resume, let state = try run.loadCheckpoint(network: network, optimizer: optimizer, epochs: configuration.epochs, stepsPerEpoch: batchesPerEpoch) {
            startEpoch = state.completedEpochs
            best = (state.bestEpoch, state.bestMAP)
            history = state.history
            if writes { try run.writeMetrics(history, classes: classes) }  // exactly the checkpoint's epochs
            log("resuming \(run.path) after epoch \(startEpoch) of \(configuration.epochs)")
        } else {
            let ranks = group.map { ($0.size, hosts()) }  // a collective: every process asks
            if writes { try run.start(configuration: configuration, classes: classes, device: device, ranks: ranks) }
        }
        let planner = makePlanner()
        // What the network sees, for the report (the draws are pure functions of seed, epoch and sample: training is unchanged).
        if writes { previewEntries = try writePreview(perClass: Trainer.reportPreviewPerClass) }
        validation.prepareAll(label: "preparing validation clips", progress: showProgress)
        try checkFailures()
        for epoch in startEpoch..<configuration.epochs {
            var metrics = try trainEpoch(epoch, planner: planner)
            // One model everywhere: rank 0's batch-norm running statistics (as PyTorch's DDP does).
            try broadcastBuffers()
            let v = try validate()
            metrics.validationLoss = v.loss
            metrics.validationMAP = Metrics.macroMean(v.ap)
            metrics.validationMacroAUC = Metrics.macroMean(v.auc)
            metrics.classAP = v.ap
            // A diverged network is never saved: stop here, keeping the last good checkpoint and models.
            if let what = try nonFiniteState(metrics) {
                throw PipelineError.diverged(epoch: epoch + 1, what: what, checkpoint: FileSystem.exists(run.checkpointPath) ? run.checkpointPath : nil)
            }
            history.append(metrics)
            // Best by validation mAP; ties (e.g. a saturated mAP of 1) go to the lower validation loss.
            let bestLoss = history.first { $0.epoch == best.epoch }?.validationLoss ?? .infinity
            let map = metrics.validationMAP ?? -1, bestMap = best.map ?? -1
            let improved = best.epoch == 0 || map > bestMap + 1e-9 || (abs(map - bestMap) <= 1e-9 && (metrics.validationLoss ?? .infinity) < bestLoss)
            if improved { best = (epoch + 1, metrics.validationMAP) }
            if writes {
                try run.finishEpoch(metrics: metrics, history: history, classes: classes, network: network, optimizer: optimizer,
                                    improved: improved, bestEpoch: best.epoch, bestMAP: best.map, model: modelRecord(history: history))
                try writeReport(history: history, bestEpoch: best.epoch)
            }
            onEpoch?(metrics)
        }
        let summary = TrainingSummary(runDirectory: run.path, epochs: history, bestEpoch: best.epoch, bestValidationMAP: best.map,
                                      model: configuration.modelSelection.fileName,
                                      skippedClips: (trainFailures + validation.failures + overlayFailures).map(\.message),
                                      device: device.description)
        if writes {
            try writeReport(history: history, bestEpoch: best.epoch)
            try run.finish(summary: summary, final: configuration.final)
        }
        return summary
    }

    func modelRecord(history: [EpochMetrics]) -> ClassifierModel {
        var m = ClassifierModel(network: network, classes: classes, preprocessing: configuration.preprocessing, loss: configuration.loss)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        struct Record: Codable { var configuration: TrainingConfiguration; var epochs: [EpochMetrics]; var trainRows: Int; var validationRows: Int; var device: String }
        m.trainingSummary = String(decoding: (try? enc.encode(Record(configuration: configuration, epochs: history, trainRows: train.clips.count,
                                                                     validationRows: validation.clips.count, device: device.description))) ?? Data("{}".utf8), as: UTF8.self)
        m.labelsSHA256 = run.trainTableSHA256
        return m
    }

    /// Failed training clips, from whichever store the pipeline reads.
    var trainFailures: [(index: Int, message: String)] { trainAudio?.failures ?? train.failures }
    var overlayFailures: [(index: Int, message: String)] { overlayAudio?.failures ?? overlays?.failures ?? [] }

    func checkFailures() throws {
        // Each set on its own: a few bad training clips must not hide a validation set that is mostly unreadable.
        let trainFailed = trainAudio?.failureCount ?? train.failureCount
        if trainFailed * 10 > train.clips.count {
            throw PipelineError.tooManyFailures(failed: trainFailed, total: train.clips.count, set: "training", examples: Array(trainFailures.prefix(5).map(\.message)))
        }
        if validation.failureCount * 10 > validation.clips.count {
            throw PipelineError.tooManyFailures(failed: validation.failureCount, total: validation.clips.count, set: "validation",
                                                examples: Array(validation.failures.prefix(5).map(\.message)))
        }
    }

    // MARK: epochs

    func trainEpoch(_ epoch: Int, planner: AugmentationPlanner) throws -> EpochMetrics {
        let bs = configuration.batchSize
        var order = Array(0..<train.clips.count)
        var rng = SeededRandom(seed: configuration.seed ^ (UInt64(epoch + 1) &* 0xD1B5_4A32_D192_ED03))
        rng.shuffle(&order)
        let nb = batchesPerEpoch
        let shareRows = self.shareRows
        let prefetch = BatchPrefetcher(batchCount: nb) { b in
            // This process's share of the global batch (all of it when training alone).
            let rows = Array(order[(b * bs)..<min((b + 1) * bs, order.count)]), mine = shareRows(rows.count)
            var batch = try self.hostBatch(Array(rows[mine]), epoch: epoch, planner: planner)
            batch?.firstRow = mine.lowerBound
            return batch
        }
        defer { prefetch.cancel() }
        let progress = ProgressReporter(label: "epoch \(epoch + 1)/\(configuration.epochs)", total: nb, unit: "samples")
        progress.quiet = !showProgress
        let t0 = Date()
        var lossSum = 0.0, samples = 0, steps = 0
        var sumSeconds = 0.0
        var lr: Float = 0
        // Single process: the loss stays on the device, summed (weighted by rows) over a window of
        // steps and read once per window and at the epoch's end, so a step waits for nothing. A NaN
        // or infinite loss makes the sum non-finite (losses are never negative) and is caught at
        // the read. Data-parallel steps sum the loss over the ranks with the gradients instead.
        let window = try Tensor.zeros([1], on: device)
        var windowFirstBatch = 0, windowSteps = 0, windowSamples = 0
        // The mean loss of the last window read; none until the first read (shown as "loss —", not nan).
        var shownLoss: Float? = nil
        let reads0 = device.openCLContext?.readCount
        func readWindow(lastBatch: Int) throws {
            guard windowSteps > 0 else { return }
            let total = try window.toArray()[0]
            guard total.isFinite else {
                throw PipelineError.nonFiniteLoss(epoch: epoch + 1, batches: (windowFirstBatch + 1)...(lastBatch + 1),
                                                  checkpoint: FileSystem.exists(run.checkpointPath) ? run.checkpointPath : nil)
            }
            lossSum += Double(total)
            shownLoss = total / Float(max(1, windowSamples))
            try Ops.fill(window, 0)
            windowSteps = 0
            windowSamples = 0
            windowFirstBatch = lastBatch + 1
        }
        for b in 0..<nb {
            if let stop = stopAfterBatches, b >= stop { throw PipelineError.noData("stopped after \(stop) batches (simulated kill)") }
            let taken = try prefetch.take()
            try checkFailures()
            let step = epoch * nb + b
            lr = schedule.learningRate(step: step)
            var rows = taken?.indices.count ?? 0
            if let group {
                // Every process takes part in every step, or none does (a share whose clips all failed).
                var counts = [Double(rows), rows > 0 ? 0 : 1]
                group.sum(&counts)
                if counts[1] > 0 { continue }
                rows = Int(counts[0])
            }
            guard let batch = taken else { continue }
            let (x, y) = try deviceBatch(batch, epoch: epoch, batchIndex: b)
            let logits = try network.forward(x, training: true)
            let (lossOnDevice, grad) = try configuration.loss.computeOnDevice(logits: logits, targets: y)
            if let group {
                // The gradient of the mean over the global batch: each share's mean loss weighted by
                // its rows, summed over the processes (with the loss itself, in one reduction).
                let weight = Float(batch.indices.count) / Float(rows)
                try Ops.scale(grad, by: weight)
                _ = try network.backward(grad)
                let t = Date()
                let loss = try sumGradients(group, loss: try lossOnDevice.toArray()[0] * weight)
                sumSeconds += Date().timeIntervalSince(t)
                guard loss.isFinite else {
                    throw PipelineError.nonFiniteLoss(epoch: epoch + 1, batches: (b + 1)...(b + 1), checkpoint: FileSystem.exists(run.checkpointPath) ? run.checkpointPath : nil)
                }
                lossSum += Double(loss) * Double(rows)
                shownLoss = loss
            } else {
                _ = try network.backward(grad)
                try Ops.axpy(Float(rows), lossOnDevice, into: window)
                windowSteps += 1
                windowSamples += rows
            }
            try optimizer.step(network.parameters, learningRate: lr)
            samples += rows
            steps += 1
            if windowSteps >= Self.lossReadInterval { try readWindow(lastBatch: b) }
            let elapsed = Date().timeIntervalSince(t0)
            progress.update(done: b + 1, rateUnits: Double(samples) / max(elapsed, 1e-9), extra: (shownLoss.map { String(format: "loss %.4f", $0) } ?? "loss —") + String(format: " lr %.2g", lr))
        }
        try readWindow(lastBatch: nb - 1)
        try device.synchronize()
        let hostReads = reads0.map { device.openCLContext!.readCount - $0 }
        let seconds = Date().timeIntervalSince(t0)
        return EpochMetrics(epoch: epoch + 1, trainLoss: samples > 0 ? lossSum / Double(samples) : .nan, validationLoss: nil, validationMAP: nil,
                            validationMacroAUC: nil, classAP: [], learningRate: Double(lr), samplesPerSecond: Double(samples) / seconds,
                            seconds: seconds, loaderWaitFraction: prefetch.waitSeconds / max(seconds, 1e-9),
                            gradientSumSeconds: group == nil ? nil : sumSeconds, steps: steps, deviceReads: hostReads)
    }

    /// Training steps between reads of the loss (and its NaN check) from the device.
    public static let lossReadInterval = 16

    /// This process's contiguous share of a global batch: the rows split as evenly as they go
    /// (shares differ by at most one row; none when the batch has fewer rows than processes).
    var share: @Sendable ([Int]) -> [Int] {
        let shareRows = self.shareRows
        return { idx in Array(idx[shareRows(idx.count)]) }
    }

    /// The rows of a global batch of `count` this process takes.
    var shareRows: @Sendable (Int) -> Range<Int> {
        guard let group, group.size > 1 else { return { 0..<$0 } }
        let rank = group.rank, size = group.size
        return { count in
            let q = count / size, extra = count % size
            let lo = rank * q + min(rank, extra)
            return lo..<(lo + q + (rank < extra ? 1 : 0))
        }
    }

    /// Sums every parameter's gradient (and `loss`) over the processes, straight from the flat
    /// gradient buffer (one transfer each way); returns the summed loss.
    func sumGradients(_ group: ProcessGroup, loss: Float) throws -> Float {
        guard let all = network.flatParameters else { throw PipelineError.incompatible("the network's parameters are not in flat buffers") }
        if let p = all.firstGradientOutOfPlace {
            throw PipelineError.incompatible("parameter \(p.name) has no gradient in the flat gradient buffer after the backward pass")
        }
        var flat = try all.gradients.toArray()
        flat.append(loss)
        group.sum(&flat)
        let summedLoss = flat.removeLast()
        try all.gradients.upload(flat)
        return summedLoss
    }

    /// Rank 0's batch-norm running statistics on every process.
    func broadcastBuffers() throws {
        guard let group, group.size > 1 else { return }
        var flat: [Float] = []
        for b in network.buffers { flat += try b.value.toArray() }
        let bytes = flat.withUnsafeBytes { Array($0) }
        let received = group.broadcast(bytes, root: 0)
        let values = received.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        var offset = 0
        for b in network.buffers {
            b.value = try Tensor(Array(values[offset..<(offset + b.value.count)]), shape: b.value.shape, on: device)
            offset += b.value.count
        }
    }

    /// The host names of the processes, in rank order.
    func hosts() -> [String] {
        guard let group else { return [ProcessInfo.processInfo.hostName] }
        return group.allgather(Array(ProcessInfo.processInfo.hostName.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The host side of one batch of training samples `idx` in `epoch`: their draws (from seed,
    /// epoch and sample), images or clip windows, labels and overlay material. Runs on the
    /// prefetch thread (the stores' caches are locked) and for `preview`.
    func hostBatch(_ idx: [Int], epoch: Int, planner: AugmentationPlanner) throws -> HostBatch? {
        let pp = configuration.preprocessing
        let hw = pp.imageCount
        let seed = configuration.seed
        let trainStore = train
        let overlayStore = overlays
        let settings = configuration.augmentation
        let updateLabels = settings.updateLabels
        let plans = idx.map { planner.plan(seed: seed, epoch: epoch, sample: $0, labels: trainStore.clips[$0].labels, slack: trainStore.slack($0)) }
        var batch = HostBatch(indices: [], images: [], labels: [], augmentations: [])
        if let trainAudio {
            // Audio pipeline: clip windows, overlay windows and the level-dependent parameters.
            let windows = trainAudio.windows(idx, offsets: plans.map(\.startOffset))
            // Overlay windows, each starting at its round's draw within a longer overlay row.
            struct Window: Hashable { var index: Int; var offset: Double }
            let rounds = plans.map { $0.overlays.map { o in Window(index: o.index, offset: o.startUnit * (overlayAudio?.slack(o.index) ?? 0)) } }
            let wanted = Array(Set(rounds.joined()))
            let overlayWindows = overlayAudio.map { store in
                Dictionary(uniqueKeysWithValues: zip(wanted, store.windows(wanted.map(\.index), offsets: wanted.map(\.offset))))
            } ?? [:]
            let n = pp.clipSamples
            for (k, i) in idx.enumerated() {
                guard let clip = windows[k] else { continue }
                var labels = trainStore.clips[i].labels
                var mixed: [(samples: [Float], weight: Double)] = []
                for (o, window) in zip(plans[k].overlays, rounds[k]) {
                    guard let samples = overlayWindows[window] ?? nil, let store = overlayAudio else { continue }
                    mixed.append((samples, o.weight))
                    if updateLabels { labels = zip(labels, store.clips[o.index].labels).map { max($0, $1) } }
                }
                let audio = AudioAugmentation(clip: clip, overlays: mixed, draws: plans[k].audio ?? AudioDraws(), settings: settings,
                                              sampleRate: pp.sampleRate)
                batch.indices.append(i)
                batch.labels += labels
                batch.augmentations.append(plans[k])
                batch.waveforms += clip
                batch.overlayWaveforms += audio.overlay ?? [Float](repeating: 0, count: n)
                batch.waveformParameters += audio.parameters
            }
            return batch.indices.isEmpty ? nil : batch
        }
        let imgs = trainStore.images(idx, offsets: plans.map(\.startOffset))
        batch.images.reserveCapacity(idx.count * hw)
        for (k, i) in idx.enumerated() {
            guard let img = imgs[k] else { continue }
            batch.indices.append(i)
            batch.images += img
            batch.labels += trainStore.clips[i].labels
            batch.augmentations.append(plans[k])
        }
        // Build (and cache) the overlay images here, off the training thread.
        if let overlayStore { _ = overlayStore.images(Array(Set(batch.augmentations.flatMap { $0.overlays.map(\.index) }))) }
        return batch.indices.isEmpty ? nil : batch
    }

    /// Uploads a host batch and applies the device-side augmentation (overlays, masks, noise, shifts).
    func deviceBatch(_ batch: HostBatch, epoch: Int, batchIndex: Int) throws -> (Tensor, Tensor) {
        if trainAudio != nil { return try deviceAudioBatch(batch, epoch: epoch, batchIndex: batchIndex) }
        let pp = configuration.preprocessing
        let n = batch.indices.count, hw = pp.imageCount, c = classes.count
        var x = try Tensor(batch.images, shape: [n, pp.channels, pp.image.height, pp.image.width], on: device)
        var y = try Tensor(batch.labels, shape: [n, c], on: device)
        if configuration.augmentation.gainRange != nil {
            let span = Float(pp.image.dBRange.upperBound - pp.image.dBRange.lowerBound)
            let offsets = batch.augmentations.map { 2 * $0.gain / span }
            x = try Ops.gainShift(x, offsets: Tensor(offsets, shape: [n], on: device))
        }
        let rounds = batch.augmentations.map(\.overlays.count).max() ?? 0
        if rounds > 0, let overlays {
            for r in 0..<rounds {
                let picks = batch.augmentations.map { $0.overlays.count > r ? $0.overlays[r] : nil }
                let wanted = picks.compactMap { $0 }
                // Each overlay image starts at its round's draw within a longer overlay row.
                let imgs = overlays.images(wanted.map(\.index), offsets: wanted.map { $0.startUnit * overlays.slack($0.index) })
                var oImages = [Float](repeating: 0, count: n * hw), oLabels = [Float](repeating: 0, count: n * c)
                var weights = [Float](repeating: 0, count: n), apply = [Float](repeating: 0, count: n)
                var w = 0
                for k in 0..<n {
                    guard let p = picks[k] else { continue }
                    defer { w += 1 }
                    guard let img = imgs[w] else { continue }
                    oImages.replaceSubrange((k * hw)..<((k + 1) * hw), with: img)
                    oLabels.replaceSubrange((k * c)..<((k + 1) * c), with: overlays.clips[p.index].labels)
                    weights[k] = Float(p.weight); apply[k] = 1
                }
                x = try Ops.overlayBlend(samples: x, overlays: Tensor(oImages, shape: x.shape, on: device), weights: Tensor(weights, shape: [n], on: device))
                if configuration.augmentation.updateLabels {
                    y = try Ops.overlayLabelUnion(labels: y, overlayLabels: Tensor(oLabels, shape: [n, c], on: device), apply: Tensor(apply, shape: [n], on: device))
                }
            }
        }
        let a = configuration.augmentation
        if a.timeMask || a.frequencyMask || a.translate || a.noiseStd > 0 {
            // Bars are filled as the reference fills them: each with the mean of the image (after
            // gain and overlays) as it is when the bar is drawn.
            // The fills are computed on the device, so nothing is read back.
            let parameters = try Tensor(batch.augmentations.flatMap(\.parameters), shape: [n, augmentParameterCount], on: device)
            try Ops.augmentBarFills(x, parameters: parameters)
            let seed = configuration.seed ^ (UInt64(epoch) << 32 | UInt64(batchIndex)) ^ 0x5EED
            x = try Ops.augmentSpectrogram(x, parameters: parameters, seed: seed, offset: 2 * UInt64(batch.firstRow * hw))
        }
        return (x, y)
    }

    /// The audio pipeline on the device: gain, overlays, noise, wrap and time masks of the
    /// waveforms, the STFT-to-image kernels (FFTW on the CPU fallback), then frequency masks.
    func deviceAudioBatch(_ batch: HostBatch, epoch: Int, batchIndex: Int) throws -> (Tensor, Tensor) {
        let pp = configuration.preprocessing
        let n = batch.indices.count, length = pp.clipSamples
        let seed = configuration.seed ^ (UInt64(epoch) << 32 | UInt64(batchIndex)) ^ 0xA0D1_0A0D
        let waves = try Ops.augmentWaveform(Tensor(batch.waveforms, shape: [n, length], on: device),
                                            overlays: Tensor(batch.overlayWaveforms, shape: [n, length], on: device),
                                            parameters: Tensor(batch.waveformParameters, shape: [n, waveformAugmentParameterCount], on: device), seed: seed,
                                            offset: 2 * UInt64(batch.firstRow * length))
        var x = try pp.images(waveforms: waves, workers: configuration.workers)
        let y = try Tensor(batch.labels, shape: [n, classes.count], on: device)
        if configuration.augmentation.frequencyMask {
            // Bars are filled with the image's mean as it is when each is drawn, as in the classic pipeline.
            // (computed on the device: nothing is read back). No noise here: the waveforms had theirs.
            let parameters = try Tensor(batch.augmentations.flatMap { a -> [Float] in var p = a.parameters; p[15] = 0; return p },
                                        shape: [n, augmentParameterCount], on: device)
            try Ops.augmentBarFills(x, parameters: parameters)
            x = try Ops.augmentSpectrogram(x, parameters: parameters, seed: seed, offset: 2 * UInt64(batch.firstRow * pp.imageCount))
        }
        return (x, y)
    }

    /// Rewrites the run folder's report.html (learning curves, data, throughput, provenance).
    func writeReport(history: [EpochMetrics], bestEpoch: Int) throws {
        func counts(_ name: String, _ labels: [[Float]]) -> TrainingReportData.TableCounts {
            TrainingReportData.TableCounts(name: name, rows: labels.count,
                                           positives: classes.indices.map { c in labels.reduce(0) { $0 + ($1[c] > 0.5 ? 1 : 0) } },
                                           sha256: run.tableHashes[name])
        }
        var tables = [counts("train.csv", train.clips.map(\.labels)), counts("validation.csv", validation.clips.map(\.labels))]
        if let overlays { tables.append(counts("overlays.csv", overlays.clips.map(\.labels))) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let c = configuration
        let data = TrainingReportData(
            runName: (run.path as NSString).lastPathComponent, classes: classes, plannedEpochs: c.epochs,
            epochs: history.map { TrainingReportData.Epoch(epoch: $0.epoch, trainLoss: $0.trainLoss, validationLoss: $0.validationLoss,
                                                           validationMAP: $0.validationMAP, classAP: $0.classAP, learningRate: $0.learningRate,
                                                           samplesPerSecond: $0.samplesPerSecond, seconds: $0.seconds, loaderWaitFraction: $0.loaderWaitFraction) },
            bestEpoch: bestEpoch, tables: tables,
            skippedClips: (trainFailures + validation.failures + overlayFailures).map(\.message),
            facts: [("device", device.description), ("recipe", "\(c.recipe.rawValue): \(c.optimizer.rawValue), learning rate \(c.learningRate), weight decay \(c.weightDecay)"),
                    ("augmentation", "\(c.augmentation.pipeline.rawValue): \(c.augmentation.activeSteps.joined(separator: "; "))"),
                    ("network", "\(c.architecture.rawValue), \(c.preprocessing.image.height)x\(c.preprocessing.image.width), batch \(c.batchSize), seed \(c.seed)"),
                    ("command", run.commandLine), ("Chorus", chorusVersion), ("run folder", run.path)] + (run.note.map { [("note", $0)] } ?? []),
            configurationJSON: String(decoding: try encoder.encode(c), as: UTF8.self))
        var report = data
        report.modelFile = c.modelSelection.fileName
        report.preview = previewEntries
        try AtomicFile.write(TrainingReport.render(report), to: run.path + "/" + TrainingReport.fileName)
    }

    /// What is NaN or infinite after an epoch (losses, metrics, then weights), or nil.
    func nonFiniteState(_ m: EpochMetrics) throws -> String? {
        if !m.trainLoss.isFinite { return "the training loss (\(m.trainLoss))" }
        if let v = m.validationLoss, !v.isFinite { return "the validation loss (\(v))" }
        if let v = m.validationMAP, !v.isFinite { return "the validation mAP (\(v))" }
        for p in network.namedTensors where try p.value.toArray().contains(where: { !$0.isFinite }) { return "the weights of \(p.name)" }
        return nil
    }

    /// Scores the validation set without augmentation: loss, per-class AP and ROC AUC.
    func validate() throws -> (loss: Double?, ap: [Double?], auc: [Double?]) {
        let n = validation.clips.count, mine = share(Array(0..<n))
        let first = mine.first ?? n
        var p = try Predictor.scoreStore(validation, network: network, device: device, batchSize: configuration.batchSize, loss: configuration.loss,
                                         range: first..<(first + mine.count))
        if let group, group.size > 1 {
            // Each process scored its share; all of them, gathered in clip order, give the exact metrics.
            struct Part: Codable { var indices: [Int]; var scores: [[Float]]; var lossSum: Double }
            let mine = Part(indices: p.indices, scores: p.scores, lossSum: (p.loss ?? 0) * Double(p.indices.count))
            let parts = try group.allgather(Array(JSONEncoder().encode(mine))).map { try JSONDecoder().decode(Part.self, from: Data($0)) }
            let count = parts.map(\.indices.count).reduce(0, +)
            p = (parts.flatMap(\.indices), parts.flatMap(\.scores), count > 0 ? parts.map(\.lossSum).reduce(0, +) / Double(count) : nil)
        }
        var ap: [Double?] = [], auc: [Double?] = []
        for c in 0..<classes.count {
            let scores = p.scores.map { Double($0[c]) }
            let labels = p.indices.map { validation.clips[$0].labels[c] > 0.5 }
            ap.append(Metrics.averagePrecision(scores: scores, labels: labels))
            auc.append(Metrics.rocAUC(scores: scores, labels: labels))
        }
        return (p.loss, ap, auc)
    }
}
