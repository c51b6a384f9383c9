import Annotations
import Audio
import ChorusCore
import Foundation
import Model
@testable import Pipeline
import TestSupport
import XCTest

/// Clip durations and rows far past Int.max (1e300 s) trapped converting to sample counts: from
/// `train --clip-duration`, from a model file's preprocessing (`predict`), and from a training
/// row with `--crop-longer-rows`.
final class PipelineHugeNumberTests: XCTestCase {
    func testPreprocessingBoundsTheClipDuration() throws {
        for clip in [1e300, 1e12, 1e5, Double.infinity, .nan, 0, -1] {
            var pp = Preprocessing()
            pp.clipDuration = clip
            XCTAssertThrowsError(try pp.validate()) { XCTAssertTrue("\($0)".contains("--clip-duration"), "\($0)") }
        }
        var pp = Preprocessing()
        pp.clipDuration = 60
        XCTAssertNoThrow(try pp.validate())
    }

    /// `predict` with a model whose preprocessing says 1e300 s clips trapped; the file is named.
    func testModelFileWithAHugeClipDurationIsNamed() throws {
        let dir = makeTemporaryDirectory("huge-model")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var pp = Preprocessing()
        pp.sampleRate = 8000; pp.clipDuration = 1e300; pp.image.height = 32; pp.image.width = 32
        let model = ClassifierModel(network: try Network(architecture: .small, classes: 1, device: .cpu, seed: 1), classes: ["a"], preprocessing: pp, loss: .bceWithLogits)
        let path = dir + "/huge.model"
        try model.write(to: path)
        for error in [Result { try ClassifierModel.load(path, device: .cpu) }.map { _ in () },
                      Result { try ClassifierModel.preprocessing(ofModelAt: path) }.map { _ in () }] {
            guard case let .failure(e) = error else { XCTFail("accepted a 1e300 s clip"); continue }
            XCTAssertTrue(e is ModelError && "\(e)".contains(path) && "\(e)".contains("clip-duration"), "\(e)")
        }
    }

    /// A row ending at 1e300 s (trained with --crop-longer-rows) trapped counting its samples; it
    /// now fails alone, named, and huge crop offsets read zeros.
    func testRowsFarPastTheRecordingFailAndHugeOffsetsReadSilence() throws {
        let dir = makeTemporaryDirectory("huge-row")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/a.wav"
        try AudioFile.write(AudioSamples(samples: [Float](repeating: 0.25, count: 32_000), sampleRate: 8000), to: path, encoding: .float32)
        var pp = Preprocessing()
        pp.sampleRate = 8000; pp.clipDuration = 1
        let clips = [LabeledClip(file: path, start: 0, end: 1e300, labels: [1]),
                     LabeledClip(file: path, start: 0, end: 4.5, labels: [1]),  // past the end by less than a clip: padded
                     LabeledClip(file: path, start: 0, end: 3, labels: [0])]
        let store = ClipAudioStore(clips: clips, preprocessing: pp, workers: 2)
        XCTAssertEqual(store.sampleCount(0), .max)
        let windows = store.windows([0, 1, 2], offsets: [0, 4, 1e300])
        XCTAssertNil(windows[0])
        XCTAssertEqual(store.failureCount, 1)
        XCTAssertTrue(store.failures[0].message.contains(path) && store.failures[0].message.contains("past the end of the recording"), store.failures[0].message)
        XCTAssertEqual(windows[1], [Float](repeating: 0, count: 8000), "a crop past the audio is silence")
        XCTAssertEqual(windows[2], [Float](repeating: 0, count: 8000), "an offset of 1e300 s is past the audio, not a trap")
        XCTAssertEqual(store.windows([2], offsets: [0.5])[0], [Float](repeating: 0.25, count: 8000))
    }
}
