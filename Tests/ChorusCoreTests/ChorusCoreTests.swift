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
