import Foundation
import Kernels

/// Where tensors live and ops run: the native CPU fallback or one OpenCL device.
public final class Device: @unchecked Sendable, CustomStringConvertible {
    public enum Kind { case cpu, opencl(OpenCLContext) }
    public let kind: Kind
    public let backend: Backend

    init(kind: Kind, backend: Backend) {
        self.kind = kind
        self.backend = backend
    }

    /// The shared CPU fallback device.
    public static let cpu = Device(kind: .cpu, backend: CPUBackend())

    /// The CPU fallback with every convolution on im2col + OpenBLAS, every one on oneDNN, or
    /// Winograd wherever it serves the shape (`cpu` chooses per shape): the paths checked and
    /// measured one against the other.
    public static let cpuIm2col = Device(kind: .cpu, backend: CPUBackend(convolutions: .im2col))
    public static let cpuOneDNN = Device(kind: .cpu, backend: CPUBackend(convolutions: .oneDNN))
    public static let cpuWinograd = Device(kind: .cpu, backend: CPUBackend(convolutions: .winograd))

    /// A device on an OpenCL context.
    public static func opencl(_ context: OpenCLContext) -> Device {
        Device(kind: .opencl(context), backend: OpenCLBackend(context: context))
    }

    /// Chooses a device from a `--device` string: auto, cpu, gpu, opencl, opencl:N.
    public static func select(_ text: String, tuning: KernelTuning? = nil) throws -> Device {
        try select(try DeviceRequest(parsing: text), tuning: tuning)
    }

    public static func select(_ request: DeviceRequest, tuning: KernelTuning? = nil) throws -> Device {
        try select(request, tuning: tuning, firstUse: nil)
    }

    /// As `select`, and on an OpenCL device that has no kept tuning yet, first tunes its GEMM
    /// for at most `firstUse.seconds` (`GEMMTuner.tuneOnFirstUse`), telling `firstUse.log` what
    /// it does. With nil (or 0 seconds) nothing is tuned.
    public static func select(_ request: DeviceRequest, tuning: KernelTuning? = nil,
                              firstUse: (seconds: Double, log: (String) -> Void)?) throws -> Device {
        let devices: [OpenCLDeviceInfo]
        do { devices = try OpenCLPlatforms.devices() } catch {
            if request == .auto || request == .cpu { return .cpu }
            throw error
        }
        guard let info = try request.resolve(among: devices) else { return .cpu }
        if tuning == nil, let firstUse, firstUse.seconds > 0 {
            try tuneOnFirstUse(info, seconds: firstUse.seconds, log: firstUse.log)
        }
        return .opencl(try OpenCLContext(device: info, tuning: tuning))
    }

    private static func tuneOnFirstUse(_ info: OpenCLDeviceInfo, seconds: Double, log: (String) -> Void) throws {
        let name = "opencl:\(info.index) \(info.name)"
        let started = DispatchTime.now().uptimeNanoseconds
        let result = try GEMMTuner.tuneOnFirstUse(info, seconds: seconds, starting: {
            log("first use of \(name): tuning its GEMM kernel for about \(Int(seconds.rounded(.up))) s, then its work-group sizes on the winner's kernels (--tune-seconds; train-gpu tune searches longer)")
        })
        let took = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
        switch result {
        case .alreadyTuned, .nowhereToKeep: break
        case let .tunedElsewhere(lock):
            log("\(name) is being tuned by another process (\(lock)); this run uses the defaults for its type")
        case let .tuned(outcome, file):
            let size = outcome.sizes.max() ?? 0
            log(String(format: "tuned %@ in %.0f s: %@, %.1f GFLOP/s at %d (defaults %.1f); work-groups: %@; kept in %@", name, took,
                       outcome.best.tuning.description, outcome.best.gflops[size] ?? 0, size, outcome.defaults.gflops[size] ?? 0,
                       outcome.kept.workGroupDescription, file))
        }
    }

    public var isOpenCL: Bool { if case .opencl = kind { return true } else { return false } }

    public var openCLContext: OpenCLContext? { if case let .opencl(c) = kind { return c } else { return nil } }

    public var description: String {
        switch kind {
        case .cpu: return "cpu (native: oneDNN + OpenBLAS + FFTW)"
        case let .opencl(c): return "opencl:\(c.info.index) \(c.info.name) [\(c.info.kind.rawValue)]"
        }
    }

    /// A short identifier: "cpu" or "opencl:N".
    public var identifier: String {
        switch kind {
        case .cpu:
            switch (backend as? CPUBackend)?.convolutions ?? .tuned {
            case .tuned: return "cpu"
            case .oneDNN: return "cpu (oneDNN)"
            case .im2col: return "cpu (im2col)"
            case .winograd: return "cpu (Winograd)"
            }
        case let .opencl(c): return "opencl:\(c.info.index)"
        }
    }

    public func synchronize() throws { try backend.synchronize() }
}
