import ChorusCore
@testable import Evaluation
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import XCTest

final class ReportTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = makeTemporaryDirectory("evaluation-report") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Three classes over 60 clips: a good one, a weak one with tied scores, one with no positives.
    private func sampleData() throws -> EvaluationData {
        var rng = TestRNG(seed: 3)
        var scoreRows: [[Double]] = [], labelRows: [[Bool]] = [], clips: [ClipKey] = []
        for i in 0..<60 {
            let song = i % 4 == 0, call = i % 5 == 1
            let good = min(1, max(0, (song ? 0.7 : 0.25) + Double.random(in: -0.25...0.25, using: &rng)))
            let weak = (Double(Int.random(in: 0...9, using: &rng)) + (call ? 3 : 0)) / 12
            scoreRows.append([good, weak, Double.random(in: 0...0.6, using: &rng)])
            labelRows.append([song, call, false])
            clips.append(ClipKey(file: "site <A>/rec_\(i / 20).wav", startTime: Double(i % 20) * 3, endTime: Double(i % 20) * 3 + 3))
        }
        return try EvaluationData(classes: ["Wood Thrush", "EATO/call", "absent"], clips: clips, scoreRows: scoreRows, labelRows: labelRows)
    }

    private func assertWellFormedXML(_ text: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let parser = XMLParser(data: Data(text.utf8))
        XCTAssertTrue(parser.parse(), "\(what) is not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
    }

    func testPlotsAreWellFormedSVGForOrdinaryAndDegenerateInputs() throws {
        let data = try sampleData()
        for c in data.classes.indices {
            let plots = ClassPlots(data: data, classIndex: c, threshold: 0.5)
            for (name, svg) in [("pr", plots.precisionRecall), ("threshold", plots.precisionRecallVsThreshold), ("histogram", plots.scoreHistogram)] {
                assertWellFormedXML(svg, "\(name) of \(data.classes[c])")
                XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
                XCTAssertFalse(svg.contains("nan"), "\(name) of \(data.classes[c]) contains NaN coordinates")
                XCTAssertFalse(svg.contains("inf"), "\(name) of \(data.classes[c]) contains infinite coordinates")
            }
        }
        let noPositives = Plots.prCurveSVG(className: "x", scores: [0.1, 0.2], labels: [false, false], threshold: 0.5)
        XCTAssertTrue(noPositives.contains("undefined: no clips labelled x"))
        let degenerate = [
            Plots.precisionRecallVsThresholdSVG(className: "x", scores: [], labels: [], threshold: 0.5),
            Plots.precisionRecallVsThresholdSVG(className: "x", scores: [0.3, 0.3], labels: [true, false], threshold: 0.3),
            Plots.scoreHistogramSVG(className: "x", positiveScores: [], negativeScores: []),
            Plots.scoreHistogramSVG(className: "x", positiveScores: [2e-11], negativeScores: [2e-11, 1e-12], threshold: 1e-11),
            Plots.lineChartSVG(title: "loss & AP", xLabel: "epoch", yLabel: "value",
                               series: [PlotSeries(name: "train loss", points: [(1, 0.9), (2, 0.5), (3, .nan)], color: ChartColors.blue)]),
        ]
        for (i, svg) in degenerate.enumerated() {
            assertWellFormedXML(svg, "degenerate plot \(i)")
            XCTAssertFalse(svg.contains("nan"), "degenerate plot \(i)")
        }
    }

    func testPRCurveAreaIsTheAveragePrecision() throws {
        // The drawn step curve (pixel coordinates back to data) must enclose the AP.
        let scores = [0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.3], labels = [true, false, true, true, false, false, true, false]
        let svg = Plots.prCurveSVG(className: "c", scores: scores, labels: labels, threshold: 0.65)
        let chart = SVGChart(title: "", xLabel: "", yLabel: "", xDomain: 0...1, yDomain: 0...1.02)
        let paths = svg.components(separatedBy: "<path d=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        let curve = try XCTUnwrap(paths.last)  // the classifier curve is drawn after the no-skill line
        let points = curve.split(separator: " ").map { token -> (Double, Double) in
            let xy = token.dropFirst().split(separator: ",").compactMap { Double($0) }
            return ((xy[0] - chart.left) / chart.plotWidth, (1 - (xy[1] - chart.top) / chart.plotHeight) * 1.02)
        }
        var area = 0.0
        for (a, b) in zip(points, points.dropFirst()) { area += (b.0 - a.0) * (a.1 + b.1) / 2 }
        XCTAssertEqual(area, try XCTUnwrap(Metrics.averagePrecision(scores: scores, labels: labels)), accuracy: 0.01)
    }

    func testReviewListsAndHardNegatives() throws {
        let clips = (0..<6).map { ClipKey(file: "r.wav", startTime: Double($0) * 2, endTime: Double($0) * 2 + 2) }
        let data = try EvaluationData(classes: ["A", "B"], clips: clips,
                                      scoreRows: [[0.9, 0.1], [0.8, 0.7], [0.2, 0.9], [0.95, 0.2], [0.1, 0.3], [0.8, 0.6]],
                                      labelRows: [[false, false], [false, true], [true, false], [true, false], [false, false], [false, false]])
        let lists = ReviewList.all(data: data, count: 2)
        XCTAssertEqual(lists[0].highScoringNegatives.map(\.index), [0, 1], "0.9 first; 0.8 tie keeps data order (1 before 5)")
        XCTAssertEqual(lists[0].lowScoringPositives.map(\.index), [2, 3])
        XCTAssertEqual(lists[0].lowScoringPositives.map(\.rank), [1, 2])
        XCTAssertEqual(lists[1].highScoringNegatives.map(\.index), [2, 5])
        XCTAssertEqual(lists[1].lowScoringPositives.map(\.index), [1])
        let csv = CSV.parse(lists[1].csvText()).map(\.fields)
        XCTAssertEqual(csv[0], ["kind", "rank", "file", "start_time", "end_time", "score", "label"])
        XCTAssertEqual(csv[1], ["high_scoring_negative", "1", "r.wav", "4.0", "6.0", "0.9", "0"])
        XCTAssertEqual(csv[3], ["low_scoring_positive", "1", "r.wav", "2.0", "4.0", "0.7", "1"])
        // Clip 1 is labelled B and clip 2 is labelled A: a row of zeros would mislabel them.
        XCTAssertEqual(HardNegatives.clips(data: data, reviewLists: lists).map(\.startTime), [0, 10])
        XCTAssertEqual(HardNegatives.csvText(data: data, reviewLists: lists),
                       "file,start_time,end_time,A,B\nr.wav,0.0,2.0,0,0\nr.wav,10.0,12.0,0,0\n")
    }

    func testOutputFolderAndReport() throws {
        let data = try sampleData()
        var result = try Evaluator.evaluate(data, thresholds: ThresholdSetting(0.5, perClass: ["EATO/call": 0.6]))
        result.metadata = ["scores": "scores.csv", "labels": "labels.csv"]
        let written = try EvaluationOutputs.write(data: data, result: result, reviewCount: 5,
                                                  extraSections: [HTMLSection(title: "Training", html: "<p>extra section body</p>")], to: dir)
        let names = Set(written.map { ($0 as NSString).lastPathComponent })
        // The names a command checks before it writes are exactly those written.
        XCTAssertEqual(written.map { ($0 as NSString).lastPathComponent }, EvaluationOutputs.fileNames(classes: data.classes))
        for stem in ["Wood_Thrush", "EATO_call", "absent"] {
            for prefix in ["pr_", "threshold_", "histogram_"] { XCTAssertTrue(names.contains("\(prefix)\(stem).svg"), "\(prefix)\(stem)") }
            XCTAssertTrue(names.contains("review_\(stem).csv"))
        }
        for name in ["metrics.json", "thresholds.csv", "hard_negatives.csv", "report.html"] { XCTAssertTrue(names.contains(name), name) }
        for path in written where path.hasSuffix(".svg") {
            assertWellFormedXML(try String(contentsOfFile: path, encoding: .utf8), path)
        }

        let thresholds = CSV.parse(try String(contentsOfFile: dir + "/thresholds.csv", encoding: .utf8)).map(\.fields)
        XCTAssertEqual(thresholds[0], ["class", "threshold", "true_positives", "false_positives", "false_negatives", "true_negatives",
                                       "precision", "recall", "f1"])
        let distinct = data.classes.indices.map { Set(data.scores[$0]).count }.reduce(0, +)
        XCTAssertEqual(thresholds.count - 1, distinct, "one row per distinct score of every class")
        let absentRows = thresholds.filter { $0[0] == "absent" }
        XCTAssertTrue(absentRows.allSatisfy { $0[7] == "" && $0[8] == "" }, "recall and F1 of a class without positives are empty")

        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/metrics.json"))) as? [String: Any]
        let classes = try XCTUnwrap(metrics?["classes"] as? [[String: Any]])
        XCTAssertTrue(classes[2]["average_precision"] is NSNull)
        XCTAssertEqual(try XCTUnwrap(metrics?["macro_average_precision"] as? Double), try XCTUnwrap(result.macroAP), accuracy: 1e-12)

        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertEqual(html.components(separatedBy: "<svg xmlns").count - 1, 9, "three inline pictures per class")
        XCTAssertFalse(html.contains("src=\""), "no external images")
        XCTAssertFalse(html.contains("<link"), "no external stylesheets")
        for c in result.classes {
            XCTAssertTrue(html.contains(Markup.escape(c.name)))
            if let ap = c.averagePrecision { XCTAssertTrue(html.contains(String(format: "%.3f", ap)), "AP of \(c.name)") }
        }
        XCTAssertTrue(html.contains(String(format: "%.3f", try XCTUnwrap(result.macroAP))))
        XCTAssertTrue(html.contains("undefined"))
        XCTAssertTrue(html.contains("site &lt;A&gt;/rec_0.wav"), "file names are escaped")
        XCTAssertTrue(html.contains("extra section body"))
        // Every embedded picture is itself well-formed.
        for piece in html.components(separatedBy: "<svg xmlns").dropFirst() {
            let svg = "<svg xmlns" + (piece.components(separatedBy: "</svg>").first ?? "") + "</svg>"
            assertWellFormedXML(svg, "inline SVG")
        }
    }

    func testClipExportPlanAndFailuresAreCollected() throws {
        struct RecordingWriter: ReviewClipWriter {
            final class Log: @unchecked Sendable { var calls: [(String, Double, Double, String)] = [] }
            let log = Log()
            func writeClip(file: String, start: Double, end: Double, to outputPath: String) throws {
                if file.hasSuffix("bad.wav") { throw ChorusFileError.cannotRead(path: file, reason: "unreadable") }
                log.calls.append((file, start, end, outputPath))
                try Data().write(to: URL(fileURLWithPath: outputPath))
            }
        }
        let data = try EvaluationData(classes: ["A"], clips: [ClipKey(file: "sub/x.wav", startTime: 0, endTime: 3),
                                                           ClipKey(file: "/abs/bad.wav", startTime: 3, endTime: 6)],
                                      scoreRows: [[0.9], [0.1]], labelRows: [[false], [true]])
        let writer = RecordingWriter()
        let outcome = ReviewClipExport.export(reviewLists: ReviewList.all(data: data, count: 3), audioRoot: "/audio",
                                              to: dir + "/clips", writer: writer)
        XCTAssertEqual(writer.log.calls.count, 1)
        XCTAssertEqual(writer.log.calls.first?.0, "/audio/sub/x.wav")
        XCTAssertEqual(outcome.written, [dir + "/clips/A/high_scoring_negative_01_x_0.000-3.000s.wav"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: outcome.written[0]))
        XCTAssertEqual(outcome.failed.count, 1)
        XCTAssertTrue(outcome.failed[0].reason.contains("/abs/bad.wav"))
    }

    func testFileStemsAreSafeAndUnique() {
        XCTAssertEqual(OutputNames.fileStems(for: ["Wood Thrush", "a/b", "a_b", "A_B", "", ".."]),
                       ["Wood_Thrush", "a_b", "a_b_2", "A_B_3", "class", "class_2"])
    }
}
