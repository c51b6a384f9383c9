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

    /// Deterministic audio: three whole-hertz tones (so one second of them repeats exactly) plus
    /// low-level xorshift noise, cheap enough to make an hour of quickly.
    static func testAudio(seconds: Double, sampleRate: Int) -> AudioSamples {
        let count = Int(seconds * Double(sampleRate))
        let period = sampleRate
        let tones: [Double] = [440, 2000, 5300]
        let oneSecond = (0..<period).map { i in
            Float(tones.reduce(0.0) { $0 + 0.1 * sin(2 * Double.pi * $1 * Double(i) / Double(sampleRate)) })
        }
        var state: UInt32 = 0x9E37_79B9
        let samples = LargeBuffer.floats(count) { buffer in
            oneSecond.withUnsafeBufferPointer { tone in
                var position = 0
                for i in 0..<count {
                    state ^= state << 13; state ^= state >> 17; state ^= state << 5
                    buffer[i] = tone[position] + (Float(state) * (1 / Float(UInt32.max)) - 0.5) * 0.02
                    position += 1
                    if position == period { position = 0 }
                }
            }
        }
        return AudioSamples(samples: samples, sampleRate: sampleRate)
    }
}
