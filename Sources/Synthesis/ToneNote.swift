/// One whistled note: a frequency sweep with harmonics under a smooth attack/release envelope.
struct ToneNote {
    /// Seconds from the start of the call.
    var start: Double
    var duration: Double
    var startFrequency: Double
    var endFrequency: Double
    /// Bends the sweep: 0 is linear in frequency; positive moves fast first, negative slow first (|c| <= 1).
    var curvature: Double = 0
    /// Hz added at the middle of the note, tapering to 0 at both ends (4u(1-u)): a rise and fall.
    var arch: Double = 0
    var amplitude: Double = 1
    var attack: Double = 0.015
    var release: Double = 0.025
    /// Relative amplitudes of the 2nd and 3rd harmonics (dropped where they would pass 0.45 × sample rate).
    var secondHarmonic: Double = 0
    var thirdHarmonic: Double = 0

    var end: Double { start + duration }
    var lowestFrequency: Double { min(startFrequency, endFrequency) }
    var highestFrequency: Double { max(startFrequency, endFrequency) + max(0, arch) }

    /// Adds the note into `buffer` (sample 0 = call start).
    func render(into buffer: inout [Float], sampleRate: Double) {
        let first = Int((start * sampleRate).rounded())
        let count = Int((duration * sampleRate).rounded())
        guard count > 1, first >= 0 else { return }
        let limit = 0.45 * sampleRate
        let h2 = 2 * highestFrequency < limit ? secondHarmonic : 0
        let h3 = 3 * highestFrequency < limit ? thirdHarmonic : 0
        let attackSamples = max(1.0, attack * sampleRate), releaseSamples = max(1.0, release * sampleRate)
        let span = endFrequency - startFrequency
        var phase = 0.0
        let last = min(count, buffer.count - first)
        guard last > 0 else { return }
        for i in 0..<last {
            let u = Double(i) / Double(count - 1)
            var f = startFrequency + span * (u + curvature * u * (1 - u))
            if arch != 0 { f += arch * 4 * u * (1 - u) }
            phase += f / sampleRate
            if phase >= 1 { phase -= 1 }
            var s = DeterministicMath.sinCycles(phase)
            if h2 != 0 { s += h2 * DeterministicMath.sinCycles(2 * phase) }
            if h3 != 0 { s += h3 * DeterministicMath.sinCycles(3 * phase) }
            let rise = Envelope.smoothstep(Double(i) / attackSamples)
            let fall = Envelope.smoothstep(Double(count - 1 - i) / releaseSamples)
            buffer[first + i] += Float(amplitude * min(rise, fall) * s)
        }
    }
}

enum Envelope {
    /// 0 below 0, 1 above 1, and 3x² - 2x³ between: a click-free fade.
    @inline(__always)
    static func smoothstep(_ x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        return x * x * (3 - 2 * x)
    }
}
