import Foundation

/// Splits a labels table into training and validation sets, stratified by class and
/// optionally grouped by recording. Seeded and deterministic.
///
/// Stratification is iterative (Sechidis et al., 2011): the rarest class still unassigned is
/// handled first, and each of its clips (or recordings, when grouping) goes to the set whose
/// remaining quota for that class is largest (ties: the set with more room overall, then a
/// seeded coin). Negatives count as one more class. With one class per clip, each class's
/// validation count is within one clip of `validationFraction` × its count; with grouping the
/// proportions are as close as whole recordings allow, and no file is in both sets.
public struct Splitter: Sendable {
    public var validationFraction: Double
    public var groupByFile: Bool
    public var seed: UInt64

    public init(validationFraction: Double = 0.2, groupByFile: Bool = false, seed: UInt64) {
        self.validationFraction = validationFraction
        self.groupByFile = groupByFile
        self.seed = seed
    }

    /// Returns the two tables; rows keep their order from `table`.
    public func split(_ table: ClipLabelTable) throws -> (train: ClipLabelTable, validation: ClipLabelTable) {
        guard validationFraction > 0 && validationFraction < 1 else {
            throw AnnotationsError.invalidParameter(name: "validation fraction", reason: "\(validationFraction); it must be between 0 and 1 (0.2 is typical)")
        }
        guard table.rows.count >= 2 else {
            throw AnnotationsError.cannotProceed(reason: "cannot split \(table.rows.count) clip\(table.rows.count == 1 ? "" : "s") into two sets")
        }
        // Units: single rows, or all rows of one file.
        var unitRows: [[Int]]
        if groupByFile {
            var byFile: [String: Int] = [:]
            unitRows = []
            for (i, row) in table.rows.enumerated() {
                if let u = byFile[row.file] { unitRows[u].append(i) } else { byFile[row.file] = unitRows.count; unitRows.append([i]) }
            }
            guard unitRows.count >= 2 else {
                throw AnnotationsError.cannotProceed(reason: "--group-by-file needs at least two recordings; the table has only '\(table.rows[0].file)'")
            }
        } else {
            // Copies of one clip (balance draws positives with replacement) form one unit, so no
            // clip is both trained on and validated against.
            struct ClipIdentity: Hashable { var file: String; var start: Double; var end: Double }
            var byClip: [ClipIdentity: Int] = [:]
            unitRows = []
            for (i, row) in table.rows.enumerated() {
                let key = ClipIdentity(file: row.file, start: row.start, end: row.end)
                if let u = byClip[key] { unitRows[u].append(i) } else { byClip[key] = unitRows.count; unitRows.append([i]) }
            }
            guard unitRows.count >= 2 else {
                throw AnnotationsError.cannotProceed(reason: "cannot split copies of a single clip into two sets")
            }
        }
        let labelCount = table.classes.count + 1   // the last is "negative"
        let unitCounts: [[Int]] = unitRows.map { indices in
            var counts = [Int](repeating: 0, count: labelCount)
            for i in indices {
                let row = table.rows[i]
                if row.isNegative { counts[labelCount - 1] += 1 }
                for (c, v) in row.labels.enumerated() where v != 0 { counts[c] += 1 }
            }
            return counts
        }
        var random = SeededRandom(seed: seed)
        var order = Array(unitRows.indices)
        random.shuffle(&order)

        // Remaining quotas: [set][label] and [set] (0 = train, 1 = validation).
        let f = validationFraction
        var totals = [Int](repeating: 0, count: labelCount)
        for counts in unitCounts { for j in 0..<labelCount { totals[j] += counts[j] } }
        var quota: [[Double]] = [totals.map { Double($0) * (1 - f) }, totals.map { Double($0) * f }]
        var room: [Double] = [Double(table.rows.count) * (1 - f), Double(table.rows.count) * f]
        var assignment = [Int](repeating: -1, count: unitRows.count)
        var remaining = totals

        while let label = (0..<labelCount).filter({ remaining[$0] > 0 }).min(by: { remaining[$0] < remaining[$1] }) {
            for u in order where assignment[u] < 0 && unitCounts[u][label] > 0 {
                let set: Int
                if quota[0][label] != quota[1][label] {
                    set = quota[0][label] > quota[1][label] ? 0 : 1
                } else if room[0] != room[1] {
                    set = room[0] > room[1] ? 0 : 1
                } else {
                    set = random.integer(below: 2)
                }
                assignment[u] = set
                for j in 0..<labelCount {
                    quota[set][j] -= Double(unitCounts[u][j])
                    remaining[j] -= unitCounts[u][j]
                }
                room[set] -= Double(unitRows[u].count)
            }
        }
        var train: [ClipLabelRow] = [], validation: [ClipLabelRow] = []
        var setOfRow = [Int](repeating: 0, count: table.rows.count)
        for (u, rows) in unitRows.enumerated() { for i in rows { setOfRow[i] = assignment[u] } }
        for (i, row) in table.rows.enumerated() {
            if setOfRow[i] == 1 { validation.append(row) } else { train.append(row) }
        }
        return (ClipLabelTable(classes: table.classes, rows: train, baseDirectory: table.baseDirectory),
                ClipLabelTable(classes: table.classes, rows: validation, baseDirectory: table.baseDirectory))
    }
}
