import ArgumentParser
import Foundation
import Kernels
import Tensor

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Tune the GEMM kernel on an OpenCL device and keep the fastest setting for it.",
        discussion: """
        Tries the GEMM kernel's settings (tile shapes and work per item on GPUs; on CPU-type devices packed panels \
        with their register tile, cache block and chunk of k, and unpacked register blocks), each checked against the device's limits before it is built and against a float64 product \
        before it is timed, until --seconds have passed; then the work-group sizes of the reductions and elementwise \
        kernels on the winner's program, each checked against float64 before it is timed. The fastest is kept beside the kernel binaries for this device \
        and driver, and used by every later run on it (train-gpu devices shows it). Convolutions choose their own path \
        per shape the first time each is used.
        """)

    @Option(help: "OpenCL device to tune: opencl, gpu or opencl:N.") var device: String = "opencl"
    @Option(help: "Stop trying new settings after this many seconds (the defaults are always measured).") var seconds: Double = 120
    @Option(help: ArgumentHelp("Square product sizes to time; a setting's score is its slowest (default: 1024,2048).", valueName: "n,n"))
    var sizes: String?

    func validate() throws {
        guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600], got \(seconds)") }
        _ = try parsedSizes()
    }

    func parsedSizes() throws -> [Int]? {
        guard let sizes else { return nil }
        let values = sizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0.map { (16...8192).contains($0) } ?? false }) else {
            throw ValidationError("--sizes \(sizes): expected comma-separated sizes from 16 to 8192, such as 1024,2048")
        }
        return values.compactMap { $0 }
    }

    func run() throws {
        let request = try DeviceRequest(parsing: device)
        guard request != .cpu, request != .auto || (try? OpenCLPlatforms.devices())?.isEmpty == false,
              let info = try request.resolve(among: try OpenCLPlatforms.devices()) else {
            throw ValidationError("--device \(device): tune measures an OpenCL device (the CPU fallback tunes its convolutions itself on first use); see train-gpu devices")
        }
        print("tuning the GEMM kernel on opencl:\(info.index) \(info.name) (driver \(info.driverVersion)) for up to \(Int(seconds)) s")
        let outcome = try GEMMTuner.run(device: info, seconds: seconds, sizes: try parsedSizes()) { print($0) }
        let size = outcome.sizes.max() ?? 0
        let best = outcome.best, defaults = outcome.defaults
        let rejected = outcome.candidates.filter { $0.rejected != nil }.count
        print(String(format: "tried %d of %d settings%@ (%d rejected)", outcome.candidates.count, GEMMTuner.candidates(for: info).count,
                     outcome.stoppedEarly ? ", stopped at the time limit" : "", rejected))
        print(String(format: "best: %@: %.1f GFLOP/s at %d (defaults %.1f, %.2fx)", best.tuning.description, best.gflops[size] ?? 0, size,
                     defaults.gflops[size] ?? 0, (best.gflops[size] ?? 0) / max(defaults.gflops[size] ?? 1, 1e-9)))
        if outcome.workGroups != nil { print("work-groups: \(outcome.kept.workGroupDescription)") }
        if let file = KeptTuning.file(for: info) { print("kept in \(file)") } else { print("no kernel cache directory: nothing kept") }
    }
}
