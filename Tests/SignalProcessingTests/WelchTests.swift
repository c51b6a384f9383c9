import XCTest
@testable import SignalProcessing

final class WelchTests: XCTestCase {
    /// A deterministic pseudo-random signal (LCG), the same as in the Python check below.
    static func signal(_ n: Int) -> [Float] {
        let modulus: Int64 = 1 << 31
        return (0..<n).map { i -> Float in
            let state: Int64 = (Int64(i) * 1_103_515_245 + 12_345) % modulus
            return Float(Double(state) / Double(modulus) - 0.5)
        }
    }

    /// Reference values from scipy 1.17.1, computed once:
    /// ```python
    /// i = np.arange(n, dtype=np.int64)
    /// x = (((i*1103515245+12345) % 2**31) / 2**31 - 0.5).astype(np.float32).astype(np.float64)
    /// f, p = scipy.signal.welch(x, fs=44100/256, nperseg=seg, nfft=1024)
    /// # p[0], p[1], p[37], p[256], p[512], p.sum(), p.max(), p.argmax()
    /// ```
    func testMatchesScipyWelch() throws {
        let cases: [(n: Int, segment: Int, bins: [Int: Double], sum: Double, max: Double, argmax: Int)] = [
            (300, 256, [0: 3.176993050441599e-05, 1: 5.865649645412656e-05, 37: 1.6490478415373784e-05,
                        256: 0.00019053076089362117, 512: 8.669064871779053e-05], 0.49546074011017793, 0.050029547403466254, 498),
            (100, 100, [0: 0.00014833995394711663, 1: 0.00029261174557899543, 37: 0.0014946587603862217,
                        256: 7.642684025942677e-05, 512: 0.0021976910510270405], 0.49534093346712876, 0.01940082592860726, 498),
            (700, 256, [0: 1.1676141950932486e-05, 1: 2.1878029200976777e-05, 37: 8.610159993760098e-06,
                        256: 0.00018581602223086163, 512: 4.731213785772717e-05], 0.495345188488278, 0.05003525354969421, 498),
        ]
        for c in cases {
            let estimator = try WelchEstimator(segment: c.segment, fftSize: 1024)
            let psd = try estimator.psd(Self.signal(c.n), sampleRate: 44100.0 / 256)
            XCTAssertEqual(psd.count, 513)
            for (bin, expected) in c.bins {
                XCTAssertEqual(psd[bin], expected, accuracy: 2e-5 * Swift.max(expected, 1e-3), "n \(c.n) bin \(bin)")
            }
            XCTAssertEqual(psd.reduce(0, +), c.sum, accuracy: 1e-5 * c.sum)
            XCTAssertEqual(psd.max() ?? 0, c.max, accuracy: 1e-5 * c.max)
            XCTAssertEqual(psd.firstIndex(of: psd.max() ?? 0), c.argmax)
        }
    }

    func testSegmentsAndErrors() throws {
        let estimator = try WelchEstimator(segment: 256, fftSize: 1024)
        XCTAssertEqual(estimator.segmentCount(255), 0)
        XCTAssertEqual(estimator.segmentCount(256), 1)
        XCTAssertEqual(estimator.segmentCount(384), 2)
        XCTAssertEqual(estimator.segmentCount(700), 4)
        XCTAssertThrowsError(try estimator.psd([Float](repeating: 1, count: 100), sampleRate: 100))
        XCTAssertThrowsError(try WelchEstimator(segment: 2048, fftSize: 1024))
        // A constant signal has no power after the constant detrend.
        let flat = try estimator.psd([Float](repeating: 3, count: 512), sampleRate: 100)
        XCTAssertLessThan(flat.max() ?? 1, 1e-10)
    }
}
