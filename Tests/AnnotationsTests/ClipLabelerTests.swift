import Annotations
import ChorusCore
import Foundation
import TestSupport
import XCTest

final class ClipLabelerTests: XCTestCase {
    /// The reference's labels of the MSD table (3 s clips, 0.25 s minimum overlap, 120 s,
    /// partial final clip dropped), byte for byte.
    func testReproducesReferenceMSDLabelsExactly() throws {
        let tablePath = try SharedData.path("annotations/MSD-0003_20180427_2minstart00.Table.1.selections.txt")
        let reference = try String(contentsOfFile: try SharedData.path("reference/msd_clip_labels.csv"), encoding: .utf8)
        let annotations = try RavenTable.read(tablePath)
        let file = RecordingMatcher.recordingName(ofTable: tablePath) + ".wav"
        let table = try ClipLabeler(minimumOverlap: 0.25).label(recording: file, duration: 120, annotations: annotations,
                                                                 clipDuration: 3, overlap: 0, finalClip: .none)
        XCTAssertEqual(table.classes, ["WOTH", "EATO", "LOWA"])
        XCTAssertEqual(table.rows.count, 40)
        XCTAssertEqual(table.csvText(), reference)
        // And it reads back to the same table.
        let dir = makeTemporaryDirectory()
        let out = dir + "/msd.csv"
        try table.write(to: out)
        XCTAssertEqual(try SHA256.hex(fileAt: out), table.sha256())
        let back = try ClipLabelTable.read(out, checkFilesExist: false)
        XCTAssertEqual(back.rows, table.rows)
    }

    func labels(_ annotations: [Annotation], duration: Double = 9, labeler: ClipLabeler = ClipLabeler()) throws -> [[Float]] {
        try labeler.label(recording: "r.wav", duration: duration, annotations: annotations, clipDuration: 3).rows.map(\.labels)
    }

    func testAnnotationExactlyAtClipBoundaryLabelsOnlyTheClipsItOverlaps() throws {
        // Ends exactly at 3 s: clip [3, 6) has zero overlap, even with a zero minimum.
        let a = Annotation(start: 2, end: 3, label: "A")
        XCTAssertEqual(try labels([a]), [[1], [0], [0]])
        XCTAssertEqual(try labels([a], labeler: ClipLabeler(minimumOverlap: 0)), [[1], [0], [0]])
        // Straddles the boundary by exactly 0.25 s each side: both clips positive (≥ is inclusive).
        XCTAssertEqual(try labels([Annotation(start: 2.75, end: 3.25, label: "A")]), [[1], [1], [0]])
        // 0.2 s into the next clip: not enough.
        XCTAssertEqual(try labels([Annotation(start: 2.0, end: 3.2, label: "A")]), [[1], [0], [0]])
    }

    func testZeroLengthAnnotationsNeverLabel() throws {
        let point = Annotation(start: 4, end: 4, label: "A")
        XCTAssertEqual(try labels([point], labeler: ClipLabeler(minimumOverlap: 0, minimumFraction: 0.5)), [[0], [0], [0]])
    }

    func testOverlappingBoxesAndMultipleClasses() throws {
        let annotations = [Annotation(start: 1, end: 5, label: "A"), Annotation(start: 2, end: 4, label: "A"),
                           Annotation(start: 5.9, end: 8, label: "B")]
        XCTAssertEqual(try labels(annotations), [[1, 0], [1, 0], [0, 1]])
    }

    func testMinimumFractionLabelsShortCalls() throws {
        let chip = Annotation(start: 2.9, end: 3.1, label: "A")   // 0.1 s on each side
        XCTAssertEqual(try labels([chip]), [[0], [0], [0]])
        XCTAssertEqual(try labels([chip], labeler: ClipLabeler(minimumFraction: 0.5)), [[1], [1], [0]])
        XCTAssertEqual(try labels([chip], labeler: ClipLabeler(minimumFraction: 0.6)), [[0], [0], [0]])
    }

    func testClassSubsetKeepsAbsentClassesAndIgnoresOthers() throws {
        let annotations = [Annotation(start: 0, end: 1, label: "A"), Annotation(start: 3, end: 4, label: "B")]
        let table = try ClipLabeler(classes: ["B", "Z"]).label(recording: "r.wav", duration: 9, annotations: annotations, clipDuration: 3)
        XCTAssertEqual(table.classes, ["B", "Z"])
        XCTAssertEqual(table.rows.map(\.labels), [[0, 0], [1, 0], [0, 0]])
    }

    func testClassesInOrderOfFirstAppearanceAcrossRecordings() throws {
        let recordings = [
            AnnotatedRecording(file: "a.wav", duration: 6, annotations: [Annotation(start: 0, end: 1, label: "B")]),
            AnnotatedRecording(file: "b.wav", duration: 6, annotations: [Annotation(start: 0, end: 1, label: "A"),
                                                                         Annotation(start: 3, end: 4, label: "B")]),
        ]
        let table = try ClipLabeler().label(recordings, clipDuration: 3)
        XCTAssertEqual(table.classes, ["B", "A"])
        XCTAssertEqual(table.rows.map(\.file), ["a.wav", "a.wav", "b.wav", "b.wav"])
        XCTAssertEqual(table.rows.map(\.labels), [[1, 0], [0, 0], [0, 1], [1, 0]])   // A absent from a.wav
    }

    func testEmptyLabelLabelsNothing() throws {
        let table = try ClipLabeler().label(recording: "r.wav", duration: 6, annotations: [Annotation(start: 0, end: 2, label: "")], clipDuration: 3)
        XCTAssertEqual(table.classes, [])
        XCTAssertEqual(table.rows.count, 2)
    }

    func testSingleTargetAddsOtherAndRefusesAmbiguousClips() throws {
        let labeler = ClipLabeler(singleTarget: true)
        let table = try labeler.label(recording: "r.wav", duration: 9, annotations: [Annotation(start: 0, end: 1, label: "A")], clipDuration: 3)
        XCTAssertEqual(table.classes, ["A", "other"])
        XCTAssertEqual(table.rows.map(\.labels), [[1, 0], [0, 1], [0, 1]])
        let message = errorDescription {
            _ = try labeler.label(recording: "r.wav", duration: 9, annotations: [Annotation(start: 0, end: 1, label: "A"), Annotation(start: 3.5, end: 5, label: "A"),
                                                                                 Annotation(start: 4, end: 5, label: "B")], clipDuration: 3)
        }
        XCTAssertTrue(message.contains("r.wav 3–6 s: A, B"), message)
        XCTAssertTrue(message.contains("1 clip has several"), message)
    }

    func testAnnotationPastTheEndIsAnErrorNamingTableAndLine() throws {
        let text = "Begin Time (s)\tEnd Time (s)\tSpecies\n1\t2\tA\n100\t130.5\tB\n"
        let path = try writeTemporaryFile("rec.Table.1.selections.txt", text)
        let annotations = try RavenTable.read(path)
        let message = errorDescription { _ = try ClipLabeler().label(recording: "rec.wav", duration: 120, annotations: annotations, clipDuration: 3) }
        XCTAssertTrue(message.contains("\(path):3: annotation 'B' ends at 130.5 s, past the end of rec.wav (120.0 s)"), message)
    }

    func testInvalidParameters() {
        XCTAssertTrue(errorDescription { _ = try ClipLabeler(minimumFraction: 1.5).label(recording: "r", duration: 3, annotations: [], clipDuration: 3) }.contains("minimum label fraction"))
        XCTAssertTrue(errorDescription { _ = try ClipLabeler(classes: ["A", "A"]).label(recording: "r", duration: 3, annotations: [], clipDuration: 3) }.contains("classes"))
    }
}

final class ClipLabelerBruteForceTests: XCTestCase {
    /// The indexed search over clips must give the same labels as checking every clip against
    /// every annotation, for every final-clip mode and with overlapping clips.
    func testMatchesBruteForceOnRandomAnnotations() throws {
        var random = SeededRandom(seed: 21)
        for trial in 0..<40 {
            let duration = 5 + random.unit() * 40
            let clipDuration = 0.5 + random.unit() * 4
            let overlap = [0, clipDuration / 2, clipDuration * 0.9][trial % 3]
            let mode = FinalClip.allCases[trial % 4]
            let labeler = ClipLabeler(minimumOverlap: [0, 0.25, 0.5][trial % 3], minimumFraction: trial % 2 == 0 ? nil : 0.4)
            let annotations = (0..<30).map { _ -> Annotation in
                let start = random.unit() * duration
                let length = random.integer(below: 5) == 0 ? 0 : random.unit() * 3
                return Annotation(start: start, end: min(duration, start + length), label: ["A", "B", "C"][random.integer(below: 3)])
            }
            let table = try labeler.label(recording: "r", duration: duration, annotations: annotations, clipDuration: clipDuration,
                                          overlap: overlap, finalClip: mode)
            let windows = try ClipSchedule.clips(duration: duration, clipDuration: clipDuration, overlap: overlap, finalClip: mode)
            XCTAssertEqual(table.rows.count, windows.count)
            for (row, window) in zip(table.rows, windows) {
                let expected: [Float] = table.classes.map { c in
                    annotations.contains { $0.label == c && labeler.isPositive(clip: window, annotation: $0) } ? 1 : 0
                }
                XCTAssertEqual(row.labels, expected, "trial \(trial) clip \(window)")
            }
        }
    }

    func testDayLongRecordingIsFast() throws {
        var random = SeededRandom(seed: 2)
        let annotations = (0..<20_000).map { _ -> Annotation in
            let start = random.unit() * 86_000
            return Annotation(start: start, end: start + random.unit() * 5, label: "S\(random.integer(below: 20))")
        }
        let began = Date()
        let table = try ClipLabeler().label(recording: "day.wav", duration: 86_400, annotations: annotations, clipDuration: 1)
        XCTAssertEqual(table.rows.count, 86_400)
        XCTAssertEqual(table.classes.count, 20)
        XCTAssertLessThan(Date().timeIntervalSince(began), 10)   // seconds, even unoptimised
    }
}
