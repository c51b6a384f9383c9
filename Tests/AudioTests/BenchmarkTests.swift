import Audio
import XCTest

final class BenchmarkTests: XCTestCase {
    func testBenchmarkRunsOnAShortRecording() throws {
        let result = try SpectrogramBenchmark.run(audioSeconds: 20, repeats: 1)
        XCTAssertEqual(result.shape.0, 257)
        XCTAssertEqual(result.shape.1, 1 + (20 * 32000 - 512) / 256)
        XCTAssertGreaterThan(result.seconds, 0)
        XCTAssertLessThanOrEqual(result.decodeSeconds, result.seconds)
    }
}

final class OneHourBenchmarkTests: XCTestCase {
    /// The full benchmark (1 h of 32 kHz audio; writes a 230 MB temporary WAV). Run with
    /// `CHORUS_BENCH_SPECTROGRAM=1 swift test -c release -Xswiftc -enable-testing --filter OneHourBenchmarkTests`.
    func testOneHourSpectrogram() throws {
        guard ProcessInfo.processInfo.environment["CHORUS_BENCH_SPECTROGRAM"] != nil else {
            throw XCTSkip("set CHORUS_BENCH_SPECTROGRAM=1 to run the one-hour spectrogram benchmark")
        }
        for threads in [1, 2] {
            let result = try SpectrogramBenchmark.run(threads: threads)
            print(String(format: "one hour at 32 kHz, %d thread(s): %.3f s total (decode %.3f s), shape %d x %d",
                         threads, result.seconds, result.decodeSeconds, result.shape.0, result.shape.1))
        }
    }
}
