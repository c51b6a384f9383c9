import COpenCL
import Foundation

/// One OpenCL device as `train-gpu devices` lists it.
public struct OpenCLDeviceInfo: @unchecked Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable { case gpu, cpu, accelerator, other }
    /// Index in the flat list over all platforms (`opencl:N`).
    public let index: Int
    public let platformName: String
    public let name: String
    public let vendor: String
    public let kind: Kind
    public let computeUnits: Int
    public let globalMemoryBytes: UInt64
    public let localMemoryBytes: UInt64
    public let maxWorkGroupSize: Int
    /// Floats in the device's native vector (`CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT`): POCL reports
    /// 8 on an AVX2 CPU and 16 on an AVX-512 one.
    public let nativeFloatVectorWidth: Int
    public let driverVersion: String
    public let openCLVersion: String
    let platformID: cl_platform_id
    let deviceID: cl_device_id

    public var description: String { "\(name) [\(kind.rawValue), \(platformName)]" }
}

/// Enumerates OpenCL platforms and devices.
public enum OpenCLPlatforms {
    /// Every device on every platform, GPUs and CPUs alike; empty when no platform is installed.
    public static func devices() throws -> [OpenCLDeviceInfo] {
        var count: cl_uint = 0
        let rc = clGetPlatformIDs(0, nil, &count)
        if rc == -1001 || count == 0 { return [] }  // CL_PLATFORM_NOT_FOUND_KHR from the ICD loader
        try check(rc, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        try check(clGetPlatformIDs(count, &platforms, nil), "clGetPlatformIDs")
        var result: [OpenCLDeviceInfo] = []
        for case let platform? in platforms {
            let platformName = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            var n: cl_uint = 0
            let drc = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &n)
            if drc == -1 || n == 0 { continue }  // CL_DEVICE_NOT_FOUND
            try check(drc, "clGetDeviceIDs")
            var ids = [cl_device_id?](repeating: nil, count: Int(n))
            try check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), n, &ids, nil), "clGetDeviceIDs")
            for case let device? in ids {
                let type: cl_device_type = try deviceValue(device, cl_device_info(CL_DEVICE_TYPE))
                let kind: OpenCLDeviceInfo.Kind
                if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { kind = .gpu }
                else if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { kind = .cpu }
                else if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { kind = .accelerator }
                else { kind = .other }
                let cu: cl_uint = try deviceValue(device, cl_device_info(CL_DEVICE_MAX_COMPUTE_UNITS))
                let gmem: cl_ulong = try deviceValue(device, cl_device_info(CL_DEVICE_GLOBAL_MEM_SIZE))
                let lmem: cl_ulong = try deviceValue(device, cl_device_info(CL_DEVICE_LOCAL_MEM_SIZE))
                let wg: Int = try deviceValue(device, cl_device_info(CL_DEVICE_MAX_WORK_GROUP_SIZE))
                // 0 where a driver does not answer: the defaults then take the narrower panels.
                let vector: cl_uint = (try? deviceValue(device, cl_device_info(CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT))) ?? 0
                result.append(OpenCLDeviceInfo(
                    index: result.count, platformName: platformName,
                    name: try deviceString(device, cl_device_info(CL_DEVICE_NAME)),
                    vendor: try deviceString(device, cl_device_info(CL_DEVICE_VENDOR)),
                    kind: kind, computeUnits: Int(cu), globalMemoryBytes: gmem, localMemoryBytes: lmem,
                    maxWorkGroupSize: wg, nativeFloatVectorWidth: Int(vector),
                    driverVersion: try deviceString(device, cl_device_info(CL_DRIVER_VERSION)),
                    openCLVersion: try deviceString(device, cl_device_info(CL_DEVICE_VERSION)),
                    platformID: platform, deviceID: device))
            }
        }
        return result
    }

    static func platformString(_ p: cl_platform_id, _ param: cl_platform_info) throws -> String {
        var size = 0
        try check(clGetPlatformInfo(p, param, 0, nil, &size), "clGetPlatformInfo")
        var buf = [CChar](repeating: 0, count: size + 1)
        try check(clGetPlatformInfo(p, param, size, &buf, nil), "clGetPlatformInfo")
        return String(nulTerminated: buf).trimmingCharacters(in: .whitespaces)
    }

    static func deviceString(_ d: cl_device_id, _ param: cl_device_info) throws -> String {
        var size = 0
        try check(clGetDeviceInfo(d, param, 0, nil, &size), "clGetDeviceInfo")
        var buf = [CChar](repeating: 0, count: size + 1)
        try check(clGetDeviceInfo(d, param, size, &buf, nil), "clGetDeviceInfo")
        return String(nulTerminated: buf).trimmingCharacters(in: .whitespaces)
    }

    static func deviceValue<T>(_ d: cl_device_id, _ param: cl_device_info) throws -> T {
        let p = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { p.deallocate() }
        try check(clGetDeviceInfo(d, param, MemoryLayout<T>.size, p, nil), "clGetDeviceInfo")
        return p.pointee
    }
}


extension String {
    /// The text of a C string an OpenCL query wrote into `buffer`, up to its first NUL.
    init(nulTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
