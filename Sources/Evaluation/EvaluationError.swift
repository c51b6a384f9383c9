import Foundation

/// Errors of the evaluation: each says which table, class or rows are at fault.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    /// Scores and labels name different classes.
    case classMismatch(onlyInScores: [String], onlyInLabels: [String], scoresSource: String, labelsSource: String)
    /// Rows of one table have no partner in the other. Lists hold at most `listLimit` keys each;
    /// the counts are the full numbers.
    case unmatchedRows(scoresWithoutLabels: [ClipKey], scoresWithoutLabelsCount: Int,
                       labelsWithoutScores: [ClipKey], labelsWithoutScoresCount: Int,
                       scoresSource: String, labelsSource: String)
    /// The same clip appears twice in one table.
    case duplicateClip(ClipKey, source: String)
    /// A class named by the user is not in the table.
    case classNotFound(name: String, available: [String], source: String)
    /// A file with a single `score` column needs the class it scores.
    case singleScoreNeedsClass(path: String)
    /// Nothing to evaluate.
    case noClips(source: String)
    /// Arrays of inconsistent sizes or values outside their domain.
    case shape(String)
    /// A threshold setting that cannot be used.
    case invalidThreshold(String)

    /// How many unmatched rows per table an error message lists.
    public static let listLimit = 20

    public var description: String {
        switch self {
        case let .classMismatch(onlyScores, onlyLabels, scores, labels):
            var parts = ["the classes of the scores (\(scores)) and the labels (\(labels)) differ:"]
            if !onlyScores.isEmpty { parts.append("only in scores: \(onlyScores.joined(separator: ", "))") }
            if !onlyLabels.isEmpty { parts.append("only in labels: \(onlyLabels.joined(separator: ", "))") }
            return parts.joined(separator: "\n  ")
        case let .unmatchedRows(scoresOnly, scoresCount, labelsOnly, labelsCount, scores, labels):
            var lines = ["scores (\(scores)) and labels (\(labels)) do not cover the same clips "
                + "(joined on file, start_time, end_time within \(ClipKey.timeTolerance) s):"]
            func list(_ keys: [ClipKey], count: Int, what: String) {
                guard count > 0 else { return }
                lines.append("\(count) \(what):")
                lines += keys.map { "    \($0)" }
                if count > keys.count { lines.append("    ... and \(count - keys.count) more") }
            }
            list(scoresOnly, count: scoresCount, what: "scored clip(s) have no labels")
            list(labelsOnly, count: labelsCount, what: "labelled clip(s) have no scores")
            if scoresCount > 0 {
                lines.append("If the scores cover more than the labels (a padded last clip from `predict --final-clip extend`, or "
                             + "recordings annotated only in part), score with `predict --final-clip none` to match labels made "
                             + "with the default `labels --final-clip none`, or pass `--ignore-unlabelled` to leave those clips out.")
            }
            if labelsCount > 0 && scoresCount == 0 {
                lines.append("If some recordings were not scored, score them too or evaluate against labels of the scored recordings only.")
            }
            return lines.joined(separator: "\n  ")
        case let .duplicateClip(key, source):
            return "\(source): clip \(key) appears more than once"
        case let .classNotFound(name, available, source):
            return "class '\(name)' is not in \(source); its classes are: \(available.joined(separator: ", "))"
        case let .singleScoreNeedsClass(path):
            return "\(path) has a single 'score' column (detector output); name the labelled class it scores (--class NAME)"
        case let .noClips(source):
            return "\(source): no clips to evaluate"
        case let .shape(message):
            return message
        case let .invalidThreshold(message):
            return message
        }
    }
}
