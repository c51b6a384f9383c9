import Foundation

/// A single-scale continuous wavelet transform with the real Morlet wavelet
/// `ψ(x) = exp(−x²/2) · cos(5x)`, defined as PyWavelets' `pywt.cwt(x, scale, "morl")`
/// (method "conv", precision 12), which the reference grouse detector uses:
///
/// - `ψ` sampled on 4096 points over [−8, 8] and integrated by a cumulative sum (`∫ψ`, step 16/4095);
/// - the integral resampled at the scale: `f[k] = ∫ψ[⌊k / (scale · step)⌋]`, `k = 0 … ⌈16·scale⌉`;
/// - `c = −√scale · diff(x ∗ reverse(f))`, trimmed symmetrically to the input length.
///
/// The scale for a centre frequency `fc` at sample rate `fs` is `0.8125 · fs / fc` (0.8125 is
/// `pywt.central_frequency("morl")`).
public struct MorletTransform: Sendable {
    public static let centralFrequency = 0.8125
    public let scale: Double
    /// The scaled, reversed integrated wavelet (`f` above, reversed for direct convolution).
    let filter: [Double]

    public init(centerFrequency: Double, sampleRate: Double) throws {
        guard centerFrequency.isFinite, centerFrequency > 0, sampleRate.isFinite, centerFrequency * 2 <= sampleRate else {
            throw SignalProcessingError.invalidParameter(name: "center frequency", reason: "\(centerFrequency) Hz must be > 0 and at most half the sample rate (\(sampleRate) Hz)")
        }
        scale = MorletTransform.centralFrequency * sampleRate / centerFrequency
        let points = 1 << 12
        let step = 16.0 / Double(points - 1)
        var integral = [Double](repeating: 0, count: points)
        var running = 0.0
        for i in 0..<points {
            let x = -8 + Double(i) * step
            running += exp(-x * x / 2) * cos(5 * x)
            integral[i] = running * step
        }
        let count = Int((scale * 16 + 1).rounded(.up))
        var resampled: [Double] = []
        for k in 0..<count {
            let j = Int(Double(k) / (scale * step))
            if j < points { resampled.append(integral[j]) }
        }
        filter = resampled.reversed()
    }

    /// The transform of `x` (same length).
    public func transform(_ x: [Float]) -> [Double] {
        let n = x.count, length = filter.count
        guard n > 0 else { return [] }
        // Full convolution (n + length − 1 values), only the part the trim keeps plus one.
        let trimmed = (length - 2) / 2  // ⌊d⌋ with d = (length − 2) / 2
        let factor = -scale.squareRoot()
        var out = [Double](repeating: 0, count: n)
        func convolution(_ m: Int) -> Double {
            let lo = max(0, m - length + 1), hi = min(n - 1, m)
            guard lo <= hi else { return 0 }
            var sum = 0.0
            for i in lo...hi { sum += Double(x[i]) * filter[m - i] }
            return sum
        }
        var previous = convolution(trimmed)
        for k in 0..<n {
            let next = convolution(k + trimmed + 1)
            out[k] = factor * (next - previous)
            previous = next
        }
        return out
    }
}
