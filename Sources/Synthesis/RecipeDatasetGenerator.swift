import Annotations
import Audio
import ChorusCore
import Foundation

/// Writes a recipe-check dataset (`RecipeDatasetSpec`) over real background recordings, in the demo's
/// layout:
/// - `targeted/<CODE>_<nn>.wav` + Raven table: one species each (targets and look-alikes), close,
///   over a synthetic quiet floor;
/// - `field/train/field_train_<nn>.wav` + table: one per training-pool background, no target calls,
///   look-alike calls in every other one (the overlay pool);
/// - `field/test/field_test_<nn>.wav` + table: test-pool backgrounds (each used once before any is
///   used again) with target and look-alike calls at field levels; the last `testBackgroundOnly`
///   hold no target call;
/// - `dataset.json` (`RecipeDatasetManifest`).
///
/// Every file comes from its own random stream (seed, part, index), so the output is the same for the
/// same spec, seed and backgrounds.
public enum RecipeDatasetGenerator {
    /// One file to make.
    struct Job {
        var part: DatasetPart
        var name: String
        var stream: UInt64
        var species: SpeciesProfile?       // targeted
        var community: [SpeciesProfile]    // field
        var background: String?            // field: file name in the background folder
    }

    /// Generates `spec` into `directory` over the recordings in `backgroundDirectory`. A directory
    /// holding a generated dataset is regenerated in place; any other non-empty directory is refused.
    public static func generate(_ spec: RecipeDatasetSpec, backgrounds backgroundDirectory: String, into directory: String,
                                progress: ((String) -> Void)? = nil) throws -> RecipeDatasetManifest {
        let names = try BackgroundLoader.names(in: backgroundDirectory)
        guard names.count >= 2 else {
            throw SynthesisError.invalidSpec(parameter: "backgrounds", reason: "\(backgroundDirectory) holds \(names.count) recordings; at least 2 are needed")
        }
        let split = BackgroundSplit.split(names, seed: spec.seed, blockSize: spec.backgroundBlockSize, testShare: spec.testBackgroundShare)
        guard !split.training.isEmpty, !split.test.isEmpty else {
            throw SynthesisError.invalidSpec(parameter: "testBackgroundShare", reason: "the split left an empty pool (\(split.training.count) training, \(split.test.count) test)")
        }

        // Load every background once, in parallel.
        var loaded = [Result<(samples: [Float], sha: String), Error>?](repeating: nil, count: names.count)
        let lock = NSLock()
        concurrentPerform(names.count) { i in
            let path = (backgroundDirectory as NSString).appendingPathComponent(names[i])
            let result = Result { () throws -> (samples: [Float], sha: String) in
                (try BackgroundLoader.load(path, sampleRate: spec.sampleRate, gainDecibels: spec.backgroundGain), try SHA256.hex(fileAt: path))
            }
            lock.lock(); loaded[i] = result; lock.unlock()
        }
        var backgrounds: [String: [Float]] = [:], hashes: [String: String] = [:]
        for (name, result) in zip(names, loaded) {
            guard let value = try result?.get() else { continue }
            backgrounds[name] = value.samples
            hashes[name] = value.sha
        }
        let shortest = backgrounds.values.map { Double($0.count) / Double(spec.sampleRate) }.min() ?? 0
        try spec.validate(fieldDuration: shortest)
        try SoundscapeGenerator.prepare(directory)

        let jobs = plan(spec, training: split.training, test: split.test)
        var results = [Result<GeneratedFile, Error>?](repeating: nil, count: jobs.count)
        concurrentPerform(jobs.count) { index in
            let job = jobs[index]
            let result = Result { try write(job, compose(job, spec: spec, background: job.background.flatMap { backgrounds[$0] }),
                                            spec: spec, directory: directory) }
            lock.lock()
            results[index] = result
            if case let .success(file) = result, let progress {
                let calls = file.calls.values.reduce(0, +)
                progress("\(file.audio) (\(String(format: "%.0f", file.duration)) s, \(calls) call\(calls == 1 ? "" : "s")\(file.backgroundRecording.map { " over \($0)" } ?? ""))")
            }
            lock.unlock()
        }
        let files = try results.map { result -> GeneratedFile in
            guard let result else { throw SynthesisError.invalidSpec(parameter: "files", reason: "a file was not generated") }
            return try result.get()
        }
        let used = Set(jobs.compactMap(\.background))
        let manifest = RecipeDatasetManifest(
            format: 1, kind: "recipe", recipe: spec,
            spec: spec.synthesisSpec(fieldDuration: shortest, fieldTrainRecordings: split.training.count),
            targetClasses: spec.targetSpecies.map(\.code), confusionClasses: spec.confusionSpecies.map(\.code),
            clipDuration: spec.clipDuration, sampleRate: spec.sampleRate,
            backgrounds: BackgroundSplit(
                source: (backgroundDirectory as NSString).lastPathComponent,
                rule: "sorted by file name, cut into blocks of \(spec.backgroundBlockSize); in each block a generator seeded by (dataset seed \(spec.seed), block index) draws round(\(spec.testBackgroundShare) x block size) recordings for the test pool, the rest go to the training (overlay) pool",
                training: split.training, test: split.test, sha256: hashes.filter { used.contains($0.key) }),
            folders: ["targeted": SoundscapeGenerator.targetedFolder, "overlays": SoundscapeGenerator.fieldTrainFolder,
                      "test": SoundscapeGenerator.fieldTestFolder],
            files: files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(manifest), to: (directory as NSString).appendingPathComponent(RecipeDatasetManifest.fileName))
        return manifest
    }

    /// Every file to make. Test backgrounds are used in a seeded order, each once before any again.
    static func plan(_ spec: RecipeDatasetSpec, training: [String], test: [String]) -> [Job] {
        var jobs: [Job] = []
        for (s, species) in spec.species.enumerated() {
            for i in 0..<spec.targetedFilesPerSpecies {
                jobs.append(Job(part: .targeted, name: "\(species.code)_\(SoundscapeGenerator.twoDigits(i + 1))",
                                stream: StreamSeed.derive(spec.seed, category: 1 + UInt64(s), index: UInt64(i)),
                                species: species, community: [], background: nil))
            }
        }
        let targets = spec.targetSpecies, confusion = spec.confusionSpecies
        for (i, background) in training.enumerated() {
            jobs.append(Job(part: .fieldTrain, name: "field_train_\(SoundscapeGenerator.twoDigits(i + 1))",
                            stream: StreamSeed.derive(spec.seed, category: 1000, index: UInt64(i)),
                            species: nil, community: i % 2 == 0 ? confusion : [], background: background))
        }
        var planner = SeededRandom(seed: StreamSeed.derive(spec.seed, category: 0, index: 0))
        var order = test
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, planner.integer(below: i + 1)) }
        let withTargets = spec.testRecordings - spec.testBackgroundOnly
        for i in 0..<spec.testRecordings {
            let community = SoundscapeGenerator.fieldTestCommunity(index: i, withTargets: withTargets, targets: targets,
                                                                    confusion: confusion, planner: &planner)
            jobs.append(Job(part: .fieldTest, name: "field_test_\(SoundscapeGenerator.twoDigits(i + 1))",
                            stream: StreamSeed.derive(spec.seed, category: 2000, index: UInt64(i)),
                            species: nil, community: community, background: order[i % order.count]))
        }
        return jobs
    }

    /// The recording of one job: a targeted recording, or the background with any added layers and
    /// field calls laid over it.
    static func compose(_ job: Job, spec: RecipeDatasetSpec, background: [Float]?) -> ComposedRecording {
        var random = SeededRandom(seed: job.stream)
        if let species = job.species {
            return RecordingComposer.targeted(species, spec: spec.synthesisSpec(fieldDuration: 10, fieldTrainRecordings: 0), random: &random)
        }
        var samples = background ?? []
        var added: [BackgroundKind] = []
        for layer in spec.addedLayers where random.chance(layer.chance) {
            var layerRandom = random.split()
            let level = random.uniform(spec.addedLayerLevel)
            RecordingComposer.add(BackgroundSynthesizer.render(layer.kind, count: samples.count, sampleRate: spec.sampleRate, using: &layerRandom),
                                  into: &samples, at: 0, gain: DeterministicMath.amplitude(decibels: level))
            added.append(layer.kind)
        }
        let synthesis = spec.synthesisSpec(fieldDuration: Double(samples.count) / Double(spec.sampleRate), fieldTrainRecordings: 0)
        let annotations = RecordingComposer.placeFieldCalls(job.community, into: &samples, spec: synthesis, random: &random)
        return ComposedRecording(samples: samples, annotations: annotations, backgrounds: added)
    }

    private static func write(_ job: Job, _ recording: ComposedRecording, spec: RecipeDatasetSpec, directory: String) throws -> GeneratedFile {
        let folder: String
        switch job.part {
        case .targeted: folder = SoundscapeGenerator.targetedFolder
        case .fieldTrain: folder = SoundscapeGenerator.fieldTrainFolder
        case .fieldTest: folder = SoundscapeGenerator.fieldTestFolder
        }
        return try SoundscapeGenerator.write(recording, folder: folder, name: job.name, part: job.part, species: job.species?.code,
                                             targetCodes: Set(spec.targetSpecies.map(\.code)), sampleRate: spec.sampleRate,
                                             directory: directory, backgroundRecording: job.background)
    }
}
