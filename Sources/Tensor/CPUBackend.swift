import CBLAS
import CDNNL
import CHostKernels
import ChorusCore
import Foundation
import Kernels

/// The native CPU fallback: oneDNN for convolutions, OpenBLAS for matrix products, plain Swift
/// loops (split across cores where the work is large) for the rest. Mirrors kernels.cl operation
/// by operation.
public final class CPUBackend: Backend, @unchecked Sendable {
    /// Where convolutions run.
    public enum ConvolutionEngine: String, Sendable {
        /// Per shape and direction, whichever of oneDNN, im2col and (3x3, stride 1) Winograd
        /// measured fastest on this machine the first time (the default; see `ConvolutionChoices`).
        case tuned
        /// oneDNN's kernels for this CPU.
        case oneDNN = "onednn"
        /// im2col + OpenBLAS, the path every backend has (the reference in tests and benchmarks);
        /// the weight gradient of a narrow input (a first layer) by sliding windows instead.
        case im2col
        /// Winograd F(4x4, 3x3) wherever it serves the shape (3x3 windows, stride 1, padding 1,
        /// on AVX2 + FMA: forward, inference, data and weight gradients), oneDNN for the rest.
        case winograd
    }

    public let name = "cpu"
    public let convolutions: ConvolutionEngine
    /// Idle host buffers kept for reuse: a third of physical memory (at most 8 GiB), so a
    /// training step with fixed shapes allocates (and page-faults) nothing after the first.
    let pool = HostPool(limitFloats: Int(min(ProcessInfo.processInfo.physicalMemory / 3, 8 << 30) / 4))
    /// Threads for the Swift loops (OpenBLAS manages its own).
    let threads = Machine.usableCores

    /// Created on the first convolution.
    private var oneDNN: OneDNNConvolutions?
    private var choices: ConvolutionChoices?
    /// Guards the lazily made oneDNN engine and choices, the convolution tally and the profile.
    private let stateLock = NSLock()
    /// Seconds spent in convolutions (both paths, all directions) since the backend was made.
    public var convolutionSeconds: Double { convolutionWork().seconds }
    /// Seconds spent in convolutions and their floating-point operations (2 per multiply-add, each
    /// direction counted: forward, weight gradient, input gradient), since the backend was made:
    /// all of them, or those with a `kernel` x `kernel` window.
    public func convolutionWork(kernel: Int? = nil) -> (seconds: Double, flops: Double) {
        stateLock.lock(); defer { stateLock.unlock() }
        let work = kernel.map { convolutionTally[$0].map { [$0] } ?? [] } ?? Array(convolutionTally.values)
        return (work.reduce(0) { $0 + $1.nanoseconds } * 1e-9, work.reduce(0) { $0 + $1.flops })
    }
    /// Time and operations by window size (square windows; others under their height).
    private var convolutionTally: [Int: (nanoseconds: Double, flops: Double)] = [:]
    /// Wall time, calls and least memory traffic (bytes) by operation while a profile is being
    /// recorded (nil otherwise).
    private var operationProfile: [String: (calls: Int, nanoseconds: UInt64, bytes: Double)]?

    /// Starts recording how long each operation takes (wall time on the calling thread, the
    /// parallel parts included): convolutions by window size and direction, matrix products,
    /// and every loop the backend splits across cores. The CPU's counterpart of OpenCL's event
    /// profile (`OpenCLContext.startKernelProfile`).
    public func startOperationProfile() {
        stateLock.lock(); defer { stateLock.unlock() }
        operationProfile = [:]
    }

    /// The operations timed since `startOperationProfile`, most time first; recording stops.
    public func stopOperationProfile() -> KernelProfile {
        stateLock.lock(); defer { stateLock.unlock() }
        let entries = (operationProfile ?? [:]).map {
            KernelProfile.Entry(kernel: $0.key, launches: $0.value.calls, seconds: Double($0.value.nanoseconds) * 1e-9, bytes: $0.value.bytes)
        }
        operationProfile = nil
        return KernelProfile(device: name, entries: entries, hostOperations: true)
    }

    /// Runs `body`, adding its wall time to `operation`'s when a profile is being recorded, and
    /// `traffic`: the least bytes it moves, for an operation bound by memory (0: not one).
    /// Operations inside another (an im2col convolution's products) count only in the outer one.
    @inline(__always)
    private func timed<T>(_ operation: @autoclosure () -> String, traffic: Int = 0, _ body: () throws -> T) rethrows -> T {
        stateLock.lock(); let recording = operationProfile != nil; stateLock.unlock()
        guard recording else { return try body() }
        let depthKey = "chorus.cpu-operation-depth", thread = Thread.current
        let depth = thread.threadDictionary[depthKey] as? Int ?? 0
        thread.threadDictionary[depthKey] = depth + 1
        defer { thread.threadDictionary[depthKey] = depth }
        guard depth == 0 else { return try body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer {
            let spent = DispatchTime.now().uptimeNanoseconds - t0, key = operation()
            stateLock.lock()
            if operationProfile != nil {
                operationProfile![key, default: (0, 0, 0)].calls += 1
                operationProfile![key, default: (0, 0, 0)].nanoseconds += spent
                operationProfile![key, default: (0, 0, 0)].bytes += Double(traffic)
            }
            stateLock.unlock()
        }
        return try body()
    }

    public init(convolutions: ConvolutionEngine = .tuned) {
        self.convolutions = convolutions
        openblas_set_num_threads(1)
    }

    /// The kernels OpenBLAS chose as it loaded (its name for them: `Cooperlake`, `Haswell`...),
    /// and `OPENBLAS_CORETYPE` where the environment sets them: an AVX-512 machine whose
    /// environment sets `Haswell` runs its matrix products in AVX2, at half its peak.
    public static var blasKernels: String {
        let name = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { "\(name) (OPENBLAS_CORETYPE=\($0))" } ?? name
    }

    private func oneDNNConvolutions() throws -> OneDNNConvolutions {
        stateLock.lock(); defer { stateLock.unlock() }
        if let oneDNN { return oneDNN }
        let made = try OneDNNConvolutions(threads: threads)
        oneDNN = made
        // Each convolution says which alternatives serve its shape (`convolve`).
        choices = ConvolutionChoices(file: ConvolutionChoices.machineFile(oneDNNVersion: OneDNNConvolutions.version))
        return made
    }

    /// A path that runs (partly) by Winograd, given oneDNN for what it leaves to it.
    typealias WinogradRun = (OneDNNConvolutions) throws -> Void

    /// Runs a convolution on the engine's path (measuring each the first time when tuned).
    /// `winograd` holds the Winograd paths that serve the shape (`.winograd`: all by Winograd;
    /// `.winogradData`: a backward pass's data gradient by Winograd, its weight gradient on oneDNN).
    private func convolve(_ g: ConvGeometry, images: Int, outChannels: Int, _ direction: ConvolutionChoices.Direction,
                          oneDNN oneDNNRun: (OneDNNConvolutions) throws -> Void, im2col: () throws -> Void,
                          winograd: [ConvolutionChoices.Path: WinogradRun] = [:]) throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let products = 2 * Double(images) * Double(outChannels) * Double(g.columnRows) * Double(g.outHeight * g.outWidth)
        defer {
            let spent = Double(DispatchTime.now().uptimeNanoseconds - t0)
            stateLock.lock()
            convolutionTally[g.kernelH, default: (0, 0)].nanoseconds += spent
            convolutionTally[g.kernelH, default: (0, 0)].flops += products * (direction == .backward ? 2 : 1)
            stateLock.unlock()
        }
        try timed("convolution \(g.kernelH)x\(g.kernelW) \(direction.rawValue)") {
            switch convolutions {
            case .im2col: try im2col()
            case .oneDNN: try oneDNNRun(try oneDNNConvolutions())
            case .winograd:
                let engine = try oneDNNConvolutions()
                if let run = winograd[.winograd] ?? winograd[.winogradData] { try run(engine) } else { try oneDNNRun(engine) }
            case .tuned:
                let engine = try oneDNNConvolutions()
                try choices!.run(ConvolutionChoices.key(g, images: images, outChannels: outChannels, direction),
                                 alternatives: [.im2col] + [.winogradData, .winograd].filter { winograd[$0] != nil }) { path in
                    switch path {
                    case .im2col: try im2col()
                    case .winograd, .winogradData:
                        if let run = winograd[path] { try run(engine) } else { try oneDNNRun(engine) }
                    case .oneDNN, .implicitGEMM, .winogradFused: try oneDNNRun(engine)
                    }
                }
            }
        }
    }

    public func conv2dForward(_ g: ConvGeometry, images: Int, outChannels: Int, x: Storage, w: Storage, y: Storage) throws {
        try convolve(g, images: images, outChannels: outChannels, .forward,
                     oneDNN: { try $0.forward(.init(images: images, outChannels: outChannels, geometry: g), x: x.host!, w: w.host!, y: y.host!) },
                     im2col: { try im2colConv2dForward(g, images: images, outChannels: outChannels, x: x, w: w, y: y) },
                     winograd: WinogradConvolution.serves(g, outChannels: outChannels, dataGradient: false) ? [.winograd: { _ in
                         self.winogradConvolve(g, images: images, outChannels: outChannels, dataGradient: false, x: x, w: w, bias: nil, relu: false, y: y)
                     }] : [:])
    }

    public func conv2dBackward(_ g: ConvGeometry, images: Int, outChannels: Int, x: Storage, w: Storage, dy: Storage,
                               dx: Storage?, dw: Storage) throws {
        try convolve(g, images: images, outChannels: outChannels, dx == nil ? .backwardWeights : .backward,
                     oneDNN: { try $0.backward(.init(images: images, outChannels: outChannels, geometry: g),
                                               x: x.host!, w: w.host!, dy: dy.host!, dx: dx?.host, dw: dw.host!) },
                     im2col: {
                         if dx == nil && g.columnRows <= Self.narrowColumnRows {
                             try narrowWeightGradient(g, images: images, outChannels: outChannels, x: x, dy: dy, dw: dw)
                         } else {
                             try im2colConv2dBackward(g, images: images, outChannels: outChannels, x: x, w: w, dy: dy, dx: dx, dw: dw)
                         }
                     },
                     winograd: winogradBackward(g, images: images, outChannels: outChannels, x: x, w: w, dy: dy, dx: dx, dw: dw))
    }

    /// The Winograd paths of a backward pass that serve its shape: both gradients by Winograd, or
    /// (with a data gradient) the data gradient by Winograd and the weight gradient on oneDNN.
    private func winogradBackward(_ g: ConvGeometry, images: Int, outChannels: Int, x: Storage, w: Storage, dy: Storage,
                                  dx: Storage?, dw: Storage) -> [ConvolutionChoices.Path: WinogradRun] {
        let data = dx != nil && WinogradConvolution.serves(g, outChannels: outChannels, dataGradient: true)
        var paths: [ConvolutionChoices.Path: WinogradRun] = [:]
        if let dx, data {
            paths[.winogradData] = { engine in
                try engine.backward(.init(images: images, outChannels: outChannels, geometry: g), x: x.host!, w: w.host!, dy: dy.host!, dx: nil, dw: dw.host!)
                self.winogradConvolve(g, images: images, outChannels: outChannels, dataGradient: true, x: dy, w: w, bias: nil, relu: false, y: dx)
            }
        }
        if WinogradConvolution.servesWeightGradient(g), dx == nil || data {
            paths[.winograd] = { _ in
                WinogradConvolution.weightGradient(images: images, channels: g.channels, height: g.height, width: g.width, outChannels: outChannels,
                                                   x: x.host!, dy: dy.host!, dw: dw.host!, threads: self.threads, pool: self.pool)
                if let dx { self.winogradConvolve(g, images: images, outChannels: outChannels, dataGradient: true, x: dy, w: w, bias: nil, relu: false, y: dx) }
            }
        }
        return paths
    }

    /// A Winograd convolution of the layer `g`: forward (x: its input, y: its output) or its data
    /// gradient (x: the output gradient, y: the input gradient).
    private func winogradConvolve(_ g: ConvGeometry, images: Int, outChannels: Int, dataGradient: Bool,
                                  x: Storage, w: Storage, bias: Storage?, relu: Bool, y: Storage) {
        WinogradConvolution.convolve(images: images, channels: dataGradient ? outChannels : g.channels, height: g.height, width: g.width,
                                     outChannels: dataGradient ? g.channels : outChannels, dataGradient: dataGradient,
                                     x: x.host!, w: w.host!, bias: bias?.host, relu: relu, y: y.host!, threads: threads, pool: pool)
    }

    /// Inputs with at most this many values under a window (channels x window: the network's
    /// first layer, over a spectrogram's one channel) have their weight gradient computed by
    /// sliding windows (`chorus_narrow_weight_gradient`) on the native path: im2col would make it a
    /// product 16-64 wide and a million long, which OpenBLAS runs at a tenth of the machine's peak.
    static let narrowColumnRows = 64

    /// dW of a convolution whose input needs no gradient, over few channels: the images split
    /// between the cores, each summing its own in float64, the parts added in order.
    private func narrowWeightGradient(_ g: ConvGeometry, images: Int, outChannels: Int, x: Storage, dy: Storage, dw: Storage) throws {
        let parts = max(1, min(threads, images)), size = outChannels * g.columnRows
        let scratch = chorus_narrow_weight_gradient_scratch(Int32(g.channels), Int32(g.outHeight), Int32(g.outWidth),
                                                            Int32(g.kernelH), Int32(g.kernelW), Int32(g.stride))
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: parts * size)
        let windows = UnsafeMutablePointer<Float>.allocate(capacity: parts * scratch)
        defer { sums.deallocate(); windows.deallocate() }
        sums.initialize(repeating: 0, count: parts * size)
        let px = x.host!, pdy = dy.host!
        CoreTeam.forEach(parts, threads: threads) { p in
            let first = images * p / parts, last = images * (p + 1) / parts
            chorus_narrow_weight_gradient(px, pdy, sums + p * size, windows + p * scratch, Int32(first), Int32(last - first),
                                          Int32(g.channels), Int32(g.height), Int32(g.width), Int32(outChannels),
                                          Int32(g.outHeight), Int32(g.outWidth), Int32(g.kernelH), Int32(g.kernelW),
                                          Int32(g.stride), Int32(g.padding))
        }
        let out = dw.host!
        for i in 0..<size {
            var s = 0.0
            for p in 0..<parts { s += sums[p * size + i] }
            out[i] = Float(s)
        }
    }

    public func conv2dForwardBiasActivation(_ g: ConvGeometry, images: Int, outChannels: Int, x: Storage, w: Storage, bias: Storage,
                                            relu: Bool, y: Storage) throws {
        try convolve(g, images: images, outChannels: outChannels, .inference,
                     oneDNN: { try $0.inference(.init(images: images, outChannels: outChannels, geometry: g), relu: relu,
                                                x: x.host!, w: w.host!, bias: bias.host!, y: y.host!) },
                     im2col: {
                         try im2colConv2dForward(g, images: images, outChannels: outChannels, x: x, w: w, y: y)
                         try biasActivation(g, images: images, outChannels: outChannels, bias: bias, relu: relu, y: y)
                     },
                     winograd: WinogradConvolution.serves(g, outChannels: outChannels, dataGradient: false) ? [.winograd: { _ in
                         self.winogradConvolve(g, images: images, outChannels: outChannels, dataGradient: false, x: x, w: w, bias: bias, relu: relu, y: y)
                     }] : [:])
    }

    /// The path chosen for each shape and direction measured so far (`tuned` only), and the file they are kept in.
    public var convolutionChoices: (paths: [String: String], file: String?) {
        stateLock.lock(); defer { stateLock.unlock() }
        return (choices?.paths ?? [:], choices?.file)
    }

    /// The convolution paths kept for this machine (see `ConvolutionChoices`), read from their
    /// file: how many shapes chose each, and the file.
    public static func keptConvolutionChoices() -> (oneDNN: Int, im2col: Int, winograd: Int, file: String?) {
        let file = ConvolutionChoices.machineFile(oneDNNVersion: OneDNNConvolutions.version), kept = ConvolutionChoices(file: file)
        return (kept.count(.oneDNN), kept.count(.im2col), kept.count(.winograd) + kept.count(.winogradData), file)
    }

    /// The vector width of the Winograd products on this machine (512: AVX-512, 256: AVX2; 0:
    /// Winograd does not run here).
    public static var winogradVectorBits: Int { WinogradConvolution.vectorBits }

    /// The kernels the CPU fallback's products run on, as `train-gpu devices` and `bench` print them.
    public static var kernelsDescription: String {
        let vectors = winogradVectorBits
        return "OpenBLAS \(blasKernels); Winograd products " + (vectors == 512 ? "AVX-512" : vectors == 256 ? "AVX2" : "not run on this CPU")
    }

    /// Keeps the Winograd products to AVX2 (256) or lets them use AVX-512 where present (512), for
    /// benchmarks that time both in one run. Paths already chosen stay chosen.
    public static func limitWinogradVectors(_ bits: Int) { WinogradConvolution.limitVectors(bits) }

    /// The implementations oneDNN chose for a convolution shape on this machine (e.g. `jit:avx512_core`).
    public func convolutionImplementations(_ g: ConvGeometry, images: Int, outChannels: Int) throws -> (forward: String, backwardData: String, backwardWeights: String) {
        try oneDNNConvolutions().implementation(.init(images: images, outChannels: outChannels, geometry: g))
    }

    public func allocate(_ count: Int) throws -> Storage { Storage(hostCount: count, pool: pool) }

    /// A cache line, so a view starts where the vector loads of its own storage would.
    public var viewAlignment: Int { 16 }

    public func view(_ storage: Storage, offset: Int, count: Int) throws -> Storage {
        guard storage.host != nil, count >= 0, offset >= 0, offset + count <= storage.count, offset % viewAlignment == 0 else {
            throw TensorError.invalidArgument(op: "view", reason: "\(count) elements at \(offset) of a storage of \(storage.count) "
                                              + "(views start at multiples of \(viewAlignment))")
        }
        return Storage(hostViewOf: storage, offset: offset, count: count)
    }

    public func upload(_ source: UnsafeBufferPointer<Float>, to storage: Storage, offset: Int) throws {
        guard let base = source.baseAddress, source.count > 0 else { return }
        (storage.host! + offset).update(from: base, count: source.count)
    }

    public func download(_ storage: Storage, offset: Int, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = destination.baseAddress, destination.count > 0 else { return }
        base.update(from: storage.host! + offset, count: destination.count)
    }

    public func copy(_ source: Storage, sourceOffset: Int, to destination: Storage, destinationOffset: Int, count: Int) throws {
        (destination.host! + destinationOffset).update(from: source.host! + sourceOffset, count: count)
    }

    public func synchronize() throws {}

    /// Runs `body(start, end)` over `0..<count` split into chunks across cores when `count * cost` is large.
    /// In an operation profile the time counts under `operation`: by default the calling
    /// method's name (`batchnormForwardTrain`); `traffic` is the least bytes a memory-bound
    /// operation moves (`timed`).
    @inline(__always)
    func parallel(_ count: Int, cost: Int = 1, traffic: Int = 0, operation: StaticString = #function, _ body: (Int, Int) -> Void) {
        timed(Self.operationName(operation), traffic: traffic) {
            let work = count * cost
            let parts = work < 1 << 16 ? 1 : min(threads * 4, count)
            if parts <= 1 { body(0, count); return }
            CoreTeam.forEach(parts, threads: threads) { p in
                let lo = count * p / parts, hi = count * (p + 1) / parts
                if lo < hi { body(lo, hi) }
            }
        }
    }

    /// `batchnormForwardTrain` of `batchnormForwardTrain(n:c:...)`.
    static func operationName(_ function: StaticString) -> String {
        let text = function.description
        return String(text[..<(text.firstIndex(of: "(") ?? text.endIndex)])
    }

    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: Storage, offsetA: Int, lda: Int, strideA: Int,
                     b: Storage, offsetB: Int, ldb: Int, strideB: Int,
                     beta: Float, c: Storage, offsetC: Int, ldc: Int, strideC: Int, batch: Int) throws {
        timed("gemm") {
            let ta = transposeA ? CblasTrans : CblasNoTrans
            let tb = transposeB ? CblasTrans : CblasNoTrans
            // OpenBLAS runs single-threaded (see init); large products are split into column (or row)
            // blocks across the cores here, so no idle BLAS threads spin while Swift loops run.
            let parts = m * n * k >= 1 << 20 ? threads : 1
            for i in 0..<batch {
                let a0 = a.host! + offsetA + i * strideA, b0 = b.host! + offsetB + i * strideB, c0 = c.host! + offsetC + i * strideC
                if parts == 1 {
                    cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), alpha, a0, Int32(lda), b0, Int32(ldb), beta, c0, Int32(ldc))
                    continue
                }
                // Too few rows and columns to give each core 16 (a weight gradient of few
                // channels: 16 x 25 over a million pixels): the sum over k is split instead,
                // each core's part summed into C afterwards.
                if max(m, n) / parts < 16 && k >= 4096 * parts {
                    splitK(parts: parts, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                           a: a0, lda: lda, b: b0, ldb: ldb, beta: beta, c: c0, ldc: ldc)
                    continue
                }
                let splitColumns = n >= m
                CoreTeam.forEach(parts, threads: threads) { p in
                    if splitColumns {
                        let lo = (n * p / parts) & ~15, hi = p == parts - 1 ? n : (n * (p + 1) / parts) & ~15
                        guard hi > lo else { return }
                        let bp = transposeB ? b0 + lo * ldb : b0 + lo
                        cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(hi - lo), Int32(k), alpha, a0, Int32(lda), bp, Int32(ldb), beta, c0 + lo, Int32(ldc))
                    } else {
                        let lo = (m * p / parts) & ~15, hi = p == parts - 1 ? m : (m * (p + 1) / parts) & ~15
                        guard hi > lo else { return }
                        let ap = transposeA ? a0 + lo : a0 + lo * lda
                        cblas_sgemm(CblasRowMajor, ta, tb, Int32(hi - lo), Int32(n), Int32(k), alpha, ap, Int32(lda), b0, Int32(ldb), beta, c0 + lo * ldc, Int32(ldc))
                    }
                }
            }
        }
    }

    /// C = alpha A B + beta C with the sum over k split into `parts` ranges, one per core: the
    /// first range accumulates into C, each other into its own m x n block, added to C after.
    private func splitK(parts: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                        alpha: Float, a: UnsafeMutablePointer<Float>, lda: Int, b: UnsafeMutablePointer<Float>, ldb: Int,
                        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let ta = transposeA ? CblasTrans : CblasNoTrans, tb = transposeB ? CblasTrans : CblasNoTrans
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: (parts - 1) * m * n)
        defer { partials.deallocate() }
        CoreTeam.forEach(parts, threads: threads) { p in
            let lo = k * p / parts, hi = k * (p + 1) / parts
            let ap = transposeA ? a + lo * lda : a + lo, bp = transposeB ? b + lo : b + lo * ldb
            let (cp, ldcp, betap) = p == 0 ? (c, ldc, beta) : (partials + (p - 1) * m * n, n, Float(0))
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(hi - lo), alpha, ap, Int32(lda), bp, Int32(ldb), betap, cp, Int32(ldcp))
        }
        for p in 1..<parts {
            let part = partials + (p - 1) * m * n
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] += part[i * n + j] } }
        }
    }

    public func fill(_ x: Storage, count: Int, value: Float) throws { x.host!.update(repeating: value, count: count) }

    public func scale(_ x: Storage, count: Int, alpha: Float) throws { cblas_sscal(Int32(count), alpha, x.host!, 1) }

    public func axpy(count: Int, alpha: Float, x: Storage, y: Storage) throws { cblas_saxpy(Int32(count), alpha, x.host!, 1, y.host!, 1) }

    public func add(count: Int, a: Storage, b: Storage, out: Storage) throws {
        let pa = a.host!, pb = b.host!, po = out.host!
        parallel(count, traffic: 12 * count) { lo, hi in HostVectors.combine(pa, pb, po, lo, hi, multiply: false) }
    }

    public func mul(count: Int, a: Storage, b: Storage, out: Storage) throws {
        let pa = a.host!, pb = b.host!, po = out.host!
        parallel(count, traffic: 12 * count) { lo, hi in HostVectors.combine(pa, pb, po, lo, hi, multiply: true) }
    }

    public func reluForward(count: Int, x: Storage, y: Storage) throws {
        let px = x.host!, py = y.host!
        parallel(count, traffic: 8 * count) { lo, hi in HostVectors.relu(px, py, lo, hi) }
    }

    public func reluBackward(count: Int, y: Storage, dy: Storage, dx: Storage) throws {
        let py = y.host!, pdy = dy.host!, pdx = dx.host!
        parallel(count, traffic: 12 * count) { lo, hi in HostVectors.reluBackward(py, pdy, pdx, lo, hi) }
    }

    public func sigmoidForward(count: Int, x: Storage, y: Storage) throws {
        let px = x.host!, py = y.host!
        for i in 0..<count { py[i] = CPUBackend.sigmoid(px[i]) }
    }

    public func sigmoidBackward(count: Int, y: Storage, dy: Storage, dx: Storage) throws {
        let py = y.host!, pdy = dy.host!, pdx = dx.host!
        for i in 0..<count { pdx[i] = pdy[i] * py[i] * (1 - py[i]) }
    }

    @inline(__always) static func sigmoid(_ x: Float) -> Float {
        x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
    }

    public func biasAddForward(count: Int, channels: Int, inner: Int, x: Storage, bias: Storage) throws {
        let px = x.host!, pb = bias.host!
        let rows = count / inner
        parallel(rows, cost: inner) { lo, hi in
            for r in lo..<hi {
                let b = pb[r % channels]
                let p = px + r * inner
                for j in 0..<inner { p[j] += b }
            }
        }
    }

    public func biasAddBackward(outer: Int, channels: Int, inner: Int, dy: Storage, dbias: Storage) throws {
        let pdy = dy.host!, pdb = dbias.host!
        parallel(channels, cost: outer * inner) { lo, hi in
            for c in lo..<hi {
                // Accumulated in Double: a conv bias sums N*H*W values.
                var s = 0.0
                for o in 0..<outer { s += HostVectors.sumInDouble(pdy + (o * channels + c) * inner, inner) }
                pdb[c] = Float(s)
            }
        }
    }

    /// Output columns `xo` whose input column `xo*stride - padding + k` lies inside [0, width).
    @inline(__always)
    static func validRange(out: Int, stride: Int, padding: Int, k: Int, size: Int) -> Range<Int> {
        // xo*stride + (k - padding) >= 0  and  < size
        let off = k - padding
        let lo = off >= 0 ? 0 : (-off + stride - 1) / stride
        let hiExclusive = size - off <= 0 ? 0 : (size - off - 1) / stride + 1
        let a = min(max(lo, 0), out), b = min(max(hiExclusive, a), out)
        return a..<b
    }

    public func im2col(_ g: ConvGeometry, firstImage: Int, images: Int, x: Storage, col: Storage) throws {
        let px = x.host!, pc = col.host!
        let oh = g.outHeight, ow = g.outWidth, P = oh * ow, rowLen = images * P
        let s = g.stride
        parallel(g.columnRows, cost: rowLen) { lo, hi in
            for row in lo..<hi {
                let kw = row % g.kernelW, kh = (row / g.kernelW) % g.kernelH, c = row / (g.kernelW * g.kernelH)
                let xs = CPUBackend.validRange(out: ow, stride: s, padding: g.padding, k: kw, size: g.width)
                let ys = CPUBackend.validRange(out: oh, stride: s, padding: g.padding, k: kh, size: g.height)
                for n in 0..<images {
                    let src = px + ((firstImage + n) * g.channels + c) * g.height * g.width
                    let dst = pc + row * rowLen + n * P
                    if ys.lowerBound > 0 { dst.update(repeating: 0, count: ys.lowerBound * ow) }
                    if ys.upperBound < oh { (dst + ys.upperBound * ow).update(repeating: 0, count: (oh - ys.upperBound) * ow) }
                    for y in ys {
                        let d = dst + y * ow
                        let srow = src + (y * s - g.padding + kh) * g.width + (kw - g.padding)
                        if xs.lowerBound > 0 { d.update(repeating: 0, count: xs.lowerBound) }
                        if xs.upperBound < ow { (d + xs.upperBound).update(repeating: 0, count: ow - xs.upperBound) }
                        if s == 1 {
                            if !xs.isEmpty { (d + xs.lowerBound).update(from: srow + xs.lowerBound, count: xs.count) }
                        } else {
                            for xo in xs { d[xo] = srow[xo * s] }
                        }
                    }
                }
            }
        }
    }

    public func col2im(_ g: ConvGeometry, firstImage: Int, images: Int, col: Storage, dx: Storage) throws {
        let pc = col.host!, pd = dx.host!
        let oh = g.outHeight, ow = g.outWidth, P = oh * ow, rowLen = images * P
        let plane = g.height * g.width
        let s = g.stride
        // Scatter-add per (image, channel) plane: each plane is owned by one task, so no races.
        parallel(images * g.channels, cost: g.kernelH * g.kernelW * P) { lo, hi in
            for nc in lo..<hi {
                let n = nc / g.channels, c = nc % g.channels
                let dst = pd + ((firstImage + n) * g.channels + c) * plane
                dst.update(repeating: 0, count: plane)
                for kh in 0..<g.kernelH {
                    let ys = CPUBackend.validRange(out: oh, stride: s, padding: g.padding, k: kh, size: g.height)
                    for kw in 0..<g.kernelW {
                        let xs = CPUBackend.validRange(out: ow, stride: s, padding: g.padding, k: kw, size: g.width)
                        let row = (c * g.kernelH + kh) * g.kernelW + kw
                        let src = pc + row * rowLen + n * P
                        for y in ys {
                            let d = dst + (y * s - g.padding + kh) * g.width + (kw - g.padding)
                            let sr = src + y * ow
                            if s == 1 {
                                for xo in xs { d[xo] += sr[xo] }
                            } else {
                                for xo in xs { d[xo * s] += sr[xo] }
                            }
                        }
                    }
                }
            }
        }
    }

    public func nchwToCnhw(firstImage: Int, images: Int, channels: Int, plane: Int, x: Storage, y: Storage) throws {
        let px = x.host!, py = y.host!
        parallel(images * channels, cost: plane) { lo, hi in
            for nc in lo..<hi {
                let n = nc / channels, c = nc % channels
                (py + c * images * plane + n * plane).update(from: px + ((firstImage + n) * channels + c) * plane, count: plane)
            }
        }
    }

    public func cnhwToNchw(firstImage: Int, images: Int, channels: Int, plane: Int, y: Storage, x: Storage) throws {
        let px = x.host!, py = y.host!
        parallel(images * channels, cost: plane) { lo, hi in
            for nc in lo..<hi {
                let n = nc / channels, c = nc % channels
                (px + ((firstImage + n) * channels + c) * plane).update(from: py + c * images * plane + n * plane, count: plane)
            }
        }
    }

    public func maxpoolForward(_ g: PoolGeometry, x: Storage, y: Storage, argmax: Storage) throws {
        let px = x.host!, py = y.host!, pa = argmax.host!
        // Reads the input, writes the maxima and their indices.
        parallel(g.planes, cost: g.outHeight * g.outWidth * g.kernel * g.kernel, traffic: 4 * g.planes * (g.height * g.width + 2 * g.outHeight * g.outWidth)) { lo, hi in
            chorus_maxpool_forward(px, py, pa, Int32(lo), Int32(hi - lo), Int32(g.height), Int32(g.width), Int32(g.kernel), Int32(g.stride), Int32(g.padding))
        }
    }

    public func maxpoolBackward(_ g: PoolGeometry, dy: Storage, argmax: Storage, dx: Storage) throws {
        let pdy = dy.host!, pa = argmax.host!, pdx = dx.host!
        parallel(g.planes, cost: g.height * g.width, traffic: 4 * g.planes * (g.height * g.width + 2 * g.outHeight * g.outWidth)) { lo, hi in
            chorus_maxpool_backward(pdy, pa, pdx, Int32(lo), Int32(hi - lo), Int32(g.height), Int32(g.width), Int32(g.kernel), Int32(g.stride), Int32(g.padding))
        }
    }

    public func globalAvgpoolForward(planes: Int, plane: Int, x: Storage, y: Storage) throws {
        let px = x.host!, py = y.host!
        parallel(planes, cost: plane) { lo, hi in
            for p in lo..<hi {
                var s: Float = 0
                let src = px + p * plane
                for j in 0..<plane { s += src[j] }
                py[p] = s / Float(plane)
            }
        }
    }

    public func globalAvgpoolBackward(planes: Int, plane: Int, dy: Storage, dx: Storage) throws {
        let pdy = dy.host!, pdx = dx.host!
        parallel(planes, cost: plane) { lo, hi in
            for p in lo..<hi { (pdx + p * plane).update(repeating: pdy[p] / Float(plane), count: plane) }
        }
    }

    public func batchnormForwardTrain(n: Int, c: Int, plane: Int, eps: Float, momentum: Float, relu: Bool, x: Storage, y: Storage,
                                      gamma: Storage, beta: Storage, runningMean: Storage, runningVar: Storage,
                                      savedMean: Storage, savedInvStd: Storage) throws {
        let px = x.host!, py = y.host!, pg = gamma.host!, pb = beta.host!
        let rm = runningMean.host!, rv = runningVar.host!, sm = savedMean.host!, si = savedInvStd.host!
        // Least traffic: x read, y written. This loop reads x twice where a channel outgrows the
        // cache (its statistics plane by plane, then its outputs, which need the channel's mean),
        // so its GB/s against the least traffic understates what it moves.
        parallel(c, cost: n * plane * 3, traffic: 8 * n * c * plane) { lo, hi in
            for ch in lo..<hi {
                // Statistics in Double, in two passes (mean, then squared deviations), as PyTorch's
                // CPU kernels accumulate: float sums over a channel of a large batch drift. Both
                // passes run over one image's plane while it is in cache, and the planes' means
                // and squared deviations are combined exactly (Chan et al.), so the channel is
                // read from memory once for its statistics, not twice.
                var meanD = 0.0, squares = 0.0, counted = 0.0
                let perPlane = Double(plane)
                for i in 0..<n {
                    let p = px + (i * c + ch) * plane
                    let planeMean = HostVectors.sumInDouble(p, plane) / perPlane
                    let planeSquares = HostVectors.squaredDeviationsInDouble(p, plane, from: planeMean)
                    let total = counted + perPlane, delta = planeMean - meanD
                    meanD += delta * perPlane / total
                    squares += planeSquares + delta * delta * counted * perPlane / total
                    counted = total
                }
                let m = Double(n * plane)
                let variance = squares / m
                let mean = Float(meanD)
                let invstd = Float(1 / (variance + Double(eps)).squareRoot())
                let f = HostVectors.BatchNormOutput(mean: mean, scale: pg[ch] * invstd, shift: pb[ch])
                for i in 0..<n { HostVectors.affine(px + (i * c + ch) * plane, py + (i * c + ch) * plane, plane, f, relu: relu) }
                sm[ch] = mean
                si[ch] = invstd
                let unbiased = m > 1 ? variance * m / (m - 1) : variance
                rm[ch] = (1 - momentum) * rm[ch] + momentum * mean
                rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(unbiased)
            }
        }
    }

    public func batchnormForwardEval(n: Int, c: Int, plane: Int, eps: Float, x: Storage, y: Storage,
                                     gamma: Storage, beta: Storage, runningMean: Storage, runningVar: Storage) throws {
        let px = x.host!, py = y.host!, pg = gamma.host!, pb = beta.host!, rm = runningMean.host!, rv = runningVar.host!
        parallel(n * c, cost: plane, traffic: 8 * n * c * plane) { lo, hi in
            for nc in lo..<hi {
                let ch = nc % c
                let s = pg[ch] / sqrtf(rv[ch] + eps), mean = rm[ch], b = pb[ch]
                HostVectors.affine(px + nc * plane, py + nc * plane, plane, .init(mean: mean, scale: s, shift: b))
            }
        }
    }

    public func batchnormFold(outChannels: Int, inner: Int, eps: Float, w: Storage, gamma: Storage, beta: Storage,
                              runningMean: Storage, runningVar: Storage, foldedW: Storage, foldedBias: Storage) throws {
        let pw = w.host!, pg = gamma.host!, pb = beta.host!, rm = runningMean.host!, rv = runningVar.host!, fw = foldedW.host!, fb = foldedBias.host!
        for o in 0..<outChannels {
            let s = pg[o] / sqrtf(rv[o] + eps)
            for j in 0..<inner { fw[o * inner + j] = pw[o * inner + j] * s }
            fb[o] = pb[o] - rm[o] * s
        }
    }

    /// The fused ReLU of channel `ch`, as the forward computed its outputs.
    @inline(__always)
    private static func fusedReLU(_ relu: Bool, _ ch: Int, mean: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>,
                                  gamma: UnsafeMutablePointer<Float>, beta: UnsafeMutablePointer<Float>) -> HostVectors.BatchNormOutput? {
        relu ? HostVectors.BatchNormOutput(mean: mean[ch], scale: gamma[ch] * invStd[ch], shift: beta[ch]) : nil
    }

    public func batchnormBackwardReduce(n: Int, c: Int, plane: Int, relu: Bool, x: Storage, dy: Storage, gamma: Storage, beta: Storage,
                                        savedMean: Storage, savedInvStd: Storage, dgamma: Storage, dbeta: Storage) throws {
        let px = x.host!, pdy = dy.host!, sm = savedMean.host!, si = savedInvStd.host!, dg = dgamma.host!, db = dbeta.host!
        let pg = gamma.host!, pb = beta.host!
        parallel(c, cost: n * plane * 2, traffic: 8 * n * c * plane) { lo, hi in
            for ch in lo..<hi {
                // Accumulated in Double, as the forward statistics.
                let mean = Double(sm[ch]), mask = Self.fusedReLU(relu, ch, mean: sm, invStd: si, gamma: pg, beta: pb)
                var a = 0.0, b = 0.0
                for i in 0..<n {
                    let sums = HostVectors.gradientSums(px + (i * c + ch) * plane, pdy + (i * c + ch) * plane, plane, mean: mean, relu: mask)
                    a += sums.sum; b += sums.dot
                }
                db[ch] = Float(a)
                dg[ch] = Float(b * Double(si[ch]))
            }
        }
    }

    public func batchnormBackwardInput(n: Int, c: Int, plane: Int, relu: Bool, x: Storage, dy: Storage, gamma: Storage, beta: Storage,
                                       savedMean: Storage, savedInvStd: Storage, dgamma: Storage, dbeta: Storage, dx: Storage) throws {
        let px = x.host!, pdy = dy.host!, pg = gamma.host!, pb = beta.host!, sm = savedMean.host!, si = savedInvStd.host!
        let dg = dgamma.host!, db = dbeta.host!, pdx = dx.host!
        let m = Float(n * plane)
        parallel(n * c, cost: plane, traffic: 12 * n * c * plane) { lo, hi in
            for nc in lo..<hi {
                let ch = nc % c
                let invstd = si[ch], mean = sm[ch]
                let k = pg[ch] * invstd / m, dbc = db[ch], dgc = dg[ch]
                let mask = Self.fusedReLU(relu, ch, mean: sm, invStd: si, gamma: pg, beta: pb)
                let xs = px + nc * plane, ds = pdy + nc * plane, out = pdx + nc * plane
                var j = 0
                while j + HostVectors.width <= plane {
                    let v = HostVectors.load(xs + j), d = HostVectors.masked(HostVectors.load(ds + j), v, mask)
                    HostVectors.store(k * (m * d - dbc - (v - mean) * invstd * dgc), out + j)
                    j += HostVectors.width
                }
                while j < plane { out[j] = k * (m * HostVectors.masked(ds[j], xs[j], mask) - dbc - (xs[j] - mean) * invstd * dgc); j += 1 }
            }
        }
    }

    public func logSoftmaxForward(rows: Int, cols: Int, x: Storage, y: Storage) throws {
        let px = x.host!, py = y.host!
        for r in 0..<rows {
            let src = px + r * cols, dst = py + r * cols
            var m = -Float.infinity
            for j in 0..<cols { m = max(m, src[j]) }
            var s: Float = 0
            for j in 0..<cols { s += expf(src[j] - m) }
            let lse = m + logf(s)
            for j in 0..<cols { dst[j] = src[j] - lse }
        }
    }

    public func logSoftmaxBackward(rows: Int, cols: Int, y: Storage, dy: Storage, dx: Storage) throws {
        let py = y.host!, pdy = dy.host!, pdx = dx.host!
        for r in 0..<rows {
            var s: Float = 0
            for j in 0..<cols { s += pdy[r * cols + j] }
            for j in 0..<cols { let i = r * cols + j; pdx[i] = pdy[i] - expf(py[i]) * s }
        }
    }

    public func softmaxCrossEntropy(rows: Int, cols: Int, x: Storage, target: Storage, rowLoss: Storage, dx: Storage) throws {
        let px = x.host!, pt = target.host!, pl = rowLoss.host!, pdx = dx.host!
        for r in 0..<rows {
            let src = px + r * cols, t = pt + r * cols
            var m = -Float.infinity
            for j in 0..<cols { m = max(m, src[j]) }
            var s: Float = 0
            for j in 0..<cols { s += expf(src[j] - m) }
            let lse = m + logf(s)
            var loss: Float = 0, tsum: Float = 0
            for j in 0..<cols { loss -= t[j] * (src[j] - lse); tsum += t[j] }
            pl[r] = loss
            for j in 0..<cols { pdx[r * cols + j] = (expf(src[j] - lse) * tsum - t[j]) / Float(rows) }
        }
    }

    public func bceWithLogits(count: Int, x: Storage, target: Storage, loss: Storage, dx: Storage) throws {
        let px = x.host!, pt = target.host!, pl = loss.host!, pdx = dx.host!
        for i in 0..<count {
            let v = px[i], t = pt[i]
            pl[i] = max(v, 0) - v * t + log1pf(expf(-abs(v)))
            pdx[i] = (CPUBackend.sigmoid(v) - t) / Float(count)
        }
    }

    public func reduceSum(count: Int, x: Storage, out: Storage) throws {
        let px = x.host!
        var s: Double = 0
        for i in 0..<count { s += Double(px[i]) }
        out.host![0] = Float(s)
    }

    public func sgdUpdate(count: Int, learningRate: Float, momentum: Float, weightDecay: Float, w: Storage, g: Storage, v: Storage) throws {
        let pw = w.host!, pg = g.host!, pv = v.host!
        parallel(count, traffic: 20 * count) { lo, hi in
            for i in lo..<hi {
                let grad = pg[i] + weightDecay * pw[i]
                let vel = momentum * pv[i] + grad
                pv[i] = vel
                pw[i] -= learningRate * vel
            }
        }
    }

    public func adamwUpdate(count: Int, learningRate: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float,
                            biasCorrection1: Float, biasCorrection2: Float, w: Storage, g: Storage, m: Storage, v: Storage) throws {
        let pw = w.host!, pg = g.host!, pm = m.host!, pv = v.host!
        parallel(count, traffic: 28 * count) { lo, hi in
            for i in lo..<hi {
                let grad = pg[i]
                let wd = pw[i] * (1 - learningRate * weightDecay)
                let mo = beta1 * pm[i] + (1 - beta1) * grad
                let ve = beta2 * pv[i] + (1 - beta2) * grad * grad
                pm[i] = mo; pv[i] = ve
                pw[i] = wd - learningRate * (mo / biasCorrection1) / (sqrtf(ve / biasCorrection2) + eps)
            }
        }
    }

    public func randomUniform(count: Int, seed: UInt64, offset: UInt64, low: Float, high: Float, x: Storage) throws {
        let px = x.host!
        for i in 0..<count { px[i] = low + (high - low) * CounterRandom.uniform(seed: seed, counter: offset &+ UInt64(i)) }
    }

    public func randomNormal(count: Int, seed: UInt64, offset: UInt64, mean: Float, std: Float, x: Storage) throws {
        let px = x.host!
        for i in 0..<count {
            let u1 = CounterRandom.uniform(seed: seed, counter: offset &+ 2 &* UInt64(i))
            let u2 = CounterRandom.uniform(seed: seed, counter: offset &+ 2 &* UInt64(i) &+ 1)
            let r = sqrtf(-2 * logf(1 - u1))
            px[i] = mean + std * r * cosf(6.283185307179586 * u2)
        }
    }

    public func overlayBlend(batch: Int, size: Int, a: Storage, overlay: Storage, weights: Storage, out: Storage) throws {
        let pa = a.host!, po = overlay.host!, pw = weights.host!, pout = out.host!
        for b in 0..<batch {
            let w = pw[b]
            for j in 0..<size { let i = b * size + j; pout[i] = (1 - w) * pa[i] + w * po[i] }
        }
    }

    public func overlayLabelUnion(batch: Int, classes: Int, labels: Storage, overlayLabels: Storage, apply: Storage, out: Storage) throws {
        let pl = labels.host!, po = overlayLabels.host!, pa = apply.host!, pout = out.host!
        for i in 0..<(batch * classes) { pout[i] = pa[i / classes] > 0.5 ? max(pl[i], po[i]) : pl[i] }
    }

    public func augmentBarFills(batch: Int, height: Int, width: Int, x: Storage, params: Storage) throws {
        let px = x.host!, pp = params.host!
        let plane = height * width
        parallel(batch, cost: plane) { lo, hi in
            for b in lo..<hi {
                let image = px + b * plane, p = pp + b * augmentParameterCount
                var current = Array(UnsafeBufferPointer(start: image, count: plane))
                var sum = current.reduce(0.0) { $0 + Double($1) }
                let count = Double(max(1, plane))
                p[0] = Float(sum / count)
                for k in 0..<6 {
                    let fill = Float(sum / count)
                    p[16 + k] = fill
                    let start = Int(p[1 + 2 * k]), extent = Int(p[2 + 2 * k])
                    let time = k < 3
                    let lo = max(0, start), hi = min(time ? width : height, start + extent)
                    guard hi > lo else { continue }
                    for a in lo..<hi {
                        for c in 0..<(time ? height : width) {
                            let i = time ? c * width + a : a * width + c
                            sum += Double(fill) - Double(current[i])
                            current[i] = fill
                        }
                    }
                }
                p[22] = 1
            }
        }
    }

    public func augmentSpectrogram(batch: Int, height: Int, width: Int, seed: UInt64, offset: UInt64, x: Storage, params: Storage, y: Storage) throws {
        let px = x.host!, pp = params.host!, py = y.host!
        let plane = height * width
        parallel(batch, cost: plane) { lo, hi in
            for b in lo..<hi {
                let p = pp + b * augmentParameterCount
                let dy = Int(p[13]), dx = Int(p[14]), std = p[15], perBar = p[22] > 0.5
                for yy in 0..<height {
                    for xx in 0..<width {
                        let sy = yy - dy, sx = xx - dx
                        let o = b * plane + yy * width + xx
                        if sy < 0 || sy >= height || sx < 0 || sx >= width { py[o] = 0; continue }
                        var v = px[b * plane + sy * width + sx]
                        for k in 0..<3 {
                            let ts = Int(p[1 + 2 * k]), tw = Int(p[2 + 2 * k])
                            if sx >= ts && sx < ts + tw { v = perBar ? p[16 + k] : p[0] }
                        }
                        for k in 0..<3 {
                            let fs = Int(p[7 + 2 * k]), fw = Int(p[8 + 2 * k])
                            if sy >= fs && sy < fs + fw { v = perBar ? p[19 + k] : p[0] }
                        }
                        if std > 0 {
                            let c = offset &+ 2 &* UInt64(b * plane + sy * width + sx)
                            let u1 = CounterRandom.uniform(seed: seed, counter: c), u2 = CounterRandom.uniform(seed: seed, counter: c &+ 1)
                            v += std * sqrtf(-2 * logf(1 - u1)) * cosf(6.283185307179586 * u2)
                        }
                        py[o] = v
                    }
                }
            }
        }
    }

    public func augmentWaveform(batch: Int, length: Int, seed: UInt64, offset: UInt64, x: Storage, overlay: Storage, params: Storage, y: Storage) throws {
        let px = x.host!, po = overlay.host!, pp = params.host!, py = y.host!
        @inline(__always) func gaussian(_ c: UInt64, _ seed: UInt64) -> Float {
            let u1 = CounterRandom.uniform(seed: seed, counter: c), u2 = CounterRandom.uniform(seed: seed, counter: c &+ 1)
            return sqrtf(-2 * logf(1 - u1)) * cosf(6.283185307179586 * u2)
        }
        // The masks' noise has its own stream, counted per sample like the additive noise.
        let maskSeed = seed ^ 0x6D61_736B_6E6F_6973
        parallel(batch, cost: length) { lo, hi in
            for b in lo..<hi {
                let p = pp + b * waveformAugmentParameterCount
                let a = p[0], c = p[1], sn = p[2], shift = Int(p[3]), sm = p[5], bound = p[6], clip = p[7] > 0.5
                let masks = min(Int(p[4]), waveformAugmentMaxMasks)
                @inline(__always) func unit(_ v: Float) -> Float { min(max(v, -1), 1) }
                for t in 0..<length {
                    let i = b * length + t
                    var masked = false
                    for k in 0..<masks where t >= Int(p[8 + 2 * k]) && t < Int(p[8 + 2 * k]) + Int(p[9 + 2 * k]) { masked = true; break }
                    if masked {
                        let m = sm * gaussian(offset &+ 2 &* UInt64(i), maskSeed)
                        py[i] = clip ? unit(m) : m
                        continue
                    }
                    var src = t + shift
                    if src >= length { src -= length }
                    let j = b * length + src
                    var s = a * px[j]
                    if bound > 0 { s = min(max(s, -bound), bound) }
                    let o = c * po[j]
                    var v = s + o
                    if sn > 0 {
                        let n = sn * gaussian(offset &+ 2 &* UInt64(j), seed)
                        v = clip ? unit(v + unit(n)) : v + n
                    }
                    py[i] = v
                }
            }
        }
    }

    public func gainShift(batch: Int, size: Int, x: Storage, offsets: Storage, y: Storage) throws {
        let px = x.host!, po = offsets.host!, py = y.host!
        parallel(batch, cost: size) { lo, hi in
            for b in lo..<hi {
                let o = po[b]
                for j in (b * size)..<((b + 1) * size) { py[j] = min(max(px[j] + o, -1), 1) }
            }
        }
    }
}
