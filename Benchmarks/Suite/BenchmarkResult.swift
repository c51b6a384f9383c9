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

/// Times `body` after `warmup` untimed runs: the median of `repeats` runs, in seconds.
public func measure(warmup: Int = 1, repeats: Int = 3, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    for _ in 0..<repeats {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return times.sorted()[times.count / 2]
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
