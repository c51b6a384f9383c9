import ArgumentParser
import ChorusCore
import Collectives
import Foundation

/// `--overwrite`, shared by every command that writes files. Without it an existing output
/// (and an existing record or list beside it) is finished work and the command refuses to start;
/// an output that is one of the inputs is refused even with it (`OutputPolicy.claim`).
struct OverwriteOption: ParsableArguments {
    @Flag(help: "Replace existing outputs (finished work) instead of refusing. An output that is an input is refused even so.")
    var overwrite = false

    /// The flag as arguments for a command run on its behalf (the demo's steps).
    var arguments: [String] { overwrite ? ["--overwrite"] : [] }
}

/// Says which inputs were left out as given twice (`OutputPolicy.distinctFiles`: by resolved path
/// or inode) and returns the others, in order. Under MPI rank 0 says it.
func withoutDuplicateInputs(_ files: [String], say: (String) -> Void = { if Communicator.world.rank == 0 { printError($0) } }) -> [String] {
    let (kept, duplicates) = OutputPolicy.distinctFiles(files)
    if !duplicates.isEmpty {
        say("\(duplicates.count) input file\(duplicates.count == 1 ? " was" : "s were") given more than once and \(duplicates.count == 1 ? "is" : "are") processed once:")
        for d in duplicates.prefix(10) { say("  \(d.path): " + (d.path == d.sameAs ? "given twice" : "the same file as \(d.sameAs)")) }
        if duplicates.count > 10 { say("  … and \(duplicates.count - 10) more") }
    }
    return kept
}
