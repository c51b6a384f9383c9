/// Errors from generating a synthetic dataset; each names the parameter or path at fault.
public enum SynthesisError: Error, CustomStringConvertible, Equatable {
    /// A dataset specification value is out of range.
    case invalidSpec(parameter: String, reason: String)
    /// The output directory holds files that are not a previously generated dataset.
    case directoryNotEmpty(path: String)
    /// `dataset.json` is missing or unreadable.
    case invalidManifest(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidSpec(parameter, reason):
            return "invalid soundscape dataset spec: \(parameter): \(reason)"
        case let .directoryNotEmpty(path):
            return "\(path) is not empty and holds no dataset.json: choose an empty or new directory for the synthetic dataset"
        case let .invalidManifest(path, reason):
            return "\(path): \(reason)"
        }
    }
}
