@testable import Evaluation
import TestSupport
import XCTest

final class MetricsTests: XCTestCase {
    func testPerfectRanking() throws {
        let scores = [0.9, 0.8, 0.3, 0.1], labels = [true, true, false, false]
        XCTAssertEqual(try XCTUnwrap(Metrics.averagePrecision(scores: scores, labels: labels)), 1, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(Metrics.rocAUC(scores: scores, labels: labels)), 1, accuracy: 1e-12)
    }

    func testInvertedRanking() throws {
        // Thresholds 0.9, 0.8 (negatives): R = 0; 0.2: P = 1/3, R = 1/2; 0.1: P = 1/2, R = 1.
        // AP = 1/2 · 1/3 + 1/2 · 1/2 = 5/12.
        let scores = [0.1, 0.2, 0.8, 0.9], labels = [true, true, false, false]
        XCTAssertEqual(try XCTUnwrap(Metrics.averagePrecision(scores: scores, labels: labels)), 5.0 / 12, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(Metrics.rocAUC(scores: scores, labels: labels)), 0, accuracy: 1e-12)
    }

    func testTiedScoresFormOneThreshold() throws {
        // 0.8: P 1, R 1/2; 0.5 (one positive, one negative tied): P 2/3, R 1. AP = 1/2 + 1/2 · 2/3 = 5/6.
        // AUC by pairs: 0.8 beats both negatives, 0.5 ties 0.5 (counts 1/2) and beats 0.2 → 3.5 / 4.
        let scores = [0.8, 0.5, 0.5, 0.2], labels = [true, false, true, false]
        XCTAssertEqual(try XCTUnwrap(Metrics.averagePrecision(scores: scores, labels: labels)), 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(Metrics.rocAUC(scores: scores, labels: labels)), 0.875, accuracy: 1e-12)
        let table = Metrics.thresholdTable(scores: scores, labels: labels)
        XCTAssertEqual(table.map(\.threshold), [0.8, 0.5, 0.2])
        XCTAssertEqual(table.map(\.truePositives), [1, 2, 2])
        XCTAssertEqual(table.map(\.falsePositives), [0, 1, 2])
        XCTAssertEqual(table.map(\.falseNegatives), [1, 0, 0])
        XCTAssertEqual(table.map(\.trueNegatives), [2, 1, 0])
        XCTAssertEqual(try XCTUnwrap(table[1].precision), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(table[1].f1), 0.8, accuracy: 1e-12)
    }

    func testAllEqualScoresGivePrevalenceAndHalf() throws {
        let scores = [Double](repeating: 0.5, count: 4), labels = [true, false, false, true]
        XCTAssertEqual(try XCTUnwrap(Metrics.averagePrecision(scores: scores, labels: labels)), 0.5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(Metrics.rocAUC(scores: scores, labels: labels)), 0.5, accuracy: 1e-12)
        XCTAssertEqual(Metrics.thresholdTable(scores: scores, labels: labels).count, 1)
    }

    func testUndefinedWithoutPositivesOrNegatives() throws {
        XCTAssertNil(Metrics.averagePrecision(scores: [0.2, 0.9], labels: [false, false]))
        XCTAssertNil(Metrics.rocAUC(scores: [0.2, 0.9], labels: [false, false]))
        XCTAssertNil(Metrics.rocAUC(scores: [0.2, 0.9], labels: [true, true]))
        XCTAssertEqual(try XCTUnwrap(Metrics.averagePrecision(scores: [0.2, 0.9], labels: [true, true])), 1, accuracy: 1e-12)
        XCTAssertNil(Metrics.averagePrecision(scores: [], labels: []))
        XCTAssertNil(Metrics.bestF1(scores: [0.2, 0.9], labels: [false, false]))
    }

    func testPrecisionRecallCountsScoreAtThresholdAsPositive() throws {
        let scores = [0.5, 0.4, 0.7, 0.1], labels = [true, false, false, true]
        let at05 = Metrics.precisionRecall(scores: scores, labels: labels, threshold: 0.5)
        XCTAssertEqual(try XCTUnwrap(at05.precision), 0.5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(at05.recall), 0.5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(at05.f1), 0.5, accuracy: 1e-12)
        let above = Metrics.precisionRecall(scores: scores, labels: labels, threshold: 0.8)
        XCTAssertNil(above.precision, "nothing called positive: precision undefined")
        XCTAssertEqual(above.recall, 0)
        XCTAssertNil(above.f1)
        let onlyNegativeCalled = Metrics.precisionRecall(scores: scores, labels: labels, threshold: 0.6)
        XCTAssertEqual(onlyNegativeCalled.precision, 0)
        XCTAssertEqual(onlyNegativeCalled.f1, 0, "precision and recall both 0 give F1 0, not undefined")
    }

    func testBestF1PicksHighestF1() throws {
        // Thresholds: 0.9 (P1,R1/3,F1 .5), 0.7 (P1,R2/3,F1 .8), 0.6 (P2/3,R2/3), 0.2 (P3/4,R1,F1 6/7).
        let best = try XCTUnwrap(Metrics.bestF1(scores: [0.9, 0.7, 0.6, 0.2], labels: [true, true, false, true]))
        XCTAssertEqual(best.threshold, 0.2)
        XCTAssertEqual(try XCTUnwrap(best.f1), 6.0 / 7, accuracy: 1e-12)
    }

    func testMacroMeanIgnoresUndefined() {
        XCTAssertEqual(Metrics.macroMean([0.5, nil, 1.0]), 0.75)
        XCTAssertNil(Metrics.macroMean([nil, nil]))
        XCTAssertNil(Metrics.macroMean([]))
    }

    /// Reference values made once with scikit-learn 1.9.1 (`average_precision_score`,
    /// `roc_auc_score`, and `precision_score`/`recall_score`/`f1_score` on `scores >= 0.5`):
    /// numpy default_rng(7), 40 clips, labels with P(1) = 0.35, scores clip(N(0.35 + 0.3·label, 0.2), 0, 1)
    /// rounded to 1 decimal (many ties); then 25 clips with uniform scores rounded to 4 decimals.
    func testMatchesScikitLearnOnRandomCases() throws {
        let scores = [0.3, 0.4, 0.4, 0.4, 0.7, 0.6, 0.3, 0.5, 0.4, 0.2, 1.0, 0.8, 0.4, 0.4, 0.5, 0.3, 0.5, 0.3, 0.5, 0.6,
                      0.5, 0.7, 0.3, 0.7, 0.4, 0.2, 0.3, 0.5, 0.6, 0.1, 0.2, 0.8, 0.3, 0.6, 0.3, 0.9, 0.5, 0.6, 0.3, 0.6]
        let labels = [0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0,
                      1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1].map { $0 == 1 }
        XCTAssertEqual(try XCTUnwrap(Metrics.averagePrecision(scores: scores, labels: labels)), 0.768883547008547, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(Metrics.rocAUC(scores: scores, labels: labels)), 0.80078125, accuracy: 1e-12)
        let pr = Metrics.precisionRecall(scores: scores, labels: labels, threshold: 0.5)
        XCTAssertEqual(try XCTUnwrap(pr.precision), 0.55, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(pr.recall), 0.6875, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(pr.f1), 0.6111111111111112, accuracy: 1e-12)

        let scores2 = [0.1925, 0.9279, 0.5523, 0.1806, 0.8841, 0.6416, 0.5697, 0.3763, 0.411, 0.2395, 0.0381, 0.8762, 0.4677,
                       0.5476, 0.3222, 0.7513, 0.0252, 0.3722, 0.0304, 0.1229, 0.9671, 0.6578, 0.4282, 0.5237, 0.8728]
        let labels2 = [1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1].map { $0 == 1 }
        XCTAssertEqual(try XCTUnwrap(Metrics.averagePrecision(scores: scores2, labels: labels2)), 0.5315570394517763, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(Metrics.rocAUC(scores: scores2, labels: labels2)), 0.5584415584415584, accuracy: 1e-12)
    }

    /// AUC equals the share of (positive, negative) pairs ranked correctly, ties counting half.
    func testAUCMatchesPairCountingOnRandomData() throws {
        var rng = TestRNG(seed: 11)
        for _ in 0..<20 {
            let n = Int.random(in: 5...60, using: &rng)
            let scores = (0..<n).map { _ in Double(Int.random(in: 0...9, using: &rng)) / 10 }
            var labels = (0..<n).map { _ in Bool.random(using: &rng) }
            labels[0] = true
            labels[1] = false
            var wins = 0.0, pairs = 0.0
            for i in 0..<n where labels[i] {
                for j in 0..<n where !labels[j] {
                    pairs += 1
                    wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
                }
            }
            XCTAssertEqual(try XCTUnwrap(Metrics.rocAUC(scores: scores, labels: labels)), wins / pairs, accuracy: 1e-12)
        }
    }
}
