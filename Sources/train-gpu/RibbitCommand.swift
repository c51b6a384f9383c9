import Annotations
import ArgumentParser
import ChorusCore
import Foundation
import Pipeline
import SignalProcessing

/// `train-gpu ribbit`: RIBBIT pulse-rate scores per clip for many recordings.
struct RibbitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ribbit",
        abstract: "Score clips for periodic pulsing calls with RIBBIT (no training data needed).",
        discussion: """
        Per clip: the spectrogram's net amplitude in the signal band (minus the noise bands), its Welch \
        power spectral density, and the score = the PSD's maximum over pulse rates strictly inside the \
        range. Writes file,start_time,end_time,score sorted by file and time, and its record <out>.json; \
        an existing --out or record is kept unless --overwrite. Files run in parallel; long recordings are \
        streamed. Unreadable files are reported and skipped; a file given twice is scored once.
        Example (Great Plains toad): --signal-band 1900 2400 --pulse-rate-range 8 20 --noise-bands 0 1500 2500 3500
        """)

    @Argument(help: ArgumentHelp("Audio files or directories of them.", valueName: "audio-or-dir"))
    var inputs: [String]
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Signal band low and high (Hz).", valueName: "lo hi"))
    var signalBand: [Double]
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Pulse rates to look for, low and high (pulses/s).", valueName: "lo hi"))
    var pulseRateRange: [Double]
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Noise bands subtracted from the signal band: pairs of low and high (Hz).", valueName: "lo hi"))
    var noiseBands: [Double] = []
    @Option(help: ArgumentHelp("Clip length (s).", valueName: "seconds"))
    var clipDuration: Double = 2
    @Option(help: ArgumentHelp("Overlap of consecutive clips (s).", valueName: "seconds"))
    var clipOverlap: Double = 0
    @Option(help: ArgumentHelp("Spectrogram window (samples).", valueName: "n"))
    var windowSamples: Int = 512
    @Option(help: ArgumentHelp("Spectrogram window overlap (samples).", valueName: "n"))
    var overlapSamples: Int = 256
    @Flag(help: "Do not limit spectrogram power to [-100, -20] dB before taking band amplitudes (the reference does).")
    var noDecibelLimits = false
    @Option(help: ArgumentHelp("Write a PNG per file (amplitude series; PSD of the best clip with the pulse-rate range shaded).", valueName: "dir"))
    var plot: String?
    @Option(help: ArgumentHelp("Files processed at once (default: all cores).", valueName: "n"))
    var workers: Int?
    @Option(help: ArgumentHelp("Output CSV.", valueName: "file"))
    var out: String
    @Option(help: ArgumentHelp("Process only part K of N of the files (split by duration), into <out stem>.part-K-of-N.<ext>; join the parts with train-gpu merge. Default in a Slurm job array: the task's part. Under mpirun or srun the ranks share the files by themselves.", valueName: "K/N"))
    var shard: String?
    @OptionGroup var outputs: OverwriteOption

    func validate() throws {
        if signalBand.count != 2 { throw ValidationError("--signal-band takes two numbers, LO HI (Hz); got \(signalBand.count)") }
        if pulseRateRange.count != 2 { throw ValidationError("--pulse-rate-range takes two numbers, LO HI (pulses/s); got \(pulseRateRange.count)") }
        if noiseBands.count % 2 != 0 { throw ValidationError("--noise-bands takes pairs LO HI (Hz); got \(noiseBands.count) numbers") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1; got \(workers)") }
    }

    func run() throws {
        var parameters = RibbitParameters(
            signalBand: FrequencyBand(signalBand[0], signalBand[1]),
            pulseRateRange: FrequencyBand(pulseRateRange[0], pulseRateRange[1]),
            noiseBands: stride(from: 0, to: noiseBands.count, by: 2).map { FrequencyBand(noiseBands[$0], noiseBands[$0 + 1]) },
            clipDuration: clipDuration, clipOverlap: clipOverlap, windowSamples: windowSamples, overlapSamples: overlapSamples)
        if noDecibelLimits { parameters.decibelRange = nil }
        try parameters.validate()
        let files = withoutDuplicateInputs(try FileBatch.audioFiles(inputs))
        guard !files.isEmpty else { throw PipelineError.noData("no audio files found in \(inputs.joined(separator: ", "))") }
        let sharding = try ProcessShare(allFiles: files, shard: shard, out: out)
        try sharding.prepareOutput(overwrite: outputs.overwrite)
        let progress = ProgressReporter(label: "ribbit", total: sharding.files.count, unit: "files")
        progress.quiet = !sharding.speaks
        let start = Date()
        let report = try RibbitBatch.run(files: sharding.files, parameters: parameters, workers: workers, plotDirectory: plot,
                                         plotNamesFrom: files) { progress.update(done: $0) }
        let text = RibbitBatch.csv(report)
        let rows = report.files.reduce(0) { $0 + $1.clips.count }
        try sharding.write(CommandRecord(step: "ribbit", inputs: sharding.files, parameters: parameters, table: sharding.output, text: text, rows: rows,
                                         failures: Dictionary(report.failures.map { ($0.path, $0.reason) }, uniquingKeysWith: { a, _ in a })),
                           text: text)
        let mine = ProcessShare.Totals(files: report.files.count, rows: rows, audioSeconds: report.audioSeconds,
                                        filesWithRows: report.files.filter { !$0.clips.isEmpty }.count,
                                        failures: report.failures.map { [$0.path, $0.reason] })
        guard let total = try sharding.finish(mine) else { return }
        let elapsed = Date().timeIntervalSince(start)
        print("ribbit: \(total.files) of \(sharding.summaryFileCount) files, \(total.rows) clips, " +
              "\(String(format: "%.2f", total.audioSeconds / 3600)) h of audio in \(String(format: "%.1f", elapsed)) s -> \(sharding.summaryOutput)")
        sharding.printMergeHint()
        try reportFailures(total.failures.map { (path: $0[0], reason: $0[1]) }, total: sharding.summaryFileCount)
    }
}

/// Prints skipped files; fails when every file failed.
func reportFailures(_ failures: [(path: String, reason: String)], total: Int) throws {
    guard !failures.isEmpty else { return }
    printError("\(failures.count) file(s) skipped:")
    for failure in failures { printError("  " + (failure.reason.contains(failure.path) ? failure.reason : "\(failure.path): \(failure.reason)")) }
    if failures.count == total { throw ExitCode.failure }
}
