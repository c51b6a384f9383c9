import CCrypto
import Foundation

/// SHA-256 (FIPS 180-4), used for provenance: hashes of input tables, audio files and labels.
/// OpenSSL's libcrypto computes it (with the CPU's SHA instructions where it has them: about
/// disk speed), so hashing every recording of a season costs little next to reading it.
public struct SHA256: ~Copyable {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            fatalError("OpenSSL could not start a SHA-256 digest")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public mutating func update<D: Sequence>(_ bytes: D) where D.Element == UInt8 {
        if let done: Void = bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) { return done }
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    public mutating func update(data: Data) { data.withUnsafeBytes { update($0) } }

    public consuming func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return Array(digest.prefix(Int(length)))
    }

    /// The digest as 64 lowercase hex digits.
    public consuming func hexDigest() -> String { finalize().map { String(format: "%02x", $0) }.joined() }

    /// Hex digest of a byte sequence.
    public static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        var h = SHA256()
        h.update(bytes)
        return h.hexDigest()
    }

    public static func hex(string: String) -> String { hex(Array(string.utf8)) }

    /// Hex digest of a file, read in 4 MiB blocks. A folder, a missing file or a read error is
    /// thrown as `ChorusFileError.cannotRead` naming the path (never a trap).
    public static func hex(fileAt path: String) throws -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ChorusFileError.cannotRead(path: path, reason: "file not found")
        }
        if isFolder.boolValue { throw ChorusFileError.cannotRead(path: path, reason: "is a folder, not a file") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ChorusFileError.cannotRead(path: path, reason: "file not found or not readable")
        }
        defer { try? handle.close() }
        var h = SHA256()
        while true {
            // read(upToCount:) throws where readData(ofLength:) traps (a folder, an I/O error).
            let chunk: Data
            do { chunk = try handle.read(upToCount: 4 << 20) ?? Data() } catch {
                throw ChorusFileError.cannotRead(path: path, reason: systemReason(error))
            }
            if chunk.isEmpty { break }
            h.update(data: chunk)
        }
        return h.hexDigest()
    }
}
