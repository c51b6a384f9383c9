import Audio
import ChorusCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The decoded audio of every clip of a table at the preprocessing's sample rate, for training
/// with augmentation in the audio: each clip is decoded once, kept in memory within a budget, and
/// beyond it spilled to an anonymous file (unlinked at creation, gone when the store is) and read
/// back from there, so the augmentation never decodes a clip twice. Failures are recorded once
/// with the reason and never retried, as in `ClipImageStore`.
public final class ClipAudioStore: @unchecked Sendable {
    public let clips: [LabeledClip]
    public let preprocessing: Preprocessing
    public let workers: Int
    private let lock = NSLock()
    private var memory: [Int: [Float]] = [:]
    private var spilled: [Int: (offset: Int, count: Int)] = [:]
    private var failed: [Int: String] = [:]
    private var memoryFloats = 0
    private let memoryLimitFloats: Int
    private var spillDescriptor: Int32 = -1
    private var spillEnd = 0

    /// Bytes of decoded audio kept in memory before spilling: a quarter of the machine's memory, at most 4 GiB.
    public static var defaultMemoryBudget: Int { Int(min(UInt64(4) << 30, ProcessInfo.processInfo.physicalMemory / 4)) }

    public init(clips: [LabeledClip], preprocessing: Preprocessing, workers: Int, memoryBudgetBytes: Int = ClipAudioStore.defaultMemoryBudget) {
        self.clips = clips
        self.preprocessing = preprocessing
        self.workers = max(1, workers)
        memoryLimitFloats = max(0, memoryBudgetBytes / 4)
    }

    deinit { if spillDescriptor >= 0 { close(spillDescriptor) } }

    /// Samples of clip `i`'s whole row (at least one clip duration), at most what is stored: audio
    /// past the recording's end is not stored (`windows` pads it with zeros). `Int.max` for a row
    /// too long for an Int (such a row fails when read).
    public func sampleCount(_ i: Int) -> Int {
        CheckedCount.exact(max(clips[i].end - clips[i].start, preprocessing.clipDuration) * Double(preprocessing.sampleRate)) ?? .max
    }

    /// Seconds by which a clip is longer than the clip duration (room for a random start).
    public func slack(_ i: Int) -> Double { max(0, clips[i].end - clips[i].start - preprocessing.clipDuration) }

    public var failures: [(index: Int, message: String)] {
        lock.lock(); defer { lock.unlock() }
        return failed.sorted { $0.key < $1.key }.map { ($0.key, "\(clips[$0.key].file) [\(formatSeconds(clips[$0.key].start))-\(formatSeconds(clips[$0.key].end)) s]: \($0.value)") }
    }

    public var failureCount: Int { lock.lock(); defer { lock.unlock() }; return failed.count }

    /// How much of the decoded audio lives in memory and how much in the spill file (bytes).
    public var footprint: (memory: Int, spilled: Int) { lock.lock(); defer { lock.unlock() }; return (memoryFloats * 4, spillEnd) }

    /// One clip-duration window of each clip (nil for failed clips), starting `offsets[k]` seconds
    /// into the row, zero-padded to the clip length. Decodes what is not stored yet on `workers` threads.
    public func windows(_ indices: [Int], offsets: [Double]? = nil) -> [[Float]?] {
        let rows = rowAudio(indices)
        let n = preprocessing.clipSamples, rate = Double(preprocessing.sampleRate)
        return rows.enumerated().map { k, row in
            guard let row else { return nil }
            // Offsets past the stored audio (a long row's slack can be huge) read zeros; compared before converting.
            let first = CheckedCount.exact(max(0, (offsets?[k] ?? 0) * rate), maximum: row.count) ?? row.count
            var w = Array(row[first..<min(row.count, first + n)])
            if w.count < n { w += [Float](repeating: 0, count: n - w.count) }
            return w
        }
    }

    /// The stored audio of whole rows.
    func rowAudio(_ indices: [Int]) -> [[Float]?] {
        var out = [[Float]?](repeating: nil, count: indices.count)
        var todo: [Int] = []
        lock.lock()
        for (k, i) in indices.enumerated() {
            if let m = memory[i] { out[k] = m; continue }
            if let s = spilled[i] {
                if let a = readSpill(s) { out[k] = a; continue }
                spilled[i] = nil  // unreadable spill: decode again
            }
            if failed[i] == nil { todo.append(k) }
        }
        lock.unlock()
        guard !todo.isEmpty else { return out }
        var results = [[Float]?](repeating: nil, count: todo.count)
        var errors = [String?](repeating: nil, count: todo.count)
        results.withUnsafeMutableBufferPointer { rb in
            errors.withUnsafeMutableBufferPointer { eb in
                let parts = min(workers, todo.count)
                concurrentPerform(parts) { p in
                    var j = p
                    while j < todo.count {
                        let i = indices[todo[j]]
                        let clip = clips[i]
                        do {
                            // A row may run past its recording's end by less than a clip (the last clip of
                            // `labels --final-clip extend`); one that runs further would train on silence
                            // (or claims 1e300 s) and is refused before decoding, naming the recording's length.
                            let recording = try AudioFile.info(clip.file).duration
                            guard clip.end <= recording + preprocessing.clipDuration else {
                                throw PipelineError.incompatible("the row ends at \(CheckedCount.formatNumber(clip.end)) s, more than one clip (\(CheckedCount.formatNumber(preprocessing.clipDuration)) s) past the end of the recording (\(String(format: "%.3f", recording)) s)")
                            }
                            // Read up to the row's end (clamped at the recording's end) and not padded: `windows` pads.
                            var samples = try preprocessing.readClip(clip.file, start: clip.start, duration: max(clip.end - clip.start, preprocessing.clipDuration))
                            let want = sampleCount(i)
                            if samples.count > want { samples.removeLast(samples.count - want) }
                            rb[j] = samples
                        } catch { eb[j] = "\(error)" }
                        j += parts
                    }
                }
            }
        }
        lock.lock()
        defer { lock.unlock() }
        for (j, k) in todo.enumerated() {
            let i = indices[k]
            guard memory[i] == nil, spilled[i] == nil else { out[k] = results[j]; continue }
            guard let samples = results[j] else { failed[i] = errors[j] ?? "unknown error"; continue }
            out[k] = samples
            if memoryFloats + samples.count <= memoryLimitFloats {
                memory[i] = samples; memoryFloats += samples.count
            } else if let at = writeSpill(samples) {
                spilled[i] = (at, samples.count)
            }
        }
        return out
    }

    /// Appends to the spill file (created on first use); nil when it cannot be written (then the
    /// clip is decoded again next time: slower, never wrong).
    private func writeSpill(_ samples: [Float]) -> Int? {
        if spillDescriptor < 0 {
            var template = Array((NSTemporaryDirectory() + "/chorus-audio-XXXXXX").utf8CString)
            spillDescriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard spillDescriptor >= 0 else { return nil }
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        }
        let bytes = samples.count * 4
        let written = samples.withUnsafeBytes { pwrite(spillDescriptor, $0.baseAddress, bytes, off_t(spillEnd)) }
        guard written == bytes else { return nil }
        defer { spillEnd += bytes }
        return spillEnd
    }

    private func readSpill(_ s: (offset: Int, count: Int)) -> [Float]? {
        var out = [Float](repeating: 0, count: s.count)
        let bytes = s.count * 4
        let read = out.withUnsafeMutableBytes { pread(spillDescriptor, $0.baseAddress, bytes, off_t(s.offset)) }
        return read == bytes ? out : nil
    }
}
