/// One rendered call: its samples (peak 1) and the box an annotator would draw around it.
public struct SynthesizedCall: Sendable, Equatable {
    /// Species code (the annotation label).
    public var code: String
    /// Mono samples, peak absolute value 1, starting at the call's first sound and ending at its last.
    public var samples: [Float]
    public var sampleRate: Int
    /// Annotation box in Hz: the range of the call's fundamental plus a small margin, within the species' band.
    public var lowFrequency: Double
    public var highFrequency: Double

    /// Length in seconds.
    public var duration: Double { Double(samples.count) / Double(sampleRate) }
}
