/// The shape of a species' call; each has its own synthesizer in `CallSynthesizer`.
public enum CallPattern: String, Codable, Sendable, CaseIterable {
    /// A song of 3–6 whistled notes, alternately rising and falling frequency sweeps.
    case sweepingWhistleSong
    /// A fast trill: 12–20 short down-slurred notes per second.
    case trill
    /// A frog-like call: short buzzy pulses on a carrier at a fixed pulse rate.
    case pulsedCall
    /// A long steady introductory whistle followed by a quick cascade of short notes.
    case introAndCascadeSong
    /// A "fee-bee" song: two to a few pure, nearly steady whistles, each lower than the one before.
    case steppedWhistle
    /// A nasal "honk": one to a few short notes on a low fundamental with strong harmonics up the band.
    case nasalHonk
}

/// One synthetic species: its code (used as the annotation label), name, role and call.
public struct SpeciesProfile: Codable, Sendable, Equatable {
    /// Short code written in the `Annotation` column of the Raven tables, e.g. `"WHIS"`.
    public var code: String
    /// Common name, for reports and the README.
    public var name: String
    /// True for the species the demo trains a classifier for; false for the confusion species.
    public var isTarget: Bool
    public var pattern: CallPattern
    /// Every annotation box of this species lies within [lowFrequency, highFrequency] Hz, and
    /// nearly all of its call energy (the fundamental) lies there too.
    public var lowFrequency: Double
    public var highFrequency: Double
    /// Pulses per second of a `.pulsedCall` (each call varies by at most ±3 %); ignored otherwise.
    public var pulseRate: Double?
    /// What the call sounds and looks like.
    public var summary: String
    /// Notes per song (pulses per call for `.pulsedCall`); nil keeps the pattern's own range
    /// (sweeping song 3–6, cascade 4–8, pulsed 15–40, stepped whistle 2–3, honk 1–3). Ignored by `.trill`.
    public var noteCount: ClosedRange<Int>?
    /// Notes per second of a `.trill`; nil keeps 12–20. Ignored otherwise.
    public var noteRate: ClosedRange<Double>?

    public init(code: String, name: String, isTarget: Bool, pattern: CallPattern, lowFrequency: Double,
                highFrequency: Double, pulseRate: Double? = nil, noteCount: ClosedRange<Int>? = nil,
                noteRate: ClosedRange<Double>? = nil, summary: String) {
        self.code = code
        self.name = name
        self.isTarget = isTarget
        self.pattern = pattern
        self.lowFrequency = lowFrequency
        self.highFrequency = highFrequency
        self.pulseRate = pulseRate
        self.noteCount = noteCount
        self.noteRate = noteRate
        self.summary = summary
    }

    /// The same species in another role (target or confusion species).
    public func role(target: Bool) -> SpeciesProfile {
        var copy = self
        copy.isTarget = target
        return copy
    }

    /// Sweep Whistler: frequency-modulated whistle song, 2–5 kHz (target).
    public static let sweepWhistler = SpeciesProfile(
        code: "WHIS", name: "Sweep Whistler", isTarget: true, pattern: .sweepingWhistleSong,
        lowFrequency: 2000, highFrequency: 5000,
        summary: "a clear whistled song of 3–6 notes, 0.1–0.25 s each, alternating rising and falling sweeps between about 2.4 and 4.6 kHz, with a faint second harmonic")

    /// Rapid Triller: fast trill at 5–7 kHz (target).
    public static let rapidTriller = SpeciesProfile(
        code: "TRIL", name: "Rapid Triller", isTarget: true, pattern: .trill,
        lowFrequency: 5000, highFrequency: 7000,
        summary: "a dry trill of 12–20 short down-slurred notes per second around 5.5–6.5 kHz, 0.7–1.8 s long, swelling in loudness")

    /// Pulse Frog: pulsed call at 15 pulses/s on a ~2 kHz carrier (target; RIBBIT finds it).
    public static let pulseFrog = SpeciesProfile(
        code: "FROG", name: "Pulse Frog", isTarget: true, pattern: .pulsedCall,
        lowFrequency: 1500, highFrequency: 2500, pulseRate: 15,
        summary: "a rattling call of 15–40 buzzy pulses at 15 pulses per second on a 1.85–2.15 kHz carrier, 1–2.7 s long")

    /// Mimic Whistler: the confusion species, a whistle song in the Sweep Whistler's band.
    public static let mimicWhistler = SpeciesProfile(
        code: "MIMI", name: "Mimic Whistler", isTarget: false, pattern: .introAndCascadeSong,
        lowFrequency: 2000, highFrequency: 5000,
        summary: "the confusion species: a whistled song in the same 2–5 kHz band, but a long steady introductory note followed by a quick cascade of 4–8 short notes (the Hermit Thrush to the Sweep Whistler's Wood Thrush)")

    /// The demo's four species: three targets and the confusion species.
    public static let standard: [SpeciesProfile] = [sweepWhistler, rapidTriller, pulseFrog, mimicWhistler]
}
