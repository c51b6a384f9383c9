import CSoxr
import Foundation

/// Band-limited sample-rate conversion with libsoxr at "high quality" (20-bit precision,
/// linear phase, pass band to 91.3% of the lower Nyquist, stop-band rejection > 120 dB).
public enum Resampler {
    /// The highest sample rate audio is resampled to (studio recorders stop at 384 kHz; bat
    /// detectors record up to 768 kHz).
    public static let maximumSampleRate = 768_000

    /// Resamples a whole signal from `from` Hz to `to` Hz. The result has
    /// `round(x.count * to / from)` samples (give or take one, from the filter's flush).
    public static func resample(_ x: [Float], from: Int, to: Int) throws -> [Float] {
        try validateRates(from: from, to: to)
        if from == to || x.isEmpty { return from == to ? x : [] }
        let capacity = Int((Double(x.count) * Double(to) / Double(from)).rounded(.up)) + 16
        var output = [Float](repeating: 0, count: capacity)
        var ioSpec = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var qualitySpec = soxr_quality_spec(UInt(SOXR_HQ), 0)
        var done = 0
        let error: soxr_error_t? = x.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                soxr_oneshot(Double(from), Double(to), 1, input.baseAddress, input.count, nil,
                             out.baseAddress, out.count, &done, &ioSpec, &qualitySpec, nil)
            }
        }
        if let error { throw AudioError.resamplingFailed(reason: "\(from) Hz to \(to) Hz: \(String(cString: error))") }
        output.removeLast(output.count - done)
        return output
    }

    static func validateRates(from: Int, to: Int) throws {
        guard from > 0 else { throw AudioError.invalidParameter(name: "source sample rate", reason: "\(from) Hz must be positive") }
        guard to > 0 else { throw AudioError.invalidParameter(name: "target sample rate", reason: "\(to) Hz must be positive") }
        guard to <= maximumSampleRate else {
            throw AudioError.invalidParameter(name: "target sample rate", reason: "\(to) Hz is above the largest supported rate, \(maximumSampleRate) Hz")
        }
    }
}

/// A libsoxr resampler fed block by block, for streaming long files. Not thread-safe.
final class StreamingResampler {
    private let handle: soxr_t
    private let ratio: Double
    private var output: [Float] = []

    init(from: Int, to: Int) throws {
        try Resampler.validateRates(from: from, to: to)
        var ioSpec = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var qualitySpec = soxr_quality_spec(UInt(SOXR_HQ), 0)
        var error: soxr_error_t?
        guard let handle = soxr_create(Double(from), Double(to), 1, &error, &ioSpec, &qualitySpec, nil), error == nil else {
            throw AudioError.resamplingFailed(reason: "\(from) Hz to \(to) Hz: \(error.map { String(cString: $0) } ?? "cannot create resampler")")
        }
        self.handle = handle
        ratio = Double(to) / Double(from)
    }

    deinit { soxr_delete(handle) }

    /// Feeds `input` and returns the output samples that are ready; call `finish()` at the end.
    func process(_ input: [Float]) throws -> [Float] {
        var result: [Float] = []
        var consumed = 0
        while consumed < input.count {
            let capacity = Int(Double(input.count - consumed) * ratio) + 64
            if output.count < capacity { output = [Float](repeating: 0, count: capacity) }
            var used = 0, produced = 0
            let error: soxr_error_t? = input.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { out in
                    soxr_process(handle, source.baseAddress! + consumed, source.count - consumed, &used, out.baseAddress, out.count, &produced)
                }
            }
            if let error { throw AudioError.resamplingFailed(reason: String(cString: error)) }
            result.append(contentsOf: output[0..<produced])
            consumed += used
            if used == 0 && produced == 0 { break }
        }
        return result
    }

    /// Flushes the filter's delay line: the last output samples.
    func finish() throws -> [Float] {
        var result: [Float] = []
        if output.count < 4096 { output = [Float](repeating: 0, count: 4096) }
        while true {
            var produced = 0
            let error: soxr_error_t? = output.withUnsafeMutableBufferPointer { out in
                soxr_process(handle, nil, 0, nil, out.baseAddress, out.count, &produced)
            }
            if let error { throw AudioError.resamplingFailed(reason: String(cString: error)) }
            if produced == 0 { break }
            result.append(contentsOf: output[0..<produced])
        }
        return result
    }
}
