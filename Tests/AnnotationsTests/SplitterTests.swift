import Annotations
import Foundation
import XCTest

final class SplitterTests: XCTestCase {
    func testStratifiedWithinOneSamplePerClass() throws {
        let table = syntheticTable(classes: ["A", "B", "C", "D"], positives: [101, 37, 9, 3], negatives: 57, files: 7)
        for seed in [UInt64(1), 2, 3, 99] {
            for fraction in [0.2, 0.25, 0.5] {
                let (train, validation) = try Splitter(validationFraction: fraction, seed: seed).split(table)
                XCTAssertEqual(train.rows.count + validation.rows.count, table.rows.count)
                let all = table.positiveCounts(), val = validation.positiveCounts()
                for c in 0..<4 {
                    XCTAssertLessThanOrEqual(abs(Double(val[c]) - fraction * Double(all[c])), 1.0, "class \(c) seed \(seed) fraction \(fraction)")
                }
                XCTAssertLessThanOrEqual(abs(Double(validation.negativeCount) - fraction * 57), 1.0)
                XCTAssertEqual(Set(train.rows.map(\.start)).union(validation.rows.map(\.start)).count, table.rows.count)
            }
        }
    }

    func testMultiLabelStratificationStaysClose() throws {
        var random = SeededRandom(seed: 5)
        let rows = (0..<400).map { i in
            ClipLabelRow(file: "f\(i % 10).wav", start: Double(i) * 3, end: Double(i) * 3 + 3,
                         labels: (0..<3).map { _ in random.unit() < 0.3 ? 1 : 0 })
        }
        let table = ClipLabelTable(classes: ["A", "B", "C"], rows: rows)
        let (_, validation) = try Splitter(validationFraction: 0.2, seed: 11).split(table)
        let all = table.positiveCounts(), val = validation.positiveCounts()
        for c in 0..<3 { XCTAssertLessThanOrEqual(abs(Double(val[c]) - 0.2 * Double(all[c])), 3.0) }
    }

    func testGroupByFileNeverStraddles() throws {
        var rows: [ClipLabelRow] = []
        for f in 0..<20 {
            for k in 0..<(5 + f % 7) {
                rows.append(ClipLabelRow(file: "site\(f).wav", start: Double(k) * 3, end: Double(k) * 3 + 3,
                                         labels: [k % 3 == 0 ? 1 : 0, (f + k) % 4 == 0 ? 1 : 0]))
            }
        }
        let table = ClipLabelTable(classes: ["A", "B"], rows: rows)
        let (train, validation) = try Splitter(validationFraction: 0.2, groupByFile: true, seed: 4).split(table)
        XCTAssertTrue(Set(train.rows.map(\.file)).isDisjoint(with: validation.rows.map(\.file)))
        XCTAssertEqual(train.rows.count + validation.rows.count, rows.count)
        XCTAssertFalse(validation.rows.isEmpty)
        let share = Double(validation.rows.count) / Double(rows.count)
        XCTAssertEqual(share, 0.2, accuracy: 0.08)
    }

    func testSameSeedSameSplit() throws {
        let table = syntheticTable(classes: ["A", "B"], positives: [30, 30], negatives: 30)
        let a = try Splitter(seed: 12).split(table), b = try Splitter(seed: 12).split(table), c = try Splitter(seed: 13).split(table)
        XCTAssertEqual(a.validation.csvText(), b.validation.csvText())
        XCTAssertEqual(a.train.csvText(), b.train.csvText())
        XCTAssertNotEqual(a.validation.csvText(), c.validation.csvText())
    }

    func testErrors() {
        let table = syntheticTable(classes: ["A"], positives: [5], negatives: 5, files: 1)
        XCTAssertTrue(errorDescription { _ = try Splitter(validationFraction: 1, seed: 0).split(table) }.contains("validation fraction"))
        XCTAssertTrue(errorDescription { _ = try Splitter(groupByFile: true, seed: 0).split(table) }.contains("at least two recordings"))
    }
}
