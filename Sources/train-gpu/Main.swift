import Annotations
import ArgumentParser
import Audio
import ChorusCore
import Collectives
import Evaluation
import Foundation
import Pipeline
import SignalProcessing

@main
struct TrainGPU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-gpu",
        abstract: "Chorus: train and use CNN sound classifiers on OpenCL GPUs, with a CPU fallback.",
        version: chorusVersion,
        subcommands: [
            DemoCommand.self,
            DevicesCommand.self, TuneCommand.self, BenchCommand.self,
            SpectrogramCommand.self,
            LabelsCommand.self, BalanceCommand.self, SplitCommand.self,
            TrainCommand.self, PredictCommand.self, MergeCommand.self, EvaluateCommand.self,
            RibbitCommand.self, GrouseCommand.self,
        ]
    )

    /// Runs the command; an invalid parameter found while running exits 64 like one found while
    /// parsing (swift-argument-parser's convention), other failures exit 1.
    /// Under mpirun or srun, a rank that fails stops the whole job (no rank waits forever for it),
    /// its message naming the rank.
    static func main() {
        let world = Communicator.world
        do {
            var command = try parseAsRoot()
            try command.run()
            world.finalize()
        } catch {
            let error = asValidationError(error) ?? error
            guard world.isDistributed else { exit(withError: error) }
            let code = exitCode(for: error)
            if code != .success {
                FileHandle.standardError.write(Data("train-gpu \(world.label): \(fullMessage(for: error))\n".utf8))
                world.abort(code: code.rawValue)
            }
            print(fullMessage(for: error))  // --help, --version
            world.finalize()
        }
    }

    static func asValidationError(_ error: Error) -> ValidationError? {
        switch error {
        case let e as PipelineError: if case let .invalidParameter(s) = e { return ValidationError(s) }
        case let e as AnnotationsError: if case .invalidParameter = e { return ValidationError(e.description) }
        case let e as AudioError: if case .invalidParameter = e { return ValidationError(e.description) }
        case let e as SignalProcessingError: if case .invalidParameter = e { return ValidationError(e.description) }
        case let e as EvaluationError: if case .invalidThreshold = e { return ValidationError("--threshold: " + e.description) }
        default: break
        }
        return nil
    }
}
