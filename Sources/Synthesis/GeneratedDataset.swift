import ChorusCore
import Foundation

/// Which part of the dataset a file belongs to.
public enum DatasetPart: String, Codable, Sendable {
    /// Close, clean, one species per file: the training recordings.
    case targeted
    /// Field recordings without target calls: the overlay/background pool for training.
    case fieldTrain
    /// Annotated field recordings for testing; never used for overlays.
    case fieldTest
}

/// One generated recording and its Raven table, as listed in `dataset.json`.
public struct GeneratedFile: Codable, Sendable, Equatable {
    public var part: DatasetPart
    /// Paths relative to the dataset directory.
    public var audio: String
    public var table: String
    /// The one species of a targeted recording; nil for field recordings.
    public var species: String?
    public var duration: Double
    /// Annotated calls per species code.
    public var calls: [String: Int]
    public var backgrounds: [BackgroundKind]
    public var containsTargetCalls: Bool
    /// The real recording laid under a field recording (file name in the background folder), if any.
    public var backgroundRecording: String? = nil
}

/// `dataset.json`: the spec that made the dataset and every file in it (relative paths only, so
/// the file is the same wherever the dataset is generated).
public struct DatasetManifest: Codable, Sendable, Equatable {
    public var format: Int
    public var spec: SoundscapeDatasetSpec
    public var targetClasses: [String]
    public var confusionClasses: [String]
    public var files: [GeneratedFile]

    public static let fileName = "dataset.json"
}

/// A generated dataset on disk: absolute paths by part.
public struct GeneratedDataset: Sendable, Equatable {
    /// The dataset directory.
    public var root: String
    public var manifest: DatasetManifest

    public init(root: String, manifest: DatasetManifest) {
        self.root = root
        self.manifest = manifest
    }

    private func files(_ part: DatasetPart) -> [GeneratedFile] { manifest.files.filter { $0.part == part } }
    private func absolute(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    public var manifestPath: String { absolute(DatasetManifest.fileName) }
    public var targetedAudio: [String] { files(.targeted).map { absolute($0.audio) } }
    public var targetedTables: [String] { files(.targeted).map { absolute($0.table) } }
    /// Field recordings with no target calls (overlay pool); their tables list any confusion calls.
    public var fieldTrainAudio: [String] { files(.fieldTrain).map { absolute($0.audio) } }
    public var fieldTrainTables: [String] { files(.fieldTrain).map { absolute($0.table) } }
    public var fieldTestAudio: [String] { files(.fieldTest).map { absolute($0.audio) } }
    public var fieldTestTables: [String] { files(.fieldTest).map { absolute($0.table) } }
    /// Directories holding each part, for commands that take a folder.
    public var targetedDirectory: String { absolute(SoundscapeGenerator.targetedFolder) }
    public var fieldTrainDirectory: String { absolute(SoundscapeGenerator.fieldTrainFolder) }
    public var fieldTestDirectory: String { absolute(SoundscapeGenerator.fieldTestFolder) }
    public var targetClasses: [String] { manifest.targetClasses }
    /// The first confusion species' code.
    public var confusionClass: String { manifest.confusionClasses.first ?? "" }
    public var sampleRate: Int { manifest.spec.sampleRate }

    /// Reads `dataset.json` from a previously generated directory.
    public static func read(from directory: String) throws -> GeneratedDataset {
        let path = (directory as NSString).appendingPathComponent(DatasetManifest.fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SynthesisError.invalidManifest(path: path, reason: "cannot read the dataset manifest (was the dataset generated here?)")
        }
        do {
            return GeneratedDataset(root: directory, manifest: try JSONDecoder().decode(DatasetManifest.self, from: data))
        } catch {
            throw SynthesisError.invalidManifest(path: path, reason: "not a dataset manifest: \(error)")
        }
    }
}
