import Annotations
import ChorusCore
import Foundation
import TestSupport
import XCTest

final class RavenTableTests: XCTestCase {
    static let header = "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tSpecies\n"

    func testReadsMSDTableWithSpeciesColumnAndEmptyAnnotation() throws {
        let path = try SharedData.path("annotations/MSD-0003_20180427_2minstart00.Table.1.selections.txt")
        let annotations = try RavenTable.read(path)
        XCTAssertEqual(annotations.count, 10)
        XCTAssertEqual(annotations.map(\.label), ["WOTH", "EATO", "WOTH", "WOTH", "EATO", "EATO", "WOTH", "LOWA", "EATO", ""])
        XCTAssertEqual(annotations[0].start, 1.897648165999982)
        XCTAssertEqual(annotations[0].end, 4.110570810999974)
        XCTAssertEqual(annotations[0].lowFrequency, 1326.3)
        XCTAssertEqual(annotations[0].highFrequency, 3266.5)
        XCTAssertEqual(annotations[0].extra["View"], "Spectrogram 1")
        XCTAssertEqual(annotations[0].extra["distance"], "")   // header column missing from short rows
        XCTAssertNil(annotations[0].file)
        XCTAssertEqual(annotations[9].sourceLine, 11)
        XCTAssertEqual(ClipLabeler.classesInOrderOfAppearance(annotations), ["WOTH", "EATO", "LOWA"])
    }

    func testReadsAnnotationColumnTableAndEmptyTable() throws {
        let withAnnotation = try RavenTable.read(try SharedData.path("annotations/raven_with_Annotation_col.txt"))
        XCTAssertEqual(withAnnotation.map(\.label), ["CSWA"])
        let empty = try RavenTable.read(try SharedData.path("annotations/EmptyExample.Table.1.selections.txt"))
        XCTAssertEqual(empty, [])
    }

    func testViewDuplicatesCountedOnce() throws {
        let text = Self.header
            + "1\tSpectrogram 1\t1\t1.0\t2.0\t100\t200\tA\n"
            + "1\tWaveform 1\t1\t1.0\t2.0\t100\t200\tA\n"
            + "2\tWaveform 1\t1\t3.0\t4.0\t100\t200\tB\n"
            + "2\tSpectrogram 1\t1\t3.0\t4.0\t150\t250\tB\n"
        let annotations = try RavenTable.read(try writeTemporaryFile("views.selections.txt", text))
        XCTAssertEqual(annotations.map(\.label), ["A", "B"])
        XCTAssertEqual(annotations[1].extra["View"], "Spectrogram 1")   // the spectrogram view is preferred
        XCTAssertEqual(annotations[1].lowFrequency, 150)
    }

    func testBOMAndCRLFAndBlankLinesAndTrimmedLabels() throws {
        let text = "\u{FEFF}" + Self.header.replacingOccurrences(of: "\n", with: "\r\n")
            + "1\tSpectrogram 1\t1\t0.5\t1.5\t100\t200\t EATO \r\n\r\n"
            + "2\tSpectrogram 1\t1\t2\t3\t\t\tWOTH\r\n"
        let annotations = try RavenTable.read(try writeTemporaryFile("crlf.txt", text))
        XCTAssertEqual(annotations.map(\.label), ["EATO", "WOTH"])
        XCTAssertEqual(annotations.map(\.sourceLine), [2, 4])
        XCTAssertNil(annotations[1].lowFrequency)
        XCTAssertEqual(annotations[0].start, 0.5)
    }

    func testAnnotationColumnByNameAndCandidates() throws {
        let text = "Begin Time (s)\tEnd Time (s)\tCall Type\tSpecies\n1\t2\tsong\tWOTH\n"
        let path = try writeTemporaryFile("t.txt", text)
        XCTAssertEqual(try RavenTable.read(path).map(\.label), ["WOTH"])
        XCTAssertEqual(try RavenTable.read(path, annotationColumn: ["Call Type"]).map(\.label), ["song"])
        XCTAssertEqual(try RavenTable.read(path, annotationColumn: ["Label", "Call Type"]).map(\.label), ["song"])
    }

    func testMissingAnnotationColumnListsTheColumns() throws {
        let path = try writeTemporaryFile("t.txt", Self.header + "1\tSpectrogram 1\t1\t1\t2\t0\t0\tA\n")
        let message = errorDescription { _ = try RavenTable.read(path, annotationColumn: ["Call"]) }
        XCTAssertTrue(message.contains(path + ":1:"), message)
        XCTAssertTrue(message.contains("'Call'"), message)
        XCTAssertTrue(message.contains("'Species'") && message.contains("'Begin Time (s)'"), message)
    }

    func testMissingTimeColumnsIsAnError() throws {
        let path = try writeTemporaryFile("t.txt", "Selection\tBegin Time (s)\tSpecies\n1\t2\tA\n")
        let message = errorDescription { _ = try RavenTable.read(path) }
        XCTAssertTrue(message.contains(path + ":1:"), message)
        XCTAssertTrue(message.contains("'End Time (s)'"), message)
        XCTAssertTrue(message.contains("'Selection'"), message)
    }

    func testBadRowsReportedTogetherWithLines() throws {
        let text = Self.header
            + "1\tSpectrogram 1\t1\t1\t2\t0\t0\tA\n"
            + "2\tSpectrogram 1\t1\t5\t4\t0\t0\tA\n"
            + "3\tSpectrogram 1\t1\tabc\t4\t0\t0\tA\n"
        let path = try writeTemporaryFile("t.txt", text)
        let message = errorDescription { _ = try RavenTable.read(path) }
        XCTAssertTrue(message.contains("\(path):3: end time 4.0 s is before begin time 5.0 s"), message)
        XCTAssertTrue(message.contains("\(path):4: 'Begin Time (s)' is 'abc'"), message)
    }

    func testMultiFileTableUsesBeginFileAndFileOffset() throws {
        let text = "Selection\tView\tBegin Time (s)\tEnd Time (s)\tBegin File\tFile Offset (s)\tAnnotation\n"
            + "1\tSpectrogram 1\t61.0\t62.5\tb.wav\t1.0\tA\n"
            + "2\tSpectrogram 1\t3.0\t4.0\ta.wav\t3.0\tB\n"
        let annotations = try RavenTable.read(try writeTemporaryFile("multi.txt", text))
        XCTAssertEqual(annotations.map(\.file), ["b.wav", "a.wav"])
        XCTAssertEqual(annotations[0].start, 1.0)
        XCTAssertEqual(annotations[0].end, 2.5)
    }

    func testWriteThenReadRoundTrip() throws {
        let original = [
            Annotation(start: 0.1, end: 0.35, lowFrequency: 1000, highFrequency: 2000.5, label: "SP", extra: ["Quality": "good"]),
            Annotation(start: 2, end: 3.25, label: "CRER", extra: [:]),
        ]
        let path = (makeTemporaryDirectoryForAnnotations() as NSString).appendingPathComponent("out.selections.txt")
        try RavenTable.write(original, to: path, extraColumns: ["Quality"])
        let back = try RavenTable.read(path)
        XCTAssertEqual(back.map(\.label), ["SP", "CRER"])
        XCTAssertEqual(back.map(\.start), [0.1, 2])
        XCTAssertEqual(back.map(\.end), [0.35, 3.25])
        XCTAssertEqual(back[0].highFrequency, 2000.5)
        XCTAssertNil(back[1].lowFrequency)
        XCTAssertEqual(back[0].extra["Quality"], "good")
    }
}
