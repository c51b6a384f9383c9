import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a command may write: never onto one of its inputs, never over finished work unless the
/// user asks, and one writer at a time (see `OutputLock`).
public enum OutputPolicy {
    /// The absolute path with symbolic links resolved; for a path that does not exist yet, its
    /// folder resolved and the name appended.
    public static func canonicalPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if let resolved = realpath(url.path, nil) { defer { free(resolved) }; return String(cString: resolved) }
        let parent = url.deletingLastPathComponent().path
        if let resolved = realpath(parent, nil) {
            defer { free(resolved) }
            return (String(cString: resolved) as NSString).appendingPathComponent(url.lastPathComponent)
        }
        return url.path
    }

    /// True when both paths name the same file: the same resolved path, or (hard links) the same
    /// device and inode.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        if canonicalPath(a) == canonicalPath(b) { return true }
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    /// Refuses an output that is one of the inputs (it would destroy the input).
    public static func checkNotInput(_ output: String, parameter: String, inputs: [String]) throws {
        for input in inputs where sameFile(output, input) {
            throw ChorusFileError.outputIsInput(path: output, parameter: parameter, input: input)
        }
    }

    /// Refuses to replace an existing output unless `overwrite` is set.
    public static func checkNotExisting(_ output: String, parameter: String, overwrite: Bool, hint: String = "pass --overwrite to replace it") throws {
        if !overwrite && FileSystem.exists(output) {
            throw ChorusFileError.outputExists(path: output, parameter: parameter, hint: hint)
        }
    }
}

/// An exclusive advisory lock (`flock`) that says "this process is writing here". Another
/// process asking for the same lock fails at once with a message naming the holder. Locks live
/// until the process ends (the kernel drops them even after a kill); the small hidden lock file
/// stays behind, harmless.
public final class OutputLock: @unchecked Sendable {
    /// The lock file.
    public let path: String
    private let descriptor: Int32

    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var held: [String: OutputLock] = [:]

    private init(path: String, descriptor: Int32) { self.path = path; self.descriptor = descriptor }

    /// The lock file of an output: `<folder>/.<name>.lock` for a file, `<folder>/.lock` for a folder.
    public static func lockFile(for target: String, isFolder: Bool) -> String {
        let canonical = OutputPolicy.canonicalPath(target)
        if isFolder { return (canonical as NSString).appendingPathComponent(".lock") }
        let dir = (canonical as NSString).deletingLastPathComponent
        return (dir as NSString).appendingPathComponent(".\((canonical as NSString).lastPathComponent).lock")
    }

    /// Takes the lock for `target` (held until the process exits; taking it again is a no-op).
    @discardableResult
    public static func acquire(for target: String, isFolder: Bool = false) throws -> OutputLock {
        let file = lockFile(for: target, isFolder: isFolder)
        registryLock.lock()
        defer { registryLock.unlock() }
        if let existing = held[file] { return existing }
        let dir = (file as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw ChorusFileError.cannotWrite(path: target, reason: "cannot create folder \(dir): \(error.localizedDescription)")
        }
        let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ChorusFileError.cannotWrite(path: target, reason: "cannot create lock file \(file): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            var holder = ""
            if busy, let data = FileManager.default.contents(atPath: file) { holder = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            close(fd)
            if busy { throw ChorusFileError.locked(path: target, holder: holder.isEmpty ? "another process" : holder) }
            throw ChorusFileError.cannotWrite(path: target, reason: "cannot lock \(file): \(String(cString: strerror(errno)))")
        }
        // Say who holds it, for the message another writer gets.
        let info = "process \(getpid()) (\(CommandLine.arguments.joined(separator: " "))) since \(isoTimestamp())\n"
        _ = ftruncate(fd, 0)
        _ = info.withCString { pwrite(fd, $0, strlen($0), 0) }
        let lock = OutputLock(path: file, descriptor: fd)
        held[file] = lock
        return lock
    }
}

/// The record written beside a table that is not a labels table (`ribbit.csv` → `ribbit.json`):
/// what made it, from which inputs, with which parameters, and what went wrong.
public struct CommandRecord<Parameters: Encodable>: Encodable {
    public var step: String
    public var toolVersion = chorusVersion
    public var date = isoTimestamp()
    public var commandLine = CommandLine.arguments
    public var inputs: [String]
    public var parameters: Parameters
    public var table: String
    public var tableSHA256: String
    public var rows: Int
    public var failures: [String: String]
    /// A part of a run split between processes (MPI ranks or job-array tasks): "K/N", and every
    /// input file of the whole run in its order (`inputs` are then the part's files). Nil, and
    /// absent from the JSON, for a whole table.
    public var shard: String? = nil
    public var allFiles: [String]? = nil

    public init(step: String, inputs: [String], parameters: Parameters, table: String, text: String, rows: Int, failures: [String: String]) {
        self.step = step; self.inputs = inputs; self.parameters = parameters
        self.table = (table as NSString).lastPathComponent
        self.tableSHA256 = SHA256.hex(string: text)
        self.rows = rows; self.failures = failures
    }

    /// Writes the table and this record beside it (`x.csv` → `x.json`) together.
    public func write(text: String, to table: String, sidecar: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.writeTogether([(Data(text.utf8), table), (try encoder.encode(self) + Data("\n".utf8), sidecar)])
    }
}

/// A record read back (a part's, by `train-gpu merge`); `CommandRecord<JSONValue>` reads any.
extension CommandRecord: Decodable where Parameters: Decodable {}
