import Audio
import ChorusCore
import TestSupport
import XCTest
@testable import SignalProcessing

final class RibbitTests: XCTestCase {
    func testGreatPlainsToadMatchesReferenceRanking() throws {
        let path = try SharedData.path("audio/great_plains_toad.wav")
        let rows = try CSV.read(try SharedData.path("reference/ribbit_great_plains_toad.csv")).dropFirst()
        let reference = rows.map { (start: Double($0.fields[0]) ?? -1, end: Double($0.fields[1]) ?? -1, score: Double($0.fields[2]) ?? -1) }
        let result = try Ribbit.scores(file: path, parameters: .greatPlainsToad)
        XCTAssertEqual(result.clips.count, 23)
        XCTAssertEqual(result.clips.count, reference.count)
        for (clip, ref) in zip(result.clips, reference) {
            XCTAssertEqual(clip.start, ref.start, accuracy: 1e-6)
            XCTAssertEqual(clip.end, ref.end, accuracy: 1e-6)
        }
        let rho = spearman(result.clips.map(\.score), reference.map(\.score))
        let ratios = zip(result.clips, reference).map { $0.score / $1.score }
        print("RIBBIT toad: Spearman \(rho); score / reference ratios \(ratios.min() ?? 0)...\(ratios.max() ?? 0)")
        XCTAssertGreaterThanOrEqual(rho, 0.9)
    }

    func testToadScoresFarAboveRecordingWithoutToads() throws {
        let toad = try Ribbit.scores(file: try SharedData.path("audio/great_plains_toad.wav"), parameters: .greatPlainsToad)
        let forest = try Ribbit.scores(file: try SharedData.path("audio/1min.wav"), parameters: .greatPlainsToad)
        let bestToad = toad.clips.map(\.score).max() ?? 0
        let bestForest = forest.clips.map(\.score).max() ?? .infinity
        print("RIBBIT best toad clip \(bestToad), best 1min.wav clip \(bestForest), ratio \(bestToad / bestForest)")
        XCTAssertEqual(forest.clips.count, 30)
        XCTAssertGreaterThanOrEqual(bestToad, 50 * bestForest)
        XCTAssertEqual(toad.bestClipPSD.count, 513)
        XCTAssertEqual(toad.bestClipPSD.max() ?? 0, bestToad, accuracy: bestToad, "the best PSD holds the best score")
    }

    func testStreamingEqualsWholeFile() throws {
        let path = try SharedData.path("audio/great_plains_toad.wav")
        let streamed = try AmplitudeSeries.compute(file: path, parameters: .greatPlainsToad, blockFrames: 10_007)
        let whole = try AmplitudeSeries.compute(try AudioFile.read(path), parameters: .greatPlainsToad)
        XCTAssertEqual(streamed.values.count, whole.values.count)
        XCTAssertEqual(streamed.values.count, 1 + (1_965_568 - 512) / 256)
        var maxDifference: Float = 0
        for (a, b) in zip(streamed.values, whole.values) { maxDifference = max(maxDifference, abs(a - b)) }
        XCTAssertLessThanOrEqual(maxDifference, 1e-6 * (whole.values.max() ?? 1))
        XCTAssertEqual(streamed.duration, whole.duration, accuracy: 1e-9)
        XCTAssertEqual(streamed.duration, 1_965_568.0 / 44100, accuracy: 1e-9)
        XCTAssertEqual(streamed.audioDuration, 1_965_596.0 / 44100, accuracy: 1e-9)
    }

    /// A tone in the signal band switched on and off 12 times a second scores high for 8–20 Hz
    /// pulses and low for 30–60 Hz pulses; the same tone steady scores low for 8–20 Hz.
    func testSyntheticPulsesScoreInTheirRateRange() throws {
        let rate = 16000
        func audio(pulsed: Bool) -> AudioSamples {
            AudioSamples(samples: (0..<(4 * rate)).map { i in
                let t = Double(i) / Double(rate)
                let gate = pulsed ? (sin(2 * .pi * 12 * t) > 0 ? 1.0 : 0.0) : 0.5
                return Float(0.003 * gate * sin(2 * .pi * 2000 * t))  // about -35 dB, inside the decibel range
            }, sampleRate: rate)
        }
        var slow = RibbitParameters(signalBand: FrequencyBand(1800, 2200), pulseRateRange: FrequencyBand(8, 20),
                                    noiseBands: [FrequencyBand(200, 1000)])
        var fast = slow
        fast.pulseRateRange = FrequencyBand(22, 30)
        let pulsed = try Ribbit.scores(audio: audio(pulsed: true), parameters: slow)
        let pulsedFast = try Ribbit.scores(audio: audio(pulsed: true), parameters: fast)
        let steady = try Ribbit.scores(audio: audio(pulsed: false), parameters: slow)
        XCTAssertEqual(pulsed.clips.count, 2)
        for i in 0..<2 {
            XCTAssertGreaterThan(pulsed.clips[i].score, 20 * pulsedFast.clips[i].score)
            XCTAssertGreaterThan(pulsed.clips[i].score, 1000 * steady.clips[i].score)
        }
        // The PSD peak of the pulsed clip sits at the pulse rate (bins are 31.25/1024 Hz apart).
        let psd = pulsed.bestClipPSD, f = pulsed.bestClipFrequencies
        let peak = psd.indices.max { psd[$0] < psd[$1] } ?? 0
        XCTAssertEqual(f[peak], 12, accuracy: 0.2)
        // Overlapping clips and no noise bands.
        slow.clipOverlap = 1
        slow.noiseBands = []
        let overlapping = try Ribbit.scores(audio: audio(pulsed: true), parameters: slow)
        XCTAssertEqual(overlapping.clips.map(\.start), [0, 1, 2, 3])
        XCTAssertEqual(overlapping.clips.map(\.end), [2, 3, 4, 4])
    }

    func testBadParametersGiveErrorsNamingTheParameter() throws {
        let audio = AudioSamples(samples: [Float](repeating: 0.1, count: 32000), sampleRate: 16000)
        func message(_ parameters: RibbitParameters) -> String {
            do {
                _ = try Ribbit.scores(audio: audio, parameters: parameters)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        var p = RibbitParameters(signalBand: FrequencyBand(7000, 9000), pulseRateRange: FrequencyBand(8, 20))
        XCTAssertTrue(message(p).contains("signal band") && message(p).contains("Nyquist"), message(p))
        p.signalBand = FrequencyBand(1000, 2000)
        p.noiseBands = [FrequencyBand(6000, 8500)]
        XCTAssertTrue(message(p).contains("noise band") && message(p).contains("Nyquist"), message(p))
        p.noiseBands = []
        p.pulseRateRange = FrequencyBand(20, 20)
        XCTAssertTrue(message(p).contains("pulse-rate range") && message(p).contains("empty"), message(p))
        p.pulseRateRange = FrequencyBand(20, 8)
        XCTAssertTrue(message(p).contains("pulse-rate range"), message(p))
        p.pulseRateRange = FrequencyBand(8, 20)
        p.welchSegmentSamples = 256
        p.clipDuration = 1  // 62 amplitude samples at 16 kHz / 256
        XCTAssertTrue(message(p).contains("clip duration") && message(p).contains("Welch segment"), message(p))
        p.welchSegmentSamples = nil
        p.clipDuration = 0.01
        XCTAssertTrue(message(p).contains("clip duration"), message(p))
        p.clipDuration = 2
        p.clipOverlap = 2
        XCTAssertTrue(message(p).contains("clip overlap"), message(p))
        p.clipOverlap = 0
        p.overlapSamples = 512
        XCTAssertTrue(message(p).contains("overlap"), message(p))
        p.overlapSamples = 256
        XCTAssertEqual(message(p), "no error")
    }
}
