import Foundation
import Kernels

/// Host wrappers of the "STFT to tensor" kernels in kernels.cl (`stft_power_db`,
/// `stft_power_db_dft`, `spectrogram_to_image`). They are OpenCL-only: the CPU path is Audio's
/// FFTW spectrogram, so these are not part of the `Backend` protocol.
extension OpenCLBackend {
    /// How the STFT of one frame is computed on this device.
    public enum STFTMethod: String, Sendable {
        /// Radix-2 FFT in `__local` memory (power-of-two FFT sizes that fit local memory).
        case fft
        /// Direct DFT per kept bin (any FFT size).
        case dft
    }

    /// The work-group size of the STFT kernels: one work-group per frame, a power of two.
    /// GPUs get 128 work-items (enough butterflies per stage to fill a SIMD group); CPU devices
    /// (POCL), where each work-group runs on one core and barriers split loops, get 16 (measured
    /// on POCL 3.1 for 512-point frames: 8 and 16 alike, 32 about 10% and 64 about 30% slower).
    public func stftWorkGroupSize(fftSize: Int) -> Int {
        let preferred = context.info.kind == .cpu ? 16 : 128
        var size = 1
        while size * 2 <= min(preferred, context.info.maxWorkGroupSize, max(1, fftSize / 4)) { size *= 2 }
        return size
    }

    /// The method `stftPowerDb` uses for these settings on this device.
    public func stftMethod(for settings: SpectrogramImageSettings) -> STFTMethod {
        let n = settings.fftSize
        let isPowerOfTwo = n >= 2 && n & (n - 1) == 0
        let bytes = (n / 2) * 8 + stftWorkGroupSize(fftSize: n) * 4
        return isPowerOfTwo && UInt64(bytes) <= context.info.localMemoryBytes ? .fft : .dft
    }

    /// `stft_power_db` (or `stft_power_db_dft`): dB power of the kept rows of every frame of every clip.
    /// - Parameters:
    ///   - clips: `batch x samples` floats, clip-major.
    ///   - out: `batch x settings.rowCount x frames` floats (row 0 = `settings.rowLo`).
    /// Settings must have been validated (`SpectrogramImageSettings.validate(samples:)`).
    public func stftPowerDb(batch: Int, samples: Int, settings: SpectrogramImageSettings, clips: Storage, out: Storage) throws {
        let frames = settings.frameCount(samples: samples)
        guard batch > 0, frames > 0 else { return }
        let n = settings.fftSize
        let method = stftMethod(for: settings)
        let workGroup = stftWorkGroupSize(fftSize: n)
        let window = try allocate(settings.windowSamples)
        try settings.window.withUnsafeBufferPointer { try upload($0, to: window, offset: 0) }
        // exp(-2 pi i t / n) in float64, interleaved (re, im): t < n/2 for the FFT, t < n for the DFT.
        let twiddleCount = method == .fft ? max(1, n / 2) : n
        var table = [Float](repeating: 0, count: 2 * twiddleCount)
        for t in 0..<twiddleCount {
            let angle = -2 * Double.pi * Double(t) / Double(n)
            table[2 * t] = Float(cos(angle))
            table[2 * t + 1] = Float(sin(angle))
        }
        let twiddles = try allocate(table.count)
        try table.withUnsafeBufferPointer { try upload($0, to: twiddles, offset: 0) }

        let common: [KernelArgument] = [.int(Int32(samples)), .int(Int32(frames)), .int(Int32(settings.windowSamples)),
                                        .int(Int32(settings.hopSamples)), .int(Int32(n))]
        let data: [KernelArgument] = [.buffer(clips.buffer!), .buffer(window.buffer!), .buffer(twiddles.buffer!),
                                      .float(settings.powerScale), .int(Int32(settings.rowLo)), .int(Int32(settings.rowCount)),
                                      .buffer(out.buffer!)]
        let removeMean = KernelArgument.int(settings.removeMean ? 1 : 0)
        switch method {
        case .fft:
            let log2n = Int32(n.trailingZeroBitCount)
            try context.launch("stft_power_db", global: [frames * workGroup, batch], local: [workGroup, 1],
                               common + [.int(log2n), removeMean] + data + [.local(max(1, n / 2) * 8), .local(workGroup * 4)])
        case .dft:
            let frameBytes = settings.windowSamples * 4 + workGroup * 4
            guard UInt64(frameBytes) <= context.info.localMemoryBytes else {
                throw TensorError.invalidArgument(op: "stftPowerDb", reason: "window samples \(settings.windowSamples) need \(frameBytes) bytes of local memory; \(context.info.name) has \(context.info.localMemoryBytes)")
            }
            try context.launch("stft_power_db_dft", global: [frames * workGroup, batch], local: [workGroup, 1],
                               common + [removeMean] + data + [.local(settings.windowSamples * 4), .local(workGroup * 4)])
        }
        _ = (window, twiddles)  // alive until enqueued; the pool hands buffers out again in queue order
    }

    /// `spectrogram_to_image`: dB rows `[batch, rows, frames]` (row 0 = lowest kept frequency) to
    /// images `[batch, 1, height, width]` in [-1, 1] (dB range clipped to [0, 1], flipped, bilinear, rescaled).
    public func spectrogramToImage(batch: Int, rows: Int, frames: Int, settings: SpectrogramImageSettings, decibels: Storage, out: Storage) throws {
        guard batch > 0, rows > 0, frames > 0 else { return }
        try context.launch("spectrogram_to_image", global: [settings.width, settings.height, batch], local: nil,
                           [.int(Int32(batch)), .int(Int32(rows)), .int(Int32(frames)), .int(Int32(settings.height)), .int(Int32(settings.width)),
                            .float(Float(rows) / Float(settings.height)), .float(Float(frames) / Float(settings.width)),
                            .float(settings.dBLow), .float(1 / (settings.dBHigh - settings.dBLow)),
                            .buffer(decibels.buffer!), .buffer(out.buffer!)])
    }
}
