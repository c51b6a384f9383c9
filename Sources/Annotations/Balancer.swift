import ChorusCore
import Foundation

/// How many negative clips (no class present) a balanced table keeps.
public enum NegativePolicy: Sendable, Equatable {
    /// Keep every negative.
    case keepAll
    /// At most `ratio` × the number of positive rows drawn (1–2 is a good range).
    case ratio(Double)
    /// At most this many.
    case count(Int)
}

/// What the balancer did, for reports and provenance.
public struct BalanceReport: Sendable, Equatable {
    public struct ClassDraw: Sendable, Equatable {
        public var name: String
        /// Positive clips available for the class.
        public var available: Int
        /// Rows drawn for the class (the target, when resampling).
        public var drawn: Int
    }
    public var classes: [ClassDraw]
    public var rowsBeyondTimeLimit: Int
    public var negativesAvailable: Int
    public var negativesKept: Int
    public var silentNegativesKept: Int
}

/// Resamples a labels table so each class has the same number of positives, negatives are
/// capped relative to positives, near-silent negatives are capped, and long recordings
/// contribute only their first seconds. Seeded and deterministic.
///
/// Per class with n positives and target N: ⌊N/n⌋ whole copies of its positives, then N mod n
/// more drawn at random without replacement; with n ≥ N, N drawn without replacement. A row
/// positive for several classes is counted for each (it can be drawn once per class), as in
/// the reference toolkit. Output: each class's draws in class order, then the negatives.
public struct Balancer: Sendable {
    /// Positives per class; nil keeps every positive once (no resampling).
    public var samplesPerClass: Int?
    public var negatives: NegativePolicy
    /// Largest share of the kept negatives that may be near-silent; nil: no silence check.
    public var maxSilentFraction: Double?
    /// A clip is near-silent when its RMS (full scale = 1) is below this.
    public var silenceThreshold: Double
    /// Keep only clips that end within this many seconds of their recording's start.
    public var secondsPerFile: Double?
    public var seed: UInt64

    public init(samplesPerClass: Int? = nil, negatives: NegativePolicy = .ratio(1), maxSilentFraction: Double? = 0.2,
                silenceThreshold: Double = 0.001, secondsPerFile: Double? = nil, seed: UInt64) {
        self.samplesPerClass = samplesPerClass
        self.negatives = negatives
        self.maxSilentFraction = maxSilentFraction
        self.silenceThreshold = silenceThreshold
        self.secondsPerFile = secondsPerFile
        self.seed = seed
    }

    /// Balances `table`. `rms` gives a clip's RMS; it is called only for negatives and only
    /// when `maxSilentFraction` is set.
    public func balance(_ table: ClipLabelTable, rms: (ClipLabelRow) throws -> Double) throws -> (table: ClipLabelTable, report: BalanceReport) {
        try validate()
        var random = SeededRandom(seed: seed)
        var rows = table.rows
        var beyond = 0
        if let secondsPerFile {
            let kept = rows.filter { $0.end <= secondsPerFile + 1e-9 }
            beyond = rows.count - kept.count
            rows = kept
        }
        var output: [ClipLabelRow] = []
        var draws: [BalanceReport.ClassDraw] = []
        for (c, name) in table.classes.enumerated() {
            let positives = rows.filter { $0.labels[c] != 0 }
            var drawn: [ClipLabelRow] = []
            if let target = samplesPerClass {
                if positives.isEmpty && target > 0 {
                    throw AnnotationsError.cannotProceed(reason: "class '\(name)' has no positive clips\(beyond > 0 ? " within the first \(formatNumber(secondsPerFile ?? 0)) s of each file" : ""), so \(target) cannot be drawn; drop the class (labels --classes) or add annotations")
                }
                if !positives.isEmpty {
                    let copies = target / positives.count, remainder = target % positives.count
                    for _ in 0..<copies { drawn += positives }
                    drawn += random.sample(remainder, from: positives.count).sorted().map { positives[$0] }
                }
            } else {
                drawn = positives
            }
            draws.append(.init(name: name, available: positives.count, drawn: drawn.count))
            output += drawn
        }
        let positiveRows = output.count
        let negativeRows = rows.filter(\.isNegative)
        let cap: Int
        switch negatives {
        case .keepAll: cap = negativeRows.count
        case let .ratio(r):
            // Compared before converting: r × positives may be far past Int.max; more than exist keeps them all.
            cap = CheckedCount.exact(r * Double(positiveRows), rounding: .down, maximum: negativeRows.count) ?? negativeRows.count
        case let .count(n): cap = min(negativeRows.count, n)
        }
        let (keptNegatives, silentKept) = try chooseNegatives(negativeRows, cap: cap, random: &random, rms: rms)
        output += keptNegatives
        let report = BalanceReport(classes: draws, rowsBeyondTimeLimit: beyond, negativesAvailable: negativeRows.count,
                                   negativesKept: keptNegatives.count, silentNegativesKept: silentKept)
        return (ClipLabelTable(classes: table.classes, rows: output, baseDirectory: table.baseDirectory), report)
    }

    /// Draws up to `cap` negatives in random order, letting near-silent ones in only while they
    /// stay within `maxSilentFraction` of the cap; if too few loud ones exist, silent ones are
    /// removed again until they are within that share of what was kept. Kept in table order.
    func chooseNegatives(_ negatives: [ClipLabelRow], cap: Int, random: inout SeededRandom,
                         rms: (ClipLabelRow) throws -> Double) throws -> ([ClipLabelRow], Int) {
        guard cap > 0 else { return ([], 0) }
        let order = random.sample(negatives.count, from: negatives.count)
        guard let fraction = maxSilentFraction else {
            return (order.prefix(cap).sorted().map { negatives[$0] }, 0)
        }
        let silentAllowed = Int((fraction * Double(cap)).rounded(.down))
        var accepted: [(index: Int, silent: Bool)] = []
        var silentCount = 0
        for i in order where accepted.count < cap {
            let value = try rms(negatives[i])
            let silent = value < silenceThreshold
            if silent {
                if silentCount >= silentAllowed { continue }
                silentCount += 1
            }
            accepted.append((i, silent))
        }
        // Fewer loud negatives than hoped: drop the last-drawn silent ones until the share holds.
        while silentCount > 0, Double(silentCount) > fraction * Double(accepted.count) + 1e-9,
              let last = accepted.lastIndex(where: { $0.silent }) {
            accepted.remove(at: last)
            silentCount -= 1
        }
        return (accepted.map(\.index).sorted().map { negatives[$0] }, silentCount)
    }

    /// A larger balanced table than this per class is a mistake, not a dataset.
    public static let maximumSamplesPerClass = 1_000_000
    /// More negatives per positive than this is a mistake (keeping every negative has its own option).
    public static let maximumNegativesRatio = 1_000_000.0

    func validate() throws {
        if let n = samplesPerClass, n < 1 || n > Self.maximumSamplesPerClass {
            throw AnnotationsError.invalidParameter(name: "samples per class (--per-class)", reason: "\(n); it must be between 1 and \(Self.maximumSamplesPerClass)")
        }
        switch negatives {
        case let .ratio(r) where !(r.isFinite && r >= 0 && r <= Self.maximumNegativesRatio):
            throw AnnotationsError.invalidParameter(name: "negatives ratio (--negatives-ratio)",
                reason: "\(r); it must be between 0 and \(CheckedCount.formatNumber(Self.maximumNegativesRatio)) (1–2 is a good range; --keep-all-negatives keeps every negative)")
        case let .count(n) where n < 0:
            throw AnnotationsError.invalidParameter(name: "negatives count", reason: "\(n); it must be ≥ 0")
        default: break
        }
        if let f = maxSilentFraction, !(f >= 0 && f <= 1) {
            throw AnnotationsError.invalidParameter(name: "max silent fraction", reason: "\(f); it must be in [0, 1]")
        }
        if !(silenceThreshold.isFinite && silenceThreshold >= 0) {
            throw AnnotationsError.invalidParameter(name: "silence threshold", reason: "\(silenceThreshold); it must be an RMS ≥ 0")
        }
        if let s = secondsPerFile, !(s.isFinite && s > 0) {
            throw AnnotationsError.invalidParameter(name: "seconds per file", reason: "\(s); it must be > 0")
        }
    }
}
