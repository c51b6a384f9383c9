import Audio
import TestSupport
import XCTest

final class SpectrogramTests: XCTestCase {
    func testToneOnABinHasSpectrumScaledPower() throws {
        // Amplitude A at an exact bin: |X|²/(Σw)² = A²/4, doubled = A²/2 -> 10 log10(0.125) for A = 0.5.
        let rate = 32000
        let audio = AudioSamples(samples: TestSignals.sine(frequency: 2000, sampleRate: rate, count: rate), sampleRate: rate)
        let spectrogram = try Spectrogram.compute(audio)
        XCTAssertEqual(spectrogram.rowCount, 257)
        XCTAssertEqual(spectrogram.columnCount, 1 + (rate - 512) / 256)
        let row = 2000 * 512 / rate
        XCTAssertEqual(spectrogram.frequencies[row], 2000)
        for column in [0, 60, spectrogram.columnCount - 1] {
            XCTAssertEqual(spectrogram[row, column], Float(10 * log10(0.125)), accuracy: 1e-3)
            XCTAssertLessThan(spectrogram[row + 3, column], -100)
        }
        let power = try Spectrogram.compute(audio, parameters: SpectrogramParameters(decibels: false))
        XCTAssertFalse(power.isDecibels)
        XCTAssertEqual(power[row, 10], 0.125, accuracy: 1e-4)
        XCTAssertLessThan(TestSignals.maxAbsDifference(power.inDecibels().values, spectrogram.values), 1e-4)
        XCTAssertEqual(spectrogram.power()[row, 10], 0.125, accuracy: 1e-4)
    }

    func testMeanRemovalAndDCAndNyquistAreNotDoubled() throws {
        // A constant signal: removed by detrending, otherwise all power in DC (not doubled): c².
        let audio = AudioSamples(samples: [Float](repeating: 0.5, count: 2048), sampleRate: 1000)
        let detrended = try Spectrogram.compute(audio, parameters: SpectrogramParameters(windowSamples: 64, decibels: false))
        XCTAssertLessThan(detrended.values.map(abs).max()!, 1e-12)
        let raw = try Spectrogram.compute(audio, parameters: SpectrogramParameters(windowSamples: 64, removeMean: false, decibels: false))
        XCTAssertEqual(raw[0, 3], 0.25, accuracy: 1e-6)
        // Alternating ±1 at Nyquist, rectangular window: |X|² = N², /N² = 1, not doubled.
        let nyquist = AudioSamples(samples: (0..<256).map { $0 % 2 == 0 ? 1 : -1 }, sampleRate: 1000)
        let top = try Spectrogram.compute(nyquist, parameters: SpectrogramParameters(windowSamples: 32, window: .rectangular, decibels: false))
        XCTAssertEqual(top[top.rowCount - 1, 0], 1, accuracy: 1e-5)
    }

    func testCustomWindowOverlapAndFFTSizeSetTheAxes() throws {
        let rate = 22050
        let audio = AudioSamples(samples: TestSignals.sine(frequency: 1000, sampleRate: rate, count: rate), sampleRate: rate)
        let p = SpectrogramParameters(windowSamples: 400, overlapSamples: 100, fftSize: 1024, window: .hamming)
        XCTAssertEqual(p.hopSamples, 300)
        let spectrogram = try Spectrogram.compute(audio, parameters: p)
        XCTAssertEqual(spectrogram.rowCount, 513)
        XCTAssertEqual(spectrogram.columnCount, 1 + (rate - 400) / 300)
        XCTAssertEqual(spectrogram.frequencies[1], Double(rate) / 1024, accuracy: 1e-12)
        XCTAssertEqual(spectrogram.times[2], (600.0 + 200) / Double(rate), accuracy: 1e-12)
        let peak = (0..<spectrogram.rowCount).max { spectrogram[$0, 5] < spectrogram[$1, 5] }!
        XCTAssertEqual(spectrogram.frequencies[peak], 1000, accuracy: Double(rate) / 1024)
        XCTAssertEqual(SpectrogramParameters().hopSamples, 256)
        let decoded = try JSONDecoder().decode(SpectrogramParameters.self, from: JSONEncoder().encode(p))
        XCTAssertEqual(decoded, p)
    }

    func testBandpassKeepsNearestRowsInclusive() throws {
        let spectrogram = try Spectrogram(values: (0..<40).map(Float.init), frequencies: [0, 100, 200, 300, 400, 500, 600, 700, 800, 900], times: [0, 1, 2, 3], isDecibels: true)
        let band = try spectrogram.bandpassed(minFrequency: 240, maxFrequency: 660)
        XCTAssertEqual(band.frequencies, [200, 300, 400, 500, 600, 700])
        XCTAssertEqual(Array(band.values.prefix(4)), [8, 9, 10, 11])
        XCTAssertEqual(band.values.count, 24)
        let trimmed = try spectrogram.trimmed(start: 1, end: 3)
        XCTAssertEqual(trimmed.times, [1, 2])
        XCTAssertEqual(trimmed.row(1), [5, 6])
    }

    func testConcurrentSpectrogramsWithNewPlanSizesAgreeWithSequentialOnes() throws {
        var rng = TestRNG(seed: 5)
        let audio = AudioSamples(samples: rng.uniform(40_000), sampleRate: 16000)
        let sizes = [100, 130, 250, 300, 333, 384, 500, 640]
        let sequential = try sizes.map { try Spectrogram.compute(audio, parameters: SpectrogramParameters(windowSamples: $0)).values }
        let results = ResultBox(count: sizes.count)
        DispatchQueue.concurrentPerform(iterations: sizes.count * 4) { i in
            let size = sizes[i % sizes.count]
            let values = try? Spectrogram.compute(audio, parameters: SpectrogramParameters(windowSamples: size, fftSize: size + 7)).values
            if i / sizes.count == 0 { results.set(i % sizes.count, values) }
        }
        let padded = try sizes.map { try Spectrogram.compute(audio, parameters: SpectrogramParameters(windowSamples: $0, fftSize: $0 + 7)).values }
        for i in sizes.indices {
            XCTAssertEqual(results.get(i), padded[i])
            XCTAssertFalse(sequential[i].isEmpty)
        }
    }
}

/// Thread-safe slots for results computed concurrently.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[Float]?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: [Float]?) { lock.lock(); values[i] = v; lock.unlock() }
    func get(_ i: Int) -> [Float]? { lock.lock(); defer { lock.unlock() }; return values[i] }
}
