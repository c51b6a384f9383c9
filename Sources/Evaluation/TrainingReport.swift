import ChorusCore
import Foundation

/// What a training run's `report.html` shows: learning curves with the best epoch marked, the
/// data, the throughput and the provenance. Plain values, so the Pipeline fills it in without
/// this module knowing about training.
public struct TrainingReportData: Sendable {
    public struct Epoch: Sendable {
        public var epoch: Int
        public var trainLoss: Double
        public var validationLoss: Double?
        public var validationMAP: Double?
        public var classAP: [Double?]
        public var learningRate: Double
        public var samplesPerSecond: Double
        public var seconds: Double
        public var loaderWaitFraction: Double
        public init(epoch: Int, trainLoss: Double, validationLoss: Double?, validationMAP: Double?, classAP: [Double?], learningRate: Double,
                    samplesPerSecond: Double, seconds: Double, loaderWaitFraction: Double) {
            self.epoch = epoch; self.trainLoss = trainLoss; self.validationLoss = validationLoss; self.validationMAP = validationMAP
            self.classAP = classAP; self.learningRate = learningRate; self.samplesPerSecond = samplesPerSecond
            self.seconds = seconds; self.loaderWaitFraction = loaderWaitFraction
        }
    }

    /// Clips per class in one table (training, validation, overlays).
    public struct TableCounts: Sendable {
        public var name: String
        public var rows: Int
        public var positives: [Int]
        public var sha256: String?
        public init(name: String, rows: Int, positives: [Int], sha256: String?) {
            self.name = name; self.rows = rows; self.positives = positives; self.sha256 = sha256
        }
    }

    public var runName: String
    public var classes: [String]
    public var plannedEpochs: Int
    public var epochs: [Epoch]
    public var bestEpoch: Int
    public var tables: [TableCounts]
    public var skippedClips: [String]
    /// Label → value lines: device, command line, tool version, recipe...
    public var facts: [(String, String)]
    /// The configuration as pretty JSON.
    public var configurationJSON: String
    /// The run's result: `last.model` (the final epoch) or `best.model` (the best epoch).
    public var modelFile = "last.model"
    /// Training samples as the network sees them (PNG paths relative to the report).
    public var preview: [PreviewSample] = []

    /// A training sample as the network gets it in epoch 1 and without augmentation.
    public struct PreviewSample: Sendable, Equatable {
        public var file: String
        public var start: Double
        public var end: Double
        /// The classes the table labels, and those the network trains on (overlays may add some).
        public var labels: String
        public var trainingLabels: String
        public var clean: String?
        public var augmented: String
        public init(file: String, start: Double, end: Double, labels: String, trainingLabels: String, clean: String?, augmented: String) {
            self.file = file; self.start = start; self.end = end; self.labels = labels; self.trainingLabels = trainingLabels
            self.clean = clean; self.augmented = augmented
        }
    }

    public init(runName: String, classes: [String], plannedEpochs: Int, epochs: [Epoch], bestEpoch: Int, tables: [TableCounts],
                skippedClips: [String], facts: [(String, String)], configurationJSON: String) {
        self.runName = runName; self.classes = classes; self.plannedEpochs = plannedEpochs; self.epochs = epochs
        self.bestEpoch = bestEpoch; self.tables = tables; self.skippedClips = skippedClips; self.facts = facts
        self.configurationJSON = configurationJSON
    }
}

/// The training run's report page: one self-contained HTML file (inline SVG charts, no scripts).
public enum TrainingReport {
    public static let fileName = "report.html"

    static let classColors = [ChartColors.green, ChartColors.red, "#7c3aed", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"]

    /// "What the network sees": each preview sample without augmentation and as it enters the network.
    public static func previewSection(_ samples: [TrainingReportData.PreviewSample], augmentation: String?) -> String {
        func esc(_ s: String) -> String { Markup.escape(s) }
        var h = ["<section><h2>What the network sees</h2><p class=\"note\">A few training clips of each class, left without "
                 + "augmentation, right exactly as they enter the network in epoch 1 (after overlays and every augmentation step, "
                 + "with the labels it trains on)" + (augmentation.map { ": \(esc($0))" } ?? "") + ". Check here that a call is still "
                 + "visible after augmentation before a long run (<code>train --preview N</code> writes only this).</p><div class=\"preview\">"]
        for s in samples {
            let name = (s.file as NSString).lastPathComponent
            let changed = s.trainingLabels != s.labels ? " → trained as <b>\(esc(s.trainingLabels))</b>" : ""
            h.append("<figure class=\"sample\"><div class=\"pair\">"
                     + (s.clean.map { "<img alt=\"without augmentation\" title=\"without augmentation\" src=\"\(esc($0))\">" } ?? "<span class=\"undef\">unreadable</span>")
                     + "<img alt=\"as the network gets it\" title=\"as the network gets it in epoch 1\" src=\"\(esc(s.augmented))\"></div>"
                     + "<figcaption><b>\(esc(s.labels))</b>\(changed)<br><span class=\"file\">\(esc(name)) \(String(format: "%.2f–%.2f s", s.start, s.end))</span></figcaption></figure>")
        }
        h.append("</div></section>")
        return h.joined(separator: "\n")
    }

    /// A page with only the preview (`train --preview N`).
    public static func renderPreview(runName: String, samples: [TrainingReportData.PreviewSample], augmentation: String) -> String {
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + "<title>Preview: \(Markup.escape(runName))</title><style>\(HTMLReport.css)\(css)</style></head><body><main>"
            + "<header><h1>Preview: \(Markup.escape(runName))</h1></header>"
            + previewSection(samples, augmentation: augmentation) + "</main></body></html>\n"
    }

    static let css = """
    .preview { display: flex; flex-wrap: wrap; gap: 12px; }
    figure.sample { margin: 0; background: #fff; border: 1px solid var(--line); padding: 6px; }
    figure.sample .pair { display: flex; gap: 4px; }
    figure.sample img { width: 128px; height: 128px; image-rendering: pixelated; display: block; }
    figure.sample figcaption { font-size: 12px; max-width: 264px; }
    figure.sample .file { color: var(--muted); word-break: break-all; }
    """

    public static func render(_ d: TrainingReportData) -> String {
        func esc(_ s: String) -> String { Markup.escape(s) }
        var h: [String] = []
        h.append("<!DOCTYPE html>")
        h.append("<html lang=\"en\"><head><meta charset=\"utf-8\">")
        h.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        h.append("<title>Training report: \(esc(d.runName))</title>")
        h.append("<style>\(HTMLReport.css)\(css)</style></head><body><main>")
        h.append("<header><h1>Training report: \(esc(d.runName))</h1>")
        let done = d.epochs.count
        let best = d.epochs.first { $0.epoch == d.bestEpoch }
        let status = done >= d.plannedEpochs ? "finished" : "in progress"
        h.append("<p class=\"meta\">\(done) of \(d.plannedEpochs) epochs (\(status)); best epoch \(d.bestEpoch)"
                 + (best?.validationMAP.map { ", validation mAP \(Markup.metric($0))" } ?? "") + ". Rewritten after every epoch.</p></header>")

        h.append("<section><h2>Learning curves</h2><div class=\"plots\">")
        h.append("<figure>\(lossChart(d))</figure>")
        h.append("<figure>\(apChart(d))</figure>")
        h.append("<figure>\(learningRateChart(d))</figure>")
        let result = d.modelFile == "best.model" ? "the best epoch's weights (best.model, <code>--select-model best</code>)"
            : "the last epoch's weights (last.model, <code>--select-model last</code>)"
        h.append("</div><p class=\"note\">The dashed line marks the best epoch (highest validation mAP; ties go to the lower validation loss): "
                 + "its weights are best.model. The validation set is scored without augmentation after each epoch. "
                 + "The run's model, the one <code>predict --model &lt;run folder&gt;</code> uses, is \(result).</p></section>")

        if !d.preview.isEmpty { h.append(previewSection(d.preview, augmentation: d.facts.first { $0.0 == "augmentation" }?.1)) }

        h.append("<section><h2>Data</h2><table><thead><tr><th>table</th><th class=\"num\">clips</th>")
        for c in d.classes { h.append("<th class=\"num\">\(esc(c))</th>") }
        h.append("<th>SHA-256</th></tr></thead><tbody>")
        for t in d.tables {
            h.append("<tr><td>\(esc(t.name))</td><td class=\"num\">\(t.rows)</td>" + t.positives.map { "<td class=\"num\">\($0)</td>" }.joined()
                     + "<td><code>\(esc(t.sha256.map { String($0.prefix(16)) + "…" } ?? ""))</code></td></tr>")
        }
        h.append("</tbody></table>")
        if d.skippedClips.isEmpty {
            h.append("<p class=\"note\">No clip was skipped.</p>")
        } else {
            h.append("<p class=\"note\">\(d.skippedClips.count) clips were skipped (unreadable audio):</p><ul>"
                     + d.skippedClips.prefix(20).map { "<li>\(esc($0))</li>" }.joined() + "</ul>")
        }
        h.append("</section>")

        h.append("<section><h2>Epochs</h2><table><thead><tr><th class=\"num\">epoch</th><th class=\"num\">train loss</th>"
                 + "<th class=\"num\">validation loss</th><th class=\"num\">validation mAP</th>"
                 + d.classes.map { "<th class=\"num\">AP \(esc($0))</th>" }.joined()
                 + "<th class=\"num\">learning rate</th><th class=\"num\">samples/s</th><th class=\"num\">seconds</th><th class=\"num\">waiting for data</th></tr></thead><tbody>")
        for e in d.epochs {
            let mark = e.epoch == d.bestEpoch ? " class=\"best\"" : ""
            h.append("<tr\(mark)><td class=\"num\">\(e.epoch)\(e.epoch == d.bestEpoch ? " ★" : "")</td><td class=\"num\">\(String(format: "%.4f", e.trainLoss))</td>"
                     + "<td class=\"num\">\(e.validationLoss.map { String(format: "%.4f", $0) } ?? "–")</td><td class=\"num\">\(Markup.metric(e.validationMAP))</td>"
                     + e.classAP.map { "<td class=\"num\">\(Markup.metric($0))</td>" }.joined()
                     + "<td class=\"num\">\(String(format: "%.3g", e.learningRate))</td><td class=\"num\">\(String(format: "%.1f", e.samplesPerSecond))</td>"
                     + "<td class=\"num\">\(String(format: "%.0f", e.seconds))</td><td class=\"num\">\(String(format: "%.1f%%", 100 * e.loaderWaitFraction))</td></tr>")
        }
        h.append("</tbody></table></section>")

        h.append("<section><h2>Provenance</h2><table><tbody>")
        for (k, v) in d.facts { h.append("<tr><th>\(esc(k))</th><td><code>\(esc(v))</code></td></tr>") }
        h.append("</tbody></table><details><summary>Every training setting (config.json)</summary><pre>\(esc(d.configurationJSON))</pre></details></section>")
        h.append("<footer>Chorus \(esc(chorusVersion))</footer>")
        h.append("</main></body></html>")
        return h.joined(separator: "\n") + "\n"
    }

    static func epochDomain(_ d: TrainingReportData) -> ClosedRange<Double> { 1...Double(max(d.plannedEpochs, d.epochs.count, 2)) }

    static func markBest(_ chart: inout SVGChart, _ d: TrainingReportData) {
        if d.bestEpoch > 0 { chart.addVerticalMarker(x: Double(d.bestEpoch), label: "best \(d.bestEpoch)") }
    }

    static func lossChart(_ d: TrainingReportData) -> String {
        let train = d.epochs.filter { $0.trainLoss.isFinite }.map { (Double($0.epoch), $0.trainLoss) }
        let validation = d.epochs.compactMap { e in e.validationLoss.flatMap { $0.isFinite ? (Double(e.epoch), $0) : nil } }
        let top = max((train + validation).map(\.1).max() ?? 1, 1e-6)
        var chart = SVGChart(title: "Loss", xLabel: "epoch", yLabel: "loss", xDomain: epochDomain(d), yDomain: 0...top * 1.05)
        chart.legend = [LegendEntry("training", color: ChartColors.blue), LegendEntry("validation", color: ChartColors.orange)]
        chart.addPath(train, color: ChartColors.blue)
        chart.addPath(validation, color: ChartColors.orange)
        for p in train { chart.addDot(x: p.0, y: p.1, color: ChartColors.blue, radius: 3) }
        for p in validation { chart.addDot(x: p.0, y: p.1, color: ChartColors.orange, radius: 3) }
        markBest(&chart, d)
        return chart.render()
    }

    static func apChart(_ d: TrainingReportData) -> String {
        var chart = SVGChart(title: "Validation AP", xLabel: "epoch", yLabel: "average precision", xDomain: epochDomain(d), yDomain: 0...1)
        let map = d.epochs.compactMap { e in e.validationMAP.map { (Double(e.epoch), $0) } }
        chart.legend = [LegendEntry("mAP", color: ChartColors.blue)]
        chart.addPath(map, color: ChartColors.blue, width: 3)
        for (c, name) in d.classes.enumerated() where d.classes.count > 1 {
            let color = classColors[c % classColors.count]
            chart.legend.append(LegendEntry(name, color: color, symbol: .dashedLine))
            chart.addPath(d.epochs.compactMap { e in c < e.classAP.count ? e.classAP[c].map { (Double(e.epoch), $0) } : nil }, color: color, width: 1.5, dashed: true)
        }
        markBest(&chart, d)
        return chart.render()
    }

    static func learningRateChart(_ d: TrainingReportData) -> String {
        let points = d.epochs.map { (Double($0.epoch), $0.learningRate) }
        let top = max(points.map(\.1).max() ?? 1e-3, 1e-12)
        var chart = SVGChart(title: "Learning rate (end of epoch)", xLabel: "epoch", yLabel: "learning rate", xDomain: epochDomain(d), yDomain: 0...top * 1.05)
        chart.addPath(points, color: ChartColors.gray)
        for p in points { chart.addDot(x: p.0, y: p.1, color: ChartColors.gray, radius: 3) }
        markBest(&chart, d)
        return chart.render()
    }
}
