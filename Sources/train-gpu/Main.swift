import Annotations
import ArgumentParser
import Audio
import ChorusCore
import Pipeline

@main
struct TrainGPU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-gpu",
        abstract: "Chorus: train and use CNN sound classifiers on OpenCL GPUs, with a CPU fallback.",
        version: chorusVersion,
        subcommands: [
            DemoCommand.self,
            DevicesCommand.self, BenchCommand.self,
            SpectrogramCommand.self,
            LabelsCommand.self, BalanceCommand.self, SplitCommand.self,
            TrainCommand.self, PredictCommand.self, EvaluateCommand.self,
            RibbitCommand.self, GrouseCommand.self,
        ]
    )

    /// Runs the command; an invalid parameter found while running exits 64 like one found while
    /// parsing (swift-argument-parser's convention), other failures exit 1.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: asValidationError(error) ?? error)
        }
    }

    static func asValidationError(_ error: Error) -> ValidationError? {
        switch error {
        case let e as PipelineError: if case let .invalidParameter(s) = e { return ValidationError(s) }
        case let e as AnnotationsError: if case .invalidParameter = e { return ValidationError(e.description) }
        case let e as AudioError: if case .invalidParameter = e { return ValidationError(e.description) }
        default: break
        }
        return nil
    }
}
