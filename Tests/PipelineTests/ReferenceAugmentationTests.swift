import Annotations
import Foundation
@testable import Pipeline
import Tensor
import TestSupport
import XCTest

/// Chorus's augmentation against the reference toolkit (OpenSoundscape 0.13.2), draw for draw:
/// `Benchmarks/reference/augmentation_fixtures.py` ran the reference's functions with a replayed
/// list of uniforms (each Python random call written as a function of one uniform, as
/// `UniformDraws` writes them) and stored inputs (as integer formulas), draws and outputs in
/// Fixtures/reference-augmentation.json. Here the same draws go through the planner
/// (`AugmentationPlanner.plan(using:)`), `AudioAugmentation` and the device ops on the CPU fallback
/// and the OpenCL device. Positions, widths, split points, choices and blends must be equal; gain
/// factors agree to 1e-5; noise samples come from different generators, so noise LEVELS are
/// compared, within 5 standard errors for the number of samples.
final class ReferenceAugmentationTests: XCTestCase {
    static let fixture: JSON = {
        let url = SourceTree.tests.appendingPathComponent("PipelineTests/Fixtures/reference-augmentation.json")
        // JSONDecoder parses numbers exactly (JSONSerialization on Linux gives NSDecimalNumbers
        // whose doubleValue can be off in the last bits).
        guard let data = try? Data(contentsOf: url), let object = try? JSONDecoder().decode(JSON.self, from: data) else {
            fatalError("cannot read \(url.path)")
        }
        return object
    }()

    static let devices: [Device] = [Device.cpu] + ((try? Device.select("opencl")).map { [$0] } ?? [])

    func cases(_ key: String, file: StaticString = #filePath, line: UInt = #line) -> [JSON] {
        let c = Self.fixture[key].array
        XCTAssertFalse(c.isEmpty, "no '\(key)' cases in the fixture", file: file, line: line)
        return c
    }

    // MARK: inputs, regenerated bit for bit from the fixture's integer formulas

    func signal(_ s: JSON) -> [Float] {
        let a = s["a"].int, b = s["b"].int, m = s["m"].int, amp = s["amp"].double, n = s["length"].int
        let h = (m - 1) / 2
        return (0..<n).map { t in Float(Double((t * a + b) % m - h) / Double(h) * amp) }
    }

    func image01(_ s: JSON) -> (pixels: [Float], height: Int, width: Int) {
        let a = s["a"].int, b = s["b"].int, m = s["m"].int, h = s["height"].int, w = s["width"].int
        return ((0..<(h * w)).map { i in Float(Double((i * a + b) % m) / Double(m - 1)) }, h, w)
    }

    /// Settings with every step off (random trim too), in `pipeline`.
    func bare(_ pipeline: AugmentationSettings.Pipeline) -> AugmentationSettings {
        var s = AugmentationSettings.overlaysOnly(pipeline)
        s.frequencyMask = false
        return s
    }

    func plan(_ settings: AugmentationSettings, draws: [Double], height: Int = 64, width: Int = 64, overlayLabels: [[Float]] = [],
              labels: [Float] = [], file: StaticString = #filePath, line: UInt = #line) -> SampleAugmentation {
        let planner = AugmentationPlanner(settings: settings, overlayLabels: overlayLabels, height: height, width: width)
        var r = ReplayedDraws(draws)
        let p = planner.plan(using: &r, labels: labels, slack: 0)
        XCTAssertEqual(r.consumed, draws.count, "Chorus used \(r.consumed) draws, the reference \(draws.count)", file: file, line: line)
        XCTAssertFalse(r.overrun, file: file, line: line)
        return p
    }

    func waveform(_ x: [Float], overlay: [Float]? = nil, parameters: [Float], on device: Device, seed: UInt64 = 7) throws -> [Float] {
        let n = x.count
        return try Ops.augmentWaveform(Tensor(x, shape: [1, n], on: device), overlays: Tensor(overlay ?? [Float](repeating: 0, count: n), shape: [1, n], on: device),
                                       parameters: Tensor(parameters, shape: [1, waveformAugmentParameterCount], on: device), seed: seed).toArray()
    }

    static func rms(_ v: [Double]) -> Double { v.isEmpty ? 0 : (v.reduce(0) { $0 + $1 * $1 } / Double(v.count)).squareRoot() }

    /// RMS of N(0, σ²) clipped to [-1, 1].
    static func clippedGaussianRMS(_ sigma: Double) -> Double {
        let c = 1 / sigma
        let inside = erf(c / 2.0.squareRoot()) - 2 * c * exp(-c * c / 2) / (2 * Double.pi).squareRoot()
        return (sigma * sigma * inside + erfc(c / 2.0.squareRoot())).squareRoot()
    }

    // MARK: image masks

    /// freq_mask / time_mask (classic: 3 bars of up to 0.2 of the axis) and the current
    /// frequency_mask (3 bars, 0.05): bar positions and widths equal, each bar filled with the
    /// image's mean as it is when the bar is drawn, the result equal to the reference's after its
    /// rescale to [-1, 1].
    func testImageMasksMatchTheReference() throws {
        for c in cases("masks") {
            let name = c["name"].string
            let steps = c["steps"].array.map(\.string)
            let pipeline = AugmentationSettings.Pipeline(rawValue: c["pipeline"].string)!
            var s = bare(pipeline)
            s.timeMask = steps.contains("time"); s.frequencyMask = steps.contains("frequency")
            s.maxBars = c["maxBars"].int; s.maxBarFraction = c["fraction"].double
            let (x01, h, w) = image01(c["image"])
            let p = plan(s, draws: c["draws"].doubles, height: h, width: w)
            var expected = [Float](repeating: 0, count: 12)
            var fillSlots: [Int] = []
            for step in c["bars"].array {
                let time = step["axis"].string == "time"
                for (k, bar) in step["bars"].array.map(\.ints).enumerated() {
                    let axis = time ? w : h
                    expected[(time ? 0 : 6) + 2 * k] = Float(bar[0])
                    expected[(time ? 0 : 6) + 2 * k + 1] = Float(min(bar[1], axis) - bar[0])
                    fillSlots.append((time ? 16 : 19) + k)
                }
            }
            XCTAssertEqual(Array(p.parameters[1...12]), expected, "\(name): bars (start, width), time then frequency")
            // Chorus's images are the reference's after scale_tensor: (v - 0.5) / 0.5.
            let x = x01.map { ($0 - 0.5) / 0.5 }
            let fills = c["fills01"].doubles.map { ($0 - 0.5) / 0.5 }
            XCTAssertEqual(fills.count, fillSlots.count, name)
            let reference = c["output"].floats
            for device in Self.devices {
                // The fills are computed on the device from the image, as the reference draws them.
                let image = try Tensor(x, shape: [1, 1, h, w], on: device), parameters = try Tensor(p.parameters, shape: [1, augmentParameterCount], on: device)
                try Ops.augmentBarFills(image, parameters: parameters)
                let params = try parameters.toArray()
                for (slot, f) in zip(fillSlots, fills) { XCTAssertEqual(Double(params[slot]), f, accuracy: 1e-6, "\(name): fill of slot \(slot) on \(device.identifier)") }
                XCTAssertEqual(params[22], 1, name)
                let y = try Ops.augmentSpectrogram(image, parameters: parameters, seed: 1).toArray()
                var worst: Float = 0, unmaskedDiffer = 0
                for i in 0..<(h * w) {
                    worst = max(worst, abs(y[i] - reference[i]))
                    if reference[i] == x[i] && y[i] != x[i] { unmaskedDiffer += 1 }
                }
                XCTAssertLessThanOrEqual(worst, 1e-6, "\(name) on \(device.identifier)")
                XCTAssertEqual(unmaskedDiffer, 0, "\(name) on \(device.identifier): pixels the reference kept")
            }
        }
    }

    // MARK: audio steps

    /// adaptive_random_gain: gain range (-30, 0) raised to keep -40 dBFS, drawn at the same unit;
    /// the same factor (1e-5) and output, clipped to [-1, 1] after the gain.
    func testGainMatchesTheReference() throws {
        for c in cases("gain") {
            let name = c["name"].string
            let x = signal(c["signal"])
            var s = bare(.audio)
            s.gainRange = [-30, 0]
            let p = plan(s, draws: c["draws"].doubles)
            XCTAssertEqual(p.audio?.gainUnit, c["draws"].doubles[0])
            XCTAssertEqual(AudioAugmentation.dBFS(rms: AudioAugmentation.rms(x)), c["dBFS"].double, accuracy: 1e-5, name)
            let a = AudioAugmentation(clip: x, overlays: [], draws: p.audio!, settings: s, sampleRate: c["sampleRate"].int)
            let factor = c["factor"].double
            XCTAssertEqual(pow(10, a.gainDB / 20) / factor, 1, accuracy: 1e-5, "\(name): gain \(a.gainDB) dB, reference \(c["gainDB"].double)")
            XCTAssertEqual(Double(a.parameters[0]) / factor, 1, accuracy: 1e-5, name)
            let reference = c["output"].floats
            for device in Self.devices {
                let y = try waveform(x, parameters: a.parameters, on: device)
                let err = zip(y, reference).map { abs($0 - $1) / max(1e-3, abs($1)) }.max() ?? 1
                XCTAssertLessThanOrEqual(err, 1e-5, "\(name) on \(device.identifier)")
            }
            if name.contains("clipped") { XCTAssertTrue(reference.contains(1) || reference.contains(-1), "the case clips") }
        }
    }

    /// adaptive_random_noise: noise RMS = the clip's RMS · 10^(U(-20, 0)/20) at the same U (1e-5),
    /// and the realized noise (the output minus the clip, clipped like the reference's mix) at the
    /// reference's realized level within 5 standard errors.
    func testNoiseLevelMatchesTheReference() throws {
        for c in cases("noise") {
            let name = c["name"].string
            let x = signal(c["signal"])
            var s = bare(.audio)
            s.audioNoiseRange = [-20, 0]
            let p = plan(s, draws: c["draws"].doubles)
            XCTAssertEqual(p.audio?.noiseDB, c["noiseOffsetDB"].double, name)
            let a = AudioAugmentation(clip: x, overlays: [], draws: p.audio!, settings: s, sampleRate: c["sampleRate"].int)
            let level = c["noiseRMS"].double
            XCTAssertEqual(Double(a.parameters[2]) / level, 1, accuracy: 1e-5, name)
            let realized = c["realizedNoiseRMS"].double, n = Double(x.count)
            for device in Self.devices {
                let y = try waveform(x, parameters: a.parameters, on: device)
                let mine = Self.rms(zip(y, x).map { Double($0) - Double($1) })
                // Two independent RMS estimates of n samples: relative standard error 1/sqrt(n) of the difference.
                XCTAssertEqual(mine / realized, 1, accuracy: 5 / n.squareRoot(), "\(name) on \(device.identifier): \(mine) vs \(realized)")
                XCTAssertLessThanOrEqual(y.map(abs).max() ?? 0, 1, "clipped to [-1, 1]")
            }
        }
    }

    /// random_wrap_audio: `random.random() > 0.5` skips (0.5 itself wraps); the split index
    /// int(duration · u · sr) equal; the output the clip's two parts swapped.
    func testWrapMatchesTheReference() throws {
        for c in cases("wrap") {
            let x = signal(c["signal"])
            var s = bare(.audio)
            s.wrapProbability = 0.5
            let draws = c["draws"].doubles
            let p = plan(s, draws: draws)
            let split = c["split"].optionalInt
            XCTAssertEqual(p.audio?.wrapFraction != nil, split != nil, "\(draws)")
            let a = AudioAugmentation(clip: x, overlays: [], draws: p.audio!, settings: s, sampleRate: c["sampleRate"].int)
            XCTAssertEqual(Int(a.parameters[3]), split ?? 0, "\(draws)")
            let k = split ?? 0
            for device in Self.devices {
                XCTAssertEqual(try waveform(x, parameters: a.parameters, on: device), Array(x[k...] + x[..<k]), "\(draws) on \(device.identifier)")
            }
        }
    }

    /// audio_time_mask: 0–10 masks, placed in the output exactly where the reference's masks
    /// land; noise at the clip's level + 10 dB (1e-5), clipped to [-1, 1] as the reference's
    /// Audio.noise; realized levels of both near the clipped Gaussian's. The reference's kept audio
    /// can come from up to one sample per earlier mask later (a truncation artefact); Chorus keeps
    /// every unmasked sample in place.
    func testTimeMasksMatchTheReference() throws {
        for c in cases("timeMasks") {
            let name = c["name"].string
            let x = signal(c["signal"]), n = x.count
            var s = bare(.audio)
            s.audioTimeMasks = 10
            let p = plan(s, draws: c["draws"].doubles)
            let a = AudioAugmentation(clip: x, overlays: [], draws: p.audio!, settings: s, sampleRate: c["sampleRate"].int)
            var mine = [Bool](repeating: false, count: n), theirs = mine
            for k in 0..<Int(a.parameters[4]) {
                let start = Int(a.parameters[8 + 2 * k]), length = Int(a.parameters[9 + 2 * k])
                for t in start..<min(n, start + length) { mine[t] = true }
            }
            let reference = c["masks"].array.map(\.ints)
            for m in reference { for t in m[0]..<m[1] { theirs[t] = true } }
            XCTAssertEqual(mine, theirs, "\(name): masked samples \(reference)")
            XCTAssertEqual(Double(a.parameters[5]) / c["noiseRMS"].double, 1, accuracy: 1e-5, name)
            for (k, seg) in c["segments"].array.map(\.ints).enumerated() { XCTAssertLessThanOrEqual(abs(seg[2] - seg[0]), k, "\(name): reference drift") }
            let expected = Self.clippedGaussianRMS(Double(a.parameters[5]))
            let count = c["noiseSamples"].int
            if let realized = c["realizedNoiseRMS"].optionalDouble {
                XCTAssertEqual(realized / expected, 1, accuracy: 5 / (2 * Double(count)).squareRoot(), "\(name): the reference's mask noise")
            }
            for device in Self.devices {
                let y = try waveform(x, parameters: a.parameters, on: device)
                var kept = true, noise: [Double] = []
                for t in 0..<n { if mine[t] { noise.append(Double(y[t])) } else if y[t] != x[t] { kept = false } }
                XCTAssertTrue(kept, "\(name) on \(device.identifier): unmasked samples unchanged")
                if count > 0 {
                    XCTAssertEqual(Self.rms(noise) / expected, 1, accuracy: 5 / (2 * Double(count)).squareRoot(), "\(name) on \(device.identifier)")
                    XCTAssertLessThanOrEqual(noise.map(abs).max() ?? 0, 1)
                }
            }
        }
    }

    /// overlay(): the same row (random.choice, or up to 10 random.randint for "different"), the
    /// same weight (fixed, or random.uniform of the range), x·(1 − w) + o·w equal to the last bit,
    /// and the labels united.
    func testOverlayBlendAndLabelsMatchTheReference() throws {
        for c in cases("overlay") {
            let name = c["name"].string
            var s = bare(.audio)
            s.overlayClass = AugmentationSettings.OverlayChoice(rawValue: c["overlayClass"].string)!
            if case .array = c["weight"] { s.overlayWeight = c["weight"].doubles } else { let w = c["weight"].double; s.overlayWeight = [w, w] }
            let overlayLabels = c["overlayLabels"].array.map(\.floats)
            let labels = c["labels"].floats
            let p = plan(s, draws: c["draws"].doubles, overlayLabels: overlayLabels, labels: labels)
            XCTAssertEqual(p.overlays.count, 1, name)
            guard let o = p.overlays.first else { continue }
            XCTAssertEqual(o.index, c["chosen"].int, name)
            XCTAssertEqual(o.weight, c["appliedWeight"].double, name)
            let x = signal(c["signal"])
            let overlay = signal(c["overlaySignals"][o.index])
            let a = AudioAugmentation(clip: x, overlays: [(overlay, o.weight)], draws: p.audio!, settings: s, sampleRate: 256)
            let reference = c["output"].floats
            for device in Self.devices {
                XCTAssertEqual(try waveform(x, overlay: a.overlay, parameters: a.parameters, on: device), reference, "\(name) on \(device.identifier)")
                let united = try Ops.overlayLabelUnion(labels: Tensor(labels, shape: [1, labels.count], on: device),
                                                       overlayLabels: Tensor(overlayLabels[o.index], shape: [1, labels.count], on: device),
                                                       apply: Tensor([1], shape: [1], on: device)).toArray()
                XCTAssertEqual(united, c["outputLabels"].floats, name)
            }
            // The audio pipeline's union (Trainer): max of 0/1 labels = logical or.
            XCTAssertEqual(zip(labels, overlayLabels[o.index]).map { max($0, $1) }, c["outputLabels"].floats, name)
        }
    }

    /// tensor_add_noise(0.005) on the [0, 1] image before the rescale: 0.01 in Chorus's [-1, 1]
    /// units, the classic preset's level; realized levels within 5 standard errors.
    func testImageNoiseLevelMatchesTheReference() throws {
        let c = cases("imageNoise")[0]
        XCTAssertEqual(AugmentationSettings.classic.noiseStd, c["stdInChorusUnits"].double, accuracy: 1e-12)
        var s = bare(.classic)
        s.noiseStd = AugmentationSettings.classic.noiseStd
        let p = plan(s, draws: [])
        XCTAssertEqual(Double(p.parameters[15]), 0.01, accuracy: 1e-9)
        let pixels = c["pixels"].int, side = Int(Double(pixels).squareRoot())
        let realized = c["realizedStd"].double
        for device in Self.devices {
            let y = try Ops.augmentSpectrogram(Tensor.zeros([1, 1, side, side], on: device), parameters: Tensor(p.parameters, shape: [1, augmentParameterCount], on: device),
                                               seed: 3).toArray()
            let mine = Self.rms(y.map(Double.init))
            XCTAssertEqual(mine / realized, 1, accuracy: 5 / Double(pixels).squareRoot(), "on \(device.identifier): \(mine) vs \(realized)")
        }
    }

    /// torch_random_affine(translate=(0.3, 0.1), fill 0): RandomAffine's draws (angle, tx, ty),
    /// rounded half to even like Python; the same shift, and the same image.
    func testTranslationMatchesTheReference() throws {
        for c in cases("affine") {
            var s = bare(.classic)
            s.translate = true; s.maxTimeShift = 0.3; s.maxFrequencyShift = 0.1
            let (x01, h, w) = image01(c["image"])
            let draws = c["draws"].doubles
            let p = plan(s, draws: draws, height: h, width: w)
            XCTAssertEqual(Int(p.parameters[14]), c["tx"].int, "tx for \(draws)")
            XCTAssertEqual(Int(p.parameters[13]), c["ty"].int, "ty for \(draws)")
            let x = x01.map { ($0 - 0.5) / 0.5 }
            for device in Self.devices {
                let y = try Ops.augmentSpectrogram(Tensor(x, shape: [1, 1, h, w], on: device), parameters: Tensor(p.parameters, shape: [1, augmentParameterCount], on: device),
                                                   seed: 1).toArray()
                XCTAssertEqual(y, c["output"].floats, "\(draws) on \(device.identifier)")
            }
        }
    }

    // MARK: the whole pipeline

    /// SpectrogramPreprocessor.forward with an overlay table, every draw replayed (noise samples
    /// zeroed): the planner uses the same number of draws in the same order, and the trim, the
    /// gains, the overlay row, the noise level, the wrap, the masks, the frequency bars, the
    /// labels and the waveform before the masks agree.
    func testWholePipelineDrawForDraw() throws {
        for c in cases("pipeline") {
            let name = c["name"].string
            var s = AugmentationSettings()
            s.overlayClass = AugmentationSettings.OverlayChoice(rawValue: c["overlayClass"].string)!
            let sr = c["sampleRate"].int
            let overlayLabels = c["overlayLabels"].array.map(\.floats)
            let labels = c["labels"].floats
            let height = c["imageHeight"].int
            let p = plan(s, draws: c["draws"].doubles, height: height, width: 8, overlayLabels: overlayLabels, labels: labels)
            let log = c["log"].array.map { (name: $0[0].string, args: $0[1].doubles, value: $0[2]) }
            func values(_ call: String, where test: ([Double]) -> Bool = { _ in true }) -> [JSON] { log.filter { $0.name == call && test($0.args) }.map(\.value) }
            XCTAssertEqual(p.startOffset, 0)
            // The overlay row: the last choice (or randint) before the frequency masks' randint(1, 3).
            let choices = log.filter { $0.name == "random.choice" || ($0.name == "random.randint" && $0.args != [1, 3]) }
            XCTAssertEqual(p.overlays.map(\.index), [choices.last!.value.int], name)
            XCTAssertEqual(p.overlays.first?.weight, 0.5)
            let clip = signal(c["signal"])
            let overlay = signal(c["overlaySignals"][p.overlays[0].index])
            let audio = p.audio!
            let a = AudioAugmentation(clip: clip, overlays: [(overlay, 0.5)], draws: audio, settings: s, sampleRate: sr)
            // Gains: random.uniform(low, 0) for the sample, then for the overlay clip.
            let gains = values("random.uniform") { $0[1] == 0 && $0[0] != 0 }.map(\.double)
            XCTAssertEqual(gains.count, 2, name)
            XCTAssertEqual(a.gainDB, gains[0], accuracy: 1e-5, name)
            let overlayGain = AudioAugmentation(clip: overlay, overlays: [], draws: AudioDraws(gainUnit: audio.overlayGainUnits.first), settings: s, sampleRate: sr).gainDB
            XCTAssertEqual(overlayGain, gains[1], accuracy: 1e-5, name)
            XCTAssertEqual(audio.noiseDB, values("np.random.uniform") { $0 == [-20, 0] }.first?.double, name)
            let wrapTimes = values("random.uniform") { $0[0] == 0 && $0[1] > 0 }.map(\.double)
            XCTAssertEqual(Int(a.parameters[3]), wrapTimes.first.map { Int($0 * Double(sr)) } ?? 0, "\(name): split")
            // Masks: the reference's (found in its output) equal Chorus's.
            let n = clip.count
            var mine = [Bool](repeating: false, count: n), theirs = mine
            for k in 0..<Int(a.parameters[4]) {
                for t in Int(a.parameters[8 + 2 * k])..<min(n, Int(a.parameters[8 + 2 * k] + a.parameters[9 + 2 * k])) { mine[t] = true }
            }
            for m in c["masks"].array.map(\.ints) { for t in m[0]..<m[1] { theirs[t] = true } }
            XCTAssertEqual(mine, theirs, "\(name): masks")
            // Frequency bars from the reference's randint(1, 3) and randrange calls.
            let F = Int(0.05 * Double(height))
            let start = log.firstIndex { $0.name == "random.randint" && $0.args == [1, 3] }!
            var expected = [Float](repeating: 0, count: 6), i = start + 1
            for k in 0..<log[start].value.int {
                let f = log[i].value.int, s0 = log[i + 1].value.int
                let end = f != 0 ? log[i + 2].value.int : s0 + F
                i += f != 0 ? 3 : 2
                expected[2 * k] = Float(s0); expected[2 * k + 1] = Float(min(end, height) - s0)
            }
            XCTAssertEqual(Array(p.parameters[7...12]), expected, "\(name): frequency bars")
            XCTAssertEqual(zip(labels, overlayLabels[p.overlays[0].index]).map { max($0, $1) }, c["outputLabels"].floats, name)
            // The waveform before the masks, with the (zeroed) noise left out.
            var params = a.parameters
            params[2] = 0; params[4] = 0
            let reference = c["waveformBeforeMasks"].floats
            for device in Self.devices {
                let y = try waveform(clip, overlay: a.overlay, parameters: params, on: device)
                let err = zip(y, reference).map { abs($0 - $1) }.max() ?? 1
                XCTAssertLessThanOrEqual(err, 1e-6, "\(name) on \(device.identifier)")
            }
        }
    }
}

/// A JSON value, decoded with JSONDecoder (exact numbers).
enum JSON: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSON]), object([String: JSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    subscript(key: String) -> JSON { if case .object(let o) = self { return o[key] ?? .null }; return .null }
    subscript(index: Int) -> JSON { array[index] }
    var array: [JSON] { if case .array(let a) = self { return a }; return [] }
    var optionalDouble: Double? { if case .number(let d) = self { return d }; return nil }
    var optionalInt: Int? { optionalDouble.flatMap { Int(exactly: $0) } }
    var double: Double { optionalDouble ?? .nan }
    var int: Int { optionalInt ?? Int.min }
    var string: String { if case .string(let s) = self { return s }; return "" }
    var doubles: [Double] { array.map(\.double) }
    var floats: [Float] { array.map { Float($0.double) } }
    var ints: [Int] { array.map(\.int) }
}
