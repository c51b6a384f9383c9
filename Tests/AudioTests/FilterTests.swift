import Audio
import XCTest

final class FilterTests: XCTestCase {
    private let rate = 32000

    /// Squared magnitude of the digital Butterworth made by the bilinear transform, from its definition.
    private func expectedPower(_ kind: FilterKind, order: Int, at f: Double) -> Double {
        let fs = Double(rate)
        func warp(_ x: Double) -> Double { 2 * fs * tan(Double.pi * x / fs) }
        let w = warp(f)
        let ratio: Double
        switch kind {
        case let .lowpass(c): ratio = w / warp(c)
        case let .highpass(c): ratio = warp(c) / w
        case let .bandpass(lo, hi):
            let a = warp(lo), b = warp(hi)
            ratio = (w * w - a * b) / (w * (b - a))
        }
        return 1 / (1 + pow(ratio * ratio, Double(order)))
    }

    func testMagnitudeResponseIsButterworth() throws {
        let kinds: [FilterKind] = [.lowpass(1000), .highpass(2500), .bandpass(500, 8000), .bandpass(1900, 2400), .lowpass(15000)]
        for kind in kinds {
            for order in [1, 2, 5, 8] {
                let filter = try ButterworthFilter(kind, order: order, sampleRate: rate)
                for f in stride(from: 50.0, to: 16000, by: 397) {
                    let got = filter.magnitudeResponse(at: f)
                    let expected = expectedPower(kind, order: order, at: f).squareRoot()
                    XCTAssertEqual(got, expected, accuracy: 1e-7 + 1e-6 * expected, "\(kind) order \(order) at \(f) Hz")
                }
            }
        }
        XCTAssertEqual(try ButterworthFilter(.bandpass(500, 8000), sampleRate: rate).sections.count, 5)
        XCTAssertEqual(try ButterworthFilter(.lowpass(500), sampleRate: rate).sections.count, 3)
    }

    func testZeroPhaseFilteringPassesAndStopsTonesWithoutShiftingThem() throws {
        let filter = try ButterworthFilter(.bandpass(500, 8000), sampleRate: rate)
        let n = rate
        let middle = (n / 4)..<(3 * n / 4)
        // Passband tone: unchanged in level and phase (squared response ~ 1, no delay).
        let pass = TestSignals.sine(frequency: 2000, sampleRate: rate, count: n)
        let passed = filter.applyZeroPhase(pass)
        XCTAssertLessThan(TestSignals.maxAbsDifference(Array(passed[middle]), Array(pass[middle])), 1e-3)
        // Near the edge the tone is attenuated by |H|², still with no phase shift.
        let edge = TestSignals.sine(frequency: 520, sampleRate: rate, count: n)
        let gain = Float(expectedPower(.bandpass(500, 8000), order: 5, at: 520))
        let edgeOut = filter.applyZeroPhase(edge)
        XCTAssertLessThan(TestSignals.maxAbsDifference(Array(edgeOut[middle]), Array(edge[middle]).map { $0 * gain }), 2e-3)
        // A forward-only pass does shift it.
        let causal = filter.apply(pass)
        XCTAssertGreaterThan(TestSignals.maxAbsDifference(Array(causal[middle]), Array(pass[middle])), 0.05)
        // Stopband tones.
        for f in [60.0, 14000] {
            let stopped = filter.applyZeroPhase(TestSignals.sine(frequency: f, sampleRate: rate, count: n))
            XCTAssertLessThan(TestSignals.rms(stopped[middle]), 0.5 * 1e-3, "\(f) Hz")
        }
        // Highpass removes a DC offset; lowpass keeps it.
        let offset = [Float](repeating: 0.3, count: 4000)
        XCTAssertLessThan(try ButterworthFilter(.highpass(100), sampleRate: rate).applyZeroPhase(offset).map(abs).max()!, 1e-4)
        XCTAssertLessThan(TestSignals.maxAbsDifference(try ButterworthFilter(.lowpass(100), sampleRate: rate).applyZeroPhase(offset), offset), 1e-4)
    }

    func testShortSignalsDoNotCrash() throws {
        let filter = try ButterworthFilter(.lowpass(1000), sampleRate: rate)
        XCTAssertEqual(filter.applyZeroPhase([]), [])
        XCTAssertEqual(filter.applyZeroPhase([0.5]), [0.5])
        XCTAssertEqual(filter.applyZeroPhase([0.1, 0.2, 0.3]).count, 3)
    }
}
