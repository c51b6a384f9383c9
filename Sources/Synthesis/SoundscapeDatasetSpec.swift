/// Everything that decides a synthetic dataset. The same spec (seed included) gives byte-identical files.
///
/// Levels are in dBFS: a call's level is the peak of a sine with the same power as the dry call
/// (its RMS + 3 dB), so a sparse pulsed call and a continuous whistle of one level are equally loud;
/// a background level is the RMS of each layer.
public struct SoundscapeDatasetSpec: Codable, Sendable, Equatable {
    public var seed: UInt64
    public var sampleRate: Int
    /// The species; those with `isTarget == false` are confusion species.
    public var species: [SpeciesProfile]
    /// Targeted recordings per species (confusion species included).
    public var targetedFilesPerSpecies: Int
    /// Seconds per targeted recording.
    public var targetedDuration: Double
    /// Field recordings without any target call (some hold confusion calls): the overlay/background pool.
    public var fieldTrainRecordings: Int
    /// Field recordings for testing: calls of several species over backgrounds.
    public var fieldTestRecordings: Int
    /// How many of the test recordings hold no target call at all.
    public var fieldTestBackgroundOnly: Int
    /// Seconds per field recording.
    public var fieldDuration: Double
    public var targetedCallLevel: ClosedRange<Double>
    public var targetedBackgroundLevel: ClosedRange<Double>
    /// Near calls get the upper level, far ones the lower (and more low-pass and reverb).
    public var fieldCallLevel: ClosedRange<Double>
    public var fieldBackgroundLevel: ClosedRange<Double>
    /// Seconds between the end of one field call and the start of the next (when they do not
    /// overlap); nil keeps 1–6 s (and a first call 0.5–3 s in).
    public var fieldCallGap: ClosedRange<Double>?

    public init(seed: UInt64 = 2024, sampleRate: Int = 22050, species: [SpeciesProfile] = SpeciesProfile.standard,
                targetedFilesPerSpecies: Int = 10, targetedDuration: Double = 25,
                fieldTrainRecordings: Int = 20, fieldTestRecordings: Int = 12, fieldTestBackgroundOnly: Int = 2,
                fieldDuration: Double = 45,
                targetedCallLevel: ClosedRange<Double> = -14 ... -8, targetedBackgroundLevel: ClosedRange<Double> = -56 ... -48,
                fieldCallLevel: ClosedRange<Double> = -30 ... -15, fieldBackgroundLevel: ClosedRange<Double> = -40 ... -30) {
        self.seed = seed
        self.sampleRate = sampleRate
        self.species = species
        self.targetedFilesPerSpecies = targetedFilesPerSpecies
        self.targetedDuration = targetedDuration
        self.fieldTrainRecordings = fieldTrainRecordings
        self.fieldTestRecordings = fieldTestRecordings
        self.fieldTestBackgroundOnly = fieldTestBackgroundOnly
        self.fieldDuration = fieldDuration
        self.targetedCallLevel = targetedCallLevel
        self.targetedBackgroundLevel = targetedBackgroundLevel
        self.fieldCallLevel = fieldCallLevel
        self.fieldBackgroundLevel = fieldBackgroundLevel
    }

    /// The demo's dataset: 4 species × 6 targeted files × 25 s, 12 + 12 field files × 45 s at 22050 Hz
    /// (about 28 minutes of audio, dozens of calls per class).
    public static let standard = SoundscapeDatasetSpec()

    /// A small dataset for `--quick` and tests: 4 species × 3 targeted files × 15 s, 4 + 4 field files × 30 s.
    public static let quick = SoundscapeDatasetSpec(targetedFilesPerSpecies: 3, targetedDuration: 15,
                                                     fieldTrainRecordings: 4, fieldTestRecordings: 4,
                                                     fieldTestBackgroundOnly: 1, fieldDuration: 30)

    public var targetSpecies: [SpeciesProfile] { species.filter(\.isTarget) }
    public var confusionSpecies: [SpeciesProfile] { species.filter { !$0.isTarget } }

    /// Throws `SynthesisError.invalidSpec` naming the first value out of range.
    public func validate() throws {
        func fail(_ parameter: String, _ reason: String) -> SynthesisError { .invalidSpec(parameter: parameter, reason: reason) }
        guard (8000...192_000).contains(sampleRate) else { throw fail("sampleRate", "\(sampleRate) Hz must be within 8000–192000") }
        guard !targetSpecies.isEmpty else { throw fail("species", "no target species (isTarget == true)") }
        var codes = Set<String>()
        for s in species {
            let name = "species \(s.code.isEmpty ? "(empty code)" : s.code)"
            guard !s.code.isEmpty, !s.code.contains(where: { $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "/" || $0 == "," }) else {
                throw fail(name, "code must be non-empty without tabs, newlines, commas or slashes")
            }
            guard codes.insert(s.code).inserted else { throw fail(name, "code is used twice") }
            guard s.lowFrequency.isFinite, s.highFrequency.isFinite, s.lowFrequency > 0,
                  s.highFrequency - s.lowFrequency >= 2 * CallSynthesizer.tonalMargin + 200 else {
                throw fail(name, "band \(s.lowFrequency)–\(s.highFrequency) Hz must be positive and at least \(Int(2 * CallSynthesizer.tonalMargin + 200)) Hz wide")
            }
            guard s.highFrequency <= 0.45 * Double(sampleRate) else {
                throw fail(name, "band top \(s.highFrequency) Hz is above 0.45 × the sample rate (\(0.45 * Double(sampleRate)) Hz)")
            }
            if let notes = s.noteCount, notes.lowerBound < 1 || notes.upperBound > 200 {
                throw fail(name, "noteCount \(notes.lowerBound)...\(notes.upperBound) must lie within 1...200")
            }
            if let rate = s.noteRate, !(rate.lowerBound.isFinite && rate.upperBound.isFinite && rate.lowerBound >= 1 && rate.upperBound <= 60) {
                throw fail(name, "noteRate \(rate.lowerBound)...\(rate.upperBound) must lie within 1...60 notes/s")
            }
            if s.pattern == .pulsedCall {
                guard let rate = s.pulseRate, rate.isFinite, (1...60).contains(rate) else {
                    throw fail(name, "a pulsed call needs pulseRate within 1–60 pulses/s, got \(s.pulseRate.map { "\($0)" } ?? "none")")
                }
            }
        }
        for (name, count) in [("targetedFilesPerSpecies", targetedFilesPerSpecies), ("fieldTrainRecordings", fieldTrainRecordings),
                              ("fieldTestRecordings", fieldTestRecordings), ("fieldTestBackgroundOnly", fieldTestBackgroundOnly)] {
            guard (0...10_000).contains(count) else { throw fail(name, "\(count) must be within 0–10000") }
        }
        guard fieldTestBackgroundOnly <= fieldTestRecordings else {
            throw fail("fieldTestBackgroundOnly", "\(fieldTestBackgroundOnly) is more than fieldTestRecordings (\(fieldTestRecordings))")
        }
        for (name, seconds) in [("targetedDuration", targetedDuration), ("fieldDuration", fieldDuration)] {
            guard seconds.isFinite, (8...3600).contains(seconds) else { throw fail(name, "\(seconds) s must be within 8–3600 s (calls last up to 3 s)") }
        }
        if let gap = fieldCallGap {
            guard gap.lowerBound.isFinite, gap.upperBound.isFinite, gap.lowerBound >= 0, gap.upperBound <= 600 else {
                throw fail("fieldCallGap", "\(gap.lowerBound)...\(gap.upperBound) s must lie within 0...600")
            }
        }
        for (name, range) in [("targetedCallLevel", targetedCallLevel), ("targetedBackgroundLevel", targetedBackgroundLevel),
                              ("fieldCallLevel", fieldCallLevel), ("fieldBackgroundLevel", fieldBackgroundLevel)] {
            guard range.lowerBound.isFinite, range.upperBound.isFinite, range.lowerBound >= -120, range.upperBound <= 0 else {
                throw fail(name, "\(range.lowerBound)...\(range.upperBound) dBFS must lie within -120...0")
            }
        }
    }
}
