import Annotations
import Audio
import ArgumentParser
import ChorusCore
import Foundation

/// `train-gpu labels`: Raven/Audacity annotations + recordings → clip labels CSV (+ provenance).
struct LabelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labels",
        abstract: "Make a clip labels table (file,start_time,end_time,<class>...) from Raven or Audacity annotations.",
        discussion: """
        Tables are matched to audio by recording name: 'X.Table.1.selections.txt' (or 'X.txt') annotates \
        'X.wav' (any audio extension); rows of multi-file Raven tables use their 'Begin File'. The 'file' \
        column holds each audio path as given here; with --duration and no audio it holds the recording \
        name plus --audio-extension. A clip is positive for a class when an annotation overlaps it by at \
        least --min-overlap seconds, or (with --min-fraction) covers that fraction of the annotation. \
        Writes <out> and its provenance record <out without extension>.json; an existing one is kept unless --overwrite.
        """)

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Raven selection tables, or directories of them (*.txt).", valueName: "file-or-dir"))
    var raven: [String] = []
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Audacity label files, or directories of them (*.txt).", valueName: "file-or-dir"))
    var audacity: [String] = []
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Audio files, or directories of them; their lengths set the clips.", valueName: "file-or-dir"))
    var audio: [String] = []
    @Option(parsing: .unconditional,  // `--duration -1` is a bad value, not a missing one
            help: ArgumentHelp("Length of every recording in seconds, when the audio is not at hand (overrides the audio's length).", valueName: "seconds"))
    var duration: Double?
    @Option(help: ArgumentHelp("Clip length in seconds.", valueName: "seconds"))
    var clipDuration: Double
    @Option(help: ArgumentHelp("Overlap of consecutive clips in seconds.", valueName: "seconds"))
    var clipOverlap: Double = 0
    @Option(help: ArgumentHelp("Minimum overlap (seconds) of an annotation with a clip to label it.", valueName: "seconds"))
    var minOverlap: Double = 0.25
    @Option(help: ArgumentHelp("Also label a clip that covers at least this fraction of an annotation (0-1).", valueName: "fraction"))
    var minFraction: Double?
    @Option(help: ArgumentHelp("Comma-separated classes (columns) to label, in order; others are ignored. Default: every label, in order of first appearance.", valueName: "A,B"))
    var classes: String?
    @Option(help: ArgumentHelp("Partial last clip: none (drop), remainder (shorten), full (shift back), extend (pad).", valueName: "mode"))
    var finalClip: String = FinalClip.none.rawValue
    @Flag(help: "Exactly one class per clip, with an 'other' column for clips with none; clips with several classes are an error.")
    var singleTarget = false
    @Option(name: .customLong("annotation-column"), help: ArgumentHelp("Raven column holding the labels (repeat to give candidates in order). Default: Annotation, else Species.", valueName: "name"))
    var annotationColumns: [String] = []
    @Option(help: ArgumentHelp("Extension for file names made from table names (with --duration and no audio).", valueName: "ext"))
    var audioExtension = "wav"
    @Flag(help: "Audio files without an annotation table get all-negative clips (default: an error).")
    var includeUnannotated = false
    @Flag(help: "Prefix the output file name with today's date (YYYY-MM-DD_).")
    var dateStamp = false
    @Option(help: ArgumentHelp("Output labels CSV.", valueName: "file"))
    var out: String
    @OptionGroup var outputs: OverwriteOption

    func validate() throws {
        if raven.isEmpty && audacity.isEmpty { throw ValidationError("give annotation tables with --raven and/or --audacity") }
        if audio.isEmpty && duration == nil { throw ValidationError("give the recordings with --audio, or their length with --duration") }
        if FinalClip(rawValue: finalClip) == nil {
            throw ValidationError("--final-clip must be one of \(FinalClip.allCases.map(\.rawValue).joined(separator: ", ")); got '\(finalClip)'")
        }
        if let duration, !(duration.isFinite && duration > 0) { throw ValidationError("--duration must be > 0 seconds; got \(duration)") }
    }

    func run() throws {
        let ravenFiles = try raven.flatMap { try FileSystem.files(under: $0, extensions: ["txt"]) }
        let audacityFiles = try audacity.flatMap { try FileSystem.files(under: $0, extensions: ["txt"]) }
        let audioFiles = try audio.flatMap { try FileSystem.files(under: $0, extensions: audioExtensions) }
        if !audio.isEmpty && audioFiles.isEmpty { throw ValidationError("no audio files (\(audioExtensions.sorted().joined(separator: ", "))) found in \(audio.joined(separator: ", "))") }
        let inputs = ravenFiles + audacityFiles + audioFiles
        let path = try claimLabelTables([(out, "--out")], dateStamped: dateStamp, inputs: inputs, overwrite: outputs.overwrite)[0]
        let columns = annotationColumns.isEmpty ? ["Annotation", "Species"] : annotationColumns
        var tables: [(path: String, annotations: [Annotation])] = []
        for path in ravenFiles { tables.append((path, try RavenTable.read(path, annotationColumn: columns))) }
        for path in audacityFiles { tables.append((path, try AudacityLabels.read(path))) }

        let matches = try RecordingMatcher.match(tables: tables, audio: audioFiles, requireAudio: duration == nil,
                                                 includeUnannotated: includeUnannotated)
        let recordings = try matches.map { match in
            let file = match.audioPath ?? "\(match.recording).\(audioExtension)"
            let length = try duration ?? recordingDuration(file)
            return AnnotatedRecording(file: file, duration: length, annotations: match.annotations)
        }
        // Annotations that label nothing: say where they are rather than drop them without a word.
        let empty = tables.flatMap { t in t.annotations.filter { $0.label.trimmingCharacters(in: .whitespaces).isEmpty || $0.end <= $0.start }.map { (t.path, $0) } }
        if !empty.isEmpty {
            printError("warning: \(empty.count) annotation\(empty.count == 1 ? " labels" : "s label") nothing and \(empty.count == 1 ? "is" : "are") ignored (blank name or zero length):")
            for (path, a) in empty.prefix(10) {
                printError("  \(a.sourcePath ?? path):\(a.sourceLine.map(String.init) ?? "?"): \(a.label.isEmpty ? "blank name" : "'\(a.label)'") at \(a.start)–\(a.end) s")
            }
            if empty.count > 10 { printError("  … and \(empty.count - 10) more") }
        }
        let classList = classes.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if let classList {
            // A requested class no annotation has is most often a typo: it would be a column of zeros.
            let annotated = Set(tables.flatMap { $0.annotations.map(\.label) })
            let missing = classList.filter { !annotated.contains($0) }
            if !missing.isEmpty {
                printError("warning: no annotation has the class\(missing.count == 1 ? "" : "es") \(missing.joined(separator: ", ")) (annotated: \(annotated.sorted().prefix(20).joined(separator: ", "))); \(missing.count == 1 ? "its column" : "their columns") will be all zeros")
            }
        }
        let labeler = ClipLabeler(minimumOverlap: minOverlap, minimumFraction: minFraction, classes: classList, singleTarget: singleTarget)
        let mode = FinalClip(rawValue: finalClip) ?? .none
        let table = try labeler.label(recordings, clipDuration: clipDuration, overlap: clipOverlap, finalClip: mode)

        let parameters: [String: String] = [
            "clip_duration": "\(clipDuration)", "clip_overlap": "\(clipOverlap)", "min_label_overlap": "\(minOverlap)",
            "min_label_fraction": minFraction.map { "\($0)" } ?? "none", "classes": classList?.joined(separator: ",") ?? "all, in order of first appearance",
            "final_clip": mode.rawValue, "single_target": "\(singleTarget)", "annotation_columns": columns.joined(separator: ","),
            "duration": duration.map { "\($0)" } ?? "from audio files", "include_unannotated": "\(includeUnannotated)",
            "audio_extension": audioExtension,
        ]
        try writeLabelTables([LabelTableOutput(table: table, out: out, step: "labels", parameters: parameters)], to: [path], inputs: inputs)
        print("\(recordings.count) recording\(recordings.count == 1 ? "" : "s"), \(table.rows.count) clips → \(path)")
        printCounts(table)
    }
}

/// Extensions of audio files looked for in directories.
let audioExtensions: Set<String> = ["wav", "flac", "mp3", "ogg", "aif", "aiff"]

/// A labels table to write with its provenance sidecar.
struct LabelTableOutput {
    var table: ClipLabelTable
    var out: String
    var step: String
    var parameters: [String: String]
    var notes: [String: String] = [:]
}

/// Where labels tables go (date-stamped if asked), checked before any work: no table or record is
/// an input or another's, none replaces finished work unless `overwrite` (`OutputPolicy.claim`),
/// and each table is locked. `outs`: each output and the option that named it.
func claimLabelTables(_ outs: [(out: String, parameter: String)], dateStamped: Bool, inputs: [String], overwrite: Bool) throws -> [String] {
    let paths = outs.map { dateStamped ? Provenance.dateStamped($0.out) : $0.out }
    let planned = zip(paths, outs).flatMap { PlannedOutput.table($0, parameter: $1.parameter) }
    try OutputPolicy.claim(planned, inputs: inputs, overwrite: overwrite)
    return paths
}

/// Writes labels tables and their provenance sidecars all together (nothing is renamed into place
/// unless every file was written) to the paths `claimLabelTables` returned; `inputs` are hashed
/// into the records.
func writeLabelTables(_ outputs: [LabelTableOutput], to paths: [String], inputs: [String]) throws {
    let hashed = try Provenance.inputFiles(inputs)
    var files: [(data: Data, path: String)] = []
    for (o, path) in zip(outputs, paths) {
        let record = Provenance(step: o.step, commandLine: CommandLine.arguments, inputs: hashed, parameters: o.parameters,
                                table: o.table, tablePath: path, notes: o.notes)
        files += [(Data(o.table.csvText().utf8), path), (try record.jsonData(), Provenance.sidecarPath(for: path))]
    }
    try AtomicFile.writeTogether(files)
}

/// The inputs of a command that reads a labels table: the table, its record, and the recordings it names.
func labelTableInputs(_ path: String, _ table: ClipLabelTable) -> [String] {
    OutputPolicy.inputs(withRecordsOf: [path]) + table.files.compactMap { table.resolvedPath($0) }
}

/// Prints positives per class and the number of negatives.
func printCounts(_ table: ClipLabelTable) {
    let width = max(8, table.classes.map(\.count).max() ?? 0)
    for (name, count) in zip(table.classes, table.positiveCounts()) {
        print("  \(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(count)")
    }
    print("  \("(none)".padding(toLength: width, withPad: " ", startingAt: 0))  \(table.negativeCount)")
}

// MARK: - Recording length

/// Length of a recording in seconds (any format libsndfile reads).
func recordingDuration(_ path: String) throws -> Double {
    try AudioFile.info(path).duration
}
