import ChorusCore
import Foundation
import Kernels
import TestSupport
import XCTest

final class KernelsTests: XCTestCase {
    func testDeviceStringsParse() throws {
        XCTAssertEqual(try DeviceRequest(parsing: "auto"), .auto)
        XCTAssertEqual(try DeviceRequest(parsing: "CPU"), .cpu)
        XCTAssertEqual(try DeviceRequest(parsing: "opencl"), .opencl)
        XCTAssertEqual(try DeviceRequest(parsing: "opencl:3"), .openclIndex(3))
        XCTAssertThrowsError(try DeviceRequest(parsing: "cuda")) { XCTAssertTrue("\($0)".contains("auto, cpu, opencl or opencl:N")) }
        XCTAssertThrowsError(try DeviceRequest(parsing: "opencl:-1"))
    }

    func testEnumerationAndOutOfRangeDeviceListsWhatExists() throws {
        let devices = try OpenCLPlatforms.devices()
        guard !devices.isEmpty else {
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("CI must have POCL installed") }
            throw XCTSkip("no OpenCL platform")
        }
        for (i, d) in devices.enumerated() {
            XCTAssertEqual(d.index, i)
            XCTAssertFalse(d.name.isEmpty)
            XCTAssertGreaterThan(d.computeUnits, 0)
            XCTAssertGreaterThan(d.globalMemoryBytes, 0)
            XCTAssertGreaterThan(d.maxWorkGroupSize, 0)
        }
        XCTAssertThrowsError(try DeviceRequest.openclIndex(7 + devices.count).resolve(among: devices)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("no OpenCL device 'opencl:\(7 + devices.count)'"), text)
            XCTAssertTrue(text.contains("opencl:0  \(devices[0].name)"), text)
            XCTAssertTrue(text.contains("cpu"), text)
        }
        // auto picks a GPU if present, otherwise the native CPU fallback (nil).
        let auto = try DeviceRequest.auto.resolve(among: devices)
        XCTAssertEqual(auto?.kind == .gpu, devices.contains { $0.kind == .gpu })
        XCTAssertNotNil(try DeviceRequest.opencl.resolve(among: devices))
        XCTAssertNil(try DeviceRequest.cpu.resolve(among: devices))
    }

    func testNoPlatformMessageSaysHowToFix() {
        XCTAssertThrowsError(try DeviceRequest.opencl.resolve(among: [])) { error in
            XCTAssertTrue("\(error)".contains("install pocl-opencl-icd"), "\(error)")
            XCTAssertTrue("\(error)".contains("--device cpu"), "\(error)")
        }
    }

    func testBuildFailureShowsCompilerLog() throws {
        guard let info = try OpenCLPlatforms.devices().first else { throw XCTSkip("no OpenCL platform") }
        let ctx = try OpenCLContext(device: info)
        XCTAssertThrowsError(try ctx.buildSource("__kernel void broken(__global float* x) { x[0] = undefined_name; }")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("build log"), text)
            XCTAssertTrue(text.contains("undefined_name"), text)
        }
        XCTAssertThrowsError(try ctx.kernel("no_such_kernel")) { XCTAssertTrue("\($0)".contains("no_such_kernel")) }
    }

    func testEmbeddedSourceAndDiskCache() throws {
        XCTAssertTrue(KernelSource.text.contains("__kernel void gemm_tiled"))
        XCTAssertTrue(KernelSource.text.contains("__kernel void gemm_blocked"))
        guard let info = try OpenCLPlatforms.devices().first else { throw XCTSkip("no OpenCL platform") }
        let dir = makeTemporaryDirectory("kernel-cache")
        setenv("CHORUS_KERNEL_CACHE", dir, 1)
        defer { unsetenv("CHORUS_KERNEL_CACHE") }
        let ctx = try OpenCLContext(device: info)
        _ = try ctx.kernel("fill")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".bin") }
        XCTAssertEqual(files.count, 1, "one binary per (source, options, device, driver)")
        // A second context loads the cached binary and runs it.
        let ctx2 = try OpenCLContext(device: info)
        let buf = try ctx2.makeBuffer(count: 8)
        try ctx2.launch("fill", global: [8], [.int(8), .float(2.5), .buffer(buf), .int(0)])
        var out = [Float](repeating: 0, count: 8)
        try out.withUnsafeMutableBufferPointer { try ctx2.read(buf, into: $0.baseAddress!, count: 8) }
        XCTAssertEqual(out, [Float](repeating: 2.5, count: 8))
        // Other build options give another binary.
        _ = try ctx2.program(options: ctx2.defaultBuildOptions + " -DCHORUS_TEST_VARIANT=1")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".bin") }.count, 2)
    }

    func testBufferPoolReusesAllocations() throws {
        guard let info = try OpenCLPlatforms.devices().first else { throw XCTSkip("no OpenCL platform") }
        let ctx = try OpenCLContext(device: info)
        XCTAssertEqual(ctx.idleBufferCount, 0)
        do { _ = try ctx.makeBuffer(count: 1000) }
        XCTAssertEqual(ctx.idleBufferCount, 1, "a released buffer goes back to the pool")
        let again = try ctx.makeBuffer(count: 1000)
        XCTAssertEqual(ctx.idleBufferCount, 0, "a buffer of the same size is taken from the pool")
        let other = try ctx.makeBuffer(count: 999)
        XCTAssertEqual(ctx.idleBufferCount, 0)
        XCTAssertEqual(again.count + other.count, 1999)
    }

    /// A kernel profile counts exactly the launches made while it is taken (more than the 4096
    /// events it reads at a time), by kernel, with their device time; none before or after.
    func testKernelProfileCountsEveryLaunchByKernel() throws {
        guard let info = try OpenCLPlatforms.devices().first else { throw XCTSkip("no OpenCL platform") }
        let ctx = try OpenCLContext(device: info)
        let x = try ctx.makeBuffer(count: 1 << 16)
        try ctx.launch("fill", global: [x.count], [.int(Int32(x.count)), .float(1), .buffer(x), .int(0)])
        ctx.startKernelProfile()
        for _ in 0..<5000 { try ctx.launch("scale", global: [x.count], [.int(Int32(x.count)), .float(1.0001), .buffer(x)]) }
        for _ in 0..<3 { try ctx.launch("fill", global: [x.count], [.int(Int32(x.count)), .float(2), .buffer(x), .int(0)]) }
        let profile = try ctx.stopKernelProfile()
        try ctx.launch("fill", global: [x.count], [.int(Int32(x.count)), .float(1), .buffer(x), .int(0)])
        XCTAssertEqual(profile.entries.map(\.kernel), ["scale", "fill"], "most time first")
        XCTAssertEqual(profile.entries.map(\.launches), [5000, 3])
        XCTAssertGreaterThan(profile.entries[0].seconds, 0)
        XCTAssertTrue(profile.table().contains("5000 launches"), profile.table())
        ctx.startKernelProfile()
        XCTAssertTrue(try ctx.stopKernelProfile().entries.isEmpty, "a new profile starts empty")
    }

    /// Many threads asking for one kernel get one kernel object, and launches of one kernel from
    /// many threads never mix their arguments (each fills its own buffer with its own value).
    func testKernelCacheAndLaunchesAreSafeAcrossThreads() throws {
        guard let info = try OpenCLPlatforms.devices().first else { throw XCTSkip("no OpenCL platform") }
        let ctx = try OpenCLContext(device: info)
        _ = try ctx.program()
        let handles = UnsafeMutableBufferPointer<UInt>.allocate(capacity: 16)
        defer { handles.deallocate() }
        concurrentPerform(16) { i in handles[i] = UInt(bitPattern: try? ctx.kernel("fill")) }
        XCTAssertNotEqual(handles[0], 0)
        XCTAssertEqual(Set(handles).count, 1, "one kernel object for every thread")
        let before = ctx.launchCount
        let count = 4096, threads = 8, rounds = 25
        let buffers = try (0..<threads).map { _ in try ctx.makeBuffer(count: count) }
        concurrentPerform(threads) { t in
            for r in 0..<rounds { try? ctx.launch("fill", global: [count], [.int(Int32(count)), .float(Float(t * 1000 + r)), .buffer(buffers[t]), .int(0)]) }
        }
        try ctx.finish()
        XCTAssertEqual(ctx.launchCount - before, threads * rounds, "every launch counted")
        for t in 0..<threads {
            var out = [Float](repeating: 0, count: count)
            try out.withUnsafeMutableBufferPointer { try ctx.read(buffers[t], into: $0.baseAddress!, count: count) }
            XCTAssertEqual(Set(out), [Float(t * 1000 + rounds - 1)], "thread \(t)'s buffer holds its own last value")
        }
    }

    /// Signatures come from kernels.cl itself; a launch with the wrong arguments names the kernel
    /// and the argument instead of computing garbage.
    func testKernelSignaturesAreReadFromTheSourceAndChecked() throws {
        let all = KernelSignatures.all
        XCTAssertEqual(all.count, KernelSource.text.components(separatedBy: "__kernel void").count - 1, "every kernel parsed")
        XCTAssertEqual(all["fill"]?.parameters.map(\.kind), [.int, .float, .buffer, .int])
        XCTAssertEqual(all["fill"]?.parameters.map(\.name), ["n", "value", "X", "offX"])
        XCTAssertEqual(all["gemm_tiled"]?.parameters.count, 19)
        XCTAssertThrowsError(try KernelSignatures.check("fill", [.int(8), .int(2)])) {
            XCTAssertTrue("\($0)".contains("fill") && "\($0)".contains("takes 4 arguments"), "\($0)")
        }
        XCTAssertThrowsError(try KernelSignatures.check("fill", [.int(8), .int(2), .float(1), .int(0)])) {
            XCTAssertTrue("\($0)".contains("argument 1 (value) is declared float; the launch passes int"), "\($0)")
        }
        guard let info = try OpenCLPlatforms.devices().first else { throw XCTSkip("no OpenCL platform") }
        let ctx = try OpenCLContext(device: info)
        let buf = try ctx.makeBuffer(count: 8)
        XCTAssertThrowsError(try ctx.launch("fill", global: [8], [.int(8), .buffer(buf), .float(2), .int(0)]))
        XCTAssertEqual(ctx.launchCount, 0, "nothing was enqueued")
    }
}
