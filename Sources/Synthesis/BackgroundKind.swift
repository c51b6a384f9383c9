/// The kinds of background sound laid under field (and, faintly, targeted) recordings.
public enum BackgroundKind: String, Codable, Sendable, CaseIterable {
    /// Low-passed noise (below ~350 Hz) swelling with slow gusts, plus leaf rustle in gusts.
    case wind
    /// Broadband hiss plus random drops: clicks with a short ringing ping at 1–6 kHz.
    case rain
    /// Steady high buzzes and chirping choruses at 7–9.5 kHz, pulsed at 25–70 Hz.
    case insects
    /// Engine hum (40–110 Hz and harmonics), rumble and tyre noise that swell as vehicles pass.
    case traffic
    /// Distant voices: pulse trains through moving vowel formants, in syllables and phrases.
    case chatter
    /// A faint broadband noise floor (microphone self-noise).
    case hiss
}
