import ChorusCore
import Foundation

/// A host batch ready for upload: images [count, H*W], labels [count, classes], the augmentation
/// plan per sample, and the dataset indices it holds.
struct HostBatch {
    var indices: [Int]
    /// Where this process's rows start in the global batch (0 when training alone): device-side
    /// random draws are counted by global row, so they do not depend on how many processes share it.
    var firstRow = 0
    var images: [Float]
    var labels: [Float]
    var augmentations: [SampleAugmentation]
    /// Audio pipeline: clip windows [count, samples], the combined overlay waveforms (zeros where
    /// none) and the `augment_waveform` parameters [count, waveformAugmentParameterCount].
    var waveforms: [Float] = []
    var overlayWaveforms: [Float] = []
    var waveformParameters: [Float] = []
}

/// Builds batches on a background thread ahead of the device (bounded queue), so decoding and
/// spectrograms overlap with training. `waitSeconds` accumulates how long the consumer waited.
/// Its state (`ready`, `next`, `cancelled`) is only touched under `condition`; `waitSeconds` only
/// by the consumer.
final class BatchPrefetcher: @unchecked Sendable {
    private let queue = DispatchQueue(label: "chorus.prefetch")
    private let condition = NSCondition()
    private var ready: [Int: Result<HostBatch?, Error>] = [:]
    private var next = 0
    private let depth: Int
    private var cancelled = false
    private(set) var waitSeconds: Double = 0

    /// `make(b)` builds batch b (nil = empty batch, e.g. every clip failed).
    init(batchCount: Int, depth: Int = 2, make: @escaping (Int) throws -> HostBatch?) {
        self.depth = depth
        // `make` runs on the prefetch thread only; the stores it reads are safe to read while the
        // trainer uses them (their caches are locked).
        let make = UncheckedSendable(make)
        queue.async { [self] in
            for b in 0..<batchCount {
                condition.lock()
                while ready.count >= depth && !cancelled { condition.wait() }
                let stop = cancelled
                condition.unlock()
                if stop { return }
                let r: Result<HostBatch?, Error>
                do { r = .success(try make.value(b)) } catch { r = .failure(error) }
                condition.lock()
                ready[b] = r
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    /// The next batch in order (blocking until built).
    func take() throws -> HostBatch? {
        let t0 = DispatchTime.now().uptimeNanoseconds
        condition.lock()
        while ready[next] == nil { condition.wait() }
        let r = ready.removeValue(forKey: next)!
        next += 1
        condition.broadcast()
        condition.unlock()
        waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return try r.get()
    }

    func cancel() {
        condition.lock(); cancelled = true; condition.broadcast(); condition.unlock()
    }

    deinit { cancel() }
}
