/// The primitive operations a device provides. Each method corresponds to one kernel in
/// kernels.cl (same name, camelCase) and has a CPU implementation in `CPUBackend`; tensor ops in
/// this module compose them and check shapes. All storages hold Float32 elements at offset 0
/// unless an offset parameter says otherwise.
public protocol Backend: AnyObject {
    var name: String { get }
    func allocate(_ count: Int) throws -> Storage
    func upload(_ source: UnsafeBufferPointer<Float>, to storage: Storage, offset: Int) throws
    func download(_ storage: Storage, offset: Int, into destination: UnsafeMutableBufferPointer<Float>) throws
    func copy(_ source: Storage, sourceOffset: Int, to destination: Storage, destinationOffset: Int, count: Int) throws
    /// `count` elements of `storage` from `offset`, sharing its memory: what is written through
    /// one is read through the other. `offset` is a multiple of `viewAlignment`; views of one
    /// storage used by the same operation must not overlap.
    func view(_ storage: Storage, offset: Int, count: Int) throws -> Storage
    /// The alignment, in elements, of a view's first element.
    var viewAlignment: Int { get }
    /// Waits until all queued work has finished (no-op on the CPU).
    func synchronize() throws

    /// C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b] for b in 0..<batch; op transposes when asked.
    /// Row-major; `ld*` are leading dimensions of the stored (untransposed) matrices, `stride*` the
    /// element distance between batch entries.
    func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: Storage, offsetA: Int, lda: Int, strideA: Int,
              b: Storage, offsetB: Int, ldb: Int, strideB: Int,
              beta: Float, c: Storage, offsetC: Int, ldc: Int, strideC: Int, batch: Int) throws

    func fill(_ x: Storage, count: Int, value: Float) throws
    func scale(_ x: Storage, count: Int, alpha: Float) throws
    func axpy(count: Int, alpha: Float, x: Storage, y: Storage) throws
    func add(count: Int, a: Storage, b: Storage, out: Storage) throws
    func mul(count: Int, a: Storage, b: Storage, out: Storage) throws
    func reluForward(count: Int, x: Storage, y: Storage) throws
    func reluBackward(count: Int, y: Storage, dy: Storage, dx: Storage) throws
    func sigmoidForward(count: Int, x: Storage, y: Storage) throws
    func sigmoidBackward(count: Int, y: Storage, dy: Storage, dx: Storage) throws
    func biasAddForward(count: Int, channels: Int, inner: Int, x: Storage, bias: Storage) throws
    func biasAddBackward(outer: Int, channels: Int, inner: Int, dy: Storage, dbias: Storage) throws

    /// y[N, O, OH, OW] = conv(x[N, C, H, W], w[O, C, KH, KW]), no bias. Default: im2col + GEMM.
    func conv2dForward(_ g: ConvGeometry, images: Int, outChannels: Int, x: Storage, w: Storage, y: Storage) throws
    /// dw = dL/dw (overwritten) and, when `dx` is given, dx = dL/dx. Default: im2col + GEMM + col2im.
    func conv2dBackward(_ g: ConvGeometry, images: Int, outChannels: Int, x: Storage, w: Storage, dy: Storage,
                        dx: Storage?, dw: Storage) throws
    /// y = conv(x, w) + bias[O], then ReLU when `relu`: a convolution for inference, with a batch
    /// norm folded in (`batchnormFold`). Default: the convolution, then bias and ReLU passes.
    func conv2dForwardBiasActivation(_ g: ConvGeometry, images: Int, outChannels: Int, x: Storage, w: Storage, bias: Storage,
                                     relu: Bool, y: Storage) throws
    func im2col(_ g: ConvGeometry, firstImage: Int, images: Int, x: Storage, col: Storage) throws
    func col2im(_ g: ConvGeometry, firstImage: Int, images: Int, col: Storage, dx: Storage) throws
    func nchwToCnhw(firstImage: Int, images: Int, channels: Int, plane: Int, x: Storage, y: Storage) throws
    func cnhwToNchw(firstImage: Int, images: Int, channels: Int, plane: Int, y: Storage, x: Storage) throws

    func maxpoolForward(_ g: PoolGeometry, x: Storage, y: Storage, argmax: Storage) throws
    func maxpoolBackward(_ g: PoolGeometry, dy: Storage, argmax: Storage, dx: Storage) throws
    func globalAvgpoolForward(planes: Int, plane: Int, x: Storage, y: Storage) throws
    func globalAvgpoolBackward(planes: Int, plane: Int, dy: Storage, dx: Storage) throws

    /// `relu`: the ReLU after the batch norm fused in, y = max(normalised, 0).
    func batchnormForwardTrain(n: Int, c: Int, plane: Int, eps: Float, momentum: Float, relu: Bool, x: Storage, y: Storage,
                               gamma: Storage, beta: Storage, runningMean: Storage, runningVar: Storage,
                               savedMean: Storage, savedInvStd: Storage) throws
    func batchnormForwardEval(n: Int, c: Int, plane: Int, eps: Float, x: Storage, y: Storage,
                              gamma: Storage, beta: Storage, runningMean: Storage, runningVar: Storage) throws
    /// Batch norm (inference) folded into the bias-free convolution before it, weights [O, inner]:
    /// w' = w * s, bias' = beta - mean * s with s = gamma / sqrt(var + eps).
    func batchnormFold(outChannels: Int, inner: Int, eps: Float, w: Storage, gamma: Storage, beta: Storage,
                       runningMean: Storage, runningVar: Storage, foldedW: Storage, foldedBias: Storage) throws
    /// With `relu` (fused in the forward), `dy` is the gradient of the ReLU's output, kept where
    /// the output recomputed from x, the saved statistics, gamma and beta was positive.
    func batchnormBackwardReduce(n: Int, c: Int, plane: Int, relu: Bool, x: Storage, dy: Storage, gamma: Storage, beta: Storage,
                                 savedMean: Storage, savedInvStd: Storage, dgamma: Storage, dbeta: Storage) throws
    func batchnormBackwardInput(n: Int, c: Int, plane: Int, relu: Bool, x: Storage, dy: Storage, gamma: Storage, beta: Storage,
                                savedMean: Storage, savedInvStd: Storage, dgamma: Storage, dbeta: Storage, dx: Storage) throws

    func logSoftmaxForward(rows: Int, cols: Int, x: Storage, y: Storage) throws
    func logSoftmaxBackward(rows: Int, cols: Int, y: Storage, dy: Storage, dx: Storage) throws
    func softmaxCrossEntropy(rows: Int, cols: Int, x: Storage, target: Storage, rowLoss: Storage, dx: Storage) throws
    func bceWithLogits(count: Int, x: Storage, target: Storage, loss: Storage, dx: Storage) throws
    func reduceSum(count: Int, x: Storage, out: Storage) throws

    func sgdUpdate(count: Int, learningRate: Float, momentum: Float, weightDecay: Float, w: Storage, g: Storage, v: Storage) throws
    func adamwUpdate(count: Int, learningRate: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float,
                     biasCorrection1: Float, biasCorrection2: Float, w: Storage, g: Storage, m: Storage, v: Storage) throws

    func randomUniform(count: Int, seed: UInt64, offset: UInt64, low: Float, high: Float, x: Storage) throws
    func randomNormal(count: Int, seed: UInt64, offset: UInt64, mean: Float, std: Float, x: Storage) throws

    func overlayBlend(batch: Int, size: Int, a: Storage, overlay: Storage, weights: Storage, out: Storage) throws
    func overlayLabelUnion(batch: Int, classes: Int, labels: Storage, overlayLabels: Storage, apply: Storage, out: Storage) throws
    /// Masks, noise and translation of spectrogram images; see `augment_spectrogram` in kernels.cl.
    func augmentSpectrogram(batch: Int, height: Int, width: Int, seed: UInt64, offset: UInt64, x: Storage, params: Storage, y: Storage) throws
    /// The bar fills of `augmentSpectrogram` from the images themselves (each bar's fill is the
    /// image's mean when it is drawn); see `augment_bar_fills` in kernels.cl.
    func augmentBarFills(batch: Int, height: Int, width: Int, x: Storage, params: Storage) throws
    /// Gain, overlay mixing, relative noise, wrap and time masks of waveforms; see `augment_waveform` in kernels.cl.
    func augmentWaveform(batch: Int, length: Int, seed: UInt64, offset: UInt64, x: Storage, overlay: Storage, params: Storage, y: Storage) throws
    /// `y = clamp(x + offsets[b], -1, 1)` per sample of `size` elements (random gain on images).
    func gainShift(batch: Int, size: Int, x: Storage, offsets: Storage, y: Storage) throws
}

/// Floats per sample in the `augment_spectrogram` parameter block.
public let augmentParameterCount = 24
/// Floats per sample in the `augment_waveform` parameter block, and the most time masks it holds.
public let waveformAugmentParameterCount = 32
public let waveformAugmentMaxMasks = 12

/// Convolution geometry (NCHW input, OIHW weights, square stride and padding).
public struct ConvGeometry: Hashable, Sendable {
    public var channels, height, width, kernelH, kernelW, stride, padding: Int
    public var outHeight: Int { (height + 2 * padding - kernelH) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernelW) / stride + 1 }
    public var columnRows: Int { channels * kernelH * kernelW }
    public init(channels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int, stride: Int, padding: Int) {
        self.channels = channels; self.height = height; self.width = width
        self.kernelH = kernelH; self.kernelW = kernelW; self.stride = stride; self.padding = padding
    }
}

/// Pooling geometry over `planes` = N*C planes of H x W.
public struct PoolGeometry: Equatable, Sendable {
    public var planes, height, width, kernel, stride, padding: Int
    public var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    public init(planes: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
        self.planes = planes; self.height = height; self.width = width
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }
    /// Max-pool backward scatters each window's gradient to its maximum, in m x m phases of
    /// windows m apart along each axis (m = ceil(kernel / stride)): windows of one phase never
    /// overlap. Every device runs the phases in the same order, so they add in the same order.
    public var maxpoolScatterPhases: Int { (kernel + stride - 1) / stride }
}

/// The counter-based generator shared by every device: value `i` of stream `seed` depends only
/// on (seed, i). Mirrors `chorus_mix64` / `chorus_uniform` in kernels.cl bit for bit.
public enum CounterRandom {
    @inline(__always) public static func mix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always) public static func uniform(seed: UInt64, counter: UInt64) -> Float {
        Float(mix64(seed ^ mix64(counter)) >> 40) * (1.0 / 16_777_216.0)
    }
}
