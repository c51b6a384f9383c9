/// Tensor operations as explicit forward/backward pairs with the same API on every device.
/// Each checks shapes (throwing `TensorError` naming the op and shapes) and dispatches the
/// primitives of the tensors' device backend.
public enum Ops {}

// MARK: - Matrix products

extension Ops {
    /// `op(a) x op(b)` for 2-D tensors, or batched for 3-D tensors with equal batch sizes.
    /// `into`: the tensor to write the product to (else a new one).
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false, into: Tensor? = nil) throws -> Tensor {
        let op = "matmul"
        try a.requireDevice(op, b)
        guard a.rank == b.rank, a.rank == 2 || a.rank == 3 else { throw TensorError.shapeMismatch(op: op, lhs: a.shape, rhs: b.shape) }
        let batch = a.rank == 3 ? a.shape[0] : 1
        if a.rank == 3 && b.shape[0] != batch { throw TensorError.shapeMismatch(op: op, lhs: a.shape, rhs: b.shape) }
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (k2, n) = transposeB ? (bc, br) : (br, bc)
        guard k == k2 else { throw TensorError.shapeMismatch(op: op, lhs: a.shape, rhs: b.shape) }
        let c = try Tensor.output(op, a.rank == 3 ? [batch, m, n] : [m, n], on: a.device, into: into)
        try a.device.backend.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                                  a: a.storage, offsetA: 0, lda: ac, strideA: ar * ac,
                                  b: b.storage, offsetB: 0, ldb: bc, strideB: br * bc,
                                  beta: 0, c: c.storage, offsetC: 0, ldc: n, strideC: m * n, batch: batch)
        return c
    }

    /// Gradients of `c = a x b` (no transposes): `da = dc x bᵀ`, `db = aᵀ x dc`.
    public static func matmulBackward(_ dc: Tensor, a: Tensor, b: Tensor) throws -> (da: Tensor, db: Tensor) {
        (try matmul(dc, b, transposeB: true), try matmul(a, dc, transposeA: true))
    }

    /// Fully connected layer: `y = x Wᵀ + b` with x [N, in], W [out, in] (PyTorch layout), b [out].
    public static func linearForward(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        let op = "linearForward"
        guard x.rank == 2, weight.rank == 2, x.shape[1] == weight.shape[1] else {
            throw TensorError.shapeMismatch(op: op, lhs: x.shape, rhs: weight.shape)
        }
        let y = try matmul(x, weight, transposeB: true)
        if let bias {
            guard bias.shape == [weight.shape[0]] else { throw TensorError.shapeMismatch(op: op, lhs: weight.shape, rhs: bias.shape) }
            try x.device.backend.biasAddForward(count: y.count, channels: weight.shape[0], inner: 1, x: y.storage, bias: bias.storage)
        }
        return y
    }

    /// Gradients of `linearForward`: input, weight and bias; the parameters' are written to
    /// `gradients` when given (else to new tensors).
    public static func linearBackward(_ dy: Tensor, x: Tensor, weight: Tensor, hasBias: Bool,
                                      into gradients: (weight: Tensor?, bias: Tensor?) = (nil, nil)) throws -> (dx: Tensor, dWeight: Tensor, dBias: Tensor?) {
        guard dy.rank == 2, dy.shape[0] == x.shape[0], dy.shape[1] == weight.shape[0] else {
            throw TensorError.shapeMismatch(op: "linearBackward", lhs: dy.shape, rhs: [x.shape[0], weight.shape[0]])
        }
        let dx = try matmul(dy, weight)
        let dW = try matmul(dy, x, transposeA: true, into: gradients.weight)
        var db: Tensor?
        if hasBias {
            let t = try Tensor.output("linearBackward", [weight.shape[0]], on: dy.device, into: gradients.bias)
            try dy.device.backend.biasAddBackward(outer: dy.shape[0], channels: dy.shape[1], inner: 1, dy: dy.storage, dbias: t.storage)
            db = t
        }
        return (dx, dW, db)
    }
}

// MARK: - Elementwise

extension Ops {
    public static func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try a.requireSameShape("add", b)
        let c = try Tensor.empty(a.shape, on: a.device)
        try a.device.backend.add(count: a.count, a: a.storage, b: b.storage, out: c.storage)
        return c
    }

    public static func mul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try a.requireSameShape("mul", b)
        let c = try Tensor.empty(a.shape, on: a.device)
        try a.device.backend.mul(count: a.count, a: a.storage, b: b.storage, out: c.storage)
        return c
    }

    /// In place: `x *= alpha`.
    public static func scale(_ x: Tensor, by alpha: Float) throws {
        try x.device.backend.scale(x.storage, count: x.count, alpha: alpha)
    }

    /// In place: `y += alpha * x`.
    public static func axpy(_ alpha: Float, _ x: Tensor, into y: Tensor) throws {
        try y.requireSameShape("axpy", x)
        try x.device.backend.axpy(count: x.count, alpha: alpha, x: x.storage, y: y.storage)
    }

    /// In place: every element set to `value`.
    public static func fill(_ x: Tensor, _ value: Float) throws {
        try x.device.backend.fill(x.storage, count: x.count, value: value)
    }

    public static func reluForward(_ x: Tensor) throws -> Tensor {
        let y = try Tensor.empty(x.shape, on: x.device)
        try x.device.backend.reluForward(count: x.count, x: x.storage, y: y.storage)
        return y
    }

    /// Gradient of ReLU given its output `y`.
    public static func reluBackward(_ dy: Tensor, output y: Tensor) throws -> Tensor {
        try dy.requireSameShape("reluBackward", y)
        let dx = try Tensor.empty(y.shape, on: y.device)
        try y.device.backend.reluBackward(count: y.count, y: y.storage, dy: dy.storage, dx: dx.storage)
        return dx
    }

    public static func sigmoidForward(_ x: Tensor) throws -> Tensor {
        let y = try Tensor.empty(x.shape, on: x.device)
        try x.device.backend.sigmoidForward(count: x.count, x: x.storage, y: y.storage)
        return y
    }

    public static func sigmoidBackward(_ dy: Tensor, output y: Tensor) throws -> Tensor {
        try dy.requireSameShape("sigmoidBackward", y)
        let dx = try Tensor.empty(y.shape, on: y.device)
        try y.device.backend.sigmoidBackward(count: y.count, y: y.storage, dy: dy.storage, dx: dx.storage)
        return dx
    }

    /// In place: adds a per-channel bias to an NCHW tensor (or per-feature to [N, F]).
    public static func biasAddForward(_ x: Tensor, bias: Tensor) throws {
        guard x.rank >= 2, bias.shape == [x.shape[1]] else { throw TensorError.shapeMismatch(op: "biasAddForward", lhs: x.shape, rhs: bias.shape) }
        let inner = x.shape.dropFirst(2).reduce(1, *)
        try x.device.backend.biasAddForward(count: x.count, channels: x.shape[1], inner: inner, x: x.storage, bias: bias.storage)
    }

    /// Gradient of a per-channel bias: sums over every axis but 1.
    public static func biasAddBackward(_ dy: Tensor, into: Tensor? = nil) throws -> Tensor {
        guard dy.rank >= 2 else { throw TensorError.invalidShape(op: "biasAddBackward", shape: dy.shape, expected: "rank >= 2") }
        let db = try Tensor.output("biasAddBackward", [dy.shape[1]], on: dy.device, into: into)
        try dy.device.backend.biasAddBackward(outer: dy.shape[0], channels: dy.shape[1], inner: dy.shape.dropFirst(2).reduce(1, *),
                                              dy: dy.storage, dbias: db.storage)
        return db
    }

    /// Sum of all elements (synchronises with the device).
    public static func sum(_ x: Tensor) throws -> Float {
        let out = try Tensor.empty([1], on: x.device)
        try x.device.backend.reduceSum(count: x.count, x: x.storage, out: out.storage)
        return try out.toArray()[0]
    }
}
