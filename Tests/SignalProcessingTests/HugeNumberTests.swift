import Audio
import TestSupport
import XCTest
@testable import SignalProcessing

/// Clip and window lengths far past Int.max trapped converting to sample counts, and large ones
/// (`ribbit --clip-duration 1e12`: 689 TB; `grouse --window-duration 1e9`: 1.6 TB) asked for the
/// memory. Each is refused naming its option before anything is allocated.
final class SignalProcessingHugeNumberTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    func testRibbitClipDurationIsBounded() throws {
        var p = RibbitParameters.greatPlainsToad
        for clip in [1e300, 1e12, 1e5, Double.infinity, .nan, 0, -1] {
            p.clipDuration = clip
            let m = message { try p.validate() }
            XCTAssertTrue(m.contains("--clip-duration"), m)
            let perRecording = message { try p.validate(sampleRate: 22050) }
            XCTAssertTrue(perRecording.contains("--clip-duration"), perRecording)
        }
        // Within a day but too many amplitude samples at a high rate with a tiny hop: per recording.
        p = RibbitParameters(signalBand: FrequencyBand(1000, 2000), pulseRateRange: FrequencyBand(8, 20), clipDuration: 86_400,
                             windowSamples: 4, overlapSamples: 3)
        XCTAssertEqual(message { try p.validate() }, "no error")
        let m = message { try p.validate(sampleRate: 768_000) }
        XCTAssertTrue(m.contains("--clip-duration") && m.contains("the limit is \(RibbitParameters.maximumClipSamples)"), m)
        XCTAssertEqual(p.clipSamples(sampleRate: 768_000), 86_400 * 768_000, "counted, not trapped")
        p.clipDuration = 1e300
        XCTAssertEqual(p.clipSamples(sampleRate: 768_000), .max, "not a count: never a trap")
    }

    func testGrouseWindowAndPeakSeparationAreBounded() throws {
        for window in [1e300, 1e9, 1e5, Double.infinity, .nan, 0, -1, 0.001] {
            var p = GrouseParameters()
            p.windowDuration = window
            let m = message { try p.validate() }
            XCTAssertTrue(m.contains("--window-duration"), m)
        }
        for separation in [1e300, 1e9, 61, Double.infinity, .nan, -1] {
            var p = GrouseParameters()
            p.peakSeparation = separation
            let m = message { try p.validate() }
            XCTAssertTrue(m.contains("--peak-separation"), m)
        }
        var p = GrouseParameters()
        p.peakSeparation = 60
        XCTAssertEqual(message { try p.validate() }, "no error")
        p.sampleRate = 100_000_000
        XCTAssertTrue(message { try p.validate() }.contains("--sample-rate"))
    }
}
