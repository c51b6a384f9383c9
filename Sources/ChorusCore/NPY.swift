import Foundation

/// NumPy `.npy` (format 1.0, little-endian float32, C order) reading and writing.
public enum NPY {
    public static func encode(_ values: [Float], shape: [Int]) -> Data {
        precondition(shape.reduce(1, *) == values.count, "NPY shape \(shape) does not match \(values.count) values")
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var data = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
        let len = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(len & 0xff), UInt8(len >> 8)])
        data.append(Data(header.utf8))
        values.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
        return data
    }

    public static func write(_ values: [Float], shape: [Int], to path: String) throws {
        try AtomicFile.write(encode(values, shape: shape), to: path)
    }

    /// Reads a float32 (or float64, converted) little-endian C-order array.
    public static func read(_ path: String) throws -> (values: [Float], shape: [Int]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ChorusFileError.cannotRead(path: path, reason: "file not found or not readable")
        }
        let bytes = [UInt8](data)
        guard bytes.count > 10, bytes[0] == 0x93, String(bytes: bytes[1..<6], encoding: .ascii) == "NUMPY" else {
            throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "not a NumPy .npy file")
        }
        let major = bytes[6]
        let headerLen: Int
        let start: Int
        if major == 1 {
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        } else {
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; start = 12
        }
        guard let header = String(bytes: bytes[start..<(start + headerLen)], encoding: .ascii) else {
            throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "unreadable .npy header")
        }
        guard header.contains("'fortran_order': False") else {
            throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "Fortran-ordered arrays are not supported")
        }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "no shape in .npy header")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = shape.reduce(1, *)
        let body = data.subdata(in: (start + headerLen)..<data.count)
        if header.contains("'<f4'") {
            guard body.count >= count * 4 else { throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "truncated data") }
            let values = body.withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
            return (values, shape)
        } else if header.contains("'<f8'") {
            guard body.count >= count * 8 else { throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "truncated data") }
            let values = body.withUnsafeBytes { raw in (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) } }
            return (values, shape)
        }
        throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "unsupported dtype (need <f4 or <f8): \(header)")
    }
}
