import Foundation

/// Errors of the audio module. Every case names the file or the parameter at fault and says
/// what is wrong with it.
public enum AudioError: Error, CustomStringConvertible, Equatable {
    /// The file does not exist or cannot be opened for reading.
    case fileNotFound(path: String)
    /// The file's extension is not one of `AudioFile.supportedExtensions`.
    case unsupportedFormat(path: String, reason: String)
    /// libsndfile could not open or decode the file (corrupt, truncated header, unknown codec).
    case cannotDecode(path: String, reason: String)
    /// The file could not be written.
    case cannotWrite(path: String, reason: String)
    /// A requested slice lies outside the file.
    case invalidSlice(path: String, reason: String)
    /// A numeric parameter (sample rate, cutoff, window size, ...) is out of range.
    case invalidParameter(name: String, reason: String)
    /// The audio is too short for the requested operation (e.g. shorter than one window).
    case tooShort(reason: String)
    /// Samples that are NaN or infinite.
    case nonFiniteSamples(path: String, count: Int, firstSecond: Double)
    /// The resampler reported an error.
    case resamplingFailed(reason: String)

    public var description: String {
        switch self {
        case let .fileNotFound(path): return "\(path): audio file not found or not readable"
        case let .unsupportedFormat(path, reason): return "\(path): unsupported audio format: \(reason)"
        case let .cannotDecode(path, reason): return "\(path): cannot decode audio: \(reason)"
        case let .cannotWrite(path, reason): return "cannot write audio to \(path): \(reason)"
        case let .invalidSlice(path, reason): return "\(path): invalid slice: \(reason)"
        case let .invalidParameter(name, reason): return "invalid \(name): \(reason)"
        case let .tooShort(reason): return "audio too short: \(reason)"
        case let .nonFiniteSamples(path, count, first):
            return "\(path): \(count) audio samples are NaN or infinite (the first at \(String(format: "%.3f", first)) s); the file is damaged and is skipped"
        case let .resamplingFailed(reason): return "resampling failed: \(reason)"
        }
    }
}
