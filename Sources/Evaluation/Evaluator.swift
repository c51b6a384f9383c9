import ChorusCore
import Foundation

/// What to do with scored clips that the labels do not cover.
public enum UnlabelledScorePolicy: String, Sendable {
    /// Fail, listing them (default: a mismatch usually means the wrong files were paired).
    case error
    /// Leave them out (the recordings were scored in full but only partly annotated).
    case ignore
}

/// Joins scores with labels and computes the per-class and macro metrics.
public enum Evaluator {
    /// The aligned clips, and how many scored clips were left out because they have no labels.
    public struct Join: Sendable {
        public let data: EvaluationData
        public let ignoredUnlabelledScores: Int
    }

    /// Pairs every labelled clip with its scores on (file, start_time, end_time) within
    /// `ClipKey.timeTolerance`, in the labels' row order. Classes are matched by name (order
    /// may differ) and must be the same sets. Errors list up to `EvaluationError.listLimit`
    /// unmatched rows of each table.
    /// `endTolerance` (seconds) lets a clip's end time differ between the tables when file and
    /// start agree, e.g. RIBBIT's last clip, which ends at the last whole spectrogram frame.
    public static func join(scores: ScoreTable, labels: LabelMatrix,
                            unlabelledScores: UnlabelledScorePolicy = .error, endTolerance: Double = 0) throws -> Join {
        let scoreSet = Set(scores.classes), labelSet = Set(labels.classes)
        guard scoreSet == labelSet else {
            throw EvaluationError.classMismatch(onlyInScores: scores.classes.filter { !labelSet.contains($0) },
                                                onlyInLabels: labels.classes.filter { !scoreSet.contains($0) },
                                                scoresSource: scores.source, labelsSource: labels.source)
        }
        guard !labels.rows.isEmpty else { throw EvaluationError.noClips(source: labels.source) }
        let scoreColumn = labels.classes.map { name in scores.classes.firstIndex(of: name) ?? 0 }

        var scoreIndex = ClipIndex()
        for row in scores.rows where scoreIndex.insert(row.key) != nil {
            throw EvaluationError.duplicateClip(row.key, source: scores.source)
        }
        // Fallback lookup by (file, start) for end times that differ within `endTolerance`.
        var byStart: [String: [Int]] = [:]
        if endTolerance > 0 {
            for (i, row) in scores.rows.enumerated() { byStart[row.key.canonicalFile + "|" + String(format: "%.6f", row.key.startTime), default: []].append(i) }
        }
        func looseMatch(_ key: ClipKey) -> Int? {
            guard endTolerance > 0 else { return nil }
            return byStart[key.canonicalFile + "|" + String(format: "%.6f", key.startTime)]?.first { abs(scores.rows[$0].key.endTime - key.endTime) <= endTolerance }
        }
        var labelIndex = ClipIndex()
        var labelsWithoutScores: [ClipKey] = []
        var matchedScoreRows = [Bool](repeating: false, count: scores.rows.count)
        var scoreRows: [[Double]] = [], labelRows: [[Bool]] = [], clips: [ClipKey] = []
        for row in labels.rows {
            if labelIndex.insert(row.key) != nil { throw EvaluationError.duplicateClip(row.key, source: labels.source) }
            guard let s = scoreIndex.firstMatch(row.key) ?? looseMatch(row.key) else { labelsWithoutScores.append(row.key); continue }
            matchedScoreRows[s] = true
            clips.append(row.key)
            scoreRows.append(scoreColumn.map { scores.rows[s].scores[$0] })
            labelRows.append(row.labels.map { $0 == 1 })
        }
        let scoresWithoutLabels = scores.rows.indices.filter { !matchedScoreRows[$0] }.map { scores.rows[$0].key }
        let reportedScoresWithoutLabels = unlabelledScores == .error ? scoresWithoutLabels : []
        if !labelsWithoutScores.isEmpty || !reportedScoresWithoutLabels.isEmpty {
            let limit = EvaluationError.listLimit
            throw EvaluationError.unmatchedRows(
                scoresWithoutLabels: Array(reportedScoresWithoutLabels.prefix(limit)),
                scoresWithoutLabelsCount: reportedScoresWithoutLabels.count,
                labelsWithoutScores: Array(labelsWithoutScores.prefix(limit)),
                labelsWithoutScoresCount: labelsWithoutScores.count,
                scoresSource: scores.source, labelsSource: labels.source)
        }
        let data = try EvaluationData(classes: labels.classes, clips: clips, scoreRows: scoreRows, labelRows: labelRows)
        return Join(data: data, ignoredUnlabelledScores: scoresWithoutLabels.count)
    }

    /// Metrics of every class and their macro means.
    public static func evaluate(_ data: EvaluationData, thresholds: ThresholdSetting = ThresholdSetting()) throws -> EvaluationResult {
        try thresholds.validate(classes: data.classes)
        guard data.clipCount > 0 else { throw EvaluationError.noClips(source: "evaluation data") }
        let classes = data.classes.indices.map { c in
            ClassEvaluation(name: data.classes[c], scores: data.scores[c], labels: data.labels[c],
                            threshold: thresholds.threshold(for: data.classes[c]))
        }
        return EvaluationResult(classes: classes, clipCount: data.clipCount, thresholds: thresholds)
    }

    /// Joins and evaluates in one step.
    public static func evaluate(scores: ScoreTable, labels: LabelMatrix,
                                thresholds: ThresholdSetting = ThresholdSetting(),
                                unlabelledScores: UnlabelledScorePolicy = .error) throws -> EvaluationResult {
        let join = try join(scores: scores, labels: labels, unlabelledScores: unlabelledScores)
        var result = try evaluate(join.data, thresholds: thresholds)
        result.ignoredUnlabelledScores = join.ignoredUnlabelledScores
        return result
    }
}
