import ArgumentParser

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'demo' is not implemented yet") }
}
