import Annotations
import Audio
import ChorusCore
import Foundation
import TestSupport
import XCTest
@testable import Synthesis

final class DatasetGenerationTests: XCTestCase {
    /// A dataset small enough to generate twice in a test.
    private static let tiny = SoundscapeDatasetSpec(seed: 7, targetedFilesPerSpecies: 1, targetedDuration: 8,
                                                    fieldTrainRecordings: 1, fieldTestRecordings: 2,
                                                    fieldTestBackgroundOnly: 1, fieldDuration: 8)

    private func relativeFiles(_ root: String) throws -> [String] {
        try FileSystem.files(under: root, extensions: ["wav", "txt", "json"]).map { String($0.dropFirst(root.count)) }
    }

    func testSameSeedGivesByteIdenticalFilesAndOtherSeedDiffers() throws {
        let first = try QuickDatasetFixture.dataset()
        let second = makeTemporaryDirectory("synthesis-again")
        defer { try? FileManager.default.removeItem(atPath: second) }
        _ = try SoundscapeGenerator.generate(.quick, into: second, progress: nil)
        let names = try relativeFiles(first.root)
        XCTAssertEqual(names, try relativeFiles(second))
        XCTAssertGreaterThan(names.count, 30)
        for name in names {
            let a = try Data(contentsOf: URL(fileURLWithPath: first.root + name))
            let b = try Data(contentsOf: URL(fileURLWithPath: second + name))
            XCTAssertEqual(a, b, "\(name) differs between two runs with the same seed")
        }

        var other = SoundscapeDatasetSpec.quick
        other.seed = 99
        other.targetedFilesPerSpecies = 1
        other.fieldTrainRecordings = 1
        other.fieldTestRecordings = 1
        other.fieldTestBackgroundOnly = 0
        let third = makeTemporaryDirectory("synthesis-other")
        defer { try? FileManager.default.removeItem(atPath: third) }
        let changed = try SoundscapeGenerator.generate(other, into: third, progress: nil)
        let firstByName = Dictionary(uniqueKeysWithValues: (first.targetedAudio + first.fieldTestAudio).map { (($0 as NSString).lastPathComponent, $0) })
        var compared = 0
        for a in changed.targetedAudio + changed.fieldTestAudio {
            guard let b = firstByName[(a as NSString).lastPathComponent] else { continue }
            compared += 1
            XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)),
                              "\(a) is the same with seeds 99 and \(SoundscapeDatasetSpec.quick.seed)")
        }
        XCTAssertEqual(compared, 5)
    }

    func testQuickDatasetLayoutAndTiming() throws {
        let generated = try QuickDatasetFixture.shared.get()
        let dataset = generated.dataset
        let spec = SoundscapeDatasetSpec.quick
        print("quick dataset generated in \(String(format: "%.2f", generated.seconds)) s")
        #if !DEBUG
        XCTAssertLessThan(generated.seconds, 5, "the quick dataset must generate in a few seconds")
        #endif
        XCTAssertEqual(dataset.targetedAudio.count, spec.species.count * spec.targetedFilesPerSpecies)
        XCTAssertEqual(dataset.fieldTrainAudio.count, spec.fieldTrainRecordings)
        XCTAssertEqual(dataset.fieldTestAudio.count, spec.fieldTestRecordings)
        XCTAssertEqual(dataset.targetClasses, ["WHIS", "TRIL", "FROG"])
        XCTAssertEqual(dataset.confusionClass, "MIMI")
        XCTAssertTrue(dataset.targetedAudio.allSatisfy { $0.hasPrefix(dataset.targetedDirectory + "/") })
        XCTAssertTrue(dataset.fieldTestTables.allSatisfy { $0.hasSuffix(".Table.1.selections.txt") && FileSystem.exists($0) })
        for path in dataset.targetedAudio + dataset.fieldTrainAudio + dataset.fieldTestAudio {
            let info = try AudioFile.info(path)
            XCTAssertEqual(info.sampleRate, spec.sampleRate)
            XCTAssertEqual(info.channels, 1)
            XCTAssertEqual(info.format, "WAV PCM_16")
        }
        XCTAssertEqual(try AudioFile.info(dataset.targetedAudio[0]).duration, spec.targetedDuration, accuracy: 1e-3)
        XCTAssertEqual(try AudioFile.info(dataset.fieldTestAudio[0]).duration, spec.fieldDuration, accuracy: 1e-3)
        XCTAssertEqual(try GeneratedDataset.read(from: dataset.root), dataset)
    }

    func testTablesReadBackEqualThePlacedCalls() throws {
        let dataset = try QuickDatasetFixture.dataset()
        let spec = dataset.manifest.spec
        let jobs = SoundscapeGenerator.plan(spec)
        XCTAssertEqual(jobs.count, dataset.manifest.files.count)
        for (job, file) in zip(jobs, dataset.manifest.files) {
            var random = SeededRandom(seed: job.stream)
            let composed: ComposedRecording
            if let species = job.species {
                composed = RecordingComposer.targeted(species, spec: spec, random: &random)
            } else {
                composed = RecordingComposer.field(job.community, spec: spec, random: &random)
            }
            let read = try RavenTable.read((dataset.root as NSString).appendingPathComponent(file.table))
            XCTAssertEqual(read.count, composed.annotations.count, file.table)
            for (r, c) in zip(read, composed.annotations) {
                XCTAssertEqual(r.start, c.start, file.table)
                XCTAssertEqual(r.end, c.end, file.table)
                XCTAssertEqual(r.lowFrequency, c.lowFrequency, file.table)
                XCTAssertEqual(r.highFrequency, c.highFrequency, file.table)
                XCTAssertEqual(r.label, c.label, file.table)
            }
            XCTAssertEqual(file.calls.values.reduce(0, +), read.count)
            // And the audio is the composed recording, to 16-bit resolution.
            var samples = composed.samples
            SoundscapeGenerator.quantizeForPCM16(&samples)
            let audio = try AudioFile.read((dataset.root as NSString).appendingPathComponent(file.audio))
            XCTAssertEqual(audio.samples, samples, file.audio)
        }
    }

    func testTargetedFilesHoldOneSpeciesAndEnoughCalls() throws {
        let dataset = try QuickDatasetFixture.dataset()
        for file in dataset.manifest.files where file.part == .targeted {
            let table = try RavenTable.read((dataset.root as NSString).appendingPathComponent(file.table))
            XCTAssertEqual(Set(table.map(\.label)), [file.species ?? "?"], file.table)
            XCTAssertGreaterThanOrEqual(table.count, 4, "\(file.table): too few calls for a 15 s targeted recording")
            for a in table {
                XCTAssertGreaterThanOrEqual(a.start, 0)
                XCTAssertLessThanOrEqual(a.end, file.duration)
                XCTAssertLessThan(a.start, a.end)
            }
            for (a, b) in zip(table, table.dropFirst()) { XCTAssertLessThan(a.end, b.start, "\(file.table): targeted calls overlap") }
        }
    }

    func testBackgroundOnlyFieldFilesHoldNoTargetCallsAndConfusionCallsAppearInTheField() throws {
        let dataset = try QuickDatasetFixture.dataset()
        let targets = Set(dataset.targetClasses)
        var confusionInField = 0, testLabels = Set<String>()
        for file in dataset.manifest.files where file.part != .targeted {
            let labels = try RavenTable.read((dataset.root as NSString).appendingPathComponent(file.table)).map(\.label)
            XCTAssertEqual(file.containsTargetCalls, labels.contains { targets.contains($0) }, file.table)
            if file.part == .fieldTrain { XCTAssertFalse(file.containsTargetCalls, "\(file.table): overlay pool file has target calls") }
            confusionInField += labels.filter { $0 == dataset.confusionClass }.count
            if file.part == .fieldTest { testLabels.formUnion(labels) }
            XCTAssertGreaterThanOrEqual(file.backgrounds.count, 3, "\(file.audio): field recordings have at least two backgrounds plus hiss")
        }
        XCTAssertGreaterThan(confusionInField, 0, "no confusion calls in field recordings")
        XCTAssertTrue(targets.isSubset(of: testLabels), "field test set lacks some target: \(testLabels)")
        let backgroundOnlyTests = dataset.manifest.files.filter { $0.part == .fieldTest && !$0.containsTargetCalls }
        XCTAssertEqual(backgroundOnlyTests.count, dataset.manifest.spec.fieldTestBackgroundOnly)
    }

    func testDirectoryRules() throws {
        let directory = makeTemporaryDirectory("synthesis-dirs")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try AtomicFile.write("mine", to: directory + "/notes.txt")
        XCTAssertThrowsError(try SoundscapeGenerator.generate(Self.tiny, into: directory, progress: nil)) { error in
            XCTAssertEqual(error as? SynthesisError, .directoryNotEmpty(path: directory))
        }
        try FileManager.default.removeItem(atPath: directory + "/notes.txt")
        var messages: [String] = []
        let first = try SoundscapeGenerator.generate(Self.tiny, into: directory) { messages.append($0) }
        XCTAssertEqual(messages.count, first.manifest.files.count)
        XCTAssertTrue(messages.contains { $0.hasPrefix("targeted/WHIS_01.wav") })
        // A generated dataset may be regenerated in place; stale files of a larger spec go.
        var smaller = Self.tiny
        smaller.fieldTestRecordings = 1
        smaller.fieldTestBackgroundOnly = 0
        let second = try SoundscapeGenerator.generate(smaller, into: directory, progress: nil)
        XCTAssertFalse(FileSystem.exists(directory + "/field/test/field_test_02.wav"))
        XCTAssertEqual(second.fieldTestAudio.count, 1)
        XCTAssertThrowsError(try GeneratedDataset.read(from: directory + "/targeted")) { error in
            XCTAssertTrue("\(error)".contains("dataset.json"), "\(error)")
        }
    }

    func testInvalidSpecsAreRejectedWithTheParameterNamed() {
        func reason(_ change: (inout SoundscapeDatasetSpec) -> Void) -> String {
            var spec = Self.tiny
            change(&spec)
            do { try spec.validate(); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertEqual(reason { _ in }, "accepted")
        XCTAssertTrue(reason { $0.sampleRate = 12000 }.contains("species TRIL: band top 7000.0 Hz is above"))
        XCTAssertTrue(reason { $0.species = [.mimicWhistler] }.contains("no target species"))
        XCTAssertTrue(reason { $0.species.append(.pulseFrog) }.contains("species FROG: code is used twice"))
        XCTAssertTrue(reason { $0.species[2].pulseRate = nil }.contains("pulseRate"))
        XCTAssertTrue(reason { $0.fieldDuration = .nan }.contains("fieldDuration"))
        XCTAssertTrue(reason { $0.fieldTestBackgroundOnly = 5 }.contains("fieldTestBackgroundOnly"))
        XCTAssertTrue(reason { $0.fieldCallLevel = -20 ... 6 }.contains("fieldCallLevel"))
        XCTAssertTrue(reason { $0.species[0].code = "A\tB" }.contains("code must be"))
        XCTAssertThrowsError(try SoundscapeGenerator.generate(SoundscapeDatasetSpec(sampleRate: 100), into: "/nonexistent/x", progress: nil))
    }

    func testSpecRoundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(SoundscapeDatasetSpec.standard)
        XCTAssertEqual(try JSONDecoder().decode(SoundscapeDatasetSpec.self, from: data), .standard)
    }
}
