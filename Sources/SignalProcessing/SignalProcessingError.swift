import Foundation

/// Errors of the signal-processing detectors. Each description names the parameter or file at
/// fault and says what is wrong.
public enum SignalProcessingError: Error, CustomStringConvertible, Equatable {
    /// A detector parameter is out of range (`name` is the parameter, as the CLI flag reads).
    case invalidParameter(name: String, reason: String)
    /// A file could not be processed (unreadable, undecodable, too short).
    case cannotProcess(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidParameter(name, reason): return "invalid \(name): \(reason)"
        case let .cannotProcess(path, reason): return "\(path): \(reason)"
        }
    }
}
