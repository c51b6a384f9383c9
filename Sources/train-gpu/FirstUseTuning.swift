import ArgumentParser
import Kernels
import Tensor

/// `--tune-seconds`, shared by the commands that do long work on a device (train, predict, demo):
/// how long the first run on an OpenCL device may spend tuning it before it starts.
struct FirstUseTuningOptions: ParsableArguments {
    @Option(help: ArgumentHelp("""
        On an OpenCL device with no tuning kept for it yet: first tune its GEMM kernel for up to this many seconds \
        and keep the result for every later run (0: use the defaults for its type; train-gpu tune searches longer).
        """, valueName: "seconds"))
    var tuneSeconds: Double = Self.defaultSeconds

    static let defaultSeconds: Double = 30

    func validate() throws {
        guard tuneSeconds.isFinite, (0...3600).contains(tuneSeconds) else {
            throw ValidationError("--tune-seconds must be between 0 and 3600, got \(tuneSeconds)")
        }
    }

    /// The option as arguments for a command run on its behalf (none when it is the default).
    var arguments: [String] { tuneSeconds == Self.defaultSeconds ? [] : ["--tune-seconds", "\(tuneSeconds)"] }

    /// The device for a `--device` string, tuned first if it is an OpenCL device used for the first time.
    func select(_ device: String, say: @escaping (String) -> Void) throws -> Device {
        try Device.select(try DeviceRequest(parsing: device), firstUse: (seconds: tuneSeconds, log: say))
    }
}
