import Audio
import ChorusCore
import TestSupport
import XCTest

final class SpectrogramReferenceTests: XCTestCase {
    func testDefaultSpectrogramMatchesScipyReference() throws {
        let audio = try AudioFile.read(try SharedData.path("audio/1min.wav"), offset: 0, duration: 10)
        let reference = try ReferenceArray.read(try SharedData.path("reference/spectrogram_1min_0-10s.npy"))
        let spectrogram = try Spectrogram.compute(audio)
        XCTAssertEqual(reference.shape, [257, 1249])
        XCTAssertEqual([spectrogram.rowCount, spectrogram.columnCount], reference.shape)
        XCTAssertEqual(spectrogram.frequencies.first, 0)
        XCTAssertEqual(spectrogram.frequencies.last, 16000)
        XCTAssertEqual(spectrogram.times.first!, 0.008, accuracy: 1e-12)
        XCTAssertEqual(spectrogram.times.last!, 9.992, accuracy: 1e-12)
        var maxDifference: Float = 0
        var compared = 0
        for (ours, theirs) in zip(spectrogram.values, reference.values) where theirs > -100 {
            maxDifference = max(maxDifference, abs(ours - theirs))
            compared += 1
        }
        XCTAssertGreaterThan(compared, reference.values.count / 2)
        XCTAssertLessThan(maxDifference, 0.01, "max |dB difference| over \(compared) values")
        print("spectrogram vs scipy: max |dB diff| \(maxDifference) over \(compared) values above -100 dB")
    }

    func testThreadedAndSingleThreadedSpectrogramsAreIdentical() throws {
        let audio = try AudioFile.read(try SharedData.path("audio/1min.wav"), offset: 0, duration: 40)
        let one = try Spectrogram.compute(audio, threads: 1)
        let many = try Spectrogram.compute(audio, threads: 3)
        XCTAssertEqual(one.values, many.values)
    }
}
