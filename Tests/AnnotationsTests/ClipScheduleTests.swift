import Annotations
import XCTest

final class ClipScheduleTests: XCTestCase {
    func pairs(_ windows: [ClipWindow]) -> [[Double]] { windows.map { [$0.start, $0.end] } }

    func testFinalClipModes() throws {
        XCTAssertEqual(pairs(try ClipSchedule.clips(duration: 10, clipDuration: 3, overlap: 0, finalClip: .none)),
                       [[0, 3], [3, 6], [6, 9]])
        XCTAssertEqual(pairs(try ClipSchedule.clips(duration: 10, clipDuration: 3, overlap: 0, finalClip: .remainder)),
                       [[0, 3], [3, 6], [6, 9], [9, 10]])
        XCTAssertEqual(pairs(try ClipSchedule.clips(duration: 10, clipDuration: 3, overlap: 0, finalClip: .full)),
                       [[0, 3], [3, 6], [6, 9], [7, 10]])
        XCTAssertEqual(pairs(try ClipSchedule.clips(duration: 10, clipDuration: 3, overlap: 0, finalClip: .extend)),
                       [[0, 3], [3, 6], [6, 9], [9, 12]])
    }

    func testExactFitHasNoExtraClip() throws {
        for mode in FinalClip.allCases {
            XCTAssertEqual(try ClipSchedule.clips(duration: 9, clipDuration: 3, finalClip: mode).count, 3, "\(mode)")
        }
    }

    func testOverlapAndFullDeduplicates() throws {
        XCTAssertEqual(pairs(try ClipSchedule.clips(duration: 5.5, clipDuration: 3, overlap: 2, finalClip: .full)),
                       [[0, 3], [1, 4], [2, 5], [2.5, 5.5]])
        XCTAssertEqual(pairs(try ClipSchedule.clips(duration: 5, clipDuration: 3, overlap: 1.5, finalClip: .none)),
                       [[0, 3], [1.5, 4.5]])
    }

    func testShortRecording() throws {
        XCTAssertEqual(try ClipSchedule.clips(duration: 2, clipDuration: 3, finalClip: .none), [])
        XCTAssertEqual(pairs(try ClipSchedule.clips(duration: 2, clipDuration: 3, finalClip: .full)), [[0, 2]])
        XCTAssertEqual(pairs(try ClipSchedule.clips(duration: 2, clipDuration: 3, finalClip: .remainder)), [[0, 2]])
        XCTAssertEqual(pairs(try ClipSchedule.clips(duration: 2, clipDuration: 3, finalClip: .extend)), [[0, 3]])
        XCTAssertEqual(try ClipSchedule.clips(duration: 0, clipDuration: 3, finalClip: .extend), [])
    }

    func testTimesRoundedLikeTheReference() throws {
        let clips = try ClipSchedule.clips(duration: 1, clipDuration: 0.1, finalClip: .none)
        XCTAssertEqual(clips.count, 10)
        XCTAssertEqual(clips[3].start, 0.3)   // 3 * 0.1 = 0.30000000000000004 before rounding
        XCTAssertEqual(clips[6].end, 0.7)
    }

    func testInvalidParameters() {
        XCTAssertTrue(errorDescription { _ = try ClipSchedule.clips(duration: 10, clipDuration: 3, overlap: 3) }.contains("clip overlap"))
        XCTAssertTrue(errorDescription { _ = try ClipSchedule.clips(duration: 10, clipDuration: 0) }.contains("clip duration"))
        XCTAssertTrue(errorDescription { _ = try ClipSchedule.clips(duration: -1, clipDuration: 3) }.contains("recording duration"))
    }
}
