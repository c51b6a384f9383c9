import ChorusCore
import Foundation

/// Why a clip is worth listening to.
public enum ReviewKind: String, Codable, Sendable {
    /// Labelled negative but scored high: a false alarm, a missed annotation, or a look-alike sound.
    case highScoringNegative = "high_scoring_negative"
    /// Labelled positive but scored low: a missed detection or a doubtful label.
    case lowScoringPositive = "low_scoring_positive"
}

/// One clip to review.
public struct ReviewEntry: Codable, Equatable, Sendable {
    public var kind: ReviewKind
    /// 1 for the most surprising clip of its kind.
    public var rank: Int
    /// Row of the clip in the `EvaluationData` the list was made from.
    public var index: Int
    public var clip: ClipKey
    public var score: Double
}

/// For one class, the N highest-scoring negatives and the N lowest-scoring positives: the
/// clips to listen to before deciding how to retrain.
public struct ReviewList: Equatable, Sendable {
    public var className: String
    public var highScoringNegatives: [ReviewEntry]
    public var lowScoringPositives: [ReviewEntry]

    /// Builds the list for class `classIndex` of `data` with at most `count` clips of each kind.
    /// Ties in score keep the clips' order in the data.
    public init(data: EvaluationData, classIndex c: Int, count: Int) {
        className = data.classes[c]
        let scores = data.scores[c], labels = data.labels[c]
        let negatives = scores.indices.filter { !labels[$0] }
            .sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        let positives = scores.indices.filter { labels[$0] }
            .sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
        let n = max(0, count)
        highScoringNegatives = negatives.prefix(n).enumerated().map { rank, i in
            ReviewEntry(kind: .highScoringNegative, rank: rank + 1, index: i, clip: data.clips[i], score: scores[i])
        }
        lowScoringPositives = positives.prefix(n).enumerated().map { rank, i in
            ReviewEntry(kind: .lowScoringPositive, rank: rank + 1, index: i, clip: data.clips[i], score: scores[i])
        }
    }

    /// All entries, high-scoring negatives first.
    public var entries: [ReviewEntry] { highScoringNegatives + lowScoringPositives }

    /// `kind,rank,file,start_time,end_time,score,label` (label is the clip's 0/1 label for the class).
    public func csvText() -> String {
        var out = CSV.line(["kind", "rank", "file", "start_time", "end_time", "score", "label"])
        for e in entries {
            out += CSV.line([e.kind.rawValue, String(e.rank), e.clip.file, formatSeconds(e.clip.startTime),
                             formatSeconds(e.clip.endTime), "\(e.score)", e.kind == .lowScoringPositive ? "1" : "0"])
        }
        return out
    }

    /// Builds the lists of every class.
    public static func all(data: EvaluationData, count: Int) -> [ReviewList] {
        data.classes.indices.map { ReviewList(data: data, classIndex: $0, count: count) }
    }
}

/// The high-scoring negatives of every class that carry no label at all, as a labels table
/// (`file,start_time,end_time,<class>...`, all zeros) ready to be added to the training data as
/// negatives or overlay backgrounds. Clips labelled with any class are left out, since a row of
/// zeros would mislabel them. Ordered by their highest review score, each clip once.
public enum HardNegatives {
    public static func clips(data: EvaluationData, reviewLists: [ReviewList]) -> [ClipKey] {
        var best: [Int: Double] = [:]
        for entry in reviewLists.flatMap(\.highScoringNegatives) {
            let i = entry.index
            guard data.clips.indices.contains(i), data.isUnlabelled(clip: i) else { continue }
            best[i] = max(best[i] ?? -.infinity, entry.score)
        }
        return best.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { data.clips[$0.key] }
    }

    public static func csvText(data: EvaluationData, reviewLists: [ReviewList]) -> String {
        csvText(clips: clips(data: data, reviewLists: reviewLists), classes: data.classes)
    }

    /// The table of `clips` (found by `clips(data:reviewLists:)`).
    public static func csvText(clips: [ClipKey], classes: [String]) -> String {
        var out = CSV.line(["file", "start_time", "end_time"] + classes)
        let zeros = [String](repeating: "0", count: classes.count)
        for clip in clips {
            out += CSV.line([clip.file, formatSeconds(clip.startTime), formatSeconds(clip.endTime)] + zeros)
        }
        return out
    }
}
