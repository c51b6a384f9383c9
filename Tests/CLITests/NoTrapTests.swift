import Audio
import Foundation
import TestSupport
import XCTest

/// Inputs that used to trap (exit 132/133 with a backtrace) end with a typed error naming the
/// file instead: a model file whose header gives a shape too large to count, and a folder given
/// where a table belongs.
final class NoTrapTests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("train-gpu binary not built at \(CLI.binary)") }
    }

    func assertNoTrap(_ r: CLI.Result, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 1, r.output, file: file, line: line)
        XCTAssertFalse(r.output.contains("Fatal error") || r.output.contains("crashed"), r.output, file: file, line: line)
    }

    func testAModelWithAnOverflowingShapeIsRefusedNamingTheTensor() throws {
        let dir = makeTemporaryDirectory("no-trap-model")
        let header = #"{"x":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,0]}}"#
        var data = Data()
        var n = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        try data.write(to: URL(fileURLWithPath: dir + "/m.model"))
        try AudioFile.write(AudioSamples(samples: [Float](repeating: 0, count: 8000), sampleRate: 8000), to: dir + "/r0.wav")
        let r = try CLI.run(["predict", "--model", "m.model", "r0.wav", "--out", "p.csv", "--device", "cpu"], in: dir)
        assertNoTrap(r)
        XCTAssertTrue(r.output.contains("m.model: not a valid Chorus model file: tensor 'x' shape [1099511627776, 1099511627776]"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/p.csv"))
    }

    func testAFolderGivenAsTheTrainingTableIsAnErrorNamingIt() throws {
        let dir = makeTemporaryDirectory("no-trap-folder")
        try FileManager.default.createDirectory(atPath: dir + "/d", withIntermediateDirectories: true)
        try AudioFile.write(AudioSamples(samples: [Float](repeating: 0, count: 8000), sampleRate: 8000), to: dir + "/d/r0.wav")
        try Data("file,start_time,end_time,A\nd/r0.wav,0.0,1.0,1\n".utf8).write(to: URL(fileURLWithPath: dir + "/val.csv"))
        let r = try CLI.run(["train", "--train", "d", "--validation", "val.csv", "--arch", "small", "--size", "32x32", "--device", "cpu", "--out", "r"], in: dir)
        assertNoTrap(r)
        XCTAssertTrue(r.output.contains("cannot read d: is a folder, not a file"), r.output)
    }
}
