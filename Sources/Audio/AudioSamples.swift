import Foundation

/// Facts about an audio file, read from its header without decoding the audio.
public struct AudioInfo: Sendable, Equatable {
    /// The path the file was opened with.
    public var path: String
    /// Native sample rate in Hz.
    public var sampleRate: Int
    /// Number of channels in the file (decoded audio is mixed down to mono).
    public var channels: Int
    /// Number of sample frames (one sample per channel).
    public var frames: Int
    /// Duration in seconds (`frames / sampleRate`).
    public var duration: Double
    /// Container and encoding, e.g. `"WAV PCM_16"`, `"FLAC PCM_24"`, `"MP3 MPEG_LAYER_III"`.
    public var format: String

    public init(path: String, sampleRate: Int, channels: Int, frames: Int, duration: Double, format: String) {
        self.path = path
        self.sampleRate = sampleRate
        self.channels = channels
        self.frames = frames
        self.duration = duration
        self.format = format
    }
}

/// Mono audio: samples as Float in [-1, 1] (integer formats divided by 2^(bits-1)) at a sample rate.
public struct AudioSamples: Sendable, Equatable {
    public var samples: [Float]
    public var sampleRate: Int

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Length in seconds.
    public var duration: Double { sampleRate > 0 ? Double(samples.count) / Double(sampleRate) : 0 }

    /// The samples from `offset` seconds for `duration` seconds (to the end when nil), clamped to the audio.
    /// Start and length are rounded to whole samples independently, so equal durations give equal lengths.
    public func slice(offset: Double, duration: Double? = nil) throws -> AudioSamples {
        guard offset.isFinite, offset >= 0 else {
            throw AudioError.invalidParameter(name: "offset", reason: "\(offset) s must be finite and >= 0")
        }
        let start = min(samples.count, Int((offset * Double(sampleRate)).rounded()))
        var end = samples.count
        if let duration {
            guard duration.isFinite, duration >= 0 else {
                throw AudioError.invalidParameter(name: "duration", reason: "\(duration) s must be finite and >= 0")
            }
            end = min(samples.count, start + Int((duration * Double(sampleRate)).rounded()))
        }
        return AudioSamples(samples: Array(samples[start..<end]), sampleRate: sampleRate)
    }
}
