import ArgumentParser

struct LabelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "labels", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'labels' is not implemented yet") }
}
