import Audio
import ChorusCore
import TestSupport
import XCTest

final class SpectrogramImageTests: XCTestCase {
    func testTensorMatchesReferenceForBandpassedClip() throws {
        let audio = try AudioFile.read(try SharedData.path("audio/1min.wav"), offset: 3, duration: 3)
        XCTAssertEqual(audio.samples.count, 96_000)
        let reference = try ReferenceArray.read(try SharedData.path("reference/tensor_1min_3-6s_bandpass500-8000.npy"))
        let spectrogram = try Spectrogram.compute(audio)
        let band = try spectrogram.bandpassed(minFrequency: 500, maxFrequency: 8000)
        XCTAssertEqual(band.frequencies.first!, 8 * 62.5)
        XCTAssertEqual(band.frequencies.last!, 128 * 62.5)
        let tensor = try spectrogram.image(ImageParameters(minFrequency: 500, maxFrequency: 8000))
        XCTAssertEqual(reference.shape, [224, 224])
        XCTAssertEqual(tensor.count, reference.values.count)
        let maxDifference = zip(tensor, reference.values).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(maxDifference, 1e-4)
        XCTAssertGreaterThanOrEqual(tensor.min()!, -1)
        XCTAssertLessThanOrEqual(tensor.max()!, 1)
        print("tensor vs reference: max |diff| \(maxDifference)")
    }

    func testBilinearResizeFollowsAlignCornersFalse() {
        // 2x2 -> 4x4 with PyTorch: rows/cols interpolate at source coordinates 0, 0.25, 0.75, 1 (clamped).
        let image: [Float] = [0, 1, 2, 3]
        let out = BilinearResize.resize(image, height: 2, width: 2, toHeight: 4, width: 4)
        let expectedFirstRow: [Float] = [0, 0.25, 0.75, 1]
        XCTAssertEqual(Array(out[0..<4]), expectedFirstRow)
        XCTAssertEqual(Array(out[12..<16]), expectedFirstRow.map { $0 + 2 })
        // Downscaling by 2 averages neighbour pairs (source coordinate 0.5, 2.5).
        let row: [Float] = [0, 10, 20, 30]
        XCTAssertEqual(BilinearResize.resize(row, height: 1, width: 4, toHeight: 1, width: 2), [5, 25])
    }

    func testImageIsFlippedWithHighFrequenciesOnTop() throws {
        // A rising ramp in frequency: row k has value -100 + k dB.
        let rows = 50, columns = 8
        let values = (0..<rows).flatMap { k in [Float](repeating: Float(-100 + k), count: columns) }
        let spectrogram = try Spectrogram(values: values, frequencies: (0..<rows).map(Double.init), times: (0..<columns).map(Double.init), isDecibels: true)
        let image = try spectrogram.image(ImageParameters(height: rows, width: columns, dBRange: -100 ... -50))
        XCTAssertEqual(image[0], (Float(49) / 50 - 0.5) / 0.5, accuracy: 1e-6)  // top = highest frequency
        XCTAssertEqual(image[(rows - 1) * columns], -1, accuracy: 1e-6)
    }

    func testPNGHasLowFrequenciesAtTheBottomAndLoudIsBright() throws {
        let rows = 4, columns = 3
        // Loud at the lowest frequency only.
        var values = [Float](repeating: -100, count: rows * columns)
        for c in 0..<columns { values[c] = -20 }
        let spectrogram = try Spectrogram(values: values, frequencies: [0, 1, 2, 3], times: [0, 1, 2], isDecibels: true)
        let picture = try SpectrogramImage.render(spectrogram, colormap: .gray)
        XCTAssertEqual(picture.height, rows)
        XCTAssertEqual(picture.pixels[3 * ((rows - 1) * columns)], 255)  // bottom row bright
        XCTAssertEqual(picture.pixels[0], 0)  // top row dark
        let png = try SpectrogramImage.png(spectrogram, size: (8, 6))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
    }

    func testBadImageParametersAreErrors() throws {
        let spectrogram = try Spectrogram(values: [0, 0], frequencies: [0, 1], times: [0], isDecibels: true)
        XCTAssertThrowsError(try spectrogram.image(ImageParameters(height: 0))) { XCTAssertTrue("\($0)".contains("image size")) }
        XCTAssertThrowsError(try spectrogram.image(ImageParameters(dBRange: -20 ... -20))) { XCTAssertTrue("\($0)".contains("dB range")) }
    }
}
