import ArgumentParser
import Tensor
import Audio
import ChorusCore
import Foundation

/// `train-gpu spectrogram`: a spectrogram (or the CNN tensor) of one audio file as PNG or .npy.
struct SpectrogramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectrogram",
        abstract: "Compute the spectrogram of an audio file and write it as a PNG picture or NumPy .npy data.",
        discussion: """
        .png: low frequencies at the bottom, loud = bright. .npy: float32 dB spectrogram [frequency, time], \
        or the CNN input tensor [H, W] in [-1, 1] when --size is given.
        --db-range takes LO HI (--db-range -100 -20) or LO,HI (--db-range=-100,-20).
        """)

    @Argument(help: "Audio file (WAV, FLAC, OGG, MP3, AIFF; any case of extension).")
    var audio: String

    @Option(parsing: .unconditional, help: "Start of the excerpt, seconds.")  // `-1` is a value here
    var start: Double = 0

    @Option(parsing: .unconditional, help: "Length of the excerpt, seconds (default: to the end of the file).")
    var duration: Double?

    @Option(name: .customLong("sample-rate"), help: "Resample to this rate (Hz) before the spectrogram.")
    var sampleRate: Int?

    @Option(name: .customLong("window-samples"), help: "Samples per spectrogram frame.")
    var windowSamples: Int = 512

    @Option(name: .customLong("overlap-samples"), help: "Samples shared by consecutive frames (default: half the window).")
    var overlapSamples: Int?

    @Option(name: .customLong("bandpass"), parsing: .upToNextOption, help: ArgumentHelp("Keep rows from LO to HI Hz (nearest rows, inclusive).", valueName: "LO HI"))
    var bandpass: [Double] = []

    @Option(name: .customLong("db-range"), parsing: .unconditionalSingleValue, help: ArgumentHelp("dB mapped to dark..bright (default -100,-20).", valueName: "LO,HI"))
    var dBRange: [String] = []

    /// Catches the HI of `--db-range LO HI`: the parser takes a negative number for an option name.
    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    @Option(help: ArgumentHelp("Resize to the CNN tensor size HxW, e.g. 224x224.", valueName: "HxW"))
    var size: String?

    @Option(help: "Device for the tensor (--size with .npy): auto, cpu (FFTW) or opencl[:N] (STFT kernels).")
    var device: String = "auto"

    @Option(help: "Colour map for .png: viridis or gray.")
    var colormap: String = "viridis"

    @Option(name: .shortAndLong, help: "Output file: .png or .npy (an existing one is kept unless --overwrite).")
    var out: String

    @OptionGroup var outputs: OverwriteOption

    func validate() throws {
        guard start.isFinite, start >= 0 else { throw ValidationError("--start must be a finite number of seconds, 0 or more; got \(start)") }
        if let duration, !(duration.isFinite && duration > 0) {
            throw ValidationError("--duration must be a finite number of seconds above 0; got \(duration)")
        }
    }

    func run() throws {
        let range = try parseDecibelRange()
        let kind = (out as NSString).pathExtension.lowercased()
        guard kind == "png" || kind == "npy" else { throw ValidationError("--out must end in .png or .npy, not '\(out)'") }
        guard let colors = SpectrogramColormap(rawValue: colormap.lowercased()) else {
            throw ValidationError("--colormap must be one of \(SpectrogramColormap.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard bandpass.isEmpty || bandpass.count == 2 else { throw ValidationError("--bandpass takes two values, LO HI (Hz)") }
        var image = ImageParameters()
        image.dBRange = range
        if bandpass.count == 2 { (image.minFrequency, image.maxFrequency) = (bandpass[0], bandpass[1]) }
        let tensorSize = try size.map(ImageParameters.parseSize)

        try OutputPolicy.claim([PlannedOutput(out, parameter: "--out", locks: true)], inputs: [audio], overwrite: outputs.overwrite)
        let samples = try AudioFile.read(audio, offset: start, duration: duration, sampleRate: sampleRate)
        let parameters = SpectrogramParameters(windowSamples: windowSamples, overlapSamples: overlapSamples)
        var spectrogram: Spectrogram
        do { spectrogram = try Spectrogram.compute(samples, parameters: parameters) } catch let AudioError.tooShort(reason) {
            throw AudioError.tooShort(reason: "\(audio) from \(start) s: \(reason)")  // say which file
        }
        if let lo = image.minFrequency, let hi = image.maxFrequency {
            spectrogram = try spectrogram.bandpassed(minFrequency: lo, maxFrequency: hi)
            image.minFrequency = nil
            image.maxFrequency = nil
        }
        print(String(format: "audio: %@, %d Hz, %.3f s from %.3f s", audio, samples.sampleRate, samples.duration, start))
        print(String(format: "frequency: %.1f to %.1f Hz (%d rows)", spectrogram.frequencies.first ?? 0, spectrogram.frequencies.last ?? 0, spectrogram.rowCount))
        print(String(format: "time: %.4f to %.4f s (%d frames, window centres)", start + (spectrogram.times.first ?? 0), start + (spectrogram.times.last ?? 0), spectrogram.columnCount))

        let shape: [Int]
        if kind == "npy" {
            if let tensorSize {
                image.height = tensorSize.height
                image.width = tensorSize.width
                let dev = try Device.select(device)
                if dev.isOpenCL {
                    var settings = SpectrogramImageSettings(sampleRate: samples.sampleRate, windowSamples: windowSamples, hopSamples: parameters.hopSamples,
                                                            dBLow: Float(range.lowerBound), dBHigh: Float(range.upperBound),
                                                            height: tensorSize.height, width: tensorSize.width)
                    if bandpass.count == 2 {
                        (settings.rowLo, settings.rowHi) = try SpectrogramImageSettings.nearestRows(minFrequency: bandpass[0], maxFrequency: bandpass[1],
                                                                                                    sampleRate: samples.sampleRate, fftSize: windowSamples)
                    }
                    let t = try Ops.spectrogramImages(clips: Tensor(samples.samples, shape: [1, samples.samples.count], on: dev), parameters: settings)
                    try NPY.write(try t.toArray(), shape: [tensorSize.height, tensorSize.width], to: out)
                    print("tensor computed by the STFT kernels on \(dev.description)")
                } else {
                    try NPY.write(try spectrogram.image(image), shape: [tensorSize.height, tensorSize.width], to: out)
                }
                shape = [tensorSize.height, tensorSize.width]
            } else {
                try NPY.write(spectrogram.values, shape: [spectrogram.rowCount, spectrogram.columnCount], to: out)
                shape = [spectrogram.rowCount, spectrogram.columnCount]
            }
        } else {
            let pixels = tensorSize.map { $0.height * $0.width } ?? spectrogram.rowCount * spectrogram.columnCount
            guard pixels <= 50_000_000 else {
                throw ValidationError("a \(spectrogram.rowCount)x\(spectrogram.columnCount) picture is too large; pass --size HxW or a shorter --duration")
            }
            try SpectrogramImage.writePNG(spectrogram, to: out, parameters: image, size: tensorSize, colormap: colors)
            shape = tensorSize.map { [$0.height, $0.width] } ?? [spectrogram.rowCount, spectrogram.columnCount]
        }
        print("shape: [\(shape.map(String.init).joined(separator: ", "))] -> \(out)")
    }

    /// `--db-range -100 -20`, `--db-range=-100,-20`, or `--db-range "-100 -20"`.
    private func parseDecibelRange() throws -> ClosedRange<Double> {
        var texts = dBRange
        if !unrecognized.isEmpty {
            guard dBRange.count == 1, unrecognized.count == 1, Double(unrecognized[0]) != nil else {
                throw ValidationError("unexpected arguments: \(unrecognized.joined(separator: " "))")
            }
            texts.append(unrecognized[0])
        }
        guard !texts.isEmpty else { return ImageParameters().dBRange }
        let values = texts.flatMap { $0.split(whereSeparator: { $0 == "," || $0 == " " }) }.map { Double($0) }
        guard values.count == 2, let lo = values[0], let hi = values[1], lo < hi else {
            throw ValidationError("--db-range takes two numbers LO,HI with LO < HI, e.g. --db-range=-100,-20")
        }
        return lo...hi
    }
}
