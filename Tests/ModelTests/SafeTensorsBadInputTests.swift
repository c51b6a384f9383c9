import ChorusCore
import Foundation
import Model
import TestSupport
import XCTest

/// The safetensors reader checks every size its header gives before using it: a huge or
/// negative shape, a header length near UInt64.max, or data offsets past the file are refused
/// with an error naming the file (and the tensor), never a trap.
final class SafeTensorsBadInputTests: XCTestCase {
    /// A safetensors file: `header` (JSON text) after its 8-byte length (or `length`), then `body`.
    func file(_ header: String, body: [UInt8] = [], length: UInt64? = nil) -> Data {
        var data = Data()
        var n = (length ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(contentsOf: body)
        return data
    }

    func assertRefused(_ data: Data, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile.decode(data, path: "bad.model"), file: file, line: line) { error in
            guard case ModelError.invalidModelFile(path: "bad.model", _) = error else {
                return XCTFail("not an invalid model file error: \(error)", file: file, line: line)
            }
            for text in expected { XCTAssertTrue("\(error)".contains(text), "\(error) lacks '\(text)'", file: file, line: line) }
        }
    }

    func testHugeShapesAreRefusedNotTrappedOn() {
        // 2^40 × 2^40 elements: the product overflows Int (this trapped with "exit 132").
        assertRefused(file(#"{"x":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,0]}}"#),
                      ["bad.model", "tensor 'x'", "[1099511627776, 1099511627776]", "more elements"])
        // The element count fits, its bytes (× 8) do not.
        assertRefused(file(#"{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}"#),
                      ["tensor 'w'", "F64", "more bytes"])
        // A shape that fits Int but not the data offsets.
        assertRefused(file(#"{"x":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4]}}"#, body: [0, 0, 0, 0]),
                      ["tensor 'x'", "needs 4000000000000 bytes", "hold 4"])
        // A zero dimension makes 0 elements, however large the others (no overflow, an empty tensor).
        XCTAssertEqual(try SafeTensorsFile.decode(file(#"{"e":{"dtype":"F32","shape":[0,4611686018427387904],"data_offsets":[0,0]}}"#), path: "ok.model")
                       .tensors["e"]?.values.count, 0)
    }

    func testNegativeDimensionsAreRefused() {
        // [-1, -1] multiplies to 1 element: it used to be read with a negative shape.
        assertRefused(file(#"{"x":{"dtype":"F32","shape":[-1,-1],"data_offsets":[0,4]}}"#, body: [0, 0, 0, 0]),
                      ["tensor 'x'", "negative dimension -1", "[-1, -1]"])
        assertRefused(file(#"{"x":{"dtype":"F32","shape":[4,-9223372036854775808],"data_offsets":[0,0]}}"#), ["negative dimension"])
    }

    func testHeaderLengthsAndOffsetsOutsideTheFileAreRefused() {
        for length in [UInt64.max, UInt64.max - 7, UInt64(Int.max), UInt64(Int.max) - 7, 100_000_001] {
            assertRefused(file(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, body: [0, 0, 0, 0], length: length),
                          ["bad.model", "header length \(length)"])
        }
        // A header length past the end of a small file.
        assertRefused(file("{}", length: 64), ["header length 64 exceeds the file size 10"])
        assertRefused(Data([1, 2, 3]), ["shorter than the 8-byte header length"])
        let header = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[START,END]}}"#
        for (start, end) in [(-4, 0), (0, 8), (4, 0), (Int.max - 3, Int.max), (Int.min, 4), (9223372036854775804, 0)] {
            let text = header.replacingOccurrences(of: "START", with: "\(start)").replacingOccurrences(of: "END", with: "\(end)")
            assertRefused(file(text, body: [0, 0, 0, 0]), ["tensor 'x'", "data_offsets [\(start), \(end))"])
        }
        // Offsets that do not hold the shape's bytes, for each dtype.
        for (dtype, size) in [("F32", 4), ("F64", 8), ("F16", 2), ("BF16", 2), ("I64", 8)] {
            assertRefused(file(#"{"t":{"dtype":"\#(dtype)","shape":[3],"data_offsets":[0,5]}}"#, body: [UInt8](repeating: 0, count: 5)),
                          ["tensor 't'", "needs \(3 * size) bytes", "hold 5"])
        }
        // Numbers that are not integers, sizes past Int, and unknown dtypes.
        assertRefused(file(#"{"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, body: [0, 0, 0, 0]), ["tensor 'x'", "incomplete header entry"])
        assertRefused(file(#"{"x":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}}"#, body: [0, 0, 0, 0]), ["tensor 'x'", "incomplete header entry"])
        assertRefused(file(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}}"#, body: [0, 0, 0, 0]), ["tensor 'x'"])
        assertRefused(file(#"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, body: [0]), ["tensor 'x'", "unsupported dtype U8"])
        assertRefused(file("[1,2]"), ["header is not a JSON object"])
    }

    func testGoodFilesStillReadAlsoFromASliceOfLargerData() throws {
        var good = SafeTensorsFile()
        good.add("a", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        good.add("scalar", shape: [], values: [7])
        good.metadata = ["k": "v"]
        let bytes = try good.encode()
        // A Data slice keeps its parent's indices: the reader must not assume they start at 0.
        let padded = Data([9, 9, 9]) + bytes
        for data in [bytes, padded[3...]] {
            let back = try SafeTensorsFile.decode(data, path: "good.model")
            XCTAssertEqual(back.tensors["a"]?.shape, [2, 3])
            XCTAssertEqual(back.tensors["a"]?.values, [1, 2, 3, 4, 5, 6])
            XCTAssertEqual(back.tensors["scalar"]?.values, [7])
            XCTAssertEqual(back.metadata, ["k": "v"])
        }
    }

    /// The file from the report (exit 132), read through `read` as predict and train do, and a
    /// folder given as a model file.
    func testReadNamesTheFile() throws {
        let dir = makeTemporaryDirectory("safetensors-bad")
        let path = dir + "/m.model"
        try file(#"{"x":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,0]}}"#).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafeTensorsFile.read(path)) { XCTAssertTrue("\($0)".contains(path) && "\($0)".contains("tensor 'x'"), "\($0)") }
        XCTAssertThrowsError(try SafeTensorsFile.read(dir)) { XCTAssertEqual("\($0)", "cannot read \(dir): is a folder, not a file") }
    }
}
