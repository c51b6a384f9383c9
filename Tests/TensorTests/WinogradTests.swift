import CHostKernels
import Kernels
@testable import Tensor
import TestSupport
import XCTest

/// Winograd F(4x4, 3x3) convolutions against float64: the OpenCL backend's in every GEMM
/// variant's layout (`testOnOpenCLInEveryGEMMVariant`), and the CPU fallback's on shapes that reach
/// every edge of the kernel: images whose sides are not multiples of the 4x4 tiles (partial tiles
/// at the right and bottom), a last panel of 24 tiles only partly filled, several blocks of
/// tiles per chunk of images and several chunks per core, one image (one core), one input
/// channel, output channels a multiple of 4 but not of 8, wide layers (many channels), and
/// weights large enough (344 x 344 channels) that their transform is streamed past the caches.
/// Weights are scaled as a network's are (outputs of order 1, not of order sqrt(9 x channels)):
/// F(4x4, 3x3)'s transforms multiply rounding errors by up to about ten against a direct sum
/// (on ResNet18-like data, 1-2e-5 of the outputs' RMS against 2-4e-6), so unscaled weights
/// with 96 channels would test the tolerance, not the kernel.
final class WinogradTests: XCTestCase {
    var rng = TestRNG(seed: UInt64.random(in: 0...UInt64.max))

    private func weights(_ o: Int, _ c: Int) -> [Float] { rng.uniform(o * c * 9).map { $0 / Float(3 * c).squareRoot() } }

    /// (images, channels, height, width, out channels)
    let shapes = [(2, 3, 9, 11, 4), (1, 1, 5, 7, 8), (9, 4, 30, 30, 8), (3, 64, 7, 7, 12), (2, 8, 4, 4, 4), (5, 96, 6, 13, 20), (2, 12, 3, 2, 8),
                  (1, 344, 4, 5, 344)]

    /// Weight gradients are checked against the gradient's scale (the largest error over the
    /// largest entry), not entry by entry: a fast algorithm's rounding error follows the size of
    /// the sums it transforms, so an entry of 3 beside entries of 100 carries the error of the
    /// 100s. Measured here: 2e-7 to 6e-6 of the largest entry (for 9 images of 30x30 with values
    /// uniform in [-1, 1], up to 2e-4 of some smaller entries, which entry-wise checks would fail).
    private func assertCloseToScale(_ a: [Float], _ b: [Double], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        let scale = max(b.map(abs).max() ?? 0, 1e-30)
        let error = zip(a, b).map { abs(Double($0) - $1) }.max() ?? .infinity
        XCTAssertLessThan(error / scale, 2e-5, "\(message): largest error \(error), \(error / scale) of the largest entry \(scale)", file: file, line: line)
        XCTAssertFalse(a.contains { !$0.isFinite }, "\(message): a value is not finite", file: file, line: line)
    }

    /// A 3x3, stride-1, padding-1 layer's data and weight gradients on `device` (and the weight
    /// gradient alone, as a first layer's) against float64.
    private func assertGradients(_ x: [Float], _ wt: [Float], _ dy: [Float], n: Int, c: Int, h: Int, w: Int, o: Int, on device: Device,
                                 _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let xt = try Tensor(x, shape: [n, c, h, w], on: device), wtt = try Tensor(wt, shape: [o, c, 3, 3], on: device)
        let dyt = try Tensor(dy, shape: [n, o, h, w], on: device)
        let ref = Reference.conv2dBackward(x.doubles, wt.doubles, dy.doubles, n: n, c: c, h: h, wd: w, o: o, k: 3, stride: 1, pad: 1)
        let grads = try Ops.conv2dBackward(dyt, x: xt, weight: wtt, stride: 1, padding: 1)
        assertClose(try grads.dx!.toArray(), ref.dx, "dx \(label)", file: file, line: line)
        assertCloseToScale(try grads.dWeight.toArray(), ref.dw, "dW \(label)", file: file, line: line)
        assertCloseToScale(try Ops.conv2dBackwardWeights(dyt, x: xt, weight: wtt, stride: 1, padding: 1).toArray(), ref.dw, "dW alone \(label)",
                           file: file, line: line)
    }

    /// An OpenCL backend's forward, forward with bias + ReLU (the inference path), data gradient
    /// and weight gradients against float64.
    private func assertEveryDirection(_ x: [Float], _ wt: [Float], _ dy: [Float], _ bias: [Float], n: Int, c: Int, h: Int, w: Int, o: Int,
                                      backend: OpenCLBackend, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let device = Device.opencl(backend.context)
        let xt = try Tensor(x, shape: [n, c, h, w], on: device), wtt = try Tensor(wt, shape: [o, c, 3, 3], on: device)
        let y = try Ops.conv2dForward(xt, weight: wtt, bias: nil, stride: 1, padding: 1)
        let conv = Reference.conv2d(x.doubles, wt.doubles, bias.doubles, n: n, c: c, h: h, wd: w, o: o, kh: 3, kw: 3, stride: 1, pad: 1)
        assertClose(try y.toArray(), conv.enumerated().map { i, v in v - Double(bias[(i / (h * w)) % o]) }, "forward \(label)", file: file, line: line)
        let fused = try Tensor.zeros([n, o, h, w], on: device)
        try backend.conv2dForwardBiasActivation(ConvGeometry(channels: c, height: h, width: w, kernelH: 3, kernelW: 3, stride: 1, padding: 1),
                                                images: n, outChannels: o, x: xt.storage, w: wtt.storage,
                                                bias: try Tensor(bias, shape: [o], on: device).storage, relu: true, y: fused.storage)
        assertClose(try fused.toArray(), conv.map { max($0, 0) }, "bias + ReLU \(label)", file: file, line: line)
        try assertGradients(x, wt, dy, n: n, c: c, h: h, w: w, o: o, on: device, label, file: file, line: line)
    }

    private func requireWinograd() throws {
        guard chorus_winograd_supported(1, 4) != 0 else {
            throw XCTSkip("this CPU lacks AVX2 + FMA: the Winograd kernels do not run here (the CPU fallback uses oneDNN)")
        }
    }

    func testTheShapesItServes() throws {
        try requireWinograd()
        let g = { (k: Int, s: Int, p: Int) in ConvGeometry(channels: 8, height: 9, width: 9, kernelH: k, kernelW: k, stride: s, padding: p) }
        XCTAssertTrue(WinogradConvolution.serves(g(3, 1, 1), outChannels: 12, dataGradient: false))
        XCTAssertFalse(WinogradConvolution.serves(g(3, 1, 1), outChannels: 6, dataGradient: false), "output channels in fours")
        XCTAssertTrue(WinogradConvolution.serves(g(3, 1, 1), outChannels: 6, dataGradient: true), "the data gradient's outputs are the 8 input channels")
        XCTAssertFalse(WinogradConvolution.serves(g(3, 2, 1), outChannels: 8, dataGradient: false), "stride 2")
        XCTAssertFalse(WinogradConvolution.serves(g(3, 1, 0), outChannels: 8, dataGradient: false), "padding 0")
        XCTAssertFalse(WinogradConvolution.serves(g(5, 1, 2), outChannels: 8, dataGradient: false), "5x5")
    }

    func testForwardWithBiasAndReLUAgainstFloat64() throws {
        try requireWinograd()
        for (n, c, h, w, o) in shapes {
            let x = rng.uniform(n * c * h * w), wt = weights(o, c), bias = rng.uniform(o)
            let conv = Reference.conv2d(x.doubles, wt.doubles, bias.doubles, n: n, c: c, h: h, wd: w, o: o, kh: 3, kw: 3, stride: 1, pad: 1)
            for relu in [false, true] {
                var y = [Float](repeating: .nan, count: n * o * h * w)
                x.withUnsafeBufferPointer { px in wt.withUnsafeBufferPointer { pw in bias.withUnsafeBufferPointer { pb in
                    y.withUnsafeMutableBufferPointer { py in
                        WinogradConvolution.convolve(images: n, channels: c, height: h, width: w, outChannels: o, dataGradient: false,
                                                     x: px.baseAddress!, w: pw.baseAddress!, bias: pb.baseAddress!, relu: relu,
                                                     y: py.baseAddress!, threads: 2, pool: HostPool(limitFloats: 0))
                    }
                } } }
                assertClose(y, relu ? conv.map { max($0, 0) } : conv, "Winograd \(n),\(c),\(h),\(w) o\(o) relu \(relu)")
            }
        }
    }

    /// Through the backend (`Device.cpuWinograd`): the forward, the fused inference convolution,
    /// the data and weight gradients, and the weight gradient alone (a first layer's) against float64.
    func testBackendForwardInferenceAndDataGradient() throws {
        try requireWinograd()
        let device = Device.cpuWinograd
        for (n, c, h, w, o) in shapes where c % 4 == 0 {
            let x = rng.uniform(n * c * h * w), wt = weights(o, c), dy = rng.uniform(n * o * h * w)
            let xt = try Tensor(x, shape: [n, c, h, w], on: device), wtt = try Tensor(wt, shape: [o, c, 3, 3], on: device)
            let label = "\(n),\(c),\(h),\(w) o\(o)"
            let y = try Ops.conv2dForward(xt, weight: wtt, bias: nil, stride: 1, padding: 1)
            assertClose(try y.toArray(), Reference.conv2d(x.doubles, wt.doubles, nil, n: n, c: c, h: h, wd: w, o: o, kh: 3, kw: 3, stride: 1, pad: 1), "forward \(label)")
            try assertGradients(x, wt, dy, n: n, c: c, h: h, w: w, o: o, on: device, label)
            let gamma = rng.uniform(o), beta = rng.uniform(o), mean = rng.uniform(o), variance = rng.uniform(o).map { abs($0) + 0.1 }
            let t = { (v: [Float]) in try Tensor(v, shape: [o], on: device) }
            let fused = try Ops.conv2dBatchNormInference(xt, weight: wtt, stride: 1, padding: 1, gamma: t(gamma), beta: t(beta),
                                                         runningMean: t(mean), runningVar: t(variance), eps: 1e-5, relu: true)
            let conv = Reference.conv2d(x.doubles, wt.doubles, nil, n: n, c: c, h: h, wd: w, o: o, kh: 3, kw: 3, stride: 1, pad: 1)
            let expected = conv.enumerated().map { i, v -> Double in
                let ch = (i / (h * w)) % o
                return max((v - Double(mean[ch])) / (Double(variance[ch]) + 1e-5).squareRoot() * Double(gamma[ch]) + Double(beta[ch]), 0)
            }
            assertClose(try fused.toArray(), expected, "conv+bn+relu \(label)")
        }
        XCTAssertGreaterThan((device.backend as! CPUBackend).convolutionWork(kernel: 3).flops, 0)
    }

    /// The OpenCL backend's Winograd (kernels.cl: winograd_weights, winograd_input, the GEMM over
    /// 36 points, winograd_output) with each GEMM variant's operand layout (gemm_packed's panels,
    /// small here so their padding is reached; row-major for gemm_tiled and gemm_blocked) against
    /// float64: the forward, the fused bias + ReLU, the data gradient (filters turned, channels
    /// swapped) and the weight gradient (alone too, as a first layer's), on partial tiles, channel
    /// counts that fill no panel, and one channel, in one chunk of images and in chunks of two
    /// (the last one smaller; the weight gradient's products adding up across chunks); and that
    /// the Winograd kernels ran.
    func testOnOpenCLInEveryGEMMVariant() throws {
        guard let cl = TestDevices.opencl?.openCLContext else { throw XCTSkip("no OpenCL device") }
        defer { OpenCLBackend.winogradChunkFloats = nil }
        for (variant, chunked) in [(KernelTuning.GEMMVariant.packed, false), (.packed, true), (.tiled, false), (.tiled, true), (.blocked, true)] {
            var tuning = TestDevices.smallTuning(variant)
            tuning.convolutions = .winograd
            let backend = OpenCLBackend(context: try OpenCLContext(device: cl.info, tuning: tuning))
            // Last tiles 3, 2, 1, 3, 1 and 4 wide; rows of 10 tiles: groups of four tiles cut by
            // the row's end, and a middle one whose rows load as vectors; a whole last tile in a
            // group the row's end cuts (12 wide: as ResNet's 56 and 28).
            for (n, c, h, w, o) in [(2, 3, 9, 11, 4), (1, 1, 4, 6, 7), (3, 8, 6, 13, 10), (1, 17, 5, 3, 5), (2, 2, 5, 37, 3), (1, 3, 7, 12, 5)] {
                let x = rng.uniform(n * c * h * w), wt = weights(o, c), dy = rng.uniform(n * o * h * w), bias = rng.uniform(o)
                // Chunked: two images a chunk, so three images end with a chunk of one.
                let perImage = 36 * (c + o) * ((h + 3) / 4) * ((w + 3) / 4)
                OpenCLBackend.winogradChunkFloats = chunked ? 2 * perImage : nil
                let label = "\(n),\(c),\(h),\(w) o\(o) \(variant)\(chunked ? ", two images a chunk" : "")"
                backend.context.startKernelProfile()
                try assertEveryDirection(x, wt, dy, bias, n: n, c: c, h: h, w: w, o: o, backend: backend, label)
                let kernels = try backend.context.stopKernelProfile().entries.filter { $0.kernel.hasPrefix("winograd_") }
                // The forward, the fused inference and the data gradient transform weights once
                // and inputs once per chunk; both weight gradients transform inputs too.
                let chunks = chunked ? (n + 1) / 2 : 1
                XCTAssertEqual(Dictionary(uniqueKeysWithValues: kernels.map { ($0.kernel, $0.launches) }),
                               ["winograd_weights": 3, "winograd_input": 5 * chunks, "winograd_output": 3 * chunks,
                                "winograd_output_gradient": 2 * chunks, "winograd_weights_gradient": 2], label)
            }
        }
    }

    /// The fused Winograd kernel (kernels.cl: winograd_fused; measured on CPU-type devices, forced
    /// here on any) against float64: the forward, bias + ReLU and the data gradient, beside the
    /// three-launch weight gradient; on partial tiles, groups of four tiles cut by the row's end,
    /// blocks of 16 tiles spanning rows and images, rows long enough for the vector loads, and
    /// output channels that fill no panel of 6, one panel or several; and that it ran, in every
    /// Winograd convolution. The first shapes' scratch fits 32 KiB of local memory (Oclgrind's;
    /// one with two panels forward); the last ones, three panels forward and two in both
    /// directions, run on devices with more.
    func testFusedOnOpenCL() throws {
        guard let cl = TestDevices.opencl?.openCLContext else { throw XCTSkip("no OpenCL device") }
        var tuning = TestDevices.smallTuning(.packed)
        tuning.convolutions = .winogradFused
        let backend = OpenCLBackend(context: try OpenCLContext(device: cl.info, tuning: tuning))
        let small = [(2, 3, 9, 11, 4), (1, 1, 4, 6, 5), (3, 5, 6, 13, 6), (2, 2, 9, 22, 3), (1, 2, 5, 37, 2), (1, 2, 7, 12, 4), (1, 1, 5, 9, 7)]
        for (n, c, h, w, o) in small + (TestDevices.openCLIsSimulated ? [] : [(2, 4, 6, 13, 13), (1, 8, 5, 9, 7)]) {
            let scratch = [(c, o), (o, c)].map { OpenCLBackend.winogradFusedScratch(channels: $0.0, outChannels: $0.1) }
            if small.contains(where: { $0 == (n, c, h, w, o) }) { XCTAssertLessThanOrEqual(scratch.map { $0.inputs + $0.products }.max()!, 32 * 1024) }
            XCTAssertTrue(backend.winogradFuses(channels: c, outChannels: o) && backend.winogradFuses(channels: o, outChannels: c))
            let x = rng.uniform(n * c * h * w), wt = weights(o, c), dy = rng.uniform(n * o * h * w), bias = rng.uniform(o)
            let label = "\(n),\(c),\(h),\(w) o\(o) fused"
            backend.context.startKernelProfile()
            try assertEveryDirection(x, wt, dy, bias, n: n, c: c, h: h, w: w, o: o, backend: backend, label)
            let kernels = try backend.context.stopKernelProfile().entries.filter { $0.kernel.hasPrefix("winograd_") }
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: kernels.map { ($0.kernel, $0.launches) }),
                           ["winograd_weights": 3, "winograd_fused": 3, "winograd_input": 2, "winograd_output_gradient": 2,
                            "winograd_weights_gradient": 2], label)
        }
    }

    /// A layer as wide as ResNet18's last (512 channels in and out, here on one 4x4 image) in
    /// every direction on the OpenCL device, against float64: the filter transforms then run
    /// hundreds of work-groups of eight-channel work-items (a first version of them, its private
    /// arrays 2.4 KiB a work-item, crashed POCL in a benchmark at this width, in work-groups of
    /// the runtime's choosing). Not on Oclgrind (minutes there).
    func testWideLayerOnOpenCL() throws {
        guard let cl = TestDevices.opencl?.openCLContext, !TestDevices.openCLIsSimulated else { throw XCTSkip("no OpenCL device, or a simulated one") }
        for variant in [KernelTuning.GEMMVariant.packed, .tiled] {
            var tuning = TestDevices.smallTuning(variant)
            tuning.convolutions = .winograd
            let backend = OpenCLBackend(context: try OpenCLContext(device: cl.info, tuning: tuning))
            let (n, c, h, w, o) = (1, 512, 4, 4, 512)
            let x = rng.uniform(n * c * h * w), wt = weights(o, c), dy = rng.uniform(n * o * h * w), bias = rng.uniform(o)
            try assertEveryDirection(x, wt, dy, bias, n: n, c: c, h: h, w: w, o: o, backend: backend, "512 channels \(variant)")
        }
    }

    /// The weight gradient in chunks of one to three images (each chunk's products adding to the
    /// last's), with a last chunk smaller than the others, against float64; and the same bits
    /// on one, two or three cores.
    func testWeightGradientInChunksAgainstFloat64() throws {
        try requireWinograd()
        defer { chorus_winograd_set_gradient_budget(0) }
        for (n, c, h, w, o) in [(5, 3, 9, 11, 4), (4, 16, 7, 6, 6), (3, 1, 5, 5, 2), (7, 8, 12, 12, 8)] {
            let x = rng.uniform(n * c * h * w), dy = rng.uniform(n * o * h * w)
            let ref = Reference.conv2dBackward(x.doubles, [Double](repeating: 0, count: o * c * 9), dy.doubles, n: n, c: c, h: h, wd: w, o: o, k: 3, stride: 1, pad: 1)
            let perImage = 36 * (c + o) * ((h + 3) / 4) * ((w + 3) / 4)
            for imagesPerChunk in [1, 2, 3, n] {
                chorus_winograd_set_gradient_budget(imagesPerChunk * perImage)
                let results = [1, 2, 3].map { threads -> [Float] in
                    var dw = [Float](repeating: .nan, count: o * c * 9)
                    dw.withUnsafeMutableBufferPointer { pdw in
                        WinogradConvolution.weightGradient(images: n, channels: c, height: h, width: w, outChannels: o, x: x, dy: dy,
                                                           dw: pdw.baseAddress!, threads: threads, pool: HostPool(limitFloats: 0))
                    }
                    return dw
                }
                assertCloseToScale(results[0], ref.dw, "dW \(n),\(c),\(h),\(w) o\(o), \(imagesPerChunk) images a chunk")
                XCTAssertEqual(results[0], results[1], "one core and two")
                XCTAssertEqual(results[0], results[2], "one core and three")
            }
        }
    }

    /// A batch of no images has a zero weight gradient. The float64 sums come from the pool,
    /// here seeded with a buffer of NaN of their size: without the guard they would reach dW.
    func testNoImagesGiveAZeroWeightGradient() throws {
        try requireWinograd()
        let (c, o) = (4, 4), sums = 2 * 36 * o * c  // dU's floats (float64, two floats a value)
        let pool = HostPool(limitFloats: 1 << 20), stale = UnsafeMutablePointer<Float>.allocate(capacity: sums)
        stale.initialize(repeating: .nan, count: sums)
        pool.give(stale, count: sums)
        var dw = [Float](repeating: .nan, count: o * c * 9)
        dw.withUnsafeMutableBufferPointer { pdw in
            WinogradConvolution.weightGradient(images: 0, channels: c, height: 5, width: 5, outChannels: o, x: [Float](repeating: 1, count: 1),
                                               dy: [Float](repeating: 1, count: 1), dw: pdw.baseAddress!, threads: 2, pool: pool)
        }
        XCTAssertEqual(dw, [Float](repeating: 0, count: o * c * 9))
    }

    /// Where the CPU has AVX-512, the products run in it (panels of 48 tiles, 8 x 48 and 4 x 48
    /// register blocks) and, limited to AVX2, in panels of 24 (4 x 24): each output adds the same
    /// products in the same order either way, so the two give the same bits, forward and data
    /// gradient, on every shape (partial panels, output channels in fours but not eights) and on
    /// one large enough that each core's share of 48-wide panels spans several blocks and chunks
    /// of images, with 8 x 48 and 4 x 48 blocks side by side (40 images of 64 channels, 30 x 30,
    /// 12 outputs). The other tests check against float64 whichever width ran.
    func testAVX512ProductsGiveTheAVX2Bits() throws {
        try requireWinograd()
        guard WinogradConvolution.vectorBits == 512 else {
            throw XCTSkip("this CPU has no AVX-512: the Winograd products run in AVX2 only (checked against float64 by the other tests)")
        }
        defer { WinogradConvolution.limitVectors(512) }
        for (n, c, h, w, o) in shapes + [(40, 64, 30, 30, 12)] {
            let x = rng.uniform(n * c * h * w), wt = weights(o, c), bias = rng.uniform(o)
            for dataGradient in [false, true] {
                // The data gradient's weights are the layer's [c][o][3][3]: its outputs are c channels.
                let (inC, outC) = dataGradient ? (o, c) : (c, o)
                guard outC % 4 == 0 else { continue }
                let input = dataGradient ? rng.uniform(n * inC * h * w) : x
                let results = [256, 512].map { bits -> [Float] in
                    WinogradConvolution.limitVectors(bits)
                    XCTAssertEqual(WinogradConvolution.vectorBits, bits)
                    var y = [Float](repeating: .nan, count: n * outC * h * w)
                    input.withUnsafeBufferPointer { px in wt.withUnsafeBufferPointer { pw in
                        y.withUnsafeMutableBufferPointer { py in
                            WinogradConvolution.convolve(images: n, channels: inC, height: h, width: w, outChannels: outC, dataGradient: dataGradient,
                                                         x: px.baseAddress!, w: pw.baseAddress!, bias: dataGradient ? nil : bias,
                                                         relu: false, y: py.baseAddress!, threads: 2, pool: HostPool(limitFloats: 0))
                        }
                    } }
                    return y
                }
                XCTAssertFalse(results[1].contains { !$0.isFinite }, "\(n),\(c),\(h),\(w) o\(o) data gradient \(dataGradient): every output written")
                let differing = zip(results[0], results[1]).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "\(n),\(c),\(h),\(w) o\(o) data gradient \(dataGradient): \(differing) of \(results[0].count) outputs differ between AVX2 and AVX-512 products")
            }
        }
    }

    /// Each output is computed by one core from its tile alone: splitting the images between
    /// one, two or three cores gives the same bits.
    func testTheResultDoesNotDependOnHowImagesAreSplit() throws {
        try requireWinograd()
        let (n, c, h, w, o) = (5, 16, 13, 10, 8)
        let x = rng.uniform(n * c * h * w), wt = weights(o, c)
        let results = [1, 2, 3].map { threads -> [Float] in
            var y = [Float](repeating: .nan, count: n * o * h * w)
            y.withUnsafeMutableBufferPointer { py in
                WinogradConvolution.convolve(images: n, channels: c, height: h, width: w, outChannels: o, dataGradient: false,
                                             x: x, w: wt, bias: nil, relu: false, y: py.baseAddress!, threads: threads, pool: HostPool(limitFloats: 0))
            }
            return y
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
    }
}
