import CBLAS
import CPUPeak
import ChorusCore
import Foundation
import Kernels
import Tensor

/// GEMM, convolution and launch-overhead benchmarks, each device next to OpenBLAS in the same run.
public enum TensorBenchmarks {
    /// The CPU's measured single-precision peak: FMA loops in the widest vectors it has, on every
    /// core Chorus may use at once (GFLOP/s), and the instruction set.
    public static func cpuPeak(seconds: Double = 0.4) -> (gflops: Double, isa: String) {
        let cores = Machine.usableCores
        let rates = UnsafeMutableBufferPointer<Double>.allocate(capacity: cores)
        defer { rates.deallocate() }
        // Each thread writes its own entry of `rates`.
        let out = UncheckedSendable(rates)
        concurrentPerform(cores) { i in out.value[i] = chorus_peak_flops(seconds, nil) }
        var isa: UnsafePointer<CChar>?
        _ = chorus_peak_flops(0, &isa)
        return (rates.reduce(0, +) / 1e9, isa.map { String(cString: $0) } ?? "?")
    }

    /// The memory bandwidth every core Chorus may use reaches at once (GB/s): the best of five
    /// passes of the triad a = b + 0.5 c over three arrays of `floats` each (128 MB by default,
    /// far larger than the caches; `--quick`: 32 MB), each core its own slice, 12 bytes per
    /// element as STREAM counts them. What the CPU fallback's memory-bound operations (batch
    /// norm, ReLU, pooling) are compared with.
    public static func memoryBandwidth(floats n: Int = 32 << 20, passes: Int = 5) -> Double {
        let cores = Machine.usableCores
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n), b = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        // The arrays written before they are timed (their pages faulted in), each core its slices.
        let arrays = UncheckedSendable((a, b, c))
        concurrentPerform(cores) { i in
            let lo = n * i / cores, hi = n * (i + 1) / cores, (a, b, c) = arrays.value
            (a + lo).initialize(repeating: 0, count: hi - lo)
            (b + lo).initialize(repeating: 1, count: hi - lo)
            (c + lo).initialize(repeating: 2, count: hi - lo)
        }
        var best = Double.infinity
        for _ in 0..<passes {
            let t0 = DispatchTime.now().uptimeNanoseconds
            concurrentPerform(cores) { i in
                let lo = n * i / cores, hi = n * (i + 1) / cores, (a, b, c) = arrays.value
                chorus_triad(a, b, c, lo, hi - lo)
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        return 12 * Double(n) / best / 1e9
    }

    /// OpenBLAS sgemm GFLOP/s at n x n x n (the reference).
    public static func openBLASGEMM(size n: Int) -> Double {
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        // The CPU backend runs OpenBLAS single-threaded and splits work itself; the reference
        // uses OpenBLAS's own threads on every core.
        let saved = openblas_get_num_threads()
        openblas_set_num_threads(Int32(ProcessInfo.processInfo.activeProcessorCount))
        defer { openblas_set_num_threads(saved) }
        let t = measure(warmup: 1, repeats: 3) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
        }
        return 2 * Double(n * n * n) / t / 1e9
    }

    /// Device GEMM GFLOP/s at n x n x n (data resident on the device).
    public static func deviceGEMM(_ device: Device, size n: Int, repeats: Int = 3) throws -> Double {
        let a = try Ops.randomUniform([n, n], seed: 1, on: device), b = try Ops.randomUniform([n, n], seed: 2, on: device)
        let t = try measure(warmup: 1, repeats: repeats) {
            _ = try Ops.matmul(a, b)
            try device.synchronize()
        }
        return 2 * Double(n * n * n) / t / 1e9
    }

    /// One convolution layer's shape: C input channels of H x H, O outputs, K x K windows.
    public typealias ConvolutionLayer = (name: String, c: Int, h: Int, o: Int, k: Int, s: Int, p: Int)

    /// The ResNet18 convolution shapes (input 224x224, 1 channel): (C, H, O, K, stride, pad).
    public static let resnet18Convolutions: [ConvolutionLayer] = [
        ("conv1 7x7/2", 1, 224, 64, 7, 2, 3),
        ("layer1 3x3", 64, 56, 64, 3, 1, 1),
        ("layer2 3x3/2", 64, 56, 128, 3, 2, 1),
        ("layer2 3x3", 128, 28, 128, 3, 1, 1),
        ("layer3 3x3/2", 128, 28, 256, 3, 2, 1),
        ("layer3 3x3", 256, 14, 256, 3, 1, 1),
        ("layer4 3x3/2", 256, 14, 512, 3, 2, 1),
        ("layer4 3x3", 512, 7, 512, 3, 1, 1),
    ]

    /// `layers` as JSON, [{"name", "c", "h", "o", "k", "s", "p"}]: how
    /// Benchmarks/reference/pytorch_resnet18.py (`layers`) and Benchmarks/onednn-kernels take them.
    public static func json(_ layers: [ConvolutionLayer]) throws -> String {
        let shapes = layers.map { ["name": $0.name, "c": $0.c, "h": $0.h, "o": $0.o, "k": $0.k, "s": $0.s, "p": $0.p] as [String: Any] }
        return String(decoding: try JSONSerialization.data(withJSONObject: shapes, options: [.sortedKeys]), as: UTF8.self)
    }

    /// conv2d forward and backward (input + weights) milliseconds per ResNet18 layer shape: the
    /// fastest of `repeats` runs after two untimed ones, as the devices are compared layer by layer,
    /// one after the other, on machines shared with other work. The first call of a shape chooses
    /// its path and allocates; in the second, each new output still page-faults in fresh memory
    /// (the first call's output is alive while it runs); from the third on, outputs reuse the
    /// buffers the call before gave back, as in every training step. (With one warm-up and the
    /// median of two runs, the figure was the slower run, the one that page-faulted: 45 ms of a
    /// 90 ms layer1 forward.) With `kernelTables`, on an OpenCL device, each layer's kernel-time
    /// table (one more untimed forward and backward) is passed to it.
    public static func convolutions(_ device: Device, batch: Int, repeats: Int = 3,
                                    kernelTables: ((String, String) -> Void)? = nil) throws -> [BenchmarkResult] {
        var out: [BenchmarkResult] = []
        for s in resnet18Convolutions {
            let (x, w, flops) = try operands(s, batch: batch, on: device)
            var y: Tensor?
            let tf = try measure(warmup: 2, repeats: repeats, estimate: .fastest) {
                y = try Ops.conv2dForward(x, weight: w, bias: nil, stride: s.s, padding: s.p)
                try device.synchronize()
            }
            let dy = y!
            let tb = try measure(warmup: 2, repeats: repeats, estimate: .fastest) {
                _ = try Ops.conv2dBackward(dy, x: x, weight: w, stride: s.s, padding: s.p)
                try device.synchronize()
            }
            if let kernelTables, let cl = device.openCLContext {
                cl.startKernelProfile()
                _ = try Ops.conv2dBackward(try Ops.conv2dForward(x, weight: w, bias: nil, stride: s.s, padding: s.p), x: x, weight: w, stride: s.s, padding: s.p)
                kernelTables(s.name, try cl.stopKernelProfile().table())
            }
            out.append(BenchmarkResult(name: "conv2d forward \(s.name) b\(batch)", device: device.identifier, value: tf * 1000, unit: "ms"))
            out.append(BenchmarkResult(name: "conv2d backward \(s.name) b\(batch)", device: device.identifier, value: tb * 1000, unit: "ms"))
            out.append(BenchmarkResult(name: "conv2d fwd+bwd \(s.name) b\(batch)", device: device.identifier, value: 3 * flops / (tf + tb) / 1e9, unit: "GFLOP/s"))
        }
        return out
    }

    /// Seconds of each ResNet18 layer on one device: the forward, the weight gradient alone and
    /// the whole backward (data and weight gradients; no path computes the data gradient alone,
    /// and the difference of two timings on a shared machine is noise), each the fastest of five
    /// after two untimed runs; and the layer's forward operations (each gradient has as many).
    public static func convolutionDirections(_ device: Device, batch: Int, layers: [ConvolutionLayer] = resnet18Convolutions)
        throws -> [(layer: ConvolutionLayer, forward: Double, weights: Double, backward: Double, flops: Double)] {
        try layers.map { s in
            let (x, w, flops) = try operands(s, batch: batch, on: device)
            let dy = try Ops.conv2dForward(x, weight: w, bias: nil, stride: s.s, padding: s.p)
            func fastest(_ body: () throws -> Void) throws -> Double {
                try measure(warmup: 2, repeats: 5, estimate: .fastest) { try body(); try device.synchronize() }
            }
            let forward = try fastest { _ = try Ops.conv2dForward(x, weight: w, bias: nil, stride: s.s, padding: s.p) }
            let weights = try fastest { _ = try Ops.conv2dBackwardWeights(dy, x: x, weight: w, stride: s.s, padding: s.p) }
            let backward = try fastest { _ = try Ops.conv2dBackward(dy, x: x, weight: w, stride: s.s, padding: s.p) }
            return (s, forward, weights, backward, flops)
        }
    }

    /// A layer's random input and weights on `device`, and its forward operations (2 per multiply-add).
    private static func operands(_ s: ConvolutionLayer, batch: Int, on device: Device) throws -> (x: Tensor, w: Tensor, flops: Double) {
        let x = try Ops.randomUniform([batch, s.c, s.h, s.h], seed: 3, on: device)
        let w = try Ops.randomUniform([s.o, s.c, s.k, s.k], seed: 4, low: -0.1, high: 0.1, on: device)
        let oh = (s.h + 2 * s.p - s.k) / s.s + 1
        return (x, w, 2.0 * Double(batch * s.o * oh * oh * s.c * s.k * s.k))
    }

    /// Microseconds per tiny kernel launch (a 1-element fill), synchronised every 100 launches.
    public static func launchOverhead(_ device: Device) throws -> Double {
        let x = try Tensor.zeros([1], on: device)
        let t = try measure(warmup: 1, repeats: 3) {
            for _ in 0..<100 { try Ops.fill(x, 1) }
            try device.synchronize()
        }
        return t / 100 * 1e6
    }
}
