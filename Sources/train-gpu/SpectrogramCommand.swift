import ArgumentParser

struct SpectrogramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spectrogram", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'spectrogram' is not implemented yet") }
}
