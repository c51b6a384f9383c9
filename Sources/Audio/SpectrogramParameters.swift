import Foundation

/// Analysis windows, all periodic ("fftbins" in scipy's `get_window`), as used for spectra.
public enum WindowType: String, Codable, Sendable, CaseIterable {
    case hann
    case hamming
    case blackman
    case rectangular

    /// The `length` window coefficients.
    public func coefficients(_ length: Int) -> [Float] {
        let n = Double(length)
        return (0..<length).map { i in
            let phase = 2 * Double.pi * Double(i) / n
            switch self {
            case .hann: return Float(0.5 - 0.5 * cos(phase))
            case .hamming: return Float(0.54 - 0.46 * cos(phase))
            case .blackman: return Float(0.42 - 0.5 * cos(phase) + 0.08 * cos(2 * phase))
            case .rectangular: return 1
            }
        }
    }
}

/// How a spectrogram is computed. The defaults reproduce
/// `scipy.signal.spectrogram(x, fs, window="hann", nperseg=512, noverlap=256, scaling="spectrum")`
/// in decibels.
public struct SpectrogramParameters: Codable, Sendable, Equatable {
    /// Samples per frame.
    public var windowSamples = 512
    /// Samples shared by consecutive frames; nil means half the window.
    public var overlapSamples: Int? = nil
    /// FFT length (frames zero-padded to it); nil means the window length.
    public var fftSize: Int? = nil
    public var window: WindowType = .hann
    /// Subtract each frame's mean before windowing (scipy's `detrend="constant"`).
    public var removeMean = true
    /// Values in dB (`10 log10(max(power, 1e-30))`) rather than linear power.
    public var decibels = true

    public init(windowSamples: Int = 512, overlapSamples: Int? = nil, fftSize: Int? = nil, window: WindowType = .hann,
                removeMean: Bool = true, decibels: Bool = true) {
        self.windowSamples = windowSamples
        self.overlapSamples = overlapSamples
        self.fftSize = fftSize
        self.window = window
        self.removeMean = removeMean
        self.decibels = decibels
    }

    /// The overlap actually used.
    public var overlap: Int { overlapSamples ?? windowSamples / 2 }
    /// Samples between frame starts.
    public var hopSamples: Int { windowSamples - overlap }
    /// The FFT length actually used.
    public var transformSize: Int { fftSize ?? windowSamples }
    /// Frequency rows of the result: `transformSize / 2 + 1`.
    public var frequencyCount: Int { transformSize / 2 + 1 }

    /// Number of whole frames in `sampleCount` samples (a partial last frame is dropped, like scipy).
    public func frameCount(sampleCount: Int) -> Int {
        guard sampleCount >= windowSamples, hopSamples > 0 else { return 0 }
        return 1 + (sampleCount - windowSamples) / hopSamples
    }

    /// Checks every field; errors name the parameter.
    public func validate() throws {
        guard (2...(1 << 20)).contains(windowSamples) else {
            throw AudioError.invalidParameter(name: "window samples", reason: "\(windowSamples) must be in 2...\(1 << 20)")
        }
        guard overlap >= 0, overlap < windowSamples else {
            throw AudioError.invalidParameter(name: "overlap samples", reason: "\(overlap) must be >= 0 and less than the window (\(windowSamples))")
        }
        guard transformSize >= windowSamples, transformSize <= 1 << 22 else {
            throw AudioError.invalidParameter(name: "FFT size", reason: "\(transformSize) must be at least the window (\(windowSamples)) and at most \(1 << 22)")
        }
    }
}
