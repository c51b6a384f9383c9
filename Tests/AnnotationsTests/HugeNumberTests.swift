import Annotations
import XCTest

/// Huge, infinite and non-positive numbers: each is refused naming its option, never trapped on
/// converting to an Int and never written as an `inf` time.
final class AnnotationsHugeNumberTests: XCTestCase {
    /// `labels --duration 1e300` trapped formatting the clip count (1e12 was refused cleanly).
    func testEveryHugeRecordingIsRefusedByTheClipLimit() {
        for duration in [1e12, 1e19, 1e300, Double.greatestFiniteMagnitude] {
            let message = errorDescription { _ = try ClipSchedule.clips(duration: duration, clipDuration: 1) }
            XCTAssertTrue(message.contains("clips; the limit is 2000000"), message)
        }
    }

    /// `labels --clip-duration 1e300 --final-clip extend` wrote an end_time of `inf`.
    func testHugeClipDurationIsRefusedNamingTheOption() {
        for clip in [1e300, 1e12, 86_400.5, Double.infinity, .nan, 0, -1] {
            for mode in FinalClip.allCases {
                let message = errorDescription { _ = try ClipSchedule.clips(duration: 4, clipDuration: clip, finalClip: mode) }
                XCTAssertTrue(message.contains("--clip-duration"), message)
            }
        }
        XCTAssertEqual(try ClipSchedule.clips(duration: 4, clipDuration: 86_400, finalClip: .extend), [ClipWindow(start: 0, end: 86_400)])
    }

    /// `labels --clip-duration 0` blamed --min-overlap ("0.25 s is longer than the clip").
    func testBadClipDurationIsBlamedBeforeTheMinimumOverlap() {
        let recording = AnnotatedRecording(file: "a.wav", duration: 6, annotations: [Annotation(start: 0, end: 1, label: "A")])
        for clip in [0, -1, Double.nan, 1e300] {
            let message = errorDescription { _ = try ClipLabeler().label([recording], clipDuration: clip) }
            XCTAssertTrue(message.contains("--clip-duration"), message)
            XCTAssertFalse(message.contains("--min-overlap"), message)
        }
    }

    /// `balance --negatives-ratio 1e300` (and 1e19) trapped converting ratio × positives to an Int.
    func testHugeNegativesRatioIsRefusedAndLargeOnesKeepEveryNegative() throws {
        let table = syntheticTable(classes: ["A"], positives: [3], negatives: 5)
        for ratio in [1e300, 1e19, 1_000_001, Double.infinity] {
            let message = errorDescription { _ = try Balancer(negatives: .ratio(ratio), maxSilentFraction: nil, seed: 1).balance(table) { _ in 1 } }
            XCTAssertTrue(message.contains("--negatives-ratio"), message)
        }
        let (_, report) = try Balancer(negatives: .ratio(1_000_000), maxSilentFraction: nil, seed: 1).balance(table) { _ in 1 }
        XCTAssertEqual(report.negativesKept, 5)
    }
}
