import Annotations
import Foundation
import Tensor

/// Training-time augmentation (each step seeded from (seed, epoch, sample), reproducible and
/// switchable). Two pipelines, as in the reference toolkit's history:
/// - `audio` (the default; the reference's current one): random trim → random gain with a floor
///   level → overlays mixed as audio → noise relative to the clip's level → random wrap → short
///   audio time masks → spectrogram image → narrow frequency masks.
/// - `classic` (the reference's ≤0.12 one): random trim → spectrogram image → overlays blended as
///   images → time mask → frequency mask → Gaussian noise → random translation.
/// Prediction and validation bypass all of it.
public struct AugmentationSettings: Codable, Sendable, Equatable {
    public enum Pipeline: String, Codable, Sendable, CaseIterable { case audio, classic }
    public var pipeline: Pipeline = .audio
    /// Probability of each overlay round (keeps adding overlays while U(0,1) < p and fewer than `maxOverlays`).
    public var overlayProbability: Double = 1.0
    /// Overlay weight: fixed when low == high, else drawn uniformly from [low, high].
    public var overlayWeight: [Double] = [0.5, 0.5]
    public var maxOverlays: Int = 1
    /// `any` overlay clip, or only clips sharing no positive class with the sample (`different`).
    public var overlayClass: OverlayChoice = .different
    /// Unite the overlay's labels into the sample's (true), or keep the sample's (false).
    public var updateLabels: Bool = true
    /// Image time masks (classic pipeline).
    public var timeMask = false
    /// Image frequency masks (both pipelines).
    public var frequencyMask = true
    /// 1...maxBars bars per axis, each up to `maxBarFraction` of the axis.
    public var maxBars = 3
    public var maxBarFraction: Double = 0.05
    /// Random translation of the image (classic pipeline).
    public var translate = false
    public var maxTimeShift: Double = 0.3
    public var maxFrequencyShift: Double = 0.1
    /// Gaussian noise on the image (classic pipeline), standard deviation in image units ([-1, 1]).
    public var noiseStd: Double = 0
    /// Clips longer than the clip duration start at a random point within them (else at their start).
    public var randomStart = true
    /// Random level change in dB drawn uniformly from [low, high] before overlays (nil: off).
    /// Teaches a model trained on close, loud recordings that distant calls are quieter. In the
    /// audio pipeline the low end is raised so the clip stays at or above `gainFloorDBFS`; in the
    /// classic pipeline it shifts the image.
    public var gainRange: [Double]? = [-30, 0]
    public var gainFloorDBFS: Double = -40
    /// Audio pipeline: white noise at the clip's own level (dBFS, after gain and overlays) plus
    /// U(low, high) dB (nil: off).
    public var audioNoiseRange: [Double]? = [-20, 0]
    /// Audio pipeline: probability of a random wrap (split at a uniform point, swap the parts).
    public var wrapProbability: Double = 0.5
    /// Audio pipeline: 0...audioTimeMasks masks per clip, each up to `audioTimeMaskFraction` of the
    /// clip, filled with white noise `audioTimeMaskLevel` dB relative to the clip's level.
    public var audioTimeMasks = 10
    public var audioTimeMaskFraction: Double = 0.02
    public var audioTimeMaskLevel: Double = 10

    public enum OverlayChoice: String, Codable, Sendable, CaseIterable { case any, different }

    /// The steps that are on, in the order they run, for messages and config.json.
    public var activeSteps: [String] {
        var out: [String] = []
        if randomStart { out.append("random trim of longer rows") }
        switch pipeline {
        case .audio:
            if let g = gainRange { out.append("gain U(\(g[0]), \(g[1])) dB, floor \(gainFloorDBFS) dBFS") }
            out.append("overlays mixed as audio (when --overlays is given)")
            if let n = audioNoiseRange { out.append("noise at the clip's level + U(\(n[0]), \(n[1])) dB") }
            if wrapProbability > 0 { out.append("wrap (p \(wrapProbability))") }
            if audioTimeMasks > 0 { out.append("0-\(audioTimeMasks) time masks up to \(audioTimeMaskFraction * 100)% of the clip") }
            if frequencyMask { out.append("1-\(maxBars) frequency masks up to \(maxBarFraction * 100)% of the height") }
        case .classic:
            if let g = gainRange { out.append("image gain U(\(g[0]), \(g[1])) dB") }
            out.append("overlays blended as images (when --overlays is given)")
            if timeMask { out.append("1-\(maxBars) time masks up to \(maxBarFraction * 100)% of the width") }
            if frequencyMask { out.append("1-\(maxBars) frequency masks up to \(maxBarFraction * 100)% of the height") }
            if noiseStd > 0 { out.append("image noise std \(noiseStd)") }
            if translate { out.append("translation up to \(maxTimeShift * 100)% / \(maxFrequencyShift * 100)%") }
        }
        return out
    }

    /// The default: the audio pipeline.
    public init() {}

    /// The classic toolkit's image pipeline: overlays blended as images, time and frequency masks
    /// (1–3 bars up to 20% of the axis), noise std 0.01 (the reference's 0.005, added before its
    /// rescale from [0, 1] to [-1, 1]), translation up to 30% / 10%, no gain.
    public static var classic: AugmentationSettings {
        var a = AugmentationSettings()
        a.pipeline = .classic
        a.timeMask = true; a.frequencyMask = true; a.maxBarFraction = 0.2
        a.translate = true; a.noiseStd = 0.01
        a.gainRange = nil; a.audioNoiseRange = nil; a.wrapProbability = 0; a.audioTimeMasks = 0
        return a
    }

    /// No augmentation but overlays (when an overlay table is given) and random trimming, in `pipeline`.
    public static func overlaysOnly(_ pipeline: Pipeline) -> AugmentationSettings {
        var a = pipeline == .audio ? AugmentationSettings() : .classic
        a.disable(AugmentationStep.allCases)
        return a
    }

    /// Everything off, overlays too.
    public static var none: AugmentationSettings {
        var a = overlaysOnly(.classic)
        a.overlayProbability = 0
        return a
    }

    /// Turns steps off (overlays are switched by giving an overlay table or not).
    public mutating func disable(_ steps: [AugmentationStep]) {
        for step in steps {
            switch step {
            case .gain: gainRange = nil
            case .noise: noiseStd = 0; audioNoiseRange = nil
            case .wrap: wrapProbability = 0
            case .timeMasks: timeMask = false; audioTimeMasks = 0
            case .frequencyMasks: frequencyMask = false
            case .translate: translate = false
            case .randomTrim: randomStart = false
            }
        }
    }

    /// Parses "0.5" or "0.3-0.7".
    public static func parseWeight(_ s: String) throws -> [Double] {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.count <= 2, parts.allSatisfy({ $0 != nil && $0! >= 0 && $0! <= 1 }) else {
            throw PipelineError.invalidParameter("--overlay-weight must be a number in [0, 1] or a range LOW-HIGH like 0.3-0.7, got '\(s)'")
        }
        let v = parts.map { $0! }
        if v.count == 2 && v[0] > v[1] {
            throw PipelineError.invalidParameter("--overlay-weight range LOW-HIGH has LOW above HIGH: '\(s)' (did you mean \(v[1])-\(v[0])?)")
        }
        return v.count == 1 ? [v[0], v[0]] : v
    }
}

/// Augmentation steps that can be switched off one by one (`train --without STEP`).
public enum AugmentationStep: String, Codable, Sendable, CaseIterable {
    case gain, noise, wrap, timeMasks = "time-masks", frequencyMasks = "frequency-masks", translate, randomTrim = "random-trim"
}

/// The random choices for one sample in one epoch, drawn on the host from (seed, epoch, sample),
/// so a resumed run repeats them exactly.
struct SampleAugmentation {
    /// Overlay rounds: the overlay row, its weight, and the uniform placing a longer overlay row's
    /// window (start = unit · its slack, as the sample's own `startOffset`).
    var overlays: [(index: Int, weight: Double, startUnit: Double)] = []
    /// Level change in dB (0: none).
    var gain: Float = 0
    /// Seconds after the clip's start where the trimmed clip begins.
    var startOffset: Double = 0
    /// Image masks, noise and translation (`augment_spectrogram`'s block; the mask fills, slots 0
    /// and 16–22, are set on the device once the image is known: `Ops.augmentBarFills`).
    var parameters = [Float](repeating: 0, count: augmentParameterCount)
    /// The audio pipeline's draws (nil in the classic pipeline).
    var audio: AudioDraws?
}

/// The audio pipeline's random draws for one sample, as units and fractions that become samples
/// and levels once the clip's audio is known (`AudioAugmentation`).
struct AudioDraws: Equatable {
    /// U(0, 1) placing the gain in its level-dependent range (nil: no gain).
    var gainUnit: Double?
    /// The same for each overlay clip, which gets its own gain before it is mixed in (as in the
    /// reference, whose overlay clips run through the pipeline up to the overlay step).
    var overlayGainUnits: [Double] = []
    /// Noise level relative to the clip's level, dB (nil: no noise).
    var noiseDB: Double?
    /// Where the clip is split and its parts swapped, as a fraction of its duration (nil: no wrap).
    var wrapFraction: Double?
    /// Time masks as drawn: each mask's length as a fraction of the longest allowed, and the
    /// points dividing the unmasked time (`AudioAugmentation.timeMasks` places them).
    var maskLengthUnits: [Double] = []
    var maskCutUnits: [Double] = []
}

/// Draws each sample's augmentation as the reference toolkit (OpenSoundscape) draws it: the same
/// calls in the same order, each written as a function of one uniform (`UniformDraws`), so a
/// replayed list of uniforms gives the reference's choices (Tests/PipelineTests/
/// ReferenceAugmentationTests.swift).
struct AugmentationPlanner {
    let settings: AugmentationSettings
    let overlayLabels: [[Float]]
    let height: Int, width: Int

    func plan(seed: UInt64, epoch: Int, sample: Int, labels: [Float], slack: Double = 0) -> SampleAugmentation {
        var rng = SeededRandom(seed: seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(sample) &* 0xC2B2_AE3D_27D4_EB4F) ^ 0xA5A5)
        return plan(using: &rng, labels: labels, slack: slack)
    }

    func plan<R: UniformDraws>(using rng: inout R, labels: [Float], slack: Double = 0) -> SampleAugmentation {
        var out = SampleAugmentation()
        let s = settings
        // random_trim_audio: start = np.random.uniform() · extra time (drawn even without extra time).
        if s.randomStart { out.startOffset = rng.npUniform() * slack }
        var audio = AudioDraws()
        // adaptive_random_gain: random.uniform(low, high), low set by the clip's level (so the unit is kept).
        if let g = s.gainRange, g.count == 2 {
            if s.pipeline == .audio { audio.gainUnit = rng.random() } else { out.gain = Float(rng.uniform(g[0], g[1])) }
        }
        if !overlayLabels.isEmpty {
            // overlay(): `while overlay_prob > np.random.uniform() and count < max_overlay_num` (the
            // uniform is drawn before the count is checked, so also after the last round).
            while s.overlayProbability > rng.npUniform() && out.overlays.count < s.maxOverlays {
                var pick: Int?
                if s.overlayClass == .any {
                    pick = rng.choiceIndex(overlayLabels.count)                      // random.choice(rows)
                } else {
                    for _ in 0..<10 {                                                 // up to 10 random.randint(0, n - 1)
                        let j = rng.randint(0, overlayLabels.count - 1)
                        if !zip(labels, overlayLabels[j]).contains(where: { $0 > 0.5 && $1 > 0.5 }) { pick = j; break }
                    }
                }
                guard let j = pick else { break }
                // The overlay clip's own pipeline up to the overlay step: random trim, then gain.
                let startUnit = s.randomStart ? rng.npUniform() : 0
                if s.pipeline == .audio, s.gainRange != nil { audio.overlayGainUnits.append(rng.random()) }
                let (lo, hi) = (s.overlayWeight[0], s.overlayWeight[1])
                let w = hi > lo ? rng.uniform(lo, hi) : lo
                out.overlays.append((j, w, startUnit))
            }
        }
        if s.pipeline == .audio {
            // adaptive_random_noise: np.random.uniform(low, high) dB relative to the clip's level.
            if let n = s.audioNoiseRange, n.count == 2 { audio.noiseDB = rng.npUniform(n[0], n[1]) }
            // random_wrap_audio: `if random.random() > p: no wrap`, then random.uniform(0, duration).
            if s.wrapProbability > 0, !(rng.random() > s.wrapProbability) { audio.wrapFraction = rng.uniform(0, 1) }
            if s.audioTimeMasks > 0 {
                // audio_time_mask: np.random.randint(0, max + 1) masks, np.random.uniform(0, longest, n)
                // lengths, np.random.uniform(0, 1, n) points dividing the unmasked time.
                let count = rng.npRandint(0, min(s.audioTimeMasks, waveformAugmentMaxMasks) + 1)
                audio.maskLengthUnits = rng.npUniform(0, 1, count: count)
                audio.maskCutUnits = rng.npUniform(0, 1, count: count)
            }
            out.audio = audio
            if s.frequencyMask { let b = bars(height, using: &rng); for k in 0..<6 { out.parameters[7 + k] = b[k] } }
            return out
        }
        if s.timeMask { let b = bars(width, using: &rng); for k in 0..<6 { out.parameters[1 + k] = b[k] } }
        if s.frequencyMask { let b = bars(height, using: &rng); for k in 0..<6 { out.parameters[7 + k] = b[k] } }
        if s.translate {
            // torchvision RandomAffine.get_params: the angle (degrees 0: U(0, 0)), then
            // tx = round(U(-0.3 W, 0.3 W)), ty = round(U(-0.1 H, 0.1 H)), drawn as float32 and
            // rounded half to even (Python's round).
            _ = rng.uniform(0, 0)
            let mx = s.maxTimeShift * Double(width), my = s.maxFrequencyShift * Double(height)
            let dx = Double(Float(rng.uniform(-mx, mx))).rounded(.toNearestOrEven)
            let dy = Double(Float(rng.uniform(-my, my))).rounded(.toNearestOrEven)
            out.parameters[13] = Float(dy); out.parameters[14] = Float(dx)
        }
        out.parameters[15] = Float(s.noiseStd)
        return out
    }

    /// Bars drawn as the reference draws them (`tensor_augment.time_mask`/`freq_mask`):
    /// random.randint(1, maxBars) bars; each f = randrange(0, F) with F = int(maxBarFraction ·
    /// axis), start = randrange(0, axis − f), end = randrange(start, start + f), or start + F
    /// without a draw when f = 0 (the reference's quirk). A bar's expected extent is about F/4.
    /// The kernel takes (start, width) of up to 3 bars.
    func bars<R: UniformDraws>(_ axis: Int, using rng: inout R) -> [Float] {
        var v = [Float](repeating: 0, count: 6)
        let n = rng.randint(1, max(1, settings.maxBars))
        let limit = Int(settings.maxBarFraction * Double(axis))
        for k in 0..<n {
            let f = rng.randrange(0, limit)
            let start = rng.randrange(0, axis - f)
            let end = f != 0 ? rng.randrange(start, start + f) : start + limit
            guard k < 3 else { continue }
            v[2 * k] = Float(start); v[2 * k + 1] = Float(min(end, axis) - start)
        }
        return v
    }

}
