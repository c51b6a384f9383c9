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
    public func modelPath(_ selection: ModelSelection) -> String { path + "/" + selection.fileName }

    /// The model a path names: a model file itself, or a run folder's result (the file its
    /// summary.json names; an unfinished run has none yet, and the error says which files exist).
    public static func modelFile(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return path }
        let summaryPath = (path as NSString).appendingPathComponent("summary.json")
        guard let data = FileManager.default.contents(atPath: summaryPath) else {
            let models = ["best.model", "last.model"].filter { FileSystem.exists((path as NSString).appendingPathComponent($0)) }
            throw PipelineError.invalidParameter("--model \(path) is a folder without summary.json (not a finished training run)"
                + (models.isEmpty ? "" : "; give one of its models: \(models.joined(separator: ", "))"))
        }
        guard let summary = try? JSONDecoder().decode(TrainingSummary.self, from: data), !summary.model.isEmpty,
              !summary.model.contains("/") else {
            throw PipelineError.invalidParameter("--model \(path): \(summaryPath) does not name the run's model; give best.model or last.model")
        }
        return (path as NSString).appendingPathComponent(summary.model)
    }
    public var metricsPath: String { path + "/metrics.csv" }
    public private(set) var trainTableSHA256 = ""
    var tableHashes: [String: String] = [:]
    public var commandLine: String = CommandLine.arguments.joined(separator: " ")
    public var note: String?

    public init(path: String) { self.path = path }

    /// `<parent>/<date>_<name>`, or `…_<name>_2`, `_3`… when that folder already holds a run's
    /// work (finished work is never replaced); when resuming, the newest `*_<name>` (or
    /// `*_<name>_N`) folder under `parent` that holds a checkpoint.
    public static func locate(parent: String, name: String, resume: Bool, date: String = dateStamp()) throws -> RunFolder {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != "..", !name.hasPrefix(".") else {
            throw PipelineError.invalidParameter("--name '\(name)' must be a plain folder name (no '/', not starting with '.')")
        }
        let fresh = (parent as NSString).appendingPathComponent("\(date)_\(name)")
        if resume {
            if FileSystem.exists(fresh + "/checkpoint.safetensors") { return RunFolder(path: fresh) }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
            // Newest date first, then the highest _N of that date.
            let candidates = entries.compactMap { entry -> (date: String, n: Int, entry: String)? in
                guard let cut = entry.firstIndex(of: "_"), FileSystem.exists(parent + "/" + entry + "/checkpoint.safetensors") else { return nil }
                let rest = entry[entry.index(after: cut)...]
                if rest == name { return (String(entry[..<cut]), 1, entry) }
                guard rest.hasPrefix(name + "_"), let n = Int(rest.dropFirst(name.count + 1)), n >= 2 else { return nil }
                return (String(entry[..<cut]), n, entry)
            }.sorted { ($0.date, $0.n) < ($1.date, $1.n) }
            if let last = candidates.last { return RunFolder(path: (parent as NSString).appendingPathComponent(last.entry)) }
            // No epoch finished yet (a failed start, a kill in epoch 1): nothing to resume, nothing to lose; start afresh.
        }
        var candidate = fresh, k = 2
        while RunFolder(path: candidate).holdsWork { candidate = fresh + "_\(k)"; k += 1 }
        return RunFolder(path: candidate)
    }

    /// True when the folder holds a checkpoint, a model or a summary of a run.
    public var holdsWork: Bool {
        [checkpointPath, bestModelPath, lastModelPath, path + "/summary.json", metricsPath].contains { FileSystem.exists($0) }
    }

    /// Takes the run folder's lock: a second `train` into the same folder fails at once, naming this one.
    public func lock() throws {
        try OutputLock.acquire(for: path, isFolder: true)
        // Holding the lock, any temporary file here was left by a killed save: remove it.
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where entry.hasPrefix(".") && entry.contains(".tmp-") {
            try? FileManager.default.removeItem(atPath: path + "/" + entry)
        }
    }

    /// Compares the settings and tables recorded when the run started with this command's; any
    /// difference (other than device, workers, note, --final and --select-model) is an error listing them all.
    func checkResume(configuration: TrainingConfiguration, classes: [String]) throws {
        let file = path + "/config.json"
        guard let data = FileManager.default.contents(atPath: file),
              let recorded = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw PipelineError.incompatible("--resume: \(file) is missing or unreadable, so the run's settings cannot be checked")
        }
        func text(_ value: Any?) -> String {
            guard let value, let d = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) else { return "(none)" }
            return String(String(decoding: d, as: UTF8.self).dropFirst().dropLast())
        }
        var differences: [String] = []
        let tables = recorded["tables"] as? [String: String] ?? [:]
        for name in Set(tables.keys).union(tableHashes.keys).sorted() where tables[name] != tableHashes[name] {
            differences.append("\(name): the run was started with \(tables[name].map { "SHA-256 \($0.prefix(12))…" } ?? "none"), this command gives \(tableHashes[name].map { "SHA-256 \($0.prefix(12))…" } ?? "none")")
        }
        if let c = recorded["classes"] as? [String], c != classes { differences.append("classes: \(c.joined(separator: ",")) recorded, \(classes.joined(separator: ",")) now") }
        let mine = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration))) as? [String: Any] ?? [:]
        let theirs = recorded["configuration"] as? [String: Any] ?? [:]
        let free: Set<String> = ["device", "workers", "note", "final", "modelSelection"]
        for key in Set(mine.keys).union(theirs.keys).subtracting(free).sorted() where text(mine[key]) != text(theirs[key]) {
            differences.append("\(key): \(text(theirs[key])) recorded, \(text(mine[key])) now")
        }
        if !differences.isEmpty {
            throw PipelineError.incompatible("--resume: \(path) was started with other settings or tables:\n  " + differences.joined(separator: "\n  ") +
                                             "\nResume with the original command, or start a new run (without --resume).")
        }
    }

    /// Copies the tables used into the run folder (train.csv, validation.csv, overlays.csv,
    /// hard_negatives.csv) and records their hashes.
    /// On a resume the copies made when the run started are kept (and `checkResume` compares hashes).
    public func recordTables(train: String, validation: String, overlays: String?, hardNegatives: String? = nil, resume: Bool = false) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let tables = [("train.csv", train), ("validation.csv", validation)] + (overlays.map { [("overlays.csv", $0)] } ?? [])
            + (hardNegatives.map { [("hard_negatives.csv", $0)] } ?? [])
        for (name, src) in tables {
            guard let data = FileManager.default.contents(atPath: src) else { throw ChorusFileError.cannotRead(path: src, reason: "file not found") }
            let dst = path + "/" + name
            if !resume || !FileSystem.exists(dst) { try AtomicFile.write(data, to: dst) }
            tableHashes[name] = SHA256.hex(Array(data))
        }
        trainTableSHA256 = tableHashes["train.csv"] ?? ""
    }

    /// `ranks`: the number of processes of a data-parallel run and their hosts (rank order).
    func start(configuration: TrainingConfiguration, classes: [String], device: Device, ranks: (count: Int, hosts: [String])? = nil) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        struct Config: Codable {
            var chorusVersion: String; var created: String; var commandLine: String; var device: String; var classes: [String]
            var tables: [String: String]; var configuration: TrainingConfiguration; var note: String?
            var ranks: Int; var hosts: [String]
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let config = Config(chorusVersion: chorusVersion, created: isoTimestamp(), commandLine: commandLine, device: device.description,
                            classes: classes, tables: tableHashes, configuration: configuration, note: note,
                            ranks: ranks?.count ?? 1, hosts: ranks?.hosts ?? [ProcessInfo.processInfo.hostName])
        try AtomicFile.write(try enc.encode(config), to: path + "/config.json")
        try appendLog("training started on \(device.description)\(ranks.map { " in \($0.count) ranks (\(Set($0.hosts).sorted().joined(separator: ", ")))" } ?? ""): \(configuration.architecture.rawValue), \(configuration.epochs) epochs, batch \(configuration.batchSize), classes \(classes.joined(separator: ","))")
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
        // metrics.csv after the checkpoint: it never lists an epoch the checkpoint lacks.
        try writeMetrics(history, classes: classes)
    }

    struct CheckpointState { var completedEpochs: Int; var bestEpoch: Int; var bestMAP: Double?; var history: [EpochMetrics] }

    /// - Parameters: epochs, stepsPerEpoch: the run's; the checkpoint's epoch and step counts must
    ///   lie within them (a damaged or edited file's -5 or 100000 is refused, naming the file).
    func loadCheckpoint(network: Network, optimizer: Optimizer, epochs: Int, stepsPerEpoch: Int) throws -> CheckpointState? {
        guard FileSystem.exists(checkpointPath) else { return nil }
        let file = try SafeTensorsFile.read(checkpointPath)
        guard file.metadata["format"] == "chorus-checkpoint", let done = file.metadata["completed_epochs"].flatMap(Int.init) else {
            throw ModelError.invalidModelFile(path: checkpointPath, reason: "not a Chorus checkpoint")
        }
        guard (0...epochs).contains(done) else {
            throw ModelError.invalidModelFile(path: checkpointPath, reason: "completed_epochs is \(done), not within 0...\(epochs) (the run's --epochs); the checkpoint is damaged")
        }
        let steps = file.metadata["optimizer_steps"].flatMap(Int.init) ?? 0
        let product = done.multipliedReportingOverflow(by: max(0, stepsPerEpoch)), maximumSteps = product.overflow ? Int.max : product.partialValue
        guard (0...maximumSteps).contains(steps) else {
            throw ModelError.invalidModelFile(path: checkpointPath, reason: "optimizer_steps is \(steps), not within 0...\(maximumSteps) (\(done) epochs of at most \(stepsPerEpoch) steps); the checkpoint is damaged")
        }
        var weights = SafeTensorsFile()
        var state: [String: [Float]] = [:]
        for (k, v) in file.tensors {
            if k.hasPrefix("model.") { weights.tensors[String(k.dropFirst(6))] = v }
            if k.hasPrefix("optimizer.") { state[String(k.dropFirst(10))] = v.values }
        }
        try network.loadWeights(weights)
        try optimizer.loadState(state, parameters: network.parameters)
        optimizer.stepCount = steps
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
        var line = "training finished: best epoch \(summary.bestEpoch), validation mAP \(map); the run's model is \(summary.model); \(summary.skippedClips.count) clips skipped"
        if final { line += "; models marked final (read-only)" }
        try appendLog(line)
        if final {
            for p in [bestModelPath, lastModelPath] where FileSystem.exists(p) { try FileSystem.makeReadOnly(p) }
        }
    }
}
