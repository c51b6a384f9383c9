/// Errors from tensor operations; each names the operation and the offending shapes or values.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(op: String, lhs: [Int], rhs: [Int])
    case invalidShape(op: String, shape: [Int], expected: String)
    case invalidArgument(op: String, reason: String)
    case deviceMismatch(op: String, lhs: String, rhs: String)
    /// A library the backend runs on (oneDNN) refused or failed an operation.
    case library(name: String, op: String, status: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, lhs, rhs): return "\(op): shape mismatch between \(lhs) and \(rhs)"
        case let .invalidShape(op, shape, expected): return "\(op): invalid shape \(shape), expected \(expected)"
        case let .invalidArgument(op, reason): return "\(op): \(reason)"
        case let .deviceMismatch(op, lhs, rhs): return "\(op): tensors live on different devices (\(lhs) and \(rhs)); copy one with .to(device)"
        case let .library(name, op, status): return "\(name): \(op) failed (\(status))"
        }
    }
}
