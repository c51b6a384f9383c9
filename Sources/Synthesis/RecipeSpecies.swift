/// The species of the recipe-check datasets (R1–R3): made-up calls nobody tuned a recipe for, none of
/// them the demo's four. Each dataset names which are targets and which are look-alike (confusion)
/// species; the profiles here carry their usual role.
extension SpeciesProfile {
    /// Fee-bee Tit: two or three pure stepped whistles, 3.0–4.6 kHz (target of R1).
    public static let feeBeeTit = SpeciesProfile(
        code: "FEBE", name: "Fee-bee Tit", isTarget: true, pattern: .steppedWhistle,
        lowFrequency: 3000, highFrequency: 4600, noteCount: 2...3,
        summary: "two or three pure, nearly steady whistles, 0.2–0.45 s each, every one lower than the last, between 3.2 and 4.4 kHz")

    /// Slurring Mimic: two or three quick sweeps in the Fee-bee Tit's band (R1's look-alike).
    public static let slurringMimic = SpeciesProfile(
        code: "SLUR", name: "Slurring Mimic", isTarget: false, pattern: .sweepingWhistleSong,
        lowFrequency: 3000, highFrequency: 4600, noteCount: 2...3,
        summary: "the Fee-bee Tit's look-alike: two or three whistled notes in the same 3.0–4.6 kHz band, but sweeping up and down instead of steady")

    /// Nasal Honker: short honks on a 0.5–0.65 kHz fundamental with harmonics up to 3 kHz (target of R1).
    public static let nasalHonker = SpeciesProfile(
        code: "HONK", name: "Nasal Honker", isTarget: true, pattern: .nasalHonk,
        lowFrequency: 400, highFrequency: 3000, noteCount: 1...3,
        summary: "one to three nasal honks of 0.14–0.3 s on a 0.55–0.75 kHz fundamental that rises and falls, with a stack of harmonics up to 3 kHz")

    /// Slow Tinkler: a slow trill of 7–10 notes per second at 6–8.5 kHz (target of R1).
    public static let slowTinkler = SpeciesProfile(
        code: "TINK", name: "Slow Tinkler", isTarget: true, pattern: .trill,
        lowFrequency: 6000, highFrequency: 8500, noteRate: 7...10,
        summary: "a slow, tinkling trill of 7–10 down-slurred notes per second between 6.2 and 8.3 kHz, 0.7–1.8 s long")

    /// Cascade Wren: a long intro note, then a cascade of 6–10 notes, 4–7.5 kHz (target of R2).
    public static let cascadeWren = SpeciesProfile(
        code: "CASC", name: "Cascade Wren", isTarget: true, pattern: .introAndCascadeSong,
        lowFrequency: 4000, highFrequency: 7500, noteCount: 6...10,
        summary: "a steady introductory whistle of 0.35–0.6 s low in the 4–7.5 kHz band, then a quick cascade of 6–10 short slurred notes higher up")

    /// Churring Wren: a trill of 10–14 slurred notes per second in the Cascade Wren's band (R2's look-alike).
    public static let churringWren = SpeciesProfile(
        code: "CHUR", name: "Churring Wren", isTarget: false, pattern: .trill,
        lowFrequency: 4000, highFrequency: 7500, noteRate: 10...14,
        summary: "the Cascade Wren's look-alike: a run of 10–14 short down-slurred notes per second in the same 4–7.5 kHz band, with no introductory note")

    /// Knocking Frog: 8–16 slow knocks at 9 pulses per second on a 2.0–3.2 kHz carrier (target of R3).
    public static let knockingFrog = SpeciesProfile(
        code: "KNOK", name: "Knocking Frog", isTarget: true, pattern: .pulsedCall,
        lowFrequency: 2000, highFrequency: 3200, pulseRate: 9, noteCount: 8...16,
        summary: "8–16 buzzy knocks at 9 pulses per second on a 2.4–2.8 kHz carrier, 0.9–1.8 s long, in the band of the dawn chorus")

    /// Rasping Frog: 15–35 pulses at 22 per second in the Knocking Frog's band (R3's look-alike).
    public static let raspingFrog = SpeciesProfile(
        code: "RASP", name: "Rasping Frog", isTarget: false, pattern: .pulsedCall,
        lowFrequency: 2000, highFrequency: 3200, pulseRate: 22, noteCount: 15...35,
        summary: "the Knocking Frog's look-alike: a rasp of 15–35 pulses at 22 pulses per second on the same 2–3.2 kHz carrier")

    /// Hooting Dove: three to five low stepped coos, 0.6–1.4 kHz (target of R3).
    public static let hootingDove = SpeciesProfile(
        code: "HOOT", name: "Hooting Dove", isTarget: true, pattern: .steppedWhistle,
        lowFrequency: 600, highFrequency: 1400, noteCount: 3...5,
        summary: "three to five soft, low coos of 0.2–0.45 s, each a little lower than the last, between 0.75 and 1.25 kHz")

    /// Every recipe-check species.
    public static let recipe: [SpeciesProfile] = [feeBeeTit, slurringMimic, nasalHonker, slowTinkler, cascadeWren,
                                                  churringWren, knockingFrog, raspingFrog, hootingDove]
}
