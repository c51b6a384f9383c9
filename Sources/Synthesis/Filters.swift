/// Second-order IIR section (RBJ audio-EQ cookbook), transposed direct form II, in Double.
struct Biquad {
    private var b0 = 1.0, b1 = 0.0, b2 = 0.0, a1 = 0.0, a2 = 0.0
    private var z1 = 0.0, z2 = 0.0

    private init(b0: Double, b1: Double, b2: Double, a0: Double, a1: Double, a2: Double) {
        self.b0 = b0 / a0; self.b1 = b1 / a0; self.b2 = b2 / a0
        self.a1 = a1 / a0; self.a2 = a2 / a0
    }

    private static func angle(_ frequency: Double, _ sampleRate: Double) -> (cos: Double, sin: Double) {
        let cycles = min(0.499, max(1e-6, frequency / sampleRate))
        return (DeterministicMath.cosCycles(cycles), DeterministicMath.sinCycles(cycles))
    }

    static func lowpass(cutoff: Double, q: Double = 0.7071, sampleRate: Double) -> Biquad {
        let (c, s) = angle(cutoff, sampleRate), alpha = s / (2 * q)
        return Biquad(b0: (1 - c) / 2, b1: 1 - c, b2: (1 - c) / 2, a0: 1 + alpha, a1: -2 * c, a2: 1 - alpha)
    }

    static func highpass(cutoff: Double, q: Double = 0.7071, sampleRate: Double) -> Biquad {
        let (c, s) = angle(cutoff, sampleRate), alpha = s / (2 * q)
        return Biquad(b0: (1 + c) / 2, b1: -(1 + c), b2: (1 + c) / 2, a0: 1 + alpha, a1: -2 * c, a2: 1 - alpha)
    }

    /// Band-pass with 0 dB gain at `center`.
    static func bandpass(center: Double, q: Double, sampleRate: Double) -> Biquad {
        let (c, s) = angle(center, sampleRate), alpha = s / (2 * q)
        return Biquad(b0: alpha, b1: 0, b2: -alpha, a0: 1 + alpha, a1: -2 * c, a2: 1 - alpha)
    }

    /// Keeps the state, takes another filter's coefficients (for slowly moving formants).
    mutating func retune(like other: Biquad) {
        b0 = other.b0; b1 = other.b1; b2 = other.b2; a1 = other.a1; a2 = other.a2
    }

    @inline(__always)
    mutating func process(_ x: Double) -> Double {
        let y = b0 * x + z1
        z1 = b1 * x - a1 * y + z2
        z2 = b2 * x - a2 * y
        return y
    }

    /// Filters `buffer` in place.
    mutating func process(_ buffer: inout [Float]) {
        for i in buffer.indices { buffer[i] = Float(process(Double(buffer[i]))) }
    }
}

/// One-pole low-pass: a gentle 6 dB/octave roll-off, like air absorption over distance.
struct OnePoleLowpass {
    private let a: Double
    private var y = 0.0

    init(cutoff: Double, sampleRate: Double) {
        a = 1 - DeterministicMath.exp(-DeterministicMath.twoPi * cutoff / sampleRate)
    }

    @inline(__always)
    mutating func process(_ x: Double) -> Double {
        y += a * (x - y)
        return y
    }
}

/// Small Schroeder reverberator (four feedback combs into two all-passes): the diffuse tail of a
/// call heard from a distance in a forest.
struct Reverberator {
    private var combs: [(buffer: [Double], index: Int, gain: Double)]
    private var allpasses: [(buffer: [Double], index: Int)]
    private let allpassGain = 0.6

    /// - Parameter decaySeconds: time for the tail to fall by 60 dB.
    init(decaySeconds: Double, sampleRate: Double) {
        let combDelays = [0.0297, 0.0371, 0.0411, 0.0437]
        combs = combDelays.map { delay in
            let length = max(1, Int(delay * sampleRate))
            // gain^(decay / delay) = 10^-3
            let gain = DeterministicMath.exp(-3 * DeterministicMath.ln10 * delay / max(decaySeconds, 0.01))
            return ([Double](repeating: 0, count: length), 0, gain)
        }
        allpasses = [0.005, 0.0017].map { ([Double](repeating: 0, count: max(1, Int($0 * sampleRate))), 0) }
    }

    /// The reverberant (wet) part of `buffer`, same length.
    mutating func wet(_ buffer: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: buffer.count)
        for i in buffer.indices {
            let x = Double(buffer[i])
            var sum = 0.0
            for c in combs.indices {
                let y = combs[c].buffer[combs[c].index]
                combs[c].buffer[combs[c].index] = x + combs[c].gain * y
                combs[c].index += 1
                if combs[c].index == combs[c].buffer.count { combs[c].index = 0 }
                sum += y
            }
            var v = sum * 0.25
            for a in allpasses.indices {
                let delayed = allpasses[a].buffer[allpasses[a].index]
                let y = -allpassGain * v + delayed
                allpasses[a].buffer[allpasses[a].index] = v + allpassGain * y
                allpasses[a].index += 1
                if allpasses[a].index == allpasses[a].buffer.count { allpasses[a].index = 0 }
                v = y
            }
            out[i] = Float(v)
        }
        return out
    }
}
