import Foundation

/// A spectrogram: `values` row-major `[frequencies.count][times.count]`, in dB or linear power.
public struct Spectrogram: Sendable, Equatable {
    /// Row-major `[frequency][time]`.
    public var values: [Float]
    /// Row frequencies in Hz, ascending (`k * sampleRate / fftSize`).
    public var frequencies: [Double]
    /// Column times in seconds: frame centres, `(j * hop + window / 2) / sampleRate`.
    public var times: [Double]
    /// True when `values` are dB (`10 log10(max(power, 1e-30))`), false for linear power.
    public var isDecibels: Bool

    public init(values: [Float], frequencies: [Double], times: [Double], isDecibels: Bool) throws {
        guard values.count == frequencies.count * times.count else {
            throw AudioError.invalidParameter(name: "spectrogram values", reason: "\(values.count) values do not fill \(frequencies.count) frequencies x \(times.count) times")
        }
        self.values = values
        self.frequencies = frequencies
        self.times = times
        self.isDecibels = isDecibels
    }

    /// Number of frequency rows.
    public var rowCount: Int { frequencies.count }
    /// Number of time columns.
    public var columnCount: Int { times.count }

    /// The value at frequency row `row` and time column `column`.
    public subscript(row: Int, column: Int) -> Float { values[row * times.count + column] }

    /// One frequency row (all times).
    public func row(_ row: Int) -> ArraySlice<Float> { values[(row * times.count)..<((row + 1) * times.count)] }

    /// The same spectrogram in dB (`10 log10(max(power, 1e-30))`); unchanged if already in dB.
    public func inDecibels() -> Spectrogram {
        guard !isDecibels else { return self }
        var copy = self
        copy.values.withUnsafeMutableBufferPointer { FastDecibels.convert($0.baseAddress!, count: $0.count) }
        copy.isDecibels = true
        return copy
    }

    /// The same spectrogram as linear power (`10^(dB/10)`); unchanged if already linear.
    public func power() -> Spectrogram {
        guard isDecibels else { return self }
        var copy = self
        copy.values = values.map { Float(pow(10, Double($0) / 10)) }
        copy.isDecibels = false
        return copy
    }

    /// Keeps the rows from the one nearest `minFrequency` to the one nearest `maxFrequency`, inclusive
    /// (`argmin |f - limit|`, first on ties). This crops rows; it is not an audio filter.
    ///
    /// - Parameter allowOutOfRange: when false (the default), limits below 0 or above the highest
    ///   row frequency (Nyquist) are an error; when true they are clamped to the nearest row.
    public func bandpassed(minFrequency: Double, maxFrequency: Double, allowOutOfRange: Bool = false) throws -> Spectrogram {
        guard let top = frequencies.last, let bottom = frequencies.first else {
            throw AudioError.tooShort(reason: "spectrogram has no frequency rows to bandpass")
        }
        guard minFrequency.isFinite, maxFrequency.isFinite, minFrequency < maxFrequency else {
            throw AudioError.invalidParameter(name: "bandpass", reason: "low limit \(minFrequency) Hz must be below high limit \(maxFrequency) Hz")
        }
        if !allowOutOfRange {
            guard minFrequency >= bottom, maxFrequency <= top else {
                throw AudioError.invalidParameter(name: "bandpass", reason: "\(minFrequency)-\(maxFrequency) Hz is outside the spectrogram's \(bottom)-\(top) Hz (the Nyquist frequency is \(top) Hz)")
            }
        }
        let low = Spectrogram.nearestIndex(of: minFrequency, in: frequencies)
        let high = Spectrogram.nearestIndex(of: maxFrequency, in: frequencies)
        let columns = times.count
        return try Spectrogram(values: Array(values[(low * columns)..<((high + 1) * columns)]),
                               frequencies: Array(frequencies[low...high]), times: times, isDecibels: isDecibels)
    }

    /// The columns whose times lie in `[start, end)` seconds.
    public func trimmed(start: Double, end: Double) throws -> Spectrogram {
        let kept = times.indices.filter { times[$0] >= start && times[$0] < end }
        guard let first = kept.first, let last = kept.last else {
            throw AudioError.invalidParameter(name: "time range", reason: "\(start)-\(end) s contains no spectrogram frames")
        }
        var out: [Float] = []
        out.reserveCapacity(frequencies.count * kept.count)
        for r in 0..<frequencies.count { out.append(contentsOf: values[(r * times.count + first)...(r * times.count + last)]) }
        return try Spectrogram(values: out, frequencies: frequencies, times: Array(times[first...last]), isDecibels: isDecibels)
    }

    static func nearestIndex(of target: Double, in sorted: [Double]) -> Int {
        var best = 0
        var bestDistance = Double.infinity
        for (i, f) in sorted.enumerated() where abs(f - target) < bestDistance {
            best = i
            bestDistance = abs(f - target)
        }
        return best
    }
}

extension Spectrogram {
    /// Computes the spectrogram of mono audio. Frames start every hop; a partial last frame is
    /// dropped. Each frame has its mean removed (optional), is windowed, zero-padded to the FFT size
    /// and transformed; power is `|X|² / (Σw)²`, doubled except at DC and (for even FFT sizes)
    /// Nyquist, like scipy's "spectrum" scaling.
    ///
    /// - Parameter threads: worker threads; nil uses all cores for long audio (> 4096 frames), one otherwise.
    /// - Throws: `AudioError.tooShort` when the audio is shorter than one window; `invalidParameter` for
    ///   bad parameters or sample rate.
    public static func compute(_ audio: AudioSamples, parameters: SpectrogramParameters = .init(), threads: Int? = nil) throws -> Spectrogram {
        try parameters.validate()
        guard audio.sampleRate > 0 else {
            throw AudioError.invalidParameter(name: "sample rate", reason: "\(audio.sampleRate) Hz must be positive")
        }
        guard audio.samples.count >= parameters.windowSamples else {
            throw AudioError.tooShort(reason: "\(audio.samples.count) samples (\(String(format: "%.4f", audio.duration)) s) is shorter than one spectrogram window of \(parameters.windowSamples) samples")
        }
        let engine = try SpectrogramEngine(parameters: parameters)
        let frameCount = parameters.frameCount(sampleCount: audio.samples.count)
        let values = engine.compute(audio.samples, frameCount: frameCount, threads: threads)
        let rate = Double(audio.sampleRate)
        let nfft = Double(parameters.transformSize)
        let frequencies = (0..<parameters.frequencyCount).map { Double($0) * rate / nfft }
        let hop = parameters.hopSamples, half = Double(parameters.windowSamples) / 2
        let times = (0..<frameCount).map { (Double($0 * hop) + half) / rate }
        return try Spectrogram(values: values, frequencies: frequencies, times: times, isDecibels: parameters.decibels)
    }
}
