import Annotations
import Audio
import ChorusCore
import Foundation

/// One part of a run over many files (predict, ribbit, grouse) split across processes (MPI ranks
/// or job-array tasks): part `index` (1-based) of `count`. The files go to parts by duration, so
/// the parts finish together.
public struct FileShard: Sendable, Equatable, CustomStringConvertible {
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

/// Joins the parts of a table split between processes (`predict`, `ribbit` or `grouse` with
/// `--shard K/N` or in a Slurm job array, or their ranks under mpirun) into the table one process
/// would have written, byte for byte, with the whole run's `.json` record: a scores table's rows
/// in the run's file order (and its `.done` list), a ribbit or grouse table's rows sorted by file
/// as those commands write them.
public enum TableMerge {
    public struct Outcome: Sendable {
        public var parts: Int
        /// Files processed (scored, or analysed by a detector) in all parts.
        public var files: Int
        public var rows: Int
        /// Files that could not be processed, with the reason, in the run's file order.
        public var failures: [(file: String, reason: String)]
    }

    /// The step (in the record) of a scores table, joined in the run's file order.
    static let scoresStep = "predict"
    /// The steps of tables whose rows are sorted by file, then time (`RibbitBatch.csv`, `GrouseBatch.csv`).
    static let fileSortedSteps: Set<String> = ["ribbit", "grouse"]

    /// Refuses parts of different tables, runs or settings, missing or duplicated parts, and
    /// parts that did not finish; writes `output` (refusing to replace one unless `overwrite`).
    public static func merge(parts: [String], output: String, overwrite: Bool) throws -> Outcome {
        guard !parts.isEmpty else { throw PipelineError.invalidParameter("merge: no part files given") }
        try OutputPolicy.checkNotInput(output, parameter: "--out", inputs: parts)
        let steps = try parts.map(step(ofPart:))
        for (part, step) in zip(parts, steps) where step != steps[0] {
            throw PipelineError.incompatible("merge: \(part) is a part of a \(step) table, \(parts[0]) of a \(steps[0]) table; join the parts of one run")
        }
        return steps[0] == scoresStep ? try mergeScores(parts: parts, output: output, overwrite: overwrite)
                                      : try mergeSortedByFile(parts: parts, output: output, overwrite: overwrite)
    }

    /// The table a part belongs to: the `step` of its record (predict, ribbit or grouse).
    static func step(ofPart part: String) throws -> String {
        let recordPath = Provenance.sidecarPath(for: part)
        guard let data = FileManager.default.contents(atPath: recordPath) else {
            throw PipelineError.incompatible("merge: \(part) has no record \(recordPath) "
                                             + "(not a part written by predict, ribbit or grouse with --shard or under mpirun)")
        }
        struct Head: Decodable { var step: String?; var shard: String? }
        guard let head = try? JSONDecoder().decode(Head.self, from: data), let step = head.step, head.shard != nil else {
            throw PipelineError.incompatible("merge: \(recordPath) is not the record of a shard part")
        }
        guard step == scoresStep || fileSortedSteps.contains(step) else {
            throw PipelineError.incompatible("merge: \(recordPath) is the record of a \(step) table; merge joins the parts of predict, ribbit and grouse tables")
        }
        return step
    }

    /// Refuses parts of splits into different numbers of parts, and missing or duplicated parts.
    static func checkComplete(_ parts: [(path: String, index: Int, count: Int)], output: String) throws {
        let first = parts[0]
        for r in parts.dropFirst() where r.count != first.count {
            throw PipelineError.incompatible("merge: \(r.path) is a part of \(r.count), \(first.path) of \(first.count)")
        }
        var seen: [Int: String] = [:]
        for r in parts {
            if let other = seen[r.index] { throw PipelineError.incompatible("merge: part \(r.index)/\(r.count) given twice (\(other) and \(r.path))") }
            seen[r.index] = r.path
        }
        let missing = (1...first.count).filter { seen[$0] == nil }
        if !missing.isEmpty {
            throw PipelineError.incompatible("merge: missing part\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(first.count)" }.joined(separator: ", ")) "
                                             + "(\(missing.map { FileShard.partPath(output: output, index: $0, count: first.count) }.prefix(3).joined(separator: ", ")))")
        }
    }

    /// The parts of a scores table (predict): rows in the run's file order, with the `.done` list.
    /// Each part is checked whole first: its `.done` list names only its own files, its table
    /// ends with a whole row, and each finished recording has exactly the rows of its clips (from
    /// its duration and the record's clip settings), in order; a damaged part is refused.
    static func mergeScores(parts: [String], output: String, overwrite: Bool) throws -> Outcome {
        let decoder = JSONDecoder()
        var records: [(path: String, record: Predictor.ScoresRecord, index: Int, count: Int)] = []
        for part in parts {
            let recordPath = Provenance.sidecarPath(for: part)
            guard let data = FileManager.default.contents(atPath: recordPath) else {
                throw PipelineError.incompatible("merge: \(part) has no record \(recordPath)")
            }
            guard let r = try? decoder.decode(Predictor.ScoresRecord.self, from: data), let shard = r.shard, r.allFiles != nil else {
                throw PipelineError.incompatible("merge: \(recordPath) is not the record of a shard part")
            }
            let (k, n) = try FileShard.parse(shard)
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
        try checkComplete(records.map { ($0.path, $0.index, $0.count) }, output: output)
        let allFiles = first.record.allFiles ?? []
        let header = ["file", "start_time", "end_time"] + first.record.classes
        guard let finalClip = FinalClip(rawValue: first.record.finalClip) else {
            throw PipelineError.incompatible("merge: \(Provenance.sidecarPath(for: first.path)) records an unknown final clip '\(first.record.finalClip)'")
        }
        var rowsByFile: [String: [[String]]] = [:], finished = Set<String>(), failures: [String: String] = [:]
        var rowCount = 0
        // Each recording's duration, read once: it decides the parts (as predict split them) and
        // the clips, hence the rows, that a finished recording has.
        let durations = allFiles.map { file in Result { try AudioFile.info(file).duration } }
        let duration = Dictionary(zip(allFiles, durations), uniquingKeysWith: { a, _ in a })
        let assignment = FileShard.assign(durations: durations.map { (try? $0.get()) ?? 0 }, count: first.count).map { $0.map { allFiles[$0] } }
        for r in records {
            let assigned = assignment[r.index - 1], mine = Set(assigned)
            let shard = "\(r.index)/\(r.count)"
            let done = try finishedFiles(of: r.path, shard: shard, assigned: mine)
            let failed = r.record.failures ?? [:]
            let unfinished = assigned.filter { !done.contains($0) && failed[$0] == nil }
            if !unfinished.isEmpty {
                throw PipelineError.incompatible("merge: part \(r.index)/\(r.count) (\(r.path)) has not finished \(unfinished.count) of its \(assigned.count) files "
                                                 + "(first: \(unfinished[0])); run that part again with --resume")
            }
            let (rows, table) = try verifiedRows(of: r.path, shard: shard, header: header)
            var partRows: [String: [(line: Int, fields: [String])]] = [:]
            for row in rows {
                guard done.contains(row.fields[0]) else {
                    throw damaged(r.path, line: row.line, "is a row of \(row.fields[0]), which \(r.path).done does not list as finished", shard: shard)
                }
                partRows[row.fields[0], default: []].append(row)
            }
            for file in assigned where done.contains(file) {
                try checkClips(partRows[file] ?? [], of: file, duration: duration[file], in: r.path, shard: shard, record: r.record, finalClip: finalClip)
                rowsByFile[file] = (partRows[file] ?? []).map(\.fields)
                rowCount += partRows[file]?.count ?? 0
            }
            // Last, so that a damage the checks above can name is named: a finished run's seal.
            try checkSeal(r.record, of: r.path, table: table, rows: rows.count, shard: shard)
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
        record.tableSHA256 = SHA256.hex(string: text); record.rows = rowCount
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
        return Outcome(parts: records.count, files: finished.count, rows: rowCount,
                       failures: allFiles.compactMap { f in failures[f].map { (file: f, reason: $0) } })
    }

    /// A damaged part: the part, the line, what is wrong, and what to do.
    static func damaged(_ file: String, line: Int?, _ what: String, shard: String) -> PipelineError {
        .incompatible("merge: \(file)\(line.map { " line \($0)" } ?? "") \(what); the part is damaged (cut off or changed since it was written): "
                      + "score part \(shard) again (predict --shard \(shard) --overwrite) and merge again")
    }

    /// The files a scores part lists as finished in `<part>.done`: every entry one of the part's
    /// own files, the list ending with an end of line (a cut-off entry is refused).
    static func finishedFiles(of part: String, shard: String, assigned: Set<String>) throws -> Set<String> {
        let path = part + ".done"
        guard FileSystem.exists(path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw PipelineError.incompatible("merge: cannot read \(path), the list of \(part)'s finished files")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let end = data.last, end != UInt8(ascii: "\n") { throw damaged(path, line: lines.count, "is cut off (no end of line)", shard: shard) }
        var done = Set<String>()
        for (i, file) in lines.enumerated() where !file.isEmpty {
            guard assigned.contains(file) else {
                throw damaged(path, line: i + 1, "lists \(file) as finished, which is not one of the files of part \(shard)", shard: shard)
            }
            done.insert(file)
        }
        return done
    }

    /// The rows of a scores part after its header, each with the header's columns, times and
    /// scores that are numbers, and the last one ending with an end of line: a part cut off
    /// mid-row (a full disk, a copy interrupted) is refused naming the line, never joined.
    static func verifiedRows(of part: String, shard: String, header: [String]) throws -> (rows: [(line: Int, fields: [String])], table: Data) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: part, isDirectory: &isFolder) else { throw PipelineError.incompatible("merge: \(part) does not exist") }
        guard !isFolder.boolValue else { throw PipelineError.incompatible("merge: \(part) is a folder, not a part file") }
        guard let data = FileManager.default.contents(atPath: part) else { throw PipelineError.incompatible("merge: cannot read \(part)") }
        guard let text = String(data: data, encoding: .utf8) else { throw damaged(part, line: nil, "is not UTF-8 text", shard: shard) }
        let rows = CSV.parse(text)
        guard let last = rows.last else { throw damaged(part, line: nil, "is empty (not even the header)", shard: shard) }
        if data.last != UInt8(ascii: "\n") { throw damaged(part, line: last.line, "is cut off (no end of line)", shard: shard) }
        guard rows[0].fields == header else {
            throw PipelineError.incompatible("merge: \(part) does not start with the header \(header.joined(separator: ","))")
        }
        for row in rows.dropFirst() {
            guard row.fields.count == header.count else {
                throw damaged(part, line: row.line, "has \(row.fields.count) columns, the header \(header.count)", shard: shard)
            }
            if let bad = row.fields.dropFirst().first(where: { Double($0) == nil }) {
                throw damaged(part, line: row.line, "has '\(bad)' where a number belongs", shard: shard)
            }
        }
        return (Array(rows.dropFirst()), data)
    }

    /// A part whose run finished carries a seal in its record (`tableSHA256`, `rows`, written by
    /// `predict` at its end): the table (its bytes as read) must be the one it describes.
    static func checkSeal(_ record: Predictor.ScoresRecord, of part: String, table: Data, rows: Int, shard: String) throws {
        let recordPath = Provenance.sidecarPath(for: part)
        if let expected = record.rows, expected != rows {
            throw damaged(part, line: nil, "has \(rows) rows, its record \(recordPath) \(expected)", shard: shard)
        }
        if let expected = record.tableSHA256, SHA256.hex(table) != expected {
            throw damaged(part, line: nil, "is not the table its record \(recordPath) describes (SHA-256 differs)", shard: shard)
        }
    }

    /// A finished recording's rows in a scores part are the clips predict makes of it (its
    /// duration, the record's clip duration, overlap and final clip): all of them, in order. A
    /// part that lost rows (cut off at a row's end) or holds others is refused.
    static func checkClips(_ rows: [(line: Int, fields: [String])], of file: String, duration: Result<Double, Error>?, in part: String,
                           shard: String, record: Predictor.ScoresRecord, finalClip: FinalClip) throws {
        let seconds: Double
        do { seconds = try duration.map { try $0.get() } ?? 0 } catch {
            throw PipelineError.incompatible("merge: cannot check the rows of \(file) in \(part): the recording cannot be read (\(error)); "
                                             + "merge reads the run's recordings at the paths predict scored them from")
        }
        let clips: [ClipWindow]
        do { clips = try ClipSchedule.clips(duration: seconds, clipDuration: record.clipDuration, overlap: record.clipOverlap, finalClip: finalClip) } catch {
            throw PipelineError.incompatible("merge: \(Provenance.sidecarPath(for: part)): \(error)")
        }
        for (k, clip) in clips.enumerated() {
            guard k < rows.count else {
                let after = rows.last.map { "after line \($0.line) " } ?? ""
                throw damaged(part, line: nil, "has \(rows.count) of the \(clips.count) rows of \(file) (\(formatSeconds(seconds)) s now), "
                              + "\(after)the clip \(formatSeconds(clip.start))–\(formatSeconds(clip.end)) s is missing", shard: shard)
            }
            let (start, end) = (formatSeconds(clip.start), formatSeconds(clip.end))
            guard rows[k].fields[1] == start, rows[k].fields[2] == end else {
                throw damaged(part, line: rows[k].line, "is the clip \(rows[k].fields[1])–\(rows[k].fields[2]) s of \(file); "
                              + "its row \(k + 1) is the clip \(start)–\(end) s", shard: shard)
            }
        }
        if rows.count > clips.count {
            throw damaged(part, line: rows[clips.count].line, "is a row too many of \(file): its \(formatSeconds(seconds)) s make \(clips.count) clips", shard: shard)
        }
    }

    /// The parts of a ribbit or grouse table: each part's record lists its files (every input
    /// file in exactly one part) and the SHA-256 of its table; rows sorted by file as one process
    /// sorts them, each file's rows in their order (a file lies wholly in one part).
    static func mergeSortedByFile(parts: [String], output: String, overwrite: Bool) throws -> Outcome {
        let decoder = JSONDecoder()
        var records: [(path: String, record: CommandRecord<JSONValue>, index: Int, count: Int)] = []
        for part in parts {
            let recordPath = Provenance.sidecarPath(for: part)
            guard let data = FileManager.default.contents(atPath: recordPath),
                  let r = try? decoder.decode(CommandRecord<JSONValue>.self, from: data), let shard = r.shard, r.allFiles != nil else {
                throw PipelineError.incompatible("merge: \(recordPath) is not the record of a shard part")
            }
            let (k, n) = try FileShard.parse(shard)
            records.append((part, r, k, n))
        }
        let first = records[0]
        for r in records.dropFirst() {
            let diffs = differences(r.record.parameters, first.record.parameters)
            if !diffs.isEmpty {
                throw PipelineError.incompatible("merge: \(r.path) and \(first.path) were made with other \(first.record.step) parameters:\n  "
                                                 + diffs.joined(separator: "\n  "))
            }
            if r.count == first.count && r.record.allFiles != first.record.allFiles {
                throw PipelineError.incompatible("merge: \(r.path) and \(first.path) split different lists of input files")
            }
        }
        try checkComplete(records.map { ($0.path, $0.index, $0.count) }, output: output)
        let allFiles = first.record.allFiles ?? []
        var owner: [String: String] = [:]
        for r in records {
            for file in r.record.inputs {
                if let other = owner[file] { throw PipelineError.incompatible("merge: \(file) is in two parts (\(other) and \(r.path))") }
                owner[file] = r.path
            }
        }
        if let file = allFiles.first(where: { owner[$0] == nil }) {
            throw PipelineError.incompatible("merge: \(file) is an input of the run but in none of the parts")
        }
        if owner.count != Set(allFiles).count { throw PipelineError.incompatible("merge: the parts list files that are not inputs of the run") }
        var header: [String]? = nil, rowsByFile: [String: [[String]]] = [:], rowCount = 0, failures: [String: String] = [:]
        for r in records {
            let text: String
            do { text = try String(contentsOfFile: r.path, encoding: .utf8) } catch {
                throw PipelineError.incompatible("merge: cannot read \(r.path): \(error.localizedDescription)")
            }
            guard SHA256.hex(string: text) == r.record.tableSHA256 else {
                throw PipelineError.incompatible("merge: \(r.path) is not the table its record \(Provenance.sidecarPath(for: r.path)) describes (changed since?)")
            }
            let rows = try CSV.read(r.path)
            guard let h = rows.first?.fields else { throw PipelineError.incompatible("merge: \(r.path) is empty") }
            if let header, h != header { throw PipelineError.incompatible("merge: \(r.path) does not start with the header \(header.joined(separator: ","))") }
            header = h
            let mine = Set(r.record.inputs)
            for row in rows.dropFirst() {
                guard let file = row.fields.first, mine.contains(file) else {
                    throw PipelineError.incompatible("merge: \(r.path) line \(row.line) is not a row of one of its part's files")
                }
                rowsByFile[file, default: []].append(row.fields); rowCount += 1
            }
            failures.merge(r.record.failures) { a, _ in a }
        }
        var text = CSV.line(header ?? [])
        for file in rowsByFile.keys.sorted() { for row in rowsByFile[file] ?? [] { text += CSV.line(row) } }
        var record = CommandRecord(step: first.record.step, inputs: allFiles, parameters: first.record.parameters, table: output, text: text,
                                   rows: rowCount, failures: failures)
        record.toolVersion = first.record.toolVersion
        try OutputLock.acquire(for: output)
        try OutputPolicy.checkNotExisting(output, parameter: "--out", overwrite: overwrite, hint: "pass --overwrite to replace it, or choose another --out")
        try record.write(text: text, to: output, sidecar: Provenance.sidecarPath(for: output))
        return Outcome(parts: records.count, files: allFiles.count - failures.count, rows: rowCount,
                       failures: allFiles.compactMap { f in failures[f].map { (file: f, reason: $0) } })
    }

    /// "name: this part has X, the first Y" for each parameter that differs.
    static func differences(_ a: JSONValue, _ b: JSONValue) -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func text(_ v: JSONValue?) -> String { v.flatMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) } ?? "nothing" }
        guard a != b else { return [] }
        guard case let .object(x) = a, case let .object(y) = b else { return ["parameters: \(text(a)) against \(text(b))"] }
        return Set(x.keys).union(y.keys).sorted().filter { x[$0] != y[$0] }.map { "\($0): \(text(x[$0])) against \(text(y[$0]))" }
    }

    /// Removes a merged part, its sidecars and its lock file.
    public static func removePart(_ part: String) {
        for p in [part, part + ".done", Provenance.sidecarPath(for: part), OutputLock.lockFile(for: part, isFolder: false)] {
            try? FileManager.default.removeItem(atPath: p)
        }
    }
}
