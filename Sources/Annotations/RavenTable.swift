import ChorusCore
import Foundation

/// Raven Pro / Raven Lite selection tables: tab-separated text with one selection per row.
///
/// Reading:
/// - `Begin Time (s)` and `End Time (s)` are required; `Low Freq (Hz)` / `High Freq (Hz)` are
///   read when present (empty cells give nil).
/// - The label comes from the first of `annotationColumn` that the table has; if none of them
///   exists the error lists the columns that do.
/// - Rows that repeat a selection in another view (`View` = `Spectrogram 1` and `Waveform 1`
///   with the same `Selection` number) are counted once, preferring the spectrogram view.
/// - Multi-file tables: `Begin File` (or else the file name of `Begin Path`) names each row's
///   recording; when `File Offset (s)` is present the times are made relative to that file
///   (start = offset, end = offset + end - begin), as Raven's own times run across the files.
/// - Every other column is kept in `Annotation.extra`; short rows are padded with empty cells.
/// - A byte-order mark, CRLF line ends, blank lines and an empty table (header only) are fine.
public enum RavenTable {
    public static let beginTimeColumn = "Begin Time (s)"
    public static let endTimeColumn = "End Time (s)"
    public static let lowFrequencyColumn = "Low Freq (Hz)"
    public static let highFrequencyColumn = "High Freq (Hz)"
    public static let beginFileColumn = "Begin File"
    public static let beginPathColumn = "Begin Path"
    public static let fileOffsetColumn = "File Offset (s)"
    static let standardColumns: Set<String> = [beginTimeColumn, endTimeColumn, lowFrequencyColumn, highFrequencyColumn]

    /// Reads the selections of one Raven table. Throws `ChorusFileError.invalidFormat` for a
    /// table without the required columns, and `AnnotationsError.invalidRows` listing every
    /// bad row (unreadable numbers, end before start, negative times) with its line.
    public static func read(_ path: String, annotationColumn: [String] = ["Annotation", "Species"]) throws -> [Annotation] {
        let lines = try TableText.lines(of: path)
        guard let headerLine = lines.first else {
            throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "empty file: no Raven header line")
        }
        let header = headerLine.text.components(separatedBy: "\t").map { $0.trimmingCharacters(in: .whitespaces) }
        func index(_ name: String) -> Int? { header.firstIndex(of: name) }
        let present = header.filter { !$0.isEmpty }
        let listed = present.map { "'\($0)'" }.joined(separator: ", ")
        guard let beginIndex = index(beginTimeColumn), let endIndex = index(endTimeColumn) else {
            let missing = [beginTimeColumn, endTimeColumn].filter { index($0) == nil }.map { "'\($0)'" }.joined(separator: " and ")
            throw ChorusFileError.invalidFormat(path: path, line: headerLine.line,
                                                reason: "not a Raven selection table: no \(missing) column; the columns are \(listed)")
        }
        guard let labelName = annotationColumn.first(where: { index($0) != nil }), let labelIndex = index(labelName) else {
            let wanted = annotationColumn.map { "'\($0)'" }.joined(separator: " or ")
            throw ChorusFileError.invalidFormat(path: path, line: headerLine.line,
                                                reason: "no annotation column \(wanted); the columns are \(listed)")
        }
        let lowIndex = index(lowFrequencyColumn), highIndex = index(highFrequencyColumn)
        let fileIndex = index(beginFileColumn), pathIndex = index(beginPathColumn)
        let offsetIndex = index(fileOffsetColumn)
        let selectionIndex = index("Selection"), viewIndex = index("View")

        var annotations: [Annotation] = []
        var problems: [RowProblem] = []
        var positionOfSelection: [String: Int] = [:]   // selection id -> index in `annotations`
        for (lineNumber, text) in lines.dropFirst() {
            var fields = text.components(separatedBy: "\t")
            if fields.count < header.count { fields += Array(repeating: "", count: header.count - fields.count) }
            if fields.count > header.count, fields[header.count...].contains(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                problems.append(RowProblem(path: path, line: lineNumber, reason: "\(fields.count) fields but the header has \(header.count) columns"))
                continue
            }
            func problem(_ reason: String) { problems.append(RowProblem(path: path, line: lineNumber, reason: reason)) }
            guard let begin = TableText.number(fields[beginIndex]) else { problem("'\(beginTimeColumn)' is '\(fields[beginIndex])', not a number"); continue }
            guard let end = TableText.number(fields[endIndex]) else { problem("'\(endTimeColumn)' is '\(fields[endIndex])', not a number"); continue }
            if end < begin { problem("end time \(end) s is before begin time \(begin) s"); continue }
            var start = begin, stop = end
            if let offsetIndex, !fields[offsetIndex].trimmingCharacters(in: .whitespaces).isEmpty {
                guard let offset = TableText.number(fields[offsetIndex]) else { problem("'\(fileOffsetColumn)' is '\(fields[offsetIndex])', not a number"); continue }
                start = offset; stop = offset + (end - begin)
            }
            if start < 0 { problem("begin time \(start) s is negative"); continue }
            var low: Double? = nil, high: Double? = nil
            if let lowIndex, !fields[lowIndex].trimmingCharacters(in: .whitespaces).isEmpty {
                guard let v = TableText.number(fields[lowIndex]) else { problem("'\(lowFrequencyColumn)' is '\(fields[lowIndex])', not a number"); continue }
                low = v
            }
            if let highIndex, !fields[highIndex].trimmingCharacters(in: .whitespaces).isEmpty {
                guard let v = TableText.number(fields[highIndex]) else { problem("'\(highFrequencyColumn)' is '\(fields[highIndex])', not a number"); continue }
                high = v
            }
            var file: String? = nil
            if let fileIndex, !fields[fileIndex].isEmpty { file = fields[fileIndex] }
            else if let pathIndex, !fields[pathIndex].isEmpty { file = fields[pathIndex] }
            var extra: [String: String] = [:]
            for (i, name) in header.enumerated() where !name.isEmpty && i != labelIndex && !standardColumns.contains(name) {
                extra[name] = fields[i]
            }
            let annotation = Annotation(file: file, start: start, end: stop, lowFrequency: low, highFrequency: high,
                                        label: fields[labelIndex].trimmingCharacters(in: .whitespaces), extra: extra,
                                        sourcePath: path, sourceLine: lineNumber)
            // The same selection shown in several views appears once per view: keep one.
            if let selectionIndex, viewIndex != nil {
                let key = (file ?? "") + "\u{1}" + fields[selectionIndex].trimmingCharacters(in: .whitespaces)
                if let existing = positionOfSelection[key] {
                    let existingView = annotations[existing].extra["View"] ?? ""
                    if !existingView.hasPrefix("Spectrogram") && (extra["View"] ?? "").hasPrefix("Spectrogram") {
                        annotations[existing] = annotation
                    }
                    continue
                }
                positionOfSelection[key] = annotations.count
            }
            annotations.append(annotation)
        }
        if !problems.isEmpty { throw AnnotationsError.invalidRows(path: path, problems: problems) }
        return annotations
    }

    /// Writes annotations as a Raven selection table (tab-separated, atomic).
    ///
    /// Columns: `Selection`, `View` (`Spectrogram 1`), `Channel` (from `extra["Channel"]`, else 1),
    /// the four time/frequency columns (missing frequencies are written as empty cells),
    /// `annotationColumn`, `Begin File` when any annotation names its file, then `extraColumns`
    /// taken from each annotation's `extra` (empty when absent).
    public static func write(_ annotations: [Annotation], to path: String, annotationColumn: String = "Annotation",
                             extraColumns: [String] = []) throws {
        let withFile = annotations.contains { $0.file != nil }
        var header = ["Selection", "View", "Channel", beginTimeColumn, endTimeColumn, lowFrequencyColumn, highFrequencyColumn, annotationColumn]
        if withFile { header.append(beginFileColumn) }
        header += extraColumns
        func clean(_ s: String) -> String {
            s.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        }
        var text = header.map(clean).joined(separator: "\t") + "\n"
        for (i, a) in annotations.enumerated() {
            var fields = ["\(i + 1)", "Spectrogram 1", a.extra["Channel"] ?? "1", "\(a.start)", "\(a.end)",
                          a.lowFrequency.map { "\($0)" } ?? "", a.highFrequency.map { "\($0)" } ?? "", a.label]
            if withFile { fields.append(a.file ?? "") }
            fields += extraColumns.map { a.extra[$0] ?? "" }
            text += fields.map(clean).joined(separator: "\t") + "\n"
        }
        try AtomicFile.write(text, to: path)
    }
}
