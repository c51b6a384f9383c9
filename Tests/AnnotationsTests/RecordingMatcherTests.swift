import Annotations
import XCTest

final class RecordingMatcherTests: XCTestCase {
    func testRecordingNames() {
        XCTAssertEqual(RecordingMatcher.recordingName(ofTable: "/d/MSD-0003_20180427_2minstart00.Table.1.selections.txt"), "MSD-0003_20180427_2minstart00")
        XCTAssertEqual(RecordingMatcher.recordingName(ofTable: "x.selections.txt"), "x")
        XCTAssertEqual(RecordingMatcher.recordingName(ofTable: "spinetail.audacity.txt"), "spinetail")
        XCTAssertEqual(RecordingMatcher.recordingName(ofTable: "y.txt"), "y")
        XCTAssertEqual(RecordingMatcher.recordingName(ofAudio: "/a/b/rec.1.WAV"), "rec.1")
    }

    func testMatchesByNameAndReportsMissingOrExtraAudio() throws {
        let a = Annotation(start: 0, end: 1, label: "A")
        let multi = Annotation(file: "other.wav", start: 0, end: 1, label: "B")
        let tables = [(path: "dir/rec.Table.1.selections.txt", annotations: [a, multi]),
                      (path: "dir/empty.Table.1.selections.txt", annotations: [Annotation]())]
        let matches = try RecordingMatcher.match(tables: tables, audio: ["au/rec.wav", "au/other.flac", "au/empty.wav"],
                                                 requireAudio: true, includeUnannotated: false)
        XCTAssertEqual(matches.map(\.recording), ["rec", "other", "empty"])
        XCTAssertEqual(matches.map(\.audioPath), ["au/rec.wav", "au/other.flac", "au/empty.wav"])
        XCTAssertEqual(matches[1].annotations, [multi])

        XCTAssertTrue(errorDescription {
            _ = try RecordingMatcher.match(tables: tables, audio: ["au/rec.wav"], requireAudio: true, includeUnannotated: false)
        }.contains("no audio file found for recordings 'other', 'empty'"))
        XCTAssertTrue(errorDescription {
            _ = try RecordingMatcher.match(tables: tables, audio: ["au/rec.wav", "au/other.wav", "au/empty.wav", "au/z.wav"], requireAudio: true, includeUnannotated: false)
        }.contains("au/z.wav"))
        let withExtra = try RecordingMatcher.match(tables: tables, audio: ["au/z.wav"], requireAudio: false, includeUnannotated: true)
        XCTAssertEqual(withExtra.map(\.recording), ["rec", "other", "empty", "z"])
        XCTAssertTrue(errorDescription {
            _ = try RecordingMatcher.match(tables: tables, audio: ["a/rec.wav", "b/rec.wav"], requireAudio: false, includeUnannotated: true)
        }.contains("two audio files"))
    }
}
