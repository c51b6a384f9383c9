import Annotations

/// A recording before it is written: samples and the annotation of every call placed in it.
struct ComposedRecording {
    var samples: [Float]
    var annotations: [Annotation]
    var backgrounds: [BackgroundKind]
}

/// Lays calls over backgrounds: close and clean for targeted recordings, distant and noisy for field ones.
enum RecordingComposer {
    /// Chance of each background in a field recording (at least two are always used).
    static let fieldBackgroundChances: [(BackgroundKind, Double)] = [
        (.wind, 0.6), (.rain, 0.35), (.insects, 0.6), (.traffic, 0.45), (.chatter, 0.35),
    ]

    /// One species, loud and close, over a faint noise floor (and sometimes faint wind).
    static func targeted(_ species: SpeciesProfile, spec: SoundscapeDatasetSpec, random r: inout SeededRandom) -> ComposedRecording {
        let rate = Double(spec.sampleRate)
        let count = Int((spec.targetedDuration * rate).rounded())
        var samples = [Float](repeating: 0, count: count)
        var backgrounds: [BackgroundKind] = [.hiss]
        if r.chance(0.5) { backgrounds.append(.wind) }
        for kind in backgrounds {
            var layerRandom = r.split()
            let level = r.uniform(spec.targetedBackgroundLevel) - (kind == .wind ? 3 : 0)
            add(BackgroundSynthesizer.render(kind, count: count, sampleRate: spec.sampleRate, using: &layerRandom),
                into: &samples, at: 0, gain: DeterministicMath.amplitude(decibels: level))
        }
        var annotations: [Annotation] = []
        var t = r.uniform(0.3...1.0)
        while true {
            var callRandom = r.split()
            let call = CallSynthesizer.call(of: species, sampleRate: spec.sampleRate, using: &callRandom)
            let start = milliseconds(t)
            guard start + call.duration <= spec.targetedDuration - 0.2 else { break }
            add(call.samples, into: &samples, at: Int((start * rate).rounded()),
                gain: gain(for: call, decibels: r.uniform(spec.targetedCallLevel)))
            annotations.append(annotation(call, start: start))
            t = start + call.duration + r.uniform(0.6...2.5)
        }
        return ComposedRecording(samples: samples, annotations: annotations, backgrounds: backgrounds)
    }

    /// Distant calls of `community` (in random order, sometimes overlapping) over two to five
    /// backgrounds. An empty community gives a background-only recording.
    static func field(_ community: [SpeciesProfile], spec: SoundscapeDatasetSpec, random r: inout SeededRandom) -> ComposedRecording {
        let rate = Double(spec.sampleRate)
        let count = Int((spec.fieldDuration * rate).rounded())
        var samples = [Float](repeating: 0, count: count)
        var chosen = fieldBackgroundChances.filter { r.chance($0.1) }.map(\.0)
        while chosen.count < 2 {
            let extra = fieldBackgroundChances[r.integer(below: fieldBackgroundChances.count)].0
            if !chosen.contains(extra) { chosen.append(extra) }
        }
        chosen = fieldBackgroundChances.map(\.0).filter { chosen.contains($0) }   // fixed order
        let backgrounds = chosen + [.hiss]
        for kind in backgrounds {
            var layerRandom = r.split()
            let level = kind == .hiss ? spec.fieldBackgroundLevel.lowerBound - 10 : r.uniform(spec.fieldBackgroundLevel)
            add(BackgroundSynthesizer.render(kind, count: count, sampleRate: spec.sampleRate, using: &layerRandom),
                into: &samples, at: 0, gain: DeterministicMath.amplitude(decibels: level))
        }
        let annotations = placeFieldCalls(community, into: &samples, spec: spec, random: &r)
        return ComposedRecording(samples: samples, annotations: annotations, backgrounds: backgrounds)
    }

    /// Lays distant calls of `community` (in random order, sometimes overlapping) into `samples`
    /// (`spec.fieldDuration` seconds) and returns their annotations. Gaps between calls are drawn from
    /// `spec.fieldCallGap` (1–6 s when nil); an empty community draws nothing.
    static func placeFieldCalls(_ community: [SpeciesProfile], into samples: inout [Float], spec: SoundscapeDatasetSpec,
                                random r: inout SeededRandom) -> [Annotation] {
        let rate = Double(spec.sampleRate)
        var annotations: [Annotation] = []
        guard !community.isEmpty else { return [] }
        let gap = spec.fieldCallGap ?? 1.0...6.0
        var t = spec.fieldCallGap == nil ? r.uniform(0.5...3.0) : r.uniform(0.2...max(0.2, gap.upperBound / 2))
        while true {
            let species = community[r.integer(below: community.count)]
            var callRandom = r.split()
            let call = CallSynthesizer.call(of: species, sampleRate: spec.sampleRate, using: &callRandom)
            let start = milliseconds(t)
            guard start + call.duration <= spec.fieldDuration - 0.3 else { break }
            let distance = r.unit()                       // 0 near … 1 far
            let level = spec.fieldCallLevel.upperBound - distance * (spec.fieldCallLevel.upperBound - spec.fieldCallLevel.lowerBound)
            let distant = farAway(call.samples, distance: distance, sampleRate: rate, random: &r)
            add(distant, into: &samples, at: Int((start * rate).rounded()), gain: gain(for: call, decibels: level))
            annotations.append(annotation(call, start: start))
            if r.chance(0.15) {
                t = start + call.duration * r.uniform(0.3...0.7)          // the next singer overlaps
            } else {
                t = start + call.duration + r.uniform(gap)
            }
        }
        return annotations
    }

    /// The call as heard from afar: high frequencies absorbed (one-pole low-pass, lower when
    /// farther) and a reverberant tail (wetter when farther). The dry part keeps peak 1.
    static func farAway(_ call: [Float], distance: Double, sampleRate: Double, random r: inout SeededRandom) -> [Float] {
        let decay = r.uniform(0.2...0.6)
        let tail = Int(0.5 * decay * sampleRate)
        var padded = call + [Float](repeating: 0, count: tail)
        var absorb = OnePoleLowpass(cutoff: min(0.4 * sampleRate, 9000 - 5000 * distance), sampleRate: sampleRate)
        var peak: Float = 0
        for i in padded.indices {
            padded[i] = Float(absorb.process(Double(padded[i])))
            peak = max(peak, abs(padded[i]))
        }
        if peak > 0 { for i in padded.indices { padded[i] /= peak } }
        var room = Reverberator(decaySeconds: decay, sampleRate: sampleRate)
        let wet = room.wet(padded)
        let wetGain = Float(0.15 + 0.45 * distance)
        for i in padded.indices { padded[i] += wetGain * wet[i] }
        return padded
    }

    /// Gain that gives a peak-1 call the power of a sine peaking at `decibels` dBFS (RMS + 3 dB), so
    /// sparse pulsed calls are as loud as continuous whistles of the same level.
    static func gain(for call: SynthesizedCall, decibels: Double) -> Double {
        var sum = 0.0
        for v in call.samples { sum += Double(v) * Double(v) }
        let rms = (sum / Double(max(1, call.samples.count))).squareRoot()
        guard rms > 0 else { return 0 }
        return DeterministicMath.amplitude(decibels: decibels) / (rms * 2.0.squareRoot())
    }

    static func add(_ source: [Float], into target: inout [Float], at offset: Int, gain: Double) {
        let g = Float(gain)
        let end = min(target.count, offset + source.count)
        guard offset < end else { return }
        for i in offset..<end { target[i] += g * source[i - offset] }
    }

    /// Rounded to whole milliseconds, so tables hold short exact numbers.
    static func milliseconds(_ seconds: Double) -> Double { (seconds * 1000).rounded() / 1000 }

    static func annotation(_ call: SynthesizedCall, start: Double) -> Annotation {
        Annotation(start: start, end: ((start + call.duration) * 1000).rounded(.up) / 1000,
                   lowFrequency: call.lowFrequency, highFrequency: call.highFrequency, label: call.code)
    }
}
