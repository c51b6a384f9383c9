import ArgumentParser

struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "split", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'split' is not implemented yet") }
}
