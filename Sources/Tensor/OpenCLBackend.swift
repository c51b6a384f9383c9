import Kernels

/// Runs every primitive as a kernel from kernels.cl on one OpenCL device. Each method is the
/// host wrapper of the kernel with the same (snake_case) name.
public final class OpenCLBackend: Backend, @unchecked Sendable {
    public let context: OpenCLContext
    public var name: String { "opencl:\(context.info.index) (\(context.info.name))" }
    private let tuning: KernelTuning
    /// Work-group size for 1-D elementwise launches (nil: runtime's choice).
    private let wg: Int?
    /// Work-group size of reductions (one work-group per sum; a power of two, at most 256).
    private let reduceWG: Int

    /// With `.tuned` convolutions: the per-shape choice between the variant's GEMM path (im2col,
    /// or packed panels), the implicit-GEMM kernels (tiled variant) and Winograd (3x3 stride-1
    /// layers), measured on this device and kept beside its kernel binaries.
    let convolutionChoices: ConvolutionChoices?

    /// Max pooling a plane per work-item, in loops as the CPU fallback's (CPU-type devices, whose
    /// work-items are iterations of a core's loop), rather than a work-item per output or input
    /// (GPUs). Tests set it to run the other kernels on the device they have.
    var poolsByPlane: Bool

    public convenience init(context: OpenCLContext) {
        self.init(context: context, reduceWorkGroup: context.tuning.reduceWorkGroup, elementwiseWorkGroup: context.tuning.elementwiseWorkGroup)
    }

    /// A backend whose reductions and elementwise kernels launch with these work-group sizes
    /// instead of the context's tuning (the tuner times them on one built program).
    init(context: OpenCLContext, reduceWorkGroup: Int, elementwiseWorkGroup: Int?) {
        self.context = context
        tuning = context.tuning
        wg = elementwiseWorkGroup
        reduceWG = min(KernelTuning.maxReduceWorkGroup, reduceWorkGroup)
        poolsByPlane = context.info.kind == .cpu
        convolutionChoices = tuning.convolutions == .tuned
            ? ConvolutionChoices(file: ConvolutionChoices.deviceFile(context.info, tuning: tuning), preferred: .im2col, alternatives: [.implicitGEMM]) : nil
    }

    public func allocate(_ count: Int) throws -> Storage { Storage(buffer: try context.makeBuffer(count: count)) }

    public var viewAlignment: Int { context.viewAlignment }

    public func view(_ storage: Storage, offset: Int, count: Int) throws -> Storage {
        Storage(buffer: try context.makeView(of: storage.buffer!, offset: offset, count: count))
    }

    public func upload(_ source: UnsafeBufferPointer<Float>, to storage: Storage, offset: Int) throws {
        guard let base = source.baseAddress else { return }
        try context.write(storage.buffer!, from: base, count: source.count, offset: offset)
    }

    public func download(_ storage: Storage, offset: Int, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = destination.baseAddress else { return }
        try context.read(storage.buffer!, into: base, count: destination.count, offset: offset)
    }

    public func copy(_ source: Storage, sourceOffset: Int, to destination: Storage, destinationOffset: Int, count: Int) throws {
        try context.copy(from: source.buffer!, srcOffset: sourceOffset, to: destination.buffer!, dstOffset: destinationOffset, count: count)
    }

    public func synchronize() throws { try context.finish() }

    // MARK: helpers

    @inline(__always) private func b(_ s: Storage) -> KernelArgument { .buffer(s.buffer!) }
    @inline(__always) private func i(_ v: Int) -> KernelArgument { .int(Int32(v)) }
    @inline(__always) private func f(_ v: Float) -> KernelArgument { .float(v) }

    private func launch1D(_ name: String, _ n: Int, _ args: [KernelArgument]) throws {
        try context.launch(name, global: [n], local: wg.map { [$0] }, args)
    }

    /// A kernel over `rows` rows of `width` elements (global [width, rows]): the row comes from
    /// the second index, so no work-item divides to find it.
    private func launchRows(_ name: String, width: Int, rows: Int, _ args: [KernelArgument]) throws {
        try context.launch(name, global: [width, rows], local: wg.map { [$0, 1] }, args)
    }

    /// A kernel over `planes` planes of height x width pixels (global [width, height, planes]; the
    /// runtime chooses the work-group).
    private func launchPlanes(_ name: String, width: Int, height: Int, planes: Int, _ args: [KernelArgument]) throws {
        try context.launch(name, global: [width, height, planes], local: nil, args)
    }

    // MARK: GEMM

    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: Storage, offsetA: Int, lda: Int, strideA: Int,
                     b: Storage, offsetB: Int, ldb: Int, strideB: Int,
                     beta: Float, c: Storage, offsetC: Int, ldc: Int, strideC: Int, batch: Int) throws {
        // gemm_tiled reads transposed operands as they are and gemm_packed packs them as they
        // are; for gemm_blocked they are first brought into its layout (A: m x k, B: k x n).
        var aS = a, aOff = offsetA, aLd = lda, aStride = strideA
        var bS = b, bOff = offsetB, bLd = ldb, bStride = strideB
        var scratch: [Storage] = []
        let readsTransposed = tuning.gemmVariant != .blocked
        let transA = readsTransposed && transposeA, transB = readsTransposed && transposeB
        if transposeA && !transA {
            let t = try allocate(m * k * batch)
            try transpose(rows: k, cols: m, ld: lda, a: a, offsetA: offsetA, strideA: strideA, out: t, batch: batch)
            scratch.append(t)
            aS = t; aOff = 0; aLd = k; aStride = m * k
        }
        if transposeB && !transB {
            let t = try allocate(k * n * batch)
            try transpose(rows: n, cols: k, ld: ldb, a: b, offsetA: offsetB, strideA: strideB, out: t, batch: batch)
            scratch.append(t)
            bS = t; bOff = 0; bLd = n; bStride = k * n
        }
        let slices = splitKSlices(m: m, n: n, k: k, batch: batch)
        guard slices > 1 else {
            try gemmKernel(m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, a: aS, offsetA: aOff, lda: aLd, strideA: aStride,
                           b: bS, offsetB: bOff, ldb: bLd, strideB: bStride, beta: beta, c: c, offsetC: offsetC, ldc: ldc, strideC: strideC, batch: batch)
            _ = scratch
            return
        }
        // Split-K: slice s multiplies columns s*depth ..< (s+1)*depth of op(A) by the same rows of
        // op(B) into its own m x n block of a workspace (one batched launch; the remainder of k
        // goes into block 0), then one kernel sums the blocks into C in a fixed order.
        let depth = k / slices, rest = k - slices * depth
        let aStep = transA ? aLd : 1, bStep = transB ? 1 : bLd  // elements between neighbours along k
        let partial = try allocate(slices * m * n)
        try gemmKernel(m: m, n: n, k: depth, transA: transA, transB: transB, alpha: alpha, a: aS, offsetA: aOff, lda: aLd, strideA: depth * aStep,
                       b: bS, offsetB: bOff, ldb: bLd, strideB: depth * bStep, beta: 0, c: partial, offsetC: 0, ldc: n, strideC: m * n, batch: slices)
        if rest > 0 {
            try gemmKernel(m: m, n: n, k: rest, transA: transA, transB: transB, alpha: alpha, a: aS, offsetA: aOff + slices * depth * aStep, lda: aLd, strideA: 0,
                           b: bS, offsetB: bOff + slices * depth * bStep, ldb: bLd, strideB: 0, beta: 1, c: partial, offsetC: 0, ldc: n, strideC: 0, batch: 1)
        }
        try context.launch("gemm_splitk_reduce", global: [n, m], local: nil,
                           [i(m), i(n), i(slices), self.b(partial), f(beta), self.b(c), i(offsetC), i(ldc)])
        _ = scratch
    }

    /// How many slices of k one product is cut into (1: not split): enough for every compute unit
    /// to get `splitKGroupsPerUnit` work-groups, each slice at least `splitKMinimumDepth` deep.
    func splitKSlices(m: Int, n: Int, k: Int, batch: Int) -> Int {
        guard batch == 1 else { return 1 }
        let groups: Int
        switch tuning.gemmVariant {
        case .tiled: groups = (n + tuning.tileN - 1) / tuning.tileN * ((m + tuning.tileM - 1) / tuning.tileM)
        case .blocked: groups = (n + 16 * tuning.blockVectors - 1) / (16 * tuning.blockVectors) * ((m + tuning.blockRows - 1) / tuning.blockRows)
        case .packed: groups = packedGrid(m: m, n: n).reduce(1, *)
        }
        let target = tuning.splitKGroupsPerUnit * max(1, context.info.computeUnits)
        guard groups < target else { return 1 }
        let slices = min((target + groups - 1) / groups, k / max(1, tuning.splitKMinimumDepth), 1024)
        return slices >= 2 ? slices : 1
    }

    /// gemm_packed's work-items along n and m.
    func packedGrid(m: Int, n: Int) -> [Int] {
        let panelsM = (m + tuning.panelRows - 1) / tuning.panelRows, panelsN = (n + tuning.panelColumns - 1) / tuning.panelColumns
        return [(panelsN + tuning.panelsPerItemN - 1) / tuning.panelsPerItemN, (panelsM + tuning.panelsPerItemM - 1) / tuning.panelsPerItemM]
    }

    /// One launch of the device's GEMM kernel (row-major; A is m x k, or k x m read transposed
    /// when `transA`; B is k x n, or n x k when `transB`; gemm_blocked reads neither transposed).
    /// `options`: other build options than the context's (the tuner builds only the GEMM kernels).
    func gemmKernel(m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false, alpha: Float,
                    a: Storage, offsetA: Int, lda: Int, strideA: Int,
                    b: Storage, offsetB: Int, ldb: Int, strideB: Int,
                    beta: Float, c: Storage, offsetC: Int, ldc: Int, strideC: Int, batch: Int, options: String? = nil) throws {
        let operands: [KernelArgument] = [
            f(alpha),
            self.b(a), i(offsetA), i(lda), i(strideA),
            self.b(b), i(offsetB), i(ldb), i(strideB),
            f(beta), self.b(c), i(offsetC), i(ldc), i(strideC),
        ]
        switch tuning.gemmVariant {
        case .tiled:
            let args = [i(m), i(n), i(k), i(transA ? 1 : 0), i(transB ? 1 : 0)] + operands
            let grid = tiledGrid(m: m, n: n, slices: batch)
            try context.launch("gemm_tiled", global: grid.global, local: grid.local, options: options, args)
        case .blocked:
            precondition(!transA && !transB, "gemm_blocked reads A and B untransposed")
            let args = [i(m), i(n), i(k)] + operands
            let cols = 16 * tuning.blockVectors
            let gx = (n + cols - 1) / cols
            let gy = (m + tuning.blockRows - 1) / tuning.blockRows
            try context.launch("gemm_blocked", global: [gx, gy, batch], local: [1, 1, 1], options: options, args)
        case .packed:
            // Both operands into panels (one launch each, every batch entry), then the product.
            let ap = try pack(rows: m, depth: k, panel: tuning.panelRows, a, offset: offsetA, stride: strideA,
                              rowStep: transA ? 1 : lda, depthStep: transA ? lda : 1, batch: batch, options: options)
            let bp = try pack(rows: n, depth: k, panel: tuning.panelColumns, b, offset: offsetB, stride: strideB,
                              rowStep: transB ? ldb : 1, depthStep: transB ? 1 : ldb, batch: batch, options: options)
            try gemmPacked(m: m, n: n, k: k, alpha: alpha, ap: ap, strideAp: ap.count / batch, bp: bp, strideBp: bp.count / batch,
                           beta: beta, c: c, offsetC: offsetC, ldc: ldc, strideC: strideC, batch: batch, options: options)
        }
    }

    /// `gemm_pack`: the rows x depth matrix whose element (r, k) is at
    /// `offset + r*rowStep + (k / depthBlock)*depthBlockStep + (k % depthBlock)*depthStep` (and
    /// `stride` further per batch entry), copied into zero-padded panels of `panel` rows.
    func pack(rows: Int, depth: Int, panel: Int, _ source: Storage, offset: Int, stride: Int, rowStep: Int, depthStep: Int,
              depthBlock: Int? = nil, depthBlockStep: Int = 0, batch: Int = 1, options: String? = nil) throws -> PackedPanels {
        let padded = (rows + panel - 1) / panel * panel
        let out = try allocate(padded * depth * batch)
        try context.launch("gemm_pack", global: [depth, padded / panel, batch], local: nil, options: options,
                           [i(rows), i(depth), i(panel), b(source), i(offset), i(stride), i(rowStep), i(depthStep),
                            i(depthBlock ?? max(1, depth)), i(depthBlockStep), b(out), i(padded * depth)])
        return PackedPanels(storage: out, count: padded * depth * batch)
    }

    /// Operands copied into gemm_packed's panels (A: `panelRows` rows each, B: `panelColumns`).
    struct PackedPanels { var storage: Storage; var count: Int }

    /// `gemm_packed`: C = alpha * A B + beta * C from packed panels.
    func gemmPacked(m: Int, n: Int, k: Int, alpha: Float = 1, ap: PackedPanels, strideAp: Int, bp: PackedPanels, strideBp: Int,
                    beta: Float, c: Storage, offsetC: Int, ldc: Int, strideC: Int, batch: Int, options: String? = nil) throws {
        let grid = packedGrid(m: m, n: n)
        try context.launch("gemm_packed", global: [grid[0], grid[1], batch], local: [1, 1, 1], options: options,
                           [i(m), i(n), i(k), f(alpha), b(ap.storage), i(strideAp), b(bp.storage), i(strideBp),
                            f(beta), b(c), i(offsetC), i(ldc), i(strideC)])
    }

    /// The `transpose` kernel: out[b] (cols x rows) = a[b] (rows x cols, leading dimension `ld`).
    func transpose(rows: Int, cols: Int, ld: Int, a: Storage, offsetA: Int, strideA: Int, out: Storage, batch: Int) throws {
        precondition(ld == cols, "transpose expects contiguous rows")
        try context.launch("transpose", global: [cols, rows, batch], local: nil,
                           [i(rows), i(cols), b(a), i(offsetA), i(strideA), b(out), i(0), i(rows * cols)])
    }

    // MARK: elementwise

    public func fill(_ x: Storage, count: Int, value: Float) throws { try fill(x, offset: 0, count: count, value: value) }

    private func fill(_ x: Storage, offset: Int, count: Int, value: Float) throws {
        try launch1D("fill", count, [i(count), f(value), b(x), i(offset)])
    }
    public func scale(_ x: Storage, count: Int, alpha: Float) throws { try launch1D("scale", count, [i(count), f(alpha), b(x)]) }
    public func axpy(count: Int, alpha: Float, x: Storage, y: Storage) throws { try launch1D("axpy", count, [i(count), f(alpha), b(x), b(y)]) }
    public func add(count: Int, a: Storage, b bb: Storage, out: Storage) throws { try launch1D("add", count, [i(count), b(a), b(bb), b(out)]) }
    public func mul(count: Int, a: Storage, b bb: Storage, out: Storage) throws { try launch1D("mul", count, [i(count), b(a), b(bb), b(out)]) }
    public func reluForward(count: Int, x: Storage, y: Storage) throws { try launch1D("relu_forward", count, [i(count), b(x), b(y)]) }
    public func reluBackward(count: Int, y: Storage, dy: Storage, dx: Storage) throws { try launch1D("relu_backward", count, [i(count), b(y), b(dy), b(dx)]) }
    public func sigmoidForward(count: Int, x: Storage, y: Storage) throws { try launch1D("sigmoid_forward", count, [i(count), b(x), b(y)]) }
    public func sigmoidBackward(count: Int, y: Storage, dy: Storage, dx: Storage) throws { try launch1D("sigmoid_backward", count, [i(count), b(y), b(dy), b(dx)]) }

    public func batchnormFold(outChannels: Int, inner: Int, eps: Float, w: Storage, gamma: Storage, beta: Storage,
                              runningMean: Storage, runningVar: Storage, foldedW: Storage, foldedBias: Storage) throws {
        try launch1D("batchnorm_fold", outChannels * inner, [i(outChannels), i(inner), f(eps), b(w), b(gamma), b(beta), b(runningMean), b(runningVar),
                                                              b(foldedW), b(foldedBias)])
    }

    public func biasAddForward(count: Int, channels: Int, inner: Int, x: Storage, bias: Storage) throws {
        try launch1D("bias_add_forward", count, [i(count), i(channels), i(inner), b(x), b(bias)])
    }

    public func biasAddBackward(outer: Int, channels: Int, inner: Int, dy: Storage, dbias: Storage) throws {
        let w = reduceWG
        try context.launch("bias_add_backward", global: [channels * w], local: [w], [i(outer), i(channels), i(inner), b(dy), b(dbias)])
    }

    // MARK: convolutions

    /// The convolution path chosen per shape and direction so far (empty unless `.tuned`), and the file they are kept in.
    public var convolutionPaths: (paths: [String: String], file: String?) { (convolutionChoices?.paths ?? [:], convolutionChoices?.file) }

    /// The convolution paths kept for a device with its default tuning (nil when it has no
    /// choice to make), read from their file: shapes that chose implicit GEMMs, the variant's
    /// GEMM path (im2col or packed panels), Winograd (in three launches per chunk, or fused).
    public static func keptConvolutionChoices(for info: OpenCLDeviceInfo)
        -> (implicitGEMM: Int, im2col: Int, winograd: Int, winogradFused: Int, file: String?)? {
        let tuning = KernelTuning.forDevice(info)
        guard tuning.convolutions == .tuned else { return nil }
        let file = ConvolutionChoices.deviceFile(info, tuning: tuning), kept = ConvolutionChoices(file: file)
        return (kept.count(.implicitGEMM), kept.count(.im2col), kept.count(.winograd), kept.count(.winogradFused), file)
    }

    /// Whether convolutions can run as implicit GEMMs (the tiled variant; `.tuned` chooses per shape).
    var convolvesImplicitly: Bool { tuning.gemmVariant == .tiled && (tuning.convolutions == .implicitGEMM || tuning.convolutions == .tuned) }

    /// Whether Winograd F(4x4, 3x3) serves a convolution: 3x3 windows, stride 1, padding 1 (the
    /// output is the input's size). Its data gradient is then such a convolution too.
    static func winogradServes(_ g: ConvGeometry) -> Bool { g.kernelH == 3 && g.kernelW == 3 && g.stride == 1 && g.padding == 1 }

    /// Runs `body` with the convolution path for this shape and direction: fixed by the tuning, or
    /// chosen by measuring the paths that serve it on the device the first time the shape is
    /// seen. `.im2col` stands for the variant's own GEMM path (packed panels on CPU devices);
    /// `.winograd` for Winograd in every direction; `.winogradFused` for the same with the forward,
    /// or the data gradient, in `winograd_fused` (the weight gradient as `.winograd`).
    private func convolutionPath(_ g: ConvGeometry, images: Int, outChannels: Int, _ direction: ConvolutionChoices.Direction,
                                 _ body: (ConvolutionChoices.Path) throws -> Void) throws {
        let winograd = Self.winogradServes(g)
        // The fused kernel where its scratch fits local memory: the forward's (channels in, out
        // channels out) or the data gradient's (swapped); a weight gradient alone has nothing to
        // fuse. Measured only on CPU-type devices, whose local memory is their caches (a GPU's is
        // tens of KiB, and it would run a work-item per work-group); forced, it runs on any device.
        let fused = winograd && direction != .backwardWeights
            && (direction == .backward ? winogradFuses(channels: outChannels, outChannels: g.channels)
                                       : winogradFuses(channels: g.channels, outChannels: outChannels))
        switch tuning.convolutions {
        case .im2col: return try body(.im2col)
        case .implicitGEMM: return try body(convolvesImplicitly ? .implicitGEMM : .im2col)
        case .winograd: return try body(winograd ? .winograd : .im2col)
        case .winogradFused: return try body(fused ? .winogradFused : winograd ? .winograd : .im2col)
        case .tuned:
            let offered: [ConvolutionChoices.Path] = (tuning.gemmVariant == .tiled ? [.implicitGEMM] : []) + (winograd ? [.winograd] : [])
                + (fused && context.info.kind == .cpu ? [.winogradFused] : [])
            guard let choices = convolutionChoices, !offered.isEmpty else { return try body(.im2col) }
            try choices.run(ConvolutionChoices.key(g, images: images, outChannels: outChannels, direction), alternatives: offered,
                            synchronize: context.finish, body)
        }
    }

    private func convolutionArgs(_ g: ConvGeometry, _ images: Int, _ outChannels: Int) -> [KernelArgument] {
        [i(images), i(g.channels), i(g.height), i(g.width), i(outChannels), i(g.kernelH), i(g.kernelW),
         i(g.stride), i(g.padding), i(g.outHeight), i(g.outWidth)]
    }

    /// Work-items of a gemm_tiled or implicit-GEMM launch over an m x n output, `slices` deep
    /// (a batch, or split-K's slices).
    private func tiledGrid(m: Int, n: Int, slices: Int = 1) -> (global: [Int], local: [Int]) {
        let rtsm = tuning.tileM / tuning.workPerThreadM, rtsn = tuning.tileN / tuning.workPerThreadN
        return ([(n + tuning.tileN - 1) / tuning.tileN * rtsn, (m + tuning.tileM - 1) / tuning.tileM * rtsm, slices], [rtsn, rtsm, 1])
    }

    public func conv2dForward(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, y: Storage) throws {
        try convolutionPath(g, images: n, outChannels: oc, .forward) { path in
            try forward(path, g, images: n, outChannels: oc, x: x, w: w, y: y)
        }
    }

    /// y = conv(x, w) + bias, then ReLU: by Winograd with both in its output transform, or the
    /// path's convolution followed by the bias and ReLU passes.
    public func conv2dForwardBiasActivation(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, bias: Storage,
                                            relu: Bool, y: Storage) throws {
        try convolutionPath(g, images: n, outChannels: oc, .inference) { path in
            if path == .winograd || path == .winogradFused {
                return try winogradConvolution(images: n, channels: g.channels, height: g.height, width: g.width, outChannels: oc,
                                               x: x, weights: w, flipped: false, bias: bias, relu: relu, y: y, fused: path == .winogradFused)
            }
            try forward(path, g, images: n, outChannels: oc, x: x, w: w, y: y)
            try biasActivation(g, images: n, outChannels: oc, bias: bias, relu: relu, y: y)
        }
    }

    private func forward(_ path: ConvolutionChoices.Path, _ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, y: Storage) throws {
        switch path {
        case .winograd, .winogradFused:
            try winogradConvolution(images: n, channels: g.channels, height: g.height, width: g.width, outChannels: oc,
                                    x: x, weights: w, flipped: false, bias: nil, relu: false, y: y, fused: path == .winogradFused)
        case .implicitGEMM:
            let grid = tiledGrid(m: oc, n: n * g.outHeight * g.outWidth)
            try context.launch("conv_forward_implicit", global: grid.global, local: grid.local, convolutionArgs(g, n, oc) + [b(w), b(x), b(y)])
        default:
            if tuning.gemmVariant == .packed { return try packedConv2dForward(g, images: n, outChannels: oc, x: x, w: w, y: y) }
            try im2colConv2dForward(g, images: n, outChannels: oc, x: x, w: w, y: y)
        }
    }

    public func conv2dBackward(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, dy: Storage,
                               dx: Storage?, dw: Storage) throws {
        try convolutionPath(g, images: n, outChannels: oc, dx == nil ? .backwardWeights : .backward) { path in
            switch path {
            case .winograd, .winogradFused:
                // Both gradients by Winograd: dX is the convolution of dY with the filters turned
                // and the channels swapped.
                try winogradWeightGradient(images: n, channels: g.channels, height: g.height, width: g.width, outChannels: oc, x: x, dy: dy, dw: dw)
                if let dx {
                    try winogradConvolution(images: n, channels: oc, height: g.outHeight, width: g.outWidth, outChannels: g.channels,
                                            x: dy, weights: w, flipped: true, bias: nil, relu: false, y: dx, fused: path == .winogradFused)
                }
            case .implicitGEMM: try implicitConv2dBackward(g, images: n, outChannels: oc, x: x, w: w, dy: dy, dx: dx, dw: dw)
            default: try ownConv2dBackward(g, images: n, outChannels: oc, x: x, w: w, dy: dy, dx: dx, dw: dw)
            }
        }
    }

    /// The backward pass on the variant's GEMM path: packed panels, or im2col + GEMM + col2im.
    private func ownConv2dBackward(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, dy: Storage,
                                   dx: Storage?, dw: Storage) throws {
        if tuning.gemmVariant == .packed { return try packedConv2dBackward(g, images: n, outChannels: oc, x: x, w: w, dy: dy, dx: dx, dw: dw) }
        try im2colConv2dBackward(g, images: n, outChannels: oc, x: x, w: w, dy: dy, dx: dx, dw: dw)
    }

    private func implicitConv2dBackward(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, dy: Storage,
                                        dx: Storage?, dw: Storage) throws {
        // dW: O x C*KH*KW over k = every output pixel of every image, split along k as a GEMM would be.
        let m = oc, cols = g.columnRows, k = n * g.outHeight * g.outWidth
        var slices = splitKSlices(m: m, n: cols, k: k, batch: 1)
        let depth = (k + slices - 1) / slices
        slices = (k + depth - 1) / depth
        let target = slices > 1 ? try allocate(slices * m * cols) : dw
        let grid = tiledGrid(m: m, n: cols, slices: slices)
        try context.launch("conv_backward_weights_implicit", global: grid.global, local: grid.local,
                           convolutionArgs(g, n, oc) + [i(depth), b(dy), b(x), b(target)])
        if slices > 1 {
            try context.launch("gemm_splitk_reduce", global: [cols, m], local: nil,
                               [i(m), i(cols), i(slices), b(target), f(0), b(dw), i(0), i(cols)])
        }
        if let dx {
            let grid = tiledGrid(m: g.channels, n: n * g.height * g.width)
            try context.launch("conv_backward_data_implicit", global: grid.global, local: grid.local, convolutionArgs(g, n, oc) + [b(w), b(dy), b(dx)])
        }
    }

    // MARK: Winograd F(4x4, 3x3)

    /// Floats of transformed inputs and products (V and M, or V and dM) one chunk of images
    /// holds (nil: by device type). On a CPU device the transforms then write into the caches
    /// and the products read from them, as the CPU fallback's Winograd chunks its images: written
    /// to memory, 36 streams of new lines per work-item made the input transform 20x slower
    /// than its traffic (POCL, ResNet18's 56x56 layers). Tests set it small.
    nonisolated(unsafe) static var winogradChunkFloats: Int?

    /// Images per chunk for `channels` + `outChannels` transformed channels of `tilesPerImage` tiles.
    private func winogradImagesPerChunk(images: Int, channels: Int, outChannels: Int, tilesPerImage: Int) -> Int {
        let budget = Self.winogradChunkFloats ?? (context.info.kind == .cpu ? 4 << 20 : 64 << 20)
        return max(1, min(images, budget / max(1, 36 * (channels + outChannels) * tilesPerImage)))
    }

    /// The GEMM operands' layout: gemm_packed's panels (rows of U and dM, columns of V) or row-major (0).
    private var winogradPanels: (rows: Int, columns: Int) {
        tuning.gemmVariant == .packed ? (tuning.panelRows, tuning.panelColumns) : (0, 0)
    }

    /// The work-group of the filter transforms (winograd_weights, winograd_weights_gradient): 16
    /// work-items of eight channels each. Their private arrays take about 1 KiB a work-item, and
    /// POCL keeps a whole work-group's on a thread's stack (a first version, 2.4 KiB a work-item,
    /// crashed it in work-groups of its own choosing, 4096 work-items).
    static let winogradFilterGroup = [16, 1]

    /// Work-items of a Winograd transform over `tiles` tiles (whole rows of `tilesW`): one per four
    /// tiles side by side in a row of tiles (kernels.cl: WinogradGroup).
    static func winogradGroups(tiles: Int, tilesW: Int) -> Int { tiles / tilesW * ((tilesW + 3) / 4) }

    private static func padded(_ count: Int, to panel: Int) -> Int { panel > 0 ? (count + panel - 1) / panel * panel : count }

    /// Floats between the 36 points of a transformed operand of `count` floats: an odd number of
    /// whole cache lines, at least one more than it needs, so the 36 points fall in different sets
    /// of the L1 cache (kernels.cl: Winograd).
    static func pointStride(_ count: Int) -> Int {
        var lines = (count + 15) / 16 + 1
        if lines % 2 == 0 { lines += 1 }
        return lines * 16
    }

    /// y = conv(x, weights) (+ bias, then ReLU) for a 3x3 window, stride 1, padding 1, by Winograd
    /// (kernels.cl: winograd_weights once, then per chunk of images winograd_input, the device's
    /// GEMM over 36 points, winograd_output). `flipped`: a layer's data gradient, x its output
    /// gradients and weights the layer's [outChannels=its C][channels=its K][3][3].
    private func winogradConvolution(images n: Int, channels c: Int, height h: Int, width w: Int, outChannels k: Int, x: Storage,
                                     weights: Storage, flipped: Bool, bias: Storage?, relu: Bool, y: Storage, fused: Bool = false) throws {
        let tilesH = (h + 3) / 4, tilesW = (w + 3) / 4, perImage = tilesH * tilesW
        guard n > 0, perImage > 0, c > 0, k > 0 else { return }
        if fused {  // the path's choice checked that its scratch fits (convolutionPath)
            return try winogradFusedConvolution(images: n, channels: c, height: h, width: w, outChannels: k, x: x, weights: weights,
                                                flipped: flipped, bias: bias, relu: relu, y: y)
        }
        let (pm, pn) = winogradPanels
        let rows = Self.padded(k, to: pm)
        let chunk = winogradImagesPerChunk(images: n, channels: c, outChannels: k, tilesPerImage: perImage)
        let uPoint = Self.pointStride(rows * c), vPoint = Self.pointStride(c * Self.padded(chunk * perImage, to: pn))
        let mPoint = Self.pointStride(k * chunk * perImage)
        let u = try allocate(36 * uPoint), v = try allocate(36 * vPoint), m = try allocate(36 * mPoint)
        try context.launch("winograd_weights", global: [(c + 7) / 8, rows / max(1, pm)], local: Self.winogradFilterGroup,
                           [i(c), i(k), i(rows), i(flipped ? 1 : 0), b(weights), b(u), i(pm), i(uPoint)])
        for n0 in Swift.stride(from: 0, to: n, by: chunk) {
            let tiles = min(chunk, n - n0) * perImage, columns = Self.padded(tiles, to: pn)
            try context.launch("winograd_input", global: [Self.winogradGroups(tiles: tiles, tilesW: tilesW) + (columns - tiles + 3) / 4, c], local: nil,
                               [i(n0), i(c), i(h), i(w), i(tilesH), i(tilesW), i(tiles), i(columns), i(c), i(0), b(x), b(v), i(pn), i(vPoint)])
            try winogradProducts(m: k, n: tiles, depth: c, a: u, aPoint: uPoint, b: v, bPoint: vPoint, beta: 0, c: m, cPoint: mPoint)
            try context.launch("winograd_output", global: [Self.winogradGroups(tiles: tiles, tilesW: tilesW), k], local: nil,
                               [i(n0), i(k), i(h), i(w), i(tilesH), i(tilesW), i(tiles), b(m), i(mPoint), b(bias ?? m), i(bias == nil ? 0 : 1),
                                i(relu ? 1 : 0), b(y)])
        }
    }

    /// The 36 products C[xi] (m x n, row-major, beta C[xi] added) = A[xi] (m x depth) B[xi]
    /// (depth x n), `aPoint`, `bPoint`, `cPoint` floats apart, as one batched launch of the
    /// device's GEMM, on operands the transforms wrote in its layout (`winogradPanels`).
    private func winogradProducts(m: Int, n: Int, depth: Int, a: Storage, aPoint: Int, b: Storage, bPoint: Int, beta: Float,
                                  c: Storage, cPoint: Int) throws {
        if winogradPanels.rows > 0 {
            try gemmPacked(m: m, n: n, k: depth, ap: PackedPanels(storage: a, count: 36 * aPoint), strideAp: aPoint,
                           bp: PackedPanels(storage: b, count: 36 * bPoint), strideBp: bPoint,
                           beta: beta, c: c, offsetC: 0, ldc: n, strideC: cPoint, batch: 36)
        } else {
            try gemmKernel(m: m, n: n, k: depth, alpha: 1, a: a, offsetA: 0, lda: depth, strideA: aPoint, b: b, offsetB: 0, ldb: n, strideB: bPoint,
                           beta: beta, c: c, offsetC: 0, ldc: n, strideC: cPoint, batch: 36)
        }
    }

    /// Bytes of local memory `winograd_fused` takes for `channels` in and `outChannels` out: the
    /// 36 points of 16 tiles' transformed inputs and products, an odd number of lines apart.
    static func winogradFusedScratch(channels c: Int, outChannels k: Int) -> (inputs: Int, products: Int) {
        (36 * 16 * (c | 1) * 4, 36 * 16 * (padded(k, to: 6) | 1) * 4)
    }

    /// Whether `winograd_fused` fits the device's local memory for this many channels.
    func winogradFuses(channels: Int, outChannels: Int) -> Bool {
        let scratch = Self.winogradFusedScratch(channels: channels, outChannels: outChannels)
        return UInt64(scratch.inputs + scratch.products) <= context.info.localMemoryBytes
    }

    /// The Winograd convolution of `winogradConvolution` in one kernel (kernels.cl:
    /// winograd_weights into panels of 6 rows, then winograd_fused, one work-item per 16 tiles).
    private func winogradFusedConvolution(images n: Int, channels c: Int, height h: Int, width w: Int, outChannels k: Int, x: Storage,
                                          weights: Storage, flipped: Bool, bias: Storage?, relu: Bool, y: Storage) throws {
        let tilesH = (h + 3) / 4, tilesW = (w + 3) / 4, tiles = n * tilesH * tilesW
        let rows = Self.padded(k, to: 6), uPoint = Self.pointStride(rows * c)
        let u = try allocate(36 * uPoint)
        try context.launch("winograd_weights", global: [(c + 7) / 8, rows / 6], local: Self.winogradFilterGroup,
                           [i(c), i(k), i(rows), i(flipped ? 1 : 0), b(weights), b(u), i(6), i(uPoint)])
        let scratch = Self.winogradFusedScratch(channels: c, outChannels: k)
        let blocks = (Self.winogradGroups(tiles: tiles, tilesW: tilesW) + 3) / 4
        try context.launch("winograd_fused", global: [blocks], local: [1],
                           [i(c), i(k), i(rows), i(h), i(w), i(tilesH), i(tilesW), i(tiles), b(x), b(u), i(uPoint), b(bias ?? u),
                            i(bias == nil ? 0 : 1), i(relu ? 1 : 0), b(y), .local(scratch.inputs), .local(scratch.products)])
    }

    /// dw (overwritten) of a 3x3, stride-1, padding-1 convolution by Winograd: dU[xi] (K x C) =
    /// sum over chunks of images of dM[xi] (K x T) x V[xi]^T (T x C), dM = A dY A^T and V = B^T x B
    /// over the chunk's tiles, on the device's GEMM (kernels.cl: winograd_output_gradient,
    /// winograd_input transposed), then dw = G^T dU G (winograd_weights_gradient).
    private func winogradWeightGradient(images n: Int, channels c: Int, height h: Int, width w: Int, outChannels k: Int,
                                        x: Storage, dy: Storage, dw: Storage) throws {
        let tilesH = (h + 3) / 4, tilesW = (w + 3) / 4, perImage = tilesH * tilesW
        guard c > 0, k > 0 else { return }
        guard n > 0, perImage > 0 else { return try fill(dw, count: k * c * 9, value: 0) }
        let (pm, pn) = winogradPanels
        let rows = Self.padded(k, to: pm), columns = Self.padded(c, to: pn)
        let chunk = winogradImagesPerChunk(images: n, channels: c, outChannels: k, tilesPerImage: perImage)
        let mPoint = Self.pointStride(rows * chunk * perImage), vPoint = Self.pointStride(chunk * perImage * columns), uPoint = Self.pointStride(k * c)
        let dm = try allocate(36 * mPoint), v = try allocate(36 * vPoint), du = try allocate(36 * uPoint)
        for n0 in Swift.stride(from: 0, to: n, by: chunk) {
            let tiles = min(chunk, n - n0) * perImage
            try context.launch("winograd_output_gradient", global: [rows, Self.winogradGroups(tiles: tiles, tilesW: tilesW)], local: nil,
                               [i(n0), i(k), i(h), i(w), i(tilesH), i(tilesW), i(tiles), i(rows), b(dy), b(dm), i(pm), i(mPoint)])
            try context.launch("winograd_input", global: [columns, Self.winogradGroups(tiles: tiles, tilesW: tilesW)], local: nil,
                               [i(n0), i(c), i(h), i(w), i(tilesH), i(tilesW), i(tiles), i(tiles), i(columns), i(1), b(x), b(v), i(pn), i(vPoint)])
            // Each chunk's products add to the chunks' before it.
            try winogradProducts(m: k, n: c, depth: tiles, a: dm, aPoint: mPoint, b: v, bPoint: vPoint, beta: n0 == 0 ? 0 : 1, c: du, cPoint: uPoint)
        }
        try context.launch("winograd_weights_gradient", global: [(c + 7) / 8, k], local: Self.winogradFilterGroup, [i(c), i(k), b(du), i(uPoint), b(dw)])
    }

    // MARK: convolutions with packed panels (CPU devices)
    //
    // im2col + GEMM without the column matrix: the images are packed straight into gemm_packed's
    // panels (conv_pack_pixels, conv_pack_rows), and the products write NCHW directly (one batch
    // entry per image), so neither im2col nor the CNHW permutes run. The data gradient of a
    // stride-1 convolution is itself such a convolution (of dY with the weights flipped and
    // transposed), so a column matrix is written, and added back into dX (col2im_rows), only for
    // strided ones.

    private func packedConv2dForward(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, y: Storage) throws {
        let weights = try pack(rows: oc, depth: g.columnRows, panel: tuning.panelRows, w, offset: 0, stride: 0, rowStep: g.columnRows, depthStep: 1)
        try packedConvolution(g, images: n, outChannels: oc, x: x, weights: weights, y: y)
    }

    /// y = the convolution of x by weights already packed as A (outChannels x columnRows).
    private func packedConvolution(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, weights: PackedPanels, y: Storage) throws {
        let P = g.outHeight * g.outWidth, K = g.columnRows, pn = tuning.panelColumns
        let padded = (P + pn - 1) / pn * pn
        let chunk = Self.chunkSize(g, batch: n)
        let columns = PackedPanels(storage: try allocate(padded * K * chunk), count: padded * K * chunk)
        var n0 = 0
        while n0 < n {
            let cnt = min(chunk, n - n0)
            try context.launch("conv_pack_pixels", global: [g.channels, padded / pn, cnt], local: nil, geometryArgs(g, n0, cnt) + [i(pn), b(x), b(columns.storage)])
            try gemmPacked(m: oc, n: P, k: K, ap: weights, strideAp: 0, bp: columns, strideBp: padded * K,
                           beta: 0, c: y, offsetC: n0 * oc * P, ldc: P, strideC: oc * P, batch: cnt)
            n0 += cnt
        }
    }

    private func packedConv2dBackward(_ g: ConvGeometry, images n: Int, outChannels oc: Int, x: Storage, w: Storage, dy: Storage,
                                      dx: Storage?, dw: Storage) throws {
        let P = g.outHeight * g.outWidth, K = g.columnRows, pm = tuning.panelRows, pn = tuning.panelColumns
        let kk = g.kernelH * g.kernelW
        // Stride 1, square kernel: dX = dY convolved (padding KH-1-pad) with W'[c][o] = W[o][c]
        // rotated by 180 degrees, packed as A (channels x outChannels*KH*KW) in one copy.
        let transposed = dx != nil && g.stride == 1 && g.kernelH == g.kernelW && g.padding < g.kernelH
        if let dx, transposed {
            let flipped = try pack(rows: g.channels, depth: oc * kk, panel: pm, w, offset: kk - 1, stride: 0, rowStep: kk, depthStep: -1,
                                   depthBlock: kk, depthBlockStep: g.channels * kk)
            let t = ConvGeometry(channels: oc, height: g.outHeight, width: g.outWidth, kernelH: g.kernelH, kernelW: g.kernelW,
                                 stride: 1, padding: g.kernelH - 1 - g.padding)
            try packedConvolution(t, images: n, outChannels: g.channels, x: dy, weights: flipped, y: dx)
        }
        let chunk = Self.chunkSize(g, batch: n)
        // Otherwise dX's columns = W^T dY per image (W^T packed once), added back a row of dX at a time.
        let viaColumns = dx != nil && !transposed
        let transposedWeights = viaColumns ? try pack(rows: K, depth: oc, panel: pm, w, offset: 0, stride: 0, rowStep: 1, depthStep: K) : nil
        let col = viaColumns ? try allocate(K * chunk * P) : nil
        let rows = (K + pn - 1) / pn * pn
        let columns = PackedPanels(storage: try allocate(rows * chunk * P), count: rows * chunk * P)
        var n0 = 0
        while n0 < n {
            let cnt = min(chunk, n - n0)
            // dW (+)= dY (O x cnt*P, the chunk's images side by side) times its columns, transposed.
            let gradients = try pack(rows: oc, depth: cnt * P, panel: pm, dy, offset: n0 * oc * P, stride: 0, rowStep: P, depthStep: 1,
                                     depthBlock: P, depthBlockStep: oc * P)
            try context.launch("conv_pack_rows", global: [(g.outWidth + 7) / 8, cnt * g.outHeight, rows / pn], local: nil,
                               geometryArgs(g, n0, cnt) + [i(pn), b(x), b(columns.storage)])
            try gemmPacked(m: oc, n: K, k: cnt * P, ap: gradients, strideAp: 0, bp: columns, strideBp: 0,
                           beta: n0 == 0 ? 0 : 1, c: dw, offsetC: 0, ldc: K, strideC: 0, batch: 1)
            if let dx, let transposedWeights, let col {
                // Each image's dY (O x P) as B; its columns land in the chunk's CNHW column matrix.
                let perImage = try pack(rows: P, depth: oc, panel: pn, dy, offset: n0 * oc * P, stride: oc * P, rowStep: 1, depthStep: P, batch: cnt)
                try gemmPacked(m: K, n: P, k: oc, ap: transposedWeights, strideAp: 0, bp: perImage, strideBp: perImage.count / cnt,
                               beta: 0, c: col, offsetC: 0, ldc: cnt * P, strideC: P, batch: cnt)
                try context.launch("col2im_rows", global: [g.height, cnt * g.channels], local: nil,
                                   geometryArgs(g, n0, cnt) + [b(col), b(dx)])
            }
            n0 += cnt
        }
    }

    // MARK: convolution helpers (im2col path)

    private func geometryArgs(_ g: ConvGeometry, _ first: Int, _ images: Int) -> [KernelArgument] {
        [i(first), i(images), i(g.channels), i(g.height), i(g.width), i(g.kernelH), i(g.kernelW), i(g.stride), i(g.padding), i(g.outHeight), i(g.outWidth)]
    }

    public func im2col(_ g: ConvGeometry, firstImage: Int, images: Int, x: Storage, col: Storage) throws {
        try context.launch("im2col", global: [images * g.outHeight * g.outWidth, g.columnRows], local: nil,
                           geometryArgs(g, firstImage, images) + [b(x), b(col)])
    }

    public func col2im(_ g: ConvGeometry, firstImage: Int, images: Int, col: Storage, dx: Storage) throws {
        // The images' dX zeroed, then one scatter per window position (col2im_window).
        let plane = g.channels * g.height * g.width
        try fill(dx, offset: firstImage * plane, count: images * plane, value: 0)
        for kh in 0..<g.kernelH {
            for kw in 0..<g.kernelW {
                try context.launch("col2im_window", global: [g.outWidth, g.outHeight, images * g.channels], local: nil,
                                   geometryArgs(g, firstImage, images) + [i(kh), i(kw), b(col), b(dx)])
            }
        }
    }

    public func nchwToCnhw(firstImage: Int, images: Int, channels: Int, plane: Int, x: Storage, y: Storage) throws {
        try launch1D("nchw_to_cnhw", images * channels * plane, [i(firstImage), i(images), i(channels), i(plane), b(x), b(y)])
    }

    public func cnhwToNchw(firstImage: Int, images: Int, channels: Int, plane: Int, y: Storage, x: Storage) throws {
        try launch1D("cnhw_to_nchw", images * channels * plane, [i(firstImage), i(images), i(channels), i(plane), b(y), b(x)])
    }

    // MARK: pooling

    private func poolArgs(_ g: PoolGeometry) -> [KernelArgument] {
        [i(g.planes), i(g.height), i(g.width), i(g.kernel), i(g.stride), i(g.padding), i(g.outHeight), i(g.outWidth)]
    }

    public func maxpoolForward(_ g: PoolGeometry, x: Storage, y: Storage, argmax: Storage) throws {
        if poolsByPlane { return try context.launch("maxpool_forward_plane", global: [g.planes], local: nil, poolArgs(g) + [b(x), b(y), b(argmax)]) }
        try launchPlanes("maxpool_forward", width: g.outWidth, height: g.outHeight, planes: g.planes, poolArgs(g) + [b(x), b(y), b(argmax)])
    }

    public func maxpoolBackward(_ g: PoolGeometry, dy: Storage, argmax: Storage, dx: Storage) throws {
        if poolsByPlane {
            return try context.launch("maxpool_backward_plane", global: [g.planes], local: nil,
                                      [i(g.planes), i(g.height), i(g.width), i(g.outHeight), i(g.outWidth), i(g.maxpoolScatterPhases),
                                       b(dy), b(argmax), b(dx)])
        }
        guard g.kernel > g.stride else {  // disjoint windows: each input gets at most one window's gradient
            return try launchPlanes("maxpool_backward", width: g.width, height: g.height, planes: g.planes, poolArgs(g) + [b(dy), b(argmax), b(dx)])
        }
        // Overlapping windows: dX = 0, then one scatter per phase of mutually disjoint windows.
        try fill(dx, count: g.planes * g.height * g.width, value: 0)
        let m = g.maxpoolScatterPhases
        for py in 0..<m {
            for px in 0..<m {
                try context.launch("maxpool_backward_phase", global: [(g.outWidth + m - 1) / m, (g.outHeight + m - 1) / m, g.planes], local: nil,
                                   [i(g.planes), i(g.height), i(g.width), i(g.outHeight), i(g.outWidth), i(m), i(py), i(px), b(dy), b(argmax), b(dx)])
            }
        }
    }

    public func globalAvgpoolForward(planes: Int, plane: Int, x: Storage, y: Storage) throws {
        try launch1D("global_avgpool_forward", planes, [i(planes), i(plane), b(x), b(y)])
    }

    public func globalAvgpoolBackward(planes: Int, plane: Int, dy: Storage, dx: Storage) throws {
        try launch1D("global_avgpool_backward", planes * plane, [i(planes), i(plane), b(dy), b(dx)])
    }

    // MARK: batch norm

    public func batchnormForwardTrain(n: Int, c: Int, plane: Int, eps: Float, momentum: Float, relu: Bool, x: Storage, y: Storage,
                                      gamma: Storage, beta: Storage, runningMean: Storage, runningVar: Storage,
                                      savedMean: Storage, savedInvStd: Storage) throws {
        let w = reduceWG
        try context.launch("batchnorm_forward_train", global: [c * w], local: [w],
                           [i(n), i(c), i(plane), f(eps), f(momentum), i(relu ? 1 : 0), b(x), b(y), b(gamma), b(beta),
                            b(runningMean), b(runningVar), b(savedMean), b(savedInvStd)])
    }

    public func batchnormForwardEval(n: Int, c: Int, plane: Int, eps: Float, x: Storage, y: Storage,
                                     gamma: Storage, beta: Storage, runningMean: Storage, runningVar: Storage) throws {
        try launchRows("batchnorm_forward_eval", width: plane, rows: n * c,
                     [i(n), i(c), i(plane), f(eps), b(x), b(y), b(gamma), b(beta), b(runningMean), b(runningVar)])
    }

    public func batchnormBackwardReduce(n: Int, c: Int, plane: Int, relu: Bool, x: Storage, dy: Storage, gamma: Storage, beta: Storage,
                                        savedMean: Storage, savedInvStd: Storage, dgamma: Storage, dbeta: Storage) throws {
        let w = reduceWG
        try context.launch("batchnorm_backward_reduce", global: [c * w], local: [w],
                           [i(n), i(c), i(plane), i(relu ? 1 : 0), b(x), b(dy), b(gamma), b(beta), b(savedMean), b(savedInvStd), b(dgamma), b(dbeta)])
    }

    public func batchnormBackwardInput(n: Int, c: Int, plane: Int, relu: Bool, x: Storage, dy: Storage, gamma: Storage, beta: Storage,
                                       savedMean: Storage, savedInvStd: Storage, dgamma: Storage, dbeta: Storage, dx: Storage) throws {
        try launchRows("batchnorm_backward_input", width: (plane + 7) / 8, rows: n * c,
                     [i(n), i(c), i(plane), i(relu ? 1 : 0), b(x), b(dy), b(gamma), b(beta), b(savedMean), b(savedInvStd), b(dgamma), b(dbeta), b(dx)])
    }

    // MARK: softmax and losses

    public func logSoftmaxForward(rows: Int, cols: Int, x: Storage, y: Storage) throws {
        try launch1D("log_softmax_forward", rows, [i(rows), i(cols), b(x), b(y)])
    }

    public func logSoftmaxBackward(rows: Int, cols: Int, y: Storage, dy: Storage, dx: Storage) throws {
        try launch1D("log_softmax_backward", rows, [i(rows), i(cols), b(y), b(dy), b(dx)])
    }

    public func softmaxCrossEntropy(rows: Int, cols: Int, x: Storage, target: Storage, rowLoss: Storage, dx: Storage) throws {
        try launch1D("softmax_cross_entropy", rows, [i(rows), i(cols), b(x), b(target), b(rowLoss), b(dx)])
    }

    public func bceWithLogits(count: Int, x: Storage, target: Storage, loss: Storage, dx: Storage) throws {
        try launch1D("bce_with_logits", count, [i(count), b(x), b(target), b(loss), b(dx)])
    }

    public func reduceSum(count: Int, x: Storage, out: Storage) throws {
        let w = reduceWG
        try context.launch("reduce_sum", global: [w], local: [w], [i(count), b(x), b(out)])
    }

    // MARK: optimizers

    public func sgdUpdate(count: Int, learningRate: Float, momentum: Float, weightDecay: Float, w: Storage, g: Storage, v: Storage) throws {
        try launch1D("sgd_update", count, [i(count), f(learningRate), f(momentum), f(weightDecay), b(w), b(g), b(v)])
    }

    public func adamwUpdate(count: Int, learningRate: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float,
                            biasCorrection1: Float, biasCorrection2: Float, w: Storage, g: Storage, m: Storage, v: Storage) throws {
        try launch1D("adamw_update", count, [i(count), f(learningRate), f(beta1), f(beta2), f(eps), f(weightDecay),
                                             f(biasCorrection1), f(biasCorrection2), b(w), b(g), b(m), b(v)])
    }

    // MARK: random

    public func randomUniform(count: Int, seed: UInt64, offset: UInt64, low: Float, high: Float, x: Storage) throws {
        try launch1D("random_uniform", count, [i(count), .uint64(seed), .uint64(offset), f(low), f(high), b(x)])
    }

    public func randomNormal(count: Int, seed: UInt64, offset: UInt64, mean: Float, std: Float, x: Storage) throws {
        try launch1D("random_normal", count, [i(count), .uint64(seed), .uint64(offset), f(mean), f(std), b(x)])
    }

    // MARK: augmentation

    public func overlayBlend(batch: Int, size: Int, a: Storage, overlay: Storage, weights: Storage, out: Storage) throws {
        try launch1D("overlay_blend", batch * size, [i(batch), i(size), b(a), b(overlay), b(weights), b(out)])
    }

    public func overlayLabelUnion(batch: Int, classes: Int, labels: Storage, overlayLabels: Storage, apply: Storage, out: Storage) throws {
        try launch1D("overlay_label_union", batch * classes, [i(batch), i(classes), b(labels), b(overlayLabels), b(apply), b(out)])
    }

    public func augmentBarFills(batch: Int, height: Int, width: Int, x: Storage, params: Storage) throws {
        let w = reduceWG
        try context.launch("augment_bar_fills", global: [batch * w], local: [w], [i(batch), i(height), i(width), b(x), b(params)])
    }

    public func augmentSpectrogram(batch: Int, height: Int, width: Int, seed: UInt64, offset: UInt64, x: Storage, params: Storage, y: Storage) throws {
        try launch1D("augment_spectrogram", batch * height * width, [i(batch), i(height), i(width), .uint64(seed), .uint64(offset), b(x), b(params), b(y)])
    }

    public func augmentWaveform(batch: Int, length: Int, seed: UInt64, offset: UInt64, x: Storage, overlay: Storage, params: Storage, y: Storage) throws {
        try launch1D("augment_waveform", batch * length, [i(batch), i(length), .uint64(seed), .uint64(offset), b(x), b(overlay), b(params), b(y)])
    }

    public func gainShift(batch: Int, size: Int, x: Storage, offsets: Storage, y: Storage) throws {
        try launch1D("gain_shift", batch * size, [i(batch), i(size), b(x), b(offsets), b(y)])
    }
}
