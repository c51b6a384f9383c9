import Annotations
import Foundation
import XCTest

final class BalancerTests: XCTestCase {
    let noRMS: (ClipLabelRow) throws -> Double = { _ in XCTFail("rms should not be needed"); return 1 }

    func testExactPerClassCountsUpAndDownsampling() throws {
        let table = syntheticTable(classes: ["A", "B", "C"], positives: [7, 50, 20], negatives: 100)
        let balancer = Balancer(samplesPerClass: 20, negatives: .ratio(1.5), maxSilentFraction: nil, seed: 42)
        let (out, report) = try balancer.balance(table, rms: noRMS)
        XCTAssertEqual(out.positiveCounts(), [20, 20, 20])
        XCTAssertEqual(out.negativeCount, 90)   // 1.5 × 60 positives
        XCTAssertEqual(report.classes.map(\.available), [7, 50, 20])
        XCTAssertEqual(report.negativesKept, 90)
        // Upsampling A (7 → 20): two whole copies of each, then 6 distinct ones more.
        let aRows = out.rows.filter { $0.labels[0] == 1 }
        let copies = Dictionary(grouping: aRows, by: { $0.start }).mapValues(\.count)
        XCTAssertEqual(copies.count, 7)
        XCTAssertEqual(copies.values.filter { $0 == 3 }.count, 6)
        XCTAssertEqual(copies.values.filter { $0 == 2 }.count, 1)
        // Downsampling B: 20 distinct rows.
        XCTAssertEqual(Set(out.rows.filter { $0.labels[1] == 1 }.map(\.start)).count, 20)
    }

    func testSameSeedSameOutputDifferentSeedDifferentOutput() throws {
        let table = syntheticTable(classes: ["A", "B"], positives: [13, 40], negatives: 60)
        let a = try Balancer(samplesPerClass: 17, maxSilentFraction: nil, seed: 7).balance(table, rms: noRMS).table
        let b = try Balancer(samplesPerClass: 17, maxSilentFraction: nil, seed: 7).balance(table, rms: noRMS).table
        let c = try Balancer(samplesPerClass: 17, maxSilentFraction: nil, seed: 8).balance(table, rms: noRMS).table
        XCTAssertEqual(a.csvText(), b.csvText())
        XCTAssertNotEqual(a.csvText(), c.csvText())
    }

    func testMultiLabelRowsCountForEachClass() throws {
        let table = ClipLabelTable(classes: ["A", "B"], rows: [
            ClipLabelRow(file: "f", start: 0, end: 3, labels: [1, 1]),
            ClipLabelRow(file: "f", start: 3, end: 6, labels: [1, 0]),
            ClipLabelRow(file: "f", start: 6, end: 9, labels: [0, 1]),
        ])
        let (out, report) = try Balancer(samplesPerClass: 2, negatives: .keepAll, maxSilentFraction: nil, seed: 1).balance(table, rms: noRMS)
        XCTAssertEqual(report.classes.map(\.drawn), [2, 2])
        XCTAssertEqual(out.rows.count, 4)
        XCTAssertEqual(out.positiveCounts(), [3, 3])   // the shared row is drawn once for each class
    }

    func testSilentNegativesCapped() throws {
        let table = syntheticTable(classes: ["A"], positives: [50], negatives: 200)
        // Negatives at even start times are silent: half of all negatives.
        let rms: (ClipLabelRow) throws -> Double = { row in Int(row.start / 3) % 2 == 0 ? 0.00001 : 0.1 }
        let (out, report) = try Balancer(negatives: .ratio(2), maxSilentFraction: 0.2, silenceThreshold: 0.001, seed: 3).balance(table, rms: rms)
        XCTAssertEqual(report.negativesKept, 100)
        XCTAssertEqual(report.silentNegativesKept, 20)
        XCTAssertEqual(try out.rows.filter(\.isNegative).filter { try rms($0) < 0.001 }.count, 20)
        // Too few loud negatives: silent ones are trimmed to stay within the share.
        let mostlySilent: (ClipLabelRow) throws -> Double = { row in Int(row.start / 3) % 10 == 0 ? 0.1 : 0 }
        let (_, r2) = try Balancer(negatives: .ratio(2), maxSilentFraction: 0.2, seed: 3).balance(table, rms: mostlySilent)
        XCTAssertEqual(r2.negativesKept - r2.silentNegativesKept, 20)   // every loud negative
        XCTAssertLessThanOrEqual(Double(r2.silentNegativesKept), 0.2 * Double(r2.negativesKept))
        XCTAssertEqual(r2.silentNegativesKept, 5)
    }

    func testSecondsPerFileLimitsLongRecordings() throws {
        var rows: [ClipLabelRow] = []
        for file in ["long.wav", "short.wav"] {
            let length = file == "long.wav" ? 600.0 : 30.0
            for start in stride(from: 0.0, to: length, by: 3) { rows.append(ClipLabelRow(file: file, start: start, end: start + 3, labels: [1])) }
        }
        let (out, report) = try Balancer(negatives: .keepAll, maxSilentFraction: nil, secondsPerFile: 60, seed: 0)
            .balance(ClipLabelTable(classes: ["A"], rows: rows), rms: noRMS)
        XCTAssertEqual(out.rows.filter { $0.file == "long.wav" }.count, 20)
        XCTAssertEqual(out.rows.filter { $0.file == "short.wav" }.count, 10)
        XCTAssertEqual(report.rowsBeyondTimeLimit, 180)
        XCTAssertTrue(out.rows.allSatisfy { $0.end <= 60 })
    }

    func testErrors() {
        let table = syntheticTable(classes: ["A", "B"], positives: [5, 0], negatives: 3)
        XCTAssertTrue(errorDescription { _ = try Balancer(samplesPerClass: 4, maxSilentFraction: nil, seed: 0).balance(table, rms: self.noRMS) }
            .contains("class 'B' has no positive clips"))
        XCTAssertTrue(errorDescription { _ = try Balancer(negatives: .ratio(-1), seed: 0).balance(table, rms: self.noRMS) }.contains("negatives ratio"))
        XCTAssertTrue(errorDescription { _ = try Balancer(maxSilentFraction: 1.2, seed: 0).balance(table, rms: self.noRMS) }.contains("max silent fraction"))
    }
}
