import Annotations

/// The recipe datasets' two extra call shapes: the stepped whistle ("fee-bee") and the nasal honk.
extension CallSynthesizer {
    /// Two or more pure whistles, each nearly steady and lower than the one before (a chickadee's
    /// "fee-bee"): the first high in the band, the last 45–80 % of the band lower.
    static func steppedWhistle(_ s: SpeciesProfile, _ r: inout SeededRandom) -> [ToneNote] {
        let count = r.integer(in: s.noteCount ?? 2...3)
        let tempo = r.uniform(0.85...1.15)
        var fraction = r.uniform(0.8...1.0)
        let step = r.uniform(0.45...0.8) / Double(max(1, count - 1))
        var notes: [ToneNote] = []
        var t = 0.0
        for index in 0..<count {
            let duration = (index == 0 ? r.uniform(0.22...0.35) : r.uniform(0.28...0.45)) * tempo
            let slur = r.uniform(0.0...0.04)                   // a slight fall within the note
            notes.append(ToneNote(start: t, duration: duration,
                                  startFrequency: frequency(s, fraction), endFrequency: frequency(s, fraction - slur),
                                  curvature: r.uniform(-0.3...0.3), amplitude: r.uniform(0.75...1.0),
                                  attack: 0.03, release: 0.05,
                                  secondHarmonic: r.uniform(0.03...0.08), thirdHarmonic: 0))
            t += duration + r.uniform(0.04...0.12) * tempo
            fraction = max(0, fraction - step * r.uniform(0.8...1.2))
        }
        return notes
    }

    /// One to a few short nasal notes: a low fundamental (bottom 8 % of the band) that rises and
    /// falls a little, with harmonics 2–8 up to the top of the band, each one a `ToneNote` following
    /// k times the fundamental's track (so they stay phase-locked).
    static func nasalHonk(_ s: SpeciesProfile, _ r: inout SeededRandom) -> [ToneNote] {
        let count = r.integer(in: s.noteCount ?? 1...3)
        let base = frequency(s, r.uniform(0.0...0.08))
        let ceiling = s.highFrequency - tonalMargin
        let brightness = r.uniform(0.55...0.85)              // how slowly the harmonics fade
        var notes: [ToneNote] = []
        var t = 0.0
        for _ in 0..<count {
            let duration = r.uniform(0.14...0.3)
            let f0 = base * r.uniform(0.97...1.03)
            let rise = f0 * r.uniform(0.04...0.1)
            let fall = f0 * r.uniform(0.0...0.05)
            var level = r.uniform(0.8...1.0) * 0.6            // the fundamental is weaker than the 2nd harmonic
            var k = 1
            while Double(k) * (f0 + rise) <= ceiling, k <= 8 {
                let h = Double(k)
                notes.append(ToneNote(start: t, duration: duration, startFrequency: h * f0, endFrequency: h * (f0 - fall),
                                      arch: h * rise, amplitude: level, attack: 0.012, release: 0.03))
                level = k == 1 ? level / 0.6 : level * brightness
                k += 1
            }
            t += duration + r.uniform(0.08...0.2)
        }
        return notes
    }
}
