import Annotations
import Audio
import Foundation
@testable import Pipeline
import Tensor
import TestSupport
import XCTest

/// Defaults taken from the data, the recipes, and the audio augmentation's arithmetic.
final class DataDefaultsTests: XCTestCase {
    func table(_ lengths: [Double]) -> ClipLabelTable {
        ClipLabelTable(classes: ["a"], rows: lengths.enumerated().map { ClipLabelRow(file: "f\($0.offset).wav", start: Double($0.offset), end: Double($0.offset) + $0.element, labels: [0]) })
    }

    func testClipDurationComesFromTheRowsAndMismatchesAreErrors() throws {
        let two = table([2, 2, 2])
        let d = try DataDefaults.clipDuration(requested: nil, cropLongerRows: false, tables: [("train", two), ("validation", table([2]))])
        XCTAssertEqual(d.value, 2)
        XCTAssertTrue(d.reason.contains("rows"), d.reason)
        // Mixed lengths without a value: an error listing them with an example row.
        XCTAssertThrowsError(try DataDefaults.clipDuration(requested: nil, cropLongerRows: false, tables: [("train", table([2, 3, 2]))])) {
            let m = "\($0)"
            XCTAssertTrue(m.contains("2 s ×2") && m.contains("3 s ×1") && m.contains("train line 3") && m.contains("--clip-duration"), m)
        }
        // A requested value longer than rows: always an error; shorter: only with --crop-longer-rows.
        XCTAssertThrowsError(try DataDefaults.clipDuration(requested: 3, cropLongerRows: true, tables: [("train", two)])) {
            XCTAssertTrue("\($0)".contains("padded with silence"), "\($0)")
        }
        XCTAssertThrowsError(try DataDefaults.clipDuration(requested: 1, cropLongerRows: false, tables: [("train", two)])) {
            XCTAssertTrue("\($0)".contains("--crop-longer-rows"), "\($0)")
        }
        let cropped = try DataDefaults.clipDuration(requested: 1, cropLongerRows: true, tables: [("train", table([2, 1.5]))])
        XCTAssertEqual(cropped.value, 1)
        XCTAssertEqual(try DataDefaults.clipDuration(requested: 2, cropLongerRows: false, tables: [("train", two)]).value, 2)
        // Float noise in CSV times does not count as a different length.
        XCTAssertEqual(try DataDefaults.clipDuration(requested: nil, cropLongerRows: false, tables: [("t", table([2, 2.0000000001]))]).value, 2)
    }

    func testSampleRateIsTheMostCommonRateOfTheRecordings() throws {
        let dir = makeTemporaryDirectory("rates")
        var files: [String] = []
        for (k, rate) in [22050, 22050, 44100, 16000].enumerated() {
            let path = "\(dir)/r\(k).wav"
            try AudioFile.write(AudioSamples(samples: [Float](repeating: 0, count: rate / 10), sampleRate: rate), to: path)
            files.append(path)
        }
        let r = try DataDefaults.sampleRate(requested: nil, files: files + [files[0], dir + "/missing.wav"])
        XCTAssertEqual(r.value, 22050)
        XCTAssertTrue(r.reason.contains("22050 Hz ×2") && r.reason.contains("1 unreadable"), r.reason)
        XCTAssertEqual(try DataDefaults.sampleRate(requested: 8000, files: files).value, 8000)
        XCTAssertThrowsError(try DataDefaults.sampleRate(requested: nil, files: [dir + "/missing.wav"])) {
            XCTAssertTrue("\($0)".contains("--sample-rate"), "\($0)")
        }
    }

    func testShortScheduleWarning() {
        let w = DataDefaults.shortScheduleWarning(clips: 90, batchSize: 32, epochs: 12)
        XCTAssertNotNil(w)
        XCTAssertTrue(w!.contains("36 optimiser steps") && w!.contains("90 clips") && w!.contains("batch size 32") && w!.contains("12 epochs"), w!)
        XCTAssertNil(DataDefaults.shortScheduleWarning(clips: 360, batchSize: 32, epochs: 12))
    }
}

final class RecipeAndAudioAugmentationTests: XCTestCase {
    func testRecipesSetOptimiserAndPipeline() {
        let d = TrainingConfiguration()
        XCTAssertEqual(d.recipe, .default)
        XCTAssertEqual(d.optimizer, .adamw)
        XCTAssertEqual(d.learningRate, 1e-3)
        XCTAssertEqual(d.weightDecay, 5e-4)
        XCTAssertEqual(d.augmentation.pipeline, .audio)
        let c = TrainingConfiguration(recipe: .classic)
        XCTAssertEqual(c.optimizer, .sgd)
        XCTAssertEqual(c.learningRate, 0.01)
        XCTAssertEqual(c.weightDecay, 5e-4)
        XCTAssertEqual(c.augmentation.pipeline, .classic)
        XCTAssertTrue(c.augmentation.timeMask && c.augmentation.translate && c.augmentation.maxBarFraction == 0.2)
        var a = AugmentationSettings()
        a.disable(AugmentationStep.allCases)
        XCTAssertEqual(a, AugmentationSettings.overlaysOnly(.audio))
        XCTAssertTrue(a.activeSteps.allSatisfy { $0.contains("overlays") }, "\(a.activeSteps)")
    }

    /// Gain never takes a clip below the floor (and raises one already below it towards the
    /// floor, as the reference does); noise and mask levels follow the mix's level.
    func testGainFloorNoiseAndMaskLevels() {
        let settings = AugmentationSettings()
        let n = 1000
        let loud = (0..<n).map { Float(0.5 * sin(Double($0) * 0.1)) }  // about -6 dBFS
        let quiet = loud.map { $0 * 0.003 }                              // about -56 dBFS
        for u in stride(from: 0.0, through: 1.0, by: 0.25) {
            var draws = AudioDraws(); draws.gainUnit = u
            let a = AudioAugmentation(clip: loud, overlays: [], draws: draws, settings: settings, sampleRate: 1000)
            XCTAssertTrue(a.gainDB >= -30 - 1e-9 && a.gainDB <= 1e-9, "\(a.gainDB)")
            let level = AudioAugmentation.dBFS(rms: AudioAugmentation.rms(loud)) + a.gainDB
            XCTAssertGreaterThanOrEqual(level, -40 - 1e-6)
            let q = AudioAugmentation(clip: quiet, overlays: [], draws: draws, settings: settings, sampleRate: 1000)
            XCTAssertGreaterThanOrEqual(q.gainDB, 0)  // below the floor already: never quieter
            XCTAssertLessThanOrEqual(AudioAugmentation.dBFS(rms: AudioAugmentation.rms(quiet)) + q.gainDB, -40 + 1e-6)
        }
        // Silence stays silent (no NaN).
        var g = AudioDraws(); g.gainUnit = 0.5; g.noiseDB = -10
        let s = AudioAugmentation(clip: [Float](repeating: 0, count: n), overlays: [], draws: g, settings: settings, sampleRate: 1000)
        XCTAssertEqual(s.gainDB, 0)
        XCTAssertEqual(s.parameters[2], 0)
        // Noise at the clip's level - 10 dB: std = rms · 10^(-0.5); masks +10 dB over the noisy mix.
        // Masks of 0.5 and 0.75 of the longest (20 ms at 1 kHz: 10 and 15 samples), the unmasked
        // 975 ms divided at 0.1 and 0.5 of it: audio [0, 97), mask, audio until 497, mask.
        var d = AudioDraws(); d.noiseDB = -10; d.maskLengthUnits = [0.5, 0.75]; d.maskCutUnits = [0.1, 0.5]; d.wrapFraction = 0.25
        let m = AudioAugmentation(clip: loud, overlays: [], draws: d, settings: settings, sampleRate: 1000)
        let rms = AudioAugmentation.rms(loud)
        XCTAssertEqual(Double(m.parameters[2]), rms * pow(10, -0.5), accuracy: 1e-6)
        XCTAssertEqual(Double(m.parameters[5]), (rms * rms * (1 + 0.1)).squareRoot() * pow(10, 0.5), accuracy: 1e-5)
        XCTAssertEqual(m.parameters[3], 250)
        XCTAssertEqual(m.parameters[4], 2)
        XCTAssertEqual(Array(m.parameters[8..<12]), [97, 10, 497, 15])
        // Overlays: out = (1 - w)·sample + w·overlay, the overlay rounds combined.
        var o = AudioDraws()
        o.overlayGainUnits = []
        let ov = (0..<n).map { _ in Float(0.1) }
        let mixed = AudioAugmentation(clip: loud, overlays: [(ov, 0.25), (ov, 0.5)], draws: o, settings: settings, sampleRate: 1000)
        XCTAssertEqual(mixed.parameters[0], 0.75 * 0.5, accuracy: 1e-6)
        XCTAssertEqual(mixed.parameters[1], 1)
        XCTAssertEqual(mixed.overlay?[7] ?? 0, 0.5 * 0.25 * 0.1 + 0.5 * 0.1, accuracy: 1e-6)
    }

    /// Audio draws: seeded, masks within the clip and not overlapping, at most 10 of at most 2%.
    func testAudioPlansAreSeededAndWithinLimits() {
        let planner = AugmentationPlanner(settings: AugmentationSettings(), overlayLabels: [[0], [1]], height: 128, width: 128)
        var wraps = 0, counts = Set<Int>()
        for e in 0..<200 {
            let p = planner.plan(seed: 5, epoch: e, sample: 2, labels: [1])
            XCTAssertEqual(p.audio, planner.plan(seed: 5, epoch: e, sample: 2, labels: [1]).audio)
            let a = try! XCTUnwrap(p.audio)
            XCTAssertNotNil(a.gainUnit); XCTAssertNotNil(a.noiseDB)
            XCTAssertTrue((-20...0).contains(a.noiseDB!))
            if a.wrapFraction != nil { wraps += 1 }
            XCTAssertLessThanOrEqual(a.maskLengthUnits.count, 10)
            XCTAssertEqual(a.maskLengthUnits.count, a.maskCutUnits.count)
            counts.insert(a.maskLengthUnits.count)
            let masks = AudioAugmentation.timeMasks(lengthUnits: a.maskLengthUnits, cutUnits: a.maskCutUnits, longest: 0.02, samples: 8000, sampleRate: 8000)
            var end = 0
            for m in masks {
                XCTAssertGreaterThanOrEqual(m.start, end)
                XCTAssertLessThanOrEqual(m.length, 160)
                end = m.start + m.length
            }
            XCTAssertLessThanOrEqual(end, 8000)
            XCTAssertEqual(p.overlays.count, 1)
            XCTAssertEqual(p.overlays.first?.index, 0, "different: only the overlay without the sample's class")
            XCTAssertEqual(a.overlayGainUnits.count, 1)
            // Only frequency masks on the image: up to 3 bars in the height, nothing in the width, no shift or noise.
            XCTAssertEqual(Array(p.parameters[1...6]), [0, 0, 0, 0, 0, 0])
            XCTAssertEqual(Array(p.parameters[13...15]), [0, 0, 0])
            for k in 0..<3 { XCTAssertLessThanOrEqual(p.parameters[7 + 2 * k] + p.parameters[8 + 2 * k], 128) }
        }
        XCTAssertTrue((70...130).contains(wraps), "wrap probability 0.5: \(wraps) of 200")
        XCTAssertGreaterThan(counts.count, 6)
    }

    /// The classic bars follow the reference's draws: widths up to F = int(0.2·axis), each ending
    /// at a random point inside it, so the mean masked extent is about F/4 (not F/2).
    func testClassicBarsEndInsideTheirWidth() {
        let planner = AugmentationPlanner(settings: .classic, overlayLabels: [], height: 100, width: 200)
        var widths: [Double] = []
        for e in 0..<2000 {
            let p = planner.plan(seed: 1, epoch: e, sample: 0, labels: [0])
            for k in 0..<3 where p.parameters[1 + 2 * k] > 0 || p.parameters[2 + 2 * k] > 0 {
                widths.append(Double(p.parameters[2 + 2 * k]))
                XCTAssertLessThanOrEqual(p.parameters[1 + 2 * k] + p.parameters[2 + 2 * k], 200)
            }
        }
        let mean = widths.reduce(0, +) / Double(widths.count)
        XCTAssertEqual(mean, 40.0 / 4, accuracy: 1.5, "mean bar width \(mean) px for F = 40")
    }

    /// The audio pipeline on a device: the augmented waveform's image equals the image of the
    /// same waveform built on the host, on the CPU fallback and on OpenCL.
    func testAudioBatchImagesMatchHostPreprocessing() throws {
        var pp = Preprocessing(); pp.sampleRate = 16000; pp.clipDuration = 1; pp.image.height = 32; pp.image.width = 48
        let n = pp.clipSamples
        let clip = (0..<n).map { Float(0.3 * sin(Double($0) * 0.37) + 0.05 * cos(Double($0) * 2.1)) }
        var params = [Float](repeating: 0, count: waveformAugmentParameterCount)
        params[0] = 0.5; params[3] = 4000
        var shifted = [Float](repeating: 0, count: n)
        for t in 0..<n { shifted[t] = 0.5 * clip[(t + 4000) % n] }
        let reference = try pp.image(samples: shifted)
        for device in [Device.cpu] + ((try? Device.select("opencl")).map { [$0] } ?? []) {
            let w = try Ops.augmentWaveform(Tensor(clip, shape: [1, n], on: device), overlays: Tensor.zeros([1, n], on: device),
                                            parameters: Tensor(params, shape: [1, waveformAugmentParameterCount], on: device), seed: 1)
            let img = try pp.images(waveforms: w, workers: 1).toArray()
            let err = zip(img, reference).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThan(err, 2e-3, "image on \(device.identifier)")
        }
    }
}

/// Decoded training audio is kept in memory within a budget and spilled to a file beyond it;
/// both give the same samples as decoding the clip directly.
final class ClipAudioStoreTests: XCTestCase {
    func testSpilledAudioEqualsDecodedAudio() throws {
        let path = try SharedData.path("audio/1min.wav")
        var pp = Preprocessing(); pp.sampleRate = 32000; pp.clipDuration = 2  // the file's rate: reads are exact
        let clips = (0..<6).map { LabeledClip(file: path, start: Double($0) * 3, end: Double($0) * 3 + 3, labels: [0]) }
        let roomy = ClipAudioStore(clips: clips, preprocessing: pp, workers: 2)
        let tight = ClipAudioStore(clips: clips, preprocessing: pp, workers: 2, memoryBudgetBytes: 2 * 96000 * 4)  // two rows fit
        let offsets = [0, 0.5, 1, 0.25, 0, 0.75]
        let a = roomy.windows(Array(0..<6), offsets: offsets)
        let b1 = tight.windows(Array(0..<6), offsets: offsets)
        let b2 = tight.windows(Array(0..<6), offsets: offsets)  // now read back from memory and the spill file
        XCTAssertEqual(tight.footprint.memory, 2 * 96000 * 4)
        XCTAssertEqual(tight.footprint.spilled, 4 * 96000 * 4)
        for k in 0..<6 {
            let direct = try pp.readClip(path, start: clips[k].start + offsets[k])
            XCTAssertEqual(a[k], direct, "window \(k)")
            XCTAssertEqual(b1[k], direct); XCTAssertEqual(b2[k], direct)
        }
        // A missing file fails once, is reported with its path, and is not retried.
        let bad = ClipAudioStore(clips: [LabeledClip(file: "/nonexistent/x.wav", start: 0, end: 2, labels: [0])], preprocessing: pp, workers: 1)
        XCTAssertNil(bad.windows([0])[0])
        XCTAssertEqual(bad.failureCount, 1)
        XCTAssertTrue(bad.failures[0].message.contains("/nonexistent/x.wav"))
    }
}
