import Audio
import ChorusCore
import Foundation
import Tensor

/// Spectrogram benchmarks: STFT-to-tensor throughput per device next to Audio's FFTW path, and
/// Audio's one-hour decode + spectrogram timing.
public enum SpectrogramBenchmarks {
    /// Clip length of the STFT-to-tensor benchmark.
    public static let clipSeconds = 3.0
    /// Sample rate of the benchmark audio.
    public static let sampleRate = 32000

    /// Clips per second turned from raw 3 s, 32 kHz audio into `[1, 224, 224]` image tensors with the
    /// default settings (Hann 512, hop 256, full band, [-100, -20] dB), median of 5 timed batches
    /// after a warm-up batch.
    ///
    /// - Parameter device: an OpenCL device runs `Ops.spectrogramImages` (timing includes uploading
    ///   the batch and waiting for the kernels); nil or the CPU device runs Audio's FFTW path per clip
    ///   (`Spectrogram.compute` -> `image`) on all cores via `DispatchQueue.concurrentPerform`.
    public static func stftToTensor(device: Device?, batch: Int) throws -> Double {
        let samples = Int(clipSeconds * Double(sampleRate))
        let clips = testClips(count: batch, samples: samples)
        if let device, device.isOpenCL {
            let settings = SpectrogramImageSettings(sampleRate: sampleRate)
            let flat = clips.flatMap { $0 }
            let input = try Tensor.empty([batch, samples], on: device)
            let seconds = try measure(warmup: 1, repeats: 5) {
                try input.upload(flat)
                _ = try Ops.spectrogramImages(clips: input, parameters: settings)
                try device.synchronize()
            }
            return Double(batch) / seconds
        }
        let image = ImageParameters()
        let size = image.height * image.width
        let output = UnsafeMutablePointer<Float>.allocate(capacity: batch * size)
        defer { output.deallocate() }
        let lock = NSLock()
        var failure: Error?
        let seconds = try measure(warmup: 1, repeats: 5) {
            concurrentPerform(batch) { i in
                do {
                    let spectrogram = try Spectrogram.compute(AudioSamples(samples: clips[i], sampleRate: sampleRate), threads: 1)
                    let values = try spectrogram.image(image)
                    values.withUnsafeBufferPointer { (output + i * size).update(from: $0.baseAddress!, count: size) }
                } catch {
                    lock.lock(); failure = error; lock.unlock()
                }
            }
            if let failure { throw failure }
        }
        return Double(batch) / seconds
    }

    /// Audio's benchmark (`SpectrogramBenchmark.run`): seconds to decode `audioSeconds` of 32 kHz
    /// 16-bit WAV and compute its dB spectrogram (best of `repeats`). One hour is the target (< 0.6 s).
    public static func decodeAndSpectrogramSeconds(audioSeconds: Double = 3600, repeats: Int = 3, threads: Int? = nil) throws -> SpectrogramBenchmark.Result {
        try SpectrogramBenchmark.run(audioSeconds: audioSeconds, sampleRate: sampleRate, repeats: repeats, threads: threads)
    }

    /// Seconds for one hour of 32 kHz audio to dB spectrogram, decoding included (best of 3).
    public static func oneHourSeconds(threads: Int? = nil) throws -> Double {
        try SpectrogramBenchmark.oneHourSeconds(threads: threads)
    }

    /// Deterministic clips: tones that differ per clip in uniform noise (xorshift).
    static func testClips(count: Int, samples: Int) -> [[Float]] {
        (0..<count).map { c in
            var state = UInt32(0x9E37_79B9) &+ UInt32(c) &* 7919
            let step = 2 * Float.pi * (500 + 97 * Float(c % 50)) / Float(sampleRate)
            return (0..<samples).map { i in
                state ^= state << 13; state ^= state >> 17; state ^= state << 5
                let noise = (Float(state) / Float(UInt32.max) - 0.5) * 0.02
                return noise + 0.1 * sin(step * Float(i % 100_000))
            }
        }
    }
}
