import Foundation

/// Confusion counts and derived rates at one decision threshold ("score ≥ threshold" is positive).
public struct ThresholdRow: Equatable, Codable, Sendable {
    public let threshold: Double
    public let truePositives: Int
    public let falsePositives: Int
    public let falseNegatives: Int
    public let trueNegatives: Int

    public init(threshold: Double, truePositives: Int, falsePositives: Int, falseNegatives: Int, trueNegatives: Int) {
        self.threshold = threshold
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.trueNegatives = trueNegatives
    }

    /// TP / (TP + FP); undefined (nil) when nothing scores at or above the threshold.
    public var precision: Double? {
        let predicted = truePositives + falsePositives
        return predicted > 0 ? Double(truePositives) / Double(predicted) : nil
    }

    /// TP / (TP + FN); undefined (nil) when there are no positives.
    public var recall: Double? {
        let positives = truePositives + falseNegatives
        return positives > 0 ? Double(truePositives) / Double(positives) : nil
    }

    /// FP / (FP + TN); undefined (nil) when there are no negatives.
    public var falsePositiveRate: Double? {
        let negatives = falsePositives + trueNegatives
        return negatives > 0 ? Double(falsePositives) / Double(negatives) : nil
    }

    /// Harmonic mean of precision and recall; undefined when either is; 0 when both are 0.
    public var f1: Double? { Metrics.f1(precision: precision, recall: recall) }
}

/// Standard binary-classification metrics over one class's scores, matching scikit-learn's
/// definitions. Every function ranks non-finite scores (NaN) below all finite ones; callers
/// that read scores from files reject non-finite values before they get here.
/// `scores` and `labels` must have the same length (a programming error otherwise).
public enum Metrics {
    /// Average precision: Σ (R_n − R_{n−1}) · P_n over the distinct scores taken as thresholds in
    /// descending order (tied scores form one threshold), with R_0 = 0. This is
    /// `sklearn.metrics.average_precision_score`. Nil (undefined) when there are no positives.
    public static func averagePrecision(scores: [Double], labels: [Bool]) -> Double? {
        averagePrecision(table: thresholdTable(scores: scores, labels: labels))
    }

    /// Average precision from a table made by `thresholdTable` (saves sorting again).
    public static func averagePrecision(table: [ThresholdRow]) -> Double? {
        guard let positives = table.last.map({ $0.truePositives + $0.falseNegatives }), positives > 0 else { return nil }
        var previousRecall = 0.0
        var sum = 0.0
        for row in table {
            let recall = Double(row.truePositives) / Double(positives)
            if let precision = row.precision { sum += (recall - previousRecall) * precision }
            previousRecall = recall
        }
        return sum
    }

    /// Area under the ROC curve by the trapezoid rule over the distinct thresholds, starting at
    /// (0, 0); tied scores contribute one diagonal segment (so ties count half). This is
    /// `sklearn.metrics.roc_auc_score`. Nil (undefined) when there are no positives or no negatives.
    public static func rocAUC(scores: [Double], labels: [Bool]) -> Double? {
        rocAUC(table: thresholdTable(scores: scores, labels: labels))
    }

    /// ROC AUC from a table made by `thresholdTable` (saves sorting again).
    public static func rocAUC(table: [ThresholdRow]) -> Double? {
        guard let last = table.last else { return nil }
        let positives = last.truePositives + last.falseNegatives
        let negatives = last.falsePositives + last.trueNegatives
        guard positives > 0, negatives > 0 else { return nil }
        var area = 0.0
        var previous = (fpr: 0.0, tpr: 0.0)
        for row in table {
            let point = (fpr: Double(row.falsePositives) / Double(negatives), tpr: Double(row.truePositives) / Double(positives))
            area += (point.fpr - previous.fpr) * (point.tpr + previous.tpr) / 2
            previous = point
        }
        return area
    }

    /// Precision, recall and F1 when clips scoring at or above `threshold` are called positive.
    /// Precision is nil when no clip reaches the threshold, recall when there are no positives.
    public static func precisionRecall(scores: [Double], labels: [Bool], threshold: Double)
        -> (precision: Double?, recall: Double?, f1: Double?) {
        let row = counts(scores: scores, labels: labels, threshold: threshold)
        return (row.precision, row.recall, row.f1)
    }

    /// Confusion counts at one threshold ("score ≥ threshold" is positive).
    public static func counts(scores: [Double], labels: [Bool], threshold: Double) -> ThresholdRow {
        precondition(scores.count == labels.count, "Metrics: \(scores.count) scores but \(labels.count) labels")
        var tp = 0, fp = 0, fn = 0, tn = 0
        for (score, label) in zip(scores, labels) {
            let predicted = score >= threshold
            switch (predicted, label) {
            case (true, true): tp += 1
            case (true, false): fp += 1
            case (false, true): fn += 1
            case (false, false): tn += 1
            }
        }
        return ThresholdRow(threshold: threshold, truePositives: tp, falsePositives: fp, falseNegatives: fn, trueNegatives: tn)
    }

    /// One row per distinct score, in descending order of threshold: the counts when that score
    /// is the threshold. Empty when there are no scores.
    public static func thresholdTable(scores: [Double], labels: [Bool]) -> [ThresholdRow] {
        precondition(scores.count == labels.count, "Metrics: \(scores.count) scores but \(labels.count) labels")
        let rankable = scores.map { $0.isNaN ? -Double.infinity : $0 }
        let order = rankable.indices.sorted { rankable[$0] > rankable[$1] }
        let positives = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        let negatives = labels.count - positives
        var rows: [ThresholdRow] = []
        var tp = 0, fp = 0
        var k = 0
        while k < order.count {
            let threshold = rankable[order[k]]
            while k < order.count && rankable[order[k]] == threshold {
                if labels[order[k]] { tp += 1 } else { fp += 1 }
                k += 1
            }
            rows.append(ThresholdRow(threshold: threshold, truePositives: tp, falsePositives: fp,
                                     falseNegatives: positives - tp, trueNegatives: negatives - fp))
        }
        return rows
    }

    /// The threshold row with the highest F1 (the highest threshold among equal F1 values);
    /// nil when F1 is undefined everywhere (no positives).
    public static func bestF1(scores: [Double], labels: [Bool]) -> ThresholdRow? {
        bestF1(table: thresholdTable(scores: scores, labels: labels))
    }

    /// Best-F1 row of a table made by `thresholdTable`.
    public static func bestF1(table: [ThresholdRow]) -> ThresholdRow? {
        var best: (row: ThresholdRow, f1: Double)?
        for row in table {
            guard let f1 = row.f1 else { continue }
            if let current = best, f1 <= current.f1 { continue }
            best = (row, f1)
        }
        return best?.row
    }

    /// Harmonic mean of precision and recall: nil when either is undefined, 0 when both are 0.
    public static func f1(precision: Double?, recall: Double?) -> Double? {
        guard let p = precision, let r = recall else { return nil }
        return p + r > 0 ? 2 * p * r / (p + r) : 0
    }

    /// Mean of the defined values; nil when none is defined. Undefined values are left out,
    /// never counted as 0.
    public static func macroMean(_ values: [Double?]) -> Double? {
        let defined = values.compactMap { $0 }.filter { !$0.isNaN }
        guard !defined.isEmpty else { return nil }
        return defined.reduce(0, +) / Double(defined.count)
    }
}
