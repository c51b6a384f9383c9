import Annotations
import Audio
import Foundation

/// One clip's RIBBIT score.
public struct RibbitClipScore: Sendable, Equatable {
    /// Clip start and end in seconds from the start of the recording.
    public var start: Double
    public var end: Double
    /// Maximum Welch PSD of the clip's amplitude series strictly inside the pulse-rate range.
    public var score: Double

    public init(start: Double, end: Double, score: Double) {
        self.start = start
        self.end = end
        self.score = score
    }
}

/// RIBBIT scores of one recording, with what a plot needs.
public struct RibbitResult: Sendable {
    /// Net band amplitude per spectrogram frame.
    public var amplitude: AmplitudeSeries
    /// Scores of the clips in time order.
    public var clips: [RibbitClipScore]
    /// Index into `clips` of the highest score (nil when there are no clips).
    public var bestClipIndex: Int?
    /// PSD frequencies (pulses per second) and the PSD of the best clip (empty without clips).
    public var bestClipFrequencies: [Double]
    public var bestClipPSD: [Double]
}

/// RIBBIT (Repeat-Interval Based Bioacoustic Identification Tool), as OpenSoundscape 0.13 defines it:
///
/// 1. Spectrogram of the audio at its native rate (periodic Hann, `windowSamples`, `overlapSamples`,
///    FFT = window, per-frame mean removed), linear power.
/// 2. Per frame the net band amplitude (see `AmplitudeSeries` / OpenSoundscape's `net_amplitude`):
///    `sqrt(2 Σ_band P / N) / width(signal) − Σ_i sqrt(2 Σ_noise_i P / N) / Σ_i width(noise_i)`,
///    clamped at 0 when noise bands are given; `P = |X|²/N`.
///    Before that, power is limited to [-100, -20] dB (`decibelRange`), as in the reference.
/// 3. The series is sampled at `rate = sampleRate / hop`. Clips from `ClipSchedule` over the
///    spectrogram's duration (0 to the end of the last whole frame) (start 0, step
///    clip duration − overlap, final clip `remainder` by default). A clip takes the frames whose
///    centres lie in `[start, end)`, at most `n = Int(clipDuration · rate)` of them, zero-padded
///    to `n`.
/// 4. Welch PSD of the clip (`WelchEstimator`: Hann, segment `min(256, n)`, overlap half,
///    constant detrend, FFT 1024, density scaling, fs = rate); score = its maximum over
///    frequencies strictly between the pulse-rate limits, 0 if no bin lies there.
///
/// Scores are on OpenSoundscape 0.13's scale (the spectrogram power is rescaled to `|X|²/N`).
public enum Ribbit {
    /// Scores an audio file, streaming it block by block (see `AmplitudeSeries.compute(file:)`).
    /// - Parameter threads: spectrogram threads (nil: all cores on long audio).
    public static func scores(file path: String, parameters: RibbitParameters, threads: Int? = nil) throws -> RibbitResult {
        let series = try AmplitudeSeries.compute(file: path, parameters: parameters, threads: threads)
        return try scores(series: series, parameters: parameters)
    }

    /// Scores in-memory audio.
    public static func scores(audio: AudioSamples, parameters: RibbitParameters, threads: Int? = nil) throws -> RibbitResult {
        let series = try AmplitudeSeries.compute(audio, parameters: parameters, threads: threads)
        return try scores(series: series, parameters: parameters)
    }

    /// Scores the clips of an amplitude series (steps 3 and 4).
    public static func scores(series: AmplitudeSeries, parameters: RibbitParameters) throws -> RibbitResult {
        try parameters.validate(sampleRate: series.sampleRate)
        let windows: [ClipWindow]
        do {
            windows = try ClipSchedule.clips(duration: series.duration, clipDuration: parameters.clipDuration,
                                             overlap: parameters.clipOverlap, finalClip: parameters.finalClip)
        } catch let error as AnnotationsError {
            throw SignalProcessingError.invalidParameter(name: "clips", reason: error.description)
        }
        let n = parameters.clipSamples(sampleRate: series.sampleRate)
        let estimator = try WelchEstimator(segment: parameters.welchSegment(clipSamples: n), fftSize: parameters.welchFFTSize)
        let frequencies = estimator.frequencies(sampleRate: series.rate)
        let inRange = frequencies.indices.filter { frequencies[$0] > parameters.pulseRateRange.low && frequencies[$0] < parameters.pulseRateRange.high }

        var clip = [Float](repeating: 0, count: n)
        func psd(of window: ClipWindow) throws -> [Double] {
            let first = series.firstFrame(atOrAfter: window.start)
            let end = min(series.firstFrame(atOrAfter: window.end), first + n)
            for i in 0..<n { clip[i] = first + i < end ? series.values[first + i] : 0 }
            return try estimator.psd(clip, sampleRate: series.rate)
        }
        var clips: [RibbitClipScore] = []
        clips.reserveCapacity(windows.count)
        var best: Int?, bestScore = -Double.infinity
        for window in windows {
            let spectrum = try psd(of: window)
            let score = inRange.reduce(0.0) { max($0, spectrum[$1]) }
            if score > bestScore { best = clips.count; bestScore = score }
            clips.append(RibbitClipScore(start: window.start, end: window.end, score: score))
        }
        var bestPSD: [Double] = []
        if let best { bestPSD = try psd(of: windows[best]) }
        return RibbitResult(amplitude: series, clips: clips, bestClipIndex: best,
                            bestClipFrequencies: best == nil ? [] : frequencies, bestClipPSD: bestPSD)
    }
}

extension RibbitParameters {
    /// The Great Plains toad example of the reference: signal 1900–2400 Hz, pulse rates 8–20 Hz,
    /// noise bands 0–1500 and 2500–3500 Hz, 2 s clips.
    public static let greatPlainsToad = RibbitParameters(
        signalBand: FrequencyBand(1900, 2400), pulseRateRange: FrequencyBand(8, 20),
        noiseBands: [FrequencyBand(0, 1500), FrequencyBand(2500, 3500)], clipDuration: 2)
}
