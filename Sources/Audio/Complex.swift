import Foundation

/// Minimal double-precision complex numbers for filter design.
struct Complex: Equatable {
    var re: Double
    var im: Double

    init(_ re: Double, _ im: Double = 0) { self.re = re; self.im = im }

    static func + (a: Complex, b: Complex) -> Complex { Complex(a.re + b.re, a.im + b.im) }
    static func - (a: Complex, b: Complex) -> Complex { Complex(a.re - b.re, a.im - b.im) }
    static func * (a: Complex, b: Complex) -> Complex { Complex(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re) }
    static func * (a: Complex, s: Double) -> Complex { Complex(a.re * s, a.im * s) }
    static func / (a: Complex, b: Complex) -> Complex {
        let d = b.re * b.re + b.im * b.im
        return Complex((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d)
    }
    static prefix func - (a: Complex) -> Complex { Complex(-a.re, -a.im) }

    var magnitudeSquared: Double { re * re + im * im }
    var magnitude: Double { magnitudeSquared.squareRoot() }

    /// Principal square root.
    var squareRoot: Complex {
        let r = magnitude
        let real = ((r + re) / 2).squareRoot()
        let imaginary = ((r - re) / 2).squareRoot()
        return Complex(real, im < 0 ? -imaginary : imaginary)
    }

    static func exp(imaginary theta: Double) -> Complex { Complex(cos(theta), sin(theta)) }
}
