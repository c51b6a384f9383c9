import ChorusCore
import CSndFile
import Foundation

/// Sample encodings for writing WAV files.
public enum WAVEncoding: String, Sendable, CaseIterable {
    /// 16-bit signed integer PCM (values clipped to [-1, 1)).
    case pcm16
    /// 32-bit IEEE float.
    case float32
}

/// Reading and writing audio files through libsndfile.
public enum AudioFile {
    /// File extensions (lowercase, no dot) that `read`, `info` and `AudioStreamReader` accept, compared
    /// case-insensitively (`.WAV` works).
    public static let supportedExtensions: Set<String> = ["wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "aiff", "aif", "aifc", "w64", "rf64", "caf", "au"]

    /// Header facts (sample rate, channels, frames, duration, format) without decoding the audio.
    public static func info(_ path: String) throws -> AudioInfo {
        try SoundFile(path: path).info
    }

    /// Decodes `path` to mono (channels averaged).
    ///
    /// - Parameters:
    ///   - offset: start in seconds; only the frames from there on are decoded (the file is seeked).
    ///   - duration: length in seconds, clamped at the end of the file; nil reads to the end.
    ///   - sampleRate: if given and different from the file's rate, the audio is resampled to it
    ///     (libsoxr, high quality).
    /// - Throws: `AudioError` naming the file when it is missing, unsupported, undecodable, or the
    ///   offset lies beyond its end.
    public static func read(_ path: String, offset: Double = 0, duration: Double? = nil, sampleRate: Int? = nil) throws -> AudioSamples {
        let file = try SoundFile(path: path)
        let info = file.info
        guard offset.isFinite, offset >= 0 else {
            throw AudioError.invalidSlice(path: path, reason: "offset \(offset) s must be finite and >= 0")
        }
        // Frame counts are compared before they become Ints: a huge offset or duration (1e300 s)
        // is beyond the end, or clamped to it, never converted.
        guard let startFrame = CheckedCount.exact(offset * Double(info.sampleRate), maximum: info.frames) else {
            throw AudioError.invalidSlice(path: path, reason: "offset \(offset) s is beyond the end of the file (\(formatDuration(info.duration)) s)")
        }
        var count = info.frames - startFrame
        if let duration {
            guard duration.isFinite, duration >= 0 else {
                throw AudioError.invalidSlice(path: path, reason: "duration \(duration) s must be finite and >= 0")
            }
            // Clamped at the end of the file: anything longer (or too large for an Int) reads to the end.
            if let wanted = CheckedCount.exact(duration * Double(info.sampleRate), maximum: count) { count = wanted }
        }
        // Headers of damaged or streamed files can claim absurd lengths; never try to allocate those.
        let maximumFrames = 1 << 34
        guard count <= maximumFrames else {
            throw AudioError.invalidSlice(path: path, reason: "\(count) frames (\(formatDuration(Double(count) / Double(info.sampleRate))) s) are too many to read at once; pass a duration or use AudioStreamReader")
        }
        if count > 0 { try file.seek(toFrame: startFrame) }
        var failure: Error?
        var got = 0
        var samples = LargeBuffer.floats(count) { buffer in
            do {
                got = try file.readMono(into: buffer, count: count)
            } catch {
                failure = error
            }
            if got < count { (buffer + got).initialize(repeating: 0, count: count - got) }
        }
        if let failure { throw failure }
        if got < count { samples.removeLast(count - got) }
        // NaN or infinite samples (damaged float files) would become plausible-looking scores that
        // differ between devices; refuse them here, for every caller, naming the file.
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            let badCount = samples.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            throw AudioError.nonFiniteSamples(path: path, count: badCount, firstSecond: offset + Double(bad) / Double(info.sampleRate))
        }
        var audio = AudioSamples(samples: samples, sampleRate: info.sampleRate)
        if let sampleRate, sampleRate != info.sampleRate {
            audio = AudioSamples(samples: try Resampler.resample(samples, from: info.sampleRate, to: sampleRate), sampleRate: sampleRate)
        }
        return audio
    }

    /// Writes mono audio as a WAV file, atomically (a temporary file in the same directory renamed
    /// over `path`). The path's extension must be `.wav` (any case).
    public static func write(_ audio: AudioSamples, to path: String, encoding: WAVEncoding = .pcm16) throws {
        guard ["wav", "wave"].contains((path as NSString).pathExtension.lowercased()) else {
            throw AudioError.unsupportedFormat(path: path, reason: "only WAV files can be written; use a .wav extension")
        }
        guard audio.sampleRate > 0 else {
            throw AudioError.invalidParameter(name: "sampleRate", reason: "\(audio.sampleRate) Hz must be positive (writing \(path))")
        }
        if let bad = audio.samples.firstIndex(where: { !$0.isFinite }) {
            throw AudioError.invalidParameter(name: "samples", reason: "sample \(bad) is \(audio.samples[bad]), not finite (writing \(path))")
        }
        let subtype = encoding == .pcm16 ? SF_FORMAT_PCM_16 : SF_FORMAT_FLOAT
        try SoundFileWriter.write(interleaved: audio.samples, channels: 1, sampleRate: audio.sampleRate,
                                  format: Int32(SF_FORMAT_WAV | subtype), to: path)
    }

    static func formatDuration(_ seconds: Double) -> String { String(format: "%.3f", seconds) }
}
