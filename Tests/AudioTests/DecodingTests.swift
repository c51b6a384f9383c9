@testable import Audio
import CSndFile
import TestSupport
import XCTest

final class DecodingTests: XCTestCase {
    func testSharedRecordingsReportRatesChannelsAndDuration() throws {
        let oneMinute = try AudioFile.info(try SharedData.path("audio/1min.wav"))
        XCTAssertEqual(oneMinute.sampleRate, 32000)
        XCTAssertEqual(oneMinute.channels, 1)
        XCTAssertEqual(oneMinute.duration, 60, accuracy: 0.01)
        XCTAssertEqual(oneMinute.format, "WAV PCM_16")

        let toad = try AudioFile.read(try SharedData.path("audio/great_plains_toad.wav"))
        XCTAssertEqual(toad.sampleRate, 44100)
        XCTAssertEqual(toad.duration, 44.6, accuracy: 0.1)
        XCTAssertGreaterThan(TestSignals.rms(toad.samples), 0.0001)

        let soundscape = try AudioFile.read(try SharedData.path("audio/soundscape-24h/S4A03895_20190522_000000.wav"))
        XCTAssertEqual(soundscape.sampleRate, 22000)
        XCTAssertEqual(soundscape.duration, 10, accuracy: 0.1)
    }

    func testStereoFloatFileIsMixedToMono() throws {
        let path = try SharedData.path("audio/stereo.wav")
        let info = try AudioFile.info(path)
        XCTAssertEqual(info.channels, 2)
        XCTAssertEqual(info.frames, 5)
        XCTAssertEqual(info.format, "WAV FLOAT")
        let audio = try AudioFile.read(path)
        XCTAssertEqual(audio.samples.count, 5)

        // Check the averaging itself on a file whose channels we know.
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let left = TestSignals.sine(frequency: 440, sampleRate: 8000, count: 800)
        let right = TestSignals.sine(frequency: 1000, sampleRate: 8000, count: 800, amplitude: 0.25)
        let interleaved = zip(left, right).flatMap { [$0, $1] }
        let stereoPath = directory + "/two.wav"
        try SoundFileWriter.write(interleaved: interleaved, channels: 2, sampleRate: 8000, format: Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT), to: stereoPath)
        let mono = try AudioFile.read(stereoPath)
        XCTAssertLessThan(TestSignals.maxAbsDifference(mono.samples, zip(left, right).map { ($0 + $1) / 2 }), 1e-7)
    }

    func testMP3DecodesToTenSecondsOfSilence() throws {
        let path = try SharedData.path("audio/silence_10s.mp3")
        let info = try AudioFile.info(path)
        XCTAssertTrue(info.format.hasPrefix("MP3"), info.format)
        let audio = try AudioFile.read(path)
        XCTAssertEqual(audio.duration, 10, accuracy: 0.1)
        XCTAssertLessThan(audio.samples.map(abs).max() ?? 1, 0.001)
        let slice = try AudioFile.read(path, offset: 4, duration: 2)
        XCTAssertEqual(slice.samples.count, 2 * audio.sampleRate)
    }

    func testZeroLengthFileReadsAsEmptyAndCannotMakeASpectrogram() throws {
        let path = try SharedData.path("audio/empty_2c.wav")
        let info = try AudioFile.info(path)
        XCTAssertEqual(info.frames, 0)
        XCTAssertEqual(info.channels, 2)
        let audio = try AudioFile.read(path)
        XCTAssertTrue(audio.samples.isEmpty)
        XCTAssertThrowsError(try Spectrogram.compute(audio)) { error in
            XCTAssertTrue("\(error)".contains("shorter than one spectrogram window"), "\(error)")
        }
        XCTAssertThrowsError(try AudioFile.read(path, offset: 1)) { error in
            XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("beyond the end"), "\(error)")
        }
    }

    func testVeryShortFileMakesASpectrogramButAShorterClipDoesNot() throws {
        let path = try SharedData.path("audio/veryshort.wav")
        let audio = try AudioFile.read(path)
        XCTAssertEqual(audio.duration, 0.14, accuracy: 0.01)
        let spectrogram = try Spectrogram.compute(audio)
        XCTAssertEqual(spectrogram.columnCount, 1 + (audio.samples.count - 512) / 256)
        let clip = try AudioFile.read(path, offset: 0.05, duration: 0.01)
        XCTAssertEqual(clip.samples.count, 441)
        XCTAssertThrowsError(try Spectrogram.compute(clip)) { error in
            guard case AudioError.tooShort = error else { return XCTFail("\(error)") }
        }
    }

    func testEveryEncodingDecodesCloseToTheWrittenSignal() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rate = 16000
        let signal = TestSignals.sine(frequency: 1000, sampleRate: rate, count: rate)
        let cases: [(String, Int, Float)] = [
            ("u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 1.0 / 64),
            ("s16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1.0 / 16000),
            ("s24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1e-6),
            ("s32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 1e-7),
            ("f32.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 0),
            ("s16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1.0 / 16000),
            ("s24.FLAC", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 1e-6),
            ("s16.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 1.0 / 16000),
        ]
        for (name, format, tolerance) in cases {
            let path = directory + "/" + name
            try SoundFileWriter.write(interleaved: signal, channels: 1, sampleRate: rate, format: Int32(format), to: path)
            let audio = try AudioFile.read(path)
            XCTAssertEqual(audio.sampleRate, rate, name)
            XCTAssertEqual(audio.samples.count, signal.count, name)
            XCTAssertLessThanOrEqual(TestSignals.maxAbsDifference(audio.samples, signal), tolerance, name)
        }
    }

    func testLossyEncodingsKeepTheTone() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rate = 32000
        let signal = TestSignals.sine(frequency: 1000, sampleRate: rate, count: 2 * rate)
        for (name, format) in [("tone.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS), ("tone.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)] {
            let path = directory + "/" + name
            do {
                try SoundFileWriter.write(interleaved: signal, channels: 1, sampleRate: rate, format: Int32(format), to: path)
            } catch AudioError.unsupportedFormat(_, let reason) {
                print("skipping \(name): this libsndfile cannot encode it (\(reason))")
                continue
            }
            let audio = try AudioFile.read(path)
            XCTAssertEqual(audio.duration, 2, accuracy: 0.1, name)
            let middle = audio.samples[(rate / 2)..<(3 * rate / 2)]
            // Lossy codecs (libsndfile's default MP3 bit rate especially) change the level a little.
            XCTAssertEqual(TestSignals.rms(middle), 0.5 / 2.0.squareRoot(), accuracy: 0.06, name)
            let spectrogram = try Spectrogram.compute(audio)
            let peakRow = (0..<spectrogram.rowCount).max { spectrogram[$0, 50] < spectrogram[$1, 50] }!
            XCTAssertEqual(spectrogram.frequencies[peakRow], 1000, accuracy: 62.5, name)
        }
    }

    func testUpperCaseExtensionIsAccepted() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/LOUD.WAV"
        let audio = AudioSamples(samples: TestSignals.sine(frequency: 300, sampleRate: 8000, count: 4000), sampleRate: 8000)
        try AudioFile.write(audio, to: path)
        XCTAssertEqual(try AudioFile.info(path).frames, 4000)
        XCTAssertEqual(try AudioFile.read(path).samples.count, 4000)
    }
}
