import Annotations
import ArgumentParser
import ChorusCore
import Collectives
import Foundation
import Pipeline

/// Which files a command (predict, ribbit, grouse) handles in this process, and where its table
/// goes: every file into --out; under mpirun or srun, this rank's share of the
/// files (split by duration) into a part that rank 0 joins into --out, the bytes one process
/// writes; with --shard K/N or in a Slurm job array, part K into <out stem>.part-K-of-N.<ext>,
/// for train-gpu merge.
struct ProcessShare {
    /// What a run did, summed over the ranks under MPI.
    struct Totals: Codable {
        /// Files processed (not failed).
        var files = 0
        var rows = 0
        var audioSeconds = 0.0
        /// Files with at least one row.
        var filesWithRows = 0
        /// [path, reason] of each file that could not be processed.
        var failures: [[String]] = []
    }

    let world = Communicator.world
    let allFiles: [String]
    let out: String
    /// This process's part of the files, or nil when it handles all of them.
    let part: FileShard?
    /// This process's files, in input order.
    let files: [String]
    /// Where this process writes its table: --out, or its part.
    let output: String

    init(allFiles: [String], shard: String?, out: String) throws {
        self.allFiles = allFiles; self.out = out
        if world.isDistributed {
            if shard != nil { throw ValidationError("--shard is for separate jobs (job arrays); under mpirun or srun the ranks share the files among themselves") }
            part = FileShard(index: world.rank + 1, count: world.size, allFiles: allFiles)
        } else if let (k, n) = try shard.map(FileShard.parse) ?? FileShard.fromJobArray() {
            part = FileShard(index: k, count: n, allFiles: allFiles)
        } else {
            part = nil
        }
        files = part.map { FileShard.files(allFiles, index: $0.index, count: $0.count) } ?? allFiles
        output = part.map { FileShard.partPath(output: out, index: $0.index, count: $0.count) } ?? out
    }

    /// Whether this process reports (progress, the summary): the only process, or rank 0.
    var speaks: Bool { world.rank == 0 }
    /// The files the summary counts: the whole run's (MPI: rank 0 speaks for all) or this part's.
    var summaryFileCount: Int { world.isDistributed ? allFiles.count : files.count }
    /// The table the summary names.
    var summaryOutput: String { world.isDistributed ? out : output }

    /// The files this process will write, for `OutputPolicy.claim`: its table (--out, or its part)
    /// and the table's record (a scores table's list of finished files too, `done`); under MPI
    /// also --out, which rank 0 joins (and locks). A rank's part under MPI is an intermediate that
    /// is joined and removed, so one left by a killed run is not finished work; neither is
    /// --out for a job-array part (train-gpu merge checks it). `finished`: whether an existing
    /// table is finished work; when it is not (a scores table of no finished recording, one that
    /// --resume continues), it and the files beside it may be replaced.
    func plannedOutputs(done: Bool = false, finished: (String) -> Bool = { _ in true }) -> [PlannedOutput] {
        func table(_ path: String, _ parameter: String, finishedWork: Bool, locks: Bool) -> [PlannedOutput] {
            let replaceable = !finishedWork || (FileSystem.exists(path) && !finished(path))
            var planned = PlannedOutput.table(path, parameter: parameter, existingIsFinishedWork: !replaceable)
            planned[0].locks = locks
            if done { planned.append(PlannedOutput(path + ".done", parameter: "the list of finished files of \(parameter)", existingIsFinishedWork: planned[0].existingIsFinishedWork)) }
            return planned
        }
        guard let part else { return table(out, "--out", finishedWork: true, locks: true) }
        if world.isDistributed {
            return table(output, "--out (rank \(world.rank)'s part)", finishedWork: false, locks: true)
                + table(out, "--out", finishedWork: true, locks: world.rank == 0)
        }
        return table(output, "--out (part \(part))", finishedWork: true, locks: true) + [PlannedOutput(out, parameter: "--out", existingIsFinishedWork: false)]
    }

    /// Checks every output against the inputs and finished work and takes the locks
    /// (`OutputPolicy.claim`); nothing is written.
    func prepareOutput(overwrite: Bool) throws {
        try OutputPolicy.claim(plannedOutputs(), inputs: allFiles, overwrite: overwrite)
    }

    /// Writes this process's table with its record; a part's record names the part and lists
    /// every file of the run (its `inputs` are the part's files).
    func write<P: Encodable>(_ record: CommandRecord<P>, text: String) throws {
        var record = record
        if let part { record.shard = part.description; record.allFiles = allFiles }
        try record.write(text: text, to: output, sidecar: Provenance.sidecarPath(for: output))
    }

    /// This process's totals, or under MPI: rank 0 joins the ranks' parts into --out (and its
    /// record) and gets every rank's totals, failures in input order; the other ranks get nil.
    func finish(_ mine: Totals) throws -> Totals? {
        guard world.isDistributed else { return mine }
        let all = try world.allgather(Array(JSONEncoder().encode(mine))).map { try JSONDecoder().decode(Totals.self, from: Data($0)) }
        world.barrier()  // every part written
        var total: Totals? = nil
        if world.rank == 0 {
            try joinRankParts()
            let order = Dictionary(allFiles.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            total = Totals(files: all.map(\.files).reduce(0, +), rows: all.map(\.rows).reduce(0, +),
                           audioSeconds: all.map(\.audioSeconds).reduce(0, +), filesWithRows: all.map(\.filesWithRows).reduce(0, +),
                           failures: all.flatMap(\.failures).sorted { order[$0[0], default: 0] < order[$1[0], default: 0] })
        }
        world.barrier()
        return total
    }

    /// Rank 0 of an MPI run: joins the ranks' parts (all written) into --out, the bytes one
    /// process writes, and removes them.
    func joinRankParts() throws {
        let parts = (1...world.size).map { FileShard.partPath(output: out, index: $0, count: world.size) }
        let merged = try TableMerge.merge(parts: parts, output: out, overwrite: true)
        for p in parts { TableMerge.removePart(p) }
        print("joined the \(merged.parts) ranks' parts: \(merged.files) files, \(merged.rows) rows")
    }

    /// After a job-array part, how to join the parts.
    func printMergeHint() {
        guard let part, !world.isDistributed else { return }
        print("part \(part) of the files (\(files.count) of \(allFiles.count)); when all \(part.count) parts are done: train-gpu merge --out \(out) "
              + FileShard.partPath(output: out, index: 1, count: part.count).replacingOccurrences(of: "part-1-of", with: "part-*-of"))
    }
}
