import ArgumentParser

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'train' is not implemented yet") }
}
