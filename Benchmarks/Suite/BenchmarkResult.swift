import ChorusCore
import Foundation

/// One measured figure, as `train-gpu bench --json` writes it.
public struct BenchmarkResult: Codable, Sendable {
    public var name: String
    public var device: String
    public var value: Double
    public var unit: String
    public init(name: String, device: String, value: Double, unit: String) {
        self.name = name; self.device = device; self.value = value; self.unit = unit
    }
}

/// Which of several timed runs a measurement reports.
public enum TimingEstimate: Sendable {
    /// The median (with an even count, the slower of the middle two: give an odd one). For
    /// throughput a user would see, and for comparisons with PyTorch, whose script takes the median.
    case median
    /// The fastest: the run least disturbed by other work on a shared machine. For comparing two
    /// implementations of the same operation measured one after the other, where a burst of
    /// outside load during one of them would otherwise decide the ratio.
    case fastest
}

/// Times `body` after `warmup` untimed runs: the median (or fastest) of `repeats` runs, in seconds.
public func measure(warmup: Int = 1, repeats: Int = 3, estimate: TimingEstimate = .median, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    for _ in 0..<repeats {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    let sorted = times.sorted()
    return estimate == .fastest ? sorted[0] : sorted[sorted.count / 2]
}

/// Prints results as an aligned table.
public func formatTable(_ results: [BenchmarkResult]) -> String {
    let w0 = max(9, results.map(\.name.count).max() ?? 0), w1 = max(6, results.map(\.device.count).max() ?? 0)
    var s = "benchmark".padding(toLength: w0, withPad: " ", startingAt: 0) + "  " + "device".padding(toLength: w1, withPad: " ", startingAt: 0) + "        value  unit\n"
    for r in results {
        s += r.name.padding(toLength: w0, withPad: " ", startingAt: 0) + "  " + r.device.padding(toLength: w1, withPad: " ", startingAt: 0)
        s += String(format: " %12.3f", r.value) + "  " + r.unit + "\n"
    }
    return s
}

public func writeJSON(_ results: [BenchmarkResult], to path: String) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try enc.encode(results), to: path)
}
