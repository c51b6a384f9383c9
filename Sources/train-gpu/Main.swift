import ArgumentParser
import ChorusCore

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
}
