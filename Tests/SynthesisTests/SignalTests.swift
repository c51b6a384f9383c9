import Annotations
import Audio
import Foundation
import TestSupport
import XCTest
@testable import Synthesis

final class SignalTests: XCTestCase {
    private func powerSpectrogram(_ samples: [Float], rate: Int, window: Int = 512, overlap: Int? = nil) throws -> Spectrogram {
        try Spectrogram.compute(AudioSamples(samples: samples, sampleRate: rate),
                                parameters: SpectrogramParameters(windowSamples: window, overlapSamples: overlap, decibels: false), threads: 1)
    }

    /// Share of the spectrogram's power in rows within [low, high] Hz.
    private func bandShare(_ s: Spectrogram, _ low: Double, _ high: Double) -> Double {
        var inside = 0.0, total = 0.0
        for r in 0..<s.rowCount {
            let power = s.row(r).reduce(0.0) { $0 + Double($1) }
            total += power
            if s.frequencies[r] >= low, s.frequencies[r] <= high { inside += power }
        }
        return inside / total
    }

    func testEachSpeciesEnergyLiesInItsBandAndBoxesStayInside() throws {
        for (index, species) in (SpeciesProfile.standard + SpeciesProfile.recipe).enumerated() {
            var random = SeededRandom(seed: 500 + UInt64(index))
            for _ in 0..<6 {
                let call = CallSynthesizer.call(of: species, sampleRate: 22050, using: &random)
                XCTAssertEqual(call.samples.map(abs).max(), 1, species.code)
                XCTAssertGreaterThan(call.duration, species.pattern == .nasalHonk ? 0.12 : 0.25, species.code)
                XCTAssertLessThan(call.duration, 3.0, species.code)
                XCTAssertGreaterThanOrEqual(call.lowFrequency, species.lowFrequency, species.code)
                XCTAssertLessThanOrEqual(call.highFrequency, species.highFrequency, species.code)
                XCTAssertLessThan(call.lowFrequency, call.highFrequency)
                let s = try powerSpectrogram(call.samples, rate: 22050)
                XCTAssertGreaterThan(bandShare(s, species.lowFrequency, species.highFrequency), 0.93,
                                     "\(species.code): too little energy in \(species.lowFrequency)–\(species.highFrequency) Hz")
                XCTAssertGreaterThan(bandShare(s, call.lowFrequency, call.highFrequency), 0.9,
                                     "\(species.code): too little energy in its box \(call.lowFrequency)–\(call.highFrequency) Hz")
            }
        }
    }

    func testCallsVaryFromCallToCall() {
        for species in SpeciesProfile.standard + SpeciesProfile.recipe {
            var random = SeededRandom(seed: 3)
            let calls = (0..<8).map { _ in CallSynthesizer.call(of: species, sampleRate: 22050, using: &random) }
            XCTAssertGreaterThan(Set(calls.map(\.samples.count)).count, 5, "\(species.code): call lengths barely vary")
            XCTAssertGreaterThan(Set(calls.map(\.lowFrequency)).count, 5, "\(species.code): pitch barely varies")
        }
    }

    /// Pulses per second from the autocorrelation of the band's energy envelope.
    private func pulseRate(_ samples: [Float], rate: Int, band: ClosedRange<Double>) throws -> Double? {
        let s = try powerSpectrogram(samples, rate: rate, window: 128, overlap: 64)
        var envelope = [Double](repeating: 0, count: s.columnCount)
        for r in 0..<s.rowCount where band.contains(s.frequencies[r]) {
            for c in 0..<s.columnCount { envelope[c] += Double(s[r, c]) }
        }
        envelope = envelope.map { $0.squareRoot() }          // amplitude envelope
        let mean = envelope.reduce(0, +) / Double(envelope.count)
        envelope = envelope.map { $0 - mean }
        let framesPerSecond = Double(rate) / 64
        let lags = Int(framesPerSecond / 40)...Int(framesPerSecond / 5)
        func correlation(_ lag: Int) -> Double {
            (0..<(envelope.count - lag)).reduce(0.0) { $0 + envelope[$1] * envelope[$1 + lag] } / Double(envelope.count - lag)
        }
        let values = lags.map(correlation)
        // The shortest lag with a local peak near the highest one (multiples of the period peak too).
        let highest = values.max() ?? 0
        guard let best = values.indices.dropFirst().dropLast().first(where: {
            values[$0] >= 0.8 * highest && values[$0] >= values[$0 - 1] && values[$0] >= values[$0 + 1]
        }) else { return nil }
        // Parabolic interpolation around the peak.
        let (a, b, c) = (values[best - 1], values[best], values[best + 1])
        let offset = 0.5 * (a - c) / (a - 2 * b + c)
        return framesPerSecond / (Double(lags.lowerBound + best) + offset)
    }

    func testFrogPulseRateIsTheSpecifiedRate() throws {
        for (species, seeds) in [(SpeciesProfile.pulseFrog, 10...15), (slowFrog, 20...23), (.knockingFrog, 30...33), (.raspingFrog, 40...43)] {
            for seed in seeds {
                var random = SeededRandom(seed: UInt64(seed))
                let call = CallSynthesizer.call(of: species, sampleRate: 22050, using: &random)
                let measured = try XCTUnwrap(try pulseRate(call.samples, rate: 22050, band: species.lowFrequency...species.highFrequency), "\(species.code) seed \(seed): no pulsing at 5–40 pulses/s")
                let specified = species.pulseRate ?? 0
                XCTAssertEqual(measured, specified, accuracy: 0.04 * specified, "\(species.code) seed \(seed)")
            }
        }
        // The whistle has no such regular pulsing at 15/s.
        var random = SeededRandom(seed: 1)
        let whistle = CallSynthesizer.call(of: .sweepWhistler, sampleRate: 22050, using: &random)
        if let rate = try pulseRate(whistle.samples, rate: 22050, band: 2000...5000) { XCTAssertGreaterThan(abs(rate - 15), 1) }
    }

    /// The stepped whistle's notes fall one after the other; the honk's harmonics are multiples of its fundamental.
    func testSteppedWhistleFallsAndHonkStacksHarmonics() {
        var random = SeededRandom(seed: 8)
        for _ in 0..<10 {
            let notes = CallSynthesizer.steppedWhistle(.hootingDove, &random)
            XCTAssertTrue((3...5).contains(notes.count))
            for (a, b) in zip(notes, notes.dropFirst()) {
                XCTAssertGreaterThan(a.startFrequency, b.startFrequency, "each coo is lower than the last")
                XCTAssertLessThan(a.end, b.start, "coos do not overlap")
            }
            let honk = CallSynthesizer.nasalHonk(.nasalHonker, &random)
            let first = honk.filter { $0.start == honk[0].start }
            XCTAssertGreaterThanOrEqual(first.count, 3, "a honk has at least 3 harmonics in 0.4–3 kHz")
            for (k, note) in first.enumerated() {
                XCTAssertEqual(note.startFrequency, Double(k + 1) * first[0].startFrequency, accuracy: 1e-9)
                XCTAssertLessThanOrEqual(note.highestFrequency, SpeciesProfile.nasalHonker.highFrequency - CallSynthesizer.tonalMargin + 1e-9)
            }
        }
    }

    private var slowFrog: SpeciesProfile {
        var frog = SpeciesProfile.pulseFrog
        frog.code = "SLOW"
        frog.pulseRate = 9
        frog.lowFrequency = 800
        frog.highFrequency = 1600
        return frog
    }

    /// Mean power inside each annotation box, against the same band outside every box, in dB.
    private func boxContrasts(audioPath: String, tablePath: String) throws -> [Double] {
        let audio = try AudioFile.read(audioPath)
        let s = try powerSpectrogram(audio.samples, rate: audio.sampleRate)
        let boxes = try RavenTable.read(tablePath)
        var contrasts: [Double] = []
        for box in boxes {
            let low = box.lowFrequency ?? 0, high = box.highFrequency ?? 0
            let rows = (0..<s.rowCount).filter { s.frequencies[$0] >= low && s.frequencies[$0] <= high }
            var inside = 0.0, insideCount = 0, outside = 0.0, outsideCount = 0
            for c in 0..<s.columnCount {
                let t = s.times[c]
                let inBox = t >= box.start && t <= box.end
                let inAnyBox = boxes.contains { t >= $0.start - 0.3 && t <= $0.end + 1.0 }   // reverb tails too
                guard inBox || !inAnyBox else { continue }
                for r in rows {
                    if inBox { inside += Double(s[r, c]); insideCount += 1 } else { outside += Double(s[r, c]); outsideCount += 1 }
                }
            }
            guard insideCount > 0, outsideCount > 0 else { continue }
            contrasts.append(10 * log10((inside / Double(insideCount)) / (outside / Double(outsideCount))))
        }
        return contrasts
    }

    func testAnnotationBoxesHoldTheCalls() throws {
        let dataset = try QuickDatasetFixture.dataset()
        var targeted: [Double] = [], field: [Double] = []
        for file in dataset.manifest.files where file.part != .fieldTrain || !file.calls.isEmpty {
            let contrasts = try boxContrasts(audioPath: (dataset.root as NSString).appendingPathComponent(file.audio),
                                             tablePath: (dataset.root as NSString).appendingPathComponent(file.table))
            if file.part == .targeted { targeted += contrasts } else { field += contrasts }
        }
        targeted.sort(); field.sort()
        XCTAssertGreaterThan(targeted.count, 40)
        XCTAssertGreaterThan(field.count, 10)
        let targetedMedian = targeted[targeted.count / 2], fieldMedian = field[field.count / 2]
        print("box contrast: targeted min \(targeted[0]) median \(targetedMedian) dB; field min \(field[0]) median \(fieldMedian) dB")
        XCTAssertGreaterThan(targeted[0], 15, "a targeted call's box is not clearly louder than its band elsewhere")
        XCTAssertGreaterThan(targetedMedian, 25)
        XCTAssertGreaterThan(fieldMedian, 3, "field calls are not where the tables say")
        XCTAssertLessThan(fieldMedian, targetedMedian - 10, "field calls should be far fainter than targeted ones")
    }

    func testDeterministicMathMatchesLibm() {
        var worstSine = 0.0, worstExp = 0.0
        var random = SeededRandom(seed: 11)
        for _ in 0..<20000 {
            let x = random.uniform(-50...50)
            worstSine = max(worstSine, abs(DeterministicMath.sinCycles(x) - sin(2 * Double.pi * x)))
            let y = random.uniform(-40...40)
            worstExp = max(worstExp, abs(DeterministicMath.exp(y) / Foundation.exp(y) - 1))
        }
        XCTAssertLessThan(worstSine, 1e-9)
        XCTAssertLessThan(worstExp, 1e-12)
        XCTAssertEqual(DeterministicMath.amplitude(decibels: -20), 0.1, accuracy: 1e-14)
    }
}
