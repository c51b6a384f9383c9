import ChorusCore
import Foundation
import Kernels
import Model
import Tensor

/// The standard benchmark suite run by `train-gpu bench` and `chorus-bench`.
public enum StandardSuite {
    /// The CPU fallback and every OpenCL device.
    public static func defaultDevices() throws -> [Device] {
        var out = [Device.cpu]
        for info in (try? OpenCLPlatforms.devices()) ?? [] { out.append(.opencl(try OpenCLContext(device: info))) }
        return out
    }

    /// `pytorch`: the reference for the CPU fallback's network figures (nil: not measured, `log` says why).
    public static func run(devices: [Device], quick: Bool, pytorch: Result<PyTorchReference, BenchmarkError>? = nil,
                           log: (String) -> Void) throws -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        let peak = TensorBenchmarks.cpuPeak()
        results.append(BenchmarkResult(name: "CPU single-precision peak (measured, \(peak.isa), \(Machine.usableCores) cores)", device: "host", value: peak.gflops, unit: "GFLOP/s"))
        log(String(format: "CPU peak: %.1f GFLOP/s (%@ on %d cores, measured)", peak.gflops, peak.isa, Machine.usableCores))
        log("CPU kernels: \(CPUBackend.kernelsDescription)")
        let bandwidth = TensorBenchmarks.memoryBandwidth(floats: quick ? 8 << 20 : 32 << 20)
        results.append(BenchmarkResult(name: "memory bandwidth (measured, triad, \(Machine.usableCores) cores)", device: "host", value: bandwidth, unit: "GB/s"))
        log(String(format: "memory bandwidth: %.1f GB/s (triad on %d cores, measured)", bandwidth, Machine.usableCores))
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
        // The CPU fallback chooses per shape between its convolution paths: each is measured too.
        let convolutionDevices = devices.flatMap { $0.isOpenCL ? [$0] : [$0, Device.cpuOneDNN, Device.cpuWinograd, Device.cpuIm2col] }
        for d in convolutionDevices {
            log("conv2d ResNet18 shapes, batch \(batch), \(d.identifier)...")
            let figures = try TensorBenchmarks.convolutions(d, batch: batch, repeats: quick ? 1 : 3)
            results += figures
            if !d.isOpenCL {
                for r in figures where r.unit == "GFLOP/s" {
                    results.append(BenchmarkResult(name: r.name + " share of peak", device: d.identifier, value: 100 * r.value / peak.gflops, unit: "% of peak"))
                }
            }
            if d === Device.cpu, let pytorch {
                results += layerReference(pytorch, chorus: figures, batch: batch, peak: peak.gflops, device: d, log: log)
            }
        }
        for d in devices {
            guard let cl = d.backend as? OpenCLBackend, !cl.convolutionPaths.paths.isEmpty else { continue }
            let (paths, file) = cl.convolutionPaths
            let count = { (path: String) in paths.values.filter { $0 == path }.count }
            log("\(d.identifier) convolution paths chosen: \(count("implicit-gemm")) shapes implicit GEMM, \(count("im2col")) the GEMM path (im2col or packed), \(count("winograd")) Winograd, \(count("winograd-fused")) fused Winograd (\(file ?? "not kept"))")
        }
        if let cpu = Device.cpu.backend as? CPUBackend, devices.contains(where: { !$0.isOpenCL }) {
            let paths = cpu.convolutionChoices.paths
            let count = { (path: String) in paths.values.filter { $0 == path }.count }
            log("cpu convolution paths chosen on this machine: \(count("onednn")) oneDNN, \(count("winograd") + count("winograd-data")) Winograd, \(count("im2col")) im2col (\(cpu.convolutionChoices.file ?? "not kept"))")
        }
        for d in devices {
            for arch in [Architecture.resnet18, .small] {
                let batch = quick ? 8 : (arch == .resnet18 ? 32 : 128)
                let cpu = d.isOpenCL ? nil : d.backend as? CPUBackend
                // The median of three steps after one untimed, as Benchmarks/reference/pytorch_resnet18.py
                // measures PyTorch (the median of two would be the slower one).
                let profile = try TrainingBenchmarks.networkTrainingProfile(d, architecture: arch, batch: batch, steps: quick ? 1 : 3)
                let net = profile.samplesPerSecond
                results.append(BenchmarkResult(name: "\(arch.rawValue) training step b\(batch) (no loader)", device: d.identifier, value: net, unit: "samples/s"))
                if let kernels = profile.kernels {
                    log("\(arch.rawValue) training step b\(batch), " + kernels.table(limit: 12))
                }
                if cpu != nil, let kernels = profile.kernels, kernels.totalSeconds > 0 {
                    // The issue's measure: what is left outside the layers' own operations.
                    let outside = kernels.entries.filter { !TrainingBenchmarks.isLayerOperation($0.kernel) }
                    let share = 100 * outside.reduce(0) { $0 + $1.seconds } / kernels.totalSeconds
                    results.append(BenchmarkResult(name: "\(arch.rawValue) training step: time outside the layer operations", device: d.identifier, value: share, unit: "%"))
                    log(String(format: "%@ %@ training step: %.1f%% of the time outside the layer operations (%@)", arch.rawValue, d.identifier, share,
                               outside.map(\.kernel).joined(separator: ", ")))
                    // The operations bound by memory, against the bandwidth measured above.
                    let bound = kernels.entries.filter { $0.bytes > 0 }
                    let seconds = bound.reduce(0) { $0 + $1.seconds }, bytes = bound.reduce(0) { $0 + $1.bytes }
                    if seconds > 0 {
                        let rate = bytes / seconds / 1e9
                        results.append(BenchmarkResult(name: "\(arch.rawValue) training step: memory-bound operations, share of the step", device: d.identifier,
                                                       value: 100 * seconds / kernels.totalSeconds, unit: "%"))
                        results.append(BenchmarkResult(name: "\(arch.rawValue) training step: memory-bound operations, share of bandwidth", device: d.identifier,
                                                       value: 100 * rate / bandwidth, unit: "% of bandwidth"))
                        log(String(format: "%@ %@ training step: memory-bound operations (batch norm, ReLU, pooling, additions, SGD) %.1f%% of the step, moving their least traffic at %.1f GB/s, %.0f%% of the measured bandwidth",
                                   arch.rawValue, d.identifier, 100 * seconds / kernels.totalSeconds, rate, 100 * rate / bandwidth))
                    }
                }
                if let share = profile.convolutionShare {
                    results.append(BenchmarkResult(name: "\(arch.rawValue) training step: time outside convolutions", device: d.identifier, value: 100 * (1 - share), unit: "%"))
                    log(String(format: "%@ %@ training step: %.0f%% of the time outside convolutions", arch.rawValue, d.identifier, 100 * (1 - share)))
                }
                for (which, rate) in [("convolutions", profile.convolutionGFLOPS), ("3x3 convolutions", profile.convolution3x3GFLOPS)] {
                    guard let rate else { continue }
                    results.append(BenchmarkResult(name: "\(arch.rawValue) training step: its \(which)", device: d.identifier, value: rate, unit: "GFLOP/s"))
                    results.append(BenchmarkResult(name: "\(arch.rawValue) training step: its \(which), share of peak", device: d.identifier, value: 100 * rate / peak.gflops, unit: "% of peak"))
                    log(String(format: "%@ %@ training step: its %@ ran at %.1f GFLOP/s, %.0f%% of peak (every direction, reorders included)",
                               arch.rawValue, d.identifier, which, rate, 100 * rate / peak.gflops))
                }
                let inf = try TrainingBenchmarks.networkInference(d, architecture: arch, batch: batch, steps: quick ? 1 : 3)
                results.append(BenchmarkResult(name: "\(arch.rawValue) inference b\(batch)", device: d.identifier, value: inf, unit: "samples/s"))
                log(String(format: "%@ %@: training %.1f samples/s, inference %.1f samples/s (batch %d)", arch.rawValue, d.identifier, net, inf, batch))
                if cpu != nil, let pytorch {
                    do {
                        let ref = try pytorch.get().measure(architecture: arch.rawValue, batch: batch, threads: Machine.usableCores)
                        results.append(BenchmarkResult(name: "\(arch.rawValue) training b\(batch) PyTorch \(ref.version) CPU (\(ref.threads) threads)", device: "host", value: ref.training, unit: "samples/s"))
                        results.append(BenchmarkResult(name: "\(arch.rawValue) inference b\(batch) PyTorch \(ref.version) CPU (\(ref.threads) threads)", device: "host", value: ref.inference, unit: "samples/s"))
                        results.append(BenchmarkResult(name: "\(arch.rawValue) training ratio to PyTorch CPU", device: d.identifier, value: net / ref.training, unit: "x"))
                        results.append(BenchmarkResult(name: "\(arch.rawValue) inference ratio to PyTorch CPU", device: d.identifier, value: inf / ref.inference, unit: "x"))
                        log(String(format: "%@ PyTorch %@ CPU: training %.1f samples/s (Chorus %.2fx), inference %.1f samples/s (Chorus %.2fx)",
                                   arch.rawValue, ref.version, ref.training, net / ref.training, ref.inference, inf / ref.inference))
                    } catch {
                        log("\(error)")
                    }
                }
            }
            let tb = quick ? 16 : 128
            let t = try PipelineBenchmarks.training(d, architecture: .resnet18, batch: tb, batches: quick ? 1 : 2)
            results.append(BenchmarkResult(name: "resnet18 training with loader b\(tb) 224x224", device: d.identifier, value: t.samplesPerSecond, unit: "samples/s"))
            results.append(BenchmarkResult(name: "resnet18 training: device waiting for data", device: d.identifier, value: 100 * t.loaderWait, unit: "%"))
            log(String(format: "resnet18 training with loader %@: %.1f samples/s, waiting for data %.0f%%", d.identifier, t.samplesPerSecond, 100 * t.loaderWait))
            for arch in [Architecture.resnet18, .small] {
                let p = try PipelineBenchmarks.prediction(d, architecture: arch, minutes: quick ? 1 : 10)
                results.append(BenchmarkResult(name: "\(arch.rawValue) prediction", device: d.identifier, value: p.hoursPerMinute, unit: "h audio/min"))
                results.append(BenchmarkResult(name: "\(arch.rawValue) prediction time in decoding/spectrograms/network", device: d.identifier,
                                               value: 100 * p.network, unit: String(format: "%% network (decode %.0f%%, spectrogram %.0f%%)", 100 * p.decode, 100 * p.spectrogram)))
                log(String(format: "%@ prediction %@: %.2f hours of audio per minute (decode %.0f%%, spectrogram %.0f%%, network %.0f%%)",
                           arch.rawValue, d.identifier, p.hoursPerMinute, 100 * p.decode, 100 * p.spectrogram, 100 * p.network))
            }
        }
        results += try spectrograms(devices: devices, quick: quick, log: log)
        return results
    }

    /// The same convolution layers alone in PyTorch, in the same run: GFLOP/s, share of the
    /// measured peak, and the CPU fallback's ratio to it (`chorus`: its `convolutions` figures).
    public static func layerReference(_ pytorch: Result<PyTorchReference, BenchmarkError>, chorus: [BenchmarkResult], batch: Int, peak: Double,
                               device: Device, log: (String) -> Void) -> [BenchmarkResult] {
        let layers = TensorBenchmarks.resnet18Convolutions
        let ref: PyTorchReference.LayerFigures
        do {
            ref = try pytorch.get().measureLayers(layers, batch: batch, threads: Machine.usableCores)
        } catch {
            log("\(error)")
            return []
        }
        var results: [BenchmarkResult] = []
        for layer in layers {
            let name = "conv2d fwd+bwd \(layer.name) b\(batch)"
            guard let theirs = ref.layers[layer.name], let ours = chorus.first(where: { $0.name == name })?.value else { continue }
            results.append(BenchmarkResult(name: "\(name) PyTorch \(ref.version) CPU (\(ref.threads) threads)", device: "host", value: theirs, unit: "GFLOP/s"))
            results.append(BenchmarkResult(name: "\(name) PyTorch share of peak", device: "host", value: 100 * theirs / peak, unit: "% of peak"))
            results.append(BenchmarkResult(name: "\(name) ratio to PyTorch CPU", device: device.identifier, value: ours / theirs, unit: "x"))
            log(String(format: "%@ PyTorch %@: %.1f GFLOP/s, %.0f%% of peak (Chorus %.1f, %.0f%%: %.2fx)", name, ref.version, theirs, 100 * theirs / peak,
                       ours, 100 * ours / peak, ours / theirs))
        }
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
