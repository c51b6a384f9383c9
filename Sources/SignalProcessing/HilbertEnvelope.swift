import Audio
import CFFTW
import Foundation

/// The magnitude of the analytic signal, as `abs(scipy.signal.hilbert(x))`: FFT, positive
/// frequencies doubled and negative ones zeroed (DC and, for even lengths, Nyquist kept), inverse FFT.
/// Single-precision FFTW; plans are cached per length and made under `FFTWPlanner`'s lock.
public enum HilbertEnvelope {
    public static func envelope(_ x: [Double]) -> [Double] {
        let n = x.count
        guard n > 1 else { return x.map(abs) }
        let plans = ComplexFFTPlans.shared(size: n)
        let a = fftwf_malloc(MemoryLayout<fftwf_complex>.stride * n)!.bindMemory(to: fftwf_complex.self, capacity: n)
        let b = fftwf_malloc(MemoryLayout<fftwf_complex>.stride * n)!.bindMemory(to: fftwf_complex.self, capacity: n)
        defer { fftwf_free(a); fftwf_free(b) }
        for i in 0..<n { a[i] = (Float(x[i]), 0) }
        fftwf_execute_dft(plans.forward, a, b)
        let half = n / 2
        for k in 1..<n {
            let factor: Float
            if n % 2 == 0 {
                factor = k < half ? 2 : (k == half ? 1 : 0)
            } else {
                factor = k <= half ? 2 : 0
            }
            b[k] = (b[k].0 * factor, b[k].1 * factor)
        }
        fftwf_execute_dft(plans.backward, b, a)
        let scale = 1 / Double(n)
        return (0..<n).map { i in
            let re = Double(a[i].0), im = Double(a[i].1)
            return (re * re + im * im).squareRoot() * scale
        }
    }
}

/// Forward and backward complex FFTW plans of one length, made once and kept for the process.
final class ComplexFFTPlans: @unchecked Sendable {
    let forward: OpaquePointer
    let backward: OpaquePointer
    nonisolated(unsafe) private static var cache: [Int: ComplexFFTPlans] = [:]

    static func shared(size: Int) -> ComplexFFTPlans {
        FFTWPlanner.withLock {
            if let plans = cache[size] { return plans }
            let plans = ComplexFFTPlans(size: size)
            cache[size] = plans
            return plans
        }
    }

    /// Called with the planner lock held.
    private init(size: Int) {
        let a = fftwf_malloc(MemoryLayout<fftwf_complex>.stride * size)!.bindMemory(to: fftwf_complex.self, capacity: size)
        let b = fftwf_malloc(MemoryLayout<fftwf_complex>.stride * size)!.bindMemory(to: fftwf_complex.self, capacity: size)
        defer { fftwf_free(a); fftwf_free(b) }
        forward = fftwf_plan_dft_1d(Int32(size), a, b, FFTW_FORWARD, FFTW_ESTIMATE)
        backward = fftwf_plan_dft_1d(Int32(size), a, b, FFTW_BACKWARD, FFTW_ESTIMATE)
    }
}
