import Annotations
import Audio
import ChorusCore
import Foundation
import Model
import Tensor

/// How scores are turned from logits.
public enum Activation: String, Codable, CaseIterable, Sendable { case sigmoid, softmax, none }

public struct PredictionOptions: Sendable {
    public var clipOverlap: Double = 0
    public var finalClip: FinalClip = .extend
    public var batchSize = 64
    public var activation: Activation? = nil  // nil: sigmoid for multi-target models, softmax for single-target
    public var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    public var showProgress = true
    public init() {}
}

public struct PredictionSummary: Sendable {
    public var filesScored: Int
    public var filesSkippedAsDone: Int
    public var clips: Int
    public var failures: [(file: String, reason: String)]
    public var audioSeconds: Double
    public var seconds: Double
    /// Seconds spent decoding audio, building spectrograms, and in the network.
    public var decodeSeconds: Double, spectrogramSeconds: Double, networkSeconds: Double
}

/// Scores clips of audio with a trained model, using the model's own preprocessing without augmentation.
public enum Predictor {
    /// Activated scores for every successfully prepared clip of a store (validation), and the mean loss.
    static func scoreStore(_ store: ClipImageStore, network: Network, device: Device, batchSize: Int, loss: LossKind) throws -> (indices: [Int], scores: [[Float]], loss: Double?) {
        let pp = store.preprocessing
        var indices: [Int] = [], scores: [[Float]] = [], lossSum = 0.0
        var i = 0
        while i < store.clips.count {
            let idx = Array(i..<min(i + batchSize, store.clips.count))
            i += batchSize
            let imgs = store.images(idx)
            var flat: [Float] = [], labels: [Float] = [], kept: [Int] = []
            for (k, j) in idx.enumerated() { if let img = imgs[k] { flat += img; labels += store.clips[j].labels; kept.append(j) } }
            if kept.isEmpty { continue }
            let x = try Tensor(flat, shape: [kept.count, pp.channels, pp.image.height, pp.image.width], on: device)
            let logits = try network.forward(x, training: false)
            let l = try loss.compute(logits: logits, targets: Tensor(labels, shape: logits.shape, on: device))
            lossSum += Double(l.loss) * Double(kept.count)
            let act = try activate(logits, loss == .softmaxCrossEntropy ? .softmax : .sigmoid)
            let c = logits.shape[1]
            for (k, j) in kept.enumerated() { indices.append(j); scores.append(Array(act[(k * c)..<((k + 1) * c)])) }
        }
        return (indices, scores, indices.isEmpty ? nil : lossSum / Double(indices.count))
    }

    static func activate(_ logits: Tensor, _ a: Activation) throws -> [Float] {
        switch a {
        case .none: return try logits.toArray()
        case .sigmoid: return try Ops.sigmoidForward(logits).toArray()
        case .softmax: return try Ops.logSoftmaxForward(logits).toArray().map { expf($0) }
        }
    }

    /// Audio files under the given files or folders (recursively), sorted.
    public static func audioFiles(_ inputs: [String]) throws -> [String] {
        var out: [String] = []
        for p in inputs { out += try FileSystem.files(under: p, extensions: AudioFile.supportedExtensions) }
        guard !out.isEmpty else { throw PipelineError.noData("no audio files found in \(inputs.joined(separator: ", ")) (extensions: \(AudioFile.supportedExtensions.sorted().joined(separator: ", ")))") }
        return out
    }

    /// Scores every clip of every file, appending each finished file's rows to `output`
    /// (`file,start_time,end_time,<class>...`). A sidecar `<output>.done` lists finished files, so
    /// an interrupted run keeps what it scored and `resume` skips them. Unreadable files are
    /// reported and skipped. `onFile` sees each file's rows (for Raven detection tables).
    @discardableResult
    public static func predict(model: ClassifierModel, files: [String], options: PredictionOptions, output: String, resume: Bool, device: Device,
                               onFile: ((String, [(start: Double, end: Double, scores: [Float])]) throws -> Void)? = nil) throws -> PredictionSummary {
        let pp = model.preprocessing
        let activation = options.activation ?? (model.loss == .softmaxCrossEntropy ? .softmax : .sigmoid)
        let donePath = output + ".done"
        let header = CSV.line(["file", "start_time", "end_time"] + model.classes)
        var done = Set<String>()
        if resume, FileSystem.exists(output) {
            done = Set(((try? String(contentsOfFile: donePath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
            // Keep only rows of finished files (a kill can leave a partial file's rows).
            let rows = try CSV.read(output)
            guard let first = rows.first, first.fields == ["file", "start_time", "end_time"] + model.classes else {
                throw PipelineError.incompatible("--resume: \(output) has other columns than this model's (file,start_time,end_time,\(model.classes.joined(separator: ",")))")
            }
            var text = header
            for r in rows.dropFirst() where done.contains(r.fields[0]) { text += CSV.line(r.fields) }
            try AtomicFile.write(text, to: output)
        } else {
            try AtomicFile.write(header, to: output)
            try AtomicFile.write("", to: donePath)
        }
        guard let handle = FileHandle(forWritingAtPath: output), let doneHandle = FileHandle(forWritingAtPath: donePath) else {
            throw ChorusFileError.cannotWrite(path: output, reason: "cannot open for appending")
        }
        defer { try? handle.close(); try? doneHandle.close() }
        handle.seekToEndOfFile(); doneHandle.seekToEndOfFile()

        var infos: [(String, AudioInfo?)] = []
        var failures: [(String, String)] = []
        for f in files where !done.contains(f) {
            do { infos.append((f, try AudioFile.info(f))) } catch { failures.append((f, "\(error)")); infos.append((f, nil)) }
        }
        let totalAudio = infos.compactMap { $0.1?.duration }.reduce(0, +)
        let progress = ProgressReporter(label: "predicting", total: max(1, Int(totalAudio.rounded(.up))), unit: "s audio")
        progress.quiet = !options.showProgress
        var audioDone = 0.0, clipsDone = 0, scored = 0
        var tDecode = 0.0, tSpec = 0.0, tNet = 0.0
        let t0 = Date()
        for (file, info) in infos {
            guard let info else { continue }
            do {
                let clips = try ClipSchedule.clips(duration: info.duration, clipDuration: pp.clipDuration, overlap: options.clipOverlap, finalClip: options.finalClip)
                var rows: [(start: Double, end: Double, scores: [Float])] = []
                var k = 0
                while k < clips.count {
                    let chunk = Array(clips[k..<min(k + options.batchSize, clips.count)])
                    k += options.batchSize
                    // One read covers the chunk; clips past the end are zero-padded by the preprocessing.
                    var ta = Date()
                    let span = try AudioFile.read(file, offset: chunk[0].start, duration: max(0, min(info.duration, chunk.last!.end) - chunk[0].start), sampleRate: pp.sampleRate)
                    tDecode += Date().timeIntervalSince(ta)
                    ta = Date()
                    let clipsAudio = chunk.map { clip -> [Float] in
                        let a = Int(((clip.start - chunk[0].start) * Double(pp.sampleRate)).rounded())
                        let b = min(span.samples.count, a + pp.clipSamples)
                        return a < b ? Array(span.samples[a..<b]) : []
                    }
                    let x = try pp.images(clips: clipsAudio, on: device, workers: options.workers)
                    tSpec += Date().timeIntervalSince(ta)
                    ta = Date()
                    let logits = try model.network.forward(x, training: false)
                    let act = try activate(logits, activation)
                    tNet += Date().timeIntervalSince(ta)
                    let c = model.classes.count
                    for (j, clip) in chunk.enumerated() { rows.append((clip.start, clip.end, Array(act[(j * c)..<((j + 1) * c)]))) }
                    clipsDone += chunk.count
                    progress.update(done: Int((audioDone + min(info.duration, chunk.last!.end)).rounded()), extra: "\(clipsDone) clips")
                }
                var text = ""
                for r in rows { text += CSV.line([file, formatSeconds(r.start), formatSeconds(r.end)] + r.scores.map { String(format: "%.6g", $0) }) }
                handle.write(Data(text.utf8))
                try handle.synchronize()
                doneHandle.write(Data((file + "\n").utf8))
                try doneHandle.synchronize()
                try onFile?(file, rows)
                scored += 1
            } catch {
                failures.append((file, "\(error)"))
            }
            audioDone += info.duration
        }
        progress.update(done: max(1, Int(totalAudio.rounded(.up))), force: true)
        return PredictionSummary(filesScored: scored, filesSkippedAsDone: done.count, clips: clipsDone, failures: failures, audioSeconds: totalAudio,
                                 seconds: Date().timeIntervalSince(t0), decodeSeconds: tDecode, spectrogramSeconds: tSpec, networkSeconds: tNet)
    }
}
