import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'bench' is not implemented yet") }
}
