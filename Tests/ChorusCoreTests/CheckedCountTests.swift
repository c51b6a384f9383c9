import ChorusCore
import XCTest

/// Seconds × rate → a count, without trapping on NaN, infinities or values past Int.max.
final class CheckedCountTests: XCTestCase {
    struct Failure: Error { var reason: String }

    func testExactNeverTraps() {
        XCTAssertEqual(CheckedCount.exact(2.5), 3)
        XCTAssertEqual(CheckedCount.exact(2.5, rounding: .down), 2)
        XCTAssertEqual(CheckedCount.exact(7, maximum: 7), 7)
        XCTAssertNil(CheckedCount.exact(8, maximum: 7))
        for bad in [Double.nan, .infinity, -.infinity, -1, 1e300, 0x1p63, Double(Int.max)] {
            XCTAssertNil(CheckedCount.exact(bad), "\(bad)")
        }
        XCTAssertEqual(CheckedCount.exact(0x1p62), 1 << 62)
    }

    func testOfNamesTheReason() throws {
        XCTAssertEqual(try CheckedCount.of(seconds: 2, perSecond: 8000, maximum: 100_000) { Failure(reason: $0) }, 16_000)
        func reason(_ seconds: Double, minimum: Int = 0) -> String {
            do {
                _ = try CheckedCount.of(seconds: seconds, perSecond: 8000, minimum: minimum, maximum: 100_000) { Failure(reason: $0) }
                return "no error"
            } catch let f as Failure { return f.reason } catch { return "\(error)" }
        }
        XCTAssertTrue(reason(.nan).contains("not a finite number"), reason(.nan))
        XCTAssertTrue(reason(.infinity).contains("not a finite number"))
        XCTAssertTrue(reason(-1).contains("negative"))
        XCTAssertEqual(reason(1e300), "1e+300 s at 8000 Hz would be 8e+303 samples; the limit is 100000 (12.5 s)")
        XCTAssertEqual(reason(1e12), "1000000000000 s at 8000 Hz would be 8e+15 samples; the limit is 100000 (12.5 s)")
        XCTAssertEqual(reason(0.0001, minimum: 4), "0.0001 s at 8000 Hz is 1 samples; at least 4 are needed")
    }
}
