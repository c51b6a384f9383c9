import CHostKernels
import Foundation
import Kernels
@testable import Tensor
import TestSupport
import XCTest

/// Every forward op against a float64 reference on fresh random inputs, on every device.
final class ForwardOpTests: XCTestCase {
    var rng = TestRNG(seed: UInt64.random(in: 0...UInt64.max))

    func testGEMMAllTransposesAndEdgeShapes() throws {
        let shapes = [(1, 1, 1), (37, 53, 29), (64, 96, 80), (130, 33, 70), (8, 200, 3), (150, 260, 40), (300, 100, 50)]  // the last two are split across threads on the CPU
        for device in TestDevices.all {
            for (m, n, k) in shapes {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    let a = rng.uniform(m * k), b = rng.uniform(k * n)
                    let ta_ = try Tensor(a, shape: ta ? [k, m] : [m, k], on: device)
                    let tb_ = try Tensor(b, shape: tb ? [n, k] : [k, n], on: device)
                    let c = try Ops.matmul(ta_, tb_, transposeA: ta, transposeB: tb).toArray()
                    let ref = Reference.gemm(a.doubles, b.doubles, m: m, n: n, k: k, transA: ta, transB: tb)
                    assertClose(c, ref, "gemm \(m)x\(n)x\(k) tA=\(ta) tB=\(tb) on \(device.identifier)")
                }
            }
        }
    }

    /// A view shares its tensor's memory: an op writing into views (a product, a bias gradient)
    /// fills exactly their elements, matching float64, and leaves the gaps alone; a view that
    /// does not start on the device's alignment, or runs past the end, is refused by name.
    func testOpsWriteIntoViewsOfOneBuffer() throws {
        for device in TestDevices.all {
            let align = device.backend.viewAlignment
            let (m, n, k) = (13, 7, 9)
            let total = 3 * align + m * n + align
            let flat = try Tensor.full([total], value: -7, on: device)
            let product = try flat.view(offset: align, shape: [m, n])
            let biasGradient = try flat.view(offset: align + (m * n + align - 1) / align * align, shape: [n])
            let a = rng.uniform(m * k), b = rng.uniform(k * n)
            let c = try Ops.matmul(Tensor(a, shape: [m, k], on: device), Tensor(b, shape: [k, n], on: device), into: product)
            XCTAssertTrue(c === product, "the result is the view itself")
            let dy = rng.uniform(m * n)
            _ = try Ops.biasAddBackward(Tensor(dy, shape: [m, n], on: device), into: biasGradient)
            let all = try flat.toArray()
            let productStart = align, biasStart = align + (m * n + align - 1) / align * align
            assertClose(Array(all[productStart..<(productStart + m * n)]), Reference.gemm(a.doubles, b.doubles, m: m, n: n, k: k, transA: false, transB: false),
                        "product written into a view on \(device.identifier)")
            assertClose(Array(all[biasStart..<(biasStart + n)]), (0..<n).map { j in (0..<m).reduce(0.0) { $0 + Double(dy[$1 * n + j]) } },
                        "bias gradient written into a view on \(device.identifier)")
            let written = Set(productStart..<(productStart + m * n)).union(biasStart..<(biasStart + n))
            XCTAssertTrue(all.indices.filter { !written.contains($0) }.allSatisfy { all[$0] == -7 }, "nothing outside the views changed on \(device.identifier)")
            try product.assign(Tensor.zeros([m, n], on: device))
            XCTAssertEqual(try flat.toArray()[productStart], 0, "a write through the view reaches the tensor")
            if align > 1 {
                XCTAssertThrowsError(try flat.view(offset: 1, shape: [4]).toArray()) { XCTAssertTrue("\($0)".contains("multiples of \(align)"), "\($0)") }
            }
            XCTAssertThrowsError(try flat.view(offset: align, shape: [total])) { XCTAssertTrue("\($0)".contains("view"), "\($0)") }
            XCTAssertThrowsError(try Ops.matmul(Tensor(a, shape: [m, k], on: device), Tensor(b, shape: [k, n], on: device), into: biasGradient)) {
                XCTAssertTrue("\($0)".contains("matmul"), "\($0)")
            }
        }
    }

    /// The CPU fallback counts its convolutions' work (what `train-gpu bench` divides by their
    /// time): 2 operations per multiply-add, in each direction asked for.
    func testConvolutionWorkCountsEachDirection() throws {
        let cpu = try XCTUnwrap(Device.cpu.backend as? CPUBackend)
        let (n, c, h, w, o, k) = (2, 3, 9, 8, 4, 3)
        let x = try Tensor(rng.uniform(n * c * h * w), shape: [n, c, h, w], on: .cpu)
        let weight = try Tensor(rng.uniform(o * c * k * k), shape: [o, c, k, k], on: .cpu)
        let products = Double(2 * n * o * (c * k * k) * (5 * 4))  // stride 2, padding 1: 5 x 4 outputs
        let before = cpu.convolutionWork(), before3 = cpu.convolutionWork(kernel: 3), before5 = cpu.convolutionWork(kernel: 5)
        let y = try Ops.conv2dForward(x, weight: weight, bias: nil, stride: 2, padding: 1)
        XCTAssertEqual(y.shape, [n, o, 5, 4])
        XCTAssertEqual(cpu.convolutionWork().flops - before.flops, products)
        _ = try Ops.conv2dBackward(y, x: x, weight: weight, stride: 2, padding: 1)
        XCTAssertEqual(cpu.convolutionWork().flops - before.flops, 3 * products, "forward, then input and weight gradients")
        _ = try Ops.conv2dBackward(y, x: x, weight: weight, stride: 2, padding: 1, needInput: false)
        XCTAssertEqual(cpu.convolutionWork().flops - before.flops, 4 * products, "a weight gradient alone")
        XCTAssertEqual(cpu.convolutionWork(kernel: 3).flops - before3.flops, 4 * products, "all with a 3x3 window")
        XCTAssertEqual(cpu.convolutionWork(kernel: 5).flops, before5.flops, "none with a 5x5 one")
        XCTAssertGreaterThan(cpu.convolutionWork().seconds, before.seconds)
    }

    /// The CPU fallback's operation profile (`chorus-bench resnet cpu`'s table): each operation
    /// counted once under its name, work done inside another (an im2col convolution's products)
    /// counted in the outer one, nothing recorded once stopped.
    func testOperationProfileCountsEachOperationOnce() throws {
        let cpu = try XCTUnwrap(Device.cpuIm2col.backend as? CPUBackend)
        let (n, c, h, w, o) = (4, 8, 40, 40, 16)
        let x = try Tensor(rng.uniform(n * c * h * w), shape: [n, c, h, w], on: .cpuIm2col)
        let weight = try Tensor(rng.uniform(o * c * 9), shape: [o, c, 3, 3], on: .cpuIm2col)
        cpu.startOperationProfile()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let y = try Ops.conv2dForward(x, weight: weight, bias: nil, stride: 1, padding: 1)
        let r = try Ops.reluForward(y)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        let profile = cpu.stopOperationProfile()
        _ = try Ops.reluForward(r)
        XCTAssertEqual(cpu.stopOperationProfile().entries.count, 0, "nothing recorded after the stop")
        let calls = Dictionary(uniqueKeysWithValues: profile.entries.map { ($0.kernel, $0.launches) })
        XCTAssertEqual(calls, ["convolution 3x3 forward": 1, "reluForward": 1], "the im2col and gemm inside the convolution are its own time")
        XCTAssertGreaterThan(profile.totalSeconds, 0)
        XCTAssertLessThanOrEqual(profile.totalSeconds, wall)
    }

    /// Products too narrow to split by rows or columns between the cores (a weight gradient of
    /// 16 x 25 summed over a long k) are split along k; the sum stays right, with beta.
    func testNarrowProductsSplitAlongK() throws {
        let (m, n, k) = (5, 7, 4096 * 8 + 3)
        let a = rng.uniform(m * k), b = rng.uniform(n * k), c0 = rng.uniform(m * n)
        let c = try Tensor(c0, shape: [m, n], on: .cpu)
        try Device.cpu.backend.gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 0.5,
                                    a: Tensor(a, shape: [m, k], on: .cpu).storage, offsetA: 0, lda: k, strideA: 0,
                                    b: Tensor(b, shape: [n, k], on: .cpu).storage, offsetB: 0, ldb: k, strideB: 0,
                                    beta: 2, c: c.storage, offsetC: 0, ldc: n, strideC: 0, batch: 1)
        let ab = Reference.gemm(a.doubles, b.doubles, m: m, n: n, k: k, transA: false, transB: true)
        assertClose(try c.toArray(), zip(ab, c0).map { 0.5 * $0 + 2 * Double($1) }, tolerance: 1e-4, "split-k product")
    }

    /// The CPU fallback's pool of idle buffers makes room for a new size by freeing the buffers
    /// given back longest ago (a process that moves on to other shapes keeps reusing its current
    /// ones), keeps the newest, and keeps nothing too small or larger than its limit.
    func testHostPoolMakesRoomForNewSizesByFreeingTheOldest() {
        let pool = HostPool(limitFloats: 10_000)
        let old = (0..<3).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: 3000) }
        for p in old { pool.give(p, count: 3000) }
        XCTAssertEqual(pool.idleFloats, 9000)
        let new = UnsafeMutablePointer<Float>.allocate(capacity: 4000)
        pool.give(new, count: 4000)
        XCTAssertEqual(pool.idleFloats, 10_000, "the oldest 3000 freed to make room")
        XCTAssertEqual(pool.take(4000), new)
        XCTAssertEqual(pool.take(3000), old[2], "the newest first")
        XCTAssertEqual(pool.take(3000), old[1])
        XCTAssertNil(pool.take(3000), "old[0] was freed")
        XCTAssertEqual(pool.idleFloats, 0)
        pool.give(old[1], count: 3000)
        pool.give(old[2], count: 3000)
        let bigger = UnsafeMutablePointer<Float>.allocate(capacity: 9000)
        pool.give(bigger, count: 9000)
        XCTAssertEqual(pool.idleFloats, 9000, "both 3000s freed for a 9000")
        XCTAssertEqual(pool.take(9000), bigger)
        bigger.deallocate(); new.deallocate()
        pool.give(.allocate(capacity: 100), count: 100)
        pool.give(.allocate(capacity: 20_000), count: 20_000)
        XCTAssertEqual(pool.idleFloats, 0, "too small, or larger than the limit: freed")
    }

    func testBatchedMatmul() throws {
        for device in TestDevices.all {
            let (bt, m, n, k) = (3, 17, 40, 21)
            let a = rng.uniform(bt * m * k), b = rng.uniform(bt * k * n)
            let c = try Ops.matmul(Tensor(a, shape: [bt, m, k], on: device), Tensor(b, shape: [bt, k, n], on: device)).toArray()
            var ref: [Double] = []
            for i in 0..<bt {
                ref += Reference.gemm(Array(a[(i * m * k)..<((i + 1) * m * k)]).doubles, Array(b[(i * k * n)..<((i + 1) * k * n)]).doubles,
                                      m: m, n: n, k: k, transA: false, transB: false)
            }
            assertClose(c, ref, "batched matmul on \(device.identifier)")
        }
    }

    /// Every GEMM variant (the GPU-shaped local-memory one too) runs, and agrees, on the OpenCL
    /// device here.
    func testTiledGEMMVariantOnOpenCL() throws {
        guard let cl = TestDevices.opencl?.openCLContext else { throw XCTSkip("no OpenCL device") }
        for variant in [KernelTuning.GEMMVariant.tiled, .blocked, .packed] {
            let tuning = TestDevices.smallTuning(variant)
            let device = Device.opencl(try OpenCLContext(device: cl.info, tuning: tuning))
            let (m, n, k) = (70, 45, 33)
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = rng.uniform(m * k), b = rng.uniform(k * n)
                let c = try Ops.matmul(Tensor(a, shape: ta ? [k, m] : [m, k], on: device), Tensor(b, shape: tb ? [n, k] : [k, n], on: device),
                                       transposeA: ta, transposeB: tb).toArray()
                assertClose(c, Reference.gemm(a.doubles, b.doubles, m: m, n: n, k: k, transA: ta, transB: tb), "gemm \(variant) tA=\(ta) tB=\(tb)")
            }
        }
    }

    /// gemm_packed on batched products with offsets, strides between entries, every transpose,
    /// beta accumulating, and edges in m and n, against float64.
    func testPackedGEMMBatchedWithOffsetsAndBeta() throws {
        guard let cl = TestDevices.opencl?.openCLContext else { throw XCTSkip("no OpenCL device") }
        let backend = OpenCLBackend(context: try OpenCLContext(device: cl.info, tuning: TestDevices.smallTuning(.packed)))
        let device = Device.opencl(backend.context)
        for (bt, m, n, k) in [(3, 17, 40, 37), (2, 1, 9, 64), (1, 26, 1, 5)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let (offA, offB, offC) = (3, 5, 2), (gapA, gapB, gapC) = (4, 1, 7)
                let strideA = m * k + gapA, strideB = k * n + gapB, strideC = m * n + gapC
                let a = rng.uniform(offA + bt * strideA), b = rng.uniform(offB + bt * strideB), c0 = rng.uniform(offC + bt * strideC)
                let c = try Tensor(c0, shape: [c0.count], on: device)
                try backend.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 1.25,
                                 a: try Tensor(a, shape: [a.count], on: device).storage, offsetA: offA, lda: ta ? m : k, strideA: strideA,
                                 b: try Tensor(b, shape: [b.count], on: device).storage, offsetB: offB, ldb: tb ? k : n, strideB: strideB,
                                 beta: 0.5, c: c.storage, offsetC: offC, ldc: n, strideC: strideC, batch: bt)
                var ref = c0.doubles
                for e in 0..<bt {
                    let ae = Array(a[(offA + e * strideA)..<(offA + e * strideA + m * k)]).doubles
                    let be = Array(b[(offB + e * strideB)..<(offB + e * strideB + k * n)]).doubles
                    for (q, v) in Reference.gemm(ae, be, m: m, n: n, k: k, transA: ta, transB: tb).enumerated() {
                        ref[offC + e * strideC + q] = 1.25 * v + 0.5 * Double(c0[offC + e * strideC + q])
                    }
                }
                assertClose(try c.toArray(), ref, "packed gemm batch \(bt) \(m)x\(n)x\(k) tA=\(ta) tB=\(tb)")
            }
        }
    }

    /// Split-K (k cut into slices computed side by side, then summed; the weight gradients of
    /// convolutions take this path on GPUs) on both GEMM variants: every transpose, a remainder of
    /// k, and beta accumulating into an offset C.
    func testSplitKGEMMOnOpenCL() throws {
        guard let cl = TestDevices.opencl?.openCLContext else { throw XCTSkip("no OpenCL device") }
        for variant in [KernelTuning.GEMMVariant.tiled, .blocked, .packed] {
            var tuning = TestDevices.smallTuning(variant)
            tuning.splitKGroupsPerUnit = 64; tuning.splitKMinimumDepth = 40
            let backend = OpenCLBackend(context: try OpenCLContext(device: cl.info, tuning: tuning))
            let device = Device.opencl(backend.context)
            for (m, n, k) in [(20, 9, 303), (40, 33, 250), (3, 70, 133)] {  // small: CI runs this under Oclgrind too
                XCTAssertGreaterThan(backend.splitKSlices(m: m, n: n, k: k, batch: 1), 1, "\(m)x\(n)x\(k) is split")
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    let a = rng.uniform(m * k), b = rng.uniform(k * n), c0 = rng.uniform(m * n + 5)
                    let ta_ = try Tensor(a, shape: ta ? [k, m] : [m, k], on: device), tb_ = try Tensor(b, shape: tb ? [n, k] : [k, n], on: device)
                    let c = try Tensor(c0, shape: [m * n + 5], on: device)
                    try backend.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.75,
                                     a: ta_.storage, offsetA: 0, lda: ta ? m : k, strideA: 0, b: tb_.storage, offsetB: 0, ldb: tb ? k : n, strideB: 0,
                                     beta: 0.5, c: c.storage, offsetC: 5, ldc: n, strideC: 0, batch: 1)
                    let product = Reference.gemm(a.doubles, b.doubles, m: m, n: n, k: k, transA: ta, transB: tb)
                    let ref = Array(c0[0..<5]).doubles + product.enumerated().map { 0.75 * $0.element + 0.5 * Double(c0[5 + $0.offset]) }
                    assertClose(try c.toArray(), ref, "split-K gemm \(m)x\(n)x\(k) tA=\(ta) tB=\(tb) \(variant)")
                }
            }
        }
    }

    /// The GEMM tuner on the OpenCL device here: candidates fit the device's limits, the defaults
    /// come first and are always measured, each timed candidate passed its float64 check, the
    /// fastest is kept in the file, read back for this device and driver only, and products with
    /// the kept tuning are right.
    func testGEMMTunerKeepsTheFastestCheckedSetting() throws {
        guard let info = TestDevices.opencl?.openCLContext?.info else { throw XCTSkip("no OpenCL device") }
        let candidates = GEMMTuner.candidates(for: info)
        XCTAssertEqual(candidates.first, KernelTuning.defaults(for: info))
        XCTAssertGreaterThan(candidates.count, 10)
        for t in candidates where t.gemmVariant == .tiled {
            let items = (t.tileM / t.workPerThreadM) * (t.tileN / t.workPerThreadN), localBytes = 4 * t.tileK * (t.tileM + t.tileN + 2)
            XCTAssertLessThanOrEqual(items, Int(info.maxWorkGroupSize))
            XCTAssertLessThanOrEqual(localBytes, Int(info.localMemoryBytes))
        }
        let file = makeTemporaryDirectory("tune") + "/tuning.json"
        let outcome = try GEMMTuner.run(device: info, seconds: 600, atMost: 2, sizes: [32], keepIn: file, workGroups: false)
        XCTAssertEqual(outcome.candidates.first?.tuning, KernelTuning.defaults(for: info))
        XCTAssertEqual(outcome.candidates.count, 2)
        for c in outcome.candidates where c.rejected == nil { XCTAssertGreaterThan(c.gflops[32] ?? 0, 0, c.tuning.description) }
        let kept = try XCTUnwrap(KeptTuning.read(for: info, file: file))
        XCTAssertEqual(kept.tuning, outcome.best.tuning)
        XCTAssertEqual(kept.gflops, outcome.candidates.filter { $0.rejected == nil }.map(\.score).max())
        XCTAssertEqual(kept.defaultGflops, outcome.candidates[0].score)
        XCTAssertEqual(kept.device, info.name)
        var other = kept
        other.driver += "-other"
        try other.write(to: file)
        XCTAssertNil(KeptTuning.read(for: info, file: file), "a tuning from another driver is not used")
        let device = Device.opencl(try OpenCLContext(device: info, tuning: kept.tuning))
        let (m, n, k) = (45, 70, 61)
        let a = rng.uniform(m * k), b = rng.uniform(k * n)
        let c = try Ops.matmul(Tensor(a, shape: [m, k], on: device), Tensor(b, shape: [k, n], on: device)).toArray()
        assertClose(c, Reference.gemm(a.doubles, b.doubles, m: m, n: n, k: k, transA: false, transB: false), "gemm with the kept tuning")
    }

    /// The first use of a device tunes it once and keeps the result; a later use measures nothing;
    /// while another process holds the lock nothing is measured or kept; a stale lock is taken over.
    func testFirstUseOfADeviceTunesItOnce() throws {
        guard let info = TestDevices.opencl?.openCLContext?.info else { throw XCTSkip("no OpenCL device") }
        let fm = FileManager.default
        let file = makeTemporaryDirectory("first-use") + "/tuning.json", lock = file + ".lock"
        // Small problems for the work-group stage (this runs under Oclgrind's simulator too).
        let small = WorkGroupTuner.Problem(batch: 2, channels: 8, plane: 20 * 20, elements: 5000)
        XCTAssertTrue(fm.createFile(atPath: lock, contents: nil))
        guard case .tunedElsewhere = try GEMMTuner.tuneOnFirstUse(info, seconds: 0, sizes: [32], keepIn: file, workGroupProblem: small) else {
            return XCTFail("a device another process is tuning is not tuned again")
        }
        XCTAssertFalse(fm.fileExists(atPath: file))
        // An hour-old lock is stale (its process died): taken over. A limit of 0 s measures the defaults only.
        try fm.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: lock)
        guard case let .tuned(outcome, kept) = try GEMMTuner.tuneOnFirstUse(info, seconds: 0, sizes: [32], keepIn: file, workGroupProblem: small) else {
            return XCTFail("an untuned device is tuned on first use")
        }
        XCTAssertEqual(kept, file)
        XCTAssertEqual(outcome.candidates.map(\.tuning), [KernelTuning.defaults(for: info)])
        XCTAssertFalse(fm.fileExists(atPath: lock), "the lock is released")
        let first = try XCTUnwrap(KeptTuning.read(for: info, file: file))
        XCTAssertEqual(first.tuning, outcome.kept)
        // The work-group sizes were measured on the winner's program, and the fastest checked ones kept.
        let groups = try XCTUnwrap(outcome.workGroups)
        XCTAssertEqual(groups.reductions.first?.size, KernelTuning.defaults(for: info).reduceWorkGroup, "the current size first")
        XCTAssertEqual(Set(groups.reductions.map(\.size)).count, groups.reductions.count)
        for c in groups.reductions + groups.elementwise {
            XCTAssertNil(c.rejected, "work-group \(c.size.map(String.init) ?? "nil") passes its float64 check on \(info.name)")
            XCTAssertLessThanOrEqual(c.size ?? 0, info.maxWorkGroupSize)
        }
        for c in groups.reductions { XCTAssertLessThanOrEqual(c.size ?? .max, KernelTuning.maxReduceWorkGroup) }
        XCTAssertGreaterThanOrEqual(groups.reductions.count, 2)
        // The kept sizes: the fastest, or the current one when it is within 10% of the fastest.
        for (list, kept) in [(groups.reductions, first.tuning.reduceWorkGroup as Int?), (groups.elementwise, first.tuning.elementwiseWorkGroup)] {
            let fastest = try XCTUnwrap(list.compactMap(\.milliseconds).min()), current = try XCTUnwrap(list[0].milliseconds)
            let keptTime = try XCTUnwrap(list.first { $0.size == kept }?.milliseconds)
            XCTAssertTrue(current <= fastest * 1.1 ? kept == list[0].size : keptTime == fastest, "kept \(String(describing: kept)) of \(list)")
        }
        guard case let .alreadyTuned(again) = try GEMMTuner.tuneOnFirstUse(info, seconds: 0, sizes: [32], keepIn: file, workGroupProblem: small) else {
            return XCTFail("a tuned device is not tuned again")
        }
        XCTAssertEqual(again, first)
    }

    func testConv2dForwardStridesPaddingAndChunks() throws {
        // The last three have channel counts where oneDNN's blocked layouts (and their reorders) are used.
        let cases = [(2, 3, 9, 11, 4, 3, 3, 1, 1), (3, 2, 12, 12, 5, 7, 7, 2, 3), (2, 4, 8, 8, 6, 1, 1, 2, 0), (1, 3, 5, 7, 2, 3, 3, 1, 0),
                     (2, 16, 10, 9, 32, 3, 3, 2, 1), (3, 24, 7, 7, 40, 3, 3, 1, 1), (2, 32, 6, 6, 16, 1, 1, 2, 0)]
        let savedBudget = Ops.columnBudget
        defer { Ops.columnBudget = savedBudget }
        for budget in [savedBudget, 200] {  // 200 floats forces one image per chunk
            Ops.columnBudget = budget
            for device in TestDevices.convolution {
                for (n, c, h, w, o, kh, kw, s, p) in cases {
                    let x = rng.uniform(n * c * h * w), wt = rng.uniform(o * c * kh * kw), bias = rng.uniform(o)
                    let y = try Ops.conv2dForward(Tensor(x, shape: [n, c, h, w], on: device), weight: Tensor(wt, shape: [o, c, kh, kw], on: device),
                                                  bias: Tensor(bias, shape: [o], on: device), stride: s, padding: p)
                    let ref = Reference.conv2d(x.doubles, wt.doubles, bias.doubles, n: n, c: c, h: h, wd: w, o: o, kh: kh, kw: kw, stride: s, pad: p)
                    let terms = Reference.conv2d(x.doubles.map(abs), wt.doubles.map(abs), bias.doubles.map(abs), n: n, c: c, h: h, wd: w, o: o,
                                                 kh: kh, kw: kw, stride: s, pad: p)
                    XCTAssertEqual(y.shape, [n, o, (h + 2 * p - kh) / s + 1, (w + 2 * p - kw) / s + 1])
                    // Errors of 3e-6 at most of the terms' size in six runs (the Winograd path too).
                    assertCloseToTerms(try y.toArray(), ref, scales: terms, "conv2d \(n),\(c),\(h),\(w) k\(kh) s\(s) p\(p) budget \(budget) on \(device.identifier)")
                }
            }
        }
    }

    /// A bias-free convolution, batch norm on running statistics and ReLU as one op, against the
    /// three done apart in float64.
    func testConv2dBatchNormInferenceIsConvolutionThenBatchNormThenReLU() throws {
        for device in TestDevices.convolution {
            for (n, c, h, w, o, k, s, p) in [(2, 3, 9, 11, 4, 3, 1, 1), (3, 16, 10, 9, 32, 3, 2, 1), (2, 1, 12, 12, 16, 5, 2, 2), (2, 32, 6, 6, 16, 1, 2, 0)] {
                for relu in [false, true] {
                    let x = rng.uniform(n * c * h * w), wt = rng.uniform(o * c * k * k)
                    let gamma = rng.uniform(o), beta = rng.uniform(o), mean = rng.uniform(o), variance = rng.uniform(o).map { abs($0) + 0.1 }
                    let t = { (v: [Float], shape: [Int]) in try Tensor(v, shape: shape, on: device) }
                    let y = try Ops.conv2dBatchNormInference(t(x, [n, c, h, w]), weight: t(wt, [o, c, k, k]), stride: s, padding: p,
                                                             gamma: t(gamma, [o]), beta: t(beta, [o]), runningMean: t(mean, [o]),
                                                             runningVar: t(variance, [o]), eps: 1e-5, relu: relu)
                    let conv = Reference.conv2d(x.doubles, wt.doubles, nil, n: n, c: c, h: h, wd: w, o: o, kh: k, kw: k, stride: s, pad: p)
                    let plane = conv.count / (n * o)
                    let ref = conv.enumerated().map { i, v -> Double in
                        let ch = (i / plane) % o
                        let b = (v - Double(mean[ch])) / (Double(variance[ch]) + 1e-5).squareRoot() * Double(gamma[ch]) + Double(beta[ch])
                        return relu ? max(b, 0) : b
                    }
                    assertClose(try y.toArray(), ref, "conv+bn\(relu ? "+relu" : "") \(n),\(c),\(h),\(w) o\(o) k\(k) s\(s) p\(p) on \(device.identifier)")
                }
            }
        }
    }

    func testPoolingForward() throws {
        for device in TestDevices.all {
            let (n, c, h, w) = (2, 3, 9, 10)
            let x = rng.uniform(n * c * h * w)
            let xt = try Tensor(x, shape: [n, c, h, w], on: device)
            let (y, _) = try Ops.maxPool2dForward(xt, kernel: 3, stride: 2, padding: 1)
            assertClose(try y.toArray(), Reference.maxpool(x.doubles, planes: n * c, h: h, w: w, k: 3, s: 2, p: 1), "maxpool on \(device.identifier)")
            let g = try Ops.globalAvgPoolForward(xt).toArray()
            let ref = (0..<(n * c)).map { q in x[(q * h * w)..<((q + 1) * h * w)].reduce(0.0) { $0 + Double($1) } / Double(h * w) }
            assertClose(g, ref, "global average pool on \(device.identifier)")
        }
    }

    /// Rows wide enough for the CPU's eight-at-a-time stride-2 path (and its scalar edges), with
    /// many equal values, as after a ReLU: every device returns the first maximum in row-major
    /// order of each window, values and indices exactly.
    func testMaxPoolKeepsTheFirstOfEqualMaximaOnWideRows() throws {
        let cases: [(shape: [Int], k: Int, s: Int, p: Int)] = [([2, 3, 5, 40], 3, 2, 1), ([2, 2, 4, 37], 2, 2, 0), ([1, 2, 3, 112], 3, 2, 1),
                                                                ([1, 1, 6, 41], 4, 2, 2), ([1, 2, 5, 33], 3, 1, 1), ([1, 1, 3, 17], 2, 2, 0)]
        for device in TestDevices.all {
            for c in cases {
                let (planes, h, w) = (c.shape[0] * c.shape[1], c.shape[2], c.shape[3])
                // NaN is never a maximum; a window of only NaN and -inf names its first input.
                let x = (0..<(planes * h * w)).map { _ -> Float in
                    let r = Int.random(in: -3...3, using: &rng)
                    return r == 3 ? .nan : r == -3 ? -.infinity : Float(r) * 0.5
                }
                let (y, arg) = try Ops.maxPool2dForward(Tensor(x, shape: c.shape, on: device), kernel: c.k, stride: c.s, padding: c.p)
                let oh = (h + 2 * c.p - c.k) / c.s + 1, ow = (w + 2 * c.p - c.k) / c.s + 1
                var values: [Float] = [], indices: [Float] = []
                for q in 0..<planes {
                    for yo in 0..<oh {
                        for xo in 0..<ow {
                            // The window's first input (clipped to the image) until a value beats -inf.
                            var best = -Float.infinity, at = max(0, yo * c.s - c.p) * w + max(0, xo * c.s - c.p)
                            for ih in (yo * c.s - c.p)..<(yo * c.s - c.p + c.k) where ih >= 0 && ih < h {
                                for iw in (xo * c.s - c.p)..<(xo * c.s - c.p + c.k) where iw >= 0 && iw < w && x[q * h * w + ih * w + iw] > best {
                                    best = x[q * h * w + ih * w + iw]; at = ih * w + iw
                                }
                            }
                            values.append(best); indices.append(Float(at))
                        }
                    }
                }
                XCTAssertEqual(try y.toArray().map(\.bitPattern), values.map(\.bitPattern), "maxpool \(c) on \(device.identifier)")
                XCTAssertEqual(try arg.toArray(), indices, "maxpool argmax \(c) on \(device.identifier)")
            }
        }
    }

    func testBatchNormTrainEvalAndRunningStats() throws {
        for device in TestDevices.all {
            let (n, c, h, w) = (3, 4, 5, 6)
            let x = rng.uniform(n * c * h * w, -2, 3), gamma = rng.uniform(c, 0.5, 1.5), beta = rng.uniform(c)
            let rm = try Tensor.zeros([c], on: device), rv = try Tensor.full([c], value: 1, on: device)
            let g = try Tensor(gamma, shape: [c], on: device), b = try Tensor(beta, shape: [c], on: device)
            let xt = try Tensor(x, shape: [n, c, h, w], on: device)
            let (y, _) = try Ops.batchNorm2dForwardTrain(xt, gamma: g, beta: b, runningMean: rm, runningVar: rv, eps: 1e-5, momentum: 0.1)
            assertClose(try y.toArray(), Reference.batchnormTrain(x.doubles, gamma: gamma.doubles, beta: beta.doubles, n: n, c: c, plane: h * w, eps: 1e-5),
                        "batchnorm train on \(device.identifier)")
            // Running statistics: 0.9 * old + 0.1 * batch (unbiased variance).
            var refMean: [Double] = [], refVar: [Double] = []
            for ch in 0..<c {
                var vals: [Double] = []
                for bb in 0..<n { for j in 0..<(h * w) { vals.append(Double(x[(bb * c + ch) * h * w + j])) } }
                let mean = vals.reduce(0, +) / Double(vals.count)
                let uv = vals.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(vals.count - 1)
                refMean.append(0.1 * mean); refVar.append(0.9 + 0.1 * uv)
            }
            assertClose(try rm.toArray(), refMean, "running mean on \(device.identifier)")
            assertClose(try rv.toArray(), refVar, "running var on \(device.identifier)")
            let ye = try Ops.batchNorm2dForwardEval(xt, gamma: g, beta: b, runningMean: rm, runningVar: rv).toArray()
            var refEval = [Double](repeating: 0, count: x.count)
            for i in 0..<x.count {
                let ch = (i / (h * w)) % c
                refEval[i] = (Double(x[i]) - refMean[ch]) / (refVar[ch] + 1e-5).squareRoot() * Double(gamma[ch]) + Double(beta[ch])
            }
            assertClose(ye, refEval, "batchnorm eval on \(device.identifier)")
        }
    }

    /// Batch norm's float64 sums and max pooling run as AVX2 where the CPU has it (CHostKernels):
    /// the same checks on the portable loops every other CPU runs.
    func testBatchNormAndPoolingForwardOnThePortableLoops() throws {
        chorus_host_kernels_use_portable(1)
        defer { chorus_host_kernels_use_portable(0) }
        XCTAssertEqual(chorus_host_kernels_vectors(), 0)
        try testBatchNormStatisticsOverALargeBatch()
        try testBatchNormTrainEvalAndRunningStats()
        try testMaxPoolKeepsTheFirstOfEqualMaximaOnWideRows()
        try testPoolingForward()
    }

    /// Batch statistics over a large batch (131,072 values per channel, mean far from zero) stay
    /// accurate to float rounding: float sums of a whole channel drift (they were 1e-4 off on the
    /// CPU here), so the CPU accumulates in Double and the kernels with Kahan compensation, and the
    /// variance is taken about the mean in a second pass.
    func testBatchNormStatisticsOverALargeBatch() throws {
        let (n, c, h, w) = (8, 2, 128, 128)
        let plane = h * w, m = Double(n * plane)
        let x = rng.uniform(n * c * plane, 4, 6), dy = rng.uniform(n * c * plane, 0.5, 1.5)
        let gamma: [Float] = [1.5, 0.5], beta: [Float] = [0.25, -0.25]
        let yRef = Reference.batchnormTrain(x.doubles, gamma: gamma.doubles, beta: beta.doubles, n: n, c: c, plane: plane, eps: 1e-5)
        var varRef: [Double] = [], dgRef: [Double] = [], dgScale: [Double] = [], dbRef: [Double] = []
        for ch in 0..<c {
            let values = (0..<n).flatMap { b in (0..<plane).map { Double(x[(b * c + ch) * plane + $0]) } }
            let grads = (0..<n).flatMap { b in (0..<plane).map { Double(dy[(b * c + ch) * plane + $0]) } }
            let mean = values.reduce(0, +) / m
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / m
            let terms = zip(values, grads).map { ($0.0 - mean) / (variance + 1e-5).squareRoot() * $0.1 }
            varRef.append(0.9 + 0.1 * variance * m / (m - 1))
            dbRef.append(grads.reduce(0, +))
            dgRef.append(terms.reduce(0, +))
            dgScale.append(terms.reduce(0) { $0 + abs($1) })
        }
        for device in TestDevices.all {
            let xt = try Tensor(x, shape: [n, c, h, w], on: device), g = try Tensor(gamma, shape: [c], on: device)
            let rm = try Tensor.zeros([c], on: device), rv = try Tensor.full([c], value: 1, on: device)
            let bt = try Tensor(beta, shape: [c], on: device)
            let (y, saved) = try Ops.batchNorm2dForwardTrain(xt, gamma: g, beta: bt, runningMean: rm, runningVar: rv, eps: 1e-5, momentum: 0.1)
            let grads = try Ops.batchNorm2dBackward(try Tensor(dy, shape: xt.shape, on: device), x: xt, gamma: g, beta: bt, saved: saved)
            assertClose(try y.toArray(), yRef, tolerance: 2e-6, "large-batch batchnorm output on \(device.identifier)")
            assertClose(try rv.toArray(), varRef, tolerance: 2e-6, "large-batch running var on \(device.identifier)")
            for (a, b) in zip(try grads.dBeta.toArray(), dbRef) {
                XCTAssertLessThan(abs(Double(a) - b) / b, 1e-6, "large-batch dbeta on \(device.identifier)")
            }
            // dgamma sums terms of both signs: compared relative to the sum of their magnitudes.
            for ((a, b), scale) in zip(zip(try grads.dGamma.toArray(), dgRef), dgScale) {
                XCTAssertLessThan(abs(Double(a) - b) / scale, 1e-5, "large-batch dgamma on \(device.identifier)")
            }
        }
    }

    func testElementwiseSoftmaxAndLosses() throws {
        for device in TestDevices.all {
            let (r, k) = (6, 5)
            let a = rng.uniform(r * k, -4, 4), b = rng.uniform(r * k)
            let at = try Tensor(a, shape: [r, k], on: device), bt = try Tensor(b, shape: [r, k], on: device)
            assertClose(try Ops.add(at, bt).toArray(), zip(a, b).map { Double($0) + Double($1) }, "add")
            assertClose(try Ops.mul(at, bt).toArray(), zip(a, b).map { Double($0) * Double($1) }, "mul")
            assertClose(try Ops.reluForward(at).toArray(), a.map { max(Double($0), 0) }, "relu")
            assertClose(try Ops.sigmoidForward(at).toArray(), a.map { 1 / (1 + Foundation.exp(-Double($0))) }, "sigmoid")
            assertClose(try Ops.logSoftmaxForward(at).toArray(), Reference.logSoftmax(a.doubles, rows: r, cols: k), "log-softmax on \(device.identifier)")
            let c = try at.to(device); try Ops.axpy(0.5, bt, into: c); try Ops.scale(c, by: 2)
            assertClose(try c.toArray(), zip(a, b).map { 2 * (Double($0) + 0.5 * Double($1)) }, "axpy+scale")
            // One-hot targets for CE, multi-hot for BCE.
            var onehot = [Float](repeating: 0, count: r * k)
            for i in 0..<r { onehot[i * k + Int.random(in: 0..<k, using: &rng)] = 1 }
            let ce = try Ops.softmaxCrossEntropy(logits: at, targets: Tensor(onehot, shape: [r, k], on: device))
            XCTAssertEqual(Double(ce.loss), Reference.softmaxCE(a.doubles, onehot.doubles, rows: r, cols: k), accuracy: 1e-4 * max(1, Double(ce.loss)))
            let multi = (0..<(r * k)).map { _ in Float(Int.random(in: 0...1, using: &rng)) }
            let bce = try Ops.bceWithLogits(logits: at, targets: Tensor(multi, shape: [r, k], on: device))
            XCTAssertEqual(Double(bce.loss), Reference.bce(a.doubles, multi.doubles), accuracy: 1e-4 * max(1, Double(bce.loss)))
            // Bias add (per channel of NCHW).
            let x = rng.uniform(2 * 3 * 4), bias = rng.uniform(3)
            let xt = try Tensor(x, shape: [2, 3, 2, 2], on: device)
            try Ops.biasAddForward(xt, bias: Tensor(bias, shape: [3], on: device))
            assertClose(try xt.toArray(), x.indices.map { Double(x[$0]) + Double(bias[($0 / 4) % 3]) }, "bias add")
        }
    }

    func testLinearForward() throws {
        for device in TestDevices.all {
            let (n, i, o) = (5, 7, 3)
            let x = rng.uniform(n * i), w = rng.uniform(o * i), b = rng.uniform(o)
            let y = try Ops.linearForward(Tensor(x, shape: [n, i], on: device), weight: Tensor(w, shape: [o, i], on: device), bias: Tensor(b, shape: [o], on: device))
            var ref = Reference.gemm(x.doubles, w.doubles, m: n, n: o, k: i, transA: false, transB: true)
            for r in 0..<n { for j in 0..<o { ref[r * o + j] += Double(b[j]) } }
            assertClose(try y.toArray(), ref, "linear on \(device.identifier)")
        }
    }

    func testOptimizerUpdates() throws {
        for device in TestDevices.all {
            let n = 50
            let w = rng.uniform(n), g = rng.uniform(n), v = rng.uniform(n), m2 = rng.uniform(n, 0, 1)
            let wt = try Tensor(w, shape: [n], on: device), vt = try Tensor(v, shape: [n], on: device)
            try Ops.sgdUpdate(weight: wt, gradient: Tensor(g, shape: [n], on: device), velocity: vt, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4)
            let refV = (0..<n).map { 0.9 * Double(v[$0]) + Double(g[$0]) + 5e-4 * Double(w[$0]) }
            assertClose(try vt.toArray(), refV, "sgd velocity")
            assertClose(try wt.toArray(), (0..<n).map { Double(w[$0]) - 0.1 * refV[$0] }, "sgd weight")
            let aw = try Tensor(w, shape: [n], on: device), am = try Tensor(v, shape: [n], on: device), av = try Tensor(m2, shape: [n], on: device)
            try Ops.adamwUpdate(weight: aw, gradient: Tensor(g, shape: [n], on: device), firstMoment: am, secondMoment: av, step: 3,
                                learningRate: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01)
            let ref = (0..<n).map { i -> Double in
                let gi = Double(g[i]), mi = 0.9 * Double(v[i]) + 0.1 * gi, vi = 0.999 * Double(m2[i]) + 0.001 * gi * gi
                let bc1 = 1 - Foundation.pow(0.9, 3.0), bc2 = 1 - Foundation.pow(0.999, 3.0)
                return Double(w[i]) * (1 - 0.01 * 0.01) - 0.01 * (mi / bc1) / ((vi / bc2).squareRoot() + 1e-8)
            }
            assertClose(try aw.toArray(), ref, "adamw on \(device.identifier)")
        }
    }

    func testCounterRandomIsIdenticalAcrossDevicesAndWellDistributed() throws {
        var results: [[Float]] = []
        for device in TestDevices.all {
            let u = try Ops.randomUniform([10000], seed: 42, offset: 7, low: -1, high: 1, on: device).toArray()
            XCTAssertTrue(u.allSatisfy { $0 >= -1 && $0 < 1 })
            XCTAssertEqual(Double(u.reduce(0, +)) / 10000, 0, accuracy: 0.03)
            let z = try Ops.randomNormal([10000], seed: 42, offset: 0, mean: 0, std: 1, on: device).toArray()
            let mean = Double(z.reduce(0, +)) / 10000
            let sd = (z.reduce(0.0) { $0 + Double($1) * Double($1) } / 10000 - mean * mean).squareRoot()
            XCTAssertEqual(mean, 0, accuracy: 0.05); XCTAssertEqual(sd, 1, accuracy: 0.05)
            // Offsets continue the same stream: [offset 7 + 5000...] equals the tail of the first draw.
            let tail = try Ops.randomUniform([5000], seed: 42, offset: 5007, low: -1, high: 1, on: device).toArray()
            XCTAssertEqual(Array(u[5000...]), tail)
            results.append(u)
        }
        if results.count == 2 { XCTAssertEqual(results[0], results[1], "uniform streams differ between devices") }
    }

    func testOverlayBlendAndLabelUnion() throws {
        for device in TestDevices.all {
            let (b, size, classes) = (4, 12, 3)
            let a = rng.uniform(b * size), o = rng.uniform(b * size), w: [Float] = [0, 0.3, 0.5, 1]
            let out = try Ops.overlayBlend(samples: Tensor(a, shape: [b, 3, 4], on: device), overlays: Tensor(o, shape: [b, 3, 4], on: device),
                                           weights: Tensor(w, shape: [b], on: device))
            var refBlend = [Double](repeating: 0, count: b * size)
            for i in 0..<(b * size) {
                let wi = Double(w[i / size])
                refBlend[i] = (1 - wi) * Double(a[i]) + wi * Double(o[i])
            }
            assertClose(try out.toArray(), refBlend, "overlay blend")
            let la: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0], lo: [Float] = [0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1], apply: [Float] = [1, 0, 1, 1]
            let u = try Ops.overlayLabelUnion(labels: Tensor(la, shape: [b, classes], on: device), overlayLabels: Tensor(lo, shape: [b, classes], on: device),
                                              apply: Tensor(apply, shape: [b], on: device)).toArray()
            XCTAssertEqual(u, [1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1])
        }
    }

    func testShapeMismatchNamesOpAndShapes() throws {
        let a = try Tensor.zeros([2, 3], on: .cpu), b = try Tensor.zeros([4, 5], on: .cpu)
        XCTAssertThrowsError(try Ops.matmul(a, b)) { error in
            XCTAssertEqual("\(error)", "matmul: shape mismatch between [2, 3] and [4, 5]")
        }
        let x = try Tensor.zeros([1, 3, 8, 8], on: .cpu), w = try Tensor.zeros([4, 2, 3, 3], on: .cpu)
        XCTAssertThrowsError(try Ops.conv2dForward(x, weight: w, bias: nil)) { error in
            XCTAssertTrue("\(error)".contains("conv2dForward") && "\(error)".contains("[1, 3, 8, 8]") && "\(error)".contains("[4, 2, 3, 3]"), "\(error)")
        }
        XCTAssertThrowsError(try Ops.add(a, try Tensor.zeros([3, 2], on: .cpu)))
    }
}

final class AugmentKernelTests: XCTestCase {
    /// The augmentation kernel against a float64 host reference: masks, translation, noise statistics.
    func testAugmentSpectrogramMasksAndTranslation() throws {
        var rng = TestRNG(seed: UInt64.random(in: 0...UInt64.max))
        let (b, h, w) = (3, 10, 12)
        let x = rng.uniform(b * h * w)
        var params = [Float](repeating: 0, count: b * augmentParameterCount)
        // sample 0: time bar cols 2..4 and freq bar rows 5..6, fill 0.25; shift down 1, right 2
        params[0] = 0.25; params[1] = 2; params[2] = 3; params[7] = 5; params[8] = 2; params[13] = 1; params[14] = 2
        // sample 1: untouched; sample 2: shift up 3 and left 1
        params[2 * augmentParameterCount + 13] = -3; params[2 * augmentParameterCount + 14] = -1
        var ref = [Double](repeating: 0, count: x.count)
        for s in 0..<b { for yy in 0..<h { for xx in 0..<w {
            let p = s * augmentParameterCount
            let sy = yy - Int(params[p + 13]), sx = xx - Int(params[p + 14])
            var v = 0.0
            if sy >= 0 && sy < h && sx >= 0 && sx < w {
                v = Double(x[(s * h + sy) * w + sx])
                if s == 0 && ((sx >= 2 && sx < 5) || (sy >= 5 && sy < 7)) { v = 0.25 }
            }
            ref[(s * h + yy) * w + xx] = v
        } } }
        for device in TestDevices.all {
            let y = try Ops.augmentSpectrogram(Tensor(x, shape: [b, 1, h, w], on: device), parameters: Tensor(params, shape: [b, augmentParameterCount], on: device), seed: 5)
            assertClose(try y.toArray(), ref, tolerance: 1e-6, "augment on \(device.identifier)")
        }
        // Noise: std 0.5 on a zero image has that standard deviation, identically on every device.
        var np = [Float](repeating: 0, count: augmentParameterCount); np[15] = 0.5
        var outs: [[Float]] = []
        for device in TestDevices.all {
            let z = try Ops.augmentSpectrogram(Tensor.zeros([1, 64, 64], on: device), parameters: Tensor(np, shape: [1, augmentParameterCount], on: device), seed: 11).toArray()
            let sd = (z.reduce(0.0) { $0 + Double($1 * $1) } / Double(z.count)).squareRoot()
            XCTAssertEqual(sd, 0.5, accuracy: 0.03)
            outs.append(z)
        }
        if outs.count == 2 { XCTAssertEqual(maxRelativeError(outs[0], outs[1].map(Double.init)), 0, accuracy: 1e-5) }
    }

    func testAugmentWaveformAgainstFloat64() throws {
        var rng = TestRNG(seed: UInt64.random(in: 0...UInt64.max))
        let b = 3, L = 50
        let x = rng.uniform(b * L), o = rng.uniform(b * L)
        var params = [Float](repeating: 0, count: b * waveformAugmentParameterCount)
        func set(_ s: Int, _ k: Int, _ v: Float) { params[s * waveformAugmentParameterCount + k] = v }
        // Sample 0: gain and overlay, wrap by 7, two masks (one reaching the end). Sample 1: untouched.
        // Sample 2: gain only, wrap by 49, a zero-length mask.
        set(0, 0, 0.5); set(0, 1, 0.3); set(0, 3, 7); set(0, 4, 2); set(0, 8, 3); set(0, 9, 4); set(0, 10, 46); set(0, 11, 10)
        set(1, 0, 1)
        set(2, 0, 2); set(2, 3, 49); set(2, 4, 1); set(2, 8, 10); set(2, 9, 0)
        var ref = [Double](repeating: 0, count: b * L)
        for s in 0..<b {
            let q: [Double] = params[(s * waveformAugmentParameterCount)..<((s + 1) * waveformAugmentParameterCount)].map { Double($0) }
            for t in 0..<L {
                let masks = Int(q[4])
                var masked = false
                for k in 0..<masks {
                    let start = Int(q[8 + 2 * k]), length = Int(q[9 + 2 * k])
                    if t >= start && t < start + length { masked = true }
                }
                if masked { ref[s * L + t] = 0; continue }
                let src = (t + Int(q[3])) % L
                ref[s * L + t] = q[0] * Double(x[s * L + src]) + q[1] * Double(o[s * L + src])
            }
        }
        for device in TestDevices.all {
            let y = try Ops.augmentWaveform(Tensor(x, shape: [b, L], on: device), overlays: Tensor(o, shape: [b, L], on: device),
                                            parameters: Tensor(params, shape: [b, waveformAugmentParameterCount], on: device), seed: 3)
            assertClose(try y.toArray(), ref, tolerance: 1e-6, "augment waveform on \(device.identifier)")
        }
        // Noise (std 0.5) and mask noise (std 2 over the first half) have those deviations, identically on every device.
        var np = [Float](repeating: 0, count: waveformAugmentParameterCount)
        np[2] = 0.5; np[4] = 1; np[5] = 2; np[8] = 0; np[9] = 4096
        var outs: [[Float]] = []
        for device in TestDevices.all {
            let z = try Ops.augmentWaveform(Tensor.zeros([1, 8192], on: device), overlays: Tensor.zeros([1, 8192], on: device),
                                            parameters: Tensor(np, shape: [1, waveformAugmentParameterCount], on: device), seed: 11).toArray()
            func sd(_ v: ArraySlice<Float>) -> Double { (v.reduce(0.0) { $0 + Double($1 * $1) } / Double(v.count)).squareRoot() }
            XCTAssertEqual(sd(z[0..<4096]), 2, accuracy: 0.1)
            XCTAssertEqual(sd(z[4096...]), 0.5, accuracy: 0.025)
            outs.append(z)
        }
        if outs.count == 2 { XCTAssertEqual(maxRelativeError(outs[0], outs[1].map(Double.init)), 0, accuracy: 1e-5) }
    }

    /// Per-bar fills (slot 22 on): time bars then frequency bars, each with its own fill, later
    /// bars over earlier ones.
    func testAugmentSpectrogramPerBarFills() throws {
        var rng = TestRNG(seed: UInt64.random(in: 0...UInt64.max))
        let (h, w) = (9, 11)
        let x = rng.uniform(h * w)
        var p = [Float](repeating: 0, count: augmentParameterCount)
        p[0] = 5  // ignored with per-bar fills
        p[1] = 2; p[2] = 3; p[3] = 4; p[4] = 3    // time bars [2, 5) and [4, 7)
        p[7] = 1; p[8] = 2; p[9] = 6; p[10] = 0   // frequency bar [1, 3) and an empty one
        p[16] = 0.1; p[17] = 0.2; p[18] = 0.3; p[19] = 0.4; p[20] = 0.5; p[21] = 0.6; p[22] = 1
        var ref = x.map(Double.init)
        for yy in 0..<h { for xx in 0..<w {
            var v = Double(x[yy * w + xx])
            if xx >= 2 && xx < 5 { v = Double(Float(0.1)) }
            if xx >= 4 && xx < 7 { v = Double(Float(0.2)) }
            if yy >= 1 && yy < 3 { v = Double(Float(0.4)) }
            ref[yy * w + xx] = v
        } }
        for device in TestDevices.all {
            let y = try Ops.augmentSpectrogram(Tensor(x, shape: [1, 1, h, w], on: device), parameters: Tensor(p, shape: [1, augmentParameterCount], on: device), seed: 5)
            assertClose(try y.toArray(), ref, tolerance: 1e-7, "per-bar fills on \(device.identifier)")
        }
    }

    /// Bar fills from the images, on every device, against float64: each bar's fill is the mean of
    /// the image as it is when the bar is drawn (overlapping and crossing bars, bars past the edge,
    /// empty bars), for a batch whose samples have different bars.
    func testAugmentBarFillsAgainstFloat64() throws {
        var rng = TestRNG(seed: UInt64.random(in: 0...UInt64.max))
        let (n, h, w) = (3, 37, 45)
        let x = rng.uniform(n * h * w)
        var params = [Float](repeating: 0, count: n * augmentParameterCount)
        var expected: [[Double]] = []
        for b in 0..<n {
            var p = [Float](repeating: 0, count: augmentParameterCount)
            p[1] = Float(3 + b); p[2] = 9; p[3] = Float(7 + 2 * b); p[4] = 6; p[5] = 40; p[6] = 10   // time bars, the last past the edge
            p[7] = 2; p[8] = Float(5 + b); p[9] = 20; p[10] = 0; p[11] = Float(4 + b); p[12] = 8      // frequency bars, one empty
            params.replaceSubrange((b * augmentParameterCount)..<((b + 1) * augmentParameterCount), with: p)
            var image = x[(b * h * w)..<((b + 1) * h * w)].map(Double.init)
            var fills = [image.reduce(0, +) / Double(h * w)]
            for k in 0..<6 {
                let fill = image.reduce(0, +) / Double(h * w)
                fills.append(fill)
                let start = Int(p[1 + 2 * k]), end = min(k < 3 ? w : h, start + Int(p[2 + 2 * k]))
                for a in start..<max(start, end) { for c in 0..<(k < 3 ? h : w) { image[k < 3 ? c * w + a : a * w + c] = fill } }
            }
            expected.append(fills)
        }
        for device in TestDevices.all {
            let parameters = try Tensor(params, shape: [n, augmentParameterCount], on: device)
            try Ops.augmentBarFills(Tensor(x, shape: [n, 1, h, w], on: device), parameters: parameters)
            let got = try parameters.toArray()
            for b in 0..<n {
                let p = Array(got[(b * augmentParameterCount)..<((b + 1) * augmentParameterCount)])
                assertClose([p[0]] + Array(p[16...21]), expected[b], tolerance: 1e-6, "bar fills of sample \(b) on \(device.identifier)")
                XCTAssertEqual(p[22], 1)
                XCTAssertEqual(Array(p[1...12]), Array(params[(b * augmentParameterCount + 1)...(b * augmentParameterCount + 12)]), "bars untouched")
            }
        }
    }

    /// With slot 7 on, the sample's term is clipped to +-slot 6, noise samples and the noisy mix
    /// to [-1, 1], mask noise to [-1, 1] (the reference's apply_gain, mix and Audio.noise clipping).
    func testAugmentWaveformClipsLikeTheReference() throws {
        let L = 4096
        let x = (0..<L).map { Float(1.5 * sin(Double($0) * 0.01)) }, o = [Float](repeating: 0.2, count: L)
        var p = [Float](repeating: 0, count: waveformAugmentParameterCount)
        p[0] = 0.6; p[1] = 1; p[6] = 0.5; p[7] = 1
        for device in TestDevices.all {
            let y = try Ops.augmentWaveform(Tensor(x, shape: [1, L], on: device), overlays: Tensor(o, shape: [1, L], on: device),
                                            parameters: Tensor(p, shape: [1, waveformAugmentParameterCount], on: device), seed: 3).toArray()
            let ref = x.map { min(max(0.6 * Double($0), -0.5), 0.5) + 0.2 }
            assertClose(y, ref, tolerance: 1e-6, "sample term clipped on \(device.identifier)")
        }
        // Loud noise and mask noise: everything within [-1, 1], and clipped (some samples at the bounds).
        var q = [Float](repeating: 0, count: waveformAugmentParameterCount)
        q[0] = 1; q[2] = 2; q[4] = 1; q[5] = 3; q[7] = 1; q[8] = 0; q[9] = 1024
        for device in TestDevices.all {
            let y = try Ops.augmentWaveform(Tensor(x, shape: [1, L], on: device), overlays: Tensor.zeros([1, L], on: device),
                                            parameters: Tensor(q, shape: [1, waveformAugmentParameterCount], on: device), seed: 4).toArray()
            XCTAssertLessThanOrEqual(y.map(abs).max() ?? 2, 1, device.identifier)
            XCTAssertGreaterThan(y[..<1024].filter { abs($0) == 1 }.count, 500, "mask noise clipped on \(device.identifier)")
            XCTAssertGreaterThan(y[1024...].filter { abs($0) == 1 }.count, 1000, "noisy mix clipped on \(device.identifier)")
        }
    }

    func testGainShiftClampsToImageRange() throws {
        var rng = TestRNG(seed: UInt64.random(in: 0...UInt64.max))
        let x = rng.uniform(3 * 20), off: [Float] = [-0.5, 0, 0.75]
        let ref = (0..<60).map { min(max(Double(x[$0]) + Double(off[$0 / 20]), -1), 1) }
        for device in TestDevices.all {
            let y = try Ops.gainShift(Tensor(x, shape: [3, 1, 4, 5], on: device), offsets: Tensor(off, shape: [3], on: device))
            assertClose(try y.toArray(), ref, tolerance: 1e-6, "gain shift on \(device.identifier)")
        }
    }
}

/// The CPU backend's choice between its convolution paths: measured once per shape, kept in a
/// file, and the same in every process that reads it.
final class ConvolutionChoicesTests: XCTestCase {
    func testAChoiceIsMeasuredOnceKeptInTheFileAndTheFirstWrittenWins() throws {
        let dir = NSTemporaryDirectory() + "chorus-choices-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/choices.json"
        // The delay stands in for a slower path: the choice follows it, whichever path it is.
        func slow(_ slower: ConvolutionChoices.Path, log: @escaping (ConvolutionChoices.Path) -> Void) -> (ConvolutionChoices.Path) -> Void {
            { path in log(path); if path == slower { usleep(30_000) } }
        }
        var calls: [ConvolutionChoices.Path] = []
        let first = ConvolutionChoices(file: file)
        try first.run("forward a", slow(.oneDNN) { calls.append($0) })
        XCTAssertEqual(first.paths["forward a"], "im2col")
        XCTAssertEqual(calls.last, .im2col, "the outputs left are the chosen path's")
        try first.run("forward b", slow(.im2col) { _ in })
        XCTAssertEqual(first.paths["forward b"], "onednn")

        // Another process reads the file and runs the kept path only, without measuring.
        calls = []
        let second = ConvolutionChoices(file: file)
        try second.run("forward a", slow(.im2col) { calls.append($0) })
        XCTAssertEqual(calls, [.im2col])

        // Two processes measuring the same shape at once: the first choice written stands.
        let third = ConvolutionChoices(file: file), fourth = ConvolutionChoices(file: file)
        try third.run("backward c", slow(.oneDNN) { _ in })
        try fourth.run("backward c", slow(.im2col) { _ in })
        XCTAssertEqual(fourth.paths["backward c"], "im2col")
        XCTAssertEqual(ConvolutionChoices(file: file).paths, ["forward a": "im2col", "forward b": "onednn", "backward c": "im2col"])
    }

    /// With several alternatives (a 3x3 stride-1 shape offers Winograd too), the fastest of all
    /// wins; a shape that offers fewer is measured over those only.
    func testTheFastestOfSeveralAlternativesWins() throws {
        var calls: [ConvolutionChoices.Path] = []
        let choices = ConvolutionChoices(file: nil, preferred: .oneDNN, alternatives: [.im2col, .winograd])
        let delays: [ConvolutionChoices.Path: UInt32] = [.oneDNN: 20_000, .im2col: 40_000, .winograd: 0]
        try choices.run("forward 3x3") { calls.append($0); usleep(delays[$0]!) }
        XCTAssertEqual(choices.paths["forward 3x3"], "winograd")
        XCTAssertEqual(calls.last, .winograd, "the outputs left are the chosen path's")
        XCTAssertEqual(Set(calls), [.oneDNN, .im2col, .winograd])
        calls = []
        try choices.run("forward 7x7", alternatives: [.im2col]) { calls.append($0); usleep(delays[$0]!) }
        XCTAssertEqual(choices.paths["forward 7x7"], "onednn")
        XCTAssertFalse(calls.contains(.winograd), "a shape Winograd does not serve is never run on it")
    }

    func testKeysRoundTheBatchUpToAPowerOfTwo() {
        let g = ConvGeometry(channels: 64, height: 56, width: 56, kernelH: 3, kernelW: 3, stride: 1, padding: 1)
        XCTAssertEqual(ConvolutionChoices.key(g, images: 100, outChannels: 64, .forward), ConvolutionChoices.key(g, images: 128, outChannels: 64, .forward))
        XCTAssertNotEqual(ConvolutionChoices.key(g, images: 100, outChannels: 64, .forward), ConvolutionChoices.key(g, images: 100, outChannels: 64, .backward))
        XCTAssertNotEqual(ConvolutionChoices.key(g, images: 64, outChannels: 64, .forward), ConvolutionChoices.key(g, images: 65, outChannels: 64, .forward))
    }
}
