import Foundation

/// One problem found in a row of an input table.
public struct RowProblem: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var reason: String

    public init(path: String, line: Int?, reason: String) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    public var description: String {
        if let line { return "\(path):\(line): \(reason)" }
        return "\(path): \(reason)"
    }
}

/// Errors of the Annotations module. Each description names the file and line, or the
/// parameter, and says what is wrong.
public enum AnnotationsError: Error, Equatable, CustomStringConvertible {
    /// A parameter value that cannot be used.
    case invalidParameter(name: String, reason: String)
    /// Every bad row found in a table (reported together rather than one at a time).
    case invalidRows(path: String, problems: [RowProblem])
    /// Rows that a single-target table cannot represent (more than one class present).
    case ambiguousSingleTarget(rows: [String])
    /// An operation that cannot be done with the given data (for example drawing positives of
    /// a class that has none).
    case cannotProceed(reason: String)

    /// At most this many individual problems are listed in a description.
    public static let listedProblems = 50

    public var description: String {
        switch self {
        case let .invalidParameter(name, reason):
            return "invalid \(name): \(reason)"
        case let .invalidRows(path, problems):
            var lines = ["\(path): \(problems.count) bad row\(problems.count == 1 ? "" : "s"):"]
            lines += problems.prefix(Self.listedProblems).map { "  \($0)" }
            if problems.count > Self.listedProblems { lines.append("  ... and \(problems.count - Self.listedProblems) more") }
            return lines.joined(separator: "\n")
        case let .ambiguousSingleTarget(rows):
            var lines = ["single-target labels need exactly one class per clip, but \(rows.count) clip\(rows.count == 1 ? " has" : "s have") several (use multi-target labels, or fix the annotations):"]
            lines += rows.prefix(Self.listedProblems).map { "  \($0)" }
            if rows.count > Self.listedProblems { lines.append("  ... and \(rows.count - Self.listedProblems) more") }
            return lines.joined(separator: "\n")
        case let .cannotProceed(reason):
            return reason
        }
    }
}
