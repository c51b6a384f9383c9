import ChorusCore
@testable import Evaluation
import Foundation
import TestSupport
import XCTest

final class TablesAndJoinTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = makeTemporaryDirectory("evaluation-tables") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func file(_ name: String, _ text: String) throws -> String {
        let path = (dir as NSString).appendingPathComponent(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private let labelsText = """
        file,start_time,end_time,A,B
        x.wav,0.0,3.0,1,0
        x.wav,3.0,6.0,0,0
        y.wav,0.0,3.0,0,1
        y.wav,3.0,6.0,1,1

        """

    func testReadsScoresAndLabelsAndJoinsByNameWithTolerance() throws {
        // Classes in another order, rows in another order, times off by less than 1e-6 s.
        let scores = try ScoreTable.read(try file("s.csv", """
            file,start_time,end_time,B,A
            y.wav,3.0000004,6.0,0.7,0.9
            x.wav,0.0,3.0,0.1,0.8
            y.wav,0.0,2.9999996,0.6,0.2
            x.wav,3.0,6.0,0.3,0.4

            """))
        let labels = try LabelMatrix.read(try file("l.csv", labelsText))
        XCTAssertEqual(scores.classes, ["B", "A"])
        XCTAssertEqual(labels.rows[3].labels, [1, 1])
        let join = try Evaluator.join(scores: scores, labels: labels)
        XCTAssertEqual(join.data.classes, ["A", "B"])
        XCTAssertEqual(join.data.clips.map(\.file), ["x.wav", "x.wav", "y.wav", "y.wav"])
        XCTAssertEqual(join.data.scores[0], [0.8, 0.4, 0.2, 0.9])
        XCTAssertEqual(join.data.scores[1], [0.1, 0.3, 0.6, 0.7])
        XCTAssertEqual(join.data.labels[1], [false, false, true, true])
        let result = try Evaluator.evaluate(join.data, thresholds: ThresholdSetting(0.5, perClass: ["B": 0.65]))
        XCTAssertEqual(result.classes[0].averagePrecision, 1)
        XCTAssertEqual(result.classes[1].threshold, 0.65)
        XCTAssertEqual(result.classes[1].truePositives, 1)
        XCTAssertEqual(result.classes[1].falseNegatives, 1)
    }

    func testEndToleranceMatchesShortenedLastClipsOnly() throws {
        let scores = try ScoreTable.read(try file("r.csv", """
            file,start_time,end_time,A,B
            x.wav,0.0,3.0,0.9,0.1
            x.wav,3.0,5.9886,0.2,0.3
            y.wav,0.0,3.0,0.1,0.8
            y.wav,3.0,5.9886,0.7,0.6

            """))
        let labels = try LabelMatrix.read(try file("l.csv", labelsText))
        XCTAssertThrowsError(try Evaluator.join(scores: scores, labels: labels))
        let join = try Evaluator.join(scores: scores, labels: labels, endTolerance: 0.05)
        XCTAssertEqual(join.data.clipCount, 4)
        XCTAssertThrowsError(try Evaluator.join(scores: scores, labels: labels, endTolerance: 0.001), "0.0114 s is beyond 0.001 s")
    }

    func testUnmatchedRowsAreListed() throws {
        let scores = try ScoreTable.read(try file("s.csv", """
            file,start_time,end_time,A,B
            x.wav,0.0,3.0,0.1,0.8
            x.wav,3.00001,6.0,0.3,0.4
            y.wav,0.0,3.0,0.6,0.2
            y.wav,3.0,6.0,0.7,0.9
            z.wav,0.0,3.0,0.7,0.9

            """))
        let labels = try LabelMatrix.read(try file("l.csv", labelsText))
        XCTAssertThrowsError(try Evaluator.join(scores: scores, labels: labels)) { error in
            guard case let EvaluationError.unmatchedRows(scoresOnly, scoresCount, labelsOnly, labelsCount, _, _) = error else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(scoresOnly.map(\.description), ["x.wav,3.00001,6.0", "z.wav,0.0,3.0"])
            XCTAssertEqual(scoresCount, 2)
            XCTAssertEqual(labelsOnly.map(\.description), ["x.wav,3.0,6.0"])
            XCTAssertEqual(labelsCount, 1)
            let message = "\(error)"
            XCTAssertTrue(message.contains("2 scored clip(s) have no labels"), message)
            XCTAssertTrue(message.contains("z.wav,0.0,3.0"), message)
            XCTAssertTrue(message.contains("1 labelled clip(s) have no scores"), message)
        }
    }

    func testUnlabelledScoresCanBeIgnoredButMissingScoresCannot() throws {
        let labels = try LabelMatrix.read(try file("l.csv", labelsText))
        var rows = labels.rows.map { ScoreRow(file: $0.file, startTime: $0.startTime, endTime: $0.endTime, scores: [0.5, 0.5]) }
        rows.append(ScoreRow(file: "extra.wav", startTime: 0, endTime: 3, scores: [0.9, 0.1]))
        let scores = try ScoreTable(classes: ["A", "B"], rows: rows)
        let join = try Evaluator.join(scores: scores, labels: labels, unlabelledScores: .ignore)
        XCTAssertEqual(join.ignoredUnlabelledScores, 1)
        XCTAssertEqual(join.data.clipCount, 4)
        XCTAssertThrowsError(try Evaluator.join(scores: scores, labels: labels))
        let fewer = try ScoreTable(classes: ["A", "B"], rows: Array(rows.prefix(3)))
        XCTAssertThrowsError(try Evaluator.join(scores: fewer, labels: labels, unlabelledScores: .ignore)) { error in
            XCTAssertTrue("\(error)".contains("y.wav,3.0,6.0"), "\(error)")
        }
    }

    func testLongUnmatchedListIsCut() throws {
        let labels = try LabelMatrix.read(try file("l.csv", labelsText))
        let rows = (0..<50).map { ScoreRow(file: "other.wav", startTime: Double($0) * 3, endTime: Double($0) * 3 + 3, scores: [0, 0]) }
        XCTAssertThrowsError(try Evaluator.join(scores: try ScoreTable(classes: ["A", "B"], rows: rows), labels: labels)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("50 scored clip(s) have no labels"), message)
            XCTAssertTrue(message.contains("... and 30 more"), message)
            XCTAssertEqual(message.components(separatedBy: "other.wav").count - 1, EvaluationError.listLimit)
        }
    }

    func testClassMismatchNamesTheDifferences() throws {
        let scores = try ScoreTable.read(try file("s.csv", "file,start_time,end_time,A,C\nx.wav,0,3,0.1,0.2\n"))
        let labels = try LabelMatrix.read(try file("l.csv", labelsText))
        XCTAssertThrowsError(try Evaluator.join(scores: scores, labels: labels)) { error in
            XCTAssertEqual(error as? EvaluationError, .classMismatch(onlyInScores: ["C"], onlyInLabels: ["B"],
                                                                    scoresSource: scores.source, labelsSource: labels.source))
            XCTAssertTrue("\(error)".contains("only in scores: C"))
            XCTAssertTrue("\(error)".contains("only in labels: B"))
        }
    }

    func testDuplicateClipIsAnError() throws {
        let labels = try LabelMatrix.read(try file("l.csv", labelsText))
        let scores = try ScoreTable.read(try file("s.csv", "file,start_time,end_time,A,B\nx.wav,0,3,0.1,0.2\nx.wav,0.0000001,3,0.1,0.2\n"))
        XCTAssertThrowsError(try Evaluator.join(scores: scores, labels: labels)) { error in
            XCTAssertEqual(error as? EvaluationError, .duplicateClip(ClipKey(file: "x.wav", startTime: 0.0000001, endTime: 3), source: scores.source))
        }
    }

    func testSingleScoreColumnNeedsAndTakesAClass() throws {
        let path = try file("ribbit.csv", "file,start_time,end_time,score\nx.wav,0,3,1e-11\nx.wav,3,6,4.5e-12\ny.wav,0,3,0\ny.wav,3,6,2e-11\n")
        XCTAssertThrowsError(try ScoreTable.read(path)) { error in
            XCTAssertEqual(error as? EvaluationError, .singleScoreNeedsClass(path: path))
        }
        let scores = try ScoreTable.read(path, singleScoreClass: "B")
        XCTAssertEqual(scores.classes, ["B"])
        let labels = try LabelMatrix.read(try file("l.csv", labelsText)).selecting(classes: ["B"])
        let result = try Evaluator.evaluate(scores: scores, labels: labels, thresholds: ThresholdSetting(1e-11))
        XCTAssertEqual(result.classes.map(\.name), ["B"])
        // B labels: x0 0, x3 0, y0 1, y3 1; scores 1e-11, 4.5e-12, 0, 2e-11 → 2e-11 (pos) first, 1e-11 (neg), 4.5e-12 (neg), 0 (pos).
        XCTAssertEqual(try XCTUnwrap(result.classes[0].averagePrecision), 0.5 + 0.5 * 0.5, accuracy: 1e-12)
        XCTAssertEqual(result.classes[0].truePositives, 1)
        XCTAssertEqual(result.classes[0].falsePositives, 1)
        XCTAssertThrowsError(try LabelMatrix.read(try file("l2.csv", labelsText)).selecting(classes: ["Z"]))
    }

    func testBadFilesGiveErrorsNamingTheLine() throws {
        func message(_ text: String, labels: Bool = false) throws -> String {
            let path = try file("bad.csv", text)
            do {
                if labels { _ = try LabelMatrix.read(path) } else { _ = try ScoreTable.read(path) }
            } catch { return "\(error)" }
            XCTFail("no error for \(text)")
            return ""
        }
        XCTAssertTrue(try message("").contains("empty file"))
        XCTAssertTrue(try message("start_time,end_time,score\n0,3,1\n").contains("header must be file,start_time,end_time"))
        XCTAssertTrue(try message("file,start_time,end_time,A\nx.wav,0,3,abc\n").contains("bad.csv:2: column 'A': 'abc' is not a finite number"))
        XCTAssertTrue(try message("file,start_time,end_time,A\nx.wav,0,3,nan\n").contains("not a finite number"))
        XCTAssertTrue(try message("file,start_time,end_time,A\nx.wav,0,3\n").contains("bad.csv:2: expected 4 fields"))
        XCTAssertTrue(try message("file,start_time,end_time,A\nx.wav,3,3,1\n").contains("must be greater than start_time"))
        XCTAssertTrue(try message("file,start_time,end_time,A,A\n").contains("'A' appears twice"))
        XCTAssertTrue(try message("file,start_time,end_time,A\nx.wav,0,3,0.5\n", labels: true).contains("must be 0 or 1"))
        XCTAssertThrowsError(try ScoreTable.read(dir + "/missing.csv"))
    }

    func testScoreTableRoundTrip() throws {
        let table = try ScoreTable(classes: ["A", "b c"], rows: [
            ScoreRow(file: "dir/x, 1.wav", startTime: 0, endTime: 2.5, scores: [0.1, 1.1794574204951507e-11]),
            ScoreRow(file: "y.wav", startTime: 0.1, endTime: 0.30000000000000004, scores: [-3, 1]),
        ])
        let path = dir + "/round.csv"
        try table.write(to: path)
        var back = try ScoreTable.read(path)
        back.source = table.source
        XCTAssertEqual(back, table)
    }

    func testThresholdArguments() throws {
        let setting = try ThresholdSetting.parse(["0.3", "A=0.9", "a=b=0.1"])
        XCTAssertEqual(setting.defaultThreshold, 0.3)
        XCTAssertEqual(setting.threshold(for: "A"), 0.9)
        XCTAssertEqual(setting.threshold(for: "a=b"), 0.1)
        XCTAssertEqual(setting.threshold(for: "other"), 0.3)
        XCTAssertEqual(try ThresholdSetting.parse([]).defaultThreshold, 0.5)
        XCTAssertThrowsError(try ThresholdSetting.parse(["0.3", "0.4"]))
        XCTAssertThrowsError(try ThresholdSetting.parse(["A=x"]))
        XCTAssertThrowsError(try ThresholdSetting.parse(["high"]))
        XCTAssertThrowsError(try ThresholdSetting(0.5, perClass: ["Q": 0.2]).validate(classes: ["A"])) { error in
            XCTAssertTrue("\(error)".contains("'Q'"))
        }
    }

    func testUndefinedClassIsNullInJSONAndLeftOutOfMacroMean() throws {
        let data = try EvaluationData(classes: ["present", "absent"],
                                      clips: (0..<4).map { ClipKey(file: "f.wav", startTime: Double($0), endTime: Double($0) + 1) },
                                      scoreRows: [[0.9, 0.9], [0.8, 0.1], [0.3, 0.2], [0.1, 0.4]],
                                      labelRows: [[true, false], [true, false], [false, false], [false, false]])
        let result = try Evaluator.evaluate(data)
        XCTAssertNil(result.classes[1].averagePrecision)
        XCTAssertNil(result.classes[1].rocAUC)
        XCTAssertEqual(result.macroAP, 1, "the undefined class must not pull the mean to 0.5")
        XCTAssertEqual(result.macroAUC, 1)
        let json = try XCTUnwrap(String(data: try result.jsonData(), encoding: .utf8))
        XCTAssertTrue(json.contains("\"average_precision\" : null"), json)
        XCTAssertTrue(json.contains("\"roc_auc\" : null"), json)
        XCTAssertFalse(json.lowercased().contains("nan"))
        let decoded = try JSONDecoder().decode(EvaluationResult.self, from: try result.jsonData())
        XCTAssertEqual(decoded, result)
    }

    func testEvaluationDataRejectsBadShapes() {
        XCTAssertThrowsError(try EvaluationData(classes: ["A"], clips: [ClipKey(file: "", startTime: 0, endTime: 1)],
                                                scoreRows: [[0.1, 0.2]], labelRows: [[true]]))
        XCTAssertThrowsError(try EvaluationData(classes: ["A"], clips: [ClipKey(file: "", startTime: 0, endTime: 1)],
                                                scoreRows: [[.nan]], labelRows: [[true]]))
        XCTAssertThrowsError(try LabelMatrix(classes: ["A"], rows: [LabelRow(file: "f", startTime: 0, endTime: 1, labels: [0.5])]))
    }
}

final class SharedLabelsTests: XCTestCase {
    /// The labels reader accepts the reference clip labels (made by OpenSoundscape) as they are,
    /// and scores equal to the labels rank perfectly.
    func testReadsReferenceClipLabels() throws {
        let labels = try LabelMatrix.read(try SharedData.path("reference/msd_clip_labels.csv"))
        XCTAssertEqual(labels.classes, ["WOTH", "EATO", "LOWA"])
        XCTAssertEqual(labels.rows.count, 40)
        XCTAssertEqual(labels.rows[1].labels, [1, 1, 0])
        let scores = try ScoreTable(classes: labels.classes, rows: labels.rows.map {
            ScoreRow(file: $0.file, startTime: $0.startTime, endTime: $0.endTime, scores: $0.labels.map(Double.init))
        })
        let result = try Evaluator.evaluate(scores: scores, labels: labels)
        XCTAssertEqual(result.classes.map(\.averagePrecision), [1, 1, 1])
        XCTAssertEqual(result.macroAUC, 1)
        XCTAssertEqual(result.classes.map(\.positives), result.classes.map(\.truePositives))
    }
}
