import Annotations
import Audio
import ChorusCore
import Foundation

/// Real field recordings used as backgrounds, split by a seeded rule into a training pool (overlay
/// recordings) and a test pool (under the test recordings), so that no test background is heard in
/// training.
///
/// The rule: sort the recordings by file name (for a recorder's files, by time), cut the list into
/// consecutive blocks of `blockSize`, and in each block put `round(testShare × block size)` recordings,
/// chosen by a generator seeded from the dataset seed and the block's index, into the test pool and
/// the rest into the training pool. Every time of day thus lands on both sides.
public struct BackgroundSplit: Codable, Sendable, Equatable {
    /// Name of the folder the recordings came from (its last path component).
    public var source: String
    /// The rule in words, with its parameters.
    public var rule: String
    /// File names, in the order they are used.
    public var training: [String]
    public var test: [String]
    /// SHA-256 of each recording, by file name.
    public var sha256: [String: String]

    /// Splits the names (any order) with the rule above.
    public static func split(_ names: [String], seed: UInt64, blockSize: Int, testShare: Double) -> (training: [String], test: [String]) {
        let sorted = names.sorted()
        var training: [String] = [], test: [String] = []
        var block = 0
        var start = 0
        while start < sorted.count {
            let members = Array(sorted[start..<min(sorted.count, start + blockSize)])
            var random = SeededRandom(seed: StreamSeed.derive(seed, category: 3000, index: UInt64(block)))
            var order = Array(members.indices)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, random.integer(below: i + 1)) }
            let testCount = Int((testShare * Double(members.count)).rounded())
            let chosen = Set(order.prefix(testCount))
            for (i, name) in members.enumerated() {
                if chosen.contains(i) { test.append(name) } else { training.append(name) }
            }
            start += blockSize
            block += 1
        }
        return (training, test)
    }
}

/// Loads a background recording for a dataset: mono, DC offset removed (the mean, then a 40 Hz
/// high-pass), resampled to the dataset's rate, scaled by a gain in dB.
enum BackgroundLoader {
    static let extensions: Set<String> = ["wav", "flac"]

    /// File names of the recordings in `directory` (not recursive), sorted.
    static func names(in directory: String) throws -> [String] {
        guard FileSystem.isDirectory(directory) else {
            throw SynthesisError.invalidSpec(parameter: "backgrounds", reason: "\(directory) is not a directory of recordings")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
    }

    static func load(_ path: String, sampleRate: Int, gainDecibels: Double) throws -> [Float] {
        let audio = try AudioFile.read(path)
        var samples = audio.samples
        var mean = 0.0
        for v in samples { mean += Double(v) }
        mean /= Double(max(1, samples.count))
        for i in samples.indices { samples[i] -= Float(mean) }
        if audio.sampleRate != sampleRate {
            samples = try Resampler.resample(samples, from: audio.sampleRate, to: sampleRate)
        }
        var highpass = Biquad.highpass(cutoff: 40, sampleRate: Double(sampleRate))
        highpass.process(&samples)
        let gain = Float(DeterministicMath.amplitude(decibels: gainDecibels))
        if gain != 1 { for i in samples.indices { samples[i] *= gain } }
        return samples
    }
}
