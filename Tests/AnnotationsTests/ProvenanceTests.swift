import Annotations
import ChorusCore
import Foundation
import TestSupport
import XCTest

final class ProvenanceTests: XCTestCase {
    func testSidecarPathsAndDateStamp() {
        XCTAssertEqual(Provenance.sidecarPath(for: "out/labels.csv"), "out/labels.json")
        XCTAssertEqual(Provenance.sidecarPath(for: "labels"), "labels.json")
        XCTAssertEqual(Provenance.sidecarPath(for: "labels.json"), "labels.json.json")
        XCTAssertEqual(Provenance.dateStamped("out/labels.csv", stamp: "2024-05-01"), "out/2024-05-01_labels.csv")
        XCTAssertEqual(Provenance.dateStamped("labels.csv", stamp: "2024-05-01"), "2024-05-01_labels.csv")
    }

    func testWritesAndReadsRecordWithHashesAndCounts() throws {
        let dir = makeTemporaryDirectory()
        let input = dir + "/in.txt"
        try AtomicFile.write("abc", to: input)
        let table = syntheticTable(classes: ["A", "B"], positives: [3, 1], negatives: 2)
        let path = dir + "/labels.csv"
        try table.write(to: path)
        let record = Provenance(step: "labels", commandLine: ["train-gpu", "labels", "--out", path],
                                inputs: try Provenance.inputFiles([input]), parameters: ["clip_duration": "3.0"],
                                table: table, tablePath: path)
        try record.write(for: path)
        let back = try Provenance.read(for: path)
        XCTAssertEqual(back, record)
        XCTAssertEqual(back.inputs[0].sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(back.tableSHA256, try SHA256.hex(fileAt: path))
        XCTAssertEqual(back.positivesPerClass, ["A": 3, "B": 1])
        XCTAssertEqual(back.negatives, 2)
        XCTAssertEqual(back.rows, 6)
        XCTAssertEqual(back.toolVersion, chorusVersion)
        let json = try String(contentsOfFile: dir + "/labels.json", encoding: .utf8)
        XCTAssertTrue(json.contains("\"commandLine\""), json)
    }
}
