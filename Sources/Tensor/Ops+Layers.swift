// Pooling, batch normalization, softmax, losses, optimizer updates, random numbers, overlays.

extension Ops {
    // MARK: pooling

    /// Max pooling over NCHW; returns the output and the argmax indices needed by the backward pass.
    public static func maxPool2dForward(_ x: Tensor, kernel: Int, stride: Int, padding: Int = 0) throws -> (y: Tensor, argmax: Tensor) {
        guard x.rank == 4 else { throw TensorError.invalidShape(op: "maxPool2dForward", shape: x.shape, expected: "[N, C, H, W]") }
        let g = PoolGeometry(planes: x.shape[0] * x.shape[1], height: x.shape[2], width: x.shape[3], kernel: kernel, stride: stride, padding: padding)
        guard g.outHeight > 0, g.outWidth > 0, padding * 2 <= kernel else {
            throw TensorError.invalidArgument(op: "maxPool2dForward", reason: "kernel \(kernel), stride \(stride), padding \(padding) do not fit input \(x.shape)")
        }
        let shape = [x.shape[0], x.shape[1], g.outHeight, g.outWidth]
        let y = try Tensor.empty(shape, on: x.device), argmax = try Tensor.empty(shape, on: x.device)
        try x.device.backend.maxpoolForward(g, x: x.storage, y: y.storage, argmax: argmax.storage)
        return (y, argmax)
    }

    public static func maxPool2dBackward(_ dy: Tensor, argmax: Tensor, inputShape: [Int], kernel: Int, stride: Int, padding: Int = 0) throws -> Tensor {
        try dy.requireSameShape("maxPool2dBackward", argmax)
        let g = PoolGeometry(planes: inputShape[0] * inputShape[1], height: inputShape[2], width: inputShape[3], kernel: kernel, stride: stride, padding: padding)
        guard dy.shape == [inputShape[0], inputShape[1], g.outHeight, g.outWidth] else {
            throw TensorError.shapeMismatch(op: "maxPool2dBackward", lhs: dy.shape, rhs: inputShape)
        }
        let dx = try Tensor.empty(inputShape, on: dy.device)
        try dy.device.backend.maxpoolBackward(g, dy: dy.storage, argmax: argmax.storage, dx: dx.storage)
        return dx
    }

    /// Global average pooling: [N, C, H, W] -> [N, C].
    public static func globalAvgPoolForward(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4 else { throw TensorError.invalidShape(op: "globalAvgPoolForward", shape: x.shape, expected: "[N, C, H, W]") }
        let y = try Tensor.empty([x.shape[0], x.shape[1]], on: x.device)
        try x.device.backend.globalAvgpoolForward(planes: x.shape[0] * x.shape[1], plane: x.shape[2] * x.shape[3], x: x.storage, y: y.storage)
        return y
    }

    public static func globalAvgPoolBackward(_ dy: Tensor, inputShape: [Int]) throws -> Tensor {
        guard inputShape.count == 4, dy.shape == [inputShape[0], inputShape[1]] else {
            throw TensorError.shapeMismatch(op: "globalAvgPoolBackward", lhs: dy.shape, rhs: inputShape)
        }
        let dx = try Tensor.empty(inputShape, on: dy.device)
        try dy.device.backend.globalAvgpoolBackward(planes: dy.count, plane: inputShape[2] * inputShape[3], dy: dy.storage, dx: dx.storage)
        return dx
    }

    // MARK: batch norm

    public struct BatchNormSaved {
        public let mean: Tensor; public let invStd: Tensor
        public init(mean: Tensor, invStd: Tensor) { self.mean = mean; self.invStd = invStd }
    }

    /// Training-mode batch norm over NCHW: batch statistics per channel; updates running mean
    /// and (unbiased) variance in place with `momentum`. `relu`: a ReLU fused after it (one pass
    /// over the tensor instead of two; its backward needs no saved output).
    public static func batchNorm2dForwardTrain(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                               eps: Float = 1e-5, momentum: Float = 0.1, relu: Bool = false) throws -> (y: Tensor, saved: BatchNormSaved) {
        let c = try batchNormChannels("batchNorm2dForwardTrain", x, gamma, beta, runningMean, runningVar)
        let y = try Tensor.empty(x.shape, on: x.device)
        let mean = try Tensor.empty([c], on: x.device), inv = try Tensor.empty([c], on: x.device)
        try x.device.backend.batchnormForwardTrain(n: x.shape[0], c: c, plane: x.shape[2] * x.shape[3], eps: eps, momentum: momentum, relu: relu,
                                                   x: x.storage, y: y.storage, gamma: gamma.storage, beta: beta.storage,
                                                   runningMean: runningMean.storage, runningVar: runningVar.storage,
                                                   savedMean: mean.storage, savedInvStd: inv.storage)
        return (y, BatchNormSaved(mean: mean, invStd: inv))
    }

    /// Evaluation-mode batch norm with the running statistics.
    public static func batchNorm2dForwardEval(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, eps: Float = 1e-5) throws -> Tensor {
        let c = try batchNormChannels("batchNorm2dForwardEval", x, gamma, beta, runningMean, runningVar)
        let y = try Tensor.empty(x.shape, on: x.device)
        try x.device.backend.batchnormForwardEval(n: x.shape[0], c: c, plane: x.shape[2] * x.shape[3], eps: eps, x: x.storage, y: y.storage,
                                                  gamma: gamma.storage, beta: beta.storage, runningMean: runningMean.storage, runningVar: runningVar.storage)
        return y
    }

    /// Gradients of training-mode batch norm: input, gamma and beta. With `relu` (fused in the
    /// forward, same gamma and beta), `dy` is the gradient of the ReLU's output.
    /// The parameters' gradients are written to `gradients` when given (else to new tensors).
    public static func batchNorm2dBackward(_ dy: Tensor, x: Tensor, gamma: Tensor, beta: Tensor, saved: BatchNormSaved, relu: Bool = false,
                                           into gradients: (gamma: Tensor?, beta: Tensor?) = (nil, nil)) throws -> (dx: Tensor, dGamma: Tensor, dBeta: Tensor) {
        let (dg, db) = try batchNorm2dBackwardReduce(dy, x: x, gamma: gamma, beta: beta, saved: saved, relu: relu, into: gradients)
        let dx = try batchNorm2dBackwardInput(dy, x: x, gamma: gamma, beta: beta, saved: saved, dGamma: dg, dBeta: db, relu: relu)
        return (dx, dg, db)
    }

    /// The two halves of `batchNorm2dBackward`, for batch norm synchronised across processes:
    /// the per-channel sums dGamma = Σ dy·x̂ and dBeta = Σ dy of this process's rows …
    public static func batchNorm2dBackwardReduce(_ dy: Tensor, x: Tensor, gamma: Tensor, beta: Tensor, saved: BatchNormSaved, relu: Bool = false,
                                                 into gradients: (gamma: Tensor?, beta: Tensor?) = (nil, nil)) throws -> (dGamma: Tensor, dBeta: Tensor) {
        let op = "batchNorm2dBackwardReduce"
        try dy.requireSameShape(op, x)
        let c = try batchNormChannels(op, x, gamma, beta, saved.mean, saved.invStd)
        let dg = try Tensor.output(op, [c], on: x.device, into: gradients.gamma), db = try Tensor.output(op, [c], on: x.device, into: gradients.beta)
        try x.device.backend.batchnormBackwardReduce(n: x.shape[0], c: c, plane: x.shape[2] * x.shape[3], relu: relu, x: x.storage, dy: dy.storage,
                                                     gamma: gamma.storage, beta: beta.storage, savedMean: saved.mean.storage,
                                                     savedInvStd: saved.invStd.storage, dgamma: dg.storage, dbeta: db.storage)
        return (dg, db)
    }

    /// … and dx from sums over the rows normalised together: `dGamma`, `dBeta` are those sums
    /// scaled by (this process's rows / all rows), so the per-row means come out right.
    public static func batchNorm2dBackwardInput(_ dy: Tensor, x: Tensor, gamma: Tensor, beta: Tensor, saved: BatchNormSaved, dGamma: Tensor, dBeta: Tensor,
                                                relu: Bool = false) throws -> Tensor {
        try dy.requireSameShape("batchNorm2dBackwardInput", x)
        let c = try batchNormChannels("batchNorm2dBackwardInput", x, gamma, beta, saved.mean, saved.invStd, dGamma, dBeta)
        let dx = try Tensor.empty(x.shape, on: x.device)
        try x.device.backend.batchnormBackwardInput(n: x.shape[0], c: c, plane: x.shape[2] * x.shape[3], relu: relu, x: x.storage, dy: dy.storage,
                                                    gamma: gamma.storage, beta: beta.storage, savedMean: saved.mean.storage, savedInvStd: saved.invStd.storage,
                                                    dgamma: dGamma.storage, dbeta: dBeta.storage, dx: dx.storage)
        return dx
    }

    static func batchNormChannels(_ op: String, _ x: Tensor, _ params: Tensor...) throws -> Int {
        guard x.rank == 4 else { throw TensorError.invalidShape(op: op, shape: x.shape, expected: "[N, C, H, W]") }
        for p in params {
            try x.requireDevice(op, p)
            guard p.shape == [x.shape[1]] else { throw TensorError.shapeMismatch(op: op, lhs: x.shape, rhs: p.shape) }
        }
        return x.shape[1]
    }

    // MARK: softmax and losses

    public static func logSoftmaxForward(_ x: Tensor) throws -> Tensor {
        guard x.rank == 2 else { throw TensorError.invalidShape(op: "logSoftmaxForward", shape: x.shape, expected: "[rows, classes]") }
        let y = try Tensor.empty(x.shape, on: x.device)
        try x.device.backend.logSoftmaxForward(rows: x.shape[0], cols: x.shape[1], x: x.storage, y: y.storage)
        return y
    }

    public static func logSoftmaxBackward(_ dy: Tensor, output y: Tensor) throws -> Tensor {
        try dy.requireSameShape("logSoftmaxBackward", y)
        let dx = try Tensor.empty(y.shape, on: y.device)
        try y.device.backend.logSoftmaxBackward(rows: y.shape[0], cols: y.shape[1], y: y.storage, dy: dy.storage, dx: dx.storage)
        return dx
    }

    /// Softmax cross-entropy for single-target rows (targets one-hot or probabilities), mean over
    /// rows; returns the loss and its gradient with respect to the logits.
    public static func softmaxCrossEntropy(logits: Tensor, targets: Tensor) throws -> (loss: Float, gradient: Tensor) {
        let (loss, dx) = try softmaxCrossEntropyOnDevice(logits: logits, targets: targets)
        return (try loss.toArray()[0], dx)
    }

    /// As `softmaxCrossEntropy`, the mean loss left on the device as a one-element tensor (no read).
    public static func softmaxCrossEntropyOnDevice(logits: Tensor, targets: Tensor) throws -> (loss: Tensor, gradient: Tensor) {
        try logits.requireSameShape("softmaxCrossEntropy", targets)
        guard logits.rank == 2 else { throw TensorError.invalidShape(op: "softmaxCrossEntropy", shape: logits.shape, expected: "[rows, classes]") }
        let rows = logits.shape[0]
        let rowLoss = try Tensor.empty([rows], on: logits.device), dx = try Tensor.empty(logits.shape, on: logits.device)
        try logits.device.backend.softmaxCrossEntropy(rows: rows, cols: logits.shape[1], x: logits.storage, target: targets.storage,
                                                      rowLoss: rowLoss.storage, dx: dx.storage)
        return (try mean(rowLoss), dx)
    }

    /// Binary cross-entropy with logits (multi-target), mean over all elements; loss and gradient.
    public static func bceWithLogits(logits: Tensor, targets: Tensor) throws -> (loss: Float, gradient: Tensor) {
        let (loss, dx) = try bceWithLogitsOnDevice(logits: logits, targets: targets)
        return (try loss.toArray()[0], dx)
    }

    /// As `bceWithLogits`, the mean loss left on the device as a one-element tensor (no read).
    public static func bceWithLogitsOnDevice(logits: Tensor, targets: Tensor) throws -> (loss: Tensor, gradient: Tensor) {
        try logits.requireSameShape("bceWithLogits", targets)
        let loss = try Tensor.empty(logits.shape, on: logits.device), dx = try Tensor.empty(logits.shape, on: logits.device)
        try logits.device.backend.bceWithLogits(count: logits.count, x: logits.storage, target: targets.storage, loss: loss.storage, dx: dx.storage)
        return (try mean(loss), dx)
    }

    /// The mean of all elements as a one-element tensor on the same device (no read).
    static func mean(_ x: Tensor) throws -> Tensor {
        let out = try Tensor.empty([1], on: x.device)
        try x.device.backend.reduceSum(count: x.count, x: x.storage, out: out.storage)
        try x.device.backend.scale(out.storage, count: 1, alpha: 1 / Float(x.count))
        return out
    }

    // MARK: optimizer updates (in place)

    /// SGD with momentum and L2 weight decay (PyTorch semantics).
    public static func sgdUpdate(weight: Tensor, gradient: Tensor, velocity: Tensor, learningRate: Float, momentum: Float, weightDecay: Float) throws {
        try weight.requireSameShape("sgdUpdate", gradient)
        try weight.requireSameShape("sgdUpdate", velocity)
        try weight.device.backend.sgdUpdate(count: weight.count, learningRate: learningRate, momentum: momentum, weightDecay: weightDecay,
                                            w: weight.storage, g: gradient.storage, v: velocity.storage)
    }

    /// AdamW (decoupled weight decay); `step` counts from 1.
    public static func adamwUpdate(weight: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor, step: Int,
                                   learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) throws {
        try weight.requireSameShape("adamwUpdate", gradient)
        try weight.requireSameShape("adamwUpdate", firstMoment)
        try weight.requireSameShape("adamwUpdate", secondMoment)
        let bc1 = 1 - Float(Foundation.pow(Double(beta1), Double(step)))
        let bc2 = 1 - Float(Foundation.pow(Double(beta2), Double(step)))
        try weight.device.backend.adamwUpdate(count: weight.count, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps,
                                              weightDecay: weightDecay, biasCorrection1: bc1, biasCorrection2: bc2,
                                              w: weight.storage, g: gradient.storage, m: firstMoment.storage, v: secondMoment.storage)
    }

    // MARK: random numbers (counter-based: identical on every device)

    public static func randomUniform(_ shape: [Int], seed: UInt64, offset: UInt64 = 0, low: Float = 0, high: Float = 1, on device: Device) throws -> Tensor {
        let x = try Tensor.empty(shape, on: device)
        try device.backend.randomUniform(count: x.count, seed: seed, offset: offset, low: low, high: high, x: x.storage)
        return x
    }

    public static func randomNormal(_ shape: [Int], seed: UInt64, offset: UInt64 = 0, mean: Float = 0, std: Float = 1, on device: Device) throws -> Tensor {
        let x = try Tensor.empty(shape, on: device)
        try device.backend.randomNormal(count: x.count, seed: seed, offset: offset, mean: mean, std: std, x: x.storage)
        return x
    }

    // MARK: overlays

    /// Per-sample overlay averaging: `out[b] = (1 - w[b]) * samples[b] + w[b] * overlays[b]`.
    public static func overlayBlend(samples: Tensor, overlays: Tensor, weights: Tensor) throws -> Tensor {
        try samples.requireSameShape("overlayBlend", overlays)
        guard weights.shape == [samples.shape[0]] else { throw TensorError.shapeMismatch(op: "overlayBlend", lhs: samples.shape, rhs: weights.shape) }
        let out = try Tensor.empty(samples.shape, on: samples.device)
        try samples.device.backend.overlayBlend(batch: samples.shape[0], size: samples.count / max(samples.shape[0], 1), a: samples.storage,
                                                overlay: overlays.storage, weights: weights.storage, out: out.storage)
        return out
    }

    /// Time/frequency masks filled with each sample's mean, Gaussian noise, and translation (fill 0)
    /// of a batch [B, 1, H, W] (or [B, H, W]); `parameters` is [B, augmentParameterCount] (see kernels.cl).
    /// Sets each sample's bar fills in `parameters` (in place, on the device) from its image: every
    /// bar is filled with the image's mean as it is when the bar is drawn, as the reference does.
    public static func augmentBarFills(_ x: Tensor, parameters: Tensor) throws {
        guard x.rank >= 3, parameters.shape == [x.shape[0], augmentParameterCount] else {
            throw TensorError.shapeMismatch(op: "augmentBarFills", lhs: x.shape, rhs: parameters.shape)
        }
        try x.requireDevice("augmentBarFills", parameters)
        let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1]
        guard x.count == x.shape[0] * h * w else { throw TensorError.invalidShape(op: "augmentBarFills", shape: x.shape, expected: "one channel") }
        try x.device.backend.augmentBarFills(batch: x.shape[0], height: h, width: w, x: x.storage, params: parameters.storage)
    }

    public static func augmentSpectrogram(_ x: Tensor, parameters: Tensor, seed: UInt64, offset: UInt64 = 0) throws -> Tensor {
        guard x.rank >= 3, parameters.shape == [x.shape[0], augmentParameterCount] else {
            throw TensorError.shapeMismatch(op: "augmentSpectrogram", lhs: x.shape, rhs: parameters.shape)
        }
        try x.requireDevice("augmentSpectrogram", parameters)
        let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1]
        guard x.count == x.shape[0] * h * w else { throw TensorError.invalidShape(op: "augmentSpectrogram", shape: x.shape, expected: "one channel") }
        let y = try Tensor.empty(x.shape, on: x.device)
        try x.device.backend.augmentSpectrogram(batch: x.shape[0], height: h, width: w, seed: seed, offset: offset,
                                                x: x.storage, params: parameters.storage, y: y.storage)
        return y
    }

    /// Per-sample level change of images in [-1, 1]: `clamp(x + offsets[b], -1, 1)`.
    public static func gainShift(_ x: Tensor, offsets: Tensor) throws -> Tensor {
        guard offsets.shape == [x.shape[0]] else { throw TensorError.shapeMismatch(op: "gainShift", lhs: x.shape, rhs: offsets.shape) }
        try x.requireDevice("gainShift", offsets)
        let y = try Tensor.empty(x.shape, on: x.device)
        try x.device.backend.gainShift(batch: x.shape[0], size: x.count / max(1, x.shape[0]), x: x.storage, offsets: offsets.storage, y: y.storage)
        return y
    }

    /// Audio augmentation of waveforms [B, L]: gain, overlay mixing (`overlays` [B, L], rounds
    /// pre-combined), noise, wrap and time masks as drawn in `parameters` [B, waveformAugmentParameterCount]
    /// (see `augment_waveform` in kernels.cl).
    public static func augmentWaveform(_ x: Tensor, overlays: Tensor, parameters: Tensor, seed: UInt64, offset: UInt64 = 0) throws -> Tensor {
        guard x.rank == 2 else { throw TensorError.invalidShape(op: "augmentWaveform", shape: x.shape, expected: "[batch, samples]") }
        try x.requireSameShape("augmentWaveform", overlays)
        guard parameters.shape == [x.shape[0], waveformAugmentParameterCount] else {
            throw TensorError.shapeMismatch(op: "augmentWaveform", lhs: x.shape, rhs: parameters.shape)
        }
        guard x.shape[1] < 1 << 24 else { throw TensorError.invalidShape(op: "augmentWaveform", shape: x.shape, expected: "fewer than 2^24 samples per clip") }
        try x.requireDevice("augmentWaveform", overlays, parameters)
        let y = try Tensor.empty(x.shape, on: x.device)
        try x.device.backend.augmentWaveform(batch: x.shape[0], length: x.shape[1], seed: seed, offset: offset, x: x.storage,
                                             overlay: overlays.storage, params: parameters.storage, y: y.storage)
        return y
    }

    /// Label union for overlaid samples: `max(labels, overlayLabels)` where `apply[b] > 0.5`.
    public static func overlayLabelUnion(labels: Tensor, overlayLabels: Tensor, apply: Tensor) throws -> Tensor {
        try labels.requireSameShape("overlayLabelUnion", overlayLabels)
        guard labels.rank == 2, apply.shape == [labels.shape[0]] else { throw TensorError.shapeMismatch(op: "overlayLabelUnion", lhs: labels.shape, rhs: apply.shape) }
        let out = try Tensor.empty(labels.shape, on: labels.device)
        try labels.device.backend.overlayLabelUnion(batch: labels.shape[0], classes: labels.shape[1], labels: labels.storage,
                                                    overlayLabels: overlayLabels.storage, apply: apply.storage, out: out.storage)
        return out
    }
}

import Foundation
