import Foundation
import Tensor

/// The audio pipeline's level-dependent arithmetic for one sample: turns its draws, its clip and
/// its overlay clips into the `augment_waveform` parameter block and one combined overlay
/// waveform, with the reference's arithmetic (OpenSoundscape's `action_functions`). Levels follow
/// the reference: dBFS = 20·log10(RMS·√2).
struct AudioAugmentation {
    /// The parameter block (`waveformAugmentParameterCount` floats).
    var parameters: [Float]
    /// The overlay rounds combined into one waveform (nil when there were none).
    var overlay: [Float]?
    /// The gain applied, dB (0 when off).
    var gainDB: Double

    static func rms(_ x: [Float]) -> Double {
        guard !x.isEmpty else { return 0 }
        return (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
    }

    static func dBFS(rms: Double) -> Double { 20 * log10(rms * 2.0.squareRoot()) }

    /// - Parameters:
    ///   - clip: the sample's window (clip length).
    ///   - overlays: overlay windows (clip length) with their weights, in the order they are mixed.
    ///   - sampleRate: the clip's rate (the reference converts times in seconds to samples).
    init(clip: [Float], overlays: [(samples: [Float], weight: Double)], draws: AudioDraws, settings: AugmentationSettings, sampleRate: Int) {
        let n = clip.count
        var p = [Float](repeating: 0, count: waveformAugmentParameterCount)
        // Gain: U(low, high) dB with the low end raised so the clip stays at or above the floor
        // level; a clip already below the floor is raised towards it (as the reference's
        // random.uniform(low, high) does when low > high). Silence gets no gain (the reference's is NaN).
        func gain(_ samples: [Float], _ unit: Double?) -> Double? {
            guard let u = unit, let range = settings.gainRange, range.count == 2 else { return nil }
            let low = max(range[0], settings.gainFloorDBFS - AudioAugmentation.dBFS(rms: AudioAugmentation.rms(samples)))
            let g = low + (range[1] - low) * u
            return g.isFinite ? g : 0
        }
        let clipGain = gain(clip, draws.gainUnit)
        let gainDB = clipGain ?? 0
        self.gainDB = gainDB
        // Overlay rounds, each out = (1 - w)·out + w·overlay (the overlay after its own gain): the
        // sample keeps Π(1 - w) of its level. The reference clips after each gain (apply_gain), so
        // the sample's term is clipped to ±Π(1 - w) and each overlay to ±1 before blending.
        let a = Float(pow(10, gainDB / 20))
        var keep: Float = 1
        var combined: [Float]? = nil
        for (r, (samples, w)) in overlays.enumerated() {
            let overlayGain = gain(samples, r < draws.overlayGainUnits.count ? draws.overlayGainUnits[r] : nil)
            let og = Float(pow(10, (overlayGain ?? 0) / 20))
            let kw = Float(1 - w), ww = Float(w)
            keep *= kw
            if combined == nil { combined = [Float](repeating: 0, count: n) }
            for t in 0..<n {
                var o = og * (t < samples.count ? samples[t] : 0)
                if overlayGain != nil { o = min(max(o, -1), 1) }
                combined![t] = kw * combined![t] + ww * o
            }
        }
        overlay = combined
        p[0] = a * keep
        p[1] = combined == nil ? 0 : 1
        // Clipping as the reference: the sample's term after its gain (slot 6: its bound), noise
        // samples, the noisy mix and the mask noise to [-1, 1] (slot 7).
        let bound: Float = clipGain != nil ? keep : 0
        p[6] = bound
        p[7] = 1
        // The mix's level decides the noise; the noisy mix's level decides the mask noise.
        var sum = 0.0
        for t in 0..<n {
            var s = p[0] * clip[t]
            if bound > 0 { s = min(max(s, -bound), bound) }
            let v = Double(s) + Double(combined?[t] ?? 0)
            sum += v * v
        }
        let mixRMS = n > 0 ? (sum / Double(n)).squareRoot() : 0
        // adaptive_random_noise: white noise at dBFS(mix) + U dB, i.e. RMS = mixRMS · 10^(U/20).
        var noiseStd = 0.0
        if let db = draws.noiseDB { noiseStd = mixRMS * pow(10, db / 20) }
        p[2] = Float(noiseStd)
        // random_wrap_audio: split at int(t·sr) with t = duration·u; parts swapped.
        if let f = draws.wrapFraction, n > 0 {
            let s = Int(Double(n) / Double(sampleRate) * f * Double(sampleRate))
            p[3] = Float(s < n ? max(0, s) : 0)
        }
        let masks = AudioAugmentation.timeMasks(lengthUnits: draws.maskLengthUnits, cutUnits: draws.maskCutUnits,
                                                longest: settings.audioTimeMaskFraction, samples: n, sampleRate: sampleRate)
            .prefix(waveformAugmentMaxMasks)
        p[4] = Float(masks.count)
        p[5] = Float((mixRMS * mixRMS + noiseStd * noiseStd).squareRoot() * pow(10, settings.audioTimeMaskLevel / 20))
        for (k, m) in masks.enumerated() {
            p[8 + 2 * k] = Float(m.start)
            p[9 + 2 * k] = Float(m.length)
        }
        parameters = p
    }

    /// The time masks (start, length) in samples of the output, placed exactly as the reference's
    /// `audio_time_mask` places them: mask lengths ℓᵢ = uᵢ · (duration · longest) seconds, the
    /// unmasked time (duration − Σℓ, summed as NumPy sums) divided at sorted points vᵢ · unmasked;
    /// the output is kept audio [int(sᵢ·sr), int(eᵢ·sr)), then int(ℓᵢ·sr) samples of noise, and so
    /// on, then the original tail. (The kept stretches can come from a sample or so later than
    /// where they land, a truncation artefact of the reference that Chorus does not copy: Chorus
    /// keeps every unmasked sample in place.)
    static func timeMasks(lengthUnits: [Double], cutUnits: [Double], longest: Double, samples n: Int, sampleRate: Int) -> [(start: Int, length: Int)] {
        let count = min(lengthUnits.count, cutUnits.count)
        guard count > 0, n > 0, sampleRate > 0 else { return [] }
        let sr = Double(sampleRate)
        let duration = Double(n) / sr
        let maxSeconds = duration * longest
        let lengths = lengthUnits.prefix(count).map { 0 + (maxSeconds - 0) * $0 }
        let unmasked = duration - numpySum(lengths)
        let splits = [0] + cutUnits.prefix(count).map { $0 * unmasked }.sorted()
        var out: [(start: Int, length: Int)] = []
        var position = 0
        var t = 0.0
        for i in 0..<count {
            let gap = splits[i + 1] - splits[i]
            let start = t, end = t + gap
            let first = min(max(0, Int(start * sr)), n), last = min(Int(end * sr), n)
            position += max(0, last - first)
            let length = max(0, Int(lengths[i] * sr))
            out.append((position, length))
            position += length
            t += gap + lengths[i]
        }
        return out
    }

    /// NumPy's float64 sum (pairwise: blocks of 8 partial sums up to 128 values, halves beyond),
    /// so sums of more than 7 values round as the reference's do.
    static func numpySum(_ a: [Double]) -> Double {
        let n = a.count
        if n < 8 { return a.reduce(0, +) }
        if n <= 128 {
            var r = Array(a[0..<8])
            var i = 8
            while i < n - n % 8 {
                for j in 0..<8 { r[j] += a[i + j] }
                i += 8
            }
            var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n { res += a[i]; i += 1 }
            return res
        }
        var half = n / 2
        half -= half % 8
        return numpySum(Array(a[0..<half])) + numpySum(Array(a[half...]))
    }
}
