import ArgumentParser
import ChorusCore
import Foundation
import Pipeline

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the parts of a sharded prediction (predict --shard K/N, or a Slurm job array) into one scores table.",
        discussion: """
        The result is byte for byte the table one process would have written: rows in the run's file order, \
        with its record (<out>.json) and its list of finished files. Parts of other runs or settings, missing \
        or duplicated parts, and parts that did not finish are refused. The parts are kept.
        """)

    @Argument(help: "The part files (scores.part-K-of-N.csv), all N of them.") var parts: [String]
    @Flag(help: "Replace an existing <out> instead of refusing.") var overwrite = false
    @Option(help: "Output scores CSV.") var out: String

    func run() throws {
        let outcome = try ScoresMerge.merge(parts: parts, output: out, overwrite: overwrite)
        print("joined \(outcome.parts) parts: \(outcome.files) files, \(outcome.rows) rows → \(out)")
    }
}
