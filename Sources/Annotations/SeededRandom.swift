import Foundation

/// Deterministic random numbers: xoshiro256** seeded through SplitMix64.
///
/// Bounded integers, shuffles and samples are computed here (not with the standard library's
/// `random(in:using:)`/`shuffled(using:)`, whose algorithms may change), so the same seed gives
/// the same draws on every platform and Swift version.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform integer in 0..<bound (bound > 0), unbiased (rejection sampling).
    public mutating func integer(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")  // programmer error, never user data
        let n = UInt64(bound)
        let limit = UInt64.max - UInt64.max % n   // accept values below a multiple of n
        while true {
            let v = next()
            if v < limit { return Int(v % n) }
        }
    }

    /// Uniform double in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Fisher–Yates shuffle.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = integer(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }

    /// `count` distinct indices of 0..<population, in the order drawn (partial Fisher–Yates).
    public mutating func sample(_ count: Int, from population: Int) -> [Int] {
        var pool = Array(0..<population)
        let k = min(max(0, count), population)
        for i in 0..<k {
            let j = i + integer(below: population - i)
            pool.swapAt(i, j)
        }
        return Array(pool.prefix(k))
    }
}
