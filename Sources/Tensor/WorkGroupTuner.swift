import ChorusCore
import Foundation
import Kernels

/// Tunes the work-group sizes of the reductions (batch norm's per-channel sums, bias gradients,
/// whole-tensor sums) and of the elementwise kernels on the device they run on. Both are launch
/// parameters, so every candidate runs on the one program built for the device's GEMM tuning.
/// Each candidate fits the device's work-group limit, is checked against a float64 result before
/// it is timed, and the fastest of each kind is kept (the current one unless another beats it by
/// more than 10%).
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

    /// What is timed: a batch norm (training) over `batch` x `channels` x `plane`, and a sum of two
    /// tensors of `elements` values.
    public struct Problem: Sendable {
        public var batch: Int, channels: Int, plane: Int, elements: Int
        public init(batch: Int, channels: Int, plane: Int, elements: Int) {
            self.batch = batch; self.channels = channels; self.plane = plane; self.elements = elements
        }
        /// ResNet18's stem output at batch 16 (16 x 64 channels x 112 x 112, the largest tensor it
        /// normalises), and 4M values.
        public static let standard = Problem(batch: 16, channels: 64, plane: 112 * 112, elements: 1 << 22)
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
    public static func run(device info: OpenCLDeviceInfo, tuning: KernelTuning, problem: Problem = .standard,
                           log: (String) -> Void = { _ in }) throws -> Outcome {
        let context = try OpenCLContext(device: info, tuning: tuning)
        // One set of buffers for every candidate: a candidate is only a launch setting.
        let buffers = OpenCLBackend(context: context, reduceWorkGroup: tuning.reduceWorkGroup, elementwiseWorkGroup: tuning.elementwiseWorkGroup)
        let (n, c, plane) = (problem.batch, problem.channels, problem.plane)
        var values = CheckValues(seed: 0x2545_F491_4F6C_DD1D)
        let x = (0..<(n * c * plane)).map { _ in Float(values.next()) / 500 + 1 }  // in [1, 5]: a mean away from 0
        let reference = channelStatistics(x, n: n, c: c, plane: plane)
        let input = try buffers.allocate(x.count), y = try buffers.allocate(x.count)
        try x.withUnsafeBufferPointer { try buffers.upload($0, to: input, offset: 0) }
        let stats = try (0..<6).map { _ in try buffers.allocate(c) }
        let reductions = try measure("reductions", reductionCandidates(info, current: tuning.reduceWorkGroup), log: log) { size in
            let backend = OpenCLBackend(context: context, reduceWorkGroup: size ?? tuning.reduceWorkGroup, elementwiseWorkGroup: tuning.elementwiseWorkGroup)
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
            let problem = worst < 1e-4 ? nil : String(format: "batch norm statistics differ from float64 by %.2g", worst)
            return (problem, backend, once)
        }
        let count = problem.elements
        let a = (0..<count).map { Float($0 % 1000) }, b = (0..<count).map { Float($0 % 7) * 0.5 }
        let sa = try buffers.allocate(count), sb = try buffers.allocate(count), out = try buffers.allocate(count)
        try a.withUnsafeBufferPointer { try buffers.upload($0, to: sa, offset: 0) }
        try b.withUnsafeBufferPointer { try buffers.upload($0, to: sb, offset: 0) }
        let elementwise = try measure("elementwise", elementwiseCandidates(info, current: tuning.elementwiseWorkGroup), log: log) { size in
            let backend = OpenCLBackend(context: context, reduceWorkGroup: tuning.reduceWorkGroup, elementwiseWorkGroup: size)
            try backend.fill(out, count: count, value: -1)  // a candidate that writes nothing cannot pass on another's result
            func once() throws { try backend.add(count: count, a: sa, b: sb, out: out) }
            try once()
            var sum = [Float](repeating: 0, count: count)
            try sum.withUnsafeMutableBufferPointer { try backend.download(out, offset: 0, into: $0) }
            let wrong = (0..<count).first { sum[$0] != a[$0] + b[$0] }
            return (wrong.map { "element \($0) of a sum is \(sum[$0]), not \(a[$0] + b[$0])" }, backend, once)
        }
        // The fastest, unless the current size (first) is within 10% of it: on a shared machine
        // these memory-bound timings vary by that much between rounds, and a change for less is noise.
        func fastest(_ list: [Candidate]) -> Candidate? {
            guard let best = list.filter({ $0.milliseconds != nil }).min(by: { $0.milliseconds! < $1.milliseconds! }) else { return nil }
            if let current = list.first, let t = current.milliseconds, t <= best.milliseconds! * 1.1 { return current }
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

    /// Sets up and checks each candidate (`prepare` returns why its result is wrong, or nil, and
    /// the run to time), then times the checked ones in five rounds, one run of each per round, so
    /// a slow spell of a shared machine falls on all of them; each keeps its fastest run.
    private static func measure(_ kind: String, _ sizes: [Int?], log: (String) -> Void,
                                prepare: (Int?) throws -> (problem: String?, backend: OpenCLBackend, once: () throws -> Void)) throws -> [Candidate] {
        var candidates: [Candidate] = [], runs: [Int: (OpenCLBackend, () throws -> Void)] = [:]
        for (i, size) in sizes.enumerated() {
            var candidate = Candidate(size: size)
            do {
                let prepared = try prepare(size)
                if let problem = prepared.problem { candidate.rejected = problem } else { runs[i] = (prepared.backend, prepared.once) }
            } catch {
                candidate.rejected = "\(error)".split(separator: "\n").first.map(String.init) ?? "failed"
            }
            candidates.append(candidate)
        }
        for _ in 0..<5 {
            for i in candidates.indices {
                guard let (backend, once) = runs[i] else { continue }
                let t0 = DispatchTime.now().uptimeNanoseconds
                try once()
                try backend.synchronize()
                let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-6
                candidates[i].milliseconds = min(candidates[i].milliseconds ?? .infinity, ms)
            }
        }
        for c in candidates { log(line(kind, c)) }
        return candidates
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
