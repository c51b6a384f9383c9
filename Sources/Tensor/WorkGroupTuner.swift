import ChorusCore
import Foundation
import Kernels

/// Tunes the work-group sizes of the reductions (batch norm's per-channel sums, bias gradients,
/// whole-tensor sums) and of the elementwise kernels on the device they run on. Both are launch
/// parameters, so every candidate runs on the one program built for the device's GEMM tuning.
/// Each candidate fits the device's work-group limit, is checked against a float64 result before
/// it is timed, and the fastest of each kind is kept (the current one unless another beats it by
/// more than 3%).
public enum WorkGroupTuner {
    public struct Candidate: Sendable {
        /// The work-group size (nil: the runtime's choice).
        public var size: Int?
        public var milliseconds: Double?
        public var rejected: String?
    }

    public struct Outcome: Sendable {
        public var reductions: [Candidate], elementwise: [Candidate]
        public var bestReduction: Int, bestElementwise: Int?
    }

    /// Reduction work-groups: the current one first, then the powers of two from 16 up to what the
    /// kernels' local arrays and the device allow.
    public static func reductionCandidates(_ info: OpenCLDeviceInfo, current: Int) -> [Int] {
        let limit = min(KernelTuning.maxReduceWorkGroup, info.maxWorkGroupSize)
        return unique([current] + [16, 32, 64, 128, 256]).filter { $0 <= limit }
    }

    /// Elementwise work-groups: the current one first, then the runtime's choice and powers of two.
    public static func elementwiseCandidates(_ info: OpenCLDeviceInfo, current: Int?) -> [Int?] {
        var out: [Int?] = [current]
        for size in [nil, 64, 128, 256, 512, 1024] as [Int?] where !out.contains(size) && (size ?? 0) <= info.maxWorkGroupSize { out.append(size) }
        return out
    }

    /// Measures every candidate on the program built for `tuning`; the best of each kind, and the
    /// table of what was tried.
    public static func run(device info: OpenCLDeviceInfo, tuning: KernelTuning, log: (String) -> Void = { _ in }) throws -> Outcome {
        let context = try OpenCLContext(device: info, tuning: tuning)
        // A batch norm over a ResNet18 layer1-sized batch of 8 (8 x 64 channels x 56 x 56), and a sum
        // of two 4M-element tensors.
        let (n, c, plane) = (8, 64, 56 * 56)
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        let x = (0..<(n * c * plane)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001) / 500 + 1  // in [-3, 5]: a mean away from 0
        }
        let reference = channelStatistics(x, n: n, c: c, plane: plane)
        var reductions: [Candidate] = []
        for size in reductionCandidates(info, current: tuning.reduceWorkGroup) {
            let backend = OpenCLBackend(context: context, reduceWorkGroup: size, elementwiseWorkGroup: tuning.elementwiseWorkGroup)
            var candidate = Candidate(size: size)
            do {
                let input = try backend.allocate(x.count), y = try backend.allocate(x.count)
                try x.withUnsafeBufferPointer { try backend.upload($0, to: input, offset: 0) }
                let stats = try (0..<6).map { _ in try backend.allocate(c) }
                for s in stats { try backend.fill(s, count: c, value: 1) }
                func once() throws {
                    try backend.batchnormForwardTrain(n: n, c: c, plane: plane, eps: 1e-5, momentum: 0.1, relu: false, x: input, y: y,
                                                      gamma: stats[0], beta: stats[1], runningMean: stats[2], runningVar: stats[3],
                                                      savedMean: stats[4], savedInvStd: stats[5])
                }
                try once()
                var mean = [Float](repeating: 0, count: c), invstd = mean
                try mean.withUnsafeMutableBufferPointer { try backend.download(stats[4], offset: 0, into: $0) }
                try invstd.withUnsafeMutableBufferPointer { try backend.download(stats[5], offset: 0, into: $0) }
                var worst = 0.0
                for ch in 0..<c {
                    let meanError: Double = abs(Double(mean[ch]) - reference.mean[ch]) / max(1, abs(reference.mean[ch]))
                    let invstdError: Double = abs(Double(invstd[ch]) - reference.invstd[ch]) / reference.invstd[ch]
                    worst = max(worst, meanError, invstdError)
                }
                if !(worst < 1e-4) {
                    candidate.rejected = String(format: "batch norm statistics differ from float64 by %.2g", worst)
                } else {
                    candidate.milliseconds = try bestTime(backend, once) * 1000
                }
            } catch {
                candidate.rejected = "\(error)".split(separator: "\n").first.map(String.init) ?? "failed"
            }
            reductions.append(candidate)
            log(line("reductions", candidate))
        }
        let count = 1 << 22
        let a = (0..<count).map { Float($0 % 1000) }, b = (0..<count).map { Float($0 % 7) * 0.5 }
        var elementwise: [Candidate] = []
        for size in elementwiseCandidates(info, current: tuning.elementwiseWorkGroup) {
            let backend = OpenCLBackend(context: context, reduceWorkGroup: tuning.reduceWorkGroup, elementwiseWorkGroup: size)
            var candidate = Candidate(size: size)
            do {
                let sa = try backend.allocate(count), sb = try backend.allocate(count), out = try backend.allocate(count)
                try a.withUnsafeBufferPointer { try backend.upload($0, to: sa, offset: 0) }
                try b.withUnsafeBufferPointer { try backend.upload($0, to: sb, offset: 0) }
                func once() throws { try backend.add(count: count, a: sa, b: sb, out: out) }
                try once()
                var sum = [Float](repeating: 0, count: count)
                try sum.withUnsafeMutableBufferPointer { try backend.download(out, offset: 0, into: $0) }
                if let wrong = (0..<count).first(where: { sum[$0] != a[$0] + b[$0] }) {
                    candidate.rejected = "element \(wrong) of a sum is \(sum[wrong]), not \(a[wrong] + b[wrong])"
                } else {
                    candidate.milliseconds = try bestTime(backend, once) * 1000
                }
            } catch {
                candidate.rejected = "\(error)".split(separator: "\n").first.map(String.init) ?? "failed"
            }
            elementwise.append(candidate)
            log(line("elementwise", candidate))
        }
        // The fastest, unless the current size (first) is within 3% of it: timings this short vary
        // by that much from run to run, and a change for less is noise.
        func fastest(_ list: [Candidate]) -> Candidate? {
            guard let best = list.filter({ $0.milliseconds != nil }).min(by: { $0.milliseconds! < $1.milliseconds! }) else { return nil }
            if let current = list.first, let t = current.milliseconds, t <= best.milliseconds! * 1.03 { return current }
            return best
        }
        guard let bestReduction = fastest(reductions)?.size, let bestElementwise = fastest(elementwise) else {
            throw OpenCLError.badArguments(kernel: "reductions", reason: "no work-group size passed its check on \(info.name): "
                                           + (reductions + elementwise).compactMap(\.rejected).joined(separator: "; "))
        }
        return Outcome(reductions: reductions, elementwise: elementwise, bestReduction: bestReduction, bestElementwise: bestElementwise.size)
    }

    private static func line(_ kind: String, _ c: Candidate) -> String {
        "     \(kind) work-group \(c.size.map(String.init) ?? "runtime's choice"): "
            + (c.rejected.map { "rejected (\($0))" } ?? String(format: "%.3f ms", c.milliseconds ?? 0))
    }

    /// The best of three timed runs (after the checked one).
    private static func bestTime(_ backend: OpenCLBackend, _ once: () throws -> Void) throws -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try once()
            try backend.synchronize()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        return best
    }

    /// Per-channel mean and 1/sqrt(variance + 1e-5) in float64.
    static func channelStatistics(_ x: [Float], n: Int, c: Int, plane: Int) -> (mean: [Double], invstd: [Double]) {
        var mean = [Double](repeating: 0, count: c), invstd = mean
        for ch in 0..<c {
            var s = 0.0
            for i in 0..<n { for j in 0..<plane { s += Double(x[(i * c + ch) * plane + j]) } }
            let m = s / Double(n * plane)
            var v = 0.0
            for i in 0..<n { for j in 0..<plane { let d = Double(x[(i * c + ch) * plane + j]) - m; v += d * d } }
            mean[ch] = m
            invstd[ch] = 1 / (v / Double(n * plane) + 1e-5).squareRoot()
        }
        return (mean, invstd)
    }

    private static func unique(_ values: [Int]) -> [Int] {
        var seen = Set<Int>()
        return values.filter { seen.insert($0).inserted }
    }
}
