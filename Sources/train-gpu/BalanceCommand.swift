import Annotations
import Audio
import ArgumentParser
import ChorusCore
import Foundation

/// `train-gpu balance`: resample a labels table to equal positives per class.
struct BalanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance",
        abstract: "Resample a labels table: N positives per class, capped negatives, few silent negatives.",
        discussion: """
        Per class with n positives: N/n whole copies, then N mod n drawn at random without replacement \
        (or N drawn without replacement when n >= N). A clip positive for several classes is drawn for each. \
        Negatives (clips with no class) are then capped at --negatives-ratio times the positives drawn: \
        1 to 2 times the positives is a good range (more teaches the background better, too many \
        drowns the classes). Of those, at most --max-silent-fraction may be near-silent (RMS below \
        --silence-threshold-db dBFS). --seconds-per-file keeps only clips within the first S seconds \
        of each recording so long recordings do not dominate. Same --seed, same output. \
        Writes <out> and its provenance record <out without extension>.json; an existing one is kept unless --overwrite.
        """)

    @Argument(help: ArgumentHelp("Labels CSV (from 'train-gpu labels').", valueName: "labels.csv"))
    var labels: String
    @Option(help: ArgumentHelp("Positives per class (default: keep every positive once).", valueName: "N"))
    var perClass: Int?
    @Option(help: ArgumentHelp("Keep at most R x the positives as negatives (1-2 recommended).", valueName: "R"))
    var negativesRatio: Double = 1
    @Option(help: ArgumentHelp("Keep at most N negatives (instead of --negatives-ratio).", valueName: "N"))
    var negatives: Int?
    @Flag(help: "Keep every negative.")
    var keepAllNegatives = false
    @Option(help: ArgumentHelp("Largest share of the kept negatives that may be near-silent.", valueName: "F"))
    var maxSilentFraction: Double = 0.2
    @Option(parsing: .unconditional, help: ArgumentHelp("A clip is near-silent when its RMS is below this level (dBFS; negative).", valueName: "dB"))
    var silenceThresholdDb: Double = -60
    @Flag(help: "Do not measure clip loudness (no silence cap; needs no audio).")
    var noSilenceCheck = false
    @Option(help: ArgumentHelp("Use only clips ending within the first S seconds of each recording.", valueName: "S"))
    var secondsPerFile: Double?
    @Option(help: "Random seed (same seed, same output).")
    var seed: UInt64
    @Flag(help: "Do not check that the audio files exist.")
    var noCheckFiles = false
    @Flag(help: "Prefix the output file name with today's date (YYYY-MM-DD_).")
    var dateStamp = false
    @Option(help: ArgumentHelp("Output labels CSV.", valueName: "file"))
    var out: String
    @OptionGroup var outputs: OverwriteOption

    func validate() throws {
        if negatives != nil && keepAllNegatives { throw ValidationError("give only one of --negatives and --keep-all-negatives") }
        if !noSilenceCheck && noCheckFiles { throw ValidationError("the silence check reads the audio; add --no-silence-check with --no-check-files") }
        if !(silenceThresholdDb <= 0) {
            throw ValidationError("--silence-threshold-db is in dB below full scale and must be 0 or negative (e.g. -60); got \(silenceThresholdDb)")
        }
    }

    func run() throws {
        let table = try ClipLabelTable.read(labels, checkFilesExist: !noCheckFiles)
        let path = try claimLabelTables([(out, "--out")], dateStamped: dateStamp, inputs: labelTableInputs(labels, table), overwrite: outputs.overwrite)[0]
        let policy: NegativePolicy = keepAllNegatives ? .keepAll : negatives.map { .count($0) } ?? .ratio(negativesRatio)
        let balancer = Balancer(samplesPerClass: perClass, negatives: policy, maxSilentFraction: noSilenceCheck ? nil : maxSilentFraction,
                                silenceThreshold: pow(10, silenceThresholdDb / 20), secondsPerFile: secondsPerFile, seed: seed)
        let (balanced, report) = try balancer.balance(table) { row in
            guard let path = table.resolvedPath(row.file) else {
                throw ChorusFileError.cannotRead(path: row.file, reason: "audio not found for the silence check (or pass --no-silence-check)")
            }
            return try clipRMS(path, start: row.start, end: row.end)
        }
        let parameters: [String: String] = [
            "per_class": perClass.map { "\($0)" } ?? "all positives once", "negatives": "\(policy)",
            "max_silent_fraction": noSilenceCheck ? "no silence check" : "\(maxSilentFraction)",
            "silence_threshold_dbfs": "\(silenceThresholdDb)", "seconds_per_file": secondsPerFile.map { "\($0)" } ?? "no limit",
            "seed": "\(seed)",
        ]
        var notes: [String: String] = [
            "rows_beyond_time_limit": "\(report.rowsBeyondTimeLimit)", "negatives_available": "\(report.negativesAvailable)",
            "negatives_kept": "\(report.negativesKept)", "silent_negatives_kept": "\(report.silentNegativesKept)",
        ]
        for c in report.classes { notes["class \(c.name)"] = "\(c.available) available, \(c.drawn) drawn" }
        try writeLabelTables([LabelTableOutput(table: balanced, out: out, step: "balance", parameters: parameters, notes: notes)],
                             to: [path], inputs: [labels])
        for c in report.classes { print("  \(c.name): \(c.available) available → \(c.drawn) drawn") }
        print("  negatives: \(report.negativesAvailable) available → \(report.negativesKept) kept (\(report.silentNegativesKept) near-silent)")
        if report.rowsBeyondTimeLimit > 0 { print("  \(report.rowsBeyondTimeLimit) clips past --seconds-per-file left out") }
        print("\(balanced.rows.count) clips → \(path)")
    }
}

/// RMS of the (mono-mixed) samples of `path` between `start` and `end` seconds (full scale = 1).
func clipRMS(_ path: String, start: Double, end: Double) throws -> Double {
    let audio = try AudioFile.read(path, offset: start, duration: max(0, end - start))
    guard !audio.samples.isEmpty else { return 0 }
    let sumSquares = audio.samples.reduce(0.0) { $0 + Double($1) * Double($1) }
    return (sumSquares / Double(audio.samples.count)).squareRoot()
}
