import Foundation

/// Which band a `ButterworthFilter` passes; frequencies in Hz.
public enum FilterKind: Sendable, Equatable {
    case lowpass(Double)
    case highpass(Double)
    /// Low and high cutoffs; the design has twice the given order, as scipy's `butter(N, [lo, hi], "band")`.
    case bandpass(Double, Double)
}

/// One biquad in direct form II transposed: b0 + b1 z⁻¹ + b2 z⁻² over 1 + a1 z⁻¹ + a2 z⁻².
public struct SecondOrderSection: Sendable, Equatable {
    public var b0, b1, b2, a1, a2: Double
}

/// A digital Butterworth filter designed as scipy's `butter(order, cutoff, btype, fs=..., output="sos")`
/// (analog prototype, pre-warped, bilinear transform) and run as cascaded second-order sections.
/// `applyZeroPhase` filters forward then backward like `scipy.signal.sosfiltfilt` (odd-extension
/// padding, steady-state initial conditions), so the result has no phase shift and the squared
/// magnitude response.
public struct ButterworthFilter: Sendable, Equatable {
    public let kind: FilterKind
    public let order: Int
    public let sampleRate: Int
    public let sections: [SecondOrderSection]

    /// - Throws: `AudioError.invalidParameter` when the order is not in 1...24, the sample rate is not
    ///   positive, or a cutoff is not strictly between 0 and Nyquist (or low >= high for a bandpass).
    public init(_ kind: FilterKind, order: Int = 5, sampleRate: Int) throws {
        guard (1...24).contains(order) else { throw AudioError.invalidParameter(name: "filter order", reason: "\(order) must be in 1...24") }
        guard sampleRate > 0 else { throw AudioError.invalidParameter(name: "sample rate", reason: "\(sampleRate) Hz must be positive") }
        let nyquist = Double(sampleRate) / 2
        func check(_ f: Double, _ name: String) throws {
            guard f.isFinite, f > 0, f < nyquist else {
                throw AudioError.invalidParameter(name: name, reason: "\(f) Hz must be above 0 and below the Nyquist frequency \(nyquist) Hz (sample rate \(sampleRate) Hz)")
            }
        }
        switch kind {
        case let .lowpass(f): try check(f, "lowpass cutoff")
        case let .highpass(f): try check(f, "highpass cutoff")
        case let .bandpass(lo, hi):
            try check(lo, "bandpass low cutoff")
            try check(hi, "bandpass high cutoff")
            guard lo < hi else { throw AudioError.invalidParameter(name: "bandpass", reason: "low cutoff \(lo) Hz must be below high cutoff \(hi) Hz") }
        }
        self.kind = kind
        self.order = order
        self.sampleRate = sampleRate
        sections = ButterworthDesign.sections(kind: kind, order: order, sampleRate: Double(sampleRate))
    }

    /// Filters forward only (causal, with phase shift), starting from rest.
    public func apply(_ x: [Float]) -> [Float] {
        var y = x.map(Double.init)
        for section in sections { section.filter(&y, initial: (0, 0)) }
        return y.map(Float.init)
    }

    /// Filters forward and backward (zero phase), as `scipy.signal.sosfiltfilt` with its default
    /// padding of `3 * (2 * sections + 1)` samples (less for short signals).
    public func applyZeroPhase(_ x: [Float]) -> [Float] {
        let n = x.count
        guard n > 1 else { return x }
        let pad = min(n - 1, 3 * (2 * sections.count + 1 - trailingZeroCount))
        // Odd extension: 2*x[0] - x[pad...1], x, 2*x[n-1] - x[n-2...n-1-pad].
        var y = [Double](repeating: 0, count: n + 2 * pad)
        let first = Double(x[0]), last = Double(x[n - 1])
        for i in 0..<pad { y[i] = 2 * first - Double(x[pad - i]) }
        for i in 0..<n { y[pad + i] = Double(x[i]) }
        for i in 0..<pad { y[pad + n + i] = 2 * last - Double(x[n - 2 - i]) }
        let steady = steadyStateConditions()
        runCascade(&y, steady: steady)
        y.reverse()
        runCascade(&y, steady: steady)
        y.reverse()
        return (0..<n).map { Float(y[pad + $0]) }
    }

    /// Magnitude of the frequency response at `frequency` Hz (one pass, not squared).
    public func magnitudeResponse(at frequency: Double) -> Double {
        let z = Complex.exp(imaginary: -2 * Double.pi * frequency / Double(sampleRate))
        let z2 = z * z
        var h = Complex(1)
        for s in sections {
            let numerator = Complex(s.b0) + z * s.b1 + z2 * s.b2
            let denominator = Complex(1) + z * s.a1 + z2 * s.a2
            h = h * (numerator / denominator)
        }
        return h.magnitude
    }

    private var trailingZeroCount: Int {
        min(sections.filter { $0.b2 == 0 }.count, sections.filter { $0.a2 == 0 }.count)
    }

    private func runCascade(_ y: inout [Double], steady: [(Double, Double)]) {
        // Each section starts in the steady state of its own first input sample (scipy scales the
        // cascade's conditions by x[0], which is the same thing once the earlier gains are included).
        guard let start = y.first else { return }
        for (section, zi) in zip(sections, steady) {
            section.filter(&y, initial: (zi.0 * start, zi.1 * start))
        }
    }

    /// `scipy.signal.sosfilt_zi`: per-section states for a unit step in steady state, each scaled by
    /// the DC gain of the sections before it. Multiply by the first input sample of each section.
    private func steadyStateConditions() -> [(Double, Double)] {
        var scale = 1.0
        var result: [(Double, Double)] = []
        for s in sections {
            // lfilter_zi for a biquad: solve [[1+a1, -1], [a2, 1]] z = [b1 - a1 b0, b2 - a2 b0].
            let r0 = s.b1 - s.a1 * s.b0, r1 = s.b2 - s.a2 * s.b0
            let det = (1 + s.a1) + s.a2
            var z0 = 0.0, z1 = 0.0
            if abs(det) > 1e-300 {
                z0 = (r0 + r1) / det
                z1 = r1 - s.a2 * z0
            }
            result.append((z0 * scale, z1 * scale))
            let dcGain = (s.b0 + s.b1 + s.b2) / (1 + s.a1 + s.a2)
            scale *= dcGain.isFinite ? dcGain : 0
        }
        return result
    }
}

extension SecondOrderSection {
    /// Filters `y` in place (direct form II transposed) from the given state.
    func filter(_ y: inout [Double], initial: (Double, Double)) {
        var z0 = initial.0, z1 = initial.1
        let b0 = self.b0, b1 = self.b1, b2 = self.b2, a1 = self.a1, a2 = self.a2
        y.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<buffer.count {
                let x = buffer[i]
                let out = b0 * x + z0
                z0 = b1 * x - a1 * out + z1
                z1 = b2 * x - a2 * out
                buffer[i] = out
            }
        }
    }
}
