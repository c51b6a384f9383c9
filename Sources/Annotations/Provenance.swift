import ChorusCore
import Foundation

/// The record written beside every table (`labels.csv` → `labels.json`): when and how it was
/// made, from which inputs (with SHA-256), with which parameters, and what it contains.
public struct Provenance: Codable, Sendable, Equatable {
    public struct InputFile: Codable, Sendable, Equatable {
        public var path: String
        public var sha256: String
        public init(path: String, sha256: String) { self.path = path; self.sha256 = sha256 }
    }

    /// What made the table: "labels", "balance", "split (train)", ...
    public var step: String
    /// ISO-8601 UTC time of writing.
    public var date: String
    public var tool: String
    public var toolVersion: String
    public var commandLine: [String]
    public var inputs: [InputFile]
    /// Every parameter, including defaults, as text.
    public var parameters: [String: String]
    /// The table this record describes: its file name and SHA-256.
    public var table: String
    public var tableSHA256: String
    public var rows: Int
    /// Classes in column order.
    public var classes: [String]
    /// Positive clips per class.
    public var positivesPerClass: [String: Int]
    /// Clips with no class present.
    public var negatives: Int
    /// Free-form notes (for example what balancing did).
    public var notes: [String: String]

    public init(step: String, commandLine: [String], inputs: [InputFile], parameters: [String: String],
                table: ClipLabelTable, tablePath: String, notes: [String: String] = [:], date: Date = Date()) {
        self.step = step
        self.date = isoTimestamp(date)
        self.tool = "chorus train-gpu"
        self.toolVersion = chorusVersion
        self.commandLine = commandLine
        self.inputs = inputs
        self.parameters = parameters
        self.table = (tablePath as NSString).lastPathComponent
        self.tableSHA256 = table.sha256()
        self.rows = table.rows.count
        self.classes = table.classes
        let counts = table.positiveCounts()
        self.positivesPerClass = Dictionary(zip(table.classes, counts), uniquingKeysWith: { a, _ in a })
        self.negatives = table.negativeCount
        self.notes = notes
    }

    /// Hashes each input file (SHA-256).
    public static func inputFiles(_ paths: [String]) throws -> [InputFile] {
        try paths.map { InputFile(path: $0, sha256: try SHA256.hex(fileAt: $0)) }
    }

    /// `dir/name.csv` → `dir/name.json` (a name without extension gets `.json` appended).
    public static func sidecarPath(for tablePath: String) -> String {
        let ns = tablePath as NSString
        let ext = ns.pathExtension
        if ext.isEmpty || ext.lowercased() == "json" { return tablePath + ".json" }
        return ns.deletingPathExtension + ".json"
    }

    /// Writes the sidecar of `tablePath` atomically (pretty, sorted keys).
    public func write(for tablePath: String) throws {
        try AtomicFile.write(try jsonData(), to: Self.sidecarPath(for: tablePath))
    }

    /// The sidecar's bytes (pretty, sorted keys).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// Reads the sidecar of `tablePath`.
    public static func read(for tablePath: String) throws -> Provenance {
        let path = sidecarPath(for: tablePath)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ChorusFileError.cannotRead(path: path, reason: "file not found or not readable")
        }
        do { return try JSONDecoder().decode(Provenance.self, from: data) }
        catch { throw ChorusFileError.invalidFormat(path: path, line: nil, reason: "not a Chorus provenance record: \(error)") }
    }

    /// `dir/name.csv` → `dir/<stamp>_name.csv` (for `--date-stamp`).
    public static func dateStamped(_ path: String, stamp: String = dateStamp()) -> String {
        let ns = path as NSString
        let dir = ns.deletingLastPathComponent
        let name = "\(stamp)_\(ns.lastPathComponent)"
        return dir.isEmpty ? name : (dir as NSString).appendingPathComponent(name)
    }
}
