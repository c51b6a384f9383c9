import Annotations
import Foundation
import Tensor

/// Training-time augmentation (each seeded, reproducible and switchable), in the classic order:
/// overlay → time mask → frequency mask → Gaussian noise → random translation. Prediction and
/// validation bypass all of it.
public struct AugmentationSettings: Codable, Sendable, Equatable {
    /// Probability of each overlay round (keeps adding overlays while U(0,1) < p and fewer than `maxOverlays`).
    public var overlayProbability: Double = 1.0
    /// Overlay weight: fixed when low == high, else drawn uniformly from [low, high].
    public var overlayWeight: [Double] = [0.5, 0.5]
    public var maxOverlays: Int = 1
    /// `any` overlay clip, or only clips sharing no positive class with the sample (`different`).
    public var overlayClass: OverlayChoice = .different
    /// Unite the overlay's labels into the sample's (true), or keep the sample's (false).
    public var updateLabels: Bool = true
    public var timeMask = true
    public var frequencyMask = true
    /// 1...maxBars bars per axis, each up to `maxBarFraction` of the axis.
    public var maxBars = 3
    public var maxBarFraction: Double = 0.2
    public var translate = true
    public var maxTimeShift: Double = 0.3
    public var maxFrequencyShift: Double = 0.1
    public var noiseStd: Double = 0.005
    /// Clips longer than the clip duration start at a random point within them (else at their start).
    public var randomStart = true
    /// Random level change in dB drawn uniformly from [low, high] before overlays (nil: off,
    /// as in the reference toolkit's default). Teaches a model trained on close, loud recordings
    /// that distant calls are quieter.
    public var gainRange: [Double]? = nil

    public enum OverlayChoice: String, Codable, Sendable, CaseIterable { case any, different }

    public init() {}

    /// Everything off.
    public static var none: AugmentationSettings {
        var a = AugmentationSettings()
        a.overlayProbability = 0; a.timeMask = false; a.frequencyMask = false; a.translate = false; a.noiseStd = 0
        return a
    }

    /// Parses "0.5" or "0.3-0.7".
    public static func parseWeight(_ s: String) throws -> [Double] {
        let parts = s.split(separator: "-").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.count <= 2, parts.allSatisfy({ $0 != nil && $0! >= 0 && $0! <= 1 }) else {
            throw PipelineError.invalidParameter("--overlay-weight must be a number in [0, 1] or a range LOW-HIGH like 0.3-0.7, got '\(s)'")
        }
        let v = parts.map { $0! }
        return v.count == 1 ? [v[0], v[0]] : [min(v[0], v[1]), max(v[0], v[1])]
    }
}

/// The random choices for one sample in one epoch, drawn on the host from (seed, epoch, sample),
/// so a resumed run repeats them exactly.
struct SampleAugmentation {
    var overlays: [(index: Int, weight: Float)] = []
    /// Level change in dB (0: none).
    var gain: Float = 0
    /// Seconds after the clip's start where the trimmed clip begins.
    var startOffset: Double = 0
    var parameters = [Float](repeating: 0, count: augmentParameterCount)
}

struct AugmentationPlanner {
    let settings: AugmentationSettings
    let overlayLabels: [[Float]]
    let height: Int, width: Int

    func plan(seed: UInt64, epoch: Int, sample: Int, labels: [Float], slack: Double = 0) -> SampleAugmentation {
        var rng = SeededRandom(seed: seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(sample) &* 0xC2B2_AE3D_27D4_EB4F) ^ 0xA5A5)
        var out = SampleAugmentation()
        let s = settings
        if s.randomStart && slack > 0 { out.startOffset = rng.unit() * slack }
        if let g = s.gainRange, g.count == 2 { out.gain = Float(g[0] + (g[1] - g[0]) * rng.unit()) }
        if !overlayLabels.isEmpty {
            while out.overlays.count < s.maxOverlays && rng.unit() < s.overlayProbability {
                var pick: Int?
                for _ in 0..<10 {
                    let j = rng.integer(below: overlayLabels.count)
                    if s.overlayClass == .any || !zip(labels, overlayLabels[j]).contains(where: { $0 > 0.5 && $1 > 0.5 }) { pick = j; break }
                }
                let w = s.overlayWeight[0] + (s.overlayWeight[1] - s.overlayWeight[0]) * rng.unit()
                guard let j = pick else { break }
                out.overlays.append((j, Float(w)))
            }
        }
        func bars(_ axis: Int) -> [Float] {
            var v = [Float](repeating: 0, count: 6)
            let n = 1 + rng.integer(below: max(1, s.maxBars))
            for k in 0..<min(n, 3) {
                let w = Int((rng.unit() * s.maxBarFraction * Double(axis)).rounded(.down))
                let start = rng.integer(below: max(1, axis - w + 1))
                v[2 * k] = Float(start); v[2 * k + 1] = Float(w)
            }
            return v
        }
        if s.timeMask { let b = bars(width); for k in 0..<6 { out.parameters[1 + k] = b[k] } }
        if s.frequencyMask { let b = bars(height); for k in 0..<6 { out.parameters[7 + k] = b[k] } }
        if s.translate {
            let dy = Int(((rng.unit() * 2 - 1) * s.maxFrequencyShift * Double(height)).rounded())
            let dx = Int(((rng.unit() * 2 - 1) * s.maxTimeShift * Double(width)).rounded())
            out.parameters[13] = Float(dy); out.parameters[14] = Float(dx)
        }
        out.parameters[15] = Float(s.noiseStd)
        return out
    }
}
