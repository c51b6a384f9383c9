@testable import Audio
import CSndFile
import TestSupport
import XCTest

final class SliceAndStreamTests: XCTestCase {
    func testSlicesEqualTheMatchingPartOfTheFullRead() throws {
        let path = try SharedData.path("audio/1min.wav")
        let full = try AudioFile.read(path)
        XCTAssertEqual(full.samples.count, 60 * 32000)
        for (offset, duration) in [(0.0, 1.0), (12.5, 2.0), (59.0, 1.0), (30.000_01, 0.5)] {
            let slice = try AudioFile.read(path, offset: offset, duration: duration)
            let start = Int((offset * 32000).rounded())
            XCTAssertEqual(slice.samples, Array(full.samples[start..<(start + Int(duration * 32000))]), "offset \(offset)")
            XCTAssertEqual(slice.samples, try full.slice(offset: offset, duration: duration).samples)
        }
        // Past the end: clamped, not an error; offset past the end is an error naming the file.
        XCTAssertEqual(try AudioFile.read(path, offset: 59.5, duration: 5).samples.count, 16000)
        XCTAssertThrowsError(try AudioFile.read(path, offset: 61)) { XCTAssertTrue("\($0)".contains("1min.wav")) }
        XCTAssertThrowsError(try AudioFile.read(path, offset: -1))
        XCTAssertThrowsError(try AudioFile.read(path, offset: 0, duration: -2))
    }

    func testSlicesOfCompressedAndStereoFilesEqualTheFullRead() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rate = 22050
        var rng = TestRNG(seed: 7)
        let left = rng.uniform(rate * 3, -0.5, 0.5), right = rng.uniform(rate * 3, -0.5, 0.5)
        let interleaved = zip(left, right).flatMap { [$0, $1] }
        for (name, format) in [("x.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16), ("x.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24)] {
            let path = directory + "/" + name
            try SoundFileWriter.write(interleaved: interleaved, channels: 2, sampleRate: rate, format: Int32(format), to: path)
            let full = try AudioFile.read(path)
            let slice = try AudioFile.read(path, offset: 1.25, duration: 0.5)
            let start = Int((1.25 * Double(rate)).rounded())
            XCTAssertEqual(slice.samples, Array(full.samples[start..<(start + slice.samples.count)]), name)
            XCTAssertEqual(slice.samples.count, Int((0.5 * Double(rate)).rounded()), name)
        }
    }

    func testStreamingBlocksConcatenateToTheFullRead() throws {
        let path = try SharedData.path("audio/birds_10s.wav")
        let full = try AudioFile.read(path)
        let reader = try AudioStreamReader(path: path, blockFrames: 30_000)
        XCTAssertEqual(reader.info.sampleRate, 32000)
        var blocks: [[Float]] = []
        while let block = try reader.next() { blocks.append(block) }
        XCTAssertTrue(blocks.dropLast().allSatisfy { $0.count == 30_000 })
        XCTAssertEqual(blocks.flatMap { $0 }, full.samples)
        XCTAssertNil(try reader.next())
    }

    func testStreamingWithResamplingMatchesOneShotResampling() throws {
        let path = try SharedData.path("audio/birds_10s.wav")
        let oneShot = try AudioFile.read(path, sampleRate: 22050)
        XCTAssertEqual(oneShot.sampleRate, 22050)
        let reader = try AudioStreamReader(path: path, blockFrames: 10_000, sampleRate: 22050)
        XCTAssertEqual(reader.outputSampleRate, 22050)
        var streamed: [Float] = []
        while let block = try reader.next() {
            XCTAssertLessThanOrEqual(block.count, 10_000)
            streamed += block
        }
        XCTAssertEqual(streamed.count, oneShot.samples.count, accuracy: 1)
        let n = min(streamed.count, oneShot.samples.count)
        XCTAssertLessThan(TestSignals.maxAbsDifference(Array(streamed[0..<n]), Array(oneShot.samples[0..<n])), 1e-4)
    }
}
