import Foundation

/// One line of a general line chart.
public struct PlotSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    public var color: String
    public var dashed: Bool

    public init(name: String, points: [(x: Double, y: Double)], color: String, dashed: Bool = false) {
        self.name = name
        self.points = points
        self.color = color
        self.dashed = dashed
    }
}

/// SVG pictures of one class's evaluation, written without any plotting library. Each returns
/// a complete `<svg>` document that is also valid inline in HTML.
public enum Plots {
    /// Most points drawn per curve; longer threshold tables are thinned evenly (first and last kept).
    public static let maxCurvePoints = 2000

    /// Precision against recall as the step curve whose area is the average precision, with the
    /// no-skill line at the share of positives and the operating point at `threshold`.
    public static func prCurveSVG(className: String, scores: [Double], labels: [Bool], threshold: Double) -> String {
        let table = Metrics.thresholdTable(scores: scores, labels: labels)
        let ap = Metrics.averagePrecision(table: table)
        var chart = SVGChart(title: "\(className): precision–recall (AP \(Markup.metric(ap)))",
                             xLabel: "recall", yLabel: "precision", xDomain: 0...1, yDomain: 0...1.02)
        let positives = labels.filter { $0 }.count
        guard positives > 0 else {
            chart.addNote("undefined: no clips labelled \(className)")
            return chart.render()
        }
        let prevalence = Double(positives) / Double(labels.count)
        chart.addPath([(0, prevalence), (1, prevalence)], color: ChartColors.gray, width: 1.5, dashed: true)
        var points: [(Double, Double)] = []
        var previousRecall = 0.0
        // Lower thresholds after the first that reaches full recall add nothing to the area; the
        // curve stops there (as scikit-learn's curve used to), avoiding a drop along recall = 1.
        let upToFullRecall = table.firstIndex { $0.falseNegatives == 0 }.map { Array(table.prefix(through: $0)) } ?? table
        for row in thinned(upToFullRecall) {
            guard let p = row.precision, let r = row.recall else { continue }
            points.append((previousRecall, p))
            points.append((r, p))
            previousRecall = r
        }
        chart.addPath(points, color: ChartColors.blue, width: 2.2)
        let operating = Metrics.counts(scores: scores, labels: labels, threshold: threshold)
        chart.legend = [LegendEntry("classifier", color: ChartColors.blue),
                        LegendEntry("no skill (\(Markup.metric(prevalence)))", color: ChartColors.gray, symbol: .dashedLine)]
        if let p = operating.precision, let r = operating.recall {
            chart.addDot(x: r, y: p, color: ChartColors.orange)
            chart.legend.append(LegendEntry("threshold \(Markup.score(threshold)): P \(Markup.metric(p)), R \(Markup.metric(r))",
                                             color: ChartColors.orange, symbol: .dot))
        }
        return chart.render()
    }

    /// Precision, recall and F1 against the threshold on one chart, with the chosen threshold marked.
    public static func precisionRecallVsThresholdSVG(className: String, scores: [Double], labels: [Bool], threshold: Double) -> String {
        let ascending = Array(Metrics.thresholdTable(scores: scores, labels: labels).reversed())
        let lowest = ascending.first?.threshold ?? 0, highest = ascending.last?.threshold ?? 1
        let domain = min(lowest, threshold)...max(highest, threshold)
        var chart = SVGChart(title: "\(className): precision and recall against threshold",
                             xLabel: "threshold (clip called positive when score ≥ threshold)", yLabel: "value",
                             xDomain: domain, yDomain: 0...1.02)
        chart.legend = [LegendEntry("precision", color: ChartColors.blue),
                        LegendEntry("recall", color: ChartColors.orange),
                        LegendEntry("F1", color: ChartColors.green, symbol: .dashedLine)]
        guard !ascending.isEmpty else {
            chart.addNote("no clips")
            return chart.render()
        }
        if ascending.first.map({ $0.truePositives + $0.falseNegatives }) == 0 {
            chart.addNote("recall undefined: no clips labelled \(className)")
        }
        let rows = thinned(ascending)
        func stepCurve(_ value: (ThresholdRow) -> Double?) -> [(Double, Double)] {
            // The counts at threshold t are those of the smallest score ≥ t, so each value
            // holds on (previous score, this score].
            var points: [(Double, Double)] = []
            var previousX: Double?
            for row in rows {
                guard let v = value(row) else { previousX = row.threshold; continue }
                points.append((previousX ?? row.threshold, v))
                points.append((row.threshold, v))
                previousX = row.threshold
            }
            return points
        }
        chart.addPath(stepCurve { $0.f1 }, color: ChartColors.green, width: 1.6, dashed: true)
        chart.addPath(stepCurve { $0.precision }, color: ChartColors.blue, width: 2.2)
        chart.addPath(stepCurve { $0.recall }, color: ChartColors.orange, width: 2.2)
        chart.addVerticalMarker(x: threshold, label: "threshold \(Markup.score(threshold))")
        return chart.render()
    }

    /// Overlapping semi-transparent histograms of the scores of clips labelled positive and of
    /// clips labelled negative, each as the share of its own group per bin.
    public static func scoreHistogramSVG(className: String, positiveScores: [Double], negativeScores: [Double],
                                         threshold: Double? = nil, bins requestedBins: Int? = nil) -> String {
        let all = positiveScores + negativeScores
        let lowest = all.min() ?? 0, highest = all.max() ?? 1
        let domain = SVGChart.widened(lowest...highest)
        let binCount = max(1, requestedBins ?? min(40, max(10, Int(Double(all.count).squareRoot()))))
        let width = (domain.upperBound - domain.lowerBound) / Double(binCount)
        func shares(_ scores: [Double]) -> [Double] {
            var counts = [Double](repeating: 0, count: binCount)
            for s in scores {
                let b = Int(((s - domain.lowerBound) / width).rounded(.down))
                counts[min(max(b, 0), binCount - 1)] += 1
            }
            return scores.isEmpty ? counts : counts.map { $0 / Double(scores.count) }
        }
        let positive = shares(positiveScores), negative = shares(negativeScores)
        let top = max(positive.max() ?? 0, negative.max() ?? 0)
        var chart = SVGChart(title: "\(className): scores of positive and negative clips",
                             xLabel: "score", yLabel: "share of the group's clips",
                             xDomain: domain, yDomain: 0...max(top * 1.08, 0.05))
        let opacity = 0.5
        chart.legend = [LegendEntry("labelled positive (n = \(positiveScores.count))", color: ChartColors.orange, symbol: .box(opacity: opacity)),
                        LegendEntry("labelled negative (n = \(negativeScores.count))", color: ChartColors.blue, symbol: .box(opacity: opacity))]
        for b in 0..<binCount {
            let x0 = domain.lowerBound + Double(b) * width
            chart.addRect(x0: x0, x1: x0 + width, y0: 0, y1: negative[b], color: ChartColors.blue, opacity: opacity)
            chart.addRect(x0: x0, x1: x0 + width, y0: 0, y1: positive[b], color: ChartColors.orange, opacity: opacity)
        }
        if all.isEmpty { chart.addNote("no clips") }
        if let threshold, domain.contains(threshold) {
            chart.addVerticalMarker(x: threshold, label: "threshold \(Markup.score(threshold))")
        }
        return chart.render()
    }

    /// A general line chart (e.g. training loss and validation AP per epoch).
    public static func lineChartSVG(title: String, xLabel: String, yLabel: String, series: [PlotSeries],
                                    yRange: ClosedRange<Double>? = nil) -> String {
        let xs = series.flatMap { $0.points.map(\.x) }.filter(\.isFinite)
        let ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let xDomain = (xs.min() ?? 0)...(xs.max() ?? 1)
        let yDomain = yRange ?? ((ys.min() ?? 0)...(ys.max() ?? 1))
        var chart = SVGChart(title: title, xLabel: xLabel, yLabel: yLabel, xDomain: xDomain, yDomain: yDomain)
        for s in series {
            chart.addPath(s.points.filter { $0.x.isFinite && $0.y.isFinite }.map { ($0.x, $0.y) },
                          color: s.color, width: 2, dashed: s.dashed)
            chart.legend.append(LegendEntry(s.name, color: s.color, symbol: s.dashed ? .dashedLine : .line))
        }
        if xs.isEmpty { chart.addNote("no data") }
        return chart.render()
    }

    /// At most `maxCurvePoints` rows, evenly spaced, keeping the first and the last.
    static func thinned(_ rows: [ThresholdRow]) -> [ThresholdRow] {
        guard rows.count > maxCurvePoints else { return rows }
        let step = Double(rows.count - 1) / Double(maxCurvePoints - 1)
        return (0..<maxCurvePoints).map { rows[Int((Double($0) * step).rounded())] }
    }
}
