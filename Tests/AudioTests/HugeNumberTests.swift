import Audio
import TestSupport
import XCTest

/// Offsets and durations far past Int.max (1e300 s) trapped converting to frames (`spectrogram
/// --start 1e300`, `balance` with a row ending at 1e308 s).
final class AudioHugeNumberTests: XCTestCase {
    func testHugeOffsetIsBeyondTheEndAndHugeDurationReadsToTheEnd() throws {
        let dir = makeTemporaryDirectory("audio-huge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/one.wav"
        try AudioFile.write(AudioSamples(samples: [Float](repeating: 0.1, count: 8000), sampleRate: 8000), to: path)
        for offset in [1e300, 1e19, Double.greatestFiniteMagnitude] {
            XCTAssertThrowsError(try AudioFile.read(path, offset: offset)) { error in
                XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("beyond the end"), "\(error)")
            }
        }
        for duration in [1e300, 1e19, Double.greatestFiniteMagnitude] {
            XCTAssertEqual(try AudioFile.read(path, duration: duration).samples.count, 8000, "clamped at the end, as documented")
            XCTAssertEqual(try AudioFile.read(path, offset: 0.5, duration: duration, sampleRate: 16000).samples.count, 8000)
        }
    }
}
