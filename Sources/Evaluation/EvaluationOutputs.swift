import ChorusCore
import Foundation

/// Writes the whole evaluation folder: metrics.json, thresholds.csv, the pictures of every
/// class, review lists, the hard-negatives table and report.html.
public enum EvaluationOutputs {
    /// Per class, every threshold: `class,threshold,true_positives,...,f1` (undefined values empty).
    public static func thresholdsCSV(data: EvaluationData) -> String {
        var out = CSV.line(["class", "threshold", "true_positives", "false_positives", "false_negatives", "true_negatives",
                            "precision", "recall", "f1"])
        func text(_ v: Double?) -> String { v.map { "\($0)" } ?? "" }
        for c in data.classes.indices {
            // Only the class name can need quoting; numbers are joined directly (much faster
            // than quoting-aware joining for the hundreds of thousands of rows of long runs).
            let name = CSV.escape(data.classes[c])
            for row in Metrics.thresholdTable(scores: data.scores[c], labels: data.labels[c]) {
                out += "\(name),\(row.threshold),\(row.truePositives),\(row.falsePositives),\(row.falseNegatives),"
                    + "\(row.trueNegatives),\(text(row.precision)),\(text(row.recall)),\(text(row.f1))\n"
            }
        }
        return out
    }

    /// The names of the files `write` writes for these classes, in its order, so a command can
    /// check every one of them before it writes any.
    public static func fileNames(classes: [String]) -> [String] {
        ["metrics.json", "thresholds.csv"]
            + OutputNames.fileStems(for: classes).flatMap { ["pr_\($0).svg", "threshold_\($0).svg", "histogram_\($0).svg", "review_\($0).csv"] }
            + ["hard_negatives.csv", HTMLReport.fileName]
    }

    /// Writes every output into `dir` (created if needed) and returns the paths written. All of
    /// them are written together: on a full disk none is replaced, rather than some.
    /// `reviewCount` clips of each kind per class go to the review lists.
    @discardableResult
    public static func write(data: EvaluationData, result: EvaluationResult, reviewCount: Int,
                             extraSections: [HTMLSection] = [], reviewMedia: Set<String> = [], to dir: String) throws -> [String] {
        var files: [(data: Data, path: String)] = []
        func put(_ name: String, _ text: String) {
            files.append((Data(text.utf8), (dir as NSString).appendingPathComponent(name)))
        }
        var json = try result.jsonData()
        json.append(contentsOf: Array("\n".utf8))
        files.append((json, (dir as NSString).appendingPathComponent("metrics.json")))
        put("thresholds.csv", thresholdsCSV(data: data))

        let stems = OutputNames.fileStems(for: data.classes)
        let reviewLists = ReviewList.all(data: data, count: reviewCount)
        var plots: [ClassPlots] = []
        for c in data.classes.indices {
            let p = ClassPlots(data: data, classIndex: c, threshold: result.thresholds.threshold(for: data.classes[c]))
            put("pr_\(stems[c]).svg", p.precisionRecall)
            put("threshold_\(stems[c]).svg", p.precisionRecallVsThreshold)
            put("histogram_\(stems[c]).svg", p.scoreHistogram)
            put("review_\(stems[c]).csv", reviewLists[c].csvText())
            plots.append(p)
        }
        let hardNegatives = HardNegatives.clips(data: data, reviewLists: reviewLists)
        put("hard_negatives.csv", HardNegatives.csvText(clips: hardNegatives, classes: data.classes))
        put(HTMLReport.fileName, HTMLReport.render(result: result, plots: plots, reviewLists: reviewLists, extraSections: extraSections,
                                                   reviewMedia: reviewMedia, hardNegativeCount: hardNegatives.count))
        try AtomicFile.writeTogether(files)
        return files.map(\.path)
    }
}
