import Foundation
import Kernels
import Tensor

/// The standard benchmark suite run by `train-gpu bench` and `chorus-bench`.
public enum StandardSuite {
    /// The CPU fallback and every OpenCL device.
    public static func defaultDevices() throws -> [Device] {
        var out = [Device.cpu]
        for info in (try? OpenCLPlatforms.devices()) ?? [] { out.append(.opencl(try OpenCLContext(device: info))) }
        return out
    }

    public static func run(devices: [Device], quick: Bool, log: (String) -> Void) throws -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        let sizes = quick ? [512, 1024] : [512, 1024, 2048]
        for n in sizes {
            let blas = TensorBenchmarks.openBLASGEMM(size: n)
            results.append(BenchmarkResult(name: "gemm \(n) OpenBLAS sgemm", device: "host", value: blas, unit: "GFLOP/s"))
            log(String(format: "gemm %d OpenBLAS: %.1f GFLOP/s", n, blas))
            for d in devices where d.isOpenCL {
                let g = try TensorBenchmarks.deviceGEMM(d, size: n)
                results.append(BenchmarkResult(name: "gemm \(n)", device: d.identifier, value: g, unit: "GFLOP/s"))
                results.append(BenchmarkResult(name: "gemm \(n) ratio to OpenBLAS", device: d.identifier, value: g / blas, unit: "x"))
                log(String(format: "gemm %d %@: %.1f GFLOP/s (%.0f%% of OpenBLAS)", n, d.identifier, g, 100 * g / blas))
            }
        }
        for d in devices {
            let us = try TensorBenchmarks.launchOverhead(d)
            results.append(BenchmarkResult(name: "kernel launch overhead", device: d.identifier, value: us, unit: "us"))
            log(String(format: "launch overhead %@: %.1f us", d.identifier, us))
        }
        let batch = quick ? 4 : 32
        for d in devices {
            log("conv2d ResNet18 shapes, batch \(batch), \(d.identifier)...")
            results += try TensorBenchmarks.convolutions(d, batch: batch, repeats: quick ? 1 : 2)
        }
        return results
    }
}
