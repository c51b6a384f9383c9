import COpenCL

/// Errors from the OpenCL runtime. Each names the OpenCL call and its error code by name, and
/// where possible says how to fix the problem.
public enum OpenCLError: Error, CustomStringConvertible {
    /// An OpenCL API call returned an error code.
    case call(String, code: Int32)
    /// No OpenCL platform is installed.
    case noPlatform
    /// `opencl:N` named a device that does not exist.
    case noSuchDevice(requested: String, available: [String])
    /// A device string could not be parsed.
    case invalidDeviceString(String)
    /// `clBuildProgram` failed; carries the compiler's log.
    case buildFailed(device: String, options: String, log: String)
    /// A kernel name is not in kernels.cl.
    case unknownKernel(String)
    /// A launch whose arguments do not match the kernel's declaration in kernels.cl.
    case badArguments(kernel: String, reason: String)

    public var description: String {
        switch self {
        case let .call(name, code):
            return "OpenCL call \(name) failed with \(OpenCLError.name(of: code)) (\(code))"
        case .noPlatform:
            return "no OpenCL platform found: install pocl-opencl-icd (CPU) or your GPU vendor's OpenCL driver, or use --device cpu"
        case let .noSuchDevice(requested, available):
            let list = available.isEmpty ? "  (none)" : available.enumerated().map { "  opencl:\($0.offset)  \($0.element)" }.joined(separator: "\n")
            return "no OpenCL device '\(requested)'; available devices:\n\(list)\n  cpu  native CPU fallback (OpenBLAS + FFTW)\n(see `train-gpu devices`)"
        case let .badArguments(kernel, reason):
            return "kernel \(kernel): wrong arguments: \(reason)"
        case let .invalidDeviceString(s):
            return "invalid device '\(s)': use auto, cpu, opencl or opencl:N (see `train-gpu devices`)"
        case let .buildFailed(device, options, log):
            return "building kernels.cl for \(device) with options '\(options)' failed; build log:\n\(log)"
        case let .unknownKernel(name):
            return "kernel '\(name)' is not defined in kernels.cl"
        }
    }

    /// The symbolic name of an OpenCL error code.
    public static func name(of code: Int32) -> String {
        let names: [Int32: String] = [
            0: "CL_SUCCESS", -1: "CL_DEVICE_NOT_FOUND", -2: "CL_DEVICE_NOT_AVAILABLE", -3: "CL_COMPILER_NOT_AVAILABLE",
            -4: "CL_MEM_OBJECT_ALLOCATION_FAILURE", -5: "CL_OUT_OF_RESOURCES", -6: "CL_OUT_OF_HOST_MEMORY",
            -7: "CL_PROFILING_INFO_NOT_AVAILABLE", -8: "CL_MEM_COPY_OVERLAP", -9: "CL_IMAGE_FORMAT_MISMATCH",
            -10: "CL_IMAGE_FORMAT_NOT_SUPPORTED", -11: "CL_BUILD_PROGRAM_FAILURE", -12: "CL_MAP_FAILURE",
            -13: "CL_MISALIGNED_SUB_BUFFER_OFFSET", -14: "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
            -15: "CL_COMPILE_PROGRAM_FAILURE", -16: "CL_LINKER_NOT_AVAILABLE", -17: "CL_LINK_PROGRAM_FAILURE",
            -18: "CL_DEVICE_PARTITION_FAILED", -19: "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
            -30: "CL_INVALID_VALUE", -31: "CL_INVALID_DEVICE_TYPE", -32: "CL_INVALID_PLATFORM", -33: "CL_INVALID_DEVICE",
            -34: "CL_INVALID_CONTEXT", -35: "CL_INVALID_QUEUE_PROPERTIES", -36: "CL_INVALID_COMMAND_QUEUE",
            -37: "CL_INVALID_HOST_PTR", -38: "CL_INVALID_MEM_OBJECT", -39: "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
            -40: "CL_INVALID_IMAGE_SIZE", -41: "CL_INVALID_SAMPLER", -42: "CL_INVALID_BINARY", -43: "CL_INVALID_BUILD_OPTIONS",
            -44: "CL_INVALID_PROGRAM", -45: "CL_INVALID_PROGRAM_EXECUTABLE", -46: "CL_INVALID_KERNEL_NAME",
            -47: "CL_INVALID_KERNEL_DEFINITION", -48: "CL_INVALID_KERNEL", -49: "CL_INVALID_ARG_INDEX",
            -50: "CL_INVALID_ARG_VALUE", -51: "CL_INVALID_ARG_SIZE", -52: "CL_INVALID_KERNEL_ARGS",
            -53: "CL_INVALID_WORK_DIMENSION", -54: "CL_INVALID_WORK_GROUP_SIZE", -55: "CL_INVALID_WORK_ITEM_SIZE",
            -56: "CL_INVALID_GLOBAL_OFFSET", -57: "CL_INVALID_EVENT_WAIT_LIST", -58: "CL_INVALID_EVENT",
            -59: "CL_INVALID_OPERATION", -60: "CL_INVALID_GL_OBJECT", -61: "CL_INVALID_BUFFER_SIZE",
            -62: "CL_INVALID_MIP_LEVEL", -63: "CL_INVALID_GLOBAL_WORK_SIZE", -64: "CL_INVALID_PROPERTY",
            -1001: "CL_PLATFORM_NOT_FOUND_KHR",
        ]
        return names[code] ?? "CL_UNKNOWN_ERROR"
    }
}

/// Throws `OpenCLError.call` unless `code` is CL_SUCCESS.
@inline(__always)
func check(_ code: Int32, _ call: @autoclosure () -> String) throws {
    if code != CL_SUCCESS { throw OpenCLError.call(call(), code: code) }
}
