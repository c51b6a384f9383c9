import Audio
import TestSupport
import XCTest

final class WriteTests: XCTestCase {
    func testWAVRoundTripsInBothEncodings() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var rng = TestRNG(seed: 11)
        let audio = AudioSamples(samples: rng.uniform(12_345, -0.9, 0.9), sampleRate: 24000)

        let pcmPath = directory + "/pcm.wav"
        try AudioFile.write(audio, to: pcmPath)
        let pcm = try AudioFile.read(pcmPath)
        XCTAssertEqual(pcm.sampleRate, 24000)
        XCTAssertEqual(pcm.samples.count, audio.samples.count)
        XCTAssertLessThanOrEqual(TestSignals.maxAbsDifference(pcm.samples, audio.samples), 1.0 / 32768)
        XCTAssertEqual(try AudioFile.info(pcmPath).format, "WAV PCM_16")

        let floatPath = directory + "/float.wav"
        try AudioFile.write(audio, to: floatPath, encoding: .float32)
        XCTAssertEqual(try AudioFile.read(floatPath).samples, audio.samples)
        XCTAssertEqual(try AudioFile.info(floatPath).format, "WAV FLOAT")

        // Overwrites in place, leaves no temporary files, clips rather than wraps.
        try AudioFile.write(AudioSamples(samples: [2, -2, 0.5], sampleRate: 8000), to: pcmPath)
        let clipped = try AudioFile.read(pcmPath).samples
        XCTAssertEqual(clipped.count, 3)
        XCTAssertGreaterThan(clipped[0], 0.99)
        XCTAssertLessThan(clipped[1], -0.99)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), ["float.wav", "pcm.wav"])
    }
}
