import ArgumentParser
import Annotations
import Audio
import ChorusCore
import Evaluation
import Foundation
import Pipeline

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate scores against clip labels: metrics, threshold tables, pictures, review lists and an HTML report.",
        discussion: """
        Scores (from `predict`, or a detector's `file,start_time,end_time,score` with --class) are joined with the \
        labels on (file, start_time, end_time). Writes to --out: metrics.json, thresholds.csv, pr_<class>.svg, \
        threshold_<class>.svg, histogram_<class>.svg, review_<class>.csv, hard_negatives.csv and report.html \
        (and review_clips/ with --export-clips). Each of these files is checked before any is written: none may be \
        an input (the scores, the labels, their records, the audio or the model), and an existing one (an earlier \
        evaluation, a training run's report.html) is kept unless --overwrite. The folder is locked while it is \
        written, with the same lock a training run holds on its run folder.
        """)

    @Option(help: "Scores CSV: file,start_time,end_time,<class>... (or a single 'score' column with --class).")
    var scores: String

    @Option(help: "Clip labels CSV: file,start_time,end_time,<class>... with 0/1 values.")
    var labels: String

    @Option(help: "Output folder.")
    var out: String

    @OptionGroup var outputs: OverwriteOption

    @Option(name: .customLong("class"), help: "Evaluate only this class; required when the scores file has a single 'score' column.")
    var className: String?

    @Option(name: .customLong("threshold"), parsing: .singleValue,
            help: "Decision threshold (score ≥ T is positive): a number for all classes and/or CLASS=T for one class; repeatable. Default 0.5.")
    var thresholds: [String] = []

    @Option(help: "Clips of each kind (high-scoring negatives, low-scoring positives) per class in the review lists.")
    var review: Int = 20

    @Flag(help: "Leave out scored clips that have no labels instead of failing (recordings scored in full but only partly annotated).")
    var ignoreUnlabelled = false

    @Option(help: ArgumentHelp("Match clips whose end times differ by up to this many seconds when file and start agree (e.g. 0.05 for RIBBIT's last clip).", valueName: "seconds"))
    var endTolerance: Double = 0

    @Flag(help: "Also cut the review clips out as WAV files into OUT/review_clips/<class>/.")
    var exportClips = false

    @Option(help: "Folder that relative file names in the scores are relative to (for --export-clips).")
    var audioRoot: String?

    @Option(help: "Model (file or run folder) whose view of each review clip --export-clips draws. Default: the model recorded in <scores>.json, when it exists.")
    var model: String?

    func validate() throws {
        guard review >= 0 else { throw ValidationError("--review must be 0 or more, got \(review)") }
        if audioRoot != nil && !exportClips { throw ValidationError("--audio-root is only used with --export-clips") }
        if model != nil && !exportClips { throw ValidationError("--model is only used with --export-clips (to draw the model's view of each review clip)") }
        if exportClips && !AudioReviewClipWriter.isAvailable {
            throw ValidationError("--export-clips is not available in this build yet (cutting WAV clips needs the Audio module, not wired in)")
        }
    }

    func run() throws {
        let thresholdSetting = try ThresholdSetting.parse(thresholds)
        var scoreTable = try ScoreTable.read(scores, singleScoreClass: className)
        var labelMatrix = try LabelMatrix.read(labels)
        if let className {
            labelMatrix = try labelMatrix.selecting(classes: [className])
            scoreTable = try scoreTable.selecting(classes: [className])
        }
        let join = try Evaluator.join(scores: scoreTable, labels: labelMatrix,
                                      unlabelledScores: ignoreUnlabelled ? .ignore : .error, endTolerance: endTolerance)
        var result = try Evaluator.evaluate(join.data, thresholds: thresholdSetting)
        result.ignoredUnlabelledScores = join.ignoredUnlabelledScores
        result.metadata = ["scores": scores, "labels": labels, "chorus_version": chorusVersion]
        // Every file this writes, checked before any is: not an input, not finished work.
        let lists = exportClips ? ReviewList.all(data: join.data, count: review) : []
        let clipsDir = (out as NSString).appendingPathComponent("review_clips")
        let view = exportClips ? try modelView() : nil
        var planned = EvaluationOutputs.fileNames(classes: join.data.classes).map {
            PlannedOutput((out as NSString).appendingPathComponent($0), parameter: "--out (evaluation file)")
        }
        var read = OutputPolicy.inputs(withRecordsOf: [scores, labels]) + (view.map { [$0.path] } ?? [])
        for clip in exportClips ? ReviewClipExport.plan(reviewLists: lists, audioRoot: audioRoot, to: clipsDir) : [] {
            let stem = (clip.output as NSString).deletingPathExtension
            planned += ([clip.output, stem + ".png"] + (view == nil ? [] : [stem + ".model.png"])).map { PlannedOutput($0, parameter: "--out (review clip)") }
            read.append(clip.file)
        }
        try OutputPolicy.claim(planned, inputs: read, overwrite: outputs.overwrite, folder: out)
        // The clips to review first, so the report can show and play them.
        var media = Set<String>()
        if exportClips {
            let outcome = ReviewClipExport.export(reviewLists: lists, audioRoot: audioRoot, to: clipsDir, context: 1, pictures: true,
                                                  writer: AudioReviewClipWriter(modelView: view?.preprocessing))
            media = Set(outcome.written.map { "review_clips/" + String($0.dropFirst(clipsDir.count + 1)) })
            print("exported \(outcome.written.filter { $0.hasSuffix(".wav") }.count) review clip(s) with 1 s of context, with their spectrograms"
                  + (view.map { " and the model's view (\($0.path))" } ?? " (no model known, so no model's view: give --model)"))
            for failure in outcome.failed { printError("could not export \(failure.output): \(failure.reason)") }
        }
        let written = try EvaluationOutputs.write(data: join.data, result: result, reviewCount: review, reviewMedia: media, to: out)

        print(EvaluationSummaryTable.render(result))
        if join.ignoredUnlabelledScores > 0 {
            print("left out \(join.ignoredUnlabelledScores) scored clip(s) that have no labels")
        }
        print("wrote \(written.count) files to \(out) (open \((out as NSString).appendingPathComponent(HTMLReport.fileName)))")
    }
}

extension EvaluateCommand {
    /// The model whose input images the review shows: `--model`, else the one `<scores>.json` records.
    func modelView() throws -> (path: String, preprocessing: Preprocessing)? {
        if let model {
            let file = try RunFolder.modelFile(model)
            return (file, try ClassifierModel.preprocessing(ofModelAt: file))
        }
        guard let data = FileManager.default.contents(atPath: Provenance.sidecarPath(for: scores)),
              let record = try? JSONDecoder().decode(Predictor.ScoresRecord.self, from: data),
              !record.model.isEmpty, FileManager.default.fileExists(atPath: record.model),
              let pp = try? ClassifierModel.preprocessing(ofModelAt: record.model) else { return nil }
        return (record.model, pp)
    }
}

/// Cuts a clip out of a recording for `--export-clips`: seconds `start..<end` of `file` at its
/// native rate, written as a 16-bit WAV (atomically).
struct AudioReviewClipWriter: ReviewClipWriter {
    static let isAvailable = true
    /// The model's preprocessing, to draw the clip as the network gets it.
    var modelView: Preprocessing? = nil

    func writeModelView(file: String, start: Double, end: Double, to outputPath: String) throws -> Bool {
        guard let pp = modelView else { return false }
        let image = try pp.image(samples: pp.readClip(file, start: start, duration: end - start))
        try AtomicFile.write(PNG.encode(SpectrogramImage.render(networkInput: image, height: pp.image.height, width: pp.image.width)), to: outputPath)
        return true
    }

    func writeClip(file: String, start: Double, end: Double, to outputPath: String) throws {
        let audio = try AudioFile.read(file, offset: start, duration: max(0, end - start))
        try AudioFile.write(audio, to: outputPath)
    }

    /// A person's view of the clip: the full band, 128 pixels high, 100 columns per second.
    func writePicture(file: String, start: Double, end: Double, to outputPath: String) throws {
        let audio = try AudioFile.read(file, offset: start, duration: max(0, end - start))
        let spectrogram = try Spectrogram.compute(audio)
        try SpectrogramImage.writePNG(spectrogram, to: outputPath, size: (height: 128, width: max(16, Int((audio.duration * 100).rounded()))))
    }
}

/// The per-class metrics table printed by `evaluate`.
enum EvaluationSummaryTable {
    static func render(_ result: EvaluationResult) -> String {
        func metric(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "undefined" }
        func score(_ v: Double) -> String {
            abs(v) != 0 && (abs(v) < 1e-3 || abs(v) >= 1e6) ? String(format: "%.3g", v) : String(format: "%.4g", v)
        }
        let header = ["class", "pos", "neg", "AP", "ROC AUC", "threshold", "precision", "recall", "F1", "TP", "FP", "FN", "TN"]
        var rows = result.classes.map { c in
            [c.name, String(c.positives), String(c.negatives), metric(c.averagePrecision), metric(c.rocAUC), score(c.threshold),
             metric(c.precision), metric(c.recall), metric(c.f1),
             String(c.truePositives), String(c.falsePositives), String(c.falseNegatives), String(c.trueNegatives)]
        }
        rows.append(["macro mean", "", "", metric(result.macroAP), metric(result.macroAUC), "",
                     metric(result.macroPrecision), metric(result.macroRecall), metric(result.macroF1), "", "", "", ""])
        let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
        func line(_ fields: [String]) -> String {
            fields.enumerated().map { i, f in
                let pad = String(repeating: " ", count: widths[i] - f.count)
                return i == 0 ? f + pad : pad + f
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = [line(header), String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))]
        out += rows.dropLast().map(line)
        out.append(out[1])
        out.append(line(rows[rows.count - 1]))
        out.append("\(result.clipCount) clips; undefined values (e.g. AP of a class without positives) are left out of macro means")
        return out.joined(separator: "\n")
    }
}
