import Foundation

/// Errors from layers and models.
public enum ModelError: Error, CustomStringConvertible {
    case backwardBeforeForward(String)
    case invalidConfiguration(String)
    case weightsMismatch(missing: [String], unexpected: [String], wrongShape: [String])
    case invalidModelFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .backwardBeforeForward(l): return "\(l): backward called before a training forward pass"
        case let .invalidConfiguration(s): return s
        case let .weightsMismatch(missing, unexpected, wrongShape):
            // A different architecture misses every tensor: name a few and count the rest.
            func list(_ names: [String], _ separator: String) -> String {
                names.count <= 6 ? names.joined(separator: separator) : names.prefix(6).joined(separator: separator) + "\(separator)… and \(names.count - 6) more"
            }
            var parts: [String] = []
            if !missing.isEmpty { parts.append("\(missing.count) missing tensors: " + list(missing, ", ")) }
            if !wrongShape.isEmpty { parts.append("\(wrongShape.count) mismatched shapes: " + list(wrongShape, "; ")) }
            if !unexpected.isEmpty { parts.append("\(unexpected.count) unexpected tensors (ignored): " + list(unexpected, ", ")) }
            var text = "weights do not fit the model: " + parts.joined(separator: "; ")
            if missing.count > 6 { text += " (weights of another architecture? check --arch)" }
            return text
        case let .invalidModelFile(path, reason): return "\(path): not a valid Chorus model file: \(reason)"
        }
    }
}
