import Foundation
import Tensor

/// The audio pipeline's level-dependent arithmetic for one sample: turns its draws, its clip and
/// its overlay clips into the `augment_waveform` parameter block and one combined overlay
/// waveform. Levels follow the reference: dBFS = 20·log10(RMS·√2).
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
    init(clip: [Float], overlays: [(samples: [Float], weight: Float)], draws: AudioDraws, settings: AugmentationSettings) {
        let n = clip.count
        var p = [Float](repeating: 0, count: waveformAugmentParameterCount)
        // Gain: U(low, high) dB with the low end raised so the clip stays at or above the floor
        // level; a clip already below the floor is raised towards it (as the reference's
        // random.uniform(low, high) does when low > high).
        func gain(_ samples: [Float], _ unit: Double?) -> Double {
            guard let u = unit, let range = settings.gainRange, range.count == 2 else { return 0 }
            let low = max(range[0], settings.gainFloorDBFS - AudioAugmentation.dBFS(rms: AudioAugmentation.rms(samples)))
            let g = low + (range[1] - low) * u
            return g.isFinite ? g : 0
        }
        let gainDB = gain(clip, draws.gainUnit)
        self.gainDB = gainDB
        // Overlay rounds, each out = (1 - w)·out + w·overlay (the overlay after its own gain): the
        // sample keeps Π(1 - w) of its level.
        var a = Float(pow(10, gainDB / 20))
        var combined: [Float]? = nil
        for (r, (samples, w)) in overlays.enumerated() {
            let og = Float(pow(10, gain(samples, r < draws.overlayGainUnits.count ? draws.overlayGainUnits[r] : nil) / 20))
            a *= 1 - w
            if combined == nil { combined = [Float](repeating: 0, count: n) }
            for t in 0..<n { combined![t] = (1 - w) * combined![t] + w * og * (t < samples.count ? samples[t] : 0) }
        }
        overlay = combined
        p[0] = a
        p[1] = combined == nil ? 0 : 1
        // The mix's level decides the noise; the noisy mix's level decides the mask noise.
        var sum = 0.0
        for t in 0..<n {
            let v = Double(a) * Double(clip[t]) + Double(combined?[t] ?? 0)
            sum += v * v
        }
        let mixRMS = n > 0 ? (sum / Double(n)).squareRoot() : 0
        var noiseStd = 0.0
        if let db = draws.noiseDB { noiseStd = mixRMS * pow(10, db / 20) }
        p[2] = Float(noiseStd)
        if let f = draws.wrapFraction { p[3] = Float(min(n - 1, max(0, Int(f * Double(n))))) }
        let masks = draws.masks.prefix(waveformAugmentMaxMasks)
        p[4] = Float(masks.count)
        p[5] = Float((mixRMS * mixRMS + noiseStd * noiseStd).squareRoot() * pow(10, settings.audioTimeMaskLevel / 20))
        for (k, m) in masks.enumerated() {
            p[8 + 2 * k] = Float(Int(m.start * Double(n)))
            p[9 + 2 * k] = Float(Int(m.length * Double(n)))
        }
        parameters = p
    }
}
