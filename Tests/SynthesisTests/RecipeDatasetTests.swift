import Annotations
import Audio
import ChorusCore
import Foundation
import TestSupport
import XCTest
@testable import Synthesis

final class RecipeDatasetTests: XCTestCase {
    /// The real backgrounds (skips without ../shared unless CI is set).
    private func backgroundFolder() throws -> String {
        let path = try SharedData.path("audio/soundscape-24h")
        guard FileSystem.isDirectory(path) else {
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("\(path) is missing under CI") }
            throw XCTSkip("\(path) not found")
        }
        return path
    }

    /// R1, made small: one targeted file per species and 6 test recordings over a copy of 8 backgrounds
    /// (two blocks of four: four test and four training backgrounds).
    private func smallR1() -> RecipeDatasetSpec {
        var spec = RecipeDatasetSpec.r1
        spec.targetedFilesPerSpecies = 1
        spec.targetedDuration = 10
        spec.testRecordings = 6
        spec.testBackgroundOnly = 2
        spec.addedLayers = [.init(kind: .rain, chance: 0.5)]   // exercise the added layers too
        return spec
    }

    private func copyBackgrounds(_ count: Int) throws -> String {
        let source = try backgroundFolder()
        let names = try BackgroundLoader.names(in: source)
        XCTAssertEqual(names.count, 48)
        let folder = makeTemporaryDirectory("recipe-backgrounds")
        // Every sixth recording: a spread over the day.
        for name in stride(from: 0, to: names.count, by: names.count / count).prefix(count).map({ names[$0] }) {
            try FileManager.default.copyItem(atPath: (source as NSString).appendingPathComponent(name),
                                             toPath: (folder as NSString).appendingPathComponent(name))
        }
        return folder
    }

    private func relativeFiles(_ root: String) throws -> [String] {
        try FileSystem.files(under: root, extensions: ["wav", "txt", "json"]).map { String($0.dropFirst(root.count)) }
    }

    func testBackgroundSplitIsSeededStratifiedAndDisjoint() throws {
        var rng = TestRNG(seed: 42)
        let names = (0..<48).map { String(format: "REC_%02d%02d00.wav", 2 * ($0 / 4), 15 * ($0 % 4)) }.shuffled(using: &rng)
        let split = BackgroundSplit.split(names, seed: 101, blockSize: 4, testShare: 0.5)
        XCTAssertEqual(split.training.count, 24)
        XCTAssertEqual(split.test.count, 24)
        XCTAssertTrue(Set(split.training).isDisjoint(with: split.test))
        XCTAssertEqual(Set(split.training + split.test), Set(names))
        let sorted = names.sorted()
        for block in stride(from: 0, to: 48, by: 4) {
            XCTAssertEqual(sorted[block..<(block + 4)].filter(split.test.contains).count, 2, "block \(block / 4): two of four go to test")
        }
        let again = BackgroundSplit.split(names.reversed(), seed: 101, blockSize: 4, testShare: 0.5)
        XCTAssertEqual(again.training, split.training, "the split depends on the names and seed, not their order")
        XCTAssertEqual(again.test, split.test)
        let other = BackgroundSplit.split(names, seed: 202, blockSize: 4, testShare: 0.5)
        XCTAssertNotEqual(other.test, split.test)
        // Other shares and a short last block.
        let third = BackgroundSplit.split(Array(sorted.prefix(10)), seed: 1, blockSize: 4, testShare: 0.25)
        XCTAssertEqual(third.test.count, 1 + 1 + 1)   // round(0.25 x 4) twice, round(0.25 x 2) = 1 (rounds half away from zero)
    }

    func testSpecsAreValidAndUseNewSpecies() throws {
        let demoCodes = Set(SpeciesProfile.standard.map(\.code))
        XCTAssertEqual(RecipeDatasetSpec.all.map(\.name), ["R1", "R2", "R3"])
        XCTAssertEqual(Set(RecipeDatasetSpec.all.map(\.seed)).count, 3, "each dataset has its own seed")
        for spec in RecipeDatasetSpec.all {
            XCTAssertNoThrow(try spec.validate(fieldDuration: 10), spec.name)
            XCTAssertFalse(spec.targetSpecies.isEmpty, spec.name)
            XCTAssertFalse(spec.confusionSpecies.isEmpty, "\(spec.name) has a look-alike species")
            XCTAssertTrue(Set(spec.species.map(\.code)).isDisjoint(with: demoCodes), "\(spec.name) reuses a demo species")
            // Every look-alike shares a band with some target.
            for c in spec.confusionSpecies {
                XCTAssertTrue(spec.targetSpecies.contains { $0.lowFrequency < c.highFrequency && c.lowFrequency < $0.highFrequency }, "\(spec.name): \(c.code)")
            }
            let clips = Double(spec.species.count * spec.targetedFilesPerSpecies) * (spec.targetedDuration / spec.clipDuration).rounded(.down)
            XCTAssertEqual(clips, 360, accuracy: 40, "\(spec.name): about 360 targeted clips")
        }
        XCTAssertEqual(RecipeDatasetSpec.r2.sampleRate, 32000)
        XCTAssertEqual(RecipeDatasetSpec.r2.clipDuration, 3)
        XCTAssertEqual(RecipeDatasetSpec.named("r3"), .r3)
        var bad = RecipeDatasetSpec.r1
        bad.testBackgroundShare = 1
        XCTAssertThrowsError(try bad.validate(fieldDuration: 10))
        bad = .r1
        bad.species[0].noteCount = 0...2
        XCTAssertThrowsError(try bad.validate(fieldDuration: 10)) { XCTAssertTrue("\($0)".contains("noteCount"), "\($0)") }
    }

    /// Same spec and backgrounds, byte-identical files; tables and audio are exactly the composed
    /// recordings; test backgrounds never appear under overlay recordings.
    func testGenerationIsDeterministicDisjointAndTablesMatchTheCalls() throws {
        let backgrounds = try copyBackgrounds(8)
        defer { try? FileManager.default.removeItem(atPath: backgrounds) }
        let spec = smallR1()
        let first = makeTemporaryDirectory("recipe-a"), second = makeTemporaryDirectory("recipe-b")
        defer { try? FileManager.default.removeItem(atPath: first); try? FileManager.default.removeItem(atPath: second) }
        let start = Date()
        let manifest = try RecipeDatasetGenerator.generate(spec, backgrounds: backgrounds, into: first)
        print("small R1 generated in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        _ = try RecipeDatasetGenerator.generate(spec, backgrounds: backgrounds, into: second)
        let names = try relativeFiles(first)
        XCTAssertEqual(names, try relativeFiles(second))
        XCTAssertEqual(names.count, 2 * (4 + 4 + 6) + 1)
        for name in names {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: first + name)), try Data(contentsOf: URL(fileURLWithPath: second + name)),
                           "\(name) differs between two runs")
        }

        // The manifest: pools disjoint, each file over a background of its own pool.
        XCTAssertEqual(try RecipeDatasetManifest.read(from: first), manifest)
        XCTAssertEqual(try GeneratedDataset.read(from: first).targetClasses, ["FEBE", "HONK", "TINK"], "dataset.json reads as a demo manifest too")
        let split = manifest.backgrounds
        XCTAssertEqual(split.training.count, 4)
        XCTAssertEqual(split.test.count, 4)
        XCTAssertTrue(Set(split.training).isDisjoint(with: split.test))
        XCTAssertEqual(Set(split.sha256.keys), Set(split.training + split.test))
        XCTAssertEqual(manifest.clipDuration, 2)
        XCTAssertEqual(manifest.sampleRate, 22050)
        XCTAssertEqual(manifest.confusionClasses, ["SLUR"])
        let trainingBackgrounds = manifest.files.filter { $0.part == .fieldTrain }.compactMap(\.backgroundRecording)
        let testBackgrounds = manifest.files.filter { $0.part == .fieldTest }.compactMap(\.backgroundRecording)
        XCTAssertEqual(trainingBackgrounds, split.training, "one overlay recording per training background")
        XCTAssertEqual(testBackgrounds.count, 6)
        XCTAssertEqual(Set(testBackgrounds), Set(split.test), "every test background is used")
        XCTAssertTrue(Set(testBackgrounds).isDisjoint(with: trainingBackgrounds))
        XCTAssertTrue(manifest.files.filter { $0.part == .targeted }.allSatisfy { $0.backgroundRecording == nil })

        // Tables and audio are the composed recordings (re-made here from the plan).
        let rate = spec.sampleRate
        var loaded: [String: [Float]] = [:]
        for name in split.training + split.test {
            loaded[name] = try BackgroundLoader.load((backgrounds as NSString).appendingPathComponent(name), sampleRate: rate, gainDecibels: 0)
        }
        let jobs = RecipeDatasetGenerator.plan(spec, training: split.training, test: split.test)
        XCTAssertEqual(jobs.count, manifest.files.count)
        let targets = Set(manifest.targetClasses)
        var testLabels = Set<String>(), overlayLabels = Set<String>()
        for (job, file) in zip(jobs, manifest.files) {
            XCTAssertEqual(job.background, file.backgroundRecording)
            let composed = RecipeDatasetGenerator.compose(job, spec: spec, background: job.background.flatMap { loaded[$0] })
            let table = try RavenTable.read((first as NSString).appendingPathComponent(file.table))
            XCTAssertEqual(table.count, composed.annotations.count, file.table)
            for (r, c) in zip(table, composed.annotations) {
                XCTAssertEqual(r.start, c.start, file.table)
                XCTAssertEqual(r.end, c.end, file.table)
                XCTAssertEqual(r.lowFrequency, c.lowFrequency, file.table)
                XCTAssertEqual(r.highFrequency, c.highFrequency, file.table)
                XCTAssertEqual(r.label, c.label, file.table)
                XCTAssertLessThanOrEqual(r.end, file.duration, file.table)
            }
            XCTAssertEqual(file.calls.values.reduce(0, +), table.count)
            var samples = composed.samples
            SoundscapeGenerator.quantizeForPCM16(&samples)
            let audio = try AudioFile.read((first as NSString).appendingPathComponent(file.audio))
            XCTAssertEqual(audio.sampleRate, rate)
            XCTAssertEqual(audio.samples, samples, file.audio)
            switch file.part {
            case .targeted: XCTAssertEqual(Set(table.map(\.label)), [file.species ?? "?"])
            case .fieldTrain: overlayLabels.formUnion(table.map(\.label))
            case .fieldTest: testLabels.formUnion(table.map(\.label))
            }
            XCTAssertEqual(file.containsTargetCalls, table.contains { targets.contains($0.label) }, file.table)
            if job.background != nil {
                XCTAssertEqual(file.duration, 10, accuracy: 1e-3, "field recordings last as long as their backgrounds")
            }
        }
        XCTAssertTrue(overlayLabels.isSubset(of: ["SLUR"]), "overlay recordings hold no target call: \(overlayLabels)")
        XCTAssertTrue(overlayLabels.contains("SLUR"), "some overlay recordings hold look-alike calls")
        XCTAssertFalse(testLabels.intersection(targets).isEmpty, "test recordings hold target calls")
        XCTAssertEqual(manifest.files.suffix(2).filter(\.containsTargetCalls).count, 0, "the last testBackgroundOnly recordings hold no target call")

        // Another seed changes the calls and the split.
        var other = spec
        other.seed = 7
        let third = makeTemporaryDirectory("recipe-c")
        defer { try? FileManager.default.removeItem(atPath: third) }
        let changed = try RecipeDatasetGenerator.generate(other, backgrounds: backgrounds, into: third)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: third + "/targeted/FEBE_01.wav")),
                          try Data(contentsOf: URL(fileURLWithPath: first + "/targeted/FEBE_01.wav")))
        XCTAssertEqual(Set(changed.backgrounds.test).union(changed.backgrounds.training), Set(split.test).union(split.training))
    }

    /// The background loader removes the recorder's DC offset and resamples to the dataset's rate.
    func testBackgroundsLoseTheirOffsetAndTakeTheDatasetRate() throws {
        let folder = try backgroundFolder()
        let path = (folder as NSString).appendingPathComponent(try BackgroundLoader.names(in: folder)[0])
        let raw = try AudioFile.read(path)
        let rawMean = raw.samples.reduce(0.0) { $0 + Double($1) } / Double(raw.samples.count)
        for rate in [22050, 32000] {
            let samples = try BackgroundLoader.load(path, sampleRate: rate, gainDecibels: 0)
            XCTAssertEqual(Double(samples.count), 10.0 * Double(rate), accuracy: 2)
            let mean = samples.reduce(0.0) { $0 + Double($1) } / Double(samples.count)
            XCTAssertLessThan(abs(mean), abs(rawMean) / 100 + 1e-6, "offset \(rawMean) left at \(mean)")
        }
        let louder = try BackgroundLoader.load(path, sampleRate: 22050, gainDecibels: 20)
        let plain = try BackgroundLoader.load(path, sampleRate: 22050, gainDecibels: 0)
        XCTAssertEqual(Double(louder[1000] / plain[1000]), 10, accuracy: 1e-3)
    }
}
