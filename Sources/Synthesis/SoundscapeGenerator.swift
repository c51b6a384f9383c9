import Annotations
import Audio
import ChorusCore
import Foundation

/// Writes a synthetic soundscape dataset: WAV recordings and Raven selection tables, laid out as a
/// user's own data would be, plus `dataset.json`.
///
/// Layout under the directory:
/// - `targeted/<CODE>_<nn>.wav` + `targeted/<CODE>_<nn>.Table.1.selections.txt`
/// - `field/train/field_train_<nn>.wav` + table (no target calls: the overlay pool)
/// - `field/test/field_test_<nn>.wav` + table (the last `fieldTestBackgroundOnly` hold no target calls)
/// - `dataset.json`
///
/// Each file is made from its own random stream (seed, part, index), so files are generated in
/// parallel and the output is byte-identical for the same spec on every machine.
public enum SoundscapeGenerator {
    static let targetedFolder = "targeted"
    static let fieldTrainFolder = "field/train"
    static let fieldTestFolder = "field/test"
    static let tableSuffix = ".Table.1.selections.txt"

    /// What to render for one file.
    struct Job {
        var part: DatasetPart
        var name: String
        var stream: UInt64
        var species: SpeciesProfile?       // targeted
        var community: [SpeciesProfile]    // field
    }

    /// Generates `spec` into `directory` (created if needed). A directory that already holds a
    /// generated dataset (`dataset.json`) has its `targeted/` and `field/` folders replaced; any
    /// other non-empty directory is refused.
    ///
    /// - Parameter progress: called once per written file (from worker threads, one call at a time).
    public static func generate(_ spec: SoundscapeDatasetSpec, into directory: String,
                                progress: ((String) -> Void)? = nil) throws -> GeneratedDataset {
        try spec.validate()
        try prepare(directory)
        let jobs = plan(spec)
        var results = [Result<GeneratedFile, Error>?](repeating: nil, count: jobs.count)
        let lock = NSLock()
        concurrentPerform(jobs.count) { index in
            let result = Result { try render(jobs[index], spec: spec, directory: directory) }
            lock.lock()
            results[index] = result
            if case let .success(file) = result, let progress {
                let calls = file.calls.values.reduce(0, +)
                progress("\(file.audio) (\(String(format: "%.0f", file.duration)) s, \(calls) call\(calls == 1 ? "" : "s"))")
            }
            lock.unlock()
        }
        let files = try results.map { result -> GeneratedFile in
            guard let result else { throw SynthesisError.invalidSpec(parameter: "files", reason: "a file was not generated") }
            return try result.get()
        }
        let manifest = DatasetManifest(format: 1, spec: spec, targetClasses: spec.targetSpecies.map(\.code),
                                       confusionClasses: spec.confusionSpecies.map(\.code), files: files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(manifest), to: (directory as NSString).appendingPathComponent(DatasetManifest.fileName))
        return GeneratedDataset(root: directory, manifest: manifest)
    }

    static func prepare(_ directory: String) throws {
        let manager = FileManager.default
        if FileSystem.exists(directory) {
            guard FileSystem.isDirectory(directory) else {
                throw ChorusFileError.cannotWrite(path: directory, reason: "exists and is not a directory")
            }
            let contents = (try? manager.contentsOfDirectory(atPath: directory)) ?? []
            if contents.contains(DatasetManifest.fileName) {
                for folder in [targetedFolder, "field"] {
                    let path = (directory as NSString).appendingPathComponent(folder)
                    if FileSystem.exists(path) { try manager.removeItem(atPath: path) }
                }
            } else if !contents.isEmpty {
                throw SynthesisError.directoryNotEmpty(path: directory)
            }
        }
        for folder in [targetedFolder, fieldTrainFolder, fieldTestFolder] {
            let path = (directory as NSString).appendingPathComponent(folder)
            do {
                try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw ChorusFileError.cannotWrite(path: path, reason: "cannot create directory: \(error.localizedDescription)")
            }
        }
    }

    /// Every file to make, with field communities drawn from a planning stream.
    static func plan(_ spec: SoundscapeDatasetSpec) -> [Job] {
        var jobs: [Job] = []
        for (s, species) in spec.species.enumerated() {
            for i in 0..<spec.targetedFilesPerSpecies {
                jobs.append(Job(part: .targeted, name: "\(species.code)_\(twoDigits(i + 1))",
                                stream: StreamSeed.derive(spec.seed, category: 1 + UInt64(s), index: UInt64(i)),
                                species: species, community: []))
            }
        }
        var planner = SeededRandom(seed: StreamSeed.derive(spec.seed, category: 0, index: 0))
        let targets = spec.targetSpecies, confusion = spec.confusionSpecies
        for i in 0..<spec.fieldTrainRecordings {
            // Every other overlay recording holds confusion calls: realistic negatives.
            let community = i % 2 == 0 ? confusion : []
            jobs.append(Job(part: .fieldTrain, name: "field_train_\(twoDigits(i + 1))",
                            stream: StreamSeed.derive(spec.seed, category: 1000, index: UInt64(i)), species: nil, community: community))
        }
        let withTargets = spec.fieldTestRecordings - spec.fieldTestBackgroundOnly
        for i in 0..<spec.fieldTestRecordings {
            let community = fieldTestCommunity(index: i, withTargets: withTargets, targets: targets, confusion: confusion, planner: &planner)
            jobs.append(Job(part: .fieldTest, name: "field_test_\(twoDigits(i + 1))",
                            stream: StreamSeed.derive(spec.seed, category: 2000, index: UInt64(i)), species: nil, community: community))
        }
        return jobs
    }

    /// The species singing in field test recording `i`: in the first `withTargets` recordings each
    /// target in turn is sure to sing, the others join with chance 0.4 and the confusion species with
    /// chance 0.6; of the rest (no target calls), every other one holds confusion calls.
    static func fieldTestCommunity(index i: Int, withTargets: Int, targets: [SpeciesProfile], confusion: [SpeciesProfile],
                                   planner: inout SeededRandom) -> [SpeciesProfile] {
        var community: [SpeciesProfile] = []
        if i < withTargets {
            for (t, target) in targets.enumerated() where t == i % targets.count || planner.chance(0.4) {
                community.append(target)
            }
            if planner.chance(0.6) { community += confusion }
        } else if i % 2 == 0 {
            community = confusion
        }
        return community
    }

    private static func render(_ job: Job, spec: SoundscapeDatasetSpec, directory: String) throws -> GeneratedFile {
        var random = SeededRandom(seed: job.stream)
        let recording: ComposedRecording
        let folder: String
        switch (job.part, job.species) {
        case let (.targeted, species?):
            recording = RecordingComposer.targeted(species, spec: spec, random: &random)
            folder = targetedFolder
        default:
            recording = RecordingComposer.field(job.community, spec: spec, random: &random)
            folder = job.part == .fieldTrain ? fieldTrainFolder : fieldTestFolder
        }
        return try write(recording, folder: folder, name: job.name, part: job.part, species: job.species?.code,
                         targetCodes: Set(spec.targetSpecies.map(\.code)), sampleRate: spec.sampleRate, directory: directory)
    }

    /// Writes a composed recording (16-bit WAV) and its Raven table into `folder` of `directory`
    /// and describes them; shared by the demo's and the recipe check's generators.
    static func write(_ recording: ComposedRecording, folder: String, name: String, part: DatasetPart, species: String?,
                      targetCodes: Set<String>, sampleRate: Int, directory: String, backgroundRecording: String? = nil) throws -> GeneratedFile {
        let audioPath = folder + "/" + name + ".wav"
        let tablePath = folder + "/" + name + tableSuffix
        var samples = recording.samples
        quantizeForPCM16(&samples)
        try AudioFile.write(AudioSamples(samples: samples, sampleRate: sampleRate),
                            to: (directory as NSString).appendingPathComponent(audioPath), encoding: .pcm16)
        try RavenTable.write(recording.annotations, to: (directory as NSString).appendingPathComponent(tablePath))
        var calls: [String: Int] = [:]
        for a in recording.annotations { calls[a.label, default: 0] += 1 }
        var file = GeneratedFile(part: part, audio: audioPath, table: tablePath, species: species,
                                 duration: Double(samples.count) / Double(sampleRate), calls: calls,
                                 backgrounds: recording.backgrounds,
                                 containsTargetCalls: recording.annotations.contains { targetCodes.contains($0.label) })
        file.backgroundRecording = backgroundRecording
        return file
    }

    /// Scales the recording down if it would clip, then rounds every sample to a multiple of 1/32768,
    /// so the 16-bit file holds exactly these values whatever the WAV writer's rounding.
    static func quantizeForPCM16(_ samples: inout [Float]) {
        var peak: Float = 0
        for v in samples { peak = max(peak, abs(v)) }
        let scale: Float = peak > 0.95 ? 0.95 / peak : 1
        for i in samples.indices {
            let q = (samples[i] * scale * 32768).rounded()
            samples[i] = min(32767, max(-32768, q)) / 32768
        }
    }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
