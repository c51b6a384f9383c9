import Foundation

/// Scores and 0/1 labels of the same clips, aligned row by row: the input of every metric,
/// plot and review list. Built by `Evaluator.join` from files, or directly from arrays
/// (e.g. by the trainer's validation pass).
public struct EvaluationData: Sendable {
    public let classes: [String]
    public let clips: [ClipKey]
    /// `scores[c][i]`: score of clip `i` for class `c` (column per class).
    public let scores: [[Double]]
    /// `labels[c][i]`: whether clip `i` is labelled with class `c`.
    public let labels: [[Bool]]

    /// From per-clip rows: `scoreRows[i][c]`, `labelRows[i][c]`. Clips may be empty keys when
    /// their identity does not matter (review lists then show empty file names).
    public init(classes: [String], clips: [ClipKey], scoreRows: [[Double]], labelRows: [[Bool]]) throws {
        guard scoreRows.count == clips.count, labelRows.count == clips.count else {
            throw EvaluationError.shape("evaluation data: \(clips.count) clips, \(scoreRows.count) score rows, \(labelRows.count) label rows")
        }
        for i in clips.indices {
            guard scoreRows[i].count == classes.count, labelRows[i].count == classes.count else {
                throw EvaluationError.shape("evaluation data: clip \(i) (\(clips[i])) has \(scoreRows[i].count) scores and \(labelRows[i].count) labels for \(classes.count) classes")
            }
            if let bad = scoreRows[i].first(where: { !$0.isFinite }) {
                throw EvaluationError.shape("evaluation data: clip \(i) (\(clips[i])) has a non-finite score (\(bad))")
            }
        }
        self.classes = classes
        self.clips = clips
        self.scores = classes.indices.map { c in scoreRows.map { $0[c] } }
        self.labels = classes.indices.map { c in labelRows.map { $0[c] } }
    }

    public var clipCount: Int { clips.count }

    /// Scores of the clips labelled positive / negative for class `c`.
    public func scoresByLabel(classIndex c: Int) -> (positives: [Double], negatives: [Double]) {
        var positives: [Double] = [], negatives: [Double] = []
        for (score, label) in zip(scores[c], labels[c]) {
            if label { positives.append(score) } else { negatives.append(score) }
        }
        return (positives, negatives)
    }

    /// Whether clip `i` carries no label at all.
    public func isUnlabelled(clip i: Int) -> Bool { !labels.contains { $0[i] } }
}
