import ChorusCore
import Foundation
import TestSupport
import XCTest

/// `OutputPolicy.claim`, the one check of every command's outputs, and `distinctFiles`.
final class OutputClaimTests: XCTestCase {
    func write(_ path: String, _ text: String = "x\n") throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }

    func testAnOutputOrItsRecordThatIsAnInputIsRefusedEvenWithOverwrite() throws {
        let dir = makeTemporaryDirectory("claim-input")
        try write(dir + "/labels.csv"); try write(dir + "/labels.json")
        try FileManager.default.createSymbolicLink(atPath: dir + "/alias.json", withDestinationPath: dir + "/labels.json")
        let inputs = OutputPolicy.inputs(withRecordsOf: [dir + "/labels.csv"])
        XCTAssertEqual(inputs, [dir + "/labels.csv", dir + "/labels.json", dir + "/labels.csv.done"])
        for out in [dir + "/labels.tsv", dir + "/alias.txt", dir + "/./labels.csv"] {
            for overwrite in [false, true] {
                XCTAssertThrowsError(try OutputPolicy.claim(PlannedOutput.table(out, parameter: "--out"), inputs: inputs, overwrite: overwrite), out) { error in
                    guard case ChorusFileError.outputIsInput = error else { return XCTFail("\(error)") }
                }
            }
        }
        XCTAssertNoThrow(try OutputPolicy.claim(PlannedOutput.table(dir + "/balanced.csv", parameter: "--out"), inputs: inputs, overwrite: false))
    }

    func testOutputsThatAreTheSameFileAreRefused() throws {
        let dir = makeTemporaryDirectory("claim-collide")
        let planned = PlannedOutput.table(dir + "/s.csv", parameter: "--out-train") + PlannedOutput.table(dir + "/s.tsv", parameter: "--out-validation")
        XCTAssertThrowsError(try OutputPolicy.claim(planned, inputs: [], overwrite: true)) { error in
            XCTAssertEqual(error as? ChorusFileError, .outputsCollide(path: dir + "/s.json", parameter: "the record of --out-validation",
                                                                     other: "the record of --out-train"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/.s.csv.lock"), "refused before any lock was taken")
    }

    func testFinishedWorkIsReplacedOnlyWithOverwrite() throws {
        let dir = makeTemporaryDirectory("claim-existing")
        try write(dir + "/t.json")
        let planned = PlannedOutput.table(dir + "/t.csv", parameter: "--out")
        XCTAssertThrowsError(try OutputPolicy.claim(planned, inputs: [], overwrite: false)) { error in
            XCTAssertEqual(error as? ChorusFileError, .outputExists(path: dir + "/t.json", parameter: "the record of --out",
                                                                   hint: "pass --overwrite to replace it, or choose another output"))
        }
        XCTAssertNoThrow(try OutputPolicy.claim(planned, inputs: [], overwrite: true))
        // Not finished work (a table --resume continues): no refusal.
        XCTAssertNoThrow(try OutputPolicy.claim(PlannedOutput.table(dir + "/t.csv", parameter: "--out", existingIsFinishedWork: false), inputs: [], overwrite: false))
    }

    func testAFileGivenTwiceIsKeptOnce() throws {
        let dir = makeTemporaryDirectory("distinct")
        try write(dir + "/a.wav"); try write(dir + "/b.wav")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.wav", withDestinationPath: dir + "/a.wav")
        try FileManager.default.linkItem(atPath: dir + "/b.wav", toPath: dir + "/hard.wav")
        let given = [dir + "/a.wav", dir + "/./a.wav", dir + "/b.wav", dir + "/link.wav", dir + "/hard.wav", dir + "/a.wav"]
        let (files, duplicates) = OutputPolicy.distinctFiles(given)
        XCTAssertEqual(files, [dir + "/a.wav", dir + "/b.wav"])
        XCTAssertEqual(duplicates.map(\.path), [dir + "/./a.wav", dir + "/link.wav", dir + "/hard.wav", dir + "/a.wav"])
        XCTAssertEqual(duplicates.map(\.sameAs), [dir + "/a.wav", dir + "/a.wav", dir + "/b.wav", dir + "/a.wav"])
    }
}
