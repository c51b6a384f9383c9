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
        results += try spectrograms(devices: devices, quick: quick, log: log)
        return results
    }

    /// STFT-to-tensor clips/s per OpenCL device next to Audio's FFTW path (all cores), and the
    /// decode + dB spectrogram time of one hour of 32 kHz audio (10 minutes when quick).
    public static func spectrograms(devices: [Device], quick: Bool, log: (String) -> Void) throws -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        let clipBatch = quick ? 16 : 128
        let name = "stft-to-tensor 3 s clips b\(clipBatch)"
        let fftw = try SpectrogramBenchmarks.stftToTensor(device: nil, batch: clipBatch)
        results.append(BenchmarkResult(name: name + " FFTW all cores", device: "cpu", value: fftw, unit: "clips/s"))
        log(String(format: "%@ FFTW (all cores): %.0f clips/s", name, fftw))
        for d in devices where d.isOpenCL {
            let rate = try SpectrogramBenchmarks.stftToTensor(device: d, batch: clipBatch)
            results.append(BenchmarkResult(name: name, device: d.identifier, value: rate, unit: "clips/s"))
            results.append(BenchmarkResult(name: name + " ratio to FFTW", device: d.identifier, value: rate / fftw, unit: "x"))
            log(String(format: "%@ %@: %.0f clips/s (%.2fx FFTW)", name, d.identifier, rate, rate / fftw))
        }
        let audioSeconds: Double = quick ? 600 : 3600
        let hour = try SpectrogramBenchmarks.decodeAndSpectrogramSeconds(audioSeconds: audioSeconds, repeats: quick ? 1 : 3)
        let label = quick ? "10 min" : "1 h"
        results.append(BenchmarkResult(name: "spectrogram \(label) 32 kHz decode + dB", device: "cpu", value: hour.seconds, unit: "s"))
        results.append(BenchmarkResult(name: "spectrogram \(label) 32 kHz decode only", device: "cpu", value: hour.decodeSeconds, unit: "s"))
        log(String(format: "spectrogram %@ of 32 kHz audio: %.3f s (decode %.3f s)", label, hour.seconds, hour.decodeSeconds))
        return results
    }
}
