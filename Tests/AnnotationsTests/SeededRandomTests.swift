import Annotations
import XCTest

final class SeededRandomTests: XCTestCase {
    /// Golden values: xoshiro256** seeded by SplitMix64(0). If these change, every seeded
    /// split and balance changes, so they are pinned.
    func testKnownSequence() {
        var r = SeededRandom(seed: 0)
        let first = (0..<3).map { _ in r.next() }
        var again = SeededRandom(seed: 0)
        XCTAssertEqual((0..<3).map { _ in again.next() }, first)
        XCTAssertEqual(first, SeededRandomTests.goldenSeed0)
    }

    static let goldenSeed0: [UInt64] = [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0]

    func testBoundedIntegersAndSamples() {
        var r = SeededRandom(seed: 9)
        var histogram = [Int](repeating: 0, count: 5)
        for _ in 0..<5000 { histogram[r.integer(below: 5)] += 1 }
        XCTAssertTrue(histogram.allSatisfy { abs($0 - 1000) < 120 }, "\(histogram)")
        let sample = r.sample(10, from: 30)
        XCTAssertEqual(Set(sample).count, 10)
        XCTAssertTrue(sample.allSatisfy { (0..<30).contains($0) })
        var array = Array(0..<50)
        r.shuffle(&array)
        XCTAssertEqual(array.sorted(), Array(0..<50))
        XCTAssertNotEqual(array, Array(0..<50))
        let u = r.unit()
        XCTAssertTrue(u >= 0 && u < 1)
    }
}
