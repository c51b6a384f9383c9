import Foundation
import Model
import Tensor

/// Network throughput: ResNet18 / small CNN training (forward + backward + SGD step) and inference.
public enum TrainingBenchmarks {
    /// Samples per second of training steps on random data resident on the device (no loader).
    public static func networkTraining(_ device: Device, architecture: Architecture, batch: Int, size: Int = 224, steps: Int = 3) throws -> Double {
        let net = try Network(architecture: architecture, classes: 5, device: device, seed: 1)
        let opt = SGD()
        let x = try Ops.randomUniform([batch, 1, size, size], seed: 1, low: -1, high: 1, on: device)
        let y = try Ops.randomUniform([batch, 5], seed: 2, on: device)
        let t = try measure(warmup: 1, repeats: steps) {
            let logits = try net.forward(x, training: true)
            let (_, g) = try LossKind.bceWithLogits.compute(logits: logits, targets: y)
            _ = try net.backward(g)
            try opt.step(net.parameters, learningRate: 0.01)
            try device.synchronize()
        }
        return Double(batch) / t
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
