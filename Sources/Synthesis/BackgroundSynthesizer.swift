import Annotations

/// Renders background layers. Each layer comes back scaled to an RMS of 1 so the composer sets its level.
enum BackgroundSynthesizer {
    static func render(_ kind: BackgroundKind, count: Int, sampleRate: Int, using random: inout SeededRandom) -> [Float] {
        let rate = Double(sampleRate)
        var out: [Float]
        switch kind {
        case .wind: out = wind(count, rate, &random)
        case .rain: out = rain(count, rate, &random)
        case .insects: out = insects(count, rate, &random)
        case .traffic: out = traffic(count, rate, &random)
        case .chatter: out = chatter(count, rate, &random)
        case .hiss: out = hiss(count, rate, &random)
        }
        normalizeRMS(&out)
        return out
    }

    static func normalizeRMS(_ samples: inout [Float]) {
        var sum = 0.0
        for v in samples { sum += Double(v) * Double(v) }
        guard sum > 0 else { return }
        let scale = Float(1 / (sum / Double(samples.count)).squareRoot())
        for i in samples.indices { samples[i] *= scale }
    }

    /// A smooth random curve: values drawn every `step` seconds in `range`, joined by smoothstep.
    struct SlowCurve {
        private let points: [Double]
        private let stepSamples: Double

        init(count: Int, sampleRate: Double, step: Double, range: ClosedRange<Double>, walk: Double, random: inout SeededRandom) {
            stepSamples = max(1, step * sampleRate)
            let n = Int(Double(count) / stepSamples) + 2
            var values: [Double] = []
            var v = random.uniform(range)
            for _ in 0..<n {
                values.append(v)
                v = min(range.upperBound, max(range.lowerBound, v + random.uniform(-walk...walk)))
            }
            points = values
        }

        @inline(__always)
        func value(at i: Int) -> Double {
            let x = Double(i) / stepSamples
            let k = Int(x)
            let a = points[min(k, points.count - 1)], b = points[min(k + 1, points.count - 1)]
            return a + (b - a) * Envelope.smoothstep(x - Double(k))
        }
    }

    // MARK: Layers

    private static func wind(_ count: Int, _ rate: Double, _ r: inout SeededRandom) -> [Float] {
        let cutoff = r.uniform(120...350)
        var low1 = Biquad.lowpass(cutoff: cutoff, sampleRate: rate)
        var low2 = Biquad.lowpass(cutoff: cutoff * 1.3, sampleRate: rate)
        var rustleLow = Biquad.lowpass(cutoff: r.uniform(3000...5000), sampleRate: rate)
        var rustleHigh = Biquad.highpass(cutoff: 1200, sampleRate: rate)
        let gusts = SlowCurve(count: count, sampleRate: rate, step: r.uniform(0.4...0.9), range: 0.15...1, walk: 0.35, random: &r)
        let rustleLevel = r.uniform(0.02...0.08)
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let g = gusts.value(at: i)
            let rumble = low2.process(low1.process(r.noise())) * 12
            let rustle = rustleLow.process(rustleHigh.process(r.noise())) * rustleLevel * g * g
            out[i] = Float(g * rumble + rustle)
        }
        return out
    }

    private struct Drop { var phase: Double; var step: Double; var amplitude: Double; var decay: Double }

    private static func rain(_ count: Int, _ rate: Double, _ r: inout SeededRandom) -> [Float] {
        var hissHigh = Biquad.highpass(cutoff: 500, sampleRate: rate)
        var hissLow = Biquad.lowpass(cutoff: min(9000, 0.42 * rate), sampleRate: rate)
        let hissLevel = r.uniform(0.15...0.35)
        let dropsPerSample = r.uniform(15...60) / rate
        let heaviness = SlowCurve(count: count, sampleRate: rate, step: 2, range: 0.5...1.5, walk: 0.3, random: &r)
        let pingTop = min(6000, 0.4 * rate)
        var drops: [Drop] = []
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count {
            var v = hissLevel * hissLow.process(hissHigh.process(r.noise()))
            if r.unit() < dropsPerSample * heaviness.value(at: i) {
                let a = r.uniform(0.2...1.0)
                let amplitude = a * a
                v += amplitude * 0.8                          // the click
                let decaySeconds = r.uniform(0.002...0.006)
                drops.append(Drop(phase: 0, step: r.uniform(1000...pingTop) / rate, amplitude: amplitude,
                                  decay: DeterministicMath.exp(-1 / (decaySeconds * rate))))
            }
            var d = 0
            while d < drops.count {
                v += drops[d].amplitude * DeterministicMath.sinCycles(drops[d].phase)
                drops[d].phase += drops[d].step
                drops[d].amplitude *= drops[d].decay
                if drops[d].amplitude < 1e-4 { drops.swapAt(d, drops.count - 1); drops.removeLast() } else { d += 1 }
            }
            out[i] = Float(v)
        }
        return out
    }

    private static func insects(_ count: Int, _ rate: Double, _ r: inout SeededRandom) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        let choruses = r.integer(in: 1...3)
        for _ in 0..<choruses {
            let carrier = min(r.uniform(7000...9500), 0.44 * rate)
            let pulseRate = r.uniform(25...70)
            let chirping = r.chance(0.4)                    // crickets: chirps; else a steady buzz
            let chirpPeriod = r.uniform(0.5...1.0), chirpLength = r.uniform(0.1...0.3)
            let level = r.uniform(0.4...1.0)
            var widen = Biquad.lowpass(cutoff: r.uniform(150...400), sampleRate: rate)
            let swell = SlowCurve(count: count, sampleRate: rate, step: 3, range: 0.6...1, walk: 0.15, random: &r)
            let offset = r.unit()
            for i in 0..<count {
                let t = Double(i) / rate
                if chirping, (t / chirpPeriod + offset).truncatingRemainder(dividingBy: 1) * chirpPeriod > chirpLength { continue }
                let pulse = 0.5 + 0.5 * DeterministicMath.sinCycles(pulseRate * t)
                let band = 1 + 6 * widen.process(r.noise())
                let v = level * swell.value(at: i) * pulse * pulse * pulse * band * DeterministicMath.sinCycles(carrier * t)
                out[i] += Float(v)
            }
        }
        return out
    }

    private static func traffic(_ count: Int, _ rate: Double, _ r: inout SeededRandom) -> [Float] {
        let duration = Double(count) / rate
        var passes: [(center: Double, width: Double, height: Double)] = []
        var t = r.uniform(-5...5)
        while t < duration + 5 {
            passes.append((t, r.uniform(4...10), r.uniform(0.4...1.0)))
            t += r.uniform(5...20)
        }
        let fundamental = r.uniform(40...110)
        let wander = SlowCurve(count: count, sampleRate: rate, step: 4, range: 0.97...1.03, walk: 0.02, random: &r)
        var rumble1 = Biquad.lowpass(cutoff: 250, sampleRate: rate), rumble2 = Biquad.lowpass(cutoff: 250, sampleRate: rate)
        var tyres = Biquad.bandpass(center: r.uniform(600...1200), q: 0.6, sampleRate: rate)
        var out = [Float](repeating: 0, count: count)
        var phase = 0.0
        for i in 0..<count {
            let time = Double(i) / rate
            var e = 0.25
            for p in passes {
                let x = abs(time - p.center) / p.width
                if x < 1 { e += p.height * (1 - x) * (1 - x) }
            }
            phase += fundamental * wander.value(at: i) / rate
            if phase >= 1 { phase -= 1 }
            var hum = 0.0
            for k in 1...6 { hum += DeterministicMath.sinCycles(Double(k) * phase) / Double(k) }
            let rumble = rumble2.process(rumble1.process(r.noise())) * 15
            let tyre = tyres.process(r.noise()) * 1.5
            out[i] = Float(0.5 * e * hum + (0.3 + e) * rumble + e * e * tyre)
        }
        return out
    }

    private static func chatter(_ count: Int, _ rate: Double, _ r: inout SeededRandom) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        let voices = r.integer(in: 3...5)
        for _ in 0..<voices {
            var voice = r.split()
            let pitch = voice.uniform(100...240)
            let level = voice.uniform(0.5...1.0)
            var f1 = Biquad.bandpass(center: 500, q: 5, sampleRate: rate)
            var f2 = Biquad.bandpass(center: 1500, q: 7, sampleRate: rate)
            var i = Int(voice.uniform(0...1.5) * rate)
            var phase = 0.0
            while i < count {
                // One phrase of syllables, then a pause.
                let syllables = voice.integer(in: 2...8)
                for _ in 0..<syllables where i < count {
                    f1.retune(like: .bandpass(center: voice.uniform(300...850), q: 5, sampleRate: rate))
                    f2.retune(like: .bandpass(center: voice.uniform(900...2400), q: 7, sampleRate: rate))
                    let length = Int(voice.uniform(0.12...0.3) * rate)
                    let glide = voice.uniform(-0.15...0.15)
                    let fade = 0.03 * rate
                    for j in 0..<length where i + j < count {
                        let u = Double(j) / Double(length)
                        phase += pitch * (1 + glide * u) / rate
                        if phase >= 1 { phase -= 1 }
                        let source = phase - 0.5 + 0.05 * voice.noise()
                        let env = min(Envelope.smoothstep(Double(j) / fade), Envelope.smoothstep(Double(length - j) / fade))
                        out[i + j] += Float(level * env * (f1.process(source) + 0.6 * f2.process(source)))
                    }
                    i += length + Int(voice.uniform(0.02...0.08) * rate)
                }
                i += Int(voice.uniform(0.3...1.5) * rate)
            }
        }
        var distance1 = Biquad.lowpass(cutoff: 2800, sampleRate: rate)
        var distance2 = Biquad.lowpass(cutoff: 3200, sampleRate: rate)
        for i in 0..<count { out[i] = Float(distance2.process(distance1.process(Double(out[i])))) }
        return out
    }

    private static func hiss(_ count: Int, _ rate: Double, _ r: inout SeededRandom) -> [Float] {
        var high = Biquad.highpass(cutoff: 100, sampleRate: rate)
        var low = Biquad.lowpass(cutoff: min(8000, 0.42 * rate), sampleRate: rate)
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count { out[i] = Float(low.process(high.process(r.noise()))) }
        return out
    }
}
