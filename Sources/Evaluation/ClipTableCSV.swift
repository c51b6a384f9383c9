import ChorusCore
import Foundation

/// One data row of a clip table: `file,start_time,end_time,<value columns>...`.
struct ClipTableRow {
    let line: Int
    let key: ClipKey
    let values: [String]
}

/// Reads the clip-table CSV layout shared by scores and labels files:
/// a header `file,start_time,end_time,<column>...` and one row per clip.
enum ClipTableCSV {
    static let keyColumns = ["file", "start_time", "end_time"]

    static func read(_ path: String) throws -> (columns: [String], rows: [ClipTableRow]) {
        try parse(try CSV.read(path), path: path)
    }

    static func parse(_ records: [(line: Int, fields: [String])], path: String) throws -> (columns: [String], rows: [ClipTableRow]) {
        guard let header = records.first else {
            throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "empty file; expected a header file,start_time,end_time,<class>...")
        }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        guard names.count > 3, Array(names.prefix(3)) == keyColumns else {
            throw ChorusFileError.invalidFormat(path: path, line: header.line,
                reason: "header must be file,start_time,end_time followed by at least one class column; found \(names.joined(separator: ","))")
        }
        let columns = Array(names.dropFirst(3))
        var seen = Set<String>()
        for name in columns {
            if name.isEmpty {
                throw ChorusFileError.invalidFormat(path: path, line: header.line, reason: "empty column name in header")
            }
            if !seen.insert(name).inserted {
                throw ChorusFileError.invalidFormat(path: path, line: header.line, reason: "column '\(name)' appears twice in header")
            }
        }
        var rows: [ClipTableRow] = []
        rows.reserveCapacity(records.count - 1)
        for record in records.dropFirst() {
            let fields = record.fields
            guard fields.count == names.count else {
                throw ChorusFileError.invalidFormat(path: path, line: record.line,
                    reason: "expected \(names.count) fields (as in the header) but found \(fields.count)")
            }
            let start = try number(fields[1], column: "start_time", path: path, line: record.line)
            let end = try number(fields[2], column: "end_time", path: path, line: record.line)
            guard end > start else {
                throw ChorusFileError.invalidFormat(path: path, line: record.line,
                    reason: "end_time \(fields[2]) must be greater than start_time \(fields[1])")
            }
            guard !fields[0].isEmpty else {
                throw ChorusFileError.invalidFormat(path: path, line: record.line, reason: "empty file name")
            }
            rows.append(ClipTableRow(line: record.line, key: ClipKey(file: fields[0], startTime: start, endTime: end),
                                     values: Array(fields.dropFirst(3))))
        }
        return (columns, rows)
    }

    /// A finite number, or an error naming the file, line and column.
    static func number(_ text: String, column: String, path: String, line: Int) throws -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let value = Double(trimmed), value.isFinite else {
            throw ChorusFileError.invalidFormat(path: path, line: line,
                reason: "column '\(column)': '\(text)' is not a finite number")
        }
        return value
    }
}
