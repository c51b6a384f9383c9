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
    public var workers = Machine.usableCores
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
    /// `range`: only these clips (a process's share in data-parallel training).
    static func scoreStore(_ store: ClipImageStore, network: Network, device: Device, batchSize: Int, loss: LossKind,
                           range: Range<Int>? = nil) throws -> (indices: [Int], scores: [[Float]], loss: Double?) {
        let pp = store.preprocessing
        var indices: [Int] = [], scores: [[Float]] = [], lossSum = 0.0
        let range = range ?? 0..<store.clips.count
        var i = range.lowerBound
        while i < range.upperBound {
            let idx = Array(i..<min(i + batchSize, range.upperBound))
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

    /// What a scores table was made with, written beside it (`scores.csv` → `scores.json`) and
    /// checked by `--resume`, so rows of another model or other settings never join a table.
    public struct ScoresRecord: Codable, Equatable, Sendable {
        public var step = "predict"
        public var toolVersion = chorusVersion
        public var date = isoTimestamp()
        public var commandLine = CommandLine.arguments
        public var model: String
        public var modelSHA256: String
        public var classes: [String]
        public var sampleRate: Int
        public var clipDuration: Double
        public var clipOverlap: Double
        public var finalClip: String
        public var activation: String
        public var inputs: Int
        public var filesScored: Int?
        public var failures: [String: String]?
        /// A part of a sharded run: "K/N", and every input file of the whole run in its order
        /// (the merge puts the parts' rows back in that order).
        public var shard: String?
        public var allFiles: [String]?
        /// Written once the run finished (absent while it runs or after a kill): the SHA-256 of
        /// the table and its row count, which `merge` checks a part against.
        public var tableSHA256: String?
        public var rows: Int?

        /// The settings that decide the rows; a resume must match every one.
        func differences(from other: ScoresRecord) -> [String] {
            var out: [String] = []
            func check<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { out.append("\(name): table has \(a), this run \(b)") } }
            check("model SHA-256", modelSHA256, other.modelSHA256)
            check("classes", classes, other.classes)
            check("sample rate", sampleRate, other.sampleRate)
            check("clip duration", clipDuration, other.clipDuration)
            check("clip overlap", clipOverlap, other.clipOverlap)
            check("final clip", finalClip, other.finalClip)
            check("activation", activation, other.activation)
            check("shard", shard ?? "none", other.shard ?? "none")
            return out
        }
    }

    /// The files a scores table's list (`<output>.done`) names as finished; none without one.
    public static func finishedFiles(_ output: String) -> Set<String> {
        Set(((try? String(contentsOfFile: output + ".done", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
    }

    /// Whether an existing `output` is finished work, replaced only with `overwrite`: anything but
    /// a scores table that holds no finished recording (its `.done` list is there and empty, and
    /// it holds the header line only), as a run leaves it when every file failed or it was killed
    /// before the first file finished.
    public static func holdsFinishedWork(_ output: String) -> Bool {
        guard FileSystem.exists(output) else { return false }
        guard FileSystem.exists(output + ".done"), finishedFiles(output).isEmpty,
              let handle = FileHandle(forReadingAtPath: output) else { return true }
        defer { try? handle.close() }
        let start = (try? handle.read(upToCount: 1 << 20)) ?? Data()
        guard start.count < 1 << 20 else { return true }
        let lines = String(decoding: start, as: UTF8.self).split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        return lines.count > 1
    }

    /// Refuses options that cannot work before anything is read or written.
    public static func validate(_ options: PredictionOptions, clipDuration: Double) throws {
        guard (1...65_536).contains(options.batchSize) else {
            throw PipelineError.invalidParameter("--batch-size must be between 1 and 65536, got \(options.batchSize)")
        }
        guard options.workers >= 1 else { throw PipelineError.invalidParameter("--workers must be at least 1, got \(options.workers)") }
        guard options.clipOverlap.isFinite, options.clipOverlap >= 0, options.clipOverlap < clipDuration else {
            throw PipelineError.invalidParameter("--clip-overlap must be ≥ 0 and less than the model's clip duration (\(clipDuration) s), got \(options.clipOverlap)")
        }
    }

    /// Scores every clip of every file, appending each finished file's rows to `output`
    /// (`file,start_time,end_time,<class>...`). A sidecar `<output>.done` lists finished files, so
    /// an interrupted run keeps what it scored and `resume` skips them; `<output>.json` records the
    /// model and settings, and a resume with others is refused. An existing table is replaced only
    /// with `overwrite`. Unreadable files are reported and skipped. `onFile` sees each file's rows
    /// (for Raven detection tables).
    @discardableResult
    public static func predict(model: ClassifierModel, modelPath: String? = nil, files: [String], options: PredictionOptions, output: String, resume: Bool,
                               overwrite: Bool = false, shard: FileShard? = nil, device: Device,
                               onFile: ((String, [(start: Double, end: Double, scores: [Float])]) throws -> Void)? = nil) throws -> PredictionSummary {
        let pp = model.preprocessing
        try validate(options, clipDuration: pp.clipDuration)
        let activation = options.activation ?? (model.loss == .softmaxCrossEntropy ? .softmax : .sigmoid)
        let donePath = output + ".done"
        let recordPath = Provenance.sidecarPath(for: output)
        try OutputPolicy.checkNotInput(output, parameter: "--out", inputs: files + (modelPath.map { [$0] } ?? []))
        try OutputPolicy.checkNotInput(recordPath, parameter: "the scores record", inputs: files + (modelPath.map { [$0] } ?? []))
        try OutputLock.acquire(for: output)
        var record = ScoresRecord(model: modelPath ?? "", modelSHA256: try modelPath.map { try SHA256.hex(fileAt: $0) } ?? "",
                                  classes: model.classes, sampleRate: pp.sampleRate, clipDuration: pp.clipDuration, clipOverlap: options.clipOverlap,
                                  finalClip: options.finalClip.rawValue, activation: activation.rawValue, inputs: files.count)
        if let shard { record.shard = shard.description; record.allFiles = shard.allFiles }
        let header = CSV.line(["file", "start_time", "end_time"] + model.classes)
        var done = Set<String>()
        if resume, FileSystem.exists(output) {
            if let data = FileManager.default.contents(atPath: recordPath), let previous = try? JSONDecoder().decode(ScoresRecord.self, from: data) {
                let diffs = previous.differences(from: record)
                if !diffs.isEmpty {
                    throw PipelineError.incompatible("--resume: \(output) was made with other settings (\(recordPath)):\n  " + diffs.joined(separator: "\n  ") +
                                                     "\nScore into another --out, or pass the same model and settings.")
                }
            }
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
            try OutputPolicy.checkNotExisting(output, parameter: "--out", overwrite: overwrite || !holdsFinishedWork(output),
                                              hint: "pass --resume to continue it, --overwrite to replace it, or choose another --out")
            try AtomicFile.write(header, to: output)
            try AtomicFile.write("", to: donePath)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(record), to: recordPath)
        guard let handle = FileHandle(forWritingAtPath: output), let doneHandle = FileHandle(forWritingAtPath: donePath) else {
            throw ChorusFileError.cannotWrite(path: output, reason: "cannot open for appending")
        }
        defer { try? handle.close(); try? doneHandle.close() }
        try handle.seekToEnd(); try doneHandle.seekToEnd()

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
                    let span = try AudioFile.read(file, offset: chunk[0].start, duration: max(0, min(info.duration, chunk[chunk.count - 1].end) - chunk[0].start), sampleRate: pp.sampleRate)
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
                    progress.update(done: Int((audioDone + min(info.duration, chunk[chunk.count - 1].end)).rounded()), extra: "\(clipsDone) clips")
                }
                var text = ""
                for r in rows { text += CSV.line([file, formatSeconds(r.start), formatSeconds(r.end)] + r.scores.map { String(format: "%.6g", $0) }) }
                let scoresEnd = try handle.offset(), doneEnd = try doneHandle.offset()
                do {
                    try handle.write(contentsOf: Data(text.utf8))
                    try handle.synchronize()
                    try doneHandle.write(contentsOf: Data((file + "\n").utf8))
                    try doneHandle.synchronize()
                } catch {
                    // A failed write (a full disk) may have left part of this file's rows: cut them off
                    // (shrinking needs no space), so the table holds whole recordings only. Stop:
                    // every later file would fail the same way.
                    try? handle.truncate(atOffset: scoresEnd)
                    try? doneHandle.truncate(atOffset: doneEnd)
                    throw ChorusFileError.cannotWrite(path: output, reason: "\(systemReason(error)); the files before \(file) are kept, --resume continues")
                }
                try onFile?(file, rows)
                scored += 1
            } catch let error as ChorusFileError {
                if case .cannotWrite = error { throw error }  // the output, not this input, failed: stop
                failures.append((file, "\(error)"))
            } catch {
                failures.append((file, "\(error)"))
            }
            audioDone += info.duration
        }
        progress.update(done: max(1, Int(totalAudio.rounded(.up))), force: true)
        record.filesScored = scored + done.count
        record.failures = failures.isEmpty ? nil : Dictionary(failures.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        (record.tableSHA256, record.rows) = try seal(of: output)
        try AtomicFile.write(try encoder.encode(record), to: recordPath)
        return PredictionSummary(filesScored: scored, filesSkippedAsDone: done.count, clips: clipsDone, failures: failures, audioSeconds: totalAudio,
                                 seconds: Date().timeIntervalSince(t0), decodeSeconds: tDecode, spectrogramSeconds: tSpec, networkSeconds: tNet)
    }
}

extension Predictor {
    /// The SHA-256 of a finished scores table and its row count (lines after the header), in
    /// one pass over chunks: tables of thousands of hours are not held in memory.
    static func seal(of table: String) throws -> (sha256: String, rows: Int) {
        guard let handle = FileHandle(forReadingAtPath: table) else { throw ChorusFileError.cannotRead(path: table, reason: "file not found or not readable") }
        defer { try? handle.close() }
        var hash = SHA256(), lines = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hash.update(data: chunk)
            lines += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        return (hash.hexDigest(), max(0, lines - 1))
    }
}
