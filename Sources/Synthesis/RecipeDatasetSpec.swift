/// A recipe-check dataset: synthetic calls of new species over REAL field backgrounds, to choose and
/// compare training recipes on data nobody tuned for. Targeted recordings (one species each, close,
/// over a synthetic quiet floor) are for training and validation; overlay recordings are real
/// training-pool backgrounds (confusion calls in every other one, never a target call); test recordings
/// are real test-pool backgrounds with target and confusion calls laid over at field levels.
public struct RecipeDatasetSpec: Codable, Sendable, Equatable {
    /// A synthetic background layer added, with a chance, to every overlay and test recording.
    public struct AddedLayer: Codable, Sendable, Equatable {
        public var kind: BackgroundKind
        public var chance: Double
        public init(kind: BackgroundKind, chance: Double) { self.kind = kind; self.chance = chance }
    }

    /// "R1", "R2", "R3".
    public var name: String
    /// The dataset's character in one line.
    public var summary: String
    public var seed: UInt64
    public var sampleRate: Int
    /// The clip length to train and test with, in seconds.
    public var clipDuration: Double
    /// The species; `isTarget == false` marks a look-alike (confusion) species.
    public var species: [SpeciesProfile]
    public var targetedFilesPerSpecies: Int
    public var targetedDuration: Double
    public var testRecordings: Int
    /// How many of the test recordings hold no target call (every other one of them holds confusion calls).
    public var testBackgroundOnly: Int
    /// Background split: blocks of this many consecutive recordings (by name)…
    public var backgroundBlockSize: Int
    /// …of which this share goes to the test pool.
    public var testBackgroundShare: Double
    /// Gain applied to the real backgrounds, in dB (0: as recorded).
    public var backgroundGain: Double
    public var targetedCallLevel: ClosedRange<Double>
    public var targetedBackgroundLevel: ClosedRange<Double>
    /// Near calls get the upper level, far ones the lower (and more low-pass and reverb), in dBFS.
    public var fieldCallLevel: ClosedRange<Double>
    /// Seconds between consecutive field calls.
    public var fieldCallGap: ClosedRange<Double>
    public var addedLayers: [AddedLayer]
    /// RMS level of each added layer, in dBFS.
    public var addedLayerLevel: ClosedRange<Double>

    public init(name: String, summary: String, seed: UInt64, sampleRate: Int, clipDuration: Double, species: [SpeciesProfile],
                targetedFilesPerSpecies: Int, targetedDuration: Double, testRecordings: Int = 32, testBackgroundOnly: Int = 4,
                backgroundBlockSize: Int = 4, testBackgroundShare: Double = 0.5, backgroundGain: Double = 0,
                targetedCallLevel: ClosedRange<Double> = -14 ... -8, targetedBackgroundLevel: ClosedRange<Double> = -56 ... -48,
                fieldCallLevel: ClosedRange<Double>, fieldCallGap: ClosedRange<Double> = 0.5...3.0,
                addedLayers: [AddedLayer] = [], addedLayerLevel: ClosedRange<Double> = -50 ... -40) {
        self.name = name
        self.summary = summary
        self.seed = seed
        self.sampleRate = sampleRate
        self.clipDuration = clipDuration
        self.species = species
        self.targetedFilesPerSpecies = targetedFilesPerSpecies
        self.targetedDuration = targetedDuration
        self.testRecordings = testRecordings
        self.testBackgroundOnly = testBackgroundOnly
        self.backgroundBlockSize = backgroundBlockSize
        self.testBackgroundShare = testBackgroundShare
        self.backgroundGain = backgroundGain
        self.targetedCallLevel = targetedCallLevel
        self.targetedBackgroundLevel = targetedBackgroundLevel
        self.fieldCallLevel = fieldCallLevel
        self.fieldCallGap = fieldCallGap
        self.addedLayers = addedLayers
        self.addedLayerLevel = addedLayerLevel
    }

    public var targetSpecies: [SpeciesProfile] { species.filter(\.isTarget) }
    public var confusionSpecies: [SpeciesProfile] { species.filter { !$0.isTarget } }

    /// R1: three targets (stepped whistle, nasal honk, slow trill) and a look-alike of the whistle;
    /// 22050 Hz, 2 s clips.
    public static let r1 = RecipeDatasetSpec(
        name: "R1", summary: "three targets (stepped whistle, nasal honk, slow trill) and a sweeping look-alike of the whistle; 22050 Hz, 2 s clips",
        seed: 101, sampleRate: 22050, clipDuration: 2,
        species: [.feeBeeTit, .nasalHonker, .slowTinkler, .slurringMimic],
        targetedFilesPerSpecies: 8, targetedDuration: 22, fieldCallLevel: -50 ... -26)

    /// R2: one target (intro note and cascade) with a trilling look-alike; 32 kHz, 3 s clips.
    public static let r2 = RecipeDatasetSpec(
        name: "R2", summary: "one target (intro note and cascade) with a trilling look-alike in the same band; 32 kHz, 3 s clips",
        seed: 202, sampleRate: 32000, clipDuration: 3,
        species: [.cascadeWren, .churringWren],
        targetedFilesPerSpecies: 15, targetedDuration: 36, fieldCallLevel: -50 ... -26)

    /// R3: two targets, one a slow pulsed frog in the dawn chorus' band, with a faster pulsed look-alike,
    /// quieter calls and synthetic rain or distant voices added to half the field recordings; 22050 Hz, 2 s clips.
    public static let r3 = RecipeDatasetSpec(
        name: "R3", summary: "two targets (slow pulsed frog at 2-3.2 kHz, low stepped coos) and a fast pulsed look-alike; quieter calls, rain or voices added; 22050 Hz, 2 s clips",
        seed: 303, sampleRate: 22050, clipDuration: 2,
        species: [.knockingFrog, .hootingDove, .raspingFrog],
        targetedFilesPerSpecies: 10, targetedDuration: 24, fieldCallLevel: -54 ... -32,
        addedLayers: [AddedLayer(kind: .rain, chance: 0.4), AddedLayer(kind: .chatter, chance: 0.3)], addedLayerLevel: -52 ... -42)

    public static let all: [RecipeDatasetSpec] = [r1, r2, r3]

    /// The spec named `name` (case-insensitive), nil if none.
    public static func named(_ name: String) -> RecipeDatasetSpec? { all.first { $0.name.lowercased() == name.lowercased() } }

    /// The synthesis spec the composer works from, for field recordings `fieldDuration` seconds long.
    func synthesisSpec(fieldDuration: Double, fieldTrainRecordings: Int) -> SoundscapeDatasetSpec {
        var s = SoundscapeDatasetSpec(seed: seed, sampleRate: sampleRate, species: species, targetedFilesPerSpecies: targetedFilesPerSpecies,
                                      targetedDuration: targetedDuration, fieldTrainRecordings: fieldTrainRecordings,
                                      fieldTestRecordings: testRecordings, fieldTestBackgroundOnly: testBackgroundOnly,
                                      fieldDuration: fieldDuration, targetedCallLevel: targetedCallLevel,
                                      targetedBackgroundLevel: targetedBackgroundLevel, fieldCallLevel: fieldCallLevel,
                                      fieldBackgroundLevel: addedLayerLevel)
        s.fieldCallGap = fieldCallGap
        return s
    }

    /// Throws `SynthesisError.invalidSpec` naming the first value out of range (species, rate and
    /// levels through `SoundscapeDatasetSpec.validate`).
    public func validate(fieldDuration: Double) throws {
        func fail(_ parameter: String, _ reason: String) -> SynthesisError { .invalidSpec(parameter: parameter, reason: reason) }
        guard !name.isEmpty, !name.contains("/") else { throw fail("name", "must be non-empty without slashes") }
        guard clipDuration.isFinite, clipDuration > 0, clipDuration <= min(targetedDuration, fieldDuration) else {
            throw fail("clipDuration", "\(clipDuration) s must be positive and no longer than the recordings")
        }
        guard backgroundBlockSize >= 1 else { throw fail("backgroundBlockSize", "\(backgroundBlockSize) must be at least 1") }
        guard testBackgroundShare > 0, testBackgroundShare < 1 else { throw fail("testBackgroundShare", "\(testBackgroundShare) must lie strictly between 0 and 1") }
        guard backgroundGain.isFinite, (-60...40).contains(backgroundGain) else { throw fail("backgroundGain", "\(backgroundGain) dB must lie within -60...40") }
        for layer in addedLayers where !(0...1).contains(layer.chance) {
            throw fail("addedLayers", "chance \(layer.chance) of \(layer.kind.rawValue) must lie within 0...1")
        }
        try synthesisSpec(fieldDuration: fieldDuration, fieldTrainRecordings: 0).validate()
    }
}
