import Foundation
import CHostKernels
import Kernels
@testable import Tensor
import TestSupport
import XCTest

/// Every backward op against central finite differences of the float64 reference forward,
/// on small shapes, on every device: the gradient of L = sum(dy * f(x)) with a random dy.
final class BackwardOpTests: XCTestCase {
    var rng = TestRNG(seed: UInt64.random(in: 0...UInt64.max))
    let tolerance = 2e-3

    func testConv2dBackwardInputWeightsBias() throws {
        for device in TestDevices.convolution {
            for (n, c, h, w, o, k, s, p) in [(2, 2, 5, 6, 3, 3, 1, 1), (2, 3, 7, 7, 2, 3, 2, 1), (1, 2, 6, 6, 2, 1, 2, 0)] {
                let x = rng.uniform(n * c * h * w), wt = rng.uniform(o * c * k * k), b = rng.uniform(o)
                let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
                let dy = rng.uniform(n * o * oh * ow)
                let xt = try Tensor(x, shape: [n, c, h, w], on: device), wtt = try Tensor(wt, shape: [o, c, k, k], on: device)
                let grads = try Ops.conv2dBackward(Tensor(dy, shape: [n, o, oh, ow], on: device), x: xt, weight: wtt, stride: s, padding: p, hasBias: true)
                let f = { (xx: [Double], ww: [Double], bb: [Double]) -> Double in
                    dot(dy.doubles, Reference.conv2d(xx, ww, bb, n: n, c: c, h: h, wd: w, o: o, kh: k, kw: k, stride: s, pad: p))
                }
                let label = "conv2d \(n),\(c),\(h),\(w) k\(k) s\(s) p\(p) on \(device.identifier)"
                assertClose(try grads.dx!.toArray(), finiteDifference(x.doubles) { f($0, wt.doubles, b.doubles) }, tolerance: tolerance, "\(label) dx")
                assertClose(try grads.dWeight.toArray(), finiteDifference(wt.doubles) { f(x.doubles, $0, b.doubles) }, tolerance: tolerance, "\(label) dW")
                assertClose(try grads.dBias!.toArray(), finiteDifference(b.doubles) { f(x.doubles, wt.doubles, $0) }, tolerance: tolerance, "\(label) db")
                // The single-purpose wrappers agree with the combined pass.
                XCTAssertEqual(try Ops.conv2dBackwardInput(Tensor(dy, shape: [n, o, oh, ow], on: device), x: xt, weight: wtt, stride: s, padding: p).toArray(), try grads.dx!.toArray())
            }
        }
    }

    /// Every convolution path of the OpenCL backend on the device here, forward, backward-data and
    /// backward-weights against float64: with a GPU's tuning the implicit GEMMs (split along k as
    /// well as whole) and the per-shape choice; with a CPU device's, im2col + gemm_blocked and the
    /// packed path (columns packed straight from the images, small panels so edges are hit).
    func testConvolutionPathsOnOpenCL() throws {
        guard let cl = TestDevices.opencl?.openCLContext else { throw XCTSkip("no OpenCL device") }
        let configurations: [(KernelTuning.GEMMVariant, Bool?, Bool)] = [(.tiled, true, false), (.tiled, true, true), (.tiled, nil, false), (.blocked, false, false), (.packed, false, false)]
        for (variant, implicit, splitK) in configurations {
            var tuning = TestDevices.smallTuning(variant)
            tuning.convolutions = implicit.map { $0 ? .implicitGEMM : .im2col } ?? .tuned  // nil: per shape, measured
            if splitK { tuning.splitKGroupsPerUnit = 64; tuning.splitKMinimumDepth = 16 }
            let backend = OpenCLBackend(context: try OpenCLContext(device: cl.info, tuning: tuning))
            XCTAssertEqual(backend.convolvesImplicitly, implicit ?? true)
            XCTAssertEqual(backend.convolutionChoices != nil, implicit == nil)
            let device = Device.opencl(backend.context)
            // Measuring a new shape both ways (nil: tuned) runs it nine times per direction, minutes
            // under Oclgrind: one small shape there (the choice machinery, not the kernels, is
            // what that case adds).
            let shapes = [(2, 3, 9, 11, 4, 3, 1, 1), (3, 2, 12, 12, 5, 7, 2, 3), (2, 16, 10, 9, 33, 3, 2, 1), (2, 32, 6, 6, 16, 1, 2, 0), (1, 5, 7, 6, 3, 2, 3, 0),
                          (2, 4, 6, 5, 3, 2, 1, 0), (2, 3, 7, 7, 2, 5, 1, 1), (1, 6, 5, 5, 7, 1, 1, 0),  // stride 1: packed dX as a convolution
                          (2, 2, 9, 37, 5, 3, 2, 1),  // 19 outputs a row: runs of eight packed as vectors, strided
                          (2, 3, 5, 6, 4, 2, 1, 2), (2, 3, 11, 10, 4, 5, 2, 2)]  // padding past the window; stride 2, 5x5
            for (n, c, h, w, o, k, s, p) in implicit == nil ? [shapes[4]] : shapes {
                let x = rng.uniform(n * c * h * w), wt = rng.uniform(o * c * k * k)
                let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
                let dy = rng.uniform(n * o * oh * ow)
                let label = "conv2d \(n),\(c),\(h),\(w) o\(o) k\(k) s\(s) p\(p) \(variant) implicit \(implicit.map { "\($0)" } ?? "tuned") split-K \(splitK)"
                let xt = try Tensor(x, shape: [n, c, h, w], on: device), wtt = try Tensor(wt, shape: [o, c, k, k], on: device)
                let y = try Ops.conv2dForward(xt, weight: wtt, bias: nil, stride: s, padding: p)
                let zeros = [Double](repeating: 0, count: o)
                assertCloseToTerms(try y.toArray(), Reference.conv2d(x.doubles, wt.doubles, zeros, n: n, c: c, h: h, wd: w, o: o, kh: k, kw: k, stride: s, pad: p),
                                   scales: Reference.conv2d(x.doubles.map(abs), wt.doubles.map(abs), zeros, n: n, c: c, h: h, wd: w, o: o, kh: k, kw: k, stride: s, pad: p),
                                   "\(label) forward")
                if splitK && n * oh * ow >= 2 * tuning.splitKMinimumDepth { XCTAssertGreaterThan(backend.splitKSlices(m: o, n: c * k * k, k: n * oh * ow, batch: 1), 1, label) }
                let ref = Reference.conv2dBackward(x.doubles, wt.doubles, dy.doubles, n: n, c: c, h: h, wd: w, o: o, k: k, stride: s, pad: p)
                let terms = Reference.conv2dBackward(x.doubles.map(abs), wt.doubles.map(abs), dy.doubles.map(abs), n: n, c: c, h: h, wd: w, o: o, k: k, stride: s, pad: p)
                let grads = try Ops.conv2dBackward(Tensor(dy, shape: [n, o, oh, ow], on: device), x: xt, weight: wtt, stride: s, padding: p)
                assertCloseToTerms(try grads.dx!.toArray(), ref.dx, scales: terms.dx, "\(label) dx")
                assertCloseToTerms(try grads.dWeight.toArray(), ref.dw, scales: terms.dw, "\(label) dW")
                if variant == .packed {
                    // The packed path writes no column matrix forward, and adds columns back
                    // (col2im_rows) only for strided layers (stride 1: dX is a convolution of dY).
                    backend.context.startKernelProfile()
                    _ = try Ops.conv2dForward(xt, weight: wtt, bias: nil, stride: s, padding: p)
                    _ = try Ops.conv2dBackward(Tensor(dy, shape: [n, o, oh, ow], on: device), x: xt, weight: wtt, stride: s, padding: p)
                    let kernels = Set(try backend.context.stopKernelProfile().entries.map(\.kernel))
                    XCTAssertTrue(kernels.isSuperset(of: ["conv_pack_pixels", "conv_pack_rows", "gemm_packed"]), "\(label): \(kernels.sorted())")
                    XCTAssertFalse(kernels.contains("im2col"), "\(label): \(kernels.sorted())")
                    XCTAssertEqual(kernels.contains("col2im_rows"), s != 1 || p >= k, "\(label): \(kernels.sorted())")
                    XCTAssertFalse(kernels.contains("col2im_window"), "\(label): \(kernels.sorted())")
                }
            }
        }
    }

    /// Strided layers whose data gradient goes through columns, one image per chunk: each chunk
    /// zeroes and fills only its own images' dX (a chunk that zeroed from the first image would
    /// wipe the gradients of those before it), on the packed path (col2im_rows) and on im2col +
    /// GEMM (col2im_window).
    func testStridedDataGradientInChunksOnOpenCL() throws {
        guard let cl = TestDevices.opencl?.openCLContext else { throw XCTSkip("no OpenCL device") }
        let savedBudget = Ops.columnBudget
        defer { Ops.columnBudget = savedBudget }
        Ops.columnBudget = 200  // one image per chunk
        for variant in [KernelTuning.GEMMVariant.packed, .blocked] {
            var tuning = TestDevices.smallTuning(variant)
            tuning.convolutions = .im2col
            let device = Device.opencl(OpenCLBackend(context: try OpenCLContext(device: cl.info, tuning: tuning)).context)
            for (n, c, h, w, o, k, s, p) in [(3, 2, 9, 11, 4, 3, 2, 1), (3, 3, 8, 8, 2, 1, 2, 0)] {
                let x = rng.uniform(n * c * h * w), wt = rng.uniform(o * c * k * k)
                let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
                let dy = rng.uniform(n * o * oh * ow)
                let ref = Reference.conv2dBackward(x.doubles, wt.doubles, dy.doubles, n: n, c: c, h: h, wd: w, o: o, k: k, stride: s, pad: p)
                let terms = Reference.conv2dBackward(x.doubles.map(abs), wt.doubles.map(abs), dy.doubles.map(abs), n: n, c: c, h: h, wd: w, o: o, k: k, stride: s, pad: p)
                let grads = try Ops.conv2dBackward(Tensor(dy, shape: [n, o, oh, ow], on: device), x: Tensor(x, shape: [n, c, h, w], on: device),
                                                   weight: Tensor(wt, shape: [o, c, k, k], on: device), stride: s, padding: p)
                let label = "conv2d \(n),\(c),\(h),\(w) o\(o) k\(k) s\(s) p\(p) \(variant), one image per chunk"
                assertCloseToTerms(try grads.dx!.toArray(), ref.dx, scales: terms.dx, "\(label) dx")
                assertCloseToTerms(try grads.dWeight.toArray(), ref.dw, scales: terms.dw, "\(label) dW")
            }
        }
    }

    /// Shapes large enough for oneDNN's blocked layouts, against the float64 gradients written
    /// out (finite differences would take minutes here), including the weights-only pass of a
    /// first layer.
    func testConv2dBackwardInBlockedLayouts() throws {
        for device in TestDevices.convolution where !(device.openCLContext != nil && TestDevices.openCLIsSimulated) {
            for (n, c, h, w, o, k, s, p) in [(2, 16, 10, 9, 32, 3, 2, 1), (3, 24, 7, 7, 40, 3, 1, 1), (2, 1, 12, 12, 16, 7, 2, 3), (2, 32, 6, 6, 16, 1, 2, 0)] {
                let x = rng.uniform(n * c * h * w), wt = rng.uniform(o * c * k * k)
                let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
                let dy = rng.uniform(n * o * oh * ow)
                let ref = Reference.conv2dBackward(x.doubles, wt.doubles, dy.doubles, n: n, c: c, h: h, wd: w, o: o, k: k, stride: s, pad: p)
                // Each error against the size of the terms it adds up: on the Winograd paths the
                // entry-wise 1e-4 failed one run in many (dx of the 24-channel layer, 1.05e-4).
                let terms = Reference.conv2dBackward(x.doubles.map(abs), wt.doubles.map(abs), dy.doubles.map(abs), n: n, c: c, h: h, wd: w, o: o, k: k, stride: s, pad: p)
                let xt = try Tensor(x, shape: [n, c, h, w], on: device), wtt = try Tensor(wt, shape: [o, c, k, k], on: device)
                let dyt = try Tensor(dy, shape: [n, o, oh, ow], on: device)
                let grads = try Ops.conv2dBackward(dyt, x: xt, weight: wtt, stride: s, padding: p)
                let label = "conv2d \(n),\(c),\(h),\(w) o\(o) k\(k) s\(s) p\(p) on \(device.identifier)"
                assertCloseToTerms(try grads.dx!.toArray(), ref.dx, scales: terms.dx, "\(label) dx")
                assertCloseToTerms(try grads.dWeight.toArray(), ref.dw, scales: terms.dw, "\(label) dW")
                assertCloseToTerms(try Ops.conv2dBackwardWeights(dyt, x: xt, weight: wtt, stride: s, padding: p).toArray(), ref.dw, scales: terms.dw, "\(label) dW alone")
            }
        }
    }

    /// The native path's weight gradient of inputs with few channels (sliding windows, no column
    /// matrix), in its AVX2 + FMA and portable versions, against float64: output channels not a
    /// multiple of the kernel's four, odd window widths, rows that end mid-vector, strides 1 to 3,
    /// padding wider than the stride, and more images than cores.
    func testNarrowInputWeightGradientBySlidingWindows() throws {
        let device = Device.cpuIm2col
        defer { chorus_host_kernels_use_portable(0) }
        for portable in [false, true] {
            chorus_host_kernels_use_portable(portable ? 1 : 0)
            for (n, c, h, w, o, k, s, p) in [(3, 1, 23, 37, 16, 5, 2, 2), (2, 1, 19, 20, 6, 7, 2, 3), (5, 3, 9, 11, 5, 3, 1, 1),
                                             (2, 2, 14, 29, 9, 4, 3, 0), (1, 1, 8, 8, 1, 1, 1, 0), (4, 2, 10, 13, 3, 5, 1, 4)] {
                let g = ConvGeometry(channels: c, height: h, width: w, kernelH: k, kernelW: k, stride: s, padding: p)
                XCTAssertLessThanOrEqual(g.columnRows, CPUBackend.narrowColumnRows, "a narrow input")
                let x = rng.uniform(n * c * h * w), wt = rng.uniform(o * c * k * k)
                let dy = rng.uniform(n * o * g.outHeight * g.outWidth)
                let ref = Reference.conv2dBackward(x.doubles, wt.doubles, dy.doubles, n: n, c: c, h: h, wd: w, o: o, k: k, stride: s, pad: p)
                let dw = try Ops.conv2dBackwardWeights(Tensor(dy, shape: [n, o, g.outHeight, g.outWidth], on: device),
                                                       x: Tensor(x, shape: [n, c, h, w], on: device),
                                                       weight: Tensor(wt, shape: [o, c, k, k], on: device), stride: s, padding: p)
                assertClose(try dw.toArray(), ref.dw, tolerance: 1e-4,
                            "narrow dW \(n),\(c),\(h),\(w) o\(o) k\(k) s\(s) p\(p) (\(portable ? "portable" : String(cString: chorus_host_kernels_isa())))")
            }
        }
    }

    func testLinearAndMatmulBackward() throws {
        for device in TestDevices.all {
            let (n, i, o) = (4, 5, 3)
            let x = rng.uniform(n * i), w = rng.uniform(o * i), b = rng.uniform(o), dy = rng.uniform(n * o)
            let g = try Ops.linearBackward(Tensor(dy, shape: [n, o], on: device), x: Tensor(x, shape: [n, i], on: device),
                                           weight: Tensor(w, shape: [o, i], on: device), hasBias: true)
            let f = { (xx: [Double], ww: [Double], bb: [Double]) -> Double in
                var y = Reference.gemm(xx, ww, m: n, n: o, k: i, transA: false, transB: true)
                for r in 0..<n { for j in 0..<o { y[r * o + j] += bb[j] } }
                return dot(dy.doubles, y)
            }
            assertClose(try g.dx.toArray(), finiteDifference(x.doubles) { f($0, w.doubles, b.doubles) }, tolerance: tolerance, "linear dx")
            assertClose(try g.dWeight.toArray(), finiteDifference(w.doubles) { f(x.doubles, $0, b.doubles) }, tolerance: tolerance, "linear dW")
            assertClose(try g.dBias!.toArray(), finiteDifference(b.doubles) { f(x.doubles, w.doubles, $0) }, tolerance: tolerance, "linear db")
            let (m, k, nn) = (3, 4, 5)
            let a = rng.uniform(m * k), bm = rng.uniform(k * nn), dc = rng.uniform(m * nn)
            let mg = try Ops.matmulBackward(Tensor(dc, shape: [m, nn], on: device), a: Tensor(a, shape: [m, k], on: device), b: Tensor(bm, shape: [k, nn], on: device))
            let fm = { (aa: [Double], bb: [Double]) in dot(dc.doubles, Reference.gemm(aa, bb, m: m, n: nn, k: k, transA: false, transB: false)) }
            assertClose(try mg.da.toArray(), finiteDifference(a.doubles) { fm($0, bm.doubles) }, tolerance: tolerance, "matmul da")
            assertClose(try mg.db.toArray(), finiteDifference(bm.doubles) { fm(a.doubles, $0) }, tolerance: tolerance, "matmul db")
        }
    }

    /// Every test device, and the OpenCL one twice: with the max-pooling kernels for its type and
    /// with the others (a plane per work-item on CPU devices, an output per work-item on GPUs).
    private var poolingDevices: [(device: Device, name: String)] {
        var devices = TestDevices.all.map { ($0, $0.identifier) }
        if let cl = TestDevices.opencl?.openCLContext {
            let backend = OpenCLBackend(context: cl)
            backend.poolsByPlane.toggle()
            devices.append((Device(kind: .opencl(cl), backend: backend), "opencl, max pooling \(backend.poolsByPlane ? "by plane" : "by output")"))
        }
        return devices
    }

    func testPoolingBackward() throws {
        for (device, name) in poolingDevices {
            let (n, c, h, w) = (2, 2, 7, 8)
            // Distinct values so the max is unique and differentiable.
            var x = (0..<(n * c * h * w)).map { Float($0) * 0.01 }
            x.shuffle(using: &rng)
            let xt = try Tensor(x, shape: [n, c, h, w], on: device)
            // Overlapping windows (ResNet18's stem), disjoint ones (the small CNN's; with padding;
            // narrower than the stride, leaving inputs in no window) and stride 1.
            let openCL = device.backend as? OpenCLBackend
            for (k, st, pd) in [(3, 2, 1), (2, 2, 0), (3, 3, 1), (1, 2, 0), (2, 1, 0)] {
                openCL?.context.startKernelProfile()
                let (y, arg) = try Ops.maxPool2dForward(xt, kernel: k, stride: st, padding: pd)
                assertClose(try y.toArray(), Reference.maxpool(x.doubles, planes: n * c, h: h, w: w, k: k, s: st, p: pd), "maxpool \(k)x\(k) stride \(st) padding \(pd) on \(name)")
                let dy = rng.uniform(y.count)
                let dx = try Ops.maxPool2dBackward(Tensor(dy, shape: y.shape, on: device), argmax: arg, inputShape: xt.shape, kernel: k, stride: st, padding: pd)
                if let openCL {  // the kernel family the backend was set to is the one that ran
                    let pooling = Set(try openCL.context.stopKernelProfile().entries.map(\.kernel).filter { $0.hasPrefix("maxpool") })
                    XCTAssertEqual(pooling.allSatisfy { $0.hasSuffix("_plane") }, openCL.poolsByPlane, "\(name): \(pooling.sorted())")
                    XCTAssertEqual(pooling.count, 2, "\(name): \(pooling.sorted())")
                }
                let fd = finiteDifference(x.doubles, h: 1e-4) { dot(dy.doubles, Reference.maxpool($0, planes: n * c, h: h, w: w, k: k, s: st, p: pd)) }
                assertClose(try dx.toArray(), fd, tolerance: tolerance, "maxpool \(k)x\(k) stride \(st) padding \(pd) backward on \(name)")
            }
            let dyg = rng.uniform(n * c)
            let dxg = try Ops.globalAvgPoolBackward(Tensor(dyg, shape: [n, c], on: device), inputShape: xt.shape)
            let fdg = finiteDifference(x.doubles) { xx in
                (0..<(n * c)).reduce(0.0) { acc, q in acc + Double(dyg[q]) * xx[(q * h * w)..<((q + 1) * h * w)].reduce(0, +) / Double(h * w) }
            }
            assertClose(try dxg.toArray(), fdg, tolerance: tolerance, "global avgpool backward on \(device.identifier)")
        }
    }

    /// An input that is the maximum of several overlapping windows (ResNet18's 3x3 stride-2 stem:
    /// every input at odd row and column lies in four) receives all their gradients, added in the
    /// same order on every device: the same bits.
    func testOverlappingMaxPoolWindowsShareTheirMaximum() throws {
        let (planes, h, w) = (3, 9, 11)
        // Distinct values 0.003 apart (more than the finite differences' two steps), then peaks.
        var x = (0..<(planes * h * w)).map { Float($0) * 0.003 - 1 }
        x.shuffle(using: &rng)
        let peaks = [(0, 3, 3), (1, 1, 5), (2, 7, 9), (2, 3, 1)]  // (plane, row, column), each in four windows
        for (p, r, c) in peaks { x[(p * h + r) * w + c] = 5 }
        var results: [[Float]] = []
        for (device, name) in poolingDevices {
            let xt = try Tensor(x, shape: [1, planes, h, w], on: device)
            let (y, arg) = try Ops.maxPool2dForward(xt, kernel: 3, stride: 2, padding: 1)
            let dy: [Float] = (0..<y.count).map { (k: Int) -> Float in Float(k % 7) * 0.37 + 0.011 * Float(k) }
            let dx = try Ops.maxPool2dBackward(Tensor(dy, shape: y.shape, on: device), argmax: arg, inputShape: xt.shape, kernel: 3, stride: 2, padding: 1).toArray()
            let (oh, ow) = (y.shape[2], y.shape[3])
            for (p, r, c) in peaks {
                // The four windows (r/2 or r/2+1, c/2 or c/2+1) all pick the peak.
                var expected = 0.0
                for wy in [r / 2, r / 2 + 1] {
                    for wx in [c / 2, c / 2 + 1] { expected += Double(dy[(p * oh + wy) * ow + wx]) }
                }
                let got = Double(dx[(p * h + r) * w + c])
                XCTAssertEqual(got, expected, accuracy: 1e-5, "peak (\(p), \(r), \(c)) on \(name)")
            }
            let fd = finiteDifference(x.doubles, h: 1e-3) { dot(dy.doubles, Reference.maxpool($0, planes: planes, h: h, w: w, k: 3, s: 2, p: 1)) }
            assertClose(dx, fd, tolerance: tolerance, "maxpool backward with shared maxima on \(name)")
            results.append(dx)
        }
        for r in results.dropFirst() { XCTAssertEqual(r, results[0], "every device adds the windows in the same order") }
    }

    /// Batch norm with its ReLU fused in gives, forward and backward, exactly what the batch norm
    /// and a ReLU layer give apart: the backward's recomputed mask is the forward's.
    func testBatchNormWithFusedReLUIsBatchNormThenReLU() throws {
        for device in TestDevices.all {
            let (n, c, h, w) = (4, 3, 5, 7)
            let x = rng.uniform(n * c * h * w, -1, 2), gamma = rng.uniform(c, 0.5, 1.5), beta = rng.uniform(c, -0.5, 0.5), dy = rng.uniform(x.count, -1, 1)
            let xt = try Tensor(x, shape: [n, c, h, w], on: device), dyt = try Tensor(dy, shape: xt.shape, on: device)
            let g = try Tensor(gamma, shape: [c], on: device), b = try Tensor(beta, shape: [c], on: device)
            let stats = { (value: Float) in try Tensor.full([c], value: value, on: device) }
            let plain = try Ops.batchNorm2dForwardTrain(xt, gamma: g, beta: b, runningMean: stats(0), runningVar: stats(1))
            let expected = try Ops.reluForward(plain.y)
            let expectedGrads = try Ops.batchNorm2dBackward(Ops.reluBackward(dyt, output: expected), x: xt, gamma: g, beta: b, saved: plain.saved)
            let fused = try Ops.batchNorm2dForwardTrain(xt, gamma: g, beta: b, runningMean: stats(0), runningVar: stats(1), relu: true)
            let grads = try Ops.batchNorm2dBackward(dyt, x: xt, gamma: g, beta: b, saved: fused.saved, relu: true)
            let zeros = try expected.toArray().filter { $0 == 0 }.count
            XCTAssert(zeros > x.count / 10 && zeros < x.count * 9 / 10, "the ReLU should cut part of the outputs (\(zeros) of \(x.count))")
            XCTAssertEqual(try fused.y.toArray(), try expected.toArray(), "fused forward on \(device.identifier)")
            XCTAssertEqual(try grads.dx.toArray(), try expectedGrads.dx.toArray(), "fused dx on \(device.identifier)")
            XCTAssertEqual(try grads.dGamma.toArray(), try expectedGrads.dGamma.toArray(), "fused dgamma on \(device.identifier)")
            XCTAssertEqual(try grads.dBeta.toArray(), try expectedGrads.dBeta.toArray(), "fused dbeta on \(device.identifier)")
        }
    }

    /// Batch norm's float64 sums and max pooling run as AVX2 where the CPU has it (CHostKernels):
    /// the same checks on the portable loops every other CPU runs.
    func testBatchNormAndPoolingBackwardOnThePortableLoops() throws {
        chorus_host_kernels_use_portable(1)
        defer { chorus_host_kernels_use_portable(0) }
        XCTAssertEqual(chorus_host_kernels_vectors(), 0)
        try testBatchNormWithFusedReLUIsBatchNormThenReLU()
        try testBatchNormBackward()
        try testPoolingBackward()
        try testOverlappingMaxPoolWindowsShareTheirMaximum()
    }

    func testBatchNormBackward() throws {
        for device in TestDevices.all {
            let (n, c, h, w) = (3, 2, 3, 4)
            let x = rng.uniform(n * c * h * w, -1, 2), gamma = rng.uniform(c, 0.5, 1.5), beta = rng.uniform(c), dy = rng.uniform(x.count)
            let g = try Tensor(gamma, shape: [c], on: device)
            let xt = try Tensor(x, shape: [n, c, h, w], on: device)
            let bt = try Tensor(beta, shape: [c], on: device)
            let (_, saved) = try Ops.batchNorm2dForwardTrain(xt, gamma: g, beta: bt,
                                                             runningMean: Tensor.zeros([c], on: device), runningVar: Tensor.full([c], value: 1, on: device))
            let grads = try Ops.batchNorm2dBackward(Tensor(dy, shape: xt.shape, on: device), x: xt, gamma: g, beta: bt, saved: saved)
            let f = { (xx: [Double], gg: [Double], bb: [Double]) in dot(dy.doubles, Reference.batchnormTrain(xx, gamma: gg, beta: bb, n: n, c: c, plane: h * w, eps: 1e-5)) }
            assertClose(try grads.dx.toArray(), finiteDifference(x.doubles) { f($0, gamma.doubles, beta.doubles) }, tolerance: tolerance, "bn dx on \(device.identifier)")
            assertClose(try grads.dGamma.toArray(), finiteDifference(gamma.doubles) { f(x.doubles, $0, beta.doubles) }, tolerance: tolerance, "bn dgamma")
            assertClose(try grads.dBeta.toArray(), finiteDifference(beta.doubles) { f(x.doubles, gamma.doubles, $0) }, tolerance: tolerance, "bn dbeta")
        }
    }

    func testActivationsSoftmaxAndLossGradients() throws {
        for device in TestDevices.all {
            let (r, k) = (4, 5)
            let x = rng.uniform(r * k, -3, 3), dy = rng.uniform(r * k)
            let xt = try Tensor(x, shape: [r, k], on: device), dyt = try Tensor(dy, shape: [r, k], on: device)
            // ReLU (away from the kink) and sigmoid.
            let xr = x.map { abs($0) < 0.05 ? $0 + 0.1 : $0 }
            let y = try Ops.reluForward(Tensor(xr, shape: [r, k], on: device))
            assertClose(try Ops.reluBackward(dyt, output: y).toArray(), finiteDifference(xr.doubles) { dot(dy.doubles, $0.map { max($0, 0) }) }, tolerance: tolerance, "relu")
            let s = try Ops.sigmoidForward(xt)
            assertClose(try Ops.sigmoidBackward(dyt, output: s).toArray(), finiteDifference(x.doubles) { dot(dy.doubles, $0.map { 1 / (1 + Foundation.exp(-$0)) }) }, tolerance: tolerance, "sigmoid")
            let ls = try Ops.logSoftmaxForward(xt)
            assertClose(try Ops.logSoftmaxBackward(dyt, output: ls).toArray(),
                        finiteDifference(x.doubles) { dot(dy.doubles, Reference.logSoftmax($0, rows: r, cols: k)) }, tolerance: tolerance, "log-softmax on \(device.identifier)")
            var t = [Float](repeating: 0, count: r * k)
            for i in 0..<r { t[i * k + i % k] = 1 }
            let ce = try Ops.softmaxCrossEntropy(logits: xt, targets: Tensor(t, shape: [r, k], on: device))
            assertClose(try ce.gradient.toArray(), finiteDifference(x.doubles) { Reference.softmaxCE($0, t.doubles, rows: r, cols: k) }, tolerance: tolerance, "softmax CE grad")
            let tm = (0..<(r * k)).map { Float(($0 * 7) % 3 == 0 ? 1 : 0) }
            let bce = try Ops.bceWithLogits(logits: xt, targets: Tensor(tm, shape: [r, k], on: device))
            assertClose(try bce.gradient.toArray(), finiteDifference(x.doubles) { Reference.bce($0, tm.doubles) }, tolerance: tolerance, "BCE grad on \(device.identifier)")
            let dyc = try Tensor(rng.uniform(2 * 3 * 4), shape: [2, 3, 2, 2], on: device)
            let db = try Ops.biasAddBackward(dyc).toArray()
            let dyv = try dyc.toArray()
            assertClose(db, (0..<3).map { ch in (0..<24).filter { ($0 / 4) % 3 == ch }.reduce(0.0) { $0 + Double(dyv[$1]) } }, tolerance: 1e-4, "bias backward")
        }
    }
}
