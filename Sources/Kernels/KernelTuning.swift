import ChorusCore
import Foundation

/// Tuning parameters for kernels.cl, passed as `-D` defines and chosen per device type at run time.
public struct KernelTuning: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum GEMMVariant: String, Sendable, Codable { case tiled, blocked, packed }
    /// `tiled` (local-memory tiles, for GPUs), `blocked` (register blocks, no local memory, for CPU
    /// devices) or `packed` (operands copied into panels first, cache-blocked; CPU devices).
    public var gemmVariant: GEMMVariant
    // gemm_tiled: tile of C per work-group (tileM x tileN), depth tileK, outputs per work-item.
    public var tileM = 64, tileN = 64, tileK = 16, workPerThreadM = 4, workPerThreadN = 4
    // gemm_blocked: rows per work-item, float16 vectors per work-item, k unroll.
    public var blockRows = 8, blockVectors = 2, kUnroll = 1
    // gemm_packed: rows per A panel, vector width and vectors per B panel (its columns are their
    // product), depth of a chunk of k, A and B panels per work-item.
    public var panelRows = 6, panelVectorWidth = 8, panelVectors = 2, panelDepth = 256, panelsPerItemM = 8, panelsPerItemN = 8
    /// Columns of a B panel of gemm_packed.
    public var panelColumns: Int { panelVectorWidth * panelVectors }
    /// Split-K: a product whose tiles give fewer than `splitKGroupsPerUnit` work-groups per compute
    /// unit is cut along k into slices of at least `splitKMinimumDepth`, computed side by side and
    /// summed (a convolution's weight gradient is such a product: small m x n, k = batch x pixels).
    public var splitKGroupsPerUnit = 2, splitKMinimumDepth = 256
    /// How convolutions run: the variant's GEMM path (im2col + GEMM + col2im; packed panels with
    /// the packed variant), implicit GEMMs (`conv_*_implicit`, tiled variant: tiles read straight
    /// from the tensors), Winograd F(4x4, 3x3) wherever it serves the shape (3x3, stride 1,
    /// padding 1; the variant's path elsewhere), Winograd with each of the forward and the data
    /// gradient in one kernel after the weight transform where its transforms and products fit
    /// the device's local memory (`winograd_fused`; plain Winograd elsewhere; `.tuned` offers it
    /// only on CPU-type devices), or per shape and direction whichever of those is measured
    /// fastest on the device (the default).
    public enum ConvolutionKernels: String, Sendable, Codable { case im2col, implicitGEMM = "implicit-gemm", winograd, winogradFused = "winograd-fused", tuned }
    public var convolutions = ConvolutionKernels.tuned
    /// Work-group size of reductions (a power of two, at most `maxReduceWorkGroup`): a launch
    /// parameter, so the tuner measures it without building the kernels again.
    public var reduceWorkGroup = 256
    /// The largest reduction work-group the kernels' local arrays hold (passed to kernels.cl as
    /// REDUCE_WG_MAX, so this is its one source).
    public static let maxReduceWorkGroup = 256
    /// Work-group size of elementwise kernels (nil lets the runtime choose).
    public var elementwiseWorkGroup: Int? = nil

    public init(gemmVariant: GEMMVariant) { self.gemmVariant = gemmVariant }

    /// Defaults by device type: local-memory tiles on GPUs, packed panels on CPUs.
    public static func defaults(for device: OpenCLDeviceInfo) -> KernelTuning {
        switch device.kind {
        case .gpu, .accelerator, .other:
            var t = KernelTuning(gemmVariant: .tiled)
            t.tileM = 64; t.tileN = 64; t.tileK = 16; t.workPerThreadM = 4; t.workPerThreadN = 4
            t.reduceWorkGroup = min(256, max(64, device.maxWorkGroupSize))
            t.elementwiseWorkGroup = 256
            return t
        case .cpu:
            // Packed panels: on a 2-core AVX2 EPYC (POCL 3.1) 1.4x, 3.3x and 7.4x gemm_blocked at
            // 512, 1024 and 2048, which fall out of cache (chorus-bench gemm).
            var t = KernelTuning(gemmVariant: .packed)
            // B panels of the device's native vector: on a 2-core Zen 5 (AVX-512, POCL 3.1) the
            // tuner's best at 2048 was PM=8 PV=16 PN=1, 303 GFLOP/s, against 159 for the AVX2
            // defaults (PM=6 PV=8 PN=2; `train-gpu tune --seconds 90`, 2026-12-02).
            if device.nativeFloatVectorWidth >= 16 { t.panelRows = 8; t.panelVectorWidth = 16; t.panelVectors = 1 }
            t.reduceWorkGroup = 16
            t.splitKMinimumDepth = 1024
            return t
        }
    }

    /// The tuning for a device: the one `train-gpu tune` measured and kept for it (device and
    /// driver), else the defaults for its type.
    public static func forDevice(_ device: OpenCLDeviceInfo) -> KernelTuning {
        KeptTuning.read(for: device)?.tuning ?? defaults(for: device)
    }

    /// The `-D` build options.
    public var buildOptions: String {
        [
            "-cl-mad-enable", "-cl-no-signed-zeros",
            "-DTSM=\(tileM)", "-DTSN=\(tileN)", "-DTSK=\(tileK)", "-DWPTM=\(workPerThreadM)", "-DWPTN=\(workPerThreadN)",
            "-DRM=\(blockRows)", "-DRN=\(blockVectors)", "-DKU=\(kUnroll)",
            "-DPM=\(panelRows)", "-DPV=\(panelVectorWidth)", "-DPN=\(panelVectors)", "-DKC=\(panelDepth)",
            "-DMCB=\(panelsPerItemM)", "-DNCB=\(panelsPerItemN)", "-DREDUCE_WG_MAX=\(Self.maxReduceWorkGroup)",
        ].joined(separator: " ")
    }

    /// The work-group sizes of reductions and elementwise kernels, as `train-gpu devices` shows them.
    public var workGroupDescription: String {
        "reductions \(reduceWorkGroup), elementwise \(elementwiseWorkGroup.map(String.init) ?? "runtime's choice")"
    }

    public var description: String {
        switch gemmVariant {
        case .tiled: return "gemm_tiled TSM=\(tileM) TSN=\(tileN) TSK=\(tileK) WPTM=\(workPerThreadM) WPTN=\(workPerThreadN)"
        case .blocked: return "gemm_blocked RM=\(blockRows) RN=\(blockVectors) KU=\(kUnroll)"
        case .packed:
            return "gemm_packed PM=\(panelRows) PV=\(panelVectorWidth) PN=\(panelVectors) KC=\(panelDepth) MCB=\(panelsPerItemM) NCB=\(panelsPerItemN)"
        }
    }
}

/// A tuning `train-gpu tune` measured on a device, kept beside the kernel binaries
/// (`tuning-<device and driver>.json`) and used by every later context on that device.
public struct KeptTuning: Codable, Sendable, Equatable {
    public var tuning: KernelTuning
    /// GEMM GFLOP/s at `size` of the winner, and of the defaults, in the tuner's run.
    public var gflops: Double, defaultGflops: Double
    public var size: Int
    public var device: String, driver: String
    public var date: String

    public init(tuning: KernelTuning, gflops: Double, defaultGflops: Double, size: Int, device: String, driver: String, date: String) {
        self.tuning = tuning; self.gflops = gflops; self.defaultGflops = defaultGflops; self.size = size
        self.device = device; self.driver = driver; self.date = date
    }

    /// The file for a device (nil without a kernel cache).
    public static func file(for device: OpenCLDeviceInfo) -> String? {
        guard let dir = KernelCache.directory else { return nil }
        let hash = SHA256.hex(Array("\(device.platformName)|\(device.name)|\(device.driverVersion)".utf8)).prefix(16)
        return dir + "/tuning-\(hash).json"
    }

    /// The kept tuning of a device, if `train-gpu tune` ran on it (with this driver).
    public static func read(for device: OpenCLDeviceInfo, file: String? = nil) -> KeptTuning? {
        guard let path = file ?? Self.file(for: device), let data = FileManager.default.contents(atPath: path),
              let kept = try? JSONDecoder().decode(KeptTuning.self, from: data),
              kept.device == device.name, kept.driver == device.driverVersion else { return nil }
        return kept
    }

    /// Writes the file atomically.
    public func write(to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
