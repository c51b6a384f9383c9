import Audio
import ChorusCore
import Foundation

/// Parameters of the accelerating-pulse (Ruffed Grouse drumming) detector; defaults are the
/// reference's (`detect_peak_sequence_cwt`).
public struct GrouseParameters: Sendable, Equatable, Codable {
    /// Audio is resampled to this rate (Hz) first.
    public var sampleRate = 400
    /// Analysis window length (s); each window is normalised on its own.
    public var windowDuration = 60.0
    /// Analyse a partial last window too (the reference drops it). A recording shorter than one
    /// window is always analysed whole.
    public var keepPartialFinalWindow = false
    /// Centre frequency (Hz) of the Morlet wavelet.
    public var centerFrequency = 50.0
    /// Minimum height of a peak in the normalised envelope (0–1).
    public var peakThreshold = 0.2
    /// Minimum time between peaks (s); `round(separation · sampleRate)` samples.
    public var peakSeparation = 15.0 / 400
    /// Sequence criteria.
    public var sequences = AcceleratingSequenceFinder()

    public init() {}

    /// The most samples one analysis window may have (2^24: 11.6 hours at 400 Hz); a window is
    /// read and transformed whole, several arrays of its length at once.
    public static let maximumWindowSamples = 1 << 24

    public func validate() throws {
        guard sampleRate > 0, sampleRate <= Resampler.maximumSampleRate else {
            throw SignalProcessingError.invalidParameter(name: "sample rate (--sample-rate)", reason: "\(sampleRate) Hz must be between 1 and \(Resampler.maximumSampleRate) Hz")
        }
        // Counted before anything is allocated (the reader's block is a whole window).
        let windowSamples = try CheckedCount.of(seconds: windowDuration, perSecond: Double(sampleRate), rounding: .towardZero,
                                                minimum: 4, maximum: Self.maximumWindowSamples) {
            SignalProcessingError.invalidParameter(name: "window duration (--window-duration)", reason: $0)
        }
        guard centerFrequency.isFinite, centerFrequency > 0, 2 * centerFrequency <= Double(sampleRate) else {
            throw SignalProcessingError.invalidParameter(name: "center frequency", reason: "\(centerFrequency) Hz must be > 0 and at most half the sample rate (\(sampleRate) Hz)")
        }
        guard peakThreshold.isFinite else { throw SignalProcessingError.invalidParameter(name: "peak threshold", reason: "\(peakThreshold) must be finite") }
        // At most a window: peaks further apart than that could never be in one window.
        _ = try CheckedCount.of(seconds: peakSeparation, perSecond: Double(sampleRate), rounding: .toNearestOrEven, maximum: windowSamples) {
            SignalProcessingError.invalidParameter(name: "peak separation (--peak-separation)", reason: $0 + "; peaks cannot be further apart than the analysis window (--window-duration)")
        }
        for (name, range) in [("dt range", sequences.dtRange), ("dy range", sequences.dyRange), ("d2y range", sequences.d2yRange),
                              ("duration range", sequences.durationRange), ("points range", sequences.pointsRange)] {
            guard range.low.isFinite, range.high.isFinite, range.low <= range.high else {
                throw SignalProcessingError.invalidParameter(name: name, reason: "\(range.low)...\(range.high) must be finite with low ≤ high")
            }
        }
        guard sequences.maxSkip >= 0 else { throw SignalProcessingError.invalidParameter(name: "max skip", reason: "\(sequences.maxSkip) must be ≥ 0") }
    }

    /// Valid (never traps) once `validate()` has passed.
    var windowSamples: Int { Int(windowDuration * Double(sampleRate)) }
}

/// One detected drumming sequence.
public struct GrouseSequence: Sendable, Equatable {
    /// Beat times (s from the start of the recording): the first beat, then every accepted point.
    public var beatTimes: [Double]
    /// The accepted points' intervals to their next peak (s): shrinking for drumming.
    public var intervals: [Double]
    /// Start of the analysis window it was found in (s).
    public var windowStart: Double
    /// First beat (s).
    public var start: Double { beatTimes.first ?? 0 }
    /// Last accepted point (s).
    public var end: Double { beatTimes.last ?? 0 }
    public var midpoint: Double { (start + end) / 2 }
    /// Number of beats (`beatTimes.count`, one more than the reference's `seq_len`).
    public var beats: Int { beatTimes.count }
}

/// The reference's accelerating-pulse detector (`detect_peak_sequence_cwt`), for Ruffed Grouse
/// drumming:
///
/// 1. Resample to `sampleRate` (400 Hz; libsoxr, high quality).
/// 2. Cut into windows of `windowDuration` (60 s) from 0; a partial last window is dropped unless
///    `keepPartialFinalWindow`; a recording shorter than one window is analysed whole (the
///    reference would analyse nothing).
/// 3. Per window: Morlet transform at the scale for `centerFrequency` (`MorletTransform`),
///    divided by its maximum, squared, Hilbert envelope (`HilbertEnvelope`), divided by its
///    maximum (a window with no positive maximum has no peaks).
/// 4. Peaks with height ≥ `peakThreshold`, at least `round(peakSeparation · sampleRate)` samples
///    apart (`PeakFinder`); peak `i`'s time is `i / sampleRate` (the reference uses
///    `linspace(0, duration, n)`, later by up to one sample at the window's end).
/// 5. Accelerating sequences of those times (`AcceleratingSequenceFinder`). Beat times add the
///    sequence's first beat (the peak its first interval starts from), which the reference omits.
public enum GrouseDetector {
    /// Detects drumming in an audio file, reading it resampled in windows (never whole).
    public static func detect(file path: String, parameters: GrouseParameters = .init()) throws -> [GrouseSequence] {
        try parameters.validate()
        let windowSamples = parameters.windowSamples
        let reader = try AudioStreamReader(path: path, blockFrames: windowSamples, sampleRate: parameters.sampleRate)
        var found: [GrouseSequence] = []
        var index = 0
        while let block = try reader.next() {
            if block.count < windowSamples && !(index == 0 || parameters.keepPartialFinalWindow) { break }
            found += try detect(window: block, start: Double(index) * parameters.windowDuration, parameters: parameters)
            index += 1
        }
        return found
    }

    /// Detects drumming in in-memory audio (resampled first when its rate differs).
    public static func detect(audio: AudioSamples, parameters: GrouseParameters = .init()) throws -> [GrouseSequence] {
        try parameters.validate()
        let samples = audio.sampleRate == parameters.sampleRate
            ? audio.samples : try Resampler.resample(audio.samples, from: audio.sampleRate, to: parameters.sampleRate)
        let windowSamples = parameters.windowSamples
        var found: [GrouseSequence] = []
        var start = 0, index = 0
        while start < samples.count {
            let end = min(samples.count, start + windowSamples)
            if end - start < windowSamples && !(index == 0 || parameters.keepPartialFinalWindow) { break }
            found += try detect(window: Array(samples[start..<end]), start: Double(index) * parameters.windowDuration, parameters: parameters)
            start = end
            index += 1
        }
        return found
    }

    /// Peak times (s from the window's start) of one window's normalised envelope (steps 3–4).
    public static func peakTimes(window: [Float], parameters: GrouseParameters) throws -> [Double] {
        guard window.count >= 3 else { return [] }
        let rate = Double(parameters.sampleRate)
        var x = try MorletTransform(centerFrequency: parameters.centerFrequency, sampleRate: rate).transform(window)
        guard let top = x.max(), top > 0 else { return [] }
        x = x.map { ($0 / top) * ($0 / top) }
        var envelope = HilbertEnvelope.envelope(x)
        guard let peak = envelope.max(), peak > 0 else { return [] }
        envelope = envelope.map { $0 / peak }
        let distance = Int((parameters.peakSeparation * rate).rounded(.toNearestOrEven))
        return PeakFinder.peaks(envelope, height: parameters.peakThreshold, distance: distance).map { Double($0) / rate }
    }

    static func detect(window: [Float], start: Double, parameters: GrouseParameters) throws -> [GrouseSequence] {
        let times = try peakTimes(window: window, parameters: parameters)
        return parameters.sequences.sequences(times).map { sequence in
            GrouseSequence(beatTimes: ([sequence.anchor] + sequence.times).map { $0 + start },
                           intervals: sequence.intervals, windowStart: start)
        }
    }
}
