import CFFTW
import ChorusCore
import Foundation

/// The frame loop behind `Spectrogram.compute`: frames are transformed in batches with one cached
/// batched FFTW plan, per-thread buffers allocated once, and results written transposed into the
/// `[frequency][time]` output. No allocation per frame.
struct SpectrogramEngine {
    /// Frames per FFT batch: 64 for the usual sizes, fewer for long FFTs (about 256 KB of input).
    let batch: Int

    let parameters: SpectrogramParameters
    let window: [Float]
    /// Power scale per bin: 1/(Σw)², doubled except DC and (even sizes) Nyquist.
    let binScale: [Float]
    let plan: RealFFTPlan

    init(parameters: SpectrogramParameters) throws {
        self.parameters = parameters
        window = parameters.window.coefficients(parameters.windowSamples)
        let sum = window.reduce(0.0) { $0 + Double($1) }
        let scale = 1 / (sum * sum)
        let nfft = parameters.transformSize, bins = parameters.frequencyCount
        binScale = (0..<bins).map { k in
            let single = k == 0 || (nfft % 2 == 0 && k == bins - 1)
            return Float(single ? scale : 2 * scale)
        }
        batch = max(1, min(64, (1 << 16) / nfft))
        plan = try RealFFTPlan.shared(size: nfft, batch: batch)
    }

    func compute(_ samples: [Float], frameCount: Int, threads: Int?) throws -> [Float] {
        let bins = parameters.frequencyCount
        let batches = (frameCount + batch - 1) / batch
        let workers = max(1, min(batches, threads ?? (frameCount > 4096 ? Machine.usableCores : 1)))
        // One set of FFT buffers per worker, made (and allocation failures reported) up front.
        let workerBuffers = try (0..<workers).map { _ in try FFTBuffers(size: parameters.transformSize, batch: batch) }
        return LargeBuffer.floats(bins * frameCount) { out in
            samples.withUnsafeBufferPointer { input in
                let source = input.baseAddress!
                if workers == 1 {
                    run(batches: 0..<batches, samples: source, frameCount: frameCount, output: out, buffers: workerBuffers[0])
                } else {
                    let perWorker = (batches + workers - 1) / workers
                    concurrentPerform(workers) { w in
                        let range = (w * perWorker)..<min(batches, (w + 1) * perWorker)
                        if !range.isEmpty { run(batches: range, samples: source, frameCount: frameCount, output: out, buffers: workerBuffers[w]) }
                    }
                }
            }
        }
    }

    /// Computes the frames of `batches` into their columns of `output`.
    private func run(batches: Range<Int>, samples: UnsafePointer<Float>, frameCount: Int, output: UnsafeMutablePointer<Float>, buffers: FFTBuffers) {
        let windowLength = parameters.windowSamples, hop = parameters.hopSamples
        let nfft = parameters.transformSize, bins = parameters.frequencyCount
        let removeMean = parameters.removeMean, decibels = parameters.decibels
        let power = UnsafeMutablePointer<Float>.allocate(capacity: batch * bins)
        defer { power.deallocate() }
        window.withUnsafeBufferPointer { windowBuffer in
            binScale.withUnsafeBufferPointer { scaleBuffer in
                let w = windowBuffer.baseAddress!, scale = scaleBuffer.baseAddress!
                for b in batches {
                    let firstFrame = b * batch
                    let count = min(batch, frameCount - firstFrame)
                    for f in 0..<count {
                        let frame = samples + (firstFrame + f) * hop
                        let mean = removeMean ? SpectrogramEngine.sum(frame, windowLength) / Float(windowLength) : 0
                        let destination = buffers.input + f * nfft
                        for i in 0..<windowLength { destination[i] = (frame[i] - mean) * w[i] }
                    }
                    plan.execute(buffers)
                    // Power (and dB) per frame, contiguous, then transposed into columns
                    // firstFrame..<firstFrame+count of every row.
                    let spectrum = buffers.outputFloats
                    for f in 0..<count {
                        let row = power + f * bins, complex = spectrum + 2 * f * bins
                        for k in 0..<bins {
                            let re = complex[2 * k], im = complex[2 * k + 1]
                            row[k] = (re * re + im * im) * scale[k]
                        }
                        if decibels { FastDecibels.convert(row, count: bins) }
                    }
                    for k in 0..<bins {
                        let destination = output + k * frameCount + firstFrame
                        for f in 0..<count { destination[f] = power[f * bins + k] }
                    }
                }
            }
        }
    }

    /// Sum of `n` floats with sixteen independent accumulators (vectorises; a single running sum does not).
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = SIMD4<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0
        let raw = UnsafeRawPointer(x)
        var i = 0
        while i + 16 <= n {
            a0 += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD4<Float>.self)
            a1 += raw.loadUnaligned(fromByteOffset: 4 * (i + 4), as: SIMD4<Float>.self)
            a2 += raw.loadUnaligned(fromByteOffset: 4 * (i + 8), as: SIMD4<Float>.self)
            a3 += raw.loadUnaligned(fromByteOffset: 4 * (i + 12), as: SIMD4<Float>.self)
            i += 16
        }
        var total = ((a0 + a1) + (a2 + a3)).sum()
        while i < n { total += x[i]; i += 1 }
        return total
    }
}
