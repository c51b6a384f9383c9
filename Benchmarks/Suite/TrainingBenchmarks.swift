import Foundation
import Kernels
import Model
import Tensor

/// Network throughput: ResNet18 / small CNN training (forward + backward + SGD step) and inference.
public enum TrainingBenchmarks {
    /// Samples per second of training steps on random data resident on the device (no loader).
    public static func networkTraining(_ device: Device, architecture: Architecture, batch: Int, size: Int = 224, steps: Int = 3) throws -> Double {
        try networkTrainingProfile(device, architecture: architecture, batch: batch, size: size, steps: steps).samplesPerSecond
    }

    /// Training samples/s, a profile of one more step (OpenCL kernels, or the CPU fallback's
    /// operations), and, on the CPU fallback, the share of the timed steps spent in
    /// convolutions and the rate of those convolutions (GFLOP/s, all directions, as they run in
    /// the network: reorders and the im2col-chosen shapes included), after an untimed first step
    /// in which new shapes choose their path.
    /// (`convolutionGFLOPS`: all of them; `convolution3x3GFLOPS`: those with 3x3 windows.)
    public static func networkTrainingProfile(_ device: Device, architecture: Architecture, batch: Int, size: Int = 224, steps: Int = 3) throws
        -> (samplesPerSecond: Double, convolutionShare: Double?, convolutionGFLOPS: Double?, convolution3x3GFLOPS: Double?, kernels: KernelProfile?) {
        let net = try Network(architecture: architecture, classes: 5, device: device, seed: 1)
        try net.flattenParameters()  // as the trainer does: one update launch per step
        let opt = SGD()
        let x = try Ops.randomUniform([batch, 1, size, size], seed: 1, low: -1, high: 1, on: device)
        let y = try Ops.randomUniform([batch, 5], seed: 2, on: device)
        func step() throws {
            let logits = try net.forward(x, training: true)
            let (_, g) = try LossKind.bceWithLogits.compute(logits: logits, targets: y)
            _ = try net.backward(g)
            try opt.step(net.parameters, learningRate: 0.01)
            try device.synchronize()
        }
        try step()
        let cpu = device.isOpenCL ? nil : device.backend as? CPUBackend
        func since(_ start: (seconds: Double, flops: Double)?, _ now: (seconds: Double, flops: Double)?) -> (seconds: Double, flops: Double)? {
            guard let start, let now else { return nil }
            return (now.seconds - start.seconds, now.flops - start.flops)
        }
        let conv0 = cpu?.convolutionWork(), conv3x30 = cpu?.convolutionWork(kernel: 3), t0 = DispatchTime.now().uptimeNanoseconds
        let t = try measure(warmup: 0, repeats: steps, step)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        let conv = since(conv0, cpu?.convolutionWork()), conv3x3 = since(conv3x30, cpu?.convolutionWork(kernel: 3))
        // One more step (untimed) with every launch's device time recorded (OpenCL), or every
        // operation's wall time (the CPU fallback).
        var kernels: KernelProfile?
        if let cl = device.openCLContext {
            cl.startKernelProfile()
            try step()
            kernels = try cl.stopKernelProfile()
        } else if let cpu {
            cpu.startOperationProfile()
            let s0 = DispatchTime.now().uptimeNanoseconds
            try step()
            let stepSeconds = Double(DispatchTime.now().uptimeNanoseconds - s0) * 1e-9
            var profile = cpu.stopOperationProfile()
            let outside = stepSeconds - profile.totalSeconds
            if outside > 0 { profile = KernelProfile(device: profile.device, entries: profile.entries + [.init(kernel: "(outside the backend's operations)", launches: 1, seconds: outside)],
                                                 hostOperations: true) }
            kernels = profile
        }
        func rate(_ w: (seconds: Double, flops: Double)?) -> Double? { w.flatMap { $0.seconds > 0 ? $0.flops / $0.seconds / 1e9 : nil } }
        return (Double(batch) / t, conv.map { $0.seconds / wall }, rate(conv), rate(conv3x3), kernels)
    }

    /// Whether an operation of the CPU fallback's profile is one of the network's layers
    /// (convolutions, batch norm, ReLU, pooling, the linear head's product and bias), as opposed
    /// to what the issue asks to keep small: the optimiser, the loss, residual additions, and the
    /// time between operations (`(outside the backend's operations)`).
    public static func isLayerOperation(_ name: String) -> Bool {
        ["convolution", "batchnorm", "relu", "maxpool", "avgpool", "globalAvgpool", "gemm", "biasAdd"].contains { name.hasPrefix($0) }
    }

    /// Samples per second of inference.
    public static func networkInference(_ device: Device, architecture: Architecture, batch: Int, size: Int = 224, steps: Int = 3) throws -> Double {
        let net = try Network(architecture: architecture, classes: 5, device: device, seed: 1)
        let x = try Ops.randomUniform([batch, 1, size, size], seed: 1, low: -1, high: 1, on: device)
        let t = try measure(warmup: 1, repeats: steps) {
            _ = try net.forward(x, training: false).toArray()
        }
        return Double(batch) / t
    }
}
