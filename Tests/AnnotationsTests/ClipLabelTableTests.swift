import Annotations
import ChorusCore
import Foundation
import TestSupport
import XCTest

final class ClipLabelTableTests: XCTestCase {
    func testWriteReadRoundTripWithFileCheck() throws {
        let dir = makeTemporaryDirectory()
        try AtomicFile.write(Data([1, 2, 3]), to: dir + "/a.wav")
        let table = ClipLabelTable(classes: ["A", "B,C"], rows: [
            ClipLabelRow(file: "a.wav", start: 0, end: 2.5, labels: [1, 0]),
            ClipLabelRow(file: "a.wav", start: 0.1, end: 2.6, labels: [0, 1]),
        ])
        let path = dir + "/labels.csv"
        try table.write(to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(text, "file,start_time,end_time,A,\"B,C\"\na.wav,0.0,2.5,1,0\na.wav,0.1,2.6,0,1\n")
        let back = try ClipLabelTable.read(path)   // a.wav is found beside the CSV
        XCTAssertEqual(back.rows, table.rows)
        XCTAssertEqual(back.classes, table.classes)
        XCTAssertEqual(back.resolvedPath("a.wav"), dir + "/a.wav")
        XCTAssertEqual(back.positiveCounts(), [1, 1])
        XCTAssertEqual(back.negativeCount, 0)
    }

    func testEveryBadRowIsReportedWithItsLine() throws {
        let text = "file,start_time,end_time,A,B\n"
            + "x.wav,0.0,3.0,1,0\n"      // 2: ok apart from the missing file
            + "y.wav,3.0,6.0,2,0\n"      // 3: not 0/1
            + "y.wav,abc,6.0,0,0\n"      // 4: not a number
            + "y.wav,6.0,6.0,0,0.5\n"    // 5: end not after start, 0.5
            + "y.wav,6.0,9.0,0\n"        // 6: too few fields
        let path = try writeTemporaryFile("bad.csv", text)
        do {
            _ = try ClipLabelTable.read(path, checkFilesExist: false)
            XCTFail("expected an error")
        } catch let AnnotationsError.invalidRows(errorPath, problems) {
            XCTAssertEqual(errorPath, path)
            XCTAssertEqual(problems.map(\.line), [3, 4, 5, 6])
            XCTAssertTrue(problems[0].reason.contains("'A' is '2'; labels must be 0 or 1"), problems[0].reason)
            XCTAssertTrue(problems[1].reason.contains("start_time 'abc' is not a number"))
            XCTAssertTrue(problems[2].reason.contains("not after start_time") && problems[2].reason.contains("'B' is '0.5'"))
        }
        let message = errorDescription { _ = try ClipLabelTable.read(path, checkFilesExist: true) }
        XCTAssertTrue(message.contains("\(path):2: audio file 'x.wav' does not exist"), message)
        XCTAssertTrue(message.contains("5 bad rows"), message)
    }

    func testHeaderErrors() throws {
        let noTimes = try writeTemporaryFile("a.csv", "file,A\nx.wav,1\n")
        XCTAssertTrue(errorDescription { _ = try ClipLabelTable.read(noTimes, checkFilesExist: false) }.contains("\(noTimes):1: the header must start with 'file,start_time,end_time'"))
        let duplicate = try writeTemporaryFile("b.csv", "file,start_time,end_time,A,A\n")
        XCTAssertTrue(errorDescription { _ = try ClipLabelTable.read(duplicate, checkFilesExist: false) }.contains("'A' appears twice"))
        let noClasses = try writeTemporaryFile("c.csv", "file,start_time,end_time\n")
        XCTAssertTrue(errorDescription { _ = try ClipLabelTable.read(noClasses, checkFilesExist: false) }.contains("no class columns"))
    }

    func testAcceptsFloatZeroOneAndBOMCRLF() throws {
        let path = try writeTemporaryFile("f.csv", "\u{FEFF}file,start_time,end_time,A\r\nx.wav,0,3,1.0\r\nx.wav,3,6,0.0\r\n")
        let table = try ClipLabelTable.read(path, checkFilesExist: false)
        XCTAssertEqual(table.rows.map(\.labels), [[1], [0]])
    }
}
