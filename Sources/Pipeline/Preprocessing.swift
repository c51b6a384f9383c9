import Audio
import ChorusCore
import Foundation

/// How a clip of audio becomes the network's input, saved inside every model so prediction and
/// validation see exactly what training saw (without augmentation).
public struct Preprocessing: Codable, Sendable, Equatable {
    /// Audio is resampled to this rate before the spectrogram.
    public var sampleRate: Int = 32000
    /// Clip length in seconds; shorter audio is zero-padded at the end, longer is trimmed.
    public var clipDuration: Double = 3.0
    public var spectrogram = SpectrogramParameters()
    /// dB range, frequency band (spectrogram rows kept), and image size.
    public var image = ImageParameters()
    /// Optional Butterworth bandpass of the audio (Hz) before the spectrogram.
    public var audioBandpass: [Double]? = nil
    public var channels = 1

    public init() {}

    /// Samples of one clip; valid (never traps) once `validate()` has passed.
    public var clipSamples: Int { Int((clipDuration * Double(sampleRate)).rounded()) }

    /// The most samples one clip may have (256 MiB of Float32: 35 min at 32 kHz); every batch
    /// holds a few of them per row, so larger clips are a mistake, refused before anything is
    /// allocated.
    public static let maximumClipSamples = 1 << 26

    public func validate() throws {
        guard sampleRate > 0, sampleRate <= Resampler.maximumSampleRate else {
            throw PipelineError.invalidParameter("--sample-rate must be between 1 and \(Resampler.maximumSampleRate) Hz, got \(sampleRate)")
        }
        guard clipDuration.isFinite, clipDuration > 0 else {
            throw PipelineError.invalidParameter("--clip-duration must be a positive number of seconds, got \(clipDuration)")
        }
        _ = try CheckedCount.of(seconds: clipDuration, perSecond: Double(sampleRate), maximum: Self.maximumClipSamples) {
            PipelineError.invalidParameter("--clip-duration is too long: \($0)")
        }
        try spectrogram.validate()
        try image.validate()
        guard clipSamples >= spectrogram.windowSamples else {
            throw PipelineError.invalidParameter("clip of \(clipDuration) s at \(sampleRate) Hz is shorter than one spectrogram window (\(spectrogram.windowSamples) samples)")
        }
        if let max = image.maxFrequency, max > Double(sampleRate) / 2 {
            throw PipelineError.invalidParameter("maximum frequency \(max) Hz is above the Nyquist frequency \(sampleRate / 2) Hz")
        }
        if let b = audioBandpass {
            guard b.count == 2, b[0] < b[1] else { throw PipelineError.invalidParameter("audio bandpass needs LOW < HIGH, got \(b)") }
            _ = try ButterworthFilter(.bandpass(b[0], b[1]), sampleRate: sampleRate)
        }
    }

    /// Reads `duration` seconds (default: the clip duration) of `path` from `start`, resampled.
    public func readClip(_ path: String, start: Double, duration: Double? = nil) throws -> [Float] {
        let audio = try AudioFile.read(path, offset: start, duration: duration ?? clipDuration, sampleRate: sampleRate)
        return audio.samples
    }

    /// The image [H*W] in [-1, 1] of clip samples (padded or trimmed to the clip length).
    public func image(samples: [Float]) throws -> [Float] {
        var x = samples
        let n = clipSamples
        if x.count < n { x += [Float](repeating: 0, count: n - x.count) } else if x.count > n { x.removeLast(x.count - n) }
        if let b = audioBandpass { x = try ButterworthFilter(.bandpass(b[0], b[1]), sampleRate: sampleRate).applyZeroPhase(x) }
        let spec = try Spectrogram.compute(AudioSamples(samples: x, sampleRate: sampleRate), parameters: spectrogram, threads: 1)
        return try spec.image(image)
    }

    /// The image of a clip of a file.
    public func image(file: String, start: Double) throws -> [Float] {
        try image(samples: readClip(file, start: start))
    }

    public var imageShape: [Int] { [channels, image.height, image.width] }
    public var imageCount: Int { image.height * image.width }
}

public enum PipelineError: Error, CustomStringConvertible {
    case invalidParameter(String)
    case tooManyFailures(failed: Int, total: Int, set: String, examples: [String])
    case nonFiniteLoss(epoch: Int, batches: ClosedRange<Int>, checkpoint: String?)
    case diverged(epoch: Int, what: String, checkpoint: String?)
    case noData(String)
    case incompatible(String)

    public var description: String {
        switch self {
        case let .invalidParameter(s): return s
        case let .tooManyFailures(failed, total, set, examples):
            return "\(failed) of \(total) \(set) clips could not be read (more than 10%); stopping. First failures:\n" + examples.map { "  " + $0 }.joined(separator: "\n")
        case let .nonFiniteLoss(epoch, batches, checkpoint):
            return "loss became NaN or infinite at epoch \(epoch), " + (batches.count == 1 ? "batch \(batches.lowerBound)" : "batches \(batches.lowerBound)–\(batches.upperBound)") + "; stopped. " +
                (checkpoint.map { "The last good checkpoint is kept: \($0)" } ?? "No checkpoint was written yet.") + " Try a lower --learning-rate."
        case let .diverged(epoch, what, checkpoint):
            return "training diverged in epoch \(epoch): \(what) is NaN or infinite; stopped without saving it. " +
                (checkpoint.map { "The models and checkpoint of the last good epoch are kept (\($0))." } ?? "No epoch finished well, so no model was saved.") + " Start a new run with a lower --learning-rate."
        case let .noData(s): return s
        case let .incompatible(s): return s
        }
    }
}

import Tensor

extension Preprocessing {
    /// The same preprocessing as settings of the OpenCL STFT-to-tensor kernels, or nil when the
    /// audio needs a Butterworth bandpass first (done on the CPU).
    public func deviceSpectrogramSettings() throws -> SpectrogramImageSettings? {
        guard audioBandpass == nil else { return nil }
        let fft = spectrogram.transformSize
        var s = SpectrogramImageSettings(sampleRate: sampleRate, windowSamples: spectrogram.windowSamples, hopSamples: spectrogram.hopSamples,
                                         fftSize: fft, window: spectrogram.window.coefficients(spectrogram.windowSamples),
                                         removeMean: spectrogram.removeMean, dBLow: Float(image.dBRange.lowerBound), dBHigh: Float(image.dBRange.upperBound),
                                         height: image.height, width: image.width)
        if image.minFrequency != nil || image.maxFrequency != nil {
            let rows = try SpectrogramImageSettings.nearestRows(minFrequency: image.minFrequency ?? 0, maxFrequency: image.maxFrequency ?? Double(sampleRate) / 2,
                                                                sampleRate: sampleRate, fftSize: fft)
            s.rowLo = rows.rowLo; s.rowHi = rows.rowHi
        }
        return s
    }

    /// Images [n, 1, H, W] of waveforms [n, clip samples] on their device: the STFT-to-image
    /// kernels on OpenCL devices, FFTW on the CPU fallback (and when a Butterworth bandpass is set).
    public func images(waveforms: Tensor, workers: Int) throws -> Tensor {
        guard waveforms.rank == 2, waveforms.shape[1] == clipSamples else {
            throw PipelineError.invalidParameter("waveforms must be [clips, \(clipSamples)], got \(waveforms.shape)")
        }
        if waveforms.device.isOpenCL, let settings = try deviceSpectrogramSettings() {
            return try Ops.spectrogramImages(clips: waveforms, parameters: settings)
        }
        let flat = try waveforms.toArray(), len = clipSamples
        let clips = (0..<waveforms.shape[0]).map { Array(flat[($0 * len)..<(($0 + 1) * len)]) }
        return try images(clips: clips, on: waveforms.device, workers: workers)
    }

    /// Images [n, 1, H, W] of clips (each padded or trimmed to the clip length) on `device`: the
    /// OpenCL kernels on OpenCL devices, FFTW on the CPU fallback; the two agree within 1e-3.
    public func images(clips: [[Float]], on device: Device, workers: Int) throws -> Tensor {
        let n = clips.count, len = clipSamples
        if device.isOpenCL, let settings = try deviceSpectrogramSettings() {
            var flat = [Float](repeating: 0, count: n * len)
            for (k, c) in clips.enumerated() { let m = min(len, c.count); flat.replaceSubrange((k * len)..<(k * len + m), with: c[0..<m]) }
            return try Ops.spectrogramImages(clips: Tensor(flat, shape: [n, len], on: device), parameters: settings)
        }
        var images = [[Float]](repeating: [], count: n)
        var errors = [String?](repeating: nil, count: n)
        images.withUnsafeMutableBufferPointer { ib in
            errors.withUnsafeMutableBufferPointer { eb in
                let parts = max(1, min(workers, n))
                concurrentPerform(parts) { p in
                    var j = p
                    while j < n {
                        do { ib[j] = try image(samples: clips[j]) } catch { eb[j] = "\(error)" }
                        j += parts
                    }
                }
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw PipelineError.noData(e) }
        return try Tensor(images.flatMap { $0 }, shape: [n, channels, image.height, image.width], on: device)
    }
}
