import Annotations
import ChorusCore
import Foundation
import Model
import Tensor

/// A trained classifier as saved to disk: a safetensors file whose `__metadata__` carries the
/// classes, architecture, preprocessing, training summary, labels hash, tool version and date,
/// so it is loadable by Python's `safetensors` with no Chorus code, and reproducible.
public struct ClassifierModel {
    public static let formatName = "chorus-classifier"
    public static let formatVersion = 1

    public var network: Network
    public var classes: [String]
    public var preprocessing: Preprocessing
    public var loss: LossKind
    /// Free-form JSON describing the training (configuration, epochs, metrics).
    public var trainingSummary: String = "{}"
    public var labelsSHA256: String = ""
    public var created: String = isoTimestamp()

    public init(network: Network, classes: [String], preprocessing: Preprocessing, loss: LossKind) {
        self.network = network; self.classes = classes; self.preprocessing = preprocessing; self.loss = loss
    }

    public func write(to path: String, extraMetadata: [String: String] = [:]) throws {
        var file = try network.exportWeights()
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        file.metadata = [
            "format": ClassifierModel.formatName,
            "format_version": "\(ClassifierModel.formatVersion)",
            "architecture": network.architecture.rawValue,
            "classes": String(decoding: try enc.encode(classes), as: UTF8.self),
            "preprocessing": String(decoding: try enc.encode(preprocessing), as: UTF8.self),
            "loss": loss.rawValue,
            "training": trainingSummary,
            "labels_sha256": labelsSHA256,
            "chorus_version": chorusVersion,
            "created": created,
        ].merging(extraMetadata) { a, _ in a }
        try file.write(to: path)
    }

    /// The preprocessing a model file records (how its network input images are made), without
    /// building the network.
    public static func preprocessing(ofModelAt path: String) throws -> Preprocessing {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(path) } catch let e as ModelError { throw e } catch {
            throw ModelError.invalidModelFile(path: path, reason: "\(error)")
        }
        guard file.metadata["format"] == formatName, let text = file.metadata["preprocessing"],
              let pp = try? JSONDecoder().decode(Preprocessing.self, from: Data(text.utf8)) else {
            throw ModelError.invalidModelFile(path: path, reason: "no preprocessing recorded (not a Chorus model file?)")
        }
        try checkPreprocessing(pp, path: path)
        return pp
    }

    /// A model file's preprocessing is checked as a command line's would be (a damaged or edited
    /// file's 1e300 s clip would otherwise become an impossible allocation), the error naming the file.
    static func checkPreprocessing(_ pp: Preprocessing, path: String) throws {
        do { try pp.validate() } catch {
            throw ModelError.invalidModelFile(path: path, reason: "its recorded preprocessing cannot be used: \(error)")
        }
    }

    /// Loads a model file onto `device`, checking its format and version.
    public static func load(_ path: String, device: Device) throws -> ClassifierModel {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(path) } catch let e as ModelError { throw e } catch {
            throw ModelError.invalidModelFile(path: path, reason: "\(error)")
        }
        func bad(_ r: String) -> ModelError { .invalidModelFile(path: path, reason: r) }
        guard file.metadata["format"] == formatName else { throw bad("metadata 'format' is \(file.metadata["format"] ?? "missing"), expected \(formatName)") }
        guard let v = file.metadata["format_version"].flatMap(Int.init), v <= formatVersion else {
            throw bad("format version \(file.metadata["format_version"] ?? "missing") is newer than this Chorus (\(chorusVersion)) reads (\(formatVersion)); upgrade Chorus")
        }
        guard let archName = file.metadata["architecture"], let arch = Architecture(rawValue: archName) else { throw bad("unknown architecture \(file.metadata["architecture"] ?? "missing")") }
        let dec = JSONDecoder()
        guard let classesText = file.metadata["classes"], let classes = try? dec.decode([String].self, from: Data(classesText.utf8)) else { throw bad("no class list") }
        guard let ppText = file.metadata["preprocessing"], let pp = try? dec.decode(Preprocessing.self, from: Data(ppText.utf8)) else { throw bad("no preprocessing") }
        try checkPreprocessing(pp, path: path)
        let loss = LossKind(rawValue: file.metadata["loss"] ?? "") ?? .bceWithLogits
        for (name, tensor) in file.tensors.sorted(by: { $0.key < $1.key }) where tensor.values.contains(where: { !$0.isFinite }) {
            throw bad("tensor \(name) holds NaN or infinite values (a diverged training run?); scores from it would be meaningless")
        }
        let net = try Network(architecture: arch, classes: classes.count, inputChannels: pp.channels, device: device)
        try net.loadWeights(file)
        var m = ClassifierModel(network: net, classes: classes, preprocessing: pp, loss: loss)
        m.trainingSummary = file.metadata["training"] ?? "{}"
        m.labelsSHA256 = file.metadata["labels_sha256"] ?? ""
        m.created = file.metadata["created"] ?? ""
        return m
    }
}
