import ChorusCore
import Foundation

/// Metrics of one class. Undefined values (no positives, no negatives, nothing above the
/// threshold) are nil and encode as JSON null.
public struct ClassEvaluation: Codable, Equatable, Sendable {
    public var name: String
    public var positives: Int
    public var negatives: Int
    public var averagePrecision: Double?
    public var rocAUC: Double?
    /// The threshold used for the counts below.
    public var threshold: Double
    public var truePositives: Int
    public var falsePositives: Int
    public var falseNegatives: Int
    public var trueNegatives: Int
    public var precision: Double?
    public var recall: Double?
    public var f1: Double?
    /// The threshold with the highest F1 over all thresholds, and that F1.
    public var bestF1Threshold: Double?
    public var bestF1: Double?

    /// Computes every metric of one class.
    public init(name: String, scores: [Double], labels: [Bool], threshold: Double) {
        self.name = name
        let counts = Metrics.counts(scores: scores, labels: labels, threshold: threshold)
        positives = counts.truePositives + counts.falseNegatives
        negatives = counts.falsePositives + counts.trueNegatives
        let table = Metrics.thresholdTable(scores: scores, labels: labels)
        averagePrecision = Metrics.averagePrecision(table: table)
        rocAUC = Metrics.rocAUC(table: table)
        self.threshold = threshold
        truePositives = counts.truePositives
        falsePositives = counts.falsePositives
        falseNegatives = counts.falseNegatives
        trueNegatives = counts.trueNegatives
        precision = counts.precision
        recall = counts.recall
        f1 = counts.f1
        let best = Metrics.bestF1(table: table)
        bestF1Threshold = best?.threshold
        bestF1 = best?.f1
    }

    enum CodingKeys: String, CodingKey {
        case name, positives, negatives
        case averagePrecision = "average_precision"
        case rocAUC = "roc_auc"
        case threshold
        case truePositives = "true_positives"
        case falsePositives = "false_positives"
        case falseNegatives = "false_negatives"
        case trueNegatives = "true_negatives"
        case precision, recall, f1
        case bestF1Threshold = "best_f1_threshold"
        case bestF1 = "best_f1"
    }

    // Written by hand so that undefined values appear as null instead of being left out.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(positives, forKey: .positives)
        try c.encode(negatives, forKey: .negatives)
        try c.encode(averagePrecision, forKey: .averagePrecision)
        try c.encode(rocAUC, forKey: .rocAUC)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(truePositives, forKey: .truePositives)
        try c.encode(falsePositives, forKey: .falsePositives)
        try c.encode(falseNegatives, forKey: .falseNegatives)
        try c.encode(trueNegatives, forKey: .trueNegatives)
        try c.encode(precision, forKey: .precision)
        try c.encode(recall, forKey: .recall)
        try c.encode(f1, forKey: .f1)
        try c.encode(bestF1Threshold, forKey: .bestF1Threshold)
        try c.encode(bestF1, forKey: .bestF1)
    }
}

/// Metrics of every class and their macro means (means over the classes where the metric is
/// defined; undefined classes are left out, never counted as 0).
public struct EvaluationResult: Codable, Equatable, Sendable {
    public var classes: [ClassEvaluation]
    public var clipCount: Int
    public var thresholds: ThresholdSetting
    public var macroAP: Double?
    public var macroAUC: Double?
    public var macroPrecision: Double?
    public var macroRecall: Double?
    public var macroF1: Double?
    /// Scored clips left out because the labels do not cover them (see `UnlabelledScorePolicy`).
    public var ignoredUnlabelledScores: Int
    /// Free-form provenance (input paths, version), shown in the report.
    public var metadata: [String: String]

    public init(classes: [ClassEvaluation], clipCount: Int, thresholds: ThresholdSetting,
                ignoredUnlabelledScores: Int = 0, metadata: [String: String] = [:]) {
        self.classes = classes
        self.clipCount = clipCount
        self.thresholds = thresholds
        macroAP = Metrics.macroMean(classes.map(\.averagePrecision))
        macroAUC = Metrics.macroMean(classes.map(\.rocAUC))
        macroPrecision = Metrics.macroMean(classes.map(\.precision))
        macroRecall = Metrics.macroMean(classes.map(\.recall))
        macroF1 = Metrics.macroMean(classes.map(\.f1))
        self.ignoredUnlabelledScores = ignoredUnlabelledScores
        self.metadata = metadata
    }

    /// Pretty-printed JSON with sorted keys; undefined values are null.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    enum CodingKeys: String, CodingKey {
        case classes
        case clipCount = "clip_count"
        case thresholds
        case macroAP = "macro_average_precision"
        case macroAUC = "macro_roc_auc"
        case macroPrecision = "macro_precision"
        case macroRecall = "macro_recall"
        case macroF1 = "macro_f1"
        case ignoredUnlabelledScores = "ignored_unlabelled_scores"
        case metadata
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(classes, forKey: .classes)
        try c.encode(clipCount, forKey: .clipCount)
        try c.encode(thresholds, forKey: .thresholds)
        try c.encode(macroAP, forKey: .macroAP)
        try c.encode(macroAUC, forKey: .macroAUC)
        try c.encode(macroPrecision, forKey: .macroPrecision)
        try c.encode(macroRecall, forKey: .macroRecall)
        try c.encode(macroF1, forKey: .macroF1)
        try c.encode(ignoredUnlabelledScores, forKey: .ignoredUnlabelledScores)
        try c.encode(metadata, forKey: .metadata)
    }
}
