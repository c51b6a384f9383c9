import BenchmarkSuite
import Foundation
import Kernels
import Tensor

// chorus-bench: the Benchmarks target. `chorus-bench` runs the standard suite (as `train-gpu bench`);
// `chorus-bench spectrogram` runs only the spectrogram benchmarks; `chorus-bench gemm-sweep` tries gemm_blocked / gemm_tiled parameters on the OpenCL device.
let args = CommandLine.arguments.dropFirst()
if args.first == "gemm-sweep" {
    let n = Int(args.dropFirst().first ?? "1024") ?? 1024
    guard let info = try OpenCLPlatforms.devices().first else { print("no OpenCL device"); exit(1) }
    print(String(format: "OpenBLAS sgemm %d: %.1f GFLOP/s", n, TensorBenchmarks.openBLASGEMM(size: n)))
    for rm in [4, 6, 8, 12] {
        for rn in [1, 2] {
            for ku in [1, 4] {
                var t = KernelTuning(gemmVariant: .blocked)
                t.blockRows = rm; t.blockVectors = rn; t.kUnroll = ku
                let d = Device.opencl(try OpenCLContext(device: info, tuning: t))
                print(String(format: "%@: %.1f GFLOP/s", t.description, try TensorBenchmarks.deviceGEMM(d, size: n)))
            }
        }
    }
    exit(0)
}
if args.first == "spectrogram" {
    // Only the spectrogram part of the suite: STFT-to-tensor per device next to FFTW, and the one-hour spectrogram.
    let results = try StandardSuite.spectrograms(devices: try StandardSuite.defaultDevices(), quick: args.contains("--quick")) { print($0) }
    print(formatTable(results))
    exit(0)
}
let results = try StandardSuite.run(devices: try StandardSuite.defaultDevices(), quick: args.contains("--quick")) { print($0) }
print(formatTable(results))
