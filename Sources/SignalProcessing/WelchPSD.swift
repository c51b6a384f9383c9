import Audio
import Foundation

/// Welch power spectral density, defined as `scipy.signal.welch(x, fs, nperseg: segment, nfft:)`
/// with scipy's other defaults: periodic Hann window, overlap `segment / 2` (floor), each segment's
/// mean removed (`detrend="constant"`), one-sided, `scaling="density"`
/// (`|X_k|² / (fs · Σ w²)`, doubled except at DC and, for even FFT sizes, Nyquist), segments
/// averaged by their mean. Segments start at `0, step, 2·step, …` while they fit; a signal
/// shorter than the segment is an error (the caller picks `min(segment, n)` as scipy would).
///
/// Holds FFT buffers, so one estimator serves one thread at a time.
public final class WelchEstimator {
    public let segment: Int
    public let fftSize: Int
    private let window: [Double]
    private let windowPowerSum: Double
    private let plan: RealFFTPlan
    private let buffers: FFTBuffers

    public init(segment: Int, fftSize: Int) throws {
        guard segment >= 2 else {
            throw SignalProcessingError.invalidParameter(name: "Welch segment", reason: "\(segment) samples; it must be at least 2")
        }
        guard fftSize >= segment else {
            throw SignalProcessingError.invalidParameter(name: "Welch FFT size", reason: "\(fftSize) is shorter than the segment (\(segment))")
        }
        self.segment = segment
        self.fftSize = fftSize
        window = (0..<segment).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(segment)) }
        windowPowerSum = window.reduce(0) { $0 + $1 * $1 }
        plan = try RealFFTPlan.shared(size: fftSize, batch: 1)
        buffers = try FFTBuffers(size: fftSize, batch: 1)
    }

    /// Frequencies of the PSD bins: `k · sampleRate / fftSize`, `k = 0 … fftSize/2`.
    public func frequencies(sampleRate: Double) -> [Double] {
        (0...(fftSize / 2)).map { Double($0) * sampleRate / Double(fftSize) }
    }

    /// Number of segments in `n` samples.
    public func segmentCount(_ n: Int) -> Int {
        let overlap = segment / 2, step = segment - overlap
        return n < segment ? 0 : (n - overlap) / step
    }

    /// The PSD of `x` (`fftSize / 2 + 1` values).
    /// - Throws: when `x` is shorter than one segment.
    public func psd(_ x: [Float], sampleRate: Double) throws -> [Double] {
        let count = segmentCount(x.count)
        guard count > 0 else {
            throw SignalProcessingError.invalidParameter(name: "Welch segment", reason: "\(segment) samples is longer than the signal (\(x.count) samples)")
        }
        let bins = fftSize / 2 + 1
        let step = segment - segment / 2
        var total = [Double](repeating: 0, count: bins)
        let input = buffers.input, output = buffers.outputFloats
        for s in 0..<count {
            let start = s * step
            var mean = 0.0
            for i in 0..<segment { mean += Double(x[start + i]) }
            mean /= Double(segment)
            for i in 0..<segment { input[i] = Float((Double(x[start + i]) - mean) * window[i]) }
            for i in segment..<fftSize { input[i] = 0 }
            plan.execute(buffers)
            for k in 0..<bins {
                let re = Double(output[2 * k]), im = Double(output[2 * k + 1])
                total[k] += re * re + im * im
            }
        }
        let scale = 1 / (sampleRate * windowPowerSum * Double(count))
        let nyquistIsSingle = fftSize % 2 == 0
        for k in 0..<bins {
            let single = k == 0 || (nyquistIsSingle && k == bins - 1)
            total[k] *= single ? scale : 2 * scale
        }
        return total
    }
}
