import Foundation

/// Audacity label tracks exported as text: `start<TAB>end<TAB>label` per line, optionally
/// followed by a line `\<TAB>low<TAB>high` giving the frequency range of the label above it.
public enum AudacityLabels {
    /// Reads every label; reports every bad line (with its number) together.
    public static func read(_ path: String) throws -> [Annotation] {
        var annotations: [Annotation] = []
        var problems: [RowProblem] = []
        for (lineNumber, text) in try TableText.lines(of: path) {
            let fields = text.components(separatedBy: "\t")
            func problem(_ reason: String) { problems.append(RowProblem(path: path, line: lineNumber, reason: reason)) }
            if fields[0].trimmingCharacters(in: .whitespaces) == "\\" {
                guard fields.count >= 3, let low = TableText.number(fields[1]), let high = TableText.number(fields[2]) else {
                    problem("frequency line must be '\\<TAB>low<TAB>high'"); continue
                }
                guard !annotations.isEmpty, annotations[annotations.count - 1].sourceLine.map({ $0 < lineNumber }) == true else {
                    problem("frequency line without a label line above it"); continue
                }
                annotations[annotations.count - 1].lowFrequency = low
                annotations[annotations.count - 1].highFrequency = high
                continue
            }
            guard fields.count >= 2 else { problem("expected 'start<TAB>end<TAB>label'"); continue }
            guard let start = TableText.number(fields[0]) else { problem("start '\(fields[0])' is not a number"); continue }
            guard let end = TableText.number(fields[1]) else { problem("end '\(fields[1])' is not a number"); continue }
            if end < start { problem("end time \(end) s is before start time \(start) s"); continue }
            if start < 0 { problem("start time \(start) s is negative"); continue }
            let label = fields.count > 2 ? fields[2...].joined(separator: "\t").trimmingCharacters(in: .whitespaces) : ""
            annotations.append(Annotation(start: start, end: end, label: label, sourcePath: path, sourceLine: lineNumber))
        }
        if !problems.isEmpty { throw AnnotationsError.invalidRows(path: path, problems: problems) }
        return annotations
    }
}
