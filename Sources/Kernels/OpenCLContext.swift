import ChorusCore
import COpenCL
import Foundation

/// An argument to an OpenCL kernel launch.
public enum KernelArgument {
    case buffer(DeviceBuffer)
    case int(Int32)
    case float(Float)
    case uint64(UInt64)
    /// `__local` memory of this many bytes.
    case local(Int)
}

/// An OpenCL context on one device: its command queue, the program built from `kernels.cl`
/// (once per set of build options, cached in memory and as a binary on disk), kernel objects,
/// and a pool of buffers so a training loop with fixed shapes allocates nothing after its first step.
public final class OpenCLContext: @unchecked Sendable {
    public let info: OpenCLDeviceInfo
    /// The element alignment of a view's first element (`makeView`): the device's base-address
    /// alignment (CL_DEVICE_MEM_BASE_ADDR_ALIGN) in floats.
    public let viewAlignment: Int
    public let tuning: KernelTuning
    let context: cl_context
    let queue: cl_command_queue
    private var programs: [String: cl_program] = [:]
    private var kernels: [String: cl_kernel] = [:]
    private let lock = NSLock()
    private var pool: [Int: [cl_mem]] = [:]
    private var pooledBytes = 0
    /// Pooled (idle) buffers are released once they exceed this many bytes.
    public var poolLimitBytes: Int
    /// Number of kernel launches so far (for tests and benchmarks).
    public var launchCount: Int { launchLock.withLock { launches } }
    /// Serialises launches: setting a kernel's arguments and enqueuing it is one step, so two
    /// threads launching the same kernel never mix their arguments (clSetKernelArg is not
    /// thread-safe per kernel object). Guards `launches`.
    private let launchLock = NSLock()
    private var launches = 0
    /// While a kernel profile is taken: the launches' events not yet read, and the totals so far
    /// (guarded by `launchLock`).
    private var profileEvents: [(String, cl_event)]?
    private var profileTotals: [String: KernelProfile.Entry] = [:]

    public init(device: OpenCLDeviceInfo, tuning: KernelTuning? = nil) throws {
        info = device
        self.tuning = tuning ?? KernelTuning.forDevice(device)
        var err: cl_int = 0
        var dev: cl_device_id? = device.deviceID
        guard let ctx = clCreateContext(nil, 1, &dev, nil, nil, &err), err == CL_SUCCESS else {
            throw OpenCLError.call("clCreateContext", code: err)
        }
        context = ctx
        // Profiling is enabled on the queue (it costs nothing until events are asked for), so a
        // kernel profile can be taken at any time (`startKernelProfile`).
        guard let q = clCreateCommandQueue(ctx, device.deviceID, cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE), &err), err == CL_SUCCESS else {
            clReleaseContext(ctx)
            throw OpenCLError.call("clCreateCommandQueue", code: err)
        }
        queue = q
        poolLimitBytes = Int(min(device.globalMemoryBytes / 2, 4 << 30))
        let alignBits: cl_uint = (try? OpenCLPlatforms.deviceValue(device.deviceID, cl_device_info(CL_DEVICE_MEM_BASE_ADDR_ALIGN))) ?? 4096
        viewAlignment = max(1, Int(alignBits) / 32)
    }

    deinit {
        for k in kernels.values { clReleaseKernel(k) }
        for p in programs.values { clReleaseProgram(p) }
        for list in pool.values { for m in list { clReleaseMemObject(m) } }
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    // MARK: Programs and kernels

    /// The build options for the default tuning (the `-D` defines).
    public var defaultBuildOptions: String { tuning.buildOptions }

    /// Returns the program built from `kernels.cl` with these options, building it at most once
    /// per context and reusing a compiled binary from the disk cache when one matches.
    public func program(options: String? = nil) throws -> cl_program {
        let opts = options ?? defaultBuildOptions
        lock.lock(); defer { lock.unlock() }
        if let p = programs[opts] { return p }
        let p = try buildProgram(options: opts)
        programs[opts] = p
        return p
    }

    /// A kernel object by name (cached per options).
    public func kernel(_ name: String, options: String? = nil) throws -> cl_kernel {
        let opts = options ?? defaultBuildOptions
        let key = opts + "|" + name
        let prog = try program(options: opts)  // takes the lock itself
        // Look up and create under one lock: two threads asking at once get the same kernel.
        lock.lock(); defer { lock.unlock() }
        if let k = kernels[key] { return k }
        var err: cl_int = 0
        guard let k = clCreateKernel(prog, name, &err), err == CL_SUCCESS else {
            if err == -46 { throw OpenCLError.unknownKernel(name) }
            throw OpenCLError.call("clCreateKernel(\(name))", code: err)
        }
        kernels[key] = k
        return k
    }

    /// Compiles arbitrary source (tests use this to check that build failures report the log).
    public func buildSource(_ source: String, options: String = "") throws -> cl_program {
        try compile(source: source, options: options)
    }

    private func buildProgram(options: String) throws -> cl_program {
        let source = KernelSource.text
        let key = SHA256.hex(string: [source, options, info.platformName, info.name, info.driverVersion, info.openCLVersion].joined(separator: "\u{1}"))
        let cacheFile = KernelCache.directory.map { ($0 as NSString).appendingPathComponent("\(key).bin") }
        if let cacheFile, let binary = FileManager.default.contents(atPath: cacheFile), !binary.isEmpty {
            if let p = try? loadBinary(binary, options: options) { return p }
        }
        let program = try compile(source: source, options: options)
        if let cacheFile, let binary = try? programBinary(program) {
            try? AtomicFile.write(binary, to: cacheFile)
        }
        return program
    }

    private func compile(source: String, options: String) throws -> cl_program {
        var err: cl_int = 0
        let program: cl_program? = source.withCString { ptr in
            var p: UnsafePointer<CChar>? = ptr
            var len = strlen(ptr)
            return clCreateProgramWithSource(context, 1, &p, &len, &err)
        }
        guard let program, err == CL_SUCCESS else { throw OpenCLError.call("clCreateProgramWithSource", code: err) }
        var dev: cl_device_id? = info.deviceID
        let rc = clBuildProgram(program, 1, &dev, options, nil, nil)
        if rc != CL_SUCCESS {
            let log = buildLog(program)
            clReleaseProgram(program)
            if rc == -11 || rc == -43 { throw OpenCLError.buildFailed(device: info.name, options: options, log: log) }
            throw OpenCLError.call("clBuildProgram", code: rc)
        }
        return program
    }

    private func loadBinary(_ data: Data, options: String) throws -> cl_program {
        var err: cl_int = 0
        var status: cl_int = 0
        var dev: cl_device_id? = info.deviceID
        var len = data.count
        let program: cl_program? = data.withUnsafeBytes { raw in
            var ptr: UnsafePointer<UInt8>? = raw.bindMemory(to: UInt8.self).baseAddress
            return clCreateProgramWithBinary(context, 1, &dev, &len, &ptr, &status, &err)
        }
        guard let program, err == CL_SUCCESS, status == CL_SUCCESS else { throw OpenCLError.call("clCreateProgramWithBinary", code: err) }
        let rc = clBuildProgram(program, 1, &dev, options, nil, nil)
        if rc != CL_SUCCESS { clReleaseProgram(program); throw OpenCLError.call("clBuildProgram(binary)", code: rc) }
        return program
    }

    private func programBinary(_ program: cl_program) throws -> Data {
        var size = 0
        try check(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil), "clGetProgramInfo")
        guard size > 0 else { return Data() }
        var bytes = [UInt8](repeating: 0, count: size)
        try bytes.withUnsafeMutableBufferPointer { buf in
            var ptr: UnsafeMutablePointer<UInt8>? = buf.baseAddress
            try check(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>>.size, &ptr, nil), "clGetProgramInfo")
        }
        return Data(bytes)
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        clGetProgramBuildInfo(program, info.deviceID, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size)
        var buf = [CChar](repeating: 0, count: size + 1)
        clGetProgramBuildInfo(program, info.deviceID, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &buf, nil)
        return String(nulTerminated: buf)
    }

    // MARK: Launching

    /// Sets the arguments and enqueues `name` over `global` work-items (rounded up to a multiple
    /// of `local` when given). Launches are asynchronous on the in-order queue.
    public func launch(_ name: String, global: [Int], local: [Int]? = nil, options: String? = nil, _ args: [KernelArgument]) throws {
        try KernelSignatures.check(name, args)
        let k = try kernel(name, options: options)
        launchLock.lock(); defer { launchLock.unlock() }
        for (i, arg) in args.enumerated() {
            let rc: cl_int
            switch arg {
            case let .buffer(b):
                var m: cl_mem? = b.mem
                rc = clSetKernelArg(k, cl_uint(i), MemoryLayout<cl_mem>.size, &m)
            case var .int(v): rc = clSetKernelArg(k, cl_uint(i), 4, &v)
            case var .float(v): rc = clSetKernelArg(k, cl_uint(i), 4, &v)
            case var .uint64(v): rc = clSetKernelArg(k, cl_uint(i), 8, &v)
            case let .local(bytes): rc = clSetKernelArg(k, cl_uint(i), bytes, nil)
            }
            try check(rc, "clSetKernelArg(\(name), \(i))")
        }
        var g = global
        if let local {
            for i in 0..<g.count { g[i] = (g[i] + local[i] - 1) / local[i] * local[i] }
        }
        if g.contains(0) { return }
        let rc: cl_int
        var event: cl_event?
        let wantEvent = profileEvents != nil
        var l = local ?? []
        rc = l.withUnsafeMutableBufferPointer { localSizes in
            let lp = local == nil ? nil : localSizes.baseAddress
            return wantEvent ? clEnqueueNDRangeKernel(queue, k, cl_uint(g.count), nil, &g, lp, 0, nil, &event)
                             : clEnqueueNDRangeKernel(queue, k, cl_uint(g.count), nil, &g, lp, 0, nil, nil)
        }
        try check(rc, "clEnqueueNDRangeKernel(\(name))")
        launches += 1
        if let event {
            profileEvents?.append((name, event))
            if (profileEvents?.count ?? 0) >= 4096 { try drainProfileEvents() }
        }
    }

    // MARK: Kernel profile

    /// Starts recording every launch's device time (from OpenCL profiling events).
    public func startKernelProfile() {
        launchLock.withLock {
            if profileEvents == nil { profileEvents = []; profileTotals = [:] }
        }
    }

    /// Waits for the recorded launches, stops recording and returns the time per kernel.
    public func stopKernelProfile() throws -> KernelProfile {
        try launchLock.withLock {
            try drainProfileEvents()
            profileEvents = nil
            defer { profileTotals = [:] }
            return KernelProfile(device: info.name, entries: Array(profileTotals.values))
        }
    }

    /// Reads and releases the recorded events (caller holds `launchLock`).
    private func drainProfileEvents() throws {
        guard let events = profileEvents, !events.isEmpty else { return }
        profileEvents = []
        var list = events.map { Optional($0.1) }
        try check(clWaitForEvents(cl_uint(list.count), &list), "clWaitForEvents")
        for (name, event) in events {
            var start: cl_ulong = 0, end: cl_ulong = 0
            let a = clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), 8, &start, nil)
            let b = clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), 8, &end, nil)
            clReleaseEvent(event)
            try check(a, "clGetEventProfilingInfo"); try check(b, "clGetEventProfilingInfo")
            var e = profileTotals[name] ?? KernelProfile.Entry(kernel: name, launches: 0, seconds: 0)
            e.launches += 1
            e.seconds += Double(end &- start) * 1e-9
            profileTotals[name] = e
        }
    }

    /// Waits for all enqueued work.
    public func finish() throws { try check(clFinish(queue), "clFinish") }

    // MARK: Buffers

    /// A device buffer of `count` floats (from the pool when one of that size is idle).
    public func makeBuffer(count: Int) throws -> DeviceBuffer {
        let bytes = max(count, 1) * 4
        lock.lock()
        if var list = pool[bytes], let m = list.popLast() {
            pool[bytes] = list
            pooledBytes -= bytes
            lock.unlock()
            return DeviceBuffer(mem: m, count: count, bytes: bytes, context: self)
        }
        lock.unlock()
        var err: cl_int = 0
        var mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &err)
        if mem == nil || err != CL_SUCCESS {
            // Free the idle pool and try once more before giving up.
            releasePool()
            mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &err)
        }
        guard let mem, err == CL_SUCCESS else { throw OpenCLError.call("clCreateBuffer(\(bytes) bytes)", code: err) }
        return DeviceBuffer(mem: mem, count: count, bytes: bytes, context: self)
    }

    /// `count` floats of `parent` from element `offset`, sharing its memory (an OpenCL
    /// sub-buffer, which keeps the parent alive); `offset` must be a multiple of `viewAlignment`.
    /// Views of one buffer must not overlap when used together.
    public func makeView(of parent: DeviceBuffer, offset: Int, count: Int) throws -> DeviceBuffer {
        let base = parent.parent ?? parent, start = offset + parent.offset
        guard count >= 1, offset >= 0, offset + count <= parent.count, start % viewAlignment == 0 else {
            throw OpenCLError.badArguments(kernel: "clCreateSubBuffer", reason: "a view of \(count) floats at \(offset) of a buffer of \(parent.count) "
                                           + "(views start at multiples of \(viewAlignment) floats on \(info.name))")
        }
        var region = cl_buffer_region(origin: start * 4, size: count * 4)
        var err: cl_int = 0
        let mem = clCreateSubBuffer(base.mem, cl_mem_flags(CL_MEM_READ_WRITE), cl_buffer_create_type(CL_BUFFER_CREATE_TYPE_REGION), &region, &err)
        guard let mem, err == CL_SUCCESS else { throw OpenCLError.call("clCreateSubBuffer", code: err) }
        return DeviceBuffer(mem: mem, count: count, bytes: count * 4, context: self, parent: base, offset: start)
    }

    func recycle(_ mem: cl_mem, bytes: Int) {
        lock.lock(); defer { lock.unlock() }
        if pooledBytes + bytes > poolLimitBytes {
            clReleaseMemObject(mem)
            return
        }
        pool[bytes, default: []].append(mem)
        pooledBytes += bytes
    }

    /// Number of idle buffers held by the pool.
    public var idleBufferCount: Int {
        lock.lock(); defer { lock.unlock() }
        return pool.values.reduce(0) { $0 + $1.count }
    }

    /// Releases every idle pooled buffer.
    public func releasePool() {
        lock.lock(); defer { lock.unlock() }
        for list in pool.values { for m in list { clReleaseMemObject(m) } }
        pool = [:]
        pooledBytes = 0
    }

    /// Copies `count` floats from host memory into the buffer at element `offset` (blocking).
    public func write(_ buffer: DeviceBuffer, from source: UnsafePointer<Float>, count: Int, offset: Int = 0) throws {
        guard count > 0 else { return }
        try check(clEnqueueWriteBuffer(queue, buffer.mem, cl_bool(CL_TRUE), offset * 4, count * 4, source, 0, nil, nil), "clEnqueueWriteBuffer")
    }

    /// Device-to-host reads so far (each one waits for the queue): a training step should make none.
    public var readCount: Int { launchLock.withLock { reads } }
    private var reads = 0

    /// Copies `count` floats from the buffer at element `offset` to host memory (blocking).
    public func read(_ buffer: DeviceBuffer, into destination: UnsafeMutablePointer<Float>, count: Int, offset: Int = 0) throws {
        guard count > 0 else { return }
        launchLock.withLock { reads += 1 }
        try check(clEnqueueReadBuffer(queue, buffer.mem, cl_bool(CL_TRUE), offset * 4, count * 4, destination, 0, nil, nil), "clEnqueueReadBuffer")
    }

    /// Device-to-device copy.
    public func copy(from src: DeviceBuffer, srcOffset: Int = 0, to dst: DeviceBuffer, dstOffset: Int = 0, count: Int) throws {
        guard count > 0 else { return }
        try check(clEnqueueCopyBuffer(queue, src.mem, dst.mem, srcOffset * 4, dstOffset * 4, count * 4, 0, nil, nil), "clEnqueueCopyBuffer")
    }
}

/// A device allocation of Float32 elements. Returned to its context's pool when released.
public final class DeviceBuffer: @unchecked Sendable {
    let mem: cl_mem
    public let count: Int
    let bytes: Int
    let context: OpenCLContext
    /// For a view (a sub-buffer): the buffer it is part of, and where it starts there.
    let parent: DeviceBuffer?
    let offset: Int

    init(mem: cl_mem, count: Int, bytes: Int, context: OpenCLContext, parent: DeviceBuffer? = nil, offset: Int = 0) {
        self.mem = mem
        self.count = count
        self.bytes = bytes
        self.context = context
        self.parent = parent
        self.offset = offset
    }

    deinit {
        if parent != nil { clReleaseMemObject(mem) } else { context.recycle(mem, bytes: bytes) }
    }
}

/// Where compiled kernel binaries are kept: `$CHORUS_KERNEL_CACHE`, else
/// `$XDG_CACHE_HOME/chorus/kernels`, else `~/.cache/chorus/kernels`; nil disables the cache.
public enum KernelCache {
    public static var directory: String? {
        let env = ProcessInfo.processInfo.environment
        if let d = env["CHORUS_KERNEL_CACHE"] { return d.isEmpty ? nil : d }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/chorus/kernels" }
        if let h = env["HOME"], !h.isEmpty { return h + "/.cache/chorus/kernels" }
        return nil
    }
}

/// The OpenCL source compiled into the binary.
public enum KernelSource {
    public static var text: String { embeddedKernelSource }
}

/// Device time per kernel over a stretch of work, from OpenCL profiling events.
public struct KernelProfile: Sendable {
    public struct Entry: Sendable {
        public var kernel: String
        public var launches: Int
        public var seconds: Double
        /// The least memory traffic of its launches in bytes (each input read once, each output
        /// written once), where the operation is bound by memory and says so; 0 otherwise.
        public var bytes: Double

        public init(kernel: String, launches: Int, seconds: Double, bytes: Double = 0) {
            self.kernel = kernel
            self.launches = launches
            self.seconds = seconds
            self.bytes = bytes
        }

        /// GB/s of its least traffic, where it has one.
        public var gigabytesPerSecond: Double? { bytes > 0 && seconds > 0 ? bytes / seconds / 1e9 : nil }
    }
    public var device: String
    /// Kernels by device time, most first.
    public var entries: [Entry]
    /// Whether the entries are a host backend's operations, each timed on the wall clock (the
    /// CPU fallback's profile), rather than kernels timed by the device.
    public var hostOperations: Bool
    public var totalSeconds: Double { entries.reduce(0) { $0 + $1.seconds } }

    public init(device: String, entries: [Entry], hostOperations: Bool = false) {
        self.device = device
        self.entries = entries.sorted { $0.seconds > $1.seconds }
        self.hostOperations = hostOperations
    }

    /// One line per kernel: share of the device time, total, launches, time per launch.
    public func table(limit: Int = 15) -> String {
        let total = max(totalSeconds, 1e-12)
        let (title, calls, others) = hostOperations ? ("time in operations", "calls", "operations") : ("kernel time", "launches", "kernels")
        var lines = [String(format: "%@ on %@: %.3f s in %d %@", title, device, totalSeconds, entries.reduce(0) { $0 + $1.launches }, calls)]
        for e in entries.prefix(limit) {
            lines.append(String(format: "  %5.1f%%  %9.2f ms  %7d %@  %9.1f us each  %@", 100 * e.seconds / total, 1000 * e.seconds,
                                e.launches, calls, 1e6 * e.seconds / Double(max(e.launches, 1)), e.kernel)
                         + (e.gigabytesPerSecond.map { String(format: "  (%.1f GB/s)", $0) } ?? ""))
        }
        if entries.count > limit {
            let rest = entries.dropFirst(limit)
            lines.append(String(format: "  %5.1f%%  %9.2f ms  %7d %@  (%d other %@)", 100 * rest.reduce(0) { $0 + $1.seconds } / total,
                                1000 * rest.reduce(0) { $0 + $1.seconds }, rest.reduce(0) { $0 + $1.launches }, calls, rest.count, others))
        }
        return lines.joined(separator: "\n")
    }
}
