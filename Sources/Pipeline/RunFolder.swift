import Annotations
import ChorusCore
import Foundation
import Model
import Tensor

/// A self-documenting training run folder: `<parent>/<YYYY-MM-DD>_<name>/` holding best.model,
/// last.model, checkpoint.safetensors (resumable), metrics.csv, config.json, copies of the exact
/// train/validation/overlay tables with their SHA-256, and a README.txt log that each run appends to.
public final class RunFolder {
    public let path: String
    public var checkpointPath: String { path + "/checkpoint.safetensors" }
    public var bestModelPath: String { path + "/best.model" }
    public var lastModelPath: String { path + "/last.model" }
    public var metricsPath: String { path + "/metrics.csv" }
    public private(set) var trainTableSHA256 = ""
    var tableHashes: [String: String] = [:]
    public var commandLine: String = CommandLine.arguments.joined(separator: " ")
    public var note: String?

    public init(path: String) { self.path = path }

    /// `<parent>/<date>_<name>`; when resuming without an exact folder, the newest `*_<name>` folder
    /// under `parent` that holds a checkpoint.
    public static func locate(parent: String, name: String, resume: Bool, date: String = dateStamp()) throws -> RunFolder {
        let fresh = (parent as NSString).appendingPathComponent("\(date)_\(name)")
        if resume {
            if FileSystem.exists(fresh + "/checkpoint.safetensors") { return RunFolder(path: fresh) }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
            let candidates = entries.filter { $0.hasSuffix("_\(name)") && FileSystem.exists(parent + "/" + $0 + "/checkpoint.safetensors") }.sorted()
            guard let last = candidates.last else {
                throw PipelineError.noData("--resume: no run folder '*_\(name)' with a checkpoint under \(parent)")
            }
            return RunFolder(path: (parent as NSString).appendingPathComponent(last))
        }
        return RunFolder(path: fresh)
    }

    /// Copies the tables used into the run folder (train.csv, validation.csv, overlays.csv) and records their hashes.
    public func recordTables(train: String, validation: String, overlays: String?) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, src) in [("train.csv", train), ("validation.csv", validation)] + (overlays.map { [("overlays.csv", $0)] } ?? []) {
            guard let data = FileManager.default.contents(atPath: src) else { throw ChorusFileError.cannotRead(path: src, reason: "file not found") }
            let dst = path + "/" + name
            if !FileSystem.exists(dst) { try AtomicFile.write(data, to: dst) }
            tableHashes[name] = SHA256.hex(Array(data))
        }
        trainTableSHA256 = tableHashes["train.csv"] ?? ""
    }

    func start(configuration: TrainingConfiguration, classes: [String], device: Device) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        struct Config: Codable {
            var chorusVersion: String; var created: String; var commandLine: String; var device: String; var classes: [String]
            var tables: [String: String]; var configuration: TrainingConfiguration; var note: String?
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let config = Config(chorusVersion: chorusVersion, created: isoTimestamp(), commandLine: commandLine, device: device.description,
                            classes: classes, tables: tableHashes, configuration: configuration, note: note)
        try AtomicFile.write(try enc.encode(config), to: path + "/config.json")
        try appendLog("training started on \(device.description): \(configuration.architecture.rawValue), \(configuration.epochs) epochs, batch \(configuration.batchSize), classes \(classes.joined(separator: ","))")
    }

    /// Appends a dated line (and the note, if any) to README.txt.
    public func appendLog(_ line: String) throws {
        let file = path + "/README.txt"
        var text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? "Chorus training run \((path as NSString).lastPathComponent)\n\n"
        text += "\(isoTimestamp())  \(line)\n"
        if line.hasPrefix("training started") || line.hasPrefix("resumed") {
            text += "    command: \(commandLine)\n"
            if let note { text += "    note: \(note)\n" }
        }
        try AtomicFile.write(text, to: file)
    }

    func finishEpoch(metrics: EpochMetrics, history: [EpochMetrics], classes: [String], network: Network, optimizer: Optimizer,
                     improved: Bool, bestEpoch: Int, bestMAP: Double?, model: ClassifierModel) throws {
        try writeMetrics(history, classes: classes)
        try model.write(to: lastModelPath, extraMetadata: ["epoch": "\(metrics.epoch)"])
        if improved { try model.write(to: bestModelPath, extraMetadata: ["epoch": "\(metrics.epoch)"]) }
        // Checkpoint last: it is what --resume trusts.
        var file = SafeTensorsFile()
        for p in network.namedTensors { file.add("model." + p.name, shape: p.value.shape, values: try p.value.toArray()) }
        for (k, t) in try optimizer.state(network.parameters).sorted(by: { $0.key < $1.key }) { file.add("optimizer." + k, shape: t.shape, values: try t.toArray()) }
        let enc = JSONEncoder()
        file.metadata = [
            "format": "chorus-checkpoint", "completed_epochs": "\(metrics.epoch)", "optimizer": optimizer.kind.rawValue,
            "optimizer_steps": "\(optimizer.stepCount)", "best_epoch": "\(bestEpoch)", "best_map": bestMAP.map { "\($0)" } ?? "",
            "history": String(decoding: try enc.encode(history), as: UTF8.self),
        ]
        try file.write(to: checkpointPath)
    }

    struct CheckpointState { var completedEpochs: Int; var bestEpoch: Int; var bestMAP: Double?; var history: [EpochMetrics] }

    func loadCheckpoint(network: Network, optimizer: Optimizer) throws -> CheckpointState? {
        guard FileSystem.exists(checkpointPath) else { return nil }
        let file = try SafeTensorsFile.read(checkpointPath)
        guard file.metadata["format"] == "chorus-checkpoint", let done = file.metadata["completed_epochs"].flatMap(Int.init) else {
            throw ModelError.invalidModelFile(path: checkpointPath, reason: "not a Chorus checkpoint")
        }
        var weights = SafeTensorsFile()
        var state: [String: [Float]] = [:]
        for (k, v) in file.tensors {
            if k.hasPrefix("model.") { weights.tensors[String(k.dropFirst(6))] = v }
            if k.hasPrefix("optimizer.") { state[String(k.dropFirst(10))] = v.values }
        }
        try network.loadWeights(weights)
        try optimizer.loadState(state, parameters: network.parameters)
        optimizer.stepCount = file.metadata["optimizer_steps"].flatMap(Int.init) ?? 0
        let history = (try? JSONDecoder().decode([EpochMetrics].self, from: Data((file.metadata["history"] ?? "[]").utf8))) ?? []
        try appendLog("resumed after epoch \(done)")
        return CheckpointState(completedEpochs: done, bestEpoch: file.metadata["best_epoch"].flatMap(Int.init) ?? 0,
                               bestMAP: file.metadata["best_map"].flatMap(Double.init), history: history)
    }

    func writeMetrics(_ history: [EpochMetrics], classes: [String]) throws {
        func f(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "" }
        var text = CSV.line(["epoch", "train_loss", "validation_loss", "validation_map", "validation_macro_auc"] + classes.map { "ap_" + $0 } +
                            ["learning_rate", "samples_per_second", "seconds", "loader_wait_fraction"])
        for m in history {
            text += CSV.line(["\(m.epoch)", f(m.trainLoss), f(m.validationLoss), f(m.validationMAP), f(m.validationMacroAUC)] + m.classAP.map(f) +
                             [f(m.learningRate), f(m.samplesPerSecond), f(m.seconds), f(m.loaderWaitFraction)])
        }
        try AtomicFile.write(text, to: metricsPath)
    }

    func finish(summary: TrainingSummary, final: Bool) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(summary), to: path + "/summary.json")
        let map = summary.bestValidationMAP.map { String(format: "%.4f", $0) } ?? "undefined"
        var line = "training finished: best epoch \(summary.bestEpoch), validation mAP \(map); \(summary.skippedClips.count) clips skipped"
        if final { line += "; models marked final (read-only)" }
        try appendLog(line)
        if final {
            for p in [bestModelPath, lastModelPath] where FileSystem.exists(p) { try FileSystem.makeReadOnly(p) }
        }
    }
}
