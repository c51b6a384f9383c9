import Audio
import Foundation

/// RIBBIT's net band amplitude of a recording, one value per spectrogram frame (frame `j` covers
/// samples `[j·hop, j·hop + window)`, its time is its centre `(j·hop + window/2) / sampleRate`),
/// sampled at `sampleRate / hop` values per second.
public struct AmplitudeSeries: Sendable, Equatable {
    /// Net amplitude per frame.
    public var values: [Float]
    /// Values per second (`sampleRate / hop`).
    public var rate: Double
    /// Sample rate of the audio it came from.
    public var sampleRate: Int
    /// Length of the audio in seconds.
    public var audioDuration: Double
    /// Seconds the frames cover: from 0 to the end of the last whole frame,
    /// `((frames − 1)·hop + window) / sampleRate` (the reference's spectrogram duration, which
    /// sets its clips).
    public var duration: Double {
        values.isEmpty ? 0 : Double((values.count - 1) * hopSamples + windowSamples) / Double(sampleRate)
    }
    /// Samples between frames.
    public var hopSamples: Int
    /// Samples per frame.
    public var windowSamples: Int

    /// Time (s) of frame `j`: its centre.
    public func time(ofFrame j: Int) -> Double {
        (Double(j * hopSamples) + Double(windowSamples) / 2) / Double(sampleRate)
    }

    /// The first frame whose centre is at or after `time` (may be `values.count`).
    public func firstFrame(atOrAfter time: Double) -> Int {
        let estimate = ((time * Double(sampleRate) - Double(windowSamples) / 2) / Double(hopSamples)).rounded(.up)
        var j = max(0, min(values.count, Int(max(-1, min(estimate, Double(values.count))))))
        while j > 0 && self.time(ofFrame: j - 1) >= time { j -= 1 }
        while j < values.count && self.time(ofFrame: j) < time { j += 1 }
        return j
    }

    /// Computes the series of in-memory audio.
    public static func compute(_ audio: AudioSamples, parameters: RibbitParameters, threads: Int? = nil) throws -> AmplitudeSeries {
        try parameters.validate(sampleRate: audio.sampleRate)
        var builder = Builder(parameters: parameters, sampleRate: audio.sampleRate, threads: threads)
        try builder.add(audio.samples)
        return builder.finish(duration: audio.duration)
    }

    /// Computes the series of an audio file, streaming it in blocks of `blockFrames` samples so
    /// that a long recording never sits in memory whole (only the series does: 4 bytes per hop).
    public static func compute(file path: String, parameters: RibbitParameters, threads: Int? = nil,
                               blockFrames: Int = 1 << 20) throws -> AmplitudeSeries {
        let reader = try AudioStreamReader(path: path, blockFrames: blockFrames)
        try parameters.validate(sampleRate: reader.info.sampleRate)
        var builder = Builder(parameters: parameters, sampleRate: reader.info.sampleRate, threads: threads)
        var total = 0
        while let block = try reader.next() {
            total += block.count
            try builder.add(block)
        }
        guard total >= parameters.windowSamples else {
            throw SignalProcessingError.cannotProcess(path: path, reason: "\(total) samples is shorter than one spectrogram window (\(parameters.windowSamples) samples)")
        }
        return builder.finish(duration: Double(total) / Double(reader.info.sampleRate))
    }

    /// Turns blocks of consecutive samples into amplitude values; keeps the samples of the
    /// frames not yet complete.
    struct Builder {
        let parameters: RibbitParameters
        let sampleRate: Int
        let threads: Int?
        let band: BandAmplitude
        var pending: [Float] = []
        var series: [Float] = []

        init(parameters: RibbitParameters, sampleRate: Int, threads: Int?) {
            self.parameters = parameters
            self.sampleRate = sampleRate
            self.threads = threads
            band = BandAmplitude(parameters: parameters, sampleRate: sampleRate)
        }

        mutating func add(_ samples: [Float]) throws {
            if pending.isEmpty { pending = samples } else { pending.append(contentsOf: samples) }
            let spectrogramParameters = parameters.spectrogramParameters
            let frames = spectrogramParameters.frameCount(sampleCount: pending.count)
            guard frames > 0 else { return }
            let spectrogram = try Spectrogram.compute(AudioSamples(samples: pending, sampleRate: sampleRate),
                                                      parameters: spectrogramParameters, threads: threads)
            band.append(spectrogram, to: &series)
            pending.removeFirst(frames * spectrogramParameters.hopSamples)
        }

        func finish(duration: Double) -> AmplitudeSeries {
            AmplitudeSeries(values: series, rate: parameters.amplitudeRate(sampleRate: sampleRate), sampleRate: sampleRate,
                            audioDuration: duration, hopSamples: parameters.windowSamples - parameters.overlapSamples,
                            windowSamples: parameters.windowSamples)
        }
    }
}
