import Audio
import TestSupport
import XCTest

final class ResamplerTests: XCTestCase {
    func testLengthFollowsTheRateRatio() throws {
        for (from, to) in [(32000, 22050), (44100, 32000), (22000, 48000), (32000, 400), (8000, 8000)] {
            let x = [Float](repeating: 0.1, count: 12_345)
            let y = try Resampler.resample(x, from: from, to: to)
            XCTAssertEqual(Double(y.count), (Double(x.count) * Double(to) / Double(from)).rounded(), accuracy: 1, "\(from)->\(to)")
        }
        XCTAssertEqual(try Resampler.resample([], from: 32000, to: 16000), [])
    }

    func testToneAboveTheNewNyquistIsRejected() throws {
        // 15 kHz at 44.1 kHz, resampled to 22.05 kHz (Nyquist 11.025 kHz): a naive decimator would
        // alias it to 7.05 kHz at full level.
        let from = 44100, to = 22050
        let tone = TestSignals.sine(frequency: 15000, sampleRate: from, count: from)
        let out = try Resampler.resample(tone, from: from, to: to)
        let middle = out[(to / 4)..<(3 * to / 4)]
        let rejection = 20 * log10(TestSignals.rms(middle) / TestSignals.rms(tone))
        XCTAssertLessThan(rejection, -100, "aliasing rejection \(rejection) dB")
        print("resampler aliasing rejection: \(rejection) dB")

        // In-band tones keep their level and frequency.
        let inBand = TestSignals.sine(frequency: 3000, sampleRate: from, count: from)
        let kept = try Resampler.resample(inBand, from: from, to: to)
        let expected = TestSignals.sine(frequency: 3000, sampleRate: to, count: kept.count)
        let window = (to / 4)..<(3 * to / 4)
        XCTAssertLessThan(TestSignals.maxAbsDifference(Array(kept[window]), Array(expected[window])), 2e-3)
    }

    func testReadWithSampleRateResamples() throws {
        let audio = try AudioFile.read(try SharedData.path("audio/great_plains_toad.wav"), offset: 5, duration: 2, sampleRate: 32000)
        XCTAssertEqual(audio.sampleRate, 32000)
        XCTAssertEqual(audio.samples.count, 64000, accuracy: 1)
    }
}
