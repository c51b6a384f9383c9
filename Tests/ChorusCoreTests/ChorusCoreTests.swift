import ChorusCore
import Foundation
import TestSupport
import XCTest

final class ChorusCoreTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(string: ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(string: "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(string: String(repeating: "a", count: 1000)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testCSVQuotingRoundTrip() {
        let rows = [["a", "b,c", "say \"hi\""], ["1", "", "x\ny"]]
        let text = rows.map { CSV.line($0) }.joined()
        let parsed = CSV.parse("\u{FEFF}" + text.replacingOccurrences(of: "\n1,", with: "\r\n1,"))
        XCTAssertEqual(parsed.map { $0.fields }, rows)
        XCTAssertEqual(parsed.map { $0.line }, [1, 2])
    }

    func testNPYRoundTrip() throws {
        let dir = makeTemporaryDirectory()
        let path = dir + "/a.npy"
        let values: [Float] = (0..<12).map { Float($0) * 0.5 - 2 }
        try NPY.write(values, shape: [3, 4], to: path)
        let back = try NPY.read(path)
        XCTAssertEqual(back.shape, [3, 4])
        XCTAssertEqual(back.values, values)
    }

    func testAtomicWriteReplacesWholeFile() throws {
        let dir = makeTemporaryDirectory()
        let path = dir + "/out.txt"
        try AtomicFile.write("first version, longer", to: path)
        try AtomicFile.write("second", to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "second")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
    }

    func testPNGHasValidSignatureAndCRC() {
        var img = RGBImage(width: 3, height: 2)
        img.set(1, 1, (10, 20, 30))
        let data = [UInt8](PNG.encode(img))
        XCTAssertEqual(Array(data[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // IHDR chunk: length 13, type, body, CRC over type+body.
        let body = Array(data[12..<(12 + 4 + 13)])
        let crc = UInt32(data[29]) << 24 | UInt32(data[30]) << 16 | UInt32(data[31]) << 8 | UInt32(data[32])
        XCTAssertEqual(PNG.crc32(body), crc)
    }
}

final class OutputPolicyTests: XCTestCase {
    /// An output is the input whether named directly, relatively, through a symbolic link or a hard link.
    func testOutputThatResolvesToAnInputIsRefused() throws {
        let dir = makeTemporaryDirectory("output-policy")
        let input = dir + "/in.wav"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: input))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.wav", withDestinationPath: input)
        try FileManager.default.linkItem(atPath: input, toPath: dir + "/hard.wav")
        for output in [input, dir + "/./in.wav", dir + "/sub/../in.wav", dir + "/link.wav", dir + "/hard.wav"] {
            XCTAssertThrowsError(try OutputPolicy.checkNotInput(output, parameter: "--out", inputs: [input]), output) { error in
                XCTAssertTrue("\(error)".contains("would destroy the input"), "\(error)")
            }
        }
        XCTAssertNoThrow(try OutputPolicy.checkNotInput(dir + "/other.csv", parameter: "--out", inputs: [input]))
        XCTAssertThrowsError(try OutputPolicy.checkNotExisting(input, parameter: "--out", overwrite: false))
        XCTAssertNoThrow(try OutputPolicy.checkNotExisting(input, parameter: "--out", overwrite: true))
    }

    /// The lock names its holder; taking it again in the same process is allowed.
    func testOutputLockNamesItsHolder() throws {
        let dir = makeTemporaryDirectory("output-lock")
        let lock = try OutputLock.acquire(for: dir + "/scores.csv")
        XCTAssertEqual(lock.path, OutputPolicy.canonicalPath(dir) + "/.scores.csv.lock")
        XCTAssertTrue(try String(contentsOfFile: lock.path, encoding: .utf8).contains("process \(getpid())"))
        XCTAssertNoThrow(try OutputLock.acquire(for: dir + "/scores.csv"))
    }

    /// AtomicFile never leaves its temporary file behind, and a failed write names the output.
    func testAtomicWriteLeavesNoTemporaryFiles() throws {
        let dir = makeTemporaryDirectory("atomic")
        try AtomicFile.write("a,b\n", to: dir + "/t.csv")
        try AtomicFile.write("c,d\n", to: dir + "/t.csv")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["t.csv"])
        XCTAssertEqual(try String(contentsOfFile: dir + "/t.csv", encoding: .utf8), "c,d\n")
        // A folder where the file should go: the rename fails and the error names the path.
        try FileManager.default.createDirectory(atPath: dir + "/d.csv/x", withIntermediateDirectories: true)
        XCTAssertThrowsError(try AtomicFile.write("x", to: dir + "/d.csv")) { XCTAssertTrue("\($0)".contains("d.csv"), "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["d.csv", "t.csv"])
    }

    /// A record read back with unknown parameters (`CommandRecord<JSONValue>`, as merge reads a
    /// part's) writes the same JSON; a whole table's record has no shard keys.
    func testCommandRecordReadBackWithAnyParametersWritesTheSameJSON() throws {
        struct P: Codable { var band: [Double] = [1900, 2400.5]; var clip = 2.0; var n = 512; var limits: [Int]? = nil; var name = "x/y"; var on = true }
        let dir = makeTemporaryDirectory("record")
        var record = CommandRecord(step: "ribbit", inputs: ["a.wav"], parameters: P(), table: dir + "/t.csv", text: "h\n", rows: 0, failures: [:])
        try record.write(text: "h\n", to: dir + "/t.csv", sidecar: dir + "/t.json")
        let written = try Data(contentsOf: URL(fileURLWithPath: dir + "/t.json"))
        XCTAssertFalse(String(decoding: written, as: UTF8.self).contains("\"shard\""))
        let back = try JSONDecoder().decode(CommandRecord<JSONValue>.self, from: written)
        XCTAssertNil(back.shard)
        try back.write(text: "h\n", to: dir + "/u.csv", sidecar: dir + "/u.json")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/u.json")), written)
        record.shard = "1/2"; record.allFiles = ["a.wav", "b.wav"]
        try record.write(text: "h\n", to: dir + "/t.csv", sidecar: dir + "/t.json")
        let part = try JSONDecoder().decode(CommandRecord<JSONValue>.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/t.json")))
        XCTAssertEqual(part.shard, "1/2")
        XCTAssertEqual(part.allFiles, ["a.wav", "b.wav"])
    }
}
