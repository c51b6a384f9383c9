import CFFTW
import Foundation

/// Serialises FFTW planner calls. FFTW's planner (plan creation and destruction) is not thread-safe;
/// executing an existing plan is. Every module that makes FFTW plans must do so inside `withLock`.
public enum FFTWPlanner {
    private static let lock = NSLock()

    public static func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// A batched single-precision real-to-complex FFT plan (`fftwf_plan_many_dft_r2c`): `batch` transforms
/// of `size` real samples each, input rows `size` apart, output rows `size / 2 + 1` complex bins apart.
/// (A bins-major output layout, which would save the spectrogram's transpose, made FFTW about 35%
/// slower here.) Plans are made once per (size, batch) and cached for the life of the process; `shared` is
/// safe to call from any thread, and so is `execute` with caller-owned `FFTBuffers`.
public final class RealFFTPlan: @unchecked Sendable {
    public let size: Int
    public let batch: Int
    public var bins: Int { size / 2 + 1 }
    private let plan: OpaquePointer

    private struct Key: Hashable { let size: Int; let batch: Int }
    nonisolated(unsafe) private static var cache: [Key: RealFFTPlan] = [:]

    /// The cached plan for `batch` transforms of `size` samples, made on first use.
    public static func shared(size: Int, batch: Int = 1) throws -> RealFFTPlan {
        guard size > 0 else { throw AudioError.invalidParameter(name: "FFT size", reason: "\(size) must be positive") }
        guard batch > 0 else { throw AudioError.invalidParameter(name: "FFT batch", reason: "\(batch) must be positive") }
        let key = Key(size: size, batch: batch)
        return try FFTWPlanner.withLock {
            if let plan = cache[key] { return plan }
            let plan = try RealFFTPlan(size: size, batch: batch)
            cache[key] = plan
            return plan
        }
    }

    /// Called with the planner lock held.
    private init(size: Int, batch: Int) throws {
        self.size = size
        self.batch = batch
        let buffers = FFTBuffers(size: size, batch: batch)
        var n = Int32(size)
        let bins = Int32(size / 2 + 1)
        guard let plan = fftwf_plan_many_dft_r2c(1, &n, Int32(batch), buffers.input, nil, 1, Int32(size),
                                                 buffers.output, nil, 1, bins, FFTW_ESTIMATE) else {
            throw AudioError.invalidParameter(name: "FFT size", reason: "FFTW cannot plan \(batch) transforms of size \(size)")
        }
        self.plan = plan
    }

    /// Transforms `buffers.input` (batch x size reals) into `buffers.output` (batch x bins complex).
    public func execute(_ buffers: FFTBuffers) {
        precondition(buffers.size == size && buffers.batch == batch, "FFT buffers do not match the plan")
        fftwf_execute_dft_r2c(plan, buffers.input, buffers.output)
    }
}

/// SIMD-aligned input and output arrays (from `fftwf_malloc`) for one `RealFFTPlan`; one per thread.
public final class FFTBuffers {
    public let size: Int
    public let batch: Int
    /// `batch * size` real samples, row-major.
    public let input: UnsafeMutablePointer<Float>
    /// `batch * (size / 2 + 1)` complex bins, row-major, as interleaved (re, im) pairs.
    public let output: UnsafeMutablePointer<fftwf_complex>

    public init(size: Int, batch: Int) {
        self.size = size
        self.batch = batch
        let inputCount = size * batch, outputCount = (size / 2 + 1) * batch
        input = fftwf_malloc(MemoryLayout<Float>.stride * inputCount)!.bindMemory(to: Float.self, capacity: inputCount)
        input.initialize(repeating: 0, count: inputCount)
        output = fftwf_malloc(MemoryLayout<fftwf_complex>.stride * outputCount)!.bindMemory(to: fftwf_complex.self, capacity: outputCount)
        output.initialize(repeating: (0, 0), count: outputCount)
    }

    /// The output as `2 * batch * bins` floats: re, im, re, im, ...
    public var outputFloats: UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(output).assumingMemoryBound(to: Float.self)
    }

    deinit {
        fftwf_free(input)
        fftwf_free(output)
    }
}
