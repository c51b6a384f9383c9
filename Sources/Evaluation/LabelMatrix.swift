import ChorusCore
import Foundation

/// 0/1 labels of one clip, one value per class in the matrix's class order.
public struct LabelRow: Equatable, Sendable {
    public var file: String
    public var startTime: Double
    public var endTime: Double
    public var labels: [Float]

    public init(file: String, startTime: Double, endTime: Double, labels: [Float]) {
        self.file = file
        self.startTime = startTime
        self.endTime = endTime
        self.labels = labels
    }

    public var key: ClipKey { ClipKey(file: file, startTime: startTime, endTime: endTime) }
}

/// Clip labels, `file,start_time,end_time,<class>...` with 0/1 values: the layout of
/// `train-gpu labels` output (and of `Annotations.ClipLabelTable`, which converts to this).
public struct LabelMatrix: Equatable, Sendable {
    public var classes: [String]
    public var rows: [LabelRow]
    /// Where the labels came from (a path), used in error messages.
    public var source: String

    /// Checks that every row has one 0 or 1 per class.
    public init(classes: [String], rows: [LabelRow], source: String = "labels") throws {
        for (i, row) in rows.enumerated() {
            guard row.labels.count == classes.count else {
                throw EvaluationError.shape("\(source): row \(i + 1) (\(row.key)) has \(row.labels.count) labels for \(classes.count) classes")
            }
            if let bad = row.labels.first(where: { $0 != 0 && $0 != 1 }) {
                throw EvaluationError.shape("\(source): row \(i + 1) (\(row.key)) has label \(bad); labels must be 0 or 1")
            }
        }
        self.classes = classes
        self.rows = rows
        self.source = source
    }

    /// Reads a labels CSV; every class value must be 0 or 1 (`0.0`/`1.0` accepted).
    public static func read(_ path: String) throws -> LabelMatrix {
        let table = try ClipTableCSV.read(path)
        let rows = try table.rows.map { row in
            LabelRow(file: row.key.file, startTime: row.key.startTime, endTime: row.key.endTime,
                     labels: try zip(row.values, table.columns).map { text, column in
                         let value = try ClipTableCSV.number(text, column: column, path: path, line: row.line)
                         guard value == 0 || value == 1 else {
                             throw ChorusFileError.invalidFormat(path: path, line: row.line,
                                 reason: "column '\(column)': label '\(text)' must be 0 or 1")
                         }
                         return Float(value)
                     })
        }
        return try LabelMatrix(classes: table.columns, rows: rows, source: path)
    }

    /// The same matrix with only the named classes, in the given order.
    public func selecting(classes wanted: [String]) throws -> LabelMatrix {
        let indices = try wanted.map { name -> Int in
            guard let i = classes.firstIndex(of: name) else {
                throw EvaluationError.classNotFound(name: name, available: classes, source: source)
            }
            return i
        }
        return try LabelMatrix(classes: wanted, rows: rows.map { row in
            LabelRow(file: row.file, startTime: row.startTime, endTime: row.endTime, labels: indices.map { row.labels[$0] })
        }, source: source)
    }
}
