import ChorusCore
import Foundation

/// The three pictures of one class, as SVG text.
public struct ClassPlots: Sendable {
    public var className: String
    public var precisionRecall: String
    public var precisionRecallVsThreshold: String
    public var scoreHistogram: String

    public init(className: String, precisionRecall: String, precisionRecallVsThreshold: String, scoreHistogram: String) {
        self.className = className
        self.precisionRecall = precisionRecall
        self.precisionRecallVsThreshold = precisionRecallVsThreshold
        self.scoreHistogram = scoreHistogram
    }

    /// Draws the three pictures of class `c`.
    public init(data: EvaluationData, classIndex c: Int, threshold: Double) {
        let name = data.classes[c]
        let split = data.scoresByLabel(classIndex: c)
        self.init(className: name,
                  precisionRecall: Plots.prCurveSVG(className: name, scores: data.scores[c], labels: data.labels[c], threshold: threshold),
                  precisionRecallVsThreshold: Plots.precisionRecallVsThresholdSVG(className: name, scores: data.scores[c],
                                                                                labels: data.labels[c], threshold: threshold),
                  scoreHistogram: Plots.scoreHistogramSVG(className: name, positiveScores: split.positives,
                                                          negativeScores: split.negatives, threshold: threshold))
    }
}

/// A section added to the report by its caller (e.g. the trainer's loss curves).
public struct HTMLSection: Sendable {
    public var title: String
    /// Trusted HTML (may contain inline SVG).
    public var html: String

    public init(title: String, html: String) {
        self.title = title
        self.html = html
    }
}

/// One self-contained HTML page (inline CSS and SVG, no external files) with the metrics
/// table, the pictures of every class and the review lists.
public enum HTMLReport {
    public static let fileName = "report.html"

    /// `reviewMedia`: the files under `review_clips/` that exist (`<class>/<name>.wav` and `.png`),
    /// shown as a player and a picture beside each clip to review.
    public static func render(result: EvaluationResult, plots: [ClassPlots], reviewLists: [ReviewList] = [],
                              extraSections: [HTMLSection] = [], title: String = "Evaluation report", reviewMedia: Set<String> = [],
                              hardNegativeCount: Int? = nil) -> String {
        var h: [String] = []
        h.append("<!DOCTYPE html>")
        h.append("<html lang=\"en\"><head><meta charset=\"utf-8\">")
        h.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        h.append("<title>\(esc(title))</title>")
        h.append("<style>\(css)</style></head><body><main>")
        h.append("<header><h1>\(esc(title))</h1>")
        h.append("<p class=\"meta\">\(metadataLine(result))</p></header>")
        h.append(summaryCards(result))
        h.append("<section><h2>Metrics per class</h2>")
        h.append(metricsTable(result))
        h.append("<p class=\"note\">AP: average precision (Σ (R<sub>n</sub> − R<sub>n−1</sub>)·P<sub>n</sub> over descending thresholds). "
            + "ROC AUC by the trapezoid rule with ties. Precision, recall and F1 call a clip positive when its score is at or above the threshold. "
            + "<em>undefined</em> marks a value that cannot be computed (for example AP of a class with no positive clips); "
            + "macro means average the defined values only.</p></section>")
        let reviews = Dictionary(reviewLists.map { ($0.className, $0) }, uniquingKeysWith: { a, _ in a })
        let mediaNames = Dictionary(zip(reviewLists.map(\.className), ReviewClipExport.relativeNames(reviewLists)), uniquingKeysWith: { a, _ in a })
        for p in plots {
            h.append("<section class=\"class\"><h2>\(esc(p.className))</h2>")
            if let c = result.classes.first(where: { $0.name == p.className }) { h.append(classSummary(c)) }
            h.append("<div class=\"plots\">")
            for svg in [p.precisionRecall, p.precisionRecallVsThreshold, p.scoreHistogram] {
                h.append("<figure>\(svg)</figure>")
            }
            h.append("</div>")
            if let list = reviews[p.className] { h.append(reviewTables(list, names: mediaNames[p.className] ?? [], media: reviewMedia)) }
            h.append("</section>")
        }
        if let n = hardNegativeCount, !reviewLists.isEmpty { h.append(feedbackSection(hardNegatives: n)) }
        for section in extraSections {
            h.append("<section><h2>\(esc(section.title))</h2>\(section.html)</section>")
        }
        h.append("<footer>Chorus \(esc(chorusVersion))</footer>")
        h.append("</main></body></html>")
        return h.joined(separator: "\n") + "\n"
    }

    private static func esc(_ s: String) -> String { Markup.escape(s) }

    /// How the review goes back into training.
    private static func feedbackSection(hardNegatives n: Int) -> String {
        "<section><h2>After the review</h2><p><code>hard_negatives.csv</code> (beside this report) lists the \(n) high-scoring "
            + "negative clip\(n == 1 ? "" : "s") that carry no label at all, as a labels table of zeros. Listen to them first: a clip that "
            + "does hold a call is a missed annotation, to be fixed in the labels (and removed from the table). Then train again with the "
            + "rest as negatives:</p><pre>train-gpu train --train train.csv --validation validation.csv --hard-negatives hard_negatives.csv "
            + "--overlays overlays.csv --out runs</pre><p class=\"note\">The low-scoring positives are missed detections or doubtful "
            + "labels: correct the labels, or add more examples like them to the training table. These clips come from the set this "
            + "report evaluates, so once a model trains on them, evaluate it on other recordings.</p></section>"
    }

    private static func cell(_ v: Double?) -> String {
        guard let v else { return "<td class=\"num undef\" title=\"not defined for this class\">undefined</td>" }
        return "<td class=\"num\">\(String(format: "%.3f", v))</td>"
    }

    private static func metadataLine(_ r: EvaluationResult) -> String {
        var parts = ["\(r.clipCount) clips", "\(r.classes.count) classes"]
        if r.ignoredUnlabelledScores > 0 { parts.append("\(r.ignoredUnlabelledScores) scored clips without labels left out") }
        parts += r.metadata.sorted { $0.key < $1.key }.map { "\(esc($0.key)): <code>\(esc($0.value))</code>" }
        return parts.joined(separator: " · ")
    }

    private static func summaryCards(_ r: EvaluationResult) -> String {
        func card(_ label: String, _ v: Double?) -> String {
            let value = v.map { String(format: "%.3f", $0) } ?? "undefined"
            return "<div class=\"card\"><div class=\"value\(v == nil ? " undef" : "")\">\(value)</div><div class=\"label\">\(label)</div></div>"
        }
        return "<div class=\"cards\">" + card("macro average precision", r.macroAP) + card("macro ROC AUC", r.macroAUC)
            + card("macro precision at threshold", r.macroPrecision) + card("macro recall at threshold", r.macroRecall)
            + card("macro F1 at threshold", r.macroF1) + "</div>"
    }

    private static func metricsTable(_ r: EvaluationResult) -> String {
        var t = ["<table class=\"metrics\"><thead><tr><th>class</th><th>positives</th><th>negatives</th><th>AP</th><th>ROC AUC</th>"
            + "<th>threshold</th><th>precision</th><th>recall</th><th>F1</th><th>TP</th><th>FP</th><th>FN</th><th>TN</th>"
            + "<th>best F1 (at threshold)</th></tr></thead><tbody>"]
        for c in r.classes {
            let best = c.bestF1.map { String(format: "%.3f", $0) + " (\(Markup.score(c.bestF1Threshold ?? 0)))" }
            t.append("<tr><td>\(esc(c.name))</td><td class=\"num\">\(c.positives)</td><td class=\"num\">\(c.negatives)</td>"
                + cell(c.averagePrecision) + cell(c.rocAUC) + "<td class=\"num\">\(Markup.score(c.threshold))</td>"
                + cell(c.precision) + cell(c.recall) + cell(c.f1)
                + "<td class=\"num\">\(c.truePositives)</td><td class=\"num\">\(c.falsePositives)</td>"
                + "<td class=\"num\">\(c.falseNegatives)</td><td class=\"num\">\(c.trueNegatives)</td>"
                + (best.map { "<td class=\"num\">\($0)</td>" } ?? "<td class=\"num undef\">undefined</td>") + "</tr>")
        }
        t.append("</tbody><tfoot><tr><td>macro mean</td><td></td><td></td>" + cell(r.macroAP) + cell(r.macroAUC)
            + "<td></td>" + cell(r.macroPrecision) + cell(r.macroRecall) + cell(r.macroF1)
            + "<td></td><td></td><td></td><td></td><td></td></tr></tfoot></table>")
        return t.joined(separator: "\n")
    }

    private static func classSummary(_ c: ClassEvaluation) -> String {
        "<p class=\"meta\">\(c.positives) positive and \(c.negatives) negative clips · AP \(Markup.metric(c.averagePrecision))"
            + " · ROC AUC \(Markup.metric(c.rocAUC)) · at threshold \(esc(Markup.score(c.threshold))): precision \(Markup.metric(c.precision)),"
            + " recall \(Markup.metric(c.recall)), F1 \(Markup.metric(c.f1))</p>"
    }

    private static func reviewTables(_ list: ReviewList, names: [String], media: Set<String>) -> String {
        let nameOf = Dictionary(zip(list.entries.map { "\($0.kind.rawValue)#\($0.rank)" }, names), uniquingKeysWith: { a, _ in a })
        let withMedia = !media.isEmpty
        func mediaCell(_ e: ReviewEntry) -> String {
            guard let name = nameOf["\(e.kind.rawValue)#\(e.rank)"] else { return "<td></td>" }
            let stem = "review_clips/" + (name as NSString).deletingPathExtension
            let wav = "review_clips/" + name, png = stem + ".png", modelView = stem + ".model.png"
            var cell = "<td class=\"media\"><div class=\"views\">"
            if media.contains(modelView) {
                cell += "<img class=\"model-view\" loading=\"lazy\" title=\"the model's view: the clip as the network gets it\" "
                    + "alt=\"the model's view of the clip\" src=\"\(esc(modelView))\">"
            }
            if media.contains(png) { cell += "<img loading=\"lazy\" title=\"the clip with 1 s of context on each side, full band\" alt=\"spectrogram of the clip with its context\" src=\"\(esc(png))\">" }
            cell += "</div>"
            if media.contains(wav) { cell += "<audio controls preload=\"none\" src=\"\(esc(wav))\"></audio>" }
            return cell + "</td>"
        }
        func table(_ caption: String, _ hint: String, _ entries: [ReviewEntry]) -> String {
            var t = ["<div class=\"review\"><h3>\(caption)</h3><p class=\"note\">\(hint)</p>"]
            guard !entries.isEmpty else { return t[0] + "<p class=\"note\">none</p></div>" }
            t.append("<table><thead><tr><th>#</th><th>file</th><th>start (s)</th><th>end (s)</th><th>score</th>"
                     + (withMedia ? "<th title=\"the model's view (when the model is known), then the clip with 1 s of context on each side\">look and listen</th>" : "") + "</tr></thead><tbody>")
            for e in entries {
                t.append("<tr><td class=\"num\">\(e.rank)</td><td class=\"file\">\(esc(e.clip.file))</td>"
                    + "<td class=\"num\">\(formatSeconds(e.clip.startTime))</td><td class=\"num\">\(formatSeconds(e.clip.endTime))</td>"
                    + "<td class=\"num\">\(Markup.score(e.score))</td>" + (withMedia ? mediaCell(e) : "") + "</tr>")
            }
            t.append("</tbody></table></div>")
            return t.joined(separator: "\n")
        }
        return "<details\(withMedia ? " open" : "")><summary>Clips to review (\(list.highScoringNegatives.count) high-scoring negatives, "
            + "\(list.lowScoringPositives.count) low-scoring positives)</summary>"
            + (withMedia ? "<p class=\"note\">Each clip: the model's view (the network's input image, when the model is known), the clip with "
                + "1 s of context on each side, and a player for the clip with its context.</p>" : "")
            + "<div class=\"reviews\(withMedia ? " with-media" : "")\">"
            + table("High-scoring negatives", "labelled absent, scored highest: false alarms or missed annotations", list.highScoringNegatives)
            + table("Low-scoring positives", "labelled present, scored lowest: missed detections or doubtful labels", list.lowScoringPositives)
            + "</div></details>"
    }

    static let css = """
    .reviews.with-media { grid-template-columns: 1fr; }
    .reviews.with-media .review { overflow-x: auto; }
    td.media .views { display: flex; gap: 6px; align-items: flex-end; }
    td.media img { display: block; height: 96px; max-width: 360px; image-rendering: pixelated; border: 1px solid var(--line); }
    td.media img.model-view { width: 96px; }
    td.media audio { display: block; width: 260px; margin-top: 4px; }
    :root { --text: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #1f6fd1; --bg: #f7f8fa; }
    * { box-sizing: border-box; }
    body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.5 Helvetica, Arial, sans-serif; }
    main { max-width: 1880px; margin: 0 auto; padding: 24px 32px 48px; }
    header h1 { margin: 0 0 4px; font-size: 26px; }
    h2 { font-size: 19px; margin: 0 0 8px; }
    h3 { font-size: 15px; margin: 8px 0 2px; }
    section { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; margin: 18px 0; }
    .meta { color: var(--muted); margin: 0 0 10px; }
    .note { color: var(--muted); font-size: 12.5px; margin: 8px 0 0; }
    code { font-size: 12.5px; }
    .cards { display: flex; gap: 14px; flex-wrap: wrap; margin: 18px 0 0; }
    .card { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 12px 18px; min-width: 170px; }
    .card .value { font-size: 26px; font-weight: bold; color: var(--accent); }
    .card .label { color: var(--muted); font-size: 12.5px; }
    .undef { color: var(--muted) !important; font-style: italic; }
    table { border-collapse: collapse; width: 100%; font-size: 13px; }
    th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
    th { background: #f3f4f6; font-weight: 600; }
    td.num, th:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
    tfoot td { font-weight: 600; border-top: 2px solid #d1d5db; }
    tbody tr:hover { background: #f9fafb; }
    .plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 12px; }
    figure { margin: 0; }
    figure svg { width: 100%; height: auto; display: block; }
    details summary { cursor: pointer; color: var(--accent); margin-top: 10px; }
    .reviews { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; }
    .review td.file { text-align: left; max-width: 420px; overflow: hidden; text-overflow: ellipsis; }
    .review th:nth-child(2) { text-align: left; }
    footer { color: var(--muted); font-size: 12px; text-align: center; }
    """
}
