import Annotations
import Audio
import Foundation

/// Settings that default to what the data says (clip length from the tables' rows, sample rate
/// from the recordings), each with the reason it was chosen, so `train` can say it out loud.
public struct DataDerivedSetting<Value: Sendable & Equatable>: Sendable, Equatable {
    public var value: Value
    /// Why this value: "from the training table's rows (all 2 s)", "given by --sample-rate", ...
    public var reason: String
}

public enum DataDefaults {
    /// Row lengths are compared to this precision (CSV times are written as shortest decimals).
    static let lengthTolerance = 1e-6

    /// The clip duration: the rows' common length when none is requested. With a requested
    /// duration that differs from the rows, longer rows are allowed only with `cropLongerRows`
    /// (they start at a random point within the row in training); shorter rows are always an
    /// error, since they would be padded with silence the field recordings never have.
    ///
    /// - Parameter tables: (name for messages, table), e.g. ("training table train.csv", t).
    public static func clipDuration(requested: Double?, cropLongerRows: Bool,
                                    tables: [(name: String, table: ClipLabelTable)]) throws -> DataDerivedSetting<Double> {
        var lengths: [Double: (count: Int, example: String)] = [:]
        for (name, table) in tables {
            for (k, row) in table.rows.enumerated() {
                let length = ((row.end - row.start) / lengthTolerance).rounded() * lengthTolerance
                if lengths[length] == nil { lengths[length] = (0, "\(name) line \(k + 2) (\(row.file) \(format(row.start))-\(format(row.end)) s)") }
                lengths[length]!.count += 1
            }
        }
        guard !lengths.isEmpty else { throw PipelineError.noData("the tables have no rows to take a clip duration from") }
        let listing = lengths.sorted { $0.key < $1.key }.map { "\(format($0.key)) s ×\($0.value.count) (e.g. \($0.value.example))" }
        guard let requested else {
            guard lengths.count == 1, let only = lengths.keys.first else {
                throw PipelineError.invalidParameter(
                    "the rows have \(lengths.count) different clip lengths; pass --clip-duration (and --crop-longer-rows to crop longer rows at random):\n"
                        + listing.map { "  " + $0 }.joined(separator: "\n"))
            }
            return DataDerivedSetting(value: only, reason: "from the tables' rows (all \(format(only)) s)")
        }
        let shorter = lengths.filter { $0.key < requested - lengthTolerance }
        if !shorter.isEmpty {
            throw PipelineError.invalidParameter(
                "--clip-duration \(format(requested)) is longer than some rows; they would be padded with silence:\n"
                    + listing.map { "  " + $0 }.joined(separator: "\n"))
        }
        let longer = lengths.filter { $0.key > requested + lengthTolerance }
        if !longer.isEmpty && !cropLongerRows {
            throw PipelineError.invalidParameter(
                "--clip-duration \(format(requested)) differs from the rows' lengths; pass --crop-longer-rows to train on random \(format(requested)) s crops of longer rows:\n"
                    + listing.map { "  " + $0 }.joined(separator: "\n"))
        }
        return DataDerivedSetting(value: requested, reason: longer.isEmpty ? "given by --clip-duration" : "given by --clip-duration; longer rows are cropped at random")
    }

    /// The sample rate: the most common native rate of the recordings when none is requested (ties
    /// go to the higher rate). Files whose header cannot be read are left out here (the trainer
    /// reports them); none readable is an error.
    public static func sampleRate(requested: Int?, files: [String]) throws -> DataDerivedSetting<Int> {
        if let requested { return DataDerivedSetting(value: requested, reason: "given by --sample-rate") }
        var counts: [Int: Int] = [:]
        var unreadable = 0
        for f in Set(files) {
            if let info = try? AudioFile.info(f) { counts[info.sampleRate, default: 0] += 1 } else { unreadable += 1 }
        }
        guard let best = counts.max(by: { ($0.value, $0.key) < ($1.value, $1.key) }) else {
            throw PipelineError.noData("none of the \(Set(files).count) training recordings could be read to find their sample rate; pass --sample-rate")
        }
        let total = counts.values.reduce(0, +)
        let mix = counts.count == 1 ? "all \(total) recordings"
            : counts.sorted { $0.value > $1.value }.map { "\($0.key) Hz ×\($0.value)" }.joined(separator: ", ")
        return DataDerivedSetting(value: best.key, reason: "the most common rate of the training recordings (\(mix))" + (unreadable > 0 ? "; \(unreadable) unreadable" : ""))
    }

    /// A warning when the whole schedule has fewer than `minimumSteps` optimiser steps, else nil.
    public static func shortScheduleWarning(clips: Int, batchSize: Int, epochs: Int, minimumSteps: Int = 100) -> String? {
        let steps = (clips + batchSize - 1) / max(1, batchSize) * epochs
        guard steps < minimumSteps else { return nil }
        return "warning: only \(steps) optimiser steps in the whole run (\(clips) clips / batch size \(batchSize) = \((clips + batchSize - 1) / max(1, batchSize)) steps per epoch × \(epochs) epochs); "
            + "models usually need a few hundred: use more epochs or a smaller --batch-size"
    }

    public static func format(_ x: Double) -> String {
        let s = String(format: "%.6f", x)
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }
}
