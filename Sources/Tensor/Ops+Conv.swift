/// Convolution (NCHW, weights OIHW) as im2col + GEMM over chunks of images. The column matrix
/// of a chunk is laid out [C*KH*KW, images*OH*OW] so one GEMM covers the whole chunk; chunks
/// bound the column memory (`columnBudget` floats).
extension Ops {
    /// Largest column matrix (floats) built at once; larger batches are processed in chunks.
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

    static func chunkSize(_ g: ConvGeometry, batch: Int) -> Int {
        max(1, min(batch, columnBudget / max(1, g.columnRows * g.outHeight * g.outWidth)))
    }

    /// y[N, O, OH, OW] = conv(x[N, C, H, W], w[O, C, KH, KW]) + bias[O].
    public static func conv2dForward(_ x: Tensor, weight w: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) throws -> Tensor {
        let op = "conv2dForward"
        try x.requireDevice(op, w)
        let g = try convGeometry(op, x: x.shape, w: w.shape, stride: stride, padding: padding)
        let n = x.shape[0], oc = w.shape[0], P = g.outHeight * g.outWidth, K = g.columnRows
        let y = try Tensor.empty([n, oc, g.outHeight, g.outWidth], on: x.device)
        let be = x.device.backend
        let chunk = chunkSize(g, batch: n)
        let col = try be.allocate(K * chunk * P)
        let tmp = chunk > 1 ? try be.allocate(oc * chunk * P) : nil
        var n0 = 0
        while n0 < n {
            let cnt = min(chunk, n - n0)
            try be.im2col(g, firstImage: n0, images: cnt, x: x.storage, col: col)
            if cnt == 1 {
                try be.gemm(transposeA: false, transposeB: false, m: oc, n: P, k: K, alpha: 1,
                            a: w.storage, offsetA: 0, lda: K, strideA: 0, b: col, offsetB: 0, ldb: P, strideB: 0,
                            beta: 0, c: y.storage, offsetC: n0 * oc * P, ldc: P, strideC: 0, batch: 1)
            } else {
                try be.gemm(transposeA: false, transposeB: false, m: oc, n: cnt * P, k: K, alpha: 1,
                            a: w.storage, offsetA: 0, lda: K, strideA: 0, b: col, offsetB: 0, ldb: cnt * P, strideB: 0,
                            beta: 0, c: tmp!, offsetC: 0, ldc: cnt * P, strideC: 0, batch: 1)
                try be.cnhwToNchw(firstImage: n0, images: cnt, channels: oc, plane: P, y: tmp!, x: y.storage)
            }
            n0 += cnt
        }
        if let bias {
            guard bias.shape == [oc] else { throw TensorError.shapeMismatch(op: op, lhs: w.shape, rhs: bias.shape) }
            try biasAddForward(y, bias: bias)
        }
        return y
    }

    /// Gradients of `conv2dForward` with respect to the input and the weights (sharing the
    /// re-laid-out output gradient), and the bias when `hasBias`.
    public static func conv2dBackward(_ dy: Tensor, x: Tensor, weight w: Tensor, stride: Int = 1, padding: Int = 0,
                                      needInput: Bool = true, hasBias: Bool = false) throws -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?) {
        let op = "conv2dBackward"
        try x.requireDevice(op, w, dy)
        let g = try convGeometry(op, x: x.shape, w: w.shape, stride: stride, padding: padding)
        let n = x.shape[0], oc = w.shape[0], P = g.outHeight * g.outWidth, K = g.columnRows
        guard dy.shape == [n, oc, g.outHeight, g.outWidth] else {
            throw TensorError.shapeMismatch(op: op, lhs: dy.shape, rhs: [n, oc, g.outHeight, g.outWidth])
        }
        let be = x.device.backend
        let dW = try Tensor.empty(w.shape, on: x.device)
        let dx = needInput ? try Tensor.empty(x.shape, on: x.device) : nil
        let chunk = chunkSize(g, batch: n)
        let col = try be.allocate(K * chunk * P)
        let dyc = chunk > 1 ? try be.allocate(oc * chunk * P) : nil
        var n0 = 0
        while n0 < n {
            let cnt = min(chunk, n - n0)
            // dY of the chunk as [O, cnt*P]
            let dyStorage: Storage, dyOffset: Int
            if cnt == 1 {
                dyStorage = dy.storage; dyOffset = n0 * oc * P
            } else {
                try be.nchwToCnhw(firstImage: n0, images: cnt, channels: oc, plane: P, x: dy.storage, y: dyc!)
                dyStorage = dyc!; dyOffset = 0
            }
            // dW += dY_c x col^T
            try be.im2col(g, firstImage: n0, images: cnt, x: x.storage, col: col)
            try be.gemm(transposeA: false, transposeB: true, m: oc, n: K, k: cnt * P, alpha: 1,
                        a: dyStorage, offsetA: dyOffset, lda: cnt * P, strideA: 0, b: col, offsetB: 0, ldb: cnt * P, strideB: 0,
                        beta: n0 == 0 ? 0 : 1, c: dW.storage, offsetC: 0, ldc: K, strideC: 0, batch: 1)
            if let dx {
                // dcol = W^T x dY_c, then scatter back to the image.
                try be.gemm(transposeA: true, transposeB: false, m: K, n: cnt * P, k: oc, alpha: 1,
                            a: w.storage, offsetA: 0, lda: K, strideA: 0, b: dyStorage, offsetB: dyOffset, ldb: cnt * P, strideB: 0,
                            beta: 0, c: col, offsetC: 0, ldc: cnt * P, strideC: 0, batch: 1)
                try be.col2im(g, firstImage: n0, images: cnt, col: col, dx: dx.storage)
            }
            n0 += cnt
        }
        let db = hasBias ? try biasAddBackward(dy) : nil
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
