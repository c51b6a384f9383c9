/// A source of uniform numbers in [0, 1), one per random choice.
///
/// Augmentation draws every choice through this, with the reference toolkit's Python calls written
/// in terms of one uniform `u` each, so a list of uniforms replayed through both gives the same
/// choices (`ReplayedDraws`; `Benchmarks/reference/augmentation_fixtures.py` patches Python with
/// the same formulas). Training draws from `SeededRandom`.
public protocol UniformDraws {
    /// The next uniform in [0, 1).
    mutating func unit() -> Double
}

extension SeededRandom: UniformDraws {}

extension UniformDraws {
    /// Python `random.randint(a, b)` (b inclusive): a + Int(u·(b − a + 1)).
    public mutating func randint(_ a: Int, _ b: Int) -> Int { a + Int(unit() * Double(b - a + 1)) }

    /// Python `random.randrange(a, b)` (b exclusive): a + Int(u·(b − a)). (Python raises on an
    /// empty range; this gives a.)
    public mutating func randrange(_ a: Int, _ b: Int) -> Int { a + Int(unit() * Double(b - a)) }

    /// Python `random.uniform(a, b)`: a + (b − a)·u.
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * unit() }

    /// Python `random.random()`: u.
    public mutating func random() -> Double { unit() }

    /// Python `random.choice(seq)`: the index Int(u·count).
    public mutating func choiceIndex(_ count: Int) -> Int { Int(unit() * Double(count)) }

    /// NumPy `np.random.randint(a, b)` (b exclusive): a + Int(u·(b − a)).
    public mutating func npRandint(_ a: Int, _ b: Int) -> Int { a + Int(unit() * Double(b - a)) }

    /// NumPy `np.random.uniform(a, b)`: a + (b − a)·u.
    public mutating func npUniform(_ a: Double = 0, _ b: Double = 1) -> Double { a + (b - a) * unit() }

    /// NumPy `np.random.uniform(a, b, n)`: n draws.
    public mutating func npUniform(_ a: Double, _ b: Double, count: Int) -> [Double] {
        (0..<max(0, count)).map { _ in npUniform(a, b) }
    }
}

/// Uniforms replayed from a list (tests against the reference toolkit). Running past the end
/// gives 0 and sets `overrun`.
public struct ReplayedDraws: UniformDraws, Sendable {
    public let values: [Double]
    /// How many values were used.
    public private(set) var consumed = 0
    public private(set) var overrun = false

    public init(_ values: [Double]) { self.values = values }

    public mutating func unit() -> Double {
        guard consumed < values.count else { overrun = true; return 0 }
        defer { consumed += 1 }
        return values[consumed]
    }
}
