import Annotations
import ChorusCore
import Foundation

/// One labeled clip with its audio path resolved.
public struct LabeledClip: Sendable {
    public var file: String
    public var start: Double
    public var end: Double
    public var labels: [Float]
    public init(file: String, start: Double, end: Double, labels: [Float]) {
        self.file = file; self.start = start; self.end = end; self.labels = labels
    }
}

extension ClipLabelTable {
    /// The rows as clips with audio paths resolved (relative paths: current directory, then beside the table).
    public func labeledClips() -> [LabeledClip] {
        rows.map { LabeledClip(file: resolvedPath($0.file) ?? $0.file, start: $0.start, end: $0.end, labels: $0.labels) }
    }
}

/// Makes (and, within a memory budget, caches) the preprocessed image of every clip of a table.
/// Clips whose audio is missing or corrupt are recorded once with the reason, skipped, and never
/// retried in later epochs.
public final class ClipImageStore: @unchecked Sendable {
    public let clips: [LabeledClip]
    public let preprocessing: Preprocessing
    private var cache: [Int: [Float]] = [:]
    private var failed: [Int: String] = [:]
    private let lock = NSLock()
    private let cacheLimit: Int
    private var cachedFloats = 0
    /// Worker threads used to decode and build spectrograms.
    public let workers: Int

    public init(clips: [LabeledClip], preprocessing: Preprocessing, workers: Int, cacheLimitBytes: Int = 6 << 30) {
        self.clips = clips
        self.preprocessing = preprocessing
        self.workers = max(1, workers)
        cacheLimit = cacheLimitBytes / 4
    }

    /// Failures so far: (index, "path [start-end s]: reason").
    public var failures: [(index: Int, message: String)] {
        lock.lock(); defer { lock.unlock() }
        return failed.sorted { $0.key < $1.key }.map { ($0.key, "\(clips[$0.key].file) [\(formatSeconds(clips[$0.key].start))-\(formatSeconds(clips[$0.key].end)) s]: \($0.value)") }
    }

    public var failureCount: Int { lock.lock(); defer { lock.unlock() }; return failed.count }

    public func isFailed(_ i: Int) -> Bool { lock.lock(); defer { lock.unlock() }; return failed[i] != nil }

    /// Seconds by which a clip is longer than the preprocessing's clip duration (room for a random start).
    public func slack(_ i: Int) -> Double { max(0, clips[i].end - clips[i].start - preprocessing.clipDuration) }

    /// Images for `indices` (nil for failed clips), computed in parallel on `workers` threads.
    /// `offsets[k]` (seconds) starts clip k later than its start: random trimming of clips longer
    /// than the clip duration; such images are not cached.
    public func images(_ indices: [Int], offsets: [Double]? = nil) -> [[Float]?] {
        var out = [[Float]?](repeating: nil, count: indices.count)
        var todo: [Int] = []
        lock.lock()
        for (k, i) in indices.enumerated() {
            let shifted = (offsets?[k] ?? 0) > 0
            if !shifted, let img = cache[i] { out[k] = img } else if failed[i] == nil { todo.append(k) }
        }
        lock.unlock()
        if !todo.isEmpty {
            let results = UnsafeMutableBufferPointer<[Float]?>.allocate(capacity: todo.count)
            results.initialize(repeating: nil)
            defer { results.deallocate() }
            let errors = UnsafeMutableBufferPointer<String?>.allocate(capacity: todo.count)
            errors.initialize(repeating: nil)
            defer { errors.deallocate() }
            let parts = min(workers, todo.count)
            concurrentPerform(parts) { p in
                var j = p
                while j < todo.count {
                    let clip = clips[indices[todo[j]]]
                    let start = clip.start + (offsets?[todo[j]] ?? 0)
                    do { results[j] = try preprocessing.image(file: clip.file, start: start) } catch { errors[j] = "\(error)" }
                    j += parts
                }
            }
            lock.lock()
            for (j, k) in todo.enumerated() {
                let i = indices[k]
                if let img = results[j] {
                    out[k] = img
                    if (offsets?[k] ?? 0) == 0, cachedFloats + img.count <= cacheLimit { cache[i] = img; cachedFloats += img.count }
                } else {
                    failed[i] = errors[j] ?? "unknown error"
                }
            }
            lock.unlock()
        }
        return out
    }

    /// Builds every image ahead of time (with progress), e.g. for the validation set.
    public func prepareAll(label: String, progress: Bool = true) {
        let reporter = ProgressReporter(label: label, total: clips.count, unit: "clips")
        reporter.quiet = !progress
        let chunk = max(workers * 8, 64)
        var i = 0
        while i < clips.count {
            let idx = Array(i..<min(i + chunk, clips.count))
            _ = images(idx)
            i += chunk
            reporter.update(done: min(i, clips.count))
        }
    }
}
