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
        duplicated parts, parts that did not finish, and damaged parts are refused, naming the part and \
        the line: a predict part must end with a whole row, each finished recording must have the rows \
        of all its clips (merge reads the recordings' durations), and its .done list may name only its \
        own files; ribbit and grouse parts must match the SHA-256 their record gives. The parts are kept.
        """)

    @Argument(help: "The part files (out.part-K-of-N.csv), all N of them.") var parts: [String]
    @Flag(help: "Replace an existing <out> instead of refusing.") var overwrite = false
    @Option(help: "Output CSV.") var out: String

    func run() throws {
        let outcome = try TableMerge.merge(parts: parts, output: out, overwrite: overwrite)
        print("joined \(outcome.parts) parts: \(outcome.files) files, \(outcome.rows) rows → \(out)")
    }
}
