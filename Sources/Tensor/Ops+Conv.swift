/// Convolution (NCHW, weights OIHW) as im2col + GEMM over chunks of images: the default of every
/// backend, and the reference the CPU backend's oneDNN convolutions are tested against. The column
/// matrix of a chunk is laid out [C*KH*KW, images*OH*OW] so one GEMM covers the whole chunk;
/// chunks bound the column memory (`Ops.columnBudget` floats).
extension Backend {
    public func conv2dForward(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, y: Storage) throws {
        try im2colConv2dForward(g, images: n, outChannels: oc, x: x, w: w, y: y)
    }

    public func conv2dBackward(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, dy: Storage,
                               dx: Storage?, dw: Storage) throws {
        try im2colConv2dBackward(g, images: n, outChannels: oc, x: x, w: w, dy: dy, dx: dx, dw: dw)
    }

    public func conv2dForwardBiasActivation(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, bias: Storage,
                                            relu: Bool, y: Storage) throws {
        try conv2dForward(g, images: n, outChannels: oc, x: x, w: w, y: y)
        try biasActivation(g, images: n, outChannels: oc, bias: bias, relu: relu, y: y)
    }

    /// y += bias[O], then ReLU in place when `relu`.
    func biasActivation(_ g: ConvGeometry, images n: Int, outChannels oc: Int, bias: Storage, relu: Bool, y: Storage) throws {
        let count = n * oc * g.outHeight * g.outWidth
        try biasAddForward(count: count, channels: oc, inner: g.outHeight * g.outWidth, x: y, bias: bias)
        if relu { try reluForward(count: count, x: y, y: y) }
    }

    static func chunkSize(_ g: ConvGeometry, batch: Int) -> Int {
        max(1, min(batch, Ops.columnBudget / max(1, g.columnRows * g.outHeight * g.outWidth)))
    }

    public func im2colConv2dForward(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, y: Storage) throws {
        let P = g.outHeight * g.outWidth, K = g.columnRows
        let chunk = Self.chunkSize(g, batch: n)
        let col = try allocate(K * chunk * P)
        let tmp = chunk > 1 ? try allocate(oc * chunk * P) : nil
        var n0 = 0
        while n0 < n {
            let cnt = min(chunk, n - n0)
            try im2col(g, firstImage: n0, images: cnt, x: x, col: col)
            if cnt == 1 {
                try gemm(transposeA: false, transposeB: false, m: oc, n: P, k: K, alpha: 1,
                         a: w, offsetA: 0, lda: K, strideA: 0, b: col, offsetB: 0, ldb: P, strideB: 0,
                         beta: 0, c: y, offsetC: n0 * oc * P, ldc: P, strideC: 0, batch: 1)
            } else {
                try gemm(transposeA: false, transposeB: false, m: oc, n: cnt * P, k: K, alpha: 1,
                         a: w, offsetA: 0, lda: K, strideA: 0, b: col, offsetB: 0, ldb: cnt * P, strideB: 0,
                         beta: 0, c: tmp!, offsetC: 0, ldc: cnt * P, strideC: 0, batch: 1)
                try cnhwToNchw(firstImage: n0, images: cnt, channels: oc, plane: P, y: tmp!, x: y)
            }
            n0 += cnt
        }
    }

    public func im2colConv2dBackward(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, dy: Storage,
                                     dx: Storage?, dw: Storage) throws {
        let P = g.outHeight * g.outWidth, K = g.columnRows
        let chunk = Self.chunkSize(g, batch: n)
        let col = try allocate(K * chunk * P)
        let dyc = chunk > 1 ? try allocate(oc * chunk * P) : nil
        var n0 = 0
        while n0 < n {
            let cnt = min(chunk, n - n0)
            // dY of the chunk as [O, cnt*P]
            let dyStorage: Storage, dyOffset: Int
            if cnt == 1 {
                dyStorage = dy; dyOffset = n0 * oc * P
            } else {
                try nchwToCnhw(firstImage: n0, images: cnt, channels: oc, plane: P, x: dy, y: dyc!)
                dyStorage = dyc!; dyOffset = 0
            }
            // dW += dY_c x col^T
            try im2col(g, firstImage: n0, images: cnt, x: x, col: col)
            try gemm(transposeA: false, transposeB: true, m: oc, n: K, k: cnt * P, alpha: 1,
                     a: dyStorage, offsetA: dyOffset, lda: cnt * P, strideA: 0, b: col, offsetB: 0, ldb: cnt * P, strideB: 0,
                     beta: n0 == 0 ? 0 : 1, c: dw, offsetC: 0, ldc: K, strideC: 0, batch: 1)
            if let dx {
                // dcol = W^T x dY_c, then scatter back to the image.
                try gemm(transposeA: true, transposeB: false, m: K, n: cnt * P, k: oc, alpha: 1,
                         a: w, offsetA: 0, lda: K, strideA: 0, b: dyStorage, offsetB: dyOffset, ldb: cnt * P, strideB: 0,
                         beta: 0, c: col, offsetC: 0, ldc: cnt * P, strideC: 0, batch: 1)
                try col2im(g, firstImage: n0, images: cnt, col: col, dx: dx)
            }
            n0 += cnt
        }
    }
}

/// Convolution ops: shapes checked here, the arithmetic done by the device's backend.
extension Ops {
    /// Largest column matrix (floats) built at once by the im2col path; larger batches are processed in chunks.
    nonisolated(unsafe) public static var columnBudget = 32 << 20

    static func convGeometry(_ op: String, x: [Int], w: [Int], stride: Int, padding: Int) throws -> ConvGeometry {
        guard x.count == 4, w.count == 4, x[1] == w[1] else { throw TensorError.shapeMismatch(op: op, lhs: x, rhs: w) }
        guard stride >= 1, padding >= 0 else { throw TensorError.invalidArgument(op: op, reason: "stride \(stride) and padding \(padding) must be >= 1 and >= 0") }
        let g = ConvGeometry(channels: x[1], height: x[2], width: x[3], kernelH: w[2], kernelW: w[3], stride: stride, padding: padding)
        guard g.outHeight > 0, g.outWidth > 0 else {
            throw TensorError.invalidArgument(op: op, reason: "kernel \(w[2])x\(w[3]) larger than padded input \(x[2])x\(x[3])")
        }
        return g
    }

    /// y[N, O, OH, OW] = conv(x[N, C, H, W], w[O, C, KH, KW]) + bias[O].
    public static func conv2dForward(_ x: Tensor, weight w: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) throws -> Tensor {
        let op = "conv2dForward"
        try x.requireDevice(op, w)
        let g = try convGeometry(op, x: x.shape, w: w.shape, stride: stride, padding: padding)
        let n = x.shape[0], oc = w.shape[0]
        if let bias, bias.shape != [oc] { throw TensorError.shapeMismatch(op: op, lhs: w.shape, rhs: bias.shape) }
        let y = try Tensor.empty([n, oc, g.outHeight, g.outWidth], on: x.device)
        try x.device.backend.conv2dForward(g, images: n, outChannels: oc, x: x.storage, w: w.storage, y: y.storage)
        if let bias { try biasAddForward(y, bias: bias) }
        return y
    }

    /// Inference through a bias-free convolution, the batch norm after it (running statistics)
    /// and optionally a ReLU, as one convolution: the batch norm folded into the weights and a
    /// bias, and on the CPU fallback bias and ReLU fused into oneDNN's convolution.
    public static func conv2dBatchNormInference(_ x: Tensor, weight w: Tensor, stride: Int, padding: Int, gamma: Tensor, beta: Tensor,
                                                runningMean: Tensor, runningVar: Tensor, eps: Float, relu: Bool) throws -> Tensor {
        let op = "conv2dBatchNormInference"
        try x.requireDevice(op, w, gamma, beta, runningMean, runningVar)
        let g = try convGeometry(op, x: x.shape, w: w.shape, stride: stride, padding: padding)
        let n = x.shape[0], oc = w.shape[0]
        for t in [gamma, beta, runningMean, runningVar] where t.shape != [oc] {
            throw TensorError.shapeMismatch(op: op, lhs: w.shape, rhs: t.shape)
        }
        let be = x.device.backend
        let folded = try Tensor.empty(w.shape, on: x.device), bias = try Tensor.empty([oc], on: x.device)
        try be.batchnormFold(outChannels: oc, inner: w.count / oc, eps: eps, w: w.storage, gamma: gamma.storage, beta: beta.storage,
                             runningMean: runningMean.storage, runningVar: runningVar.storage, foldedW: folded.storage, foldedBias: bias.storage)
        let y = try Tensor.empty([n, oc, g.outHeight, g.outWidth], on: x.device)
        try be.conv2dForwardBiasActivation(g, images: n, outChannels: oc, x: x.storage, w: folded.storage, bias: bias.storage, relu: relu, y: y.storage)
        return y
    }

    /// Gradients of `conv2dForward` with respect to the input and the weights, and the bias when
    /// `hasBias`; the parameters' are written to `gradients` when given (else to new tensors).
    public static func conv2dBackward(_ dy: Tensor, x: Tensor, weight w: Tensor, stride: Int = 1, padding: Int = 0,
                                      needInput: Bool = true, hasBias: Bool = false,
                                      into gradients: (weight: Tensor?, bias: Tensor?) = (nil, nil)) throws -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?) {
        let op = "conv2dBackward"
        try x.requireDevice(op, w, dy)
        let g = try convGeometry(op, x: x.shape, w: w.shape, stride: stride, padding: padding)
        let n = x.shape[0], oc = w.shape[0]
        guard dy.shape == [n, oc, g.outHeight, g.outWidth] else {
            throw TensorError.shapeMismatch(op: op, lhs: dy.shape, rhs: [n, oc, g.outHeight, g.outWidth])
        }
        let dW = try Tensor.output(op, w.shape, on: x.device, into: gradients.weight)
        let dx = needInput ? try Tensor.empty(x.shape, on: x.device) : nil
        try x.device.backend.conv2dBackward(g, images: n, outChannels: oc, x: x.storage, w: w.storage, dy: dy.storage,
                                            dx: dx?.storage, dw: dW.storage)
        let db = hasBias ? try biasAddBackward(dy, into: gradients.bias) : nil
        return (dx, dW, db)
    }

    /// Gradient with respect to the input alone.
    public static func conv2dBackwardInput(_ dy: Tensor, x: Tensor, weight: Tensor, stride: Int = 1, padding: Int = 0) throws -> Tensor {
        try conv2dBackward(dy, x: x, weight: weight, stride: stride, padding: padding).dx!
    }

    /// Gradient with respect to the weights alone.
    public static func conv2dBackwardWeights(_ dy: Tensor, x: Tensor, weight: Tensor, stride: Int = 1, padding: Int = 0) throws -> Tensor {
        try conv2dBackward(dy, x: x, weight: weight, stride: stride, padding: padding, needInput: false).dWeight
    }

    /// Gradient with respect to the bias: sum over N, H, W.
    public static func conv2dBackwardBias(_ dy: Tensor) throws -> Tensor { try biasAddBackward(dy) }
}
