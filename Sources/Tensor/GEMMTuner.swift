import ChorusCore
import Foundation
import Kernels

/// Tunes the GEMM kernel on the device it will run on, as CLBlast does: every candidate tuning
/// (tile shapes and work per item for `gemm_tiled` on GPUs; on CPU-type devices `gemm_packed`'s
/// panels, register tile, cache block and chunk of k, and `gemm_blocked`'s register blocks) is checked against the device's limits before it is
/// built, against a float64 product before it is timed, and timed on square products; the
/// fastest is kept per device and driver (`KeptTuning`) and used by every later context there.
public enum GEMMTuner {
    public struct Candidate: Sendable {
        public var tuning: KernelTuning
        /// GFLOP/s per size, or why it was not timed.
        public var gflops: [Int: Double] = [:]
        public var rejected: String?
        public var score: Double { gflops.values.min() ?? 0 }
    }

    public struct Outcome: Sendable {
        public var candidates: [Candidate]
        public var best: Candidate
        public var defaults: Candidate
        public var sizes: [Int]
        public var stoppedEarly: Bool
        /// The reduction and elementwise work-groups measured with the winner (nil when not tuned).
        public var workGroups: WorkGroupTuner.Outcome?
        /// What is kept: the winner, with the work-group sizes measured for it.
        public var kept: KernelTuning
    }

    /// The candidates for a device, the defaults first. Each fits the device's work-group size
    /// and local memory.
    public static func candidates(for device: OpenCLDeviceInfo) -> [KernelTuning] {
        let base = KernelTuning.defaults(for: device)
        var out = [base]
        switch base.gemmVariant {
        case .tiled:
            for (tm, tn) in [(64, 64), (128, 64), (64, 128), (128, 128), (32, 32)] {
                for tk in [8, 16, 32] {
                    for (wm, wn) in [(4, 4), (8, 4), (4, 8), (8, 8), (2, 2)] where tm % wm == 0 && tn % wn == 0 {
                        var t = base
                        t.tileM = tm; t.tileN = tn; t.tileK = tk; t.workPerThreadM = wm; t.workPerThreadN = wn
                        let items = (tm / wm) * (tn / wn), localBytes = 4 * tk * (tm + 1 + tn + 1)
                        guard items <= device.maxWorkGroupSize, items >= 32, localBytes <= device.localMemoryBytes else { continue }
                        if t != base { out.append(t) }
                    }
                }
            }
        case .blocked, .packed:
            // Packed panels first (they keep large products in cache), then register blocks.
            for (pm, pv, pn) in [(6, 8, 2), (4, 8, 3), (8, 8, 1), (4, 16, 2), (8, 16, 1), (12, 8, 1), (6, 16, 1)] {
                for (kc, mcb, ncb) in [(256, 8, 8), (128, 16, 8), (512, 4, 4), (256, 16, 2), (192, 8, 16)] {
                    var t = base
                    t.gemmVariant = .packed
                    t.panelRows = pm; t.panelVectorWidth = pv; t.panelVectors = pn
                    t.panelDepth = kc; t.panelsPerItemM = mcb; t.panelsPerItemN = ncb
                    if t != base { out.append(t) }
                }
            }
            for rm in [4, 6, 8, 12] {
                for rn in [1, 2, 4] {
                    for ku in [1, 2, 4] where rm * rn <= 32 {
                        var t = base
                        t.gemmVariant = .blocked
                        t.blockRows = rm; t.blockVectors = rn; t.kUnroll = ku
                        if t != base { out.append(t) }
                    }
                }
            }
        }
        return out
    }

    /// Tries candidates in order until `seconds` have passed or `limit` were tried (the defaults
    /// always), timing each on `sizes`; keeps the winner in `file` (default: the device's
    /// `KeptTuning.file`) unless nil.
    /// With `workGroups`, the reduction and elementwise work-group sizes are then measured on the
    /// winner's program (`WorkGroupTuner`) and kept with it.
    public static func run(device: OpenCLDeviceInfo, seconds: Double, atMost limit: Int = .max, sizes: [Int]? = nil, keepIn file: String?? = .none,
                           workGroups: Bool = true, workGroupProblem: WorkGroupTuner.Problem = .standard,
                           log: (String) -> Void = { _ in }) throws -> Outcome {
        let sizes = sizes ?? [1024, 2048]  // the packed panels' blocking shows from 1024 on
        let started = DispatchTime.now().uptimeNanoseconds
        var results: [Candidate] = []
        var stoppedEarly = false
        let all = Array(candidates(for: device).prefix(max(1, limit)))
        for (i, tuning) in all.enumerated() {
            if i > 0 && Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9 > seconds { stoppedEarly = true; break }
            var c = Candidate(tuning: tuning)
            do {
                let backend = OpenCLBackend(context: try OpenCLContext(device: device, tuning: tuning))
                if let why = try check(backend) {
                    c.rejected = why
                } else {
                    for n in sizes { c.gflops[n] = try time(backend, size: n) }
                }
            } catch {
                c.rejected = "\(error)".split(separator: "\n").first.map(String.init) ?? "failed"
            }
            results.append(c)
            log(String(format: "%3d/%d  %@: ", i + 1, all.count, tuning.description)
                + (c.rejected.map { "rejected (\($0))" } ?? sizes.map { String(format: "%.1f GFLOP/s at %d", c.gflops[$0] ?? 0, $0) }.joined(separator: ", ")))
        }
        let timed = results.filter { $0.rejected == nil }
        guard let defaults = results.first, defaults.rejected == nil, let best = timed.max(by: { $0.score < $1.score }) else {
            throw OpenCLError.badArguments(kernel: "gemm", reason: "the default GEMM tuning failed its check on \(device.name): \(results.first?.rejected ?? "not run")")
        }
        var kept = best.tuning
        var groups: WorkGroupTuner.Outcome?
        if workGroups {
            log("work-group sizes, on the program built for \(best.tuning.description):")
            let g = try WorkGroupTuner.run(device: device, tuning: best.tuning, problem: workGroupProblem, log: log)
            kept.reduceWorkGroup = g.bestReduction
            kept.elementwiseWorkGroup = g.bestElementwise
            groups = g
        }
        let path: String? = file ?? KeptTuning.file(for: device)
        if let path {
            let formatter = ISO8601DateFormatter()
            try KeptTuning(tuning: kept, gflops: best.score, defaultGflops: defaults.score, size: sizes.max() ?? 0,
                           device: device.name, driver: device.driverVersion, date: formatter.string(from: Date())).write(to: path)
        }
        return Outcome(candidates: results, best: best, defaults: defaults, sizes: sizes, stoppedEarly: stoppedEarly, workGroups: groups, kept: kept)
    }

    /// What the first use of a device did about its tuning.
    public enum FirstUse: Sendable {
        /// A tuning was already kept for this device and driver: nothing measured.
        case alreadyTuned(KeptTuning)
        /// No kernel cache to keep a tuning in, so none is measured (it would be measured again every run).
        case nowhereToKeep
        /// Another process is tuning this device now (its lock file exists): this one uses the defaults.
        case tunedElsewhere(lock: String)
        /// Tuned now, within the time limit, and kept.
        case tuned(Outcome, file: String)
    }

    /// Tunes a device the first time it is used, as `train-gpu tune` does but bounded by `seconds`
    /// (the defaults are always measured, then candidates until the time is up): when no tuning is
    /// kept for the device and driver, measures and keeps one, so this and every later run on the
    /// device uses it; `starting` is called once it is certain that this process tunes. A lock file beside the tuning keeps processes that start together (ranks of
    /// one job) from tuning at once and timing each other; a lock older than an hour is stale.
    public static func tuneOnFirstUse(_ device: OpenCLDeviceInfo, seconds: Double, sizes: [Int]? = nil, keepIn file: String? = nil,
                                      workGroupProblem: WorkGroupTuner.Problem = .standard, starting: () -> Void = {},
                                      log: (String) -> Void = { _ in }) throws -> FirstUse {
        guard let path = file ?? KeptTuning.file(for: device) else { return .nowhereToKeep }
        if let kept = KeptTuning.read(for: device, file: path) { return .alreadyTuned(kept) }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let lock = path + ".lock"
        if let made = (try? FileManager.default.attributesOfItem(atPath: lock))?[.modificationDate] as? Date, Date().timeIntervalSince(made) > 3600 {
            try? FileManager.default.removeItem(atPath: lock)
        }
        let fd = open(lock, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        guard fd >= 0 else { return .tunedElsewhere(lock: lock) }
        close(fd)
        defer { try? FileManager.default.removeItem(atPath: lock) }
        // Another process may have finished between the read above and taking the lock.
        if let kept = KeptTuning.read(for: device, file: path) { return .alreadyTuned(kept) }
        starting()
        let outcome = try run(device: device, seconds: seconds, sizes: sizes, keepIn: .some(path), workGroupProblem: workGroupProblem, log: log)
        return .tuned(outcome, file: path)
    }

    /// Only the GEMM kernels, and no warnings (POCL prints clang's -Wpsabi notes on float16 for every build).
    static let gemmOnly = " -DCHORUS_GEMM_ONLY -w"

    /// nil if the candidate's products match float64 (edge sizes, both beta cases), else why not.
    static func check(_ backend: OpenCLBackend) throws -> String? {
        var values = CheckValues(seed: 0x9E37_79B9_7F4A_7C15)
        func next() -> Float { Float(values.next()) / 1000 - 1 }
        for (m, n, k) in [(67, 45, 33), (130, 97, 80)] {
            let a = (0..<(m * k)).map { _ in next() }, b = (0..<(k * n)).map { _ in next() }, c0 = (0..<(m * n)).map { _ in next() }
            let sa = try backend.allocate(a.count), sb = try backend.allocate(b.count), sc = try backend.allocate(c0.count)
            try a.withUnsafeBufferPointer { try backend.upload($0, to: sa, offset: 0) }
            try b.withUnsafeBufferPointer { try backend.upload($0, to: sb, offset: 0) }
            try c0.withUnsafeBufferPointer { try backend.upload($0, to: sc, offset: 0) }
            try backend.gemmKernel(m: m, n: n, k: k, alpha: 1, a: sa, offsetA: 0, lda: k, strideA: 0, b: sb, offsetB: 0, ldb: n, strideB: 0,
                                   beta: 0.5, c: sc, offsetC: 0, ldc: n, strideC: 0, batch: 1, options: backend.context.tuning.buildOptions + gemmOnly)
            var c = [Float](repeating: 0, count: m * n)
            try c.withUnsafeMutableBufferPointer { try backend.download(sc, offset: 0, into: $0) }
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
                    s += 0.5 * Double(c0[i * n + j])
                    worst = max(worst, abs(Double(c[i * n + j]) - s) / max(1, abs(s)))
                }
            }
            if !(worst < 1e-4) { return String(format: "%dx%dx%d differs from float64 by %.2g", m, n, k, worst) }
        }
        return nil
    }

    /// GFLOP/s of an n x n x n product: one untimed run, then the best of three.
    static func time(_ backend: OpenCLBackend, size n: Int) throws -> Double {
        let a = try backend.allocate(n * n), b = try backend.allocate(n * n), c = try backend.allocate(n * n)
        let half = [Float](repeating: 0.5, count: n * n)  // uploaded: only the GEMM kernels are built for a candidate
        for s in [a, b, c] { try half.withUnsafeBufferPointer { try backend.upload($0, to: s, offset: 0) } }
        let options = backend.context.tuning.buildOptions + gemmOnly
        func once() throws {
            try backend.gemmKernel(m: n, n: n, k: n, alpha: 1, a: a, offsetA: 0, lda: n, strideA: 0, b: b, offsetB: 0, ldb: n, strideB: 0,
                                   beta: 0, c: c, offsetC: 0, ldc: n, strideC: 0, batch: 1, options: options)
        }
        try once()
        try backend.synchronize()
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try once()
            try backend.synchronize()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
    }
}

/// Reproducible check values for the tuners (the same every run, so a rejection can be reproduced):
/// a 64-bit linear congruential generator giving integers in 0...2000.
struct CheckValues {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(state >> 11) % 2001
    }
}
