import Foundation

/// Reads a long file in blocks of mono samples so that it never sits in memory whole.
///
/// ```swift
/// let reader = try AudioStreamReader(path: path, blockFrames: 1 << 20)
/// while let block = try reader.next() { ... }
/// ```
/// Every block has `blockFrames` samples except the last. With `sampleRate`, blocks are resampled
/// continuously (no seams between blocks) and counted at the new rate.
public final class AudioStreamReader {
    /// The file's header facts (native rate and frames, not resampled).
    public let info: AudioInfo
    /// Sample rate of the blocks returned by `next()`.
    public let outputSampleRate: Int
    private let file: SoundFile
    private let blockFrames: Int
    private let resampler: StreamingResampler?
    private var pending: [Float] = []
    private var pendingStart = 0
    private var endOfFile = false
    private var flushed = false
    private var readBuffer: [Float] = []

    public init(path: String, blockFrames: Int, sampleRate: Int? = nil) throws {
        guard blockFrames > 0 else { throw AudioError.invalidParameter(name: "blockFrames", reason: "\(blockFrames) must be positive") }
        file = try SoundFile(path: path)
        info = file.info
        self.blockFrames = blockFrames
        if let sampleRate, sampleRate != info.sampleRate {
            resampler = try StreamingResampler(from: info.sampleRate, to: sampleRate)
            outputSampleRate = sampleRate
        } else {
            resampler = nil
            outputSampleRate = info.sampleRate
        }
    }

    /// The next block of mono samples, or nil when the file is exhausted.
    public func next() throws -> [Float]? {
        guard let resampler else { return try readBlock(blockFrames) }
        while pending.count - pendingStart < blockFrames && !flushed {
            if let block = try readBlock(max(blockFrames, 65_536)) {
                compactPending()
                pending.append(contentsOf: try resampler.process(block))
            } else {
                compactPending()
                pending.append(contentsOf: try resampler.finish())
                flushed = true
            }
        }
        let available = pending.count - pendingStart
        guard available > 0 else { return nil }
        let n = min(blockFrames, available)
        let block = Array(pending[pendingStart..<(pendingStart + n)])
        pendingStart += n
        return block
    }

    private func compactPending() {
        if pendingStart > 0 {
            pending.removeFirst(pendingStart)
            pendingStart = 0
        }
    }

    private func readBlock(_ frames: Int) throws -> [Float]? {
        guard !endOfFile else { return nil }
        if readBuffer.count != frames { readBuffer = [Float](repeating: 0, count: frames) }
        let got = try file.readMono(into: &readBuffer, at: 0, count: frames)
        if got < frames { endOfFile = true }
        if got == 0 { return nil }
        return got == frames ? readBuffer : Array(readBuffer[0..<got])
    }
}
