import ChorusCore
import Foundation

/// The safetensors format: 8-byte little-endian header length, a JSON header mapping tensor names
/// to {dtype, shape, data_offsets} plus a `__metadata__` map of strings, then raw little-endian
/// data. Chorus writes F32 only and reads F32, F64 and F16/BF16 (converted).
public struct SafeTensorsFile {
    public var tensors: [String: (shape: [Int], values: [Float])] = [:]
    public var metadata: [String: String] = [:]
    /// Tensor order for writing (names not listed are written after, sorted).
    public var order: [String] = []

    public init() {}

    public mutating func add(_ name: String, shape: [Int], values: [Float]) {
        tensors[name] = (shape, values)
        if !order.contains(name) { order.append(name) }
    }

    public func encode() throws -> Data {
        let names = order.filter { tensors[$0] != nil } + tensors.keys.filter { !order.contains($0) }.sorted()
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let meta = try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
            parts.append("\"__metadata__\":" + String(decoding: meta, as: UTF8.self))
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let bytes = t.values.count * 4
            let nameJSON = String(decoding: try JSONSerialization.data(withJSONObject: [name], options: []), as: UTF8.self).dropFirst().dropLast()
            parts.append("\(nameJSON):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += parts.joined(separator: ",") + "}"
        while (8 + header.utf8.count) % 8 != 0 { header += " " }
        var data = Data()
        var len = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &len) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        for name in names {
            tensors[name]!.values.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
        }
        return data
    }

    public func write(to path: String) throws { try AtomicFile.write(try encode(), to: path) }

    public static func read(_ path: String) throws -> SafeTensorsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ChorusFileError.cannotRead(path: path, reason: "file not found or not readable")
        }
        return try decode(data, path: path)
    }

    public static func decode(_ data: Data, path: String) throws -> SafeTensorsFile {
        func bad(_ r: String) -> ModelError { .invalidModelFile(path: path, reason: r) }
        guard data.count >= 8 else { throw bad("shorter than the 8-byte header length") }
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard n < 100_000_000, 8 + Int(n) <= data.count else { throw bad("header length \(n) exceeds the file size \(data.count)") }
        let headerData = data.subdata(in: 8..<(8 + Int(n)))
        guard let json = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else { throw bad("header is not a JSON object") }
        var file = SafeTensorsFile()
        let body = data.subdata(in: (8 + Int(n))..<data.count)
        for (name, value) in json {
            if name == "__metadata__" {
                file.metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw bad("tensor '\(name)' has an incomplete header entry")
            }
            let count = shape.reduce(1, *)
            let (start, end) = (offsets[0], offsets[1])
            guard start >= 0, end <= body.count, start <= end else { throw bad("tensor '\(name)' data [\(start), \(end)) is outside the file") }
            let slice = body.subdata(in: start..<end)
            let values: [Float]
            switch dtype {
            case "F32":
                guard slice.count == count * 4 else { throw bad("tensor '\(name)': \(slice.count) bytes for \(count) F32 values") }
                values = slice.withUnsafeBytes { raw in (0..<count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) } }
            case "F64":
                guard slice.count == count * 8 else { throw bad("tensor '\(name)': \(slice.count) bytes for \(count) F64 values") }
                values = slice.withUnsafeBytes { raw in (0..<count).map { Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self).littleEndian)) } }
            case "F16":
                guard slice.count == count * 2 else { throw bad("tensor '\(name)': size mismatch") }
                values = slice.withUnsafeBytes { raw in (0..<count).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian)) } }
            case "BF16":
                guard slice.count == count * 2 else { throw bad("tensor '\(name)': size mismatch") }
                values = slice.withUnsafeBytes { raw in (0..<count).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian) << 16) } }
            case "I64":
                // e.g. num_batches_tracked in PyTorch batch norms: kept as float.
                guard slice.count == count * 8 else { throw bad("tensor '\(name)': size mismatch") }
                values = slice.withUnsafeBytes { raw in (0..<count).map { Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) } }
            default:
                throw bad("tensor '\(name)' has unsupported dtype \(dtype)")
            }
            file.tensors[name] = (shape, values)
        }
        file.order = file.tensors.keys.sorted()
        return file
    }
}
