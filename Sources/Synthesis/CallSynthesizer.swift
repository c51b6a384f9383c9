import Annotations

/// Renders one naturally varying call of a species. Every draw comes from the caller's generator,
/// so a seed fixes the call exactly.
///
/// Frequencies are placed by fraction of the species' band (less a margin for the annotation box),
/// so a profile with another band gets the same kind of call there.
public enum CallSynthesizer {
    /// Hz kept between a tonal call's fundamental and the edge of its species' band.
    static let tonalMargin = 150.0

    /// Synthesizes one call of `species` at `sampleRate` Hz.
    public static func call(of species: SpeciesProfile, sampleRate: Int, using random: inout SeededRandom) -> SynthesizedCall {
        switch species.pattern {
        case .sweepingWhistleSong: return tonal(species, sweepingSong(species, &random), sampleRate)
        case .introAndCascadeSong: return tonal(species, introAndCascade(species, &random), sampleRate)
        case .trill: return tonal(species, trill(species, &random), sampleRate)
        case .pulsedCall: return pulsed(species, sampleRate, &random)
        case .steppedWhistle: return tonal(species, steppedWhistle(species, &random), sampleRate)
        case .nasalHonk: return tonal(species, nasalHonk(species, &random), sampleRate)
        }
    }

    /// Frequency at `fraction` of the species' usable band (clamped to it).
    static func frequency(_ species: SpeciesProfile, _ fraction: Double) -> Double {
        let low = species.lowFrequency + tonalMargin, high = species.highFrequency - tonalMargin
        return low + (high - low) * min(1, max(0, fraction))
    }

    // MARK: Tonal songs

    private static func sweepingSong(_ s: SpeciesProfile, _ r: inout SeededRandom) -> [ToneNote] {
        let shift = r.uniform(-0.08...0.08)          // whole-song transposition
        let tempo = r.uniform(0.85...1.15)
        let count = r.integer(in: s.noteCount ?? 3...6)
        var rising = r.chance(0.5)
        var notes: [ToneNote] = []
        var t = 0.0
        for index in 0..<count {
            let low = frequency(s, r.uniform(0.1...0.3) + shift)
            let high = frequency(s, r.uniform(0.62...0.9) + shift)
            var duration = r.uniform(0.10...0.22) * tempo
            if index == count - 1, r.chance(0.5) { duration *= 1.5; rising = false }   // long closing down-sweep
            notes.append(ToneNote(start: t, duration: duration,
                                  startFrequency: rising ? low : high, endFrequency: rising ? high : low,
                                  curvature: r.uniform(-0.5...0.5), amplitude: r.uniform(0.65...1.0),
                                  attack: 0.015, release: 0.025,
                                  secondHarmonic: r.uniform(0.15...0.22), thirdHarmonic: r.uniform(0.04...0.07)))
            t += duration + r.uniform(0.05...0.10) * tempo
            rising.toggle()
        }
        return notes
    }

    private static func introAndCascade(_ s: SpeciesProfile, _ r: inout SeededRandom) -> [ToneNote] {
        let tempo = r.uniform(0.85...1.15)
        let introFraction = r.uniform(0.12...0.35)
        let introDuration = r.uniform(0.35...0.6) * tempo
        var notes = [ToneNote(start: 0, duration: introDuration,
                              startFrequency: frequency(s, introFraction),
                              endFrequency: frequency(s, introFraction + r.uniform(0.01...0.04)),
                              amplitude: r.uniform(0.8...1.0), attack: 0.04, release: 0.03,
                              secondHarmonic: r.uniform(0.15...0.25), thirdHarmonic: 0.05)]
        var t = introDuration + r.uniform(0.06...0.12) * tempo
        var fraction = r.uniform(0.45...0.65)
        let count = r.integer(in: s.noteCount ?? 4...8)
        for index in 0..<count {
            let duration = r.uniform(0.045...0.08) * tempo
            let slur = r.uniform(0.02...0.05)
            notes.append(ToneNote(start: t, duration: duration,
                                  startFrequency: frequency(s, fraction), endFrequency: frequency(s, fraction - slur),
                                  amplitude: r.uniform(0.7...0.95) * (1 - 0.05 * Double(index)),
                                  attack: 0.008, release: 0.015,
                                  secondHarmonic: r.uniform(0.15...0.25), thirdHarmonic: 0.05))
            t += duration + r.uniform(0.015...0.035) * tempo
            let step = r.uniform(0.05...0.12)
            fraction = min(1, max(0.35, fraction + (r.chance(0.65) ? step : -step)))
        }
        return notes
    }

    private static func trill(_ s: SpeciesProfile, _ r: inout SeededRandom) -> [ToneNote] {
        let rate = r.uniform(s.noteRate ?? 12...20)
        let count = max(6, Int((r.uniform(0.7...1.8) * rate).rounded()))
        let period = 1 / rate
        let center = r.uniform(0.3...0.7)
        let halfWidth = r.uniform(0.12...0.25)
        let drift = r.uniform(-0.08...0.08)
        let noteFraction = r.uniform(0.55...0.7)
        var notes: [ToneNote] = []
        for index in 0..<count {
            let progress = Double(index) / Double(count - 1)
            let c = center + drift * (progress - 0.5)
            let swell = progress < 0.4 ? 0.45 + 0.55 * progress / 0.4 : 1 - 0.2 * (progress - 0.4) / 0.6
            notes.append(ToneNote(start: Double(index) * period, duration: period * noteFraction,
                                  startFrequency: frequency(s, c + halfWidth), endFrequency: frequency(s, c - halfWidth),
                                  curvature: 0.4, amplitude: swell * r.uniform(0.9...1.0), attack: 0.004, release: 0.008))
        }
        return notes
    }

    static func tonal(_ s: SpeciesProfile, _ notes: [ToneNote], _ sampleRate: Int) -> SynthesizedCall {
        let rate = Double(sampleRate)
        let end = notes.map(\.end).max() ?? 0
        var samples = [Float](repeating: 0, count: Int((end * rate).rounded()) + 1)
        for note in notes { note.render(into: &samples, sampleRate: rate) }
        normalizePeak(&samples)
        let low = notes.map(\.lowestFrequency).min() ?? s.lowFrequency
        let high = notes.map(\.highestFrequency).max() ?? s.highFrequency
        return SynthesizedCall(code: s.code, samples: samples, sampleRate: sampleRate,
                               lowFrequency: max(s.lowFrequency, (low - tonalMargin).rounded(.down)),
                               highFrequency: min(s.highFrequency, (high + tonalMargin).rounded(.up)))
    }

    // MARK: Pulsed call

    private static func pulsed(_ s: SpeciesProfile, _ sampleRate: Int, _ r: inout SeededRandom) -> SynthesizedCall {
        let rate = Double(sampleRate)
        let bandwidth = s.highFrequency - s.lowFrequency
        let carrier = (s.lowFrequency + s.highFrequency) / 2 + r.uniform(-0.15...0.15) * bandwidth
        let pulseRate = (s.pulseRate ?? 15) * (1 + r.uniform(-0.03...0.03))
        let period = 1 / pulseRate
        let pulses = r.integer(in: s.noteCount ?? 15...40)
        let pulseLength = period * r.uniform(0.35...0.45)
        let glide = r.uniform(20...60)                       // Hz the carrier falls within each pulse
        let length = Int(((Double(pulses - 1) * period * 1.015 + pulseLength) * rate).rounded()) + 1

        // Buzz: the carrier's amplitude wobbles with low-passed noise, widening the band by about ±220 Hz.
        var buzz = [Float](repeating: 0, count: length)
        var noiseFilter = Biquad.lowpass(cutoff: 220, sampleRate: rate)
        var power = 0.0
        for i in 0..<length {
            let v = noiseFilter.process(r.noise())
            buzz[i] = Float(v)
            power += v * v
        }
        let noiseScale = 0.25 / max(1e-12, (power / Double(length)).squareRoot())
        let harmonic = 2 * carrier < 0.45 * rate ? 0.1 : 0

        var samples = [Float](repeating: 0, count: length)
        let attack = 0.0025 * rate
        for p in 0..<pulses {
            let jitter = r.uniform(-0.015...0.015) * period
            let first = max(0, Int(((Double(p) * period + jitter) * rate).rounded()))
            let count = Int((pulseLength * rate).rounded())
            let level = min(1, 0.5 + 0.25 * Double(p)) * r.uniform(0.85...1.0)
            var phase = 0.0
            for i in 0..<count where first + i < length {
                let u = Double(i) / Double(count)
                let f = carrier + glide * (0.5 - u)
                phase += f / rate
                if phase >= 1 { phase -= 1 }
                let envelope = Envelope.smoothstep(Double(i) / attack) * (1 - u) * (1 - 0.5 * u)
                let tone = DeterministicMath.sinCycles(phase) + harmonic * DeterministicMath.sinCycles(2 * phase)
                let wobble = 0.8 + noiseScale * Double(buzz[first + i])
                samples[first + i] += Float(level * envelope * wobble * tone)
            }
        }
        normalizePeak(&samples)
        let margin = 0.32 * bandwidth
        return SynthesizedCall(code: s.code, samples: samples, sampleRate: sampleRate,
                               lowFrequency: max(s.lowFrequency, (carrier - margin).rounded(.down)),
                               highFrequency: min(s.highFrequency, (carrier + margin).rounded(.up)))
    }

    static func normalizePeak(_ samples: inout [Float]) {
        var peak: Float = 0
        for v in samples { peak = max(peak, abs(v)) }
        guard peak > 0 else { return }
        for i in samples.indices { samples[i] /= peak }
    }
}
