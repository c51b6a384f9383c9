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

    /// The one check every command makes before it writes anything, over every file it will
    /// write (its tables, their `.json` records and `.done` lists, reports, per-recording tables):
    /// 1. no output is one of the inputs (the same path, or a symbolic or hard link to it), even
    ///    with `overwrite`: give the inputs' own records too (`inputs(withRecordsOf:)`);
    /// 2. no two outputs are the same file (`s.csv` and `s.tsv` would share the record `s.json`);
    /// 3. the locks: each output marked `locks`, the `folder` written as a whole (evaluate's
    ///    --out, a run folder), and the folder lock of any folder an output goes into that is
    ///    written as a whole by another command (it holds a `.lock`: a run folder, an evaluation);
    /// 4. unless `overwrite`, no output that exists and holds finished work.
    /// Nothing is written but lock files.
    public static func claim(_ outputs: [PlannedOutput], inputs: [String], overwrite: Bool,
                             hint: String = "pass --overwrite to replace it, or choose another output", folder: String? = nil) throws {
        let known = FileIdentities(inputs)
        for output in outputs {
            if let input = known.match(output.path) {
                throw ChorusFileError.outputIsInput(path: output.path, parameter: output.parameter, input: input)
            }
        }
        var seen = FileIdentities()
        for output in outputs {
            if let k = seen.match(output.path) {
                throw ChorusFileError.outputsCollide(path: output.path, parameter: output.parameter, other: outputs[Int(k)!].parameter)
            }
            seen.add(output.path, as: String(seen.count))
        }
        if let folder { try OutputLock.acquire(for: folder, isFolder: true) }
        var folders = Set<String>()
        for output in outputs {
            let dir = (canonicalPath(output.path) as NSString).deletingLastPathComponent
            if folders.insert(dir).inserted && FileSystem.exists((dir as NSString).appendingPathComponent(".lock")) {
                try OutputLock.acquire(for: dir, isFolder: true)
            }
            if output.locks { try OutputLock.acquire(for: output.path) }
        }
        if !overwrite {
            for output in outputs where output.existingIsFinishedWork && FileSystem.exists(output.path) {
                throw ChorusFileError.outputExists(path: output.path, parameter: output.parameter, hint: output.hint ?? hint)
            }
        }
    }

    /// Tables and, beside each, the files that belong to it: its record (`x.csv` → `x.json`) and a
    /// scores table's list of finished files (`x.csv.done`), for `claim`'s inputs.
    public static func inputs(withRecordsOf tables: [String]) -> [String] {
        tables.flatMap { [$0, recordPath(of: $0), $0 + ".done"] }
    }

    /// `dir/name.csv` → `dir/name.json` (a name without extension, or a .json, gets `.json`
    /// appended): where every table's record goes (the rule of `Provenance.sidecarPath`).
    public static func recordPath(of table: String) -> String {
        let ns = table as NSString
        let ext = ns.pathExtension
        if ext.isEmpty || ext.lowercased() == "json" { return table + ".json" }
        return ns.deletingPathExtension + ".json"
    }

    /// Every file under `folder` (recursively), for a folder whose files are all inputs (a run
    /// folder a model comes from); none when it is not a folder.
    public static func files(inside folder: String) -> [String] {
        guard FileSystem.isDirectory(folder), let e = FileManager.default.enumerator(atPath: folder) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            let full = (folder as NSString).appendingPathComponent(rel)
            if !FileSystem.isDirectory(full) { out.append(full) }
        }
        return out.sorted()
    }

    /// `files` with every file given twice (the same path written two ways, a symbolic or a hard
    /// link to a file already there) left out, in order; `duplicates` pairs each left-out path with
    /// the path kept.
    public static func distinctFiles(_ files: [String]) -> (files: [String], duplicates: [(path: String, sameAs: String)]) {
        var seen = FileIdentities(), kept: [String] = [], duplicates: [(String, String)] = []
        for file in files {
            if let first = seen.match(file) { duplicates.append((file, first)); continue }
            seen.add(file, as: file)
            kept.append(file)
        }
        return (kept, duplicates)
    }
}

/// A file a command is about to write, as the user named it.
public struct PlannedOutput: Sendable, Equatable {
    public var path: String
    /// How the message names it: "--out", "the record of --out".
    public var parameter: String
    /// Whether an existing file here is finished work, replaced only with --overwrite. False for
    /// one that holds none (a scores table without a finished recording) or that this run
    /// continues (--resume).
    public var existingIsFinishedWork: Bool
    /// Whether to take the file's own lock (tables; their records and lists share it).
    public var locks: Bool
    /// What to do about an existing one, when not the command's usual hint.
    public var hint: String?

    public init(_ path: String, parameter: String, existingIsFinishedWork: Bool = true, locks: Bool = false, hint: String? = nil) {
        self.path = path; self.parameter = parameter; self.existingIsFinishedWork = existingIsFinishedWork; self.locks = locks; self.hint = hint
    }

    /// A table (locked) and its record beside it.
    public static func table(_ path: String, parameter: String, existingIsFinishedWork: Bool = true) -> [PlannedOutput] {
        [PlannedOutput(path, parameter: parameter, existingIsFinishedWork: existingIsFinishedWork, locks: true),
         PlannedOutput(OutputPolicy.recordPath(of: path), parameter: "the record of \(parameter)", existingIsFinishedWork: existingIsFinishedWork)]
    }
}

/// Which of a set of files a path names: by resolved path, or (existing files: hard links, bind
/// mounts) by device and inode. Linear in the number of files, however many outputs are asked about.
struct FileIdentities {
    private var byPath: [String: String] = [:]
    private var byInode: [[UInt64]: String] = [:]
    private(set) var count = 0

    init(_ files: [String] = []) { for f in files { add(f, as: f) } }

    mutating func add(_ file: String, as name: String) {
        count += 1
        let canonical = OutputPolicy.canonicalPath(file)
        if byPath[canonical] == nil { byPath[canonical] = name }
        if let inode = Self.inode(file), byInode[inode] == nil { byInode[inode] = name }
    }

    func match(_ file: String) -> String? {
        if let name = byPath[OutputPolicy.canonicalPath(file)] { return name }
        if let inode = Self.inode(file) { return byInode[inode] }
        return nil
    }

    private static func inode(_ file: String) -> [UInt64]? {
        var s = stat()
        guard stat(file, &s) == 0, (s.st_mode & S_IFMT) == S_IFREG else { return nil }
        return [UInt64(s.st_dev), UInt64(s.st_ino)]
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
