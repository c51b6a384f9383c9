import ArgumentParser

struct BalanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "balance", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'balance' is not implemented yet") }
}
