import Foundation

/// How `Ops.spectrogramImages` turns raw clips into CNN input tensors on an OpenCL device: frames of
/// `windowSamples` every `hopSamples`, mean removed, windowed, zero-padded to `fftSize`, one-sided
/// power with "spectrum" scaling, dB, rows `rowLo...rowHi` kept, dB range mapped to [0, 1] (clipped),
/// flipped so row 0 is the highest frequency, bilinear resize to `height x width`, then `(x - 0.5) / 0.5`.
///
/// A plain description with no dependency on the Audio module; the defaults match Audio's
/// `SpectrogramParameters()` and `ImageParameters()` (Hann 512, hop 256, [-100, -20] dB, 224 x 224).
public struct SpectrogramImageSettings: Sendable, Equatable {
    /// Audio sample rate in Hz (for frequency limits and messages).
    public var sampleRate: Int
    /// Samples per frame.
    public var windowSamples: Int
    /// Samples between frame starts.
    public var hopSamples: Int
    /// FFT length (frames are zero-padded to it); powers of two use the FFT kernel, others a direct DFT.
    public var fftSize: Int
    /// `windowSamples` window coefficients.
    public var window: [Float]
    /// Subtract each frame's mean before windowing (scipy's `detrend="constant"`).
    public var removeMean: Bool
    /// First kept frequency row (bin `k` is `k * sampleRate / fftSize` Hz), inclusive.
    public var rowLo: Int
    /// Last kept frequency row, inclusive (at most `fftSize / 2`).
    public var rowHi: Int
    /// dB mapped to 0 (then -1).
    public var dBLow: Float
    /// dB mapped to 1 (then +1).
    public var dBHigh: Float
    /// Output rows.
    public var height: Int
    /// Output columns.
    public var width: Int

    /// - Parameters:
    ///   - window: the window coefficients; nil means a periodic Hann window of `windowSamples`.
    ///   - rowLo, rowHi: kept frequency rows; nil means 0 and `fftSize / 2` (no crop). Use
    ///     `nearestRows(minFrequency:maxFrequency:sampleRate:fftSize:)` to get them from Hz limits.
    public init(sampleRate: Int, windowSamples: Int = 512, hopSamples: Int? = nil, fftSize: Int? = nil,
                window: [Float]? = nil, removeMean: Bool = true, rowLo: Int? = nil, rowHi: Int? = nil,
                dBLow: Float = -100, dBHigh: Float = -20, height: Int = 224, width: Int = 224) {
        self.sampleRate = sampleRate
        self.windowSamples = windowSamples
        self.hopSamples = hopSamples ?? max(1, windowSamples - windowSamples / 2)
        self.fftSize = fftSize ?? windowSamples
        self.window = window ?? SpectrogramImageSettings.periodicHann(windowSamples)
        self.removeMean = removeMean
        self.rowLo = rowLo ?? 0
        self.rowHi = rowHi ?? (fftSize ?? windowSamples) / 2
        self.dBLow = dBLow
        self.dBHigh = dBHigh
        self.height = height
        self.width = width
    }

    /// Periodic Hann window, `0.5 - 0.5 cos(2 pi i / n)` (computed in float64, as Audio's `WindowType.hann`).
    public static func periodicHann(_ length: Int) -> [Float] {
        let n = Double(length)
        return (0..<max(length, 0)).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / n)) }
    }

    /// The rows nearest `minFrequency` and `maxFrequency` (`argmin |k * sampleRate / fftSize - limit|`,
    /// first on ties), exactly as Audio's `Spectrogram.bandpassed` picks them.
    /// - Throws: `TensorError.invalidArgument` when a limit lies outside 0...Nyquist or low >= high.
    public static func nearestRows(minFrequency: Double, maxFrequency: Double, sampleRate: Int, fftSize: Int) throws -> (rowLo: Int, rowHi: Int) {
        let op = "SpectrogramImageSettings.nearestRows"
        guard sampleRate > 0 else { throw TensorError.invalidArgument(op: op, reason: "sample rate \(sampleRate) Hz must be positive") }
        guard fftSize >= 1 else { throw TensorError.invalidArgument(op: op, reason: "fft size \(fftSize) must be positive") }
        guard minFrequency.isFinite, maxFrequency.isFinite, minFrequency < maxFrequency else {
            throw TensorError.invalidArgument(op: op, reason: "bandpass low limit \(minFrequency) Hz must be below high limit \(maxFrequency) Hz")
        }
        let rate = Double(sampleRate), nfft = Double(fftSize)
        let frequencies = (0...(fftSize / 2)).map { Double($0) * rate / nfft }
        let top = frequencies[frequencies.count - 1]
        guard minFrequency >= 0, maxFrequency <= top else {
            throw TensorError.invalidArgument(op: op, reason: "bandpass \(minFrequency)-\(maxFrequency) Hz is outside 0-\(top) Hz (the Nyquist frequency is \(top) Hz)")
        }
        return (nearest(minFrequency, frequencies), nearest(maxFrequency, frequencies))
    }

    private static func nearest(_ target: Double, _ sorted: [Double]) -> Int {
        var best = 0, bestDistance = Double.infinity
        for (i, f) in sorted.enumerated() where abs(f - target) < bestDistance {
            best = i
            bestDistance = abs(f - target)
        }
        return best
    }

    /// Kept frequency rows.
    public var rowCount: Int { rowHi - rowLo + 1 }

    /// Whole frames in a clip of `samples` (a partial last frame is dropped, like scipy).
    public func frameCount(samples: Int) -> Int {
        guard samples >= windowSamples, hopSamples > 0 else { return 0 }
        return 1 + (samples - windowSamples) / hopSamples
    }

    /// The power scale of single-sided bins, `1 / (sum w)^2` (doubled by the kernels except at DC and Nyquist),
    /// summed in float64 as Audio does.
    public var powerScale: Float {
        let sum = window.reduce(0.0) { $0 + Double($1) }
        return Float(1 / (sum * sum))
    }

    /// Checks every field against clips of `samples` samples; errors name the parameter and the op.
    public func validate(samples: Int, op: String = "spectrogramImages") throws {
        func bad(_ reason: String) -> TensorError { .invalidArgument(op: op, reason: reason) }
        guard sampleRate > 0 else { throw bad("sample rate \(sampleRate) Hz must be positive") }
        guard (2...(1 << 20)).contains(windowSamples) else { throw bad("window samples \(windowSamples) must be in 2...\(1 << 20)") }
        guard hopSamples >= 1 else { throw bad("hop samples \(hopSamples) must be at least 1") }
        guard fftSize >= windowSamples, fftSize <= 1 << 22 else {
            throw bad("fft size \(fftSize) must be at least the window samples (\(windowSamples)) and at most \(1 << 22)")
        }
        guard window.count == windowSamples else { throw bad("window has \(window.count) coefficients, expected window samples = \(windowSamples)") }
        guard window.allSatisfy(\.isFinite) else { throw bad("window coefficients must be finite") }
        let sum = window.reduce(0.0) { $0 + Double($1) }
        guard sum != 0 else { throw bad("window coefficients sum to 0, so the spectrum scaling 1/(sum w)^2 is undefined") }
        guard rowLo >= 0, rowLo <= rowHi, rowHi <= fftSize / 2 else {
            throw bad("rows rowLo \(rowLo) ... rowHi \(rowHi) must satisfy 0 <= rowLo <= rowHi <= fft size / 2 = \(fftSize / 2)")
        }
        guard dBLow.isFinite, dBHigh.isFinite, dBLow < dBHigh else { throw bad("dB range \(dBLow)...\(dBHigh) must be finite with low < high") }
        guard height > 0, width > 0, height <= 16384, width <= 16384 else {
            throw bad("image size \(height)x\(width) must be positive and at most 16384x16384")
        }
        guard samples >= windowSamples else {
            throw bad("clips of \(samples) samples (\(String(format: "%.4f", Double(samples) / Double(sampleRate))) s) are shorter than one window (window samples = \(windowSamples))")
        }
    }
}
