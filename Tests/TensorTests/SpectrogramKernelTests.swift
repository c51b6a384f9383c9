import Audio
import ChorusCore
import Foundation
import Kernels
import Tensor
import TestSupport
import XCTest

/// The STFT-to-tensor kernels against Audio's FFTW path and a float64 DFT.
final class SpectrogramKernelTests: XCTestCase {
    private func openCL() throws -> Device {
        guard let device = TestDevices.opencl else { throw XCTSkip("no OpenCL device") }
        return device
    }

    // MARK: - Images equal the CPU path

    func testNoiseAndTonesBatchMatchesCPUPath() throws {
        let device = try openCL()
        let rate = 32000
        let clips = (0..<3).map { noiseAndTones(samples: 24000, sampleRate: rate, seed: UInt64(10 + $0)) }
        let rows = try SpectrogramImageSettings.nearestRows(minFrequency: 500, maxFrequency: 8000, sampleRate: rate, fftSize: 512)
        for (lo, hi) in [(0, 256), (rows.rowLo, rows.rowHi)] {
            let settings = SpectrogramImageSettings(sampleRate: rate, rowLo: lo, rowHi: hi, height: 96, width: 80)
            try assertImagesMatchCPU(clips, settings, device, "noise + tones rows \(lo)...\(hi)")
        }
    }

    func testNonPowerOfTwoWindowTakesDFTPathAndMatchesCPU() throws {
        let device = try openCL()
        let backend = try XCTUnwrap(device.backend as? OpenCLBackend)
        let rate = 16000
        let clips = (0..<2).map { noiseAndTones(samples: 8000, sampleRate: rate, seed: UInt64(30 + $0)) }
        let settings = SpectrogramImageSettings(sampleRate: rate, windowSamples: 400, hopSamples: 160, rowLo: 5, rowHi: 180, height: 64, width: 48)
        XCTAssertEqual(backend.stftMethod(for: settings), .dft)
        try assertImagesMatchCPU(clips, settings, device, "window 400 (DFT)")
        // Zero padding the same window to a power of two takes the FFT path.
        var padded = settings
        padded.fftSize = 512
        padded.rowHi = 256
        XCTAssertEqual(backend.stftMethod(for: padded), .fft)
        try assertImagesMatchCPU(clips, padded, device, "window 400, FFT 512")
    }

    func testRealClipMatchesCPUPathAndReferenceTensor() throws {
        let device = try openCL()
        let path = try SharedData.path("audio/1min.wav")
        let clip = try AudioFile.read(path, offset: 3, duration: 3)
        let second = try AudioFile.read(path, offset: 20, duration: 3)
        XCTAssertEqual(clip.samples.count, 96_000)
        let rows = try SpectrogramImageSettings.nearestRows(minFrequency: 500, maxFrequency: 8000, sampleRate: clip.sampleRate, fftSize: 512)
        XCTAssertEqual(rows.rowLo, 8)
        XCTAssertEqual(rows.rowHi, 128)
        let settings = SpectrogramImageSettings(sampleRate: clip.sampleRate, rowLo: rows.rowLo, rowHi: rows.rowHi)
        let images = try assertImagesMatchCPU([clip.samples, second.samples], settings, device, "1min.wav 3-6 s and 20-23 s")

        let reference = try NPY.read(try SharedData.path("reference/tensor_1min_3-6s_bandpass500-8000.npy"))
        XCTAssertEqual(reference.shape, [224, 224])
        let first = Array(images[0..<(224 * 224)])
        let difference = maxAbsDifference(first, reference.values)
        XCTAssertLessThan(difference, 1e-3, "OpenCL tensor vs reference tensor")
        print("1min.wav 3-6 s: OpenCL vs reference tensor max |diff| \(difference)")
    }

    // MARK: - dB power equals a float64 DFT

    func testDecibelsMatchFloat64DFT() throws {
        let device = try openCL()
        let backend = try XCTUnwrap(device.backend as? OpenCLBackend)
        let rate = 32000
        let clips = (0..<2).map { noiseAndTones(samples: 4096, sampleRate: rate, seed: UInt64(50 + $0)) }
        let hamming = (0..<256).map { Float(0.54 - 0.46 * cos(2 * Double.pi * Double($0) / 256)) }
        let cases: [(String, SpectrogramImageSettings, OpenCLBackend.STFTMethod)] = [
            ("Hann 512 FFT", SpectrogramImageSettings(sampleRate: rate), .fft),
            ("Hann 512, FFT 1024, rows 3...400", SpectrogramImageSettings(sampleRate: rate, fftSize: 1024, rowLo: 3, rowHi: 400), .fft),
            ("Hamming 256 passed in, hop 100, no mean removal", SpectrogramImageSettings(sampleRate: rate, windowSamples: 256, hopSamples: 100, window: hamming, removeMean: false), .fft),
            ("Hann 8 (tiny FFT)", SpectrogramImageSettings(sampleRate: rate, windowSamples: 8, hopSamples: 5), .fft),
            ("Hann 400 DFT", SpectrogramImageSettings(sampleRate: rate, windowSamples: 400, hopSamples: 160), .dft),
            ("Hann 401, odd DFT", SpectrogramImageSettings(sampleRate: rate, windowSamples: 401, hopSamples: 200), .dft),
        ]
        for (name, settings, method) in cases {
            XCTAssertEqual(backend.stftMethod(for: settings), method, name)
            let frames = settings.frameCount(samples: 4096)
            let decibels = try Ops.spectrogramDecibels(clips: Tensor(clips.flatMap { $0 }, shape: [2, 4096], on: device), parameters: settings)
            XCTAssertEqual(decibels.shape, [2, settings.rowCount, frames], name)
            let values = try decibels.toArray()
            for (c, clip) in clips.enumerated() {
                let reference = referenceDecibels(clip, settings)
                let got = Array(values[(c * settings.rowCount * frames)..<((c + 1) * settings.rowCount * frames)])
                // float32's error model: a bin's amplitude is off by about eps·√N times its frame's
                // loudest amplitude, so a bin far below its frame's peak (say the DC bin after the
                // mean is removed, 100 dB down) has a proportionally larger error in dB, and its exact
                // value depends on summation order (fused multiply-add or not) from device to device.
                // Each bin: within 1e-4 relative, plus 8.7 dB × 1e-6 × (frame peak / bin) in amplitude.
                let kept = reference.indices.filter { reference[$0] > -290 }
                XCTAssertGreaterThan(kept.count, reference.count / 2, name)
                let framePeak = (0..<frames).map { f in (0..<settings.rowCount).map { reference[$0 * frames + f] }.max() ?? 0 }
                let outside = kept.filter { i in
                    let allowed = 1e-4 * max(1, abs(reference[i])) + 8.7e-6 * pow(10, (framePeak[i % frames] - reference[i]) / 20)
                    return !(abs(Double(got[i]) - reference[i]) <= allowed)
                }
                XCTAssertEqual(outside.count, 0, "\(name), clip \(c): bins outside float32's error bound, e.g. \(outside.prefix(3).map { "row \($0 / frames) frame \($0 % frames): \(got[$0]) vs \(reference[$0]) dB" })")
                let loud = kept.filter { reference[$0] > framePeak[$0 % frames] - 60 }
                let error = maxRelativeError(loud.map { got[$0] }, loud.map { reference[$0] })
                XCTAssertLessThan(error, 1e-4, "\(name), clip \(c): dB vs float64 DFT within 60 dB of the frame's peak, max relative error")
                if c == 0 { print("\(name): dB vs float64 DFT within 60 dB of the peak: max relative error \(error); \(kept.count) bins within float32's bound") }
            }
        }
    }

    // MARK: - Bad input

    func testBadSettingsAreClearErrors() throws {
        // The CPU device is not this op's path.
        let cpuClips = try Tensor([Float](repeating: 0, count: 1024), shape: [1, 1024], on: .cpu)
        XCTAssertThrowsError(try Ops.spectrogramImages(clips: cpuClips, parameters: SpectrogramImageSettings(sampleRate: 32000))) { error in
            XCTAssertTrue("\(error)".contains("CPU path is Audio's FFTW spectrogram"), "\(error)")
        }
        XCTAssertThrowsError(try SpectrogramImageSettings.nearestRows(minFrequency: 500, maxFrequency: 20000, sampleRate: 32000, fftSize: 512)) { error in
            XCTAssertTrue("\(error)".contains("Nyquist"), "\(error)")
        }
        let device = try openCL()
        let clips = try Tensor([Float](repeating: 0.1, count: 2 * 300), shape: [2, 300], on: device)
        let cases: [(SpectrogramImageSettings, String)] = [
            (SpectrogramImageSettings(sampleRate: 32000), "window samples"),  // 300 samples < 512
            (SpectrogramImageSettings(sampleRate: 32000, windowSamples: 256, rowLo: 10, rowHi: 129), "rowHi 129"),
            (SpectrogramImageSettings(sampleRate: 32000, windowSamples: 256, rowLo: 50, rowHi: 20), "rowLo 50"),
            (SpectrogramImageSettings(sampleRate: 32000, windowSamples: 256, fftSize: 128), "fft size 128"),
            (SpectrogramImageSettings(sampleRate: 32000, windowSamples: 256, window: [1, 2, 3]), "window has 3 coefficients"),
            (SpectrogramImageSettings(sampleRate: 32000, windowSamples: 256, dBLow: -20, dBHigh: -100), "dB range"),
            (SpectrogramImageSettings(sampleRate: 32000, windowSamples: 256, height: 0), "image size"),
        ]
        for (settings, expected) in cases {
            XCTAssertThrowsError(try Ops.spectrogramImages(clips: clips, parameters: settings), expected) { error in
                XCTAssertTrue("\(error)".contains(expected), "expected '\(expected)' in: \(error)")
                XCTAssertTrue("\(error)".hasPrefix("spectrogramImages:"), "\(error)")
            }
        }
        let flat = try Tensor([Float](repeating: 0, count: 600), shape: [600], on: device)
        XCTAssertThrowsError(try Ops.spectrogramImages(clips: flat, parameters: SpectrogramImageSettings(sampleRate: 32000, windowSamples: 256))) { error in
            XCTAssertTrue("\(error)".contains("clips [batch, samples]"), "\(error)")
        }
    }

    // MARK: - Helpers

    /// Runs the OpenCL batch, compares each image with Audio's CPU path, and returns the batch.
    @discardableResult
    private func assertImagesMatchCPU(_ clips: [[Float]], _ settings: SpectrogramImageSettings, _ device: Device, _ name: String,
                                      file: StaticString = #filePath, line: UInt = #line) throws -> [Float] {
        let samples = clips[0].count
        let input = try Tensor(clips.flatMap { $0 }, shape: [clips.count, samples], on: device)
        let images = try Ops.spectrogramImages(clips: input, parameters: settings)
        XCTAssertEqual(images.shape, [clips.count, 1, settings.height, settings.width], name, file: file, line: line)
        let values = try images.toArray()
        let size = settings.height * settings.width
        var worst: Float = 0
        for (c, clip) in clips.enumerated() {
            let expected = try cpuImage(clip, settings)
            let got = Array(values[(c * size)..<((c + 1) * size)])
            worst = max(worst, maxAbsDifference(got, expected))
            XCTAssertGreaterThan(Set(expected).count, size / 10, "\(name): the CPU image should not be flat", file: file, line: line)
        }
        XCTAssertLessThan(worst, 1e-3, "\(name): OpenCL vs CPU path max |diff|", file: file, line: line)
        XCTAssertGreaterThanOrEqual(values.min() ?? -2, -1, name, file: file, line: line)
        XCTAssertLessThanOrEqual(values.max() ?? 2, 1, name, file: file, line: line)
        print("\(name): OpenCL vs CPU path max |diff| \(worst)")
        return values
    }

    /// Audio's CPU path: `Spectrogram.compute` -> `bandpassed` (to the settings' rows) -> `image`.
    private func cpuImage(_ samples: [Float], _ s: SpectrogramImageSettings) throws -> [Float] {
        let parameters = SpectrogramParameters(windowSamples: s.windowSamples, overlapSamples: s.windowSamples - s.hopSamples, fftSize: s.fftSize)
        let spectrogram = try Spectrogram.compute(AudioSamples(samples: samples, sampleRate: s.sampleRate), parameters: parameters)
        let band = try spectrogram.bandpassed(minFrequency: spectrogram.frequencies[s.rowLo], maxFrequency: spectrogram.frequencies[s.rowHi])
        XCTAssertEqual(band.rowCount, s.rowCount)
        return try band.image(ImageParameters(height: s.height, width: s.width, dBRange: Double(s.dBLow)...Double(s.dBHigh)))
    }

    /// dB power `[rows, frames]` of the kept rows, by a direct DFT in float64.
    private func referenceDecibels(_ x: [Float], _ s: SpectrogramImageSettings) -> [Double] {
        let frames = s.frameCount(samples: x.count), n = s.fftSize
        let window = s.window.map(Double.init)
        let sum = window.reduce(0, +), scale = 1 / (sum * sum)
        let cosine = (0..<n).map { cos(2 * Double.pi * Double($0) / Double(n)) }
        let sine = (0..<n).map { -sin(2 * Double.pi * Double($0) / Double(n)) }
        var out = [Double](repeating: 0, count: s.rowCount * frames)
        for f in 0..<frames {
            let segment = (0..<s.windowSamples).map { Double(x[f * s.hopSamples + $0]) }
            let mean = s.removeMean ? segment.reduce(0, +) / Double(s.windowSamples) : 0
            let v = (0..<s.windowSamples).map { (segment[$0] - mean) * window[$0] }
            for k in s.rowLo...s.rowHi {
                var re = 0.0, im = 0.0
                for t in 0..<s.windowSamples {
                    let phase = (k * t) % n
                    re += v[t] * cosine[phase]
                    im += v[t] * sine[phase]
                }
                let single = k == 0 || (n % 2 == 0 && k == n / 2)
                let power = (re * re + im * im) * (single ? scale : 2 * scale)
                out[(k - s.rowLo) * frames + f] = 10 * log10(max(power, 1e-30))
            }
        }
        return out
    }

    /// Tones (two fixed, one per seed) in uniform noise.
    private func noiseAndTones(samples: Int, sampleRate: Int, seed: UInt64) -> [Float] {
        var rng = TestRNG(seed: seed)
        let noise = rng.uniform(samples, -0.05, 0.05)
        let extra = 300 + Double(seed % 7) * 731
        return (0..<samples).map { i in
            let t = Double(i) / Double(sampleRate)
            let tones = 0.4 * sin(2 * Double.pi * 1000 * t) + 0.2 * sin(2 * Double.pi * 3150 * t) + 0.1 * sin(2 * Double.pi * extra * t)
            return noise[i] + Float(tones) + 0.02
        }
    }

    private func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}
