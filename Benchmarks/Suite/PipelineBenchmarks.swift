import Annotations
import Audio
import ChorusCore
import Foundation
import Model
import Pipeline
import Tensor

/// End-to-end figures: training with the data loader in the loop, and prediction throughput.
public enum PipelineBenchmarks {
    /// Writes `count` 3 s clips (noise plus a tone in half of them) at 32 kHz and a labels table.
    static func syntheticClips(count: Int, in dir: String) throws -> String {
        let sr = 32000, n = 3 * sr
        var rows: [ClipLabelRow] = []
        var state: UInt64 = 12345
        for i in 0..<count {
            var x = [Float](repeating: 0, count: n)
            for j in 0..<n {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                x[j] = 0.05 * (Float(state >> 40) / 16_777_216 - 0.5)
                if i % 2 == 0 { x[j] += 0.2 * sinf(2 * .pi * Float(2000 + 100 * (i % 7)) * Float(j) / Float(sr)) }
            }
            let path = "\(dir)/clip_\(i).wav"
            try AudioFile.write(AudioSamples(samples: x, sampleRate: sr), to: path)
            rows.append(ClipLabelRow(file: path, start: 0, end: 3, labels: [i % 2 == 0 ? 1 : 0]))
        }
        let table = dir + "/labels.csv"
        try ClipLabelTable(classes: ["tone"], rows: rows).write(to: table)
        return table
    }

    /// Training samples/s (loader, augmentation and device together) and the share of time the
    /// device waited for data, over `batches` batches of one epoch (spectrograms built on the fly).
    public static func training(_ device: Device, architecture: Architecture, batch: Int, batches: Int) throws -> (samplesPerSecond: Double, loaderWait: Double) {
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("chorus-bench-train-\(getpid())")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let table = try syntheticClips(count: batch * batches, in: dir)
        var config = TrainingConfiguration()
        config.architecture = architecture
        // Two epochs, the second measured: in the first, new convolution shapes choose their path.
        config.epochs = 2
        config.batchSize = batch
        let labels = try ClipLabelTable.read(table)
        let validation = ClipLabelTable(classes: labels.classes, rows: Array(labels.rows.prefix(2)))
        let run = RunFolder(path: dir + "/run")
        try run.recordTables(train: table, validation: table, overlays: nil)
        let trainer = try Trainer(configuration: config, trainTable: labels, validationTable: validation, overlayTable: nil, device: device, run: run)
        trainer.showProgress = false
        trainer.log = { _ in }
        let summary = try trainer.fit()
        let m = summary.epochs[1]
        return (m.samplesPerSecond, m.loaderWaitFraction)
    }

    /// Hours of audio scored per minute and the shares of decoding, spectrograms and network.
    public static func prediction(_ device: Device, architecture: Architecture, minutes: Double,
                                  batchSize: Int? = nil, beforeMeasuring: () -> Void = {}) throws -> (hoursPerMinute: Double, decode: Double, spectrogram: Double, network: Double) {
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("chorus-bench-predict-\(getpid())")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let sr = 32000
        let n = Int(minutes * 60) * sr
        var x = [Float](repeating: 0, count: n)
        for j in 0..<n { x[j] = 0.1 * sinf(Float(j) * 0.07) + 0.01 * sinf(Float(j) * 1.3) }
        try AudioFile.write(AudioSamples(samples: x, sampleRate: sr), to: dir + "/long.wav")
        let model = ClassifierModel(network: try Network(architecture: architecture, classes: 3, device: device), classes: ["a", "b", "c"],
                                    preprocessing: Preprocessing(), loss: .bceWithLogits)
        var options = PredictionOptions()
        options.showProgress = false
        if let batchSize { options.batchSize = batchSize }
        // A first, unmeasured pass over 4 minutes (full batches and a last one): new convolution
        // shapes choose their path there, as they do once per machine.
        let warm = min(n, 4 * 60 * sr)
        try AudioFile.write(AudioSamples(samples: Array(x[..<warm]), sampleRate: sr), to: dir + "/warm.wav")
        _ = try Predictor.predict(model: model, files: [dir + "/warm.wav"], options: options, output: dir + "/warm.csv", resume: false, device: device)
        beforeMeasuring()
        let s = try Predictor.predict(model: model, files: [dir + "/long.wav"], options: options, output: dir + "/scores.csv", resume: false, device: device)
        let total = max(s.seconds, 1e-9)
        return (s.audioSeconds / 3600 / total * 60, s.decodeSeconds / total, s.spectrogramSeconds / total, s.networkSeconds / total)
    }
}
