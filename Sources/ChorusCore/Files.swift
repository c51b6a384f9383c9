import Foundation

/// Errors reading or writing files; each names the path.
public enum ChorusFileError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case invalidFormat(path: String, line: Int?, reason: String)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "cannot read \(path): \(reason)"
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason)"
        case let .invalidFormat(path, line, reason):
            if let line { return "\(path):\(line): \(reason)" }
            return "\(path): \(reason)"
        }
    }
}

/// Atomic file output: data goes to a temporary file in the same directory, which is then
/// renamed over the destination, so readers never see a half-written file and a killed
/// process loses nothing that was already there.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw ChorusFileError.cannotWrite(path: path, reason: "cannot create directory \(dir.path): \(error.localizedDescription)")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard FileManager.default.createFile(atPath: tmp.path, contents: data) else {
            throw ChorusFileError.cannotWrite(path: path, reason: "cannot create temporary file \(tmp.path)")
        }
        // If the destination is read-only (a final model), the rename still needs it writable or absent.
        if rename(tmp.path, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp.path)
            throw ChorusFileError.cannotWrite(path: path, reason: reason)
        }
    }

    public static func write(_ string: String, to path: String) throws {
        try write(Data(string.utf8), to: path)
    }
}

public enum FileSystem {
    public static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    public static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    /// Files under `path` (recursively, sorted) whose extension, compared case-insensitively,
    /// is in `extensions`; a plain file path is returned as is.
    public static func files(under path: String, extensions: Set<String>) throws -> [String] {
        guard exists(path) else { throw ChorusFileError.cannotRead(path: path, reason: "no such file or directory") }
        if !isDirectory(path) { return [path] }
        guard let e = FileManager.default.enumerator(atPath: path) else {
            throw ChorusFileError.cannotRead(path: path, reason: "cannot list directory")
        }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            let ext = (rel as NSString).pathExtension.lowercased()
            if extensions.contains(ext) {
                let full = (path as NSString).appendingPathComponent(rel)
                if !isDirectory(full) { out.append(full) }
            }
        }
        return out.sorted()
    }

    /// Marks a file read-only for everyone (used for final models).
    public static func makeReadOnly(_ path: String) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
    }
}
