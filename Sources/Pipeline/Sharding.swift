import Annotations
import Audio
import ChorusCore
import Foundation

/// One part of a prediction split across processes (MPI ranks or job-array tasks): part `index`
/// (1-based) of `count`. The files go to parts by duration, so the parts finish together.
public struct PredictionShard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int
    /// Every input file of the whole run, in its order.
    public var allFiles: [String]

    public init(index: Int, count: Int, allFiles: [String]) {
        self.index = index; self.count = count; self.allFiles = allFiles
    }

    public var description: String { "\(index)/\(count)" }

    /// `K/N` (1 ≤ K ≤ N ≤ 100000).
    public static func parse(_ text: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 100_000, (1...n).contains(k) else {
            throw PipelineError.invalidParameter("--shard must be K/N with 1 ≤ K ≤ N (e.g. 2/8), got '\(text)'")
        }
        return (k, n)
    }

    /// The part of a Slurm job array task (`SLURM_ARRAY_TASK_ID` counted from `SLURM_ARRAY_TASK_MIN`,
    /// of `SLURM_ARRAY_TASK_COUNT`), or nil outside a job array.
    public static func fromJobArray(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> (index: Int, count: Int)? {
        guard let id = environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init), let count = environment["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init),
              count >= 1 else { return nil }
        let first = environment["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
        let k = id - first + 1
        return (1...count).contains(k) ? (k, count) : nil
    }

    /// The file of part `index` of `output`: `scores.csv` → `scores.part-K-of-N.csv` (its record
    /// `scores.part-K-of-N.json`, its list of finished files `scores.part-K-of-N.csv.done`).
    public static func partPath(output: String, index: Int, count: Int) -> String {
        let ns = output as NSString
        let ext = ns.pathExtension
        return ext.isEmpty ? "\(output).part-\(index)-of-\(count)" : "\(ns.deletingPathExtension).part-\(index)-of-\(count).\(ext)"
    }

    /// Indices into `durations` of each of `count` parts: the longest file first to the part with
    /// the least audio so far (ties to the lower part); each part's files in input order.
    public static func assign(durations: [Double], count: Int) -> [[Int]] {
        var load = [Double](repeating: 0, count: count)
        var parts = [[Int]](repeating: [], count: count)
        for i in durations.indices.sorted(by: { durations[$0] != durations[$1] ? durations[$0] > durations[$1] : $0 < $1 }) {
            let p = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            parts[p].append(i); load[p] += durations[i]
        }
        return parts.map { $0.sorted() }
    }

    /// The files of each of `count` parts, reading each file's duration once (unreadable files
    /// count as 0 s and are reported by the part that gets them).
    public static func parts(_ files: [String], count: Int) -> [[String]] {
        let durations = files.map { (try? AudioFile.info($0).duration) ?? 0 }
        return assign(durations: durations, count: count).map { $0.map { files[$0] } }
    }

    /// The files of part `index` of `count`.
    public static func files(_ files: [String], index: Int, count: Int) -> [String] { parts(files, count: count)[index - 1] }
}

/// Joins the parts of a sharded prediction into one scores table, byte for byte what one process
/// would have written: rows in the run's file order, with its `.json` record and `.done` list.
public enum ScoresMerge {
    public struct Outcome: Sendable { public var parts: Int; public var files: Int; public var rows: Int }

    /// Refuses parts of different runs or settings, missing or duplicated parts, and parts that did
    /// not finish; writes `output` (refusing to replace one unless `overwrite`).
    public static func merge(parts: [String], output: String, overwrite: Bool) throws -> Outcome {
        guard !parts.isEmpty else { throw PipelineError.invalidParameter("merge: no part files given") }
        try OutputPolicy.checkNotInput(output, parameter: "--out", inputs: parts)
        let decoder = JSONDecoder()
        var records: [(path: String, record: Predictor.ScoresRecord, index: Int, count: Int)] = []
        for part in parts {
            let recordPath = Provenance.sidecarPath(for: part)
            guard let data = FileManager.default.contents(atPath: recordPath) else {
                throw PipelineError.incompatible("merge: \(part) has no record \(recordPath) (not a part written by predict --shard or under mpirun)")
            }
            guard let r = try? decoder.decode(Predictor.ScoresRecord.self, from: data), let shard = r.shard, r.allFiles != nil else {
                throw PipelineError.incompatible("merge: \(recordPath) is not the record of a shard part")
            }
            let (k, n) = try PredictionShard.parse(shard)
            records.append((part, r, k, n))
        }
        let first = records[0]
        for r in records.dropFirst() {
            var a = r.record, b = first.record
            a.shard = nil; b.shard = nil
            let diffs = a.differences(from: b)
            if !diffs.isEmpty { throw PipelineError.incompatible("merge: \(r.path) and \(first.path) were made with other settings:\n  " + diffs.joined(separator: "\n  ")) }
            if r.count != first.count { throw PipelineError.incompatible("merge: \(r.path) is a part of \(r.count), \(first.path) of \(first.count)") }
            if r.record.allFiles != first.record.allFiles { throw PipelineError.incompatible("merge: \(r.path) and \(first.path) split different lists of input files") }
        }
        var seen: [Int: String] = [:]
        for r in records {
            if let other = seen[r.index] { throw PipelineError.incompatible("merge: part \(r.index)/\(r.count) given twice (\(other) and \(r.path))") }
            seen[r.index] = r.path
        }
        let missing = (1...first.count).filter { seen[$0] == nil }
        if !missing.isEmpty {
            throw PipelineError.incompatible("merge: missing part\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(first.count)" }.joined(separator: ", ")) "
                                             + "(\(missing.map { PredictionShard.partPath(output: output, index: $0, count: first.count) }.prefix(3).joined(separator: ", ")))")
        }
        let allFiles = first.record.allFiles ?? []
        let header = ["file", "start_time", "end_time"] + first.record.classes
        var rowsByFile: [String: [[String]]] = [:], finished = Set<String>(), failures: [String: String] = [:]
        var rowCount = 0
        let assignment = PredictionShard.parts(allFiles, count: first.count)
        for r in records {
            let assigned = assignment[r.index - 1]
            let done = Set(((try? String(contentsOfFile: r.path + ".done", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
            let failed = r.record.failures ?? [:]
            let unfinished = assigned.filter { !done.contains($0) && failed[$0] == nil }
            if !unfinished.isEmpty {
                throw PipelineError.incompatible("merge: part \(r.index)/\(r.count) (\(r.path)) has not finished \(unfinished.count) of its \(assigned.count) files "
                                                 + "(first: \(unfinished[0])); run that part again with --resume")
            }
            let rows = try CSV.read(r.path)
            guard rows.first?.fields == header else { throw PipelineError.incompatible("merge: \(r.path) does not start with the header \(header.joined(separator: ","))") }
            for row in rows.dropFirst() where done.contains(row.fields[0]) { rowsByFile[row.fields[0], default: []].append(row.fields); rowCount += 1 }
            finished.formUnion(done)
            failures.merge(failed) { a, _ in a }
        }
        var text = CSV.line(header), doneText = ""
        for file in allFiles where finished.contains(file) {
            for row in rowsByFile[file] ?? [] { text += CSV.line(row) }
            doneText += file + "\n"
        }
        var record = first.record
        record.shard = nil; record.allFiles = nil
        record.inputs = allFiles.count
        record.filesScored = finished.count
        record.failures = failures.isEmpty ? nil : failures
        record.commandLine = CommandLine.arguments
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try OutputLock.acquire(for: output)
        try OutputPolicy.checkNotExisting(output, parameter: "--out", overwrite: overwrite, hint: "pass --overwrite to replace it, or choose another --out")
        try AtomicFile.writeTogether([(Data(text.utf8), output), (Data(doneText.utf8), output + ".done"),
                                      (try encoder.encode(record), Provenance.sidecarPath(for: output))])
        return Outcome(parts: records.count, files: finished.count, rows: rowCount)
    }

    /// Removes a merged part, its sidecars and its lock file.
    public static func removePart(_ part: String) {
        for p in [part, part + ".done", Provenance.sidecarPath(for: part), OutputLock.lockFile(for: part, isFolder: false)] {
            try? FileManager.default.removeItem(atPath: p)
        }
    }
}
