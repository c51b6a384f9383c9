import Annotations
import Audio
import ChorusCore
import Foundation
import Model
@testable import Pipeline
import Tensor
import TestSupport
import XCTest

/// A small dataset built from the real recordings: Great Plains toad calls mixed into forest
/// soundscape clips are positives ("toad"); soundscape clips alone are negatives.
enum ToadDataset {
    static func make(in dir: String, clips: Int = 24) throws -> (train: String, validation: String, overlays: String) {
        let sr = 16000
        let field = try AudioFile.read(SharedData.path("audio/1min.wav"), sampleRate: sr).samples
        let toad = try AudioFile.read(SharedData.path("audio/great_plains_toad.wav"), sampleRate: sr).samples
        var rows: [ClipLabelRow] = []
        let n = 2 * sr
        for i in 0..<clips {
            let start = (i * 7919 * 3) % (field.count - n)
            var x = Array(field[start..<(start + n)])
            let positive = i % 2 == 0
            if positive {
                let t0 = (i * 104_729) % (toad.count - n)
                for j in 0..<n { x[j] += 0.8 * toad[t0 + j] }
            }
            let path = "\(dir)/clip_\(i).wav"
            try AudioFile.write(AudioSamples(samples: x, sampleRate: sr), to: path)
            rows.append(ClipLabelRow(file: path, start: 0, end: 2, labels: [positive ? 1 : 0]))
        }
        let cut = clips * 2 / 3
        try ClipLabelTable(classes: ["toad"], rows: Array(rows[..<cut])).write(to: dir + "/train.csv")
        try ClipLabelTable(classes: ["toad"], rows: Array(rows[cut...])).write(to: dir + "/validation.csv")
        // Overlays: plain field clips (no toad).
        var overlayRows: [ClipLabelRow] = []
        for i in 0..<4 {
            let path = "\(dir)/field_\(i).wav"
            try AudioFile.write(AudioSamples(samples: Array(field[(i * n)..<((i + 1) * n)]), sampleRate: sr), to: path)
            overlayRows.append(ClipLabelRow(file: path, start: 0, end: 2, labels: [0]))
        }
        try ClipLabelTable(classes: ["toad"], rows: overlayRows).write(to: dir + "/overlays.csv")
        return (dir + "/train.csv", dir + "/validation.csv", dir + "/overlays.csv")
    }

    static func configuration(device: String, epochs: Int = 4) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.architecture = .small
        c.epochs = epochs
        c.batchSize = 8
        c.seed = 42
        c.workers = 2
        c.device = device
        c.preprocessing.sampleRate = 16000
        c.preprocessing.clipDuration = 2
        c.preprocessing.image.height = 64
        c.preprocessing.image.width = 64
        c.preprocessing.image.minFrequency = 500
        c.preprocessing.image.maxFrequency = 4000
        return c
    }
}

final class TrainingTests: XCTestCase {
    static let openclAvailable: Bool = (try? Device.select("opencl")) != nil

    func trainer(_ data: (train: String, validation: String, overlays: String), _ config: TrainingConfiguration, run: String, overlays: Bool = true) throws -> Trainer {
        let device = try Device.select(config.device)
        let folder = RunFolder(path: run)
        try folder.recordTables(train: data.train, validation: data.validation, overlays: overlays ? data.overlays : nil)
        let t = try Trainer(configuration: config, trainTable: ClipLabelTable.read(data.train, checkFilesExist: false), validationTable: ClipLabelTable.read(data.validation, checkFilesExist: false),
                            overlayTable: overlays ? ClipLabelTable.read(data.overlays) : nil, device: device, run: folder)
        t.showProgress = false
        t.log = { _ in }
        return t
    }

    /// A few epochs of the small CNN learn the toad class, on the CPU fallback and on POCL, with the same loss curve.
    func testSmallCNNLearnsToadOnBothDevicesWithSameLossCurve() throws {
        let dir = makeTemporaryDirectory("toad")
        let data = try ToadDataset.make(in: dir)
        var curves: [[Double]] = []
        var devices = ["cpu"]
        if TrainingTests.openclAvailable { devices.append("opencl") } else if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("CI needs POCL") }
        for d in devices {
            let summary = try trainer(data, ToadDataset.configuration(device: d, epochs: 6), run: dir + "/run-\(d)").fit()
            let best = try XCTUnwrap(summary.bestValidationMAP)
            print("toad validation mAP on \(d): \(best) (per epoch: \(summary.epochs.map { $0.validationMAP ?? -1 }))")
            XCTAssertGreaterThanOrEqual(best, 0.9, "validation mAP on \(d)")
            curves.append(summary.epochs.map(\.trainLoss))
            XCTAssertTrue(FileSystem.exists(dir + "/run-\(d)/best.model"))
            let metrics = try String(contentsOfFile: dir + "/run-\(d)/metrics.csv", encoding: .utf8)
            XCTAssertEqual(metrics.split(separator: "\n").count, 7)
        }
        if curves.count == 2 {
            for (a, b) in zip(curves[0], curves[1]) { XCTAssertEqual(a, b, accuracy: 1e-3, "loss curves cpu \(curves[0]) vs opencl \(curves[1])") }
        }
    }

    /// Training steps read nothing back from the OpenCL device: the loss is summed there and read
    /// (with its NaN check) once every `Trainer.lossReadInterval` steps and at the epoch's end.
    func testTrainingStepsReadTheLossOnlyEveryFewSteps() throws {
        guard TrainingTests.openclAvailable else {
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("CI needs POCL") }
            throw XCTSkip("no OpenCL device")
        }
        let dir = makeTemporaryDirectory("reads")
        let data = try ToadDataset.make(in: dir, clips: 60)
        var config = ToadDataset.configuration(device: "opencl", epochs: 1)
        config.batchSize = 2
        let summary = try trainer(data, config, run: dir + "/run", overlays: false).fit()
        let steps = try XCTUnwrap(summary.epochs.first?.steps), reads = try XCTUnwrap(summary.epochs.first?.deviceReads)
        XCTAssertGreaterThan(steps, Trainer.lossReadInterval)
        XCTAssertEqual(reads, (steps + Trainer.lossReadInterval - 1) / Trainer.lossReadInterval, "\(reads) reads in \(steps) steps")
        XCTAssertTrue(summary.epochs[0].trainLoss.isFinite && summary.epochs[0].trainLoss > 0)
    }

    /// Killing a run mid-epoch and resuming gives the same final weights as an uninterrupted run.
    func testResumeAfterKillMatchesUninterruptedRun() throws {
        let dir = makeTemporaryDirectory("resume")
        let data = try ToadDataset.make(in: dir, clips: 18)
        let config = ToadDataset.configuration(device: "cpu", epochs: 3)
        let full = try trainer(data, config, run: dir + "/full")
        try full.fit()
        let killed = try trainer(data, config, run: dir + "/killed")
        killed.onEpoch = { m in if m.epoch == 1 { killed.stopAfterBatches = 1 } }  // die during epoch 2
        XCTAssertThrowsError(try killed.fit())
        let ck = try SafeTensorsFile.read(dir + "/killed/checkpoint.safetensors")
        XCTAssertEqual(ck.metadata["completed_epochs"], "1")
        let resumed = try trainer(data, config, run: dir + "/killed")
        try resumed.fit(resume: true)
        let a = try ClassifierModel.load(dir + "/full/last.model", device: .cpu), b = try ClassifierModel.load(dir + "/killed/last.model", device: .cpu)
        for (p, q) in zip(a.network.namedTensors, b.network.namedTensors) {
            XCTAssertEqual(try p.value.toArray(), try q.value.toArray(), "\(p.name) differs after resume")
        }
        let log = try String(contentsOfFile: dir + "/killed/README.txt", encoding: .utf8)
        XCTAssertTrue(log.contains("resumed after epoch 1"), log)
    }

    /// Missing and corrupt audio rows are skipped once, logged with their path, and counted;
    /// more than 10% failing stops the run with a clear message.
    func testBadRowsAreSkippedAndTooManyStopTheRun() throws {
        let dir = makeTemporaryDirectory("bad")
        let data = try ToadDataset.make(in: dir, clips: 24)
        var table = try ClipLabelTable.read(data.train)
        try Data("not audio at all".utf8).write(to: URL(fileURLWithPath: dir + "/corrupt.wav"))
        table.rows.append(ClipLabelRow(file: dir + "/corrupt.wav", start: 0, end: 2, labels: [1]))
        try table.write(to: dir + "/train_bad.csv")
        let summary = try trainer((dir + "/train_bad.csv", data.validation, data.overlays), ToadDataset.configuration(device: "cpu", epochs: 2), run: dir + "/run").fit()
        XCTAssertEqual(summary.skippedClips.count, 1)
        XCTAssertTrue(summary.skippedClips[0].contains("corrupt.wav"), summary.skippedClips[0])
        // Many missing files: stop.
        var many = try ClipLabelTable.read(data.train)
        for i in 0..<5 { many.rows.append(ClipLabelRow(file: dir + "/gone_\(i).wav", start: 0, end: 2, labels: [0])) }
        try ClipLabelTable(classes: many.classes, rows: many.rows).write(to: dir + "/train_many.csv")
        let t = try trainer((dir + "/train_many.csv", data.validation, data.overlays), ToadDataset.configuration(device: "cpu", epochs: 1), run: dir + "/run2")
        XCTAssertThrowsError(try t.fit()) { e in
            XCTAssertTrue("\(e)".contains("more than 10%") && "\(e)".contains("gone_"), "\(e)")
        }
    }

    /// A NaN/Inf loss stops the run and keeps the last good checkpoint.
    func testNonFiniteLossStopsAndKeepsCheckpoint() throws {
        let dir = makeTemporaryDirectory("nan")
        let data = try ToadDataset.make(in: dir, clips: 18)
        try trainer(data, ToadDataset.configuration(device: "cpu", epochs: 1), run: dir + "/run").fit()
        var wild = ToadDataset.configuration(device: "cpu", epochs: 2)
        wild.learningRate = 1e30
        wild.warmupFraction = 0
        // A resume must match the recorded settings: record the wild ones, as if epoch 1 had survived them.
        let configPath = dir + "/run/config.json"
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any])
        config["configuration"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(wild))
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        XCTAssertThrowsError(try trainer(data, wild, run: dir + "/run").fit(resume: true)) { e in
            XCTAssertTrue("\(e)".contains("NaN or infinite") && "\(e)".contains("checkpoint.safetensors"), "\(e)")
        }
        XCTAssertEqual(try SafeTensorsFile.read(dir + "/run/checkpoint.safetensors").metadata["completed_epochs"], "1")
    }

    func testAugmentationPlansAreSeededAndRespectSettings() {
        var s = AugmentationSettings.classic
        s.overlayWeight = [0.3, 0.7]
        s.maxOverlays = 2
        let planner = AugmentationPlanner(settings: s, overlayLabels: [[1, 0], [0, 1], [0, 0]], height: 100, width: 200)
        let a = planner.plan(seed: 1, epoch: 2, sample: 3, labels: [1, 0])
        let b = planner.plan(seed: 1, epoch: 2, sample: 3, labels: [1, 0])
        XCTAssertEqual(a.parameters, b.parameters)
        XCTAssertEqual(a.overlays.map(\.index), b.overlays.map(\.index))
        XCTAssertNotEqual(planner.plan(seed: 1, epoch: 3, sample: 3, labels: [1, 0]).parameters, a.parameters)
        for e in 0..<50 {
            let p = planner.plan(seed: 9, epoch: e, sample: 0, labels: [1, 0])
            XCTAssertTrue(p.overlays.count <= 2)
            for o in p.overlays {
                XCTAssertNotEqual(o.index, 0, "an overlay sharing the sample's class was chosen")
                XCTAssertTrue(o.weight >= 0.3 && o.weight <= 0.7)
            }
            for k in 0..<3 { XCTAssertLessThanOrEqual(p.parameters[2 + 2 * k], 40); XCTAssertLessThanOrEqual(p.parameters[8 + 2 * k], 20) }
            XCTAssertLessThanOrEqual(abs(p.parameters[14]), 60)
            XCTAssertLessThanOrEqual(abs(p.parameters[13]), 10)
        }
        XCTAssertEqual(try AugmentationSettings.parseWeight("0.3-0.7"), [0.3, 0.7])
        XCTAssertThrowsError(try AugmentationSettings.parseWeight("1.5"))
        XCTAssertThrowsError(try AugmentationSettings.parseWeight("0.7-0.3"))
    }

    func testModelFileCarriesMetadataAndRejectsCorruptOrNewer() throws {
        let dir = makeTemporaryDirectory("model")
        let net = try Network(architecture: .small, classes: 2, device: .cpu, seed: 1)
        var pp = Preprocessing(); pp.sampleRate = 22050
        var m = ClassifierModel(network: net, classes: ["a", "b"], preprocessing: pp, loss: .bceWithLogits)
        m.labelsSHA256 = "abc"
        try m.write(to: dir + "/m.model")
        let back = try ClassifierModel.load(dir + "/m.model", device: .cpu)
        XCTAssertEqual(back.classes, ["a", "b"])
        XCTAssertEqual(back.preprocessing, pp)
        XCTAssertEqual(back.labelsSHA256, "abc")
        var file = try SafeTensorsFile.read(dir + "/m.model")
        file.metadata["format_version"] = "99"
        try file.write(to: dir + "/new.model")
        XCTAssertThrowsError(try ClassifierModel.load(dir + "/new.model", device: .cpu)) { XCTAssertTrue("\($0)".contains("newer"), "\($0)") }
        try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: dir + "/bad.model"))
        XCTAssertThrowsError(try ClassifierModel.load(dir + "/bad.model", device: .cpu)) { XCTAssertTrue("\($0)".contains("bad.model"), "\($0)") }
    }

    /// Clips longer than the clip duration are trimmed at a seeded random start; others never move.
    func testRandomStartWithinLongerClips() throws {
        let planner = AugmentationPlanner(settings: AugmentationSettings(), overlayLabels: [], height: 10, width: 10)
        let offsets = (0..<200).map { planner.plan(seed: 3, epoch: $0, sample: 1, labels: [1], slack: 1.5).startOffset }
        XCTAssertTrue(offsets.allSatisfy { $0 >= 0 && $0 <= 1.5 })
        XCTAssertGreaterThan(Set(offsets).count, 150)
        XCTAssertGreaterThan(offsets.max()!, 1.2); XCTAssertLessThan(offsets.min()!, 0.3)
        XCTAssertEqual(planner.plan(seed: 3, epoch: 0, sample: 1, labels: [1], slack: 0).startOffset, 0)
        // A 4 s clip under 2 s preprocessing: the image at offset 1.0 equals the image of the clip starting 1.0 s later.
        let path = try SharedData.path("audio/1min.wav")
        var pp = Preprocessing(); pp.clipDuration = 2; pp.sampleRate = 16000; pp.image.height = 32; pp.image.width = 32
        let store = ClipImageStore(clips: [LabeledClip(file: path, start: 10, end: 14, labels: [1])], preprocessing: pp, workers: 1)
        XCTAssertEqual(store.slack(0), 2, accuracy: 1e-9)
        let shifted = store.images([0], offsets: [1.0])[0]
        XCTAssertEqual(shifted, try pp.image(file: path, start: 11))
        XCTAssertNotEqual(shifted, store.images([0])[0])
    }
}
