import ArgumentParser

struct RibbitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ribbit", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'ribbit' is not implemented yet") }
}
