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
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw ChorusFileError.cannotRead(path: path, reason: "is a folder, not a file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ChorusFileError.cannotRead(path: path, reason: "file not found or not readable")
        }
        return try decode(data, path: path)
    }

    /// The bytes of one element of each dtype the reader converts.
    static let elementSizes: [String: Int] = ["F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8]
    /// The largest header read (the format's own readers refuse 100 MB too).
    static let maximumHeaderLength: UInt64 = 100_000_000

    /// Decodes a safetensors file. Every size in the header is checked before it is used, with
    /// overflow-checked arithmetic: a header that does not fit the file, a negative or huge
    /// dimension, or data offsets that disagree with the shape and dtype are refused naming the
    /// file and the tensor, never trusted.
    public static func decode(_ input: Data, path: String) throws -> SafeTensorsFile {
        func bad(_ r: String) -> ModelError { .invalidModelFile(path: path, reason: r) }
        // Indices below are from 0 (a slice of a larger Data keeps its parent's indices).
        let data = input.startIndex == 0 ? input : Data(input)
        guard data.count >= 8 else { throw bad("shorter than the 8-byte header length (\(data.count) bytes)") }
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard n <= maximumHeaderLength else { throw bad("header length \(n) is over the \(maximumHeaderLength)-byte limit (not a safetensors file?)") }
        let headerEnd = 8 + Int(n)  // n ≤ 10^8: no overflow
        guard headerEnd <= data.count else { throw bad("header length \(n) exceeds the file size \(data.count)") }
        let headerData = data.subdata(in: 8..<headerEnd)
        guard let json = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else { throw bad("header is not a JSON object") }
        var file = SafeTensorsFile()
        let body = data.subdata(in: headerEnd..<data.count)
        for name in json.keys.sorted() {
            let value = json[name]!
            if name == "__metadata__" {
                file.metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw bad("tensor '\(name)' has an incomplete header entry (dtype, shape and data_offsets [start, end] of integers)")
            }
            guard let size = elementSizes[dtype] else { throw bad("tensor '\(name)' has unsupported dtype \(dtype)") }
            let shapeText = "[" + shape.map(String.init).joined(separator: ", ") + "]"
            if let d = shape.first(where: { $0 < 0 }) { throw bad("tensor '\(name)' has a negative dimension \(d) in its shape \(shapeText)") }
            // Element count and byte size with overflow checks: a huge shape is refused, not trapped on.
            var count = 1
            for d in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw bad("tensor '\(name)' shape \(shapeText) has more elements than any file can hold") }
                count = product
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw bad("tensor '\(name)' shape \(shapeText) of \(dtype) needs more bytes than any file can hold") }
            let (start, end) = (offsets[0], offsets[1])
            guard start >= 0, start <= end, end <= body.count else {
                throw bad("tensor '\(name)' data_offsets [\(start), \(end)) are outside the \(body.count) data bytes of the file")
            }
            guard end - start == bytes else {
                throw bad("tensor '\(name)': shape \(shapeText) of \(dtype) needs \(bytes) bytes, data_offsets [\(start), \(end)) hold \(end - start)")
            }
            let slice = body.subdata(in: start..<end)
            let values: [Float]
            switch dtype {
            case "F32":
                values = slice.withUnsafeBytes { raw in (0..<count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) } }
            case "F64":
                values = slice.withUnsafeBytes { raw in (0..<count).map { Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self).littleEndian)) } }
            case "F16":
                values = slice.withUnsafeBytes { raw in (0..<count).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian)) } }
            case "BF16":
                values = slice.withUnsafeBytes { raw in (0..<count).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian) << 16) } }
            case "I64":
                // e.g. num_batches_tracked in PyTorch batch norms: kept as float.
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
