import Audio
import TestSupport
import XCTest

final class BadInputTests: XCTestCase {
    private var directory = ""

    override func setUp() { directory = makeTemporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    private func assertError(_ expression: @autoclosure () throws -> Any, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            let text = "\(error)"
            for word in words { XCTAssertTrue(text.contains(word), "'\(text)' should mention '\(word)'", file: file, line: line) }
        }
    }

    func testMissingFile() {
        let path = directory + "/nothing-here.wav"
        assertError(try AudioFile.read(path), mentions: [path, "not found"])
        assertError(try AudioFile.info(path), mentions: [path])
        assertError(try AudioStreamReader(path: path, blockFrames: 10), mentions: [path])
    }

    func testUnsupportedFormat() throws {
        let path = directory + "/notes.txt"
        try "not audio".write(toFile: path, atomically: true, encoding: .utf8)
        assertError(try AudioFile.read(path), mentions: [path, "unsupported", ".txt"])
        assertError(try AudioFile.read(directory), mentions: ["unsupported"])
        assertError(try AudioFile.write(AudioSamples(samples: [0], sampleRate: 8000), to: directory + "/out.mp3"), mentions: ["out.mp3", "WAV"])
    }

    func testCorruptFile() throws {
        let path = directory + "/garbage.wav"
        var rng = TestRNG(seed: 3)
        let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        assertError(try AudioFile.read(path), mentions: [path, "cannot decode"])
    }

    func testTruncatedFiles() throws {
        let good = directory + "/good.wav"
        let samples = TestSignals.sine(frequency: 440, sampleRate: 16000, count: 16000)
        try AudioFile.write(AudioSamples(samples: samples, sampleRate: 16000), to: good)
        let data = try Data(contentsOf: URL(fileURLWithPath: good))

        // Header cut short: an error naming the file.
        let header = directory + "/header.wav"
        try data.prefix(30).write(to: URL(fileURLWithPath: header))
        assertError(try AudioFile.read(header), mentions: [header, "cannot decode"])

        // Audio data cut short (a recorder that lost power): the samples that are there, no crash.
        let cut = directory + "/cut.wav"
        try data.prefix(44 + 2 * 10_000 + 1).write(to: URL(fileURLWithPath: cut))
        let audio = try AudioFile.read(cut)
        XCTAssertEqual(audio.samples.count, 10_000)
        XCTAssertLessThan(TestSignals.maxAbsDifference(audio.samples, Array(samples[0..<10_000])), 1.0 / 16000)
    }

    func testBadNumbers() throws {
        let audio = AudioSamples(samples: [Float](repeating: 0, count: 1000), sampleRate: 8000)
        assertError(try ButterworthFilter(.lowpass(4000), sampleRate: 8000), mentions: ["lowpass cutoff", "Nyquist"])
        assertError(try ButterworthFilter(.bandpass(500, 9000), sampleRate: 16000), mentions: ["bandpass high cutoff", "Nyquist"])
        assertError(try Spectrogram.compute(audio, parameters: SpectrogramParameters(windowSamples: 256, overlapSamples: 256)), mentions: ["overlap"])
        assertError(try Spectrogram.compute(audio, parameters: SpectrogramParameters(windowSamples: 256, fftSize: 128)), mentions: ["FFT size"])
        let spectrogram = try Spectrogram.compute(audio, parameters: SpectrogramParameters(windowSamples: 256))
        assertError(try spectrogram.bandpassed(minFrequency: 500, maxFrequency: 5000), mentions: ["bandpass", "Nyquist"])
        assertError(try spectrogram.bandpassed(minFrequency: 3000, maxFrequency: 1000), mentions: ["bandpass"])
        XCTAssertEqual(try spectrogram.bandpassed(minFrequency: 500, maxFrequency: 5000, allowOutOfRange: true).frequencies.last, 4000)
        assertError(try Resampler.resample([1, 2], from: 0, to: 8000), mentions: ["sample rate"])
        assertError(try AudioFile.write(AudioSamples(samples: [.nan], sampleRate: 8000), to: directory + "/nan.wav"), mentions: ["not finite"])
    }
}
