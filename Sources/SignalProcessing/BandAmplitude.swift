import Audio
import Foundation

/// Per-frame net band amplitude, OpenSoundscape 0.13's `Spectrogram.net_amplitude`:
///
/// - power on the 0.13 scale, `P_k = |X_k|² / N` (N = FFT size; no one-sided doubling). Chorus's
///   spectrogram uses scipy's "spectrum" scaling `c_k |X_k|² / (Σw)²` (`c_k` = 2 except DC and
///   Nyquist), so each row is multiplied by `(Σw)² / (c_k N)` to get back to it exactly;
/// - that power limited to the decibel range (default [-100, -20] dB, i.e. `P` clamped to
///   `[1e-10, 1e-2]`), as the reference's RIBBIT spectrogram is; without it a loud chorus
///   saturates nothing and the ranking of the reference's scores is not reproduced
///   (Spearman 0.68 instead of 0.998 on the Great Plains toad example);
/// - a band's rows are those from the row nearest its low limit to the row nearest its high
///   limit, inclusive (ties to the lower row), as the spectrogram bandpass;
/// - band amplitude `A = sqrt(2 · Σ_rows P / N)`;
/// - net amplitude `A_signal / width(signal) − Σ_i A_noise_i / Σ_i width(noise_i)`, clamped at 0
///   when noise bands are given (widths in Hz).
struct BandAmplitude: Sendable {
    struct Band: Sendable {
        var rows: ClosedRange<Int>
        var width: Double
    }

    let signal: Band
    let noise: [Band]
    let noiseWidth: Double
    /// Factor per spectrogram row turning Chorus's power into `P_0.13`.
    let rowFactor: [Double]
    /// Limits on `P_0.13` (from the decibel range), or nil.
    let powerLimits: ClosedRange<Double>?
    /// `2 / N`: band power sum to squared amplitude.
    let amplitudeScale: Double

    init(parameters: RibbitParameters, sampleRate: Int) {
        let spectrogram = parameters.spectrogramParameters
        let nfft = spectrogram.transformSize, bins = spectrogram.frequencyCount
        let frequencies = (0..<bins).map { Double($0) * Double(sampleRate) / Double(nfft) }
        func rows(_ band: FrequencyBand) -> Band {
            Band(rows: BandAmplitude.nearestRow(band.low, frequencies)...BandAmplitude.nearestRow(band.high, frequencies), width: band.width)
        }
        signal = rows(parameters.signalBand)
        noise = parameters.noiseBands.map(rows)
        noiseWidth = parameters.noiseBands.reduce(0) { $0 + $1.width }
        let windowSum = spectrogram.window.coefficients(spectrogram.windowSamples).reduce(0.0) { $0 + Double($1) }
        let n = Double(nfft)
        rowFactor = (0..<bins).map { k in
            let doubled = !(k == 0 || (nfft % 2 == 0 && k == bins - 1))
            return windowSum * windowSum / ((doubled ? 2 : 1) * n)  // P_0.13 = p · (Σw)² / (c_k N)
        }
        powerLimits = parameters.decibelRange.map { pow(10, $0.lowerBound / 10)...pow(10, $0.upperBound / 10) }
        amplitudeScale = 2 / n
    }

    /// Row nearest `frequency` (argmin |f − frequency|, first on ties).
    static func nearestRow(_ frequency: Double, _ frequencies: [Double]) -> Int {
        var best = 0, bestDistance = Double.infinity
        for (i, f) in frequencies.enumerated() where abs(f - frequency) < bestDistance {
            best = i
            bestDistance = abs(f - frequency)
        }
        return best
    }

    /// Appends the net amplitude of every column of a linear-power spectrogram to `series`.
    func append(_ spectrogram: Spectrogram, to series: inout [Float]) {
        let frames = spectrogram.columnCount
        guard frames > 0 else { return }
        spectrogram.values.withUnsafeBufferPointer { values in
            func amplitude(_ band: Band) -> [Double] {
                var sums = [Double](repeating: 0, count: frames)
                for row in band.rows {
                    let factor = rowFactor[row]
                    let base = row * frames
                    if let limits = powerLimits {
                        for j in 0..<frames { sums[j] += min(max(Double(values[base + j]) * factor, limits.lowerBound), limits.upperBound) }
                    } else {
                        for j in 0..<frames { sums[j] += Double(values[base + j]) * factor }
                    }
                }
                return sums.map { ($0 * amplitudeScale).squareRoot() }
            }
            let signalAmplitude = amplitude(signal)
            var net = signalAmplitude.map { $0 / signal.width }
            if !noise.isEmpty {
                for band in noise {
                    let a = amplitude(band)
                    for j in 0..<frames { net[j] -= a[j] / noiseWidth }
                }
                for j in 0..<frames where net[j] < 0 { net[j] = 0 }
            }
            series.append(contentsOf: net.map { Float($0) })
        }
    }
}
