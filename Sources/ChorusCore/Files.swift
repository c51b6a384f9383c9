import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Errors reading or writing files; each names the path.
public enum ChorusFileError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case invalidFormat(path: String, line: Int?, reason: String)
    /// An output that resolves to one of the command's inputs.
    case outputIsInput(path: String, parameter: String, input: String)
    /// An output that exists and may not be replaced.
    case outputExists(path: String, parameter: String, hint: String)
    /// Two outputs of one command that are the same file (one would replace the other).
    case outputsCollide(path: String, parameter: String, other: String)
    /// Another process is writing the same output.
    case locked(path: String, holder: String)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "cannot read \(path): \(reason)"
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason)"
        case let .invalidFormat(path, line, reason):
            if let line { return "\(path):\(line): \(reason)" }
            return "\(path): \(reason)"
        case let .outputIsInput(path, parameter, input):
            return "\(parameter) \(path) is the input \(input); writing it would destroy the input. Choose another output path."
        case let .outputExists(path, parameter, hint):
            return "\(parameter) \(path) exists and holds finished work; \(hint)"
        case let .outputsCollide(path, parameter, other):
            return "\(parameter) \(path) is also \(other); one would replace the other. Choose another path for one of them."
        case let .locked(path, holder):
            return "\(path) is being written by \(holder); wait for it to finish or choose another output"
        }
    }
}

/// Atomic file output: data goes to a temporary file in the same directory, which is then
/// renamed over the destination, so readers never see a half-written file and a killed
/// process loses nothing that was already there.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        try writeTogether([(data, path)])
    }

    /// Writes several files as one: every temporary file is written and flushed first, and only
    /// when all succeeded are they renamed into place, so a full disk never leaves a table without
    /// its sidecar or a training table without its validation table.
    public static func writeTogether(_ files: [(data: Data, path: String)]) throws {
        var temporaries: [String] = []
        do {
            for file in files { temporaries.append(try writeTemporary(file.data, beside: file.path)) }
        } catch {
            for t in temporaries { unlink(t) }
            throw error
        }
        for (k, (file, tmp)) in zip(files, temporaries).enumerated() {
            // If the destination is read-only (a final model), the rename still needs it writable or absent.
            if rename(tmp, file.path) != 0 {
                let reason = String(cString: strerror(errno))
                for t in temporaries[k...] { unlink(t) }
                throw ChorusFileError.cannotWrite(path: file.path, reason: reason)
            }
        }
    }

    /// A flushed temporary file holding `data` in the folder of `path` (created if needed).
    private static func writeTemporary(_ data: Data, beside path: String) throws -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw ChorusFileError.cannotWrite(path: path, reason: "cannot create directory \(dir.path): \(error.localizedDescription)")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ChorusFileError.cannotWrite(path: path, reason: "cannot create a temporary file in \(dir.path): \(String(cString: strerror(errno)))")
        }
        // Write everything and flush it to disk before any rename, so a full disk or a crash never
        // leaves a truncated file under the final name.
        var failure: String?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, base + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; failure = String(cString: strerror(errno)); return }
                offset += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(tmp)
            throw ChorusFileError.cannotWrite(path: path, reason: failure)
        }
        return tmp
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

/// The operating system's words for an I/O error ("No space left on device"), found in the
/// error or the error under it; Foundation's own description otherwise.
public func systemReason(_ error: Error) -> String {
    var current: NSError? = error as NSError
    while let e = current {
        if e.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(e.code))) }
        current = e.userInfo[NSUnderlyingErrorKey] as? NSError
    }
    return error.localizedDescription
}
