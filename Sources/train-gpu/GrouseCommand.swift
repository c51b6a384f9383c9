import Annotations
import ArgumentParser
import ChorusCore
import Foundation
import Pipeline
import SignalProcessing

/// `train-gpu grouse`: accelerating-pulse (Ruffed Grouse drumming) detection.
struct GrouseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grouse",
        abstract: "Detect Ruffed Grouse drumming: accelerating sequences of low-frequency thumps.",
        discussion: """
        Resample, cut into windows, Morlet wavelet at the drum frequency, squared and normalised, Hilbert \
        envelope, peaks, then sequences of peaks whose intervals shrink. Defaults are the reference's. \
        Ranges are given as LO,HI (e.g. --dy-range -0.2,0). Writes file,start_time,end_time,beats,beat_times \
        (beat times joined by ';'), one row per sequence, and its record <out>.json; an existing --out or \
        record is kept unless --overwrite. A file given twice is analysed once.
        """)

    @Argument(help: ArgumentHelp("Audio files or directories of them.", valueName: "audio-or-dir"))
    var inputs: [String]
    @Option(help: ArgumentHelp("Resample to this rate (Hz).", valueName: "hz"))
    var sampleRate: Int = 400
    @Option(help: ArgumentHelp("Analysis window (s); each is normalised on its own.", valueName: "seconds"))
    var windowDuration: Double = 60
    @Flag(help: "Also analyse a partial last window (the reference drops it; a recording shorter than one window is always analysed).")
    var keepPartialWindow = false
    @Option(help: ArgumentHelp("Centre frequency of the Morlet wavelet (Hz).", valueName: "hz"))
    var centerFrequency: Double = 50
    @Option(help: ArgumentHelp("Minimum peak height in the normalised envelope (0-1).", valueName: "x"))
    var peakThreshold: Double = 0.2
    @Option(help: ArgumentHelp("Minimum time between peaks (s).", valueName: "seconds"))
    var peakSeparation: Double = 15.0 / 400
    @Option(parsing: .unconditional, help: ArgumentHelp("Valid time since the previous point (s).", valueName: "lo,hi"))
    var dtRange = "0.05,0.8"
    @Option(parsing: .unconditional, help: ArgumentHelp("Valid change of interval (s); ≤ 0 means accelerating.", valueName: "lo,hi"))
    var dyRange = "-0.2,0"
    @Option(parsing: .unconditional, help: ArgumentHelp("Valid change of the interval change (s).", valueName: "lo,hi"))
    var d2yRange = "-0.05,0.15"
    @Option(help: ArgumentHelp("Invalid points tolerated in a row inside a sequence.", valueName: "n"))
    var maxSkip: Int = 3
    @Option(parsing: .unconditional, help: ArgumentHelp("Sequence duration, first to last point (s).", valueName: "lo,hi"))
    var durationRange = "1,15"
    @Option(parsing: .unconditional, help: ArgumentHelp("Points in a sequence.", valueName: "lo,hi"))
    var pointsRange = "9,100"
    @Option(help: ArgumentHelp("Files processed at once (default: all cores).", valueName: "n"))
    var workers: Int?
    @Option(help: ArgumentHelp("Output CSV.", valueName: "file"))
    var out: String
    @Option(help: ArgumentHelp("Process only part K of N of the files (split by duration), into <out stem>.part-K-of-N.<ext>; join the parts with train-gpu merge. Default in a Slurm job array: the task's part. Under mpirun or srun the ranks share the files by themselves.", valueName: "K/N"))
    var shard: String?
    @OptionGroup var outputs: OverwriteOption

    /// LO,HI with LO <= HI, both finite; `nonNegative` for times, durations and counts.
    static func range(_ text: String, _ flag: String, nonNegative: Bool = true) throws -> ValueRange {
        let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let low = parts[0], let high = parts[1], low.isFinite, high.isFinite else {
            throw ValidationError("--\(flag) takes LO,HI (two finite numbers separated by a comma); got '\(text)'")
        }
        guard low <= high else { throw ValidationError("--\(flag): LO must not be above HI; got '\(text)'") }
        if nonNegative && low < 0 { throw ValidationError("--\(flag) cannot be negative; got '\(text)'") }
        return ValueRange(low, high)
    }

    func validate() throws {
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1; got \(workers)") }
        _ = try parameters()
    }

    func parameters() throws -> GrouseParameters {
        var p = GrouseParameters()
        p.sampleRate = sampleRate
        p.windowDuration = windowDuration
        p.keepPartialFinalWindow = keepPartialWindow
        p.centerFrequency = centerFrequency
        p.peakThreshold = peakThreshold
        p.peakSeparation = peakSeparation
        p.sequences.dtRange = try Self.range(dtRange, "dt-range")
        p.sequences.dyRange = try Self.range(dyRange, "dy-range", nonNegative: false)
        p.sequences.d2yRange = try Self.range(d2yRange, "d2y-range", nonNegative: false)
        p.sequences.maxSkip = maxSkip
        p.sequences.durationRange = try Self.range(durationRange, "duration-range")
        p.sequences.pointsRange = try Self.range(pointsRange, "points-range")
        do { try p.validate() } catch { throw ValidationError("\(error)") }
        return p
    }

    func run() throws {
        let parameters = try parameters()
        let files = withoutDuplicateInputs(try FileBatch.audioFiles(inputs))
        guard !files.isEmpty else { throw PipelineError.noData("no audio files found in \(inputs.joined(separator: ", "))") }
        let sharding = try ProcessShare(allFiles: files, shard: shard, out: out)
        try sharding.prepareOutput(overwrite: outputs.overwrite)
        let progress = ProgressReporter(label: "grouse", total: sharding.files.count, unit: "files")
        progress.quiet = !sharding.speaks
        let report = try GrouseBatch.run(files: sharding.files, parameters: parameters, workers: workers) { progress.update(done: $0) }
        let text = GrouseBatch.csv(report)
        let rows = report.files.reduce(0) { $0 + $1.sequences.count }
        try sharding.write(CommandRecord(step: "grouse", inputs: sharding.files, parameters: parameters, table: sharding.output, text: text, rows: rows,
                                         failures: Dictionary(report.failures.map { ($0.path, $0.reason) }, uniquingKeysWith: { a, _ in a })),
                           text: text)
        let mine = ProcessShare.Totals(files: report.files.count, rows: rows, filesWithRows: report.files.filter { !$0.sequences.isEmpty }.count,
                                        failures: report.failures.map { [$0.path, $0.reason] })
        guard let total = try sharding.finish(mine) else { return }
        print("grouse: \(total.rows) drumming sequence(s) in \(total.filesWithRows) of \(sharding.summaryFileCount) files -> \(sharding.summaryOutput)")
        sharding.printMergeHint()
        try reportFailures(total.failures.map { (path: $0[0], reason: $0[1]) }, total: sharding.summaryFileCount)
    }
}
