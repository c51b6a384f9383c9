import ArgumentParser

struct GrouseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grouse", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'grouse' is not implemented yet") }
}
