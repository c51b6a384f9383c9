import ChorusCore
import Foundation
import Kernels

/// Which of the CPU backend's convolution paths (oneDNN, im2col + OpenBLAS, and for 3x3 stride-1
/// layers Winograd) is fastest for a shape and direction on this machine. None wins everywhere: on
/// one 2-core AVX2 machine oneDNN ran ResNet18's early layers 1.5x faster than im2col and its
/// 7x7x512 layers 1.3x slower. So, as CLBlast tunes its kernels, the choice is measured on the
/// machine the first time a shape is used (each path run once untimed, then `rounds` times
/// interleaved, the best of each compared; another path than the preferred one only when it is at
/// least `margin` faster) and
/// kept in a file beside the kernel binaries, so every later process on the machine makes the
/// same choice (and computes the same bits) without measuring again.
/// The OpenCL backend chooses the same way between its GEMM path (im2col + GEMM, or packed panels
/// on CPU devices), the implicit-GEMM kernels (GPUs) and Winograd (3x3 stride-1 layers): neither
/// of the first two wins everywhere there either (on an H200 the implicit kernels ran ResNet18's
/// 56x56 layers 1.3x faster, its strided backward passes 2x slower).
final class ConvolutionChoices: @unchecked Sendable {
    /// `winogradData`: a backward pass's data gradient by Winograd, its weight gradient on oneDNN
    /// (the CPU fallback). On OpenCL `winograd` is every direction by Winograd, `winogradFused`
    /// the same with the forward and data gradient in one kernel (CPU-type devices), and `im2col`
    /// the GEMM variant's own path.
    enum Path: String, Codable, Sendable {
        case oneDNN = "onednn", im2col, implicitGEMM = "implicit-gemm", winograd, winogradData = "winograd-data", winogradFused = "winograd-fused"
    }
    enum Direction: String, Sendable { case forward, backward, backwardWeights = "backward-weights", inference }

    /// Another path is chosen only when it is at least this much faster than the preferred one.
    static let margin = 0.05
    /// Timed runs of each path when a shape is new.
    static let rounds = 3

    private var table: [String: Path]
    let file: String?

    var paths: [String: String] {
        lock.lock(); defer { lock.unlock() }
        return table.mapValues(\.rawValue)
    }
    private let lock = NSLock()

    /// How many shapes and directions chose `path`.
    func count(_ path: Path) -> Int {
        lock.lock(); defer { lock.unlock() }
        return table.values.filter { $0 == path }.count
    }

    /// The path used unless another is measured `margin` faster, and those others (a shape may
    /// offer fewer: `run`'s `alternatives`).
    let preferred: Path, alternatives: [Path]

    /// Choices kept in `file` (nil: measured afresh in each process).
    init(file: String?, preferred: Path = .oneDNN, alternatives: [Path] = [.im2col]) {
        self.file = file
        self.preferred = preferred
        self.alternatives = alternatives
        table = file.flatMap { try? JSONDecoder().decode([String: Path].self, from: Data(contentsOf: URL(fileURLWithPath: $0))) } ?? [:]
    }

    /// Raised whenever the CPU backend's native path changes its kernels (2: sliding-window
    /// weight gradients for narrow inputs, products split along k; 3: Winograd for 3x3 stride-1
    /// layers; 4: Winograd weight gradients; 5: Winograd products in AVX-512 where the CPU has
    /// it), so that each machine measures its choices again rather than keep ones made without
    /// the new kernels.
    static let nativePathRevision = 5

    /// The file for this machine: CPU model (which also decides the Winograd products' vector
    /// width), oneDNN version and native-path revision in the name, in the kernel cache.
    static func machineFile(oneDNNVersion: String) -> String? {
        guard let dir = KernelCache.directory else { return nil }
        let model = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown-cpu"
        let hash = SHA256.hex(Array("\(model)|oneDNN \(oneDNNVersion)|native \(nativePathRevision)".utf8)).prefix(16)
        return dir + "/cpu-convolutions-\(hash).json"
    }

    /// The file for one OpenCL device: its name, driver, kernel tuning and the kernels' source in
    /// the name (changed kernels are measured again).
    static func deviceFile(_ info: OpenCLDeviceInfo, tuning: KernelTuning) -> String? {
        guard let dir = KernelCache.directory else { return nil }
        let hash = SHA256.hex(string: "\(info.name)|\(info.driverVersion)|\(tuning.buildOptions)|\(KernelSource.text)").prefix(16)
        return dir + "/opencl-convolutions-\(hash).json"
    }

    /// The key of a shape: batch rounded up to a power of two (a last, smaller batch of an epoch
    /// takes its full batch's choice rather than being measured again).
    static func key(_ g: ConvGeometry, images: Int, outChannels: Int, _ direction: Direction) -> String {
        var bucket = 1
        while bucket < images { bucket <<= 1 }
        return "\(direction.rawValue) n\(bucket) c\(g.channels) \(g.height)x\(g.width) o\(outChannels) k\(g.kernelH)x\(g.kernelW) s\(g.stride) p\(g.padding)"
    }

    /// The path for `key`, measuring the preferred path and `alternatives` (nil: all of this
    /// table's) with `run` (which performs the convolution, writing its outputs) when the key is
    /// new; `synchronize` waits for a device's queued work, so each timed run is timed to its end.
    /// On return the outputs hold the chosen path's result.
    func run(_ key: String, alternatives offered: [Path]? = nil, synchronize: () throws -> Void = {}, _ run: (Path) throws -> Void) throws {
        lock.lock()
        if let path = table[key] { lock.unlock(); return try run(path) }
        defer { lock.unlock() }
        let others = offered ?? alternatives
        func timed(_ path: Path) throws -> Double {
            try synchronize()
            let t0 = DispatchTime.now().uptimeNanoseconds
            try run(path)
            try synchronize()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        }
        // A first, untimed run of each (kernels are built, buffers are touched), then rounds of
        // all, interleaved so a passing load slows them alike; the best of each counts.
        for other in others { try run(other) }
        try run(preferred)
        var best = [Double](repeating: .infinity, count: others.count), usual = Double.infinity
        for _ in 0..<Self.rounds {
            for (i, other) in others.enumerated() { best[i] = min(best[i], try timed(other)) }
            usual = min(usual, try timed(preferred))
        }
        let fastest = best.indices.min { best[$0] < best[$1] }
        let path = fastest.map { best[$0] < usual * (1 - Self.margin) ? others[$0] : preferred } ?? preferred
        if path != preferred { try run(path) }
        table[key] = path
        save(key, path)
    }

    /// Adds one choice to the file: re-read under an advisory lock so that processes measuring
    /// at once keep the first choice written for a key, then replaced atomically.
    private func save(_ key: String, _ path: Path) {
        guard let file else { return }
        let dir = (file as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let lockFD = open(file + ".lock", O_CREAT | O_RDWR, 0o644)
        guard lockFD >= 0 else { return }
        defer { close(lockFD) }
        guard flock(lockFD, LOCK_EX) == 0 else { return }
        defer { flock(lockFD, LOCK_UN) }
        var onDisk = (try? JSONDecoder().decode([String: Path].self, from: Data(contentsOf: URL(fileURLWithPath: file)))) ?? [:]
        if let first = onDisk[key] { table[key] = first; return }
        onDisk[key] = path
        for (k, v) in table where onDisk[k] == nil { onDisk[k] = v }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(onDisk) else { return }
        try? data.write(to: URL(fileURLWithPath: file), options: .atomic)
    }
}
