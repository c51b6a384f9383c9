import ChorusCore
import Foundation

/// Reads a reference `.npy` of float32 values as C order. The shared references may be stored in
/// Fortran (column-major) order, which `NPY.read` rejects; those are transposed here.
enum ReferenceArray {
    static func read(_ path: String) throws -> (values: [Float], shape: [Int]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ChorusFileError.cannotRead(path: path, reason: "not found")
        }
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        guard let header = String(data: data[10..<(10 + headerLength)], encoding: .ascii) else {
            throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "unreadable header")
        }
        guard header.contains("'fortran_order': True") else { return try NPY.read(path) }
        guard header.contains("'<f4'"), let open = header.range(of: "'shape': ("),
              let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "expected a float32 array with a shape")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard shape.count == 2 else { throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "expected 2 dimensions") }
        let rows = shape[0], columns = shape[1]
        let body = data.subdata(in: (10 + headerLength)..<data.count)
        guard body.count >= rows * columns * 4 else { throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "truncated") }
        var values = [Float](repeating: 0, count: rows * columns)
        body.withUnsafeBytes { raw in
            for c in 0..<columns {
                for r in 0..<rows { values[r * columns + c] = raw.loadUnaligned(fromByteOffset: 4 * (c * rows + r), as: Float.self) }
            }
        }
        return (values, shape)
    }
}
