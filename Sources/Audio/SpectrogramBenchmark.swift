import Foundation

/// The CPU spectrogram benchmark: decode a long 16-bit WAV and compute its dB spectrogram
/// (defaults: Hann 512, hop 256). `train-gpu bench` reports it.
public enum SpectrogramBenchmark {
    public struct Result: Sendable {
        /// Seconds of audio processed.
        public var audioSeconds: Double
        /// Best wall time of decode + spectrogram, seconds.
        public var seconds: Double
        /// Best decode-only time, seconds.
        public var decodeSeconds: Double
        /// Shape of the spectrogram (frequencies, times).
        public var shape: (Int, Int)
    }

    /// Writes `audioSeconds` of deterministic 32 kHz test audio (tones in noise) to a temporary WAV,
    /// then times reading it and computing its spectrogram, `repeats` times; returns the best time.
    /// The temporary file is removed afterwards.
    public static func run(audioSeconds: Double = 3600, sampleRate: Int = 32000, repeats: Int = 3, threads: Int? = nil) throws -> Result {
        let directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("chorus-spectrogram-bench-\(getpid())")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = (directory as NSString).appendingPathComponent("bench.wav")
        try AudioFile.write(testAudio(seconds: audioSeconds, sampleRate: sampleRate), to: path)

        var best = Double.infinity, bestDecode = Double.infinity
        var shape = (0, 0)
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            let audio = try AudioFile.read(path)
            let decoded = DispatchTime.now().uptimeNanoseconds
            let spectrogram = try Spectrogram.compute(audio, threads: threads)
            let end = DispatchTime.now().uptimeNanoseconds
            shape = (spectrogram.rowCount, spectrogram.columnCount)
            best = min(best, Double(end - start) / 1e9)
            bestDecode = min(bestDecode, Double(decoded - start) / 1e9)
        }
        return Result(audioSeconds: audioSeconds, seconds: best, decodeSeconds: bestDecode, shape: shape)
    }

    /// Seconds to turn one hour of 32 kHz audio into a dB spectrogram, decoding included (best of 3).
    public static func oneHourSeconds(threads: Int? = nil) throws -> Double {
        try run(threads: threads).seconds
    }

    /// Deterministic audio: a few tones plus low-level noise (xorshift), generated without Foundation randomness.
    static func testAudio(seconds: Double, sampleRate: Int) -> AudioSamples {
        let count = Int(seconds * Double(sampleRate))
        var state: UInt32 = 0x9E37_79B9
        let rate = Float(sampleRate)
        let steps: [Float] = [440, 2000, 5300].map { 2 * Float.pi * $0 / rate }
        var phases: [Float] = [0, 0, 0]
        let samples = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                state ^= state << 13; state ^= state >> 17; state ^= state << 5
                var x = (Float(state) / Float(UInt32.max) - 0.5) * 0.02
                for t in 0..<3 {
                    x += 0.1 * sin(phases[t])
                    phases[t] += steps[t]
                    if phases[t] > 2 * Float.pi { phases[t] -= 2 * Float.pi }
                }
                buffer[i] = x
            }
            initialized = count
        }
        return AudioSamples(samples: samples, sampleRate: sampleRate)
    }
}
