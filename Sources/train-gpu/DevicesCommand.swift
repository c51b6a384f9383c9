import ArgumentParser
import ChorusCore
import Foundation
import Kernels
import Tensor

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List OpenCL platforms and devices and the CPU fallback; mark the default.",
        discussion: """
        Device strings for --device: auto (default: an OpenCL GPU if there is one, else the native CPU \
        fallback, which is faster than POCL on CPUs), cpu (native: OpenBLAS + FFTW), opencl (best OpenCL \
        device, GPU first), opencl:N (the N-th device below).
        """)

    func run() throws {
        let devices: [OpenCLDeviceInfo]
        var problem: String?
        do { devices = try OpenCLPlatforms.devices() } catch { devices = []; problem = "\(error)" }
        let auto = try? DeviceRequest.auto.resolve(among: devices)
        func gib(_ b: UInt64) -> String { String(format: "%.1f GiB", Double(b) / 1_073_741_824) }
        print("OpenCL devices:")
        if devices.isEmpty {
            print("  (none) " + (problem ?? OpenCLError.noPlatform.description))
        }
        for d in devices {
            let mark = auto?.index == d.index ? "  [default]" : ""
            print("  opencl:\(d.index)  \(d.name)\(mark)")
            print("      platform \(d.platformName); type \(d.kind.rawValue); \(d.computeUnits) compute units; global memory \(gib(d.globalMemoryBytes)); local memory \(d.localMemoryBytes / 1024) KiB; max work-group \(d.maxWorkGroupSize)")
            let kept = KeptTuning.read(for: d), tuning = KernelTuning.forDevice(d)
            print("      driver \(d.driverVersion); \(d.openCLVersion); kernels: \(tuning.description) "
                  + (kept.map { String(format: "(tuned %@: %.0f GFLOP/s at %d, defaults %.0f)", String($0.date.prefix(10)), $0.gflops, $0.size, $0.defaultGflops) }
                     ?? "(defaults for its type; train-gpu tune measures better ones)"))
            print("      work-groups: \(tuning.workGroupDescription)")
            if let paths = OpenCLBackend.keptConvolutionChoices(for: d) {
                let tiled = tuning.gemmVariant == .tiled, own = tuning.gemmVariant == .packed ? "packed GEMM" : "im2col + GEMM"
                let cpu = d.kind == .cpu
                let offered = (tiled ? "implicit GEMM, " : "") + "\(own) or (3x3, stride 1) Winograd" + (cpu ? " (in three launches or fused)" : "")
                let counts = (tiled ? ["\(paths.implicitGEMM) implicit GEMM"] : []) + ["\(paths.im2col) \(own)", "\(paths.winograd) Winograd"]
                    + (cpu ? ["\(paths.winogradFused) fused Winograd"] : [])
                let measured = paths.implicitGEMM + paths.im2col + paths.winograd + paths.winogradFused
                print("      convolutions: per shape, \(offered), whichever measured fastest here on first use; "
                      + (measured == 0 ? "none measured yet" : "shapes chose " + counts.joined(separator: ", "))
                      + (paths.file.map { " (\($0))" } ?? ""))
            }
        }
        let cores = Machine.usableCores
        print("CPU fallback:")
        print("  cpu  native (oneDNN + OpenBLAS + FFTW), \(cores) cores\(auto == nil ? "  [default]" : "")")
        let kept = CPUBackend.keptConvolutionChoices()
        print("      convolutions: per shape, oneDNN, im2col + OpenBLAS or (3x3, stride 1) Winograd, whichever measured fastest here on first use; "
              + (kept.oneDNN + kept.im2col + kept.winograd == 0 ? "none measured yet"
                 : "\(kept.oneDNN) shapes chose oneDNN, \(kept.im2col) im2col, \(kept.winograd) Winograd")
              + (kept.file.map { " (\($0))" } ?? ""))
        print("      kernels: \(CPUBackend.kernelsDescription)")
    }
}
