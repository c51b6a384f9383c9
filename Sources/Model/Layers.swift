import Foundation
import Tensor

/// 2-D convolution (NCHW), PyTorch weight layout [out, in, kh, kw]; Kaiming-normal (fan-out) init.
public final class Conv2d: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int
    private var input: Tensor?

    public init(_ name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = false,
                device: Device, seed: UInt64) throws {
        self.stride = stride; self.padding = padding
        let fanOut = Float(outChannels * kernel * kernel)
        let w = Initializer.normal(outChannels * inChannels * kernel * kernel, std: (2 / fanOut).squareRoot(), seed: seed, name: name + ".weight")
        weight = Parameter(name: name + ".weight", value: try Tensor(w, shape: [outChannels, inChannels, kernel, kernel], on: device))
        self.bias = bias ? Parameter(name: name + ".bias", value: try Tensor.zeros([outChannels], on: device)) : nil
    }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        if training { input = x }
        return try Ops.conv2dForward(x, weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
    }

    /// Inference through this convolution and `bn` (and a ReLU when `relu`) as one convolution
    /// with the batch norm folded in; nil when this convolution has a bias (then run them apart).
    public func inferenceWithBatchNorm(_ x: Tensor, _ bn: BatchNorm2d, relu: Bool) throws -> Tensor? {
        guard bias == nil else { return nil }
        return try Ops.conv2dBatchNormInference(x, weight: weight.value, stride: stride, padding: padding, gamma: bn.weight.value, beta: bn.bias.value,
                                                runningMean: bn.runningMean.value, runningVar: bn.runningVar.value, eps: bn.eps, relu: relu)
    }

    /// `needInputGradient` is false for the first layer, whose input gradient nobody uses.
    public var needInputGradient = true

    public func backward(_ dy: Tensor) throws -> Tensor {
        guard let x = input else { throw ModelError.backwardBeforeForward(weight.name) }
        let g = try Ops.conv2dBackward(dy, x: x, weight: weight.value, stride: stride, padding: padding,
                                       needInput: needInputGradient, hasBias: bias != nil,
                                       into: (weight.gradientDestination, bias?.gradientDestination))
        weight.gradient = g.dWeight
        bias?.gradient = g.dBias
        input = nil
        return g.dx ?? dy
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
}

/// Batch normalisation over channels of NCHW; running statistics are buffers. `relu`: a ReLU
/// follows it, fused in (the layer's output is max(normalised, 0); no separate pass over the
/// tensor forward or backward).
public final class BatchNorm2d: Layer {
    public let weight: Parameter, bias: Parameter
    public let runningMean: Parameter, runningVar: Parameter
    public var eps: Float = 1e-5, momentum: Float = 0.1
    public let relu: Bool
    private var input: Tensor?
    private var saved: Ops.BatchNormSaved?
    /// The output of the synchronised forward with a ReLU (its backward masks with it).
    private var reluOutput: Tensor?

    public init(_ name: String, channels: Int, relu: Bool = false, device: Device) throws {
        self.relu = relu
        weight = Parameter(name: name + ".weight", value: try Tensor.full([channels], value: 1, on: device))
        bias = Parameter(name: name + ".bias", value: try Tensor.zeros([channels], on: device))
        runningMean = Parameter(name: name + ".running_mean", value: try Tensor.zeros([channels], on: device))
        runningVar = Parameter(name: name + ".running_var", value: try Tensor.full([channels], value: 1, on: device))
    }

    /// Sums per-channel statistics over every process of a data-parallel run (in place, the same
    /// result on each), making batch norm synchronised: the statistics are those of the whole
    /// global batch. Nil: each process normalises its own rows (the default, as PyTorch's DDP).
    nonisolated(unsafe) public static var crossProcessSum: ((inout [Double]) -> Void)?

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        if training, let sum = Self.crossProcessSum { return try synchronisedForward(x, sum: sum) }
        if training {
            let r = try Ops.batchNorm2dForwardTrain(x, gamma: weight.value, beta: bias.value, runningMean: runningMean.value,
                                                    runningVar: runningVar.value, eps: eps, momentum: momentum, relu: relu)
            input = x; saved = r.saved
            return r.y
        }
        let y = try Ops.batchNorm2dForwardEval(x, gamma: weight.value, beta: bias.value, runningMean: runningMean.value, runningVar: runningVar.value, eps: eps)
        return relu ? try Ops.reluForward(y) : y
    }

    public func backward(_ dy: Tensor) throws -> Tensor {
        guard let x = input, let saved else { throw ModelError.backwardBeforeForward(weight.name) }
        defer { input = nil; self.saved = nil; reluOutput = nil }
        if let sum = Self.crossProcessSum {
            // The synchronised forward ran its ReLU as a pass of its own; so does its backward.
            let dy = try reluOutput.map { try Ops.reluBackward(dy, output: $0) } ?? dy
            // This process's sums are its parameter gradients (the trainer sums those over
            // processes); dx needs the sums over all rows, scaled to this process's share.
            let local = try Ops.batchNorm2dBackwardReduce(dy, x: x, gamma: weight.value, beta: bias.value, saved: saved,
                                                          into: (weight.gradientDestination, bias.gradientDestination))
            let dg = try local.dGamma.toArray(), db = try local.dBeta.toArray()
            let rows = Double(x.shape[0] * x.shape[2] * x.shape[3])
            var sums = dg.map(Double.init) + db.map(Double.init) + [rows]
            sum(&sums)
            let c = dg.count, share = rows / sums[2 * c]
            let dx = try Ops.batchNorm2dBackwardInput(dy, x: x, gamma: weight.value, beta: bias.value, saved: saved,
                                                      dGamma: Tensor(sums[0..<c].map { Float($0 * share) }, shape: [c], on: x.device),
                                                      dBeta: Tensor(sums[c..<(2 * c)].map { Float($0 * share) }, shape: [c], on: x.device))
            weight.gradient = local.dGamma; bias.gradient = local.dBeta
            return dx
        }
        let g = try Ops.batchNorm2dBackward(dy, x: x, gamma: weight.value, beta: bias.value, saved: saved, relu: relu,
                                            into: (weight.gradientDestination, bias.gradientDestination))
        weight.gradient = g.dGamma; bias.gradient = g.dBeta
        return g.dx
    }

    /// Training-mode forward with the statistics of every process's rows: per-channel sums and
    /// sums of squares (float64) summed across processes, then normalised with them; the running
    /// statistics move as in the unsynchronised layer (unbiased variance of all rows).
    func synchronisedForward(_ x: Tensor, sum: (inout [Double]) -> Void) throws -> Tensor {
        guard x.rank == 4 else { throw TensorError.invalidShape(op: "BatchNorm2d", shape: x.shape, expected: "[N, C, H, W]") }
        let n = x.shape[0], c = x.shape[1], plane = x.shape[2] * x.shape[3]
        let values = try x.toArray()
        var sums = [Double](repeating: 0, count: 2 * c + 1)
        for i in 0..<n {
            for ch in 0..<c {
                var s = 0.0, q = 0.0
                let base = (i * c + ch) * plane
                for k in 0..<plane { let v = Double(values[base + k]); s += v; q += v * v }
                sums[ch] += s; sums[c + ch] += q
            }
        }
        sums[2 * c] = Double(n * plane)
        sum(&sums)
        let count = sums[2 * c]
        let mean = (0..<c).map { sums[$0] / count }
        let variance = (0..<c).map { max(0, sums[c + $0] / count - mean[$0] * mean[$0]) }
        let meanT = try Tensor(mean.map(Float.init), shape: [c], on: x.device)
        let varT = try Tensor(variance.map(Float.init), shape: [c], on: x.device)
        let y = try Ops.batchNorm2dForwardEval(x, gamma: weight.value, beta: bias.value, runningMean: meanT, runningVar: varT, eps: eps)
        saved = Ops.BatchNormSaved(mean: meanT, invStd: try Tensor(variance.map { Float(1 / ($0 + Double(eps)).squareRoot()) }, shape: [c], on: x.device))
        input = x
        let m = Double(momentum), unbiased = count > 1 ? count / (count - 1) : 1
        let rm = try runningMean.value.toArray(), rv = try runningVar.value.toArray()
        runningMean.value = try Tensor((0..<c).map { Float((1 - m) * Double(rm[$0]) + m * mean[$0]) }, shape: [c], on: x.device)
        runningVar.value = try Tensor((0..<c).map { Float((1 - m) * Double(rv[$0]) + m * variance[$0] * unbiased) }, shape: [c], on: x.device)
        guard relu else { return y }
        let out = try Ops.reluForward(y)
        reluOutput = out
        return out
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [Parameter] { [runningMean, runningVar] }
}

public final class ReLU: Layer {
    private var output: Tensor?
    public init() {}
    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        let y = try Ops.reluForward(x)
        if training { output = y }
        return y
    }
    public func backward(_ dy: Tensor) throws -> Tensor {
        guard let y = output else { throw ModelError.backwardBeforeForward("relu") }
        output = nil
        return try Ops.reluBackward(dy, output: y)
    }
    public var parameters: [Parameter] { [] }
}

public final class MaxPool2d: Layer {
    public let kernel: Int, stride: Int, padding: Int
    private var argmax: Tensor?, inputShape: [Int] = []
    public init(kernel: Int, stride: Int, padding: Int = 0) { self.kernel = kernel; self.stride = stride; self.padding = padding }
    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        let r = try Ops.maxPool2dForward(x, kernel: kernel, stride: stride, padding: padding)
        if training { argmax = r.argmax; inputShape = x.shape }
        return r.y
    }
    public func backward(_ dy: Tensor) throws -> Tensor {
        guard let a = argmax else { throw ModelError.backwardBeforeForward("maxpool") }
        argmax = nil
        return try Ops.maxPool2dBackward(dy, argmax: a, inputShape: inputShape, kernel: kernel, stride: stride, padding: padding)
    }
    public var parameters: [Parameter] { [] }
}

/// Global average pooling followed by flattening: [N, C, H, W] -> [N, C].
public final class GlobalAvgPool: Layer {
    private var inputShape: [Int] = []
    public init() {}
    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        inputShape = x.shape
        return try Ops.globalAvgPoolForward(x)
    }
    public func backward(_ dy: Tensor) throws -> Tensor { try Ops.globalAvgPoolBackward(dy, inputShape: inputShape) }
    public var parameters: [Parameter] { [] }
}

/// Fully connected layer, PyTorch layout weight [out, in]; uniform(±1/sqrt(in)) init.
public final class Linear: Layer {
    public let weight: Parameter, bias: Parameter
    private var input: Tensor?
    public init(_ name: String, inFeatures: Int, outFeatures: Int, device: Device, seed: UInt64) throws {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Parameter(name: name + ".weight", value: try Tensor(Initializer.uniform(outFeatures * inFeatures, bound: bound, seed: seed, name: name + ".weight"),
                                                                    shape: [outFeatures, inFeatures], on: device))
        bias = Parameter(name: name + ".bias", value: try Tensor(Initializer.uniform(outFeatures, bound: bound, seed: seed, name: name + ".bias"),
                                                                shape: [outFeatures], on: device))
    }
    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        if training { input = x }
        return try Ops.linearForward(x, weight: weight.value, bias: bias.value)
    }
    public func backward(_ dy: Tensor) throws -> Tensor {
        guard let x = input else { throw ModelError.backwardBeforeForward(weight.name) }
        let g = try Ops.linearBackward(dy, x: x, weight: weight.value, hasBias: true,
                                       into: (weight.gradientDestination, bias.gradientDestination))
        weight.gradient = g.dWeight; bias.gradient = g.dBias
        input = nil
        return g.dx
    }
    public var parameters: [Parameter] { [weight, bias] }
}

/// Layers applied in order; backward in reverse.
public final class Sequential: Layer {
    public var layers: [Layer]
    public init(_ layers: [Layer]) { self.layers = layers }
    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        var h = x
        var i = 0
        while i < layers.count {
            // Inference: a bias-free convolution, its batch norm and a ReLU after them run as one convolution.
            let reluLayerFollows = i + 2 < layers.count && layers[i + 2] is ReLU
            if !training, let conv = layers[i] as? Conv2d, i + 1 < layers.count, let bn = layers[i + 1] as? BatchNorm2d,
               let y = try conv.inferenceWithBatchNorm(h, bn, relu: bn.relu || reluLayerFollows) {
                i += reluLayerFollows ? 3 : 2
                h = y
                continue
            }
            h = try layers[i].forward(h, training: training)
            i += 1
        }
        return h
    }
    public func backward(_ dy: Tensor) throws -> Tensor {
        var g = dy
        for l in layers.reversed() { g = try l.backward(g) }
        return g
    }
    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    public var buffers: [Parameter] { layers.flatMap(\.buffers) }
}

/// The ResNet basic block: conv3x3-bn-relu-conv3x3-bn, plus the identity (or a 1x1 conv-bn
/// downsample), then relu.
public final class BasicBlock: Layer {
    let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d
    let downsample: Sequential?
    private var output: Tensor?

    public init(_ name: String, inChannels: Int, outChannels: Int, stride: Int, device: Device, seed: UInt64) throws {
        conv1 = try Conv2d(name + ".conv1", inChannels: inChannels, outChannels: outChannels, kernel: 3, stride: stride, padding: 1, device: device, seed: seed)
        bn1 = try BatchNorm2d(name + ".bn1", channels: outChannels, relu: true, device: device)
        conv2 = try Conv2d(name + ".conv2", inChannels: outChannels, outChannels: outChannels, kernel: 3, stride: 1, padding: 1, device: device, seed: seed)
        bn2 = try BatchNorm2d(name + ".bn2", channels: outChannels, device: device)
        if stride != 1 || inChannels != outChannels {
            downsample = Sequential([
                try Conv2d(name + ".downsample.0", inChannels: inChannels, outChannels: outChannels, kernel: 1, stride: stride, device: device, seed: seed),
                try BatchNorm2d(name + ".downsample.1", channels: outChannels, device: device),
            ])
        } else { downsample = nil }
    }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        if !training, let h1 = try conv1.inferenceWithBatchNorm(x, bn1, relu: true), let h2 = try conv2.inferenceWithBatchNorm(h1, bn2, relu: false) {
            let identity = try downsample?.forward(x, training: false) ?? x
            return try Ops.reluForward(try Ops.add(h2, identity))
        }
        var h = try conv1.forward(x, training: training)
        h = try bn1.forward(h, training: training)
        h = try conv2.forward(h, training: training)
        h = try bn2.forward(h, training: training)
        let identity = try downsample?.forward(x, training: training) ?? x
        let y = try Ops.reluForward(try Ops.add(h, identity))
        if training { output = y }
        return y
    }

    public func backward(_ dy: Tensor) throws -> Tensor {
        guard let y = output else { throw ModelError.backwardBeforeForward("basic block") }
        output = nil
        let dsum = try Ops.reluBackward(dy, output: y)
        var g = try bn2.backward(dsum)
        g = try conv2.backward(g)
        g = try bn1.backward(g)
        g = try conv1.backward(g)
        let dIdentity = try downsample?.backward(dsum) ?? dsum
        try Ops.axpy(1, dIdentity, into: g)
        return g
    }

    public var parameters: [Parameter] { conv1.parameters + bn1.parameters + conv2.parameters + bn2.parameters + (downsample?.parameters ?? []) }
    public var buffers: [Parameter] { bn1.buffers + bn2.buffers + (downsample?.buffers ?? []) }
}
