/// A parsed `--device` string.
public enum DeviceRequest: Equatable, Sendable, CustomStringConvertible {
    /// An OpenCL GPU if there is one, else the native CPU fallback (faster than POCL on CPUs).
    case auto
    /// The native CPU fallback (OpenBLAS + FFTW), no OpenCL.
    case cpu
    /// The best OpenCL device: a GPU before a CPU.
    case opencl
    /// An OpenCL GPU, or an error listing the devices there are.
    case gpu
    /// The N-th device as listed by `train-gpu devices`.
    case openclIndex(Int)

    public init(parsing text: String) throws {
        let s = text.lowercased().trimmingWhitespace()
        switch s {
        case "auto", "": self = .auto
        case "cpu": self = .cpu
        case "opencl": self = .opencl
        case "gpu": self = .gpu
        default:
            if s.hasPrefix("opencl:"), let n = Int(s.dropFirst(7)), n >= 0 { self = .openclIndex(n) }
            else { throw OpenCLError.invalidDeviceString(text) }
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cpu: return "cpu"
        case .opencl: return "opencl"
        case .gpu: return "gpu"
        case let .openclIndex(n): return "opencl:\(n)"
        }
    }

    /// Resolves the request against the installed devices: nil means the CPU fallback.
    public func resolve(among devices: [OpenCLDeviceInfo]) throws -> OpenCLDeviceInfo? {
        switch self {
        case .cpu: return nil
        case .auto: return devices.first { $0.kind == .gpu }
        case .opencl:
            guard !devices.isEmpty else { throw OpenCLError.noPlatform }
            return devices.first { $0.kind == .gpu } ?? devices.first { $0.kind == .accelerator } ?? devices[0]
        case .gpu:
            guard let gpu = devices.first(where: { $0.kind == .gpu }) else {
                throw OpenCLError.noSuchDevice(requested: "gpu", available: devices.map(\.description))
            }
            return gpu
        case let .openclIndex(n):
            guard n < devices.count else {
                if devices.isEmpty { throw OpenCLError.noPlatform }
                throw OpenCLError.noSuchDevice(requested: description, available: devices.map(\.description))
            }
            return devices[n]
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
