import ChorusCore
import Foundation
import TestSupport
import XCTest

/// `SHA256.hex(fileAt:)` (every input's provenance hash) throws a typed error naming the path for
/// a folder or a missing file: Foundation's readData(ofLength:) used to trap with "Is a directory".
final class SHA256FileTests: XCTestCase {
    func testAFolderOrAMissingFileIsAnErrorNamingThePath() throws {
        let dir = makeTemporaryDirectory("sha256-file")
        XCTAssertThrowsError(try SHA256.hex(fileAt: dir)) { error in
            XCTAssertEqual(error as? ChorusFileError, .cannotRead(path: dir, reason: "is a folder, not a file"))
            XCTAssertEqual("\(error)", "cannot read \(dir): is a folder, not a file")
        }
        XCTAssertThrowsError(try SHA256.hex(fileAt: dir + "/missing.csv")) { error in
            XCTAssertEqual(error as? ChorusFileError, .cannotRead(path: dir + "/missing.csv", reason: "file not found"))
        }
        // A link to a folder is a folder too.
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir)
        XCTAssertThrowsError(try SHA256.hex(fileAt: dir + "/link")) { XCTAssertTrue("\($0)".contains("is a folder, not a file"), "\($0)") }
    }

    func testFilesHashAsTheirBytes() throws {
        let dir = makeTemporaryDirectory("sha256-file")
        // Empty, one byte, and more than one 4 MiB block.
        for (name, bytes) in [("empty", Data()), ("abc", Data("abc".utf8)), ("big", Data((0..<(9 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }))] {
            let path = dir + "/" + name
            try bytes.write(to: URL(fileURLWithPath: path))
            XCTAssertEqual(try SHA256.hex(fileAt: path), SHA256.hex(bytes), name)
        }
        XCTAssertEqual(try SHA256.hex(fileAt: dir + "/abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
