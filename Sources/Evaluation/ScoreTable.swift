import ChorusCore
import Foundation

/// Scores of one clip, one value per class in the table's class order.
public struct ScoreRow: Equatable, Sendable {
    public var file: String
    public var startTime: Double
    public var endTime: Double
    public var scores: [Double]

    public init(file: String, startTime: Double, endTime: Double, scores: [Double]) {
        self.file = file
        self.startTime = startTime
        self.endTime = endTime
        self.scores = scores
    }

    public var key: ClipKey { ClipKey(file: file, startTime: startTime, endTime: endTime) }
}

/// A scores file as written by `predict` (`file,start_time,end_time,<class>...`) or by a
/// signal-processing detector such as RIBBIT (`file,start_time,end_time,score`).
public struct ScoreTable: Equatable, Sendable {
    public var classes: [String]
    public var rows: [ScoreRow]
    /// Where the table came from (a path), used in error messages.
    public var source: String

    public init(classes: [String], rows: [ScoreRow], source: String = "scores") throws {
        for (i, row) in rows.enumerated() where row.scores.count != classes.count {
            throw EvaluationError.shape("\(source): row \(i + 1) (\(row.key)) has \(row.scores.count) scores for \(classes.count) classes")
        }
        self.classes = classes
        self.rows = rows
        self.source = source
    }

    /// Name of the single value column written by detectors that score one class.
    public static let singleScoreColumn = "score"

    /// Reads a scores CSV. A file whose only value column is `score` (RIBBIT output) needs
    /// `singleScoreClass`, the labelled class it scores; the column is then named after it.
    public static func read(_ path: String, singleScoreClass: String? = nil) throws -> ScoreTable {
        let table = try ClipTableCSV.read(path)
        var classes = table.columns
        if classes == [singleScoreColumn] {
            guard let name = singleScoreClass else { throw EvaluationError.singleScoreNeedsClass(path: path) }
            classes = [name]
        } else if let name = singleScoreClass {
            guard classes.contains(name) else {
                throw EvaluationError.classNotFound(name: name, available: classes, source: path)
            }
        }
        let rows = try table.rows.map { row in
            ScoreRow(file: row.key.file, startTime: row.key.startTime, endTime: row.key.endTime,
                     scores: try zip(row.values, classes).map { text, column in
                         try ClipTableCSV.number(text, column: column, path: path, line: row.line)
                     })
        }
        var result = try ScoreTable(classes: classes, rows: rows, source: path)
        if let name = singleScoreClass, table.columns != [singleScoreColumn] {
            result = try result.selecting(classes: [name])
        }
        return result
    }

    /// The same table with only the named classes, in the given order.
    public func selecting(classes wanted: [String]) throws -> ScoreTable {
        let indices = try wanted.map { name -> Int in
            guard let i = classes.firstIndex(of: name) else {
                throw EvaluationError.classNotFound(name: name, available: classes, source: source)
            }
            return i
        }
        return try ScoreTable(classes: wanted, rows: rows.map { row in
            ScoreRow(file: row.file, startTime: row.startTime, endTime: row.endTime, scores: indices.map { row.scores[$0] })
        }, source: source)
    }

    /// CSV text `file,start_time,end_time,<class>...` with scores at full precision.
    public func csvText() -> String {
        var out = CSV.line(ClipTableCSV.keyColumns + classes)
        for row in rows {
            out += CSV.line([row.file, formatSeconds(row.startTime), formatSeconds(row.endTime)] + row.scores.map { "\($0)" })
        }
        return out
    }

    /// Writes the table atomically as CSV.
    public func write(to path: String) throws {
        try AtomicFile.write(csvText(), to: path)
    }
}
