import Foundation

/// `dataset.json` of a recipe-check dataset. It holds `DatasetManifest`'s keys too (format, spec,
/// targetClasses, confusionClasses, files), so `GeneratedDataset.read` reads it as well.
public struct RecipeDatasetManifest: Codable, Sendable, Equatable {
    public var format: Int
    /// Always "recipe".
    public var kind: String
    public var recipe: RecipeDatasetSpec
    /// The synthesis spec the composer used (field duration = the backgrounds' length).
    public var spec: SoundscapeDatasetSpec
    public var targetClasses: [String]
    public var confusionClasses: [String]
    /// The clip length to label, train and test with, in seconds.
    public var clipDuration: Double
    /// The rate every recording is written at, in Hz.
    public var sampleRate: Int
    /// Which real recordings went to the training (overlay) pool and which to the test pool.
    public var backgrounds: BackgroundSplit
    /// Folders of each part, relative to the dataset directory.
    public var folders: [String: String]
    public var files: [GeneratedFile]

    public static let fileName = DatasetManifest.fileName

    /// Reads `dataset.json` from a generated recipe dataset.
    public static func read(from directory: String) throws -> RecipeDatasetManifest {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SynthesisError.invalidManifest(path: path, reason: "cannot read the dataset manifest (was a recipe dataset generated here?)")
        }
        do {
            return try JSONDecoder().decode(RecipeDatasetManifest.self, from: data)
        } catch {
            throw SynthesisError.invalidManifest(path: path, reason: "not a recipe dataset manifest: \(error)")
        }
    }
}
