import Foundation

/// Butterworth design in zeros/poles/gain, as scipy: `buttap`, `lp2lp_zpk` / `lp2hp_zpk` /
/// `lp2bp_zpk` on pre-warped frequencies, `bilinear_zpk`, then grouping into biquads.
enum ButterworthDesign {
    static func sections(kind: FilterKind, order: Int, sampleRate fs: Double) -> [SecondOrderSection] {
        // Analog prototype: poles on the left half of the unit circle, no zeros, gain 1.
        let prototype = stride(from: -order + 1, to: order, by: 2).map { m in
            -Complex.exp(imaginary: Double.pi * Double(m) / Double(2 * order))
        }
        func warp(_ f: Double) -> Double { 2 * fs * tan(Double.pi * f / fs) }
        var zeros: [Complex] = []
        var poles: [Complex]
        var gain: Double
        switch kind {
        case let .lowpass(f):
            let w = warp(f)
            poles = prototype.map { $0 * w }
            gain = pow(w, Double(order))
        case let .highpass(f):
            let w = warp(f)
            poles = prototype.map { Complex(w) / $0 }
            zeros = Array(repeating: Complex(0), count: order)
            gain = 1 / product(prototype.map { -$0 }).re
        case let .bandpass(lo, hi):
            let wLo = warp(lo), wHi = warp(hi)
            let bandwidth = wHi - wLo, centre = (wLo * wHi).squareRoot()
            let scaled = prototype.map { $0 * (bandwidth / 2) }
            poles = scaled.map { $0 + ($0 * $0 - Complex(centre * centre)).squareRoot } +
                scaled.map { $0 - ($0 * $0 - Complex(centre * centre)).squareRoot }
            zeros = Array(repeating: Complex(0), count: order)
            gain = pow(bandwidth, Double(order))
        }
        // Bilinear transform; zeros at infinity go to z = -1.
        let fs2 = Complex(2 * fs)
        let digitalZeros = zeros.map { (fs2 + $0) / (fs2 - $0) } + Array(repeating: Complex(-1), count: poles.count - zeros.count)
        let digitalPoles = poles.map { (fs2 + $0) / (fs2 - $0) }
        gain *= (product(zeros.map { fs2 - $0 }) / product(poles.map { fs2 - $0 })).re
        return group(zeros: digitalZeros.map(\.re), poles: digitalPoles, gain: gain)
    }

    private static func product(_ values: [Complex]) -> Complex { values.reduce(Complex(1)) { $0 * $1 } }

    /// Pairs conjugate poles (and leftover real poles) into biquads, each with two of the (real)
    /// zeros; zeros sorted and taken from both ends so a bandpass section gets one at -1 and one at +1.
    /// The overall gain goes on the first section.
    private static func group(zeros: [Double], poles: [Complex], gain: Double) -> [SecondOrderSection] {
        let tolerance = 1e-10
        let complexPoles = poles.filter { $0.im > tolerance }.sorted { $0.magnitudeSquared < $1.magnitudeSquared }
        var realPoles = poles.filter { abs($0.im) <= tolerance }.map(\.re).sorted()
        var denominators: [(Double, Double)] = complexPoles.map { (-2 * $0.re, $0.magnitudeSquared) }
        while realPoles.count >= 2 {
            let p = realPoles.removeFirst(), q = realPoles.removeFirst()
            denominators.append((-(p + q), p * q))
        }
        if let p = realPoles.first { denominators.append((-p, 0)) }
        var sortedZeros = zeros.sorted()
        var numerators: [(Double, Double, Double)] = []
        for _ in denominators {
            if sortedZeros.count >= 2 {
                let p = sortedZeros.removeFirst(), q = sortedZeros.removeLast()
                numerators.append((1, -(p + q), p * q))
            } else if let p = sortedZeros.popLast() {
                numerators.append((1, -p, 0))
            } else {
                numerators.append((1, 0, 0))
            }
        }
        // A section with a single pole should carry the single zero: move it there.
        if let single = denominators.firstIndex(where: { $0.1 == 0 }), let singleZero = numerators.firstIndex(where: { $0.2 == 0 && $0.1 != 0 }), single != singleZero {
            numerators.swapAt(single, singleZero)
        }
        var sections = zip(numerators, denominators).map { n, d in
            SecondOrderSection(b0: n.0, b1: n.1, b2: n.2, a1: d.0, a2: d.1)
        }
        if !sections.isEmpty {
            sections[0].b0 *= gain; sections[0].b1 *= gain; sections[0].b2 *= gain
        }
        return sections
    }
}
