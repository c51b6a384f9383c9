import Foundation

/// Deterministic test signals.
enum TestSignals {
    static func sine(frequency: Double, sampleRate: Int, count: Int, amplitude: Double = 0.5, phase: Double = 0) -> [Float] {
        (0..<count).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(sampleRate) + phase)) }
    }

    static func rms<C: Collection>(_ x: C) -> Double where C.Element == Float {
        guard !x.isEmpty else { return 0 }
        return (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
    }

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}
