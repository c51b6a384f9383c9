import ChorusCore
import Foundation

/// One clip of a recording and its 0/1 label per class.
public struct ClipLabelRow: Sendable, Equatable {
    public var file: String
    public var start: Double
    public var end: Double
    /// 0 or 1 per class, in the order of `ClipLabelTable.classes`.
    public var labels: [Float]

    public init(file: String, start: Double, end: Double, labels: [Float]) {
        self.file = file
        self.start = start
        self.end = end
        self.labels = labels
    }

    /// True when no class is present (a negative clip).
    public var isNegative: Bool { !labels.contains { $0 != 0 } }
}

/// Clip labels as OpenSoundscape users know them: a CSV `file,start_time,end_time,<class>...`
/// with 0/1 values.
///
/// File column rule: whatever string the table was made with is written unchanged. `labels`
/// writes the audio path as given on its command line (relative paths are relative to the
/// directory it ran in, as in OpenSoundscape); with `--duration` and no audio it writes the
/// recording name taken from the table (`X.Table.1.selections.txt` → `X.wav`). When reading,
/// a relative path is looked up in the current directory and then beside the CSV (`resolvedPath`).
public struct ClipLabelTable: Sendable, Equatable {
    public static let fileColumn = "file"
    public static let startColumn = "start_time"
    public static let endColumn = "end_time"

    public var classes: [String]
    public var rows: [ClipLabelRow]
    /// Directory of the CSV this table was read from (nil for a table made in memory).
    public var baseDirectory: String?

    public init(classes: [String], rows: [ClipLabelRow], baseDirectory: String? = nil) {
        self.classes = classes
        self.rows = rows
        self.baseDirectory = baseDirectory
    }

    /// Reads and validates a labels CSV. Every bad row is collected (wrong number of fields,
    /// empty file, times that are not numbers, end not after start, a value other than 0/1, a
    /// file that does not exist) and reported together with its line number.
    public static func read(_ path: String, checkFilesExist: Bool = true) throws -> ClipLabelTable {
        let records = try CSV.read(path)
        guard let header = records.first else {
            throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "empty file: expected a header 'file,start_time,end_time,<class>...'")
        }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        guard names.count >= 3, names[0] == fileColumn, names[1] == startColumn, names[2] == endColumn else {
            throw ChorusFileError.invalidFormat(path: path, line: header.line,
                                                reason: "the header must start with 'file,start_time,end_time'; it is '\(names.joined(separator: ","))'")
        }
        let classes = Array(names.dropFirst(3))
        guard !classes.isEmpty else {
            throw ChorusFileError.invalidFormat(path: path, line: header.line, reason: "no class columns after 'file,start_time,end_time'")
        }
        if let empty = classes.firstIndex(of: "") {
            throw ChorusFileError.invalidFormat(path: path, line: header.line, reason: "class column \(empty + 4) has no name")
        }
        var seen = Set<String>()
        for name in classes where !seen.insert(name).inserted {
            throw ChorusFileError.invalidFormat(path: path, line: header.line, reason: "class column '\(name)' appears twice")
        }
        let base = (path as NSString).deletingLastPathComponent
        var table = ClipLabelTable(classes: classes, rows: [], baseDirectory: base.isEmpty ? "." : base)
        var problems: [RowProblem] = []
        var existence: [String: Bool] = [:]
        table.rows.reserveCapacity(records.count - 1)
        for (line, fields) in records.dropFirst() {
            var reasons: [String] = []
            guard fields.count == names.count else {
                problems.append(RowProblem(path: path, line: line, reason: "\(fields.count) fields but the header has \(names.count) columns"))
                continue
            }
            let file = fields[0]
            if file.isEmpty { reasons.append("empty file name") }
            let start = TableText.number(fields[1]), end = TableText.number(fields[2])
            if start == nil { reasons.append("start_time '\(fields[1])' is not a number") }
            if end == nil { reasons.append("end_time '\(fields[2])' is not a number") }
            if let start, let end {
                if start < 0 { reasons.append("start_time \(fields[1]) is negative") }
                if end <= start { reasons.append("end_time \(fields[2]) is not after start_time \(fields[1])") }
            }
            var labels: [Float] = []
            labels.reserveCapacity(classes.count)
            for (i, field) in fields.dropFirst(3).enumerated() {
                switch field.trimmingCharacters(in: .whitespaces) {
                case "0", "0.0": labels.append(0)
                case "1", "1.0": labels.append(1)
                default: reasons.append("'\(classes[i])' is '\(field)'; labels must be 0 or 1")
                }
            }
            if checkFilesExist && !file.isEmpty {
                let exists = existence[file] ?? (table.resolvedPath(file) != nil)
                existence[file] = exists
                if !exists { reasons.append("audio file '\(file)' does not exist (looked in the current directory and in \(table.baseDirectory ?? "."))") }
            }
            if !reasons.isEmpty {
                problems.append(RowProblem(path: path, line: line, reason: reasons.joined(separator: "; ")))
            } else if let start, let end {
                table.rows.append(ClipLabelRow(file: file, start: start, end: end, labels: labels))
            }
        }
        if !problems.isEmpty { throw AnnotationsError.invalidRows(path: path, problems: problems) }
        return table
    }

    /// The path at which `file` exists: as given (absolute, or relative to the current
    /// directory), else relative to the CSV's directory; nil when neither exists.
    public func resolvedPath(_ file: String) -> String? {
        if FileManager.default.fileExists(atPath: file) { return file }
        if !file.hasPrefix("/"), let baseDirectory {
            let candidate = (baseDirectory as NSString).appendingPathComponent(file)
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The CSV text: header `file,start_time,end_time,<class>...`, times as the shortest
    /// decimal that reads back exactly (3 → `3.0`, as Python writes floats), labels `0`/`1`.
    public func csvText() -> String {
        var text = CSV.line([Self.fileColumn, Self.startColumn, Self.endColumn] + classes)
        for row in rows {
            var fields = [row.file, formatSeconds(row.start), formatSeconds(row.end)]
            fields += row.labels.map { $0 == 0 ? "0" : $0 == 1 ? "1" : "\($0)" }
            text += CSV.line(fields)
        }
        return text
    }

    /// Writes the CSV atomically.
    public func write(to path: String) throws {
        try AtomicFile.write(csvText(), to: path)
    }

    /// SHA-256 of the CSV text (equal to the hash of the written file).
    public func sha256() -> String { SHA256.hex(string: csvText()) }

    /// Number of positive clips per class, in `classes` order.
    public func positiveCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classes.count)
        for row in rows { for (i, v) in row.labels.enumerated() where v != 0 { counts[i] += 1 } }
        return counts
    }

    /// Number of clips with no class present.
    public var negativeCount: Int { rows.reduce(0) { $0 + ($1.isNegative ? 1 : 0) } }

    /// The distinct files, in order of first appearance.
    public var files: [String] {
        var seen = Set<String>()
        return rows.compactMap { seen.insert($0.file).inserted ? $0.file : nil }
    }
}
