import Annotations

/// Draws used by the synthesizer, built only on `SeededRandom`'s integer output so every platform
/// gets the same values.
extension SeededRandom {
    /// Uniform in `range` (the upper end is reached with probability 0).
    mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * unit()
    }

    /// Uniform integer in `range`.
    mutating func integer(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + integer(below: range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// White noise sample, uniform in [-1, 1), from 24 random bits.
    @inline(__always)
    mutating func noise() -> Double {
        Double(Int64(bitPattern: next()) >> 40) * 0x1.0p-23
    }

    /// A new independent generator for a sub-task (a call, a background layer).
    mutating func split() -> SeededRandom { SeededRandom(seed: next()) }
}

/// Seeds of independent streams: the dataset seed mixed with a category and an index (SplitMix64 finalizer),
/// so each file's content depends only on the seed and its own position, not on generation order.
enum StreamSeed {
    static func derive(_ seed: UInt64, category: UInt64, index: UInt64) -> UInt64 {
        mix(seed ^ mix(category &* 0x1_0000_0001 &+ index &+ 0x5EED))
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
