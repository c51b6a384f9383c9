import ArgumentParser
import ChorusCore
import Foundation
import Pipeline

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the parts of a sharded run (predict, ribbit or grouse with --shard K/N, or in a Slurm job array) into one table.",
        discussion: """
        The result is byte for byte the table one process would have written: rows in the run's file order \
        (ribbit and grouse: sorted by file, as they write them), with its record (<out>.json) and, for \
        predict, its list of finished files. Parts of different tables, runs or settings, missing or \
        duplicated parts, and parts that did not finish are refused. The parts are kept.
        """)

    @Argument(help: "The part files (out.part-K-of-N.csv), all N of them.") var parts: [String]
    @Flag(help: "Replace an existing <out> instead of refusing.") var overwrite = false
    @Option(help: "Output CSV.") var out: String

    func run() throws {
        let outcome = try TableMerge.merge(parts: parts, output: out, overwrite: overwrite)
        print("joined \(outcome.parts) parts: \(outcome.files) files, \(outcome.rows) rows → \(out)")
    }
}
