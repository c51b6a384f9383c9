import Audio
import TestSupport
import XCTest
@testable import SignalProcessing

final class GrouseTests: XCTestCase {
    /// `rugr_drum.wav`: the envelope's first clear thump is at 1.515 s (height 0.56; nothing
    /// above 0.2 before it), then thumps at 2.256, 2.876, 3.401, … with intervals 0.74, 0.62,
    /// 0.53, … s shrinking to ~0.05 s near 7.7 s (established with the reference algorithm in
    /// Python, PyWavelets + scipy: 41 peaks, one sequence of 24 points from 2.256 to 7.744 s).
    func testRuffedGrouseDrummingIsOneAcceleratingSequence() throws {
        let found = try GrouseDetector.detect(file: try SharedData.path("audio/rugr_drum.wav"))
        XCTAssertEqual(found.count, 1)
        guard let drum = found.first else { return }
        print("grouse: \(drum.beats) beats \(drum.start)-\(drum.end) s; intervals \(drum.intervals.map { ($0 * 1000).rounded() / 1000 })")
        XCTAssertEqual(drum.start, 1.515, accuracy: 0.02)
        XCTAssertEqual(drum.beatTimes[1], 2.256, accuracy: 0.02)
        XCTAssertEqual(drum.end, 7.744, accuracy: 0.03)
        XCTAssertTrue((23...27).contains(drum.beats), "\(drum.beats) beats")
        // Accelerating: every accepted interval is no longer than the one before, and the beats'
        // spacing falls from ~0.74 s to under 0.1 s.
        for (a, b) in zip(drum.intervals, drum.intervals.dropFirst()) { XCTAssertLessThanOrEqual(b, a + 1e-12) }
        let gaps = zip(drum.beatTimes.dropFirst(), drum.beatTimes).map { $0 - $1 }
        XCTAssertEqual(gaps.first ?? 0, 0.741, accuracy: 0.02)
        XCTAssertLessThan(drum.intervals.last ?? 1, 0.1)
        let lastGaps = gaps.suffix(5)
        XCTAssertLessThan(lastGaps.reduce(0, +) / Double(lastGaps.count), 0.15, "beats are much closer at the end")
        XCTAssertEqual(drum.windowStart, 0)
    }

    func testRecordingsWithoutDrummingYieldNothing() throws {
        for name in ["1min.wav", "great_plains_toad.wav", "birds_10s.wav"] {
            let found = try GrouseDetector.detect(file: try SharedData.path("audio/\(name)"))
            XCTAssertEqual(found.count, 0, "\(name): \(found.map { "\($0.start)-\($0.end)" })")
        }
    }

    func testWindowsAndInMemoryAudioAgree() throws {
        let path = try SharedData.path("audio/rugr_drum.wav")
        let fromFile = try GrouseDetector.detect(file: path)
        let fromAudio = try GrouseDetector.detect(audio: try AudioFile.read(path))
        XCTAssertEqual(fromFile.map(\.beats), fromAudio.map(\.beats))
        // 4 s windows: full windows only, the drumming split across them is not one sequence
        // any more; with the partial last window kept, nothing crashes and starts are offset.
        var p = GrouseParameters()
        p.windowDuration = 4
        p.keepPartialFinalWindow = true
        let windowed = try GrouseDetector.detect(file: path, parameters: p)
        for s in windowed { XCTAssertTrue([0.0, 4, 8].contains(s.windowStart)); XCTAssertGreaterThanOrEqual(s.start, s.windowStart) }
    }

    /// pywt 1.8: `pywt.cwt(x, 6.5, "morl")[0][0]` with
    /// `x = (sin(0.7 i) + 0.3 cos(2.1 i) + 0.01 i).astype(float32)`, i = 0…63.
    func testMorletMatchesPyWavelets() throws {
        let x = (0..<64).map { i -> Float in
            let t = Double(i)
            let value: Double = sin(0.7 * t) + 0.3 * cos(2.1 * t) + 0.01 * t
            return Float(value)
        }
        let morlet = try MorletTransform(centerFrequency: 50, sampleRate: 400)
        XCTAssertEqual(morlet.scale, 6.5)
        let c = morlet.transform(x)
        XCTAssertEqual(c.count, 64)
        let expected: [Int: Double] = [0: -0.7761033416836831, 1: 0.16716796502539585, 10: 0.8247559015225445,
                                       31: 1.696261883188455, 32: -0.15963114252220628, 63: 0.35020541858699933]
        for (k, v) in expected { XCTAssertEqual(c[k], v, accuracy: 1e-6, "coefficient \(k)") }
        XCTAssertEqual(c.reduce(0) { $0 + abs($1) }, 104.11053697527241, accuracy: 1e-5)
        XCTAssertThrowsError(try MorletTransform(centerFrequency: 250, sampleRate: 400))
    }

    func testHilbertEnvelopeOfCosineIsOne() {
        for n in [64, 63] {
            let x = (0..<n).map { cos(2 * Double.pi * 5 * Double($0) / Double(n)) * 0.5 }
            for v in HilbertEnvelope.envelope(x) { XCTAssertEqual(v, 0.5, accuracy: 1e-5) }
        }
    }

    func testPeakFinderHeightPlateauAndDistance() {
        let x: [Double] = [0, 1, 0, 0.5, 0.5, 0.5, 0, 0.1, 0.9, 0.2, 0.95, 0, 0.3, 0.3]
        XCTAssertEqual(PeakFinder.peaks(x, height: 0, distance: 1), [1, 4, 8, 10])
        XCTAssertEqual(PeakFinder.peaks(x, height: 0.6, distance: 1), [1, 8, 10])
        // Distance 3: 10 (0.95) removes 8; 1 stays; 4 is 3 away from 1 and 6 from 10.
        XCTAssertEqual(PeakFinder.peaks(x, height: 0, distance: 3), [1, 4, 10])
        XCTAssertEqual(PeakFinder.peaks(x, height: 0, distance: 4), [1, 10])
    }

    func testSequenceFinderFindsAccelerationAndIgnoresSteadyBeats() {
        var t = [0.0], gap = 0.6
        while gap > 0.08 { t.append((t.last ?? 0) + gap); gap -= 0.04 }
        let finder = AcceleratingSequenceFinder()
        let found = finder.sequences(t)
        XCTAssertEqual(found.count, 1)
        XCTAssertEqual(found.first?.anchor, 0)
        XCTAssertEqual(found.first?.times.count, t.count - 2)  // every peak but the anchor and the last
        let steady = (0..<30).map { Double($0) * 0.3 }
        XCTAssertEqual(finder.sequences(steady).count, 1, "equal intervals have dy = 0, inside [-0.2, 0]")
        var strict = finder
        strict.dyRange = ValueRange(-0.2, -0.001)
        XCTAssertEqual(strict.sequences(steady).count, 0)
        XCTAssertEqual(finder.sequences([0, 1]).count, 0)
    }

    func testBadParameters() {
        var p = GrouseParameters()
        p.centerFrequency = 300
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("center frequency")) }
        p = GrouseParameters()
        p.windowDuration = 0
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("window duration")) }
        p = GrouseParameters()
        p.sequences.dtRange = ValueRange(0.8, 0.05)
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("dt range")) }
    }
}
