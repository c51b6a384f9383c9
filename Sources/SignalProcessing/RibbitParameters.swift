import Annotations
import Audio
import ChorusCore
import Foundation

/// Everything RIBBIT needs to score a recording. Defaults follow OpenSoundscape 0.13's `ribbit`
/// (2 s clips, no overlap, final clip `remainder`, spectrogram Hann 512 / overlap 256, Welch
/// segment min(256, n), FFT size 1024).
public struct RibbitParameters: Sendable, Equatable, Codable {
    /// Band (Hz) where the target's pulses are.
    public var signalBand: FrequencyBand
    /// Pulse rates (pulses per second) to look for; the score uses PSD bins strictly inside it.
    public var pulseRateRange: FrequencyBand
    /// Bands (Hz) whose amplitude is subtracted from the signal band's (may be empty).
    public var noiseBands: [FrequencyBand]
    /// Clip length in seconds.
    public var clipDuration: Double
    /// Overlap of consecutive clips in seconds.
    public var clipOverlap: Double
    /// Partial last clip handling (`remainder`: shortened clip, zero-padded before the PSD).
    public var finalClip: FinalClip
    /// Spectrogram frame length in samples.
    public var windowSamples: Int
    /// Samples shared by consecutive spectrogram frames.
    public var overlapSamples: Int
    /// Welch segment length in amplitude samples; nil means `min(256, n)` with `n` the clip's
    /// padded length (the reference's behaviour). An explicit value longer than a clip is an error.
    public var welchSegmentSamples: Int?
    /// FFT length of the Welch PSD (zero padding of each segment).
    public var welchFFTSize: Int
    /// Spectrogram power (`|X|²/N`, in dB) is limited to this range before band amplitudes are
    /// taken, as the reference does; nil leaves it unlimited.
    public var decibelRange: ClosedRange<Double>?

    public init(signalBand: FrequencyBand, pulseRateRange: FrequencyBand, noiseBands: [FrequencyBand] = [],
                clipDuration: Double = 2, clipOverlap: Double = 0, finalClip: FinalClip = .remainder,
                windowSamples: Int = 512, overlapSamples: Int = 256, welchSegmentSamples: Int? = nil, welchFFTSize: Int = 1024,
                decibelRange: ClosedRange<Double>? = -100 ... -20) {
        self.signalBand = signalBand
        self.pulseRateRange = pulseRateRange
        self.noiseBands = noiseBands
        self.clipDuration = clipDuration
        self.clipOverlap = clipOverlap
        self.finalClip = finalClip
        self.windowSamples = windowSamples
        self.overlapSamples = overlapSamples
        self.welchSegmentSamples = welchSegmentSamples
        self.welchFFTSize = welchFFTSize
        self.decibelRange = decibelRange
    }

    /// The spectrogram RIBBIT reads: linear power, Hann, per-frame mean removed, FFT = window.
    public var spectrogramParameters: SpectrogramParameters {
        SpectrogramParameters(windowSamples: windowSamples, overlapSamples: overlapSamples, decibels: false)
    }

    /// Amplitude-series samples per second: `sampleRate / hop`.
    public func amplitudeRate(sampleRate: Int) -> Double {
        Double(sampleRate) / Double(windowSamples - overlapSamples)
    }

    /// Amplitude samples per clip after zero padding: `Int(clipDuration · rate)` (`Int.max` when
    /// not a count at all; `validate(sampleRate:)` refuses more than `maximumClipSamples`).
    public func clipSamples(sampleRate: Int) -> Int {
        CheckedCount.exact(clipDuration * amplitudeRate(sampleRate: sampleRate), rounding: .towardZero) ?? .max
    }

    /// The most amplitude samples one clip may have (64 MiB of Float32; 6.2 days at the default
    /// 31.25 frames/s): each clip is zero-padded to this length in memory before its PSD.
    public static let maximumClipSamples = 1 << 24

    /// Checks the parameters that do not depend on the audio.
    public func validate() throws {
        do { try spectrogramParameters.validate() } catch let error as AudioError {
            throw SignalProcessingError.invalidParameter(name: "window/overlap samples", reason: error.description)
        }
        try signalBand.validate("signal band")
        for band in noiseBands { try band.validate("noise band") }
        try pulseRateRange.validate("pulse-rate range")
        guard clipDuration.isFinite, clipDuration > 0, clipDuration <= ClipSchedule.maximumClipDuration else {
            throw SignalProcessingError.invalidParameter(name: "clip duration (--clip-duration)",
                reason: "\(clipDuration) s must be > 0 and at most \(CheckedCount.formatNumber(ClipSchedule.maximumClipDuration)) s (a day)")
        }
        guard clipOverlap.isFinite, clipOverlap >= 0, clipOverlap < clipDuration else {
            throw SignalProcessingError.invalidParameter(name: "clip overlap (--clip-overlap)", reason: "\(clipOverlap) s must be ≥ 0 and below the clip duration (\(clipDuration) s)")
        }
        if let segment = welchSegmentSamples, segment < 2 {
            throw SignalProcessingError.invalidParameter(name: "Welch segment", reason: "\(segment) samples; it must be at least 2")
        }
        if let range = decibelRange, !(range.lowerBound.isFinite && range.upperBound.isFinite && range.lowerBound < range.upperBound) {
            throw SignalProcessingError.invalidParameter(name: "decibel range", reason: "\(range.lowerBound)...\(range.upperBound) dB must be finite with low < high")
        }
        guard (2...(1 << 20)).contains(welchFFTSize) else {
            throw SignalProcessingError.invalidParameter(name: "Welch FFT size", reason: "\(welchFFTSize) must be in 2...\(1 << 20)")
        }
    }

    /// Checks the parameters against a recording's sample rate: bands at or below Nyquist, pulse
    /// rates below the amplitude series' Nyquist, clips at least one Welch segment long.
    public func validate(sampleRate: Int) throws {
        try validate()
        guard sampleRate > 0 else {
            throw SignalProcessingError.invalidParameter(name: "sample rate", reason: "\(sampleRate) Hz must be positive")
        }
        let nyquist = Double(sampleRate) / 2
        try signalBand.validate("signal band", limit: nyquist, limitName: "the Nyquist frequency at \(sampleRate) Hz")
        for band in noiseBands { try band.validate("noise band", limit: nyquist, limitName: "the Nyquist frequency at \(sampleRate) Hz") }
        let rate = amplitudeRate(sampleRate: sampleRate)
        try pulseRateRange.validate("pulse-rate range", limit: rate / 2,
                                    limitName: "the amplitude series' Nyquist frequency (half of \(String(format: "%.3f", rate)) frames/s)")
        // Counted before anything is allocated: each clip is padded to n samples in memory.
        let n = try CheckedCount.of(seconds: clipDuration, perSecond: rate, unit: "amplitude samples", rateUnit: "frames/s", rounding: .towardZero,
                                    minimum: 2, maximum: Self.maximumClipSamples) {
            SignalProcessingError.invalidParameter(name: "clip duration (--clip-duration)", reason: $0)
        }
        if let segment = welchSegmentSamples, segment > n {
            throw SignalProcessingError.invalidParameter(name: "clip duration", reason: "\(clipDuration) s holds \(n) amplitude samples, fewer than the Welch segment of \(segment) samples; use longer clips or a shorter segment")
        }
        if welchFFTSize < welchSegment(clipSamples: n) {
            throw SignalProcessingError.invalidParameter(name: "Welch FFT size", reason: "\(welchFFTSize) is shorter than the Welch segment (\(welchSegment(clipSamples: n)) samples)")
        }
    }

    /// The Welch segment used for clips of `n` padded samples.
    public func welchSegment(clipSamples n: Int) -> Int { welchSegmentSamples ?? min(256, n) }
}
