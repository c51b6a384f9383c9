/// Elementary functions computed with plain IEEE arithmetic (no libm), so that the generated audio
/// is bit-for-bit the same on every machine and C library. Accuracy is about 1e-9, far below the
/// 16-bit output resolution.
enum DeterministicMath {
    static let twoPi = 6.283185307179586
    static let ln2 = 0.6931471805599453
    static let ln10 = 2.302585092994046

    /// sin(2π·x) for `x` in cycles (any finite value).
    @inline(__always)
    static func sinCycles(_ x: Double) -> Double {
        var t = x - x.rounded(.down)          // [0, 1)
        if t >= 0.5 { t -= 1 }                // [-0.5, 0.5)
        if t > 0.25 { t = 0.5 - t } else if t < -0.25 { t = -0.5 - t }   // [-0.25, 0.25], same sine
        let z = t * twoPi, z2 = z * z
        var s = 1.0 / 6227020800.0           // 1/13!
        s = -1.0 / 39916800.0 + z2 * s        // 1/11!
        s = 1.0 / 362880.0 + z2 * s           // 1/9!
        s = -1.0 / 5040.0 + z2 * s
        s = 1.0 / 120.0 + z2 * s
        s = -1.0 / 6.0 + z2 * s
        return z * (1.0 + z2 * s)
    }

    /// cos(2π·x) for `x` in cycles.
    @inline(__always)
    static func cosCycles(_ x: Double) -> Double { sinCycles(x + 0.25) }

    /// e^x (0 below -700, +inf above 700).
    static func exp(_ x: Double) -> Double {
        if x < -700 { return 0 }
        if x > 700 { return .infinity }
        let k = (x / ln2).rounded()
        let r = x - k * ln2                   // |r| <= ln2 / 2
        var sum = 1.0, term = 1.0
        for i in 1...14 {
            term *= r / Double(i)
            sum += term
        }
        return sum * Double(sign: .plus, exponent: Int(k), significand: 1)
    }

    /// Amplitude ratio of a level in decibels: 10^(dB/20).
    static func amplitude(decibels: Double) -> Double { exp(decibels * ln10 / 20) }
}
