import BenchmarkSuite
import ChorusCore
import Foundation
import Kernels
import Model
import Tensor

// chorus-bench: the Benchmarks target. `chorus-bench` runs the standard suite (as `train-gpu bench`);
// `chorus-bench resnet [DEVICE] [BATCH] [ARCH]` measures network training and inference throughput;
// `chorus-bench spectrogram [--quick]` runs only the spectrogram benchmarks;
// `chorus-bench gemm [SIZES] [DEVICE]` times square products beside OpenBLAS;
// `chorus-bench conv [BATCH] [DEVICE,DEVICE... [--kernels]]` times ResNet18's convolution layers (CPU paths and PyTorch's, or devices side by side);
// `chorus-bench recipe-dataset --dataset R1|R2|R3 [--seed N] [--backgrounds DIR] --out DIR` writes a
// recipe-check dataset (Benchmarks/recipe/README.md);
// `chorus-bench hash FILE...` times provenance hashing against sha256sum in the same run;
// `chorus-bench peak` measures the CPU's peak; `chorus-bench conv-shapes` prints the conv shapes as JSON.
let args = Array(CommandLine.arguments.dropFirst())
if args.first == "peak" {
    // chorus-bench peak: the CPU's measured single-precision peak (GFLOP/s) on the cores Chorus uses.
    let peak = TensorBenchmarks.cpuPeak()
    print(String(format: "%.1f GFLOP/s (%@, %d cores)", peak.gflops, peak.isa, Machine.usableCores))
    exit(0)
}
if args.first == "conv-shapes" {
    // chorus-bench conv-shapes: ResNet18's convolution shapes as JSON, as pytorch_resnet18.py's `layers` takes them.
    print(try TensorBenchmarks.json(TensorBenchmarks.resnet18Convolutions))
    exit(0)
}
if args.first == "hash" {
    let files = Array(args.dropFirst())
    guard !files.isEmpty else { print("usage: chorus-bench hash FILE..."); exit(64) }
    let bytes = files.compactMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int }.reduce(0, +)
    // Once each beforehand, so both read from the page cache.
    for f in files { _ = try SHA256.hex(fileAt: f) }
    var t = Date()
    var ours: [String] = []
    for f in files { ours.append(try SHA256.hex(fileAt: f)) }
    let chorus = Date().timeIntervalSince(t)
    let p = Process(), pipe = Pipe()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    p.arguments = files
    p.standardOutput = pipe
    t = Date()
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    let reference = Date().timeIntervalSince(t)
    let same = out.split(separator: "\n").map { String($0.prefix(64)) } == ours
    print(String(format: "SHA-256 of %d files, %.0f MB: Chorus %.0f MB/s, sha256sum %.0f MB/s (%.2fx), digests %@", files.count,
                 Double(bytes) / 1e6, Double(bytes) / 1e6 / chorus, Double(bytes) / 1e6 / reference, reference / chorus, same ? "equal" : "DIFFERENT"))
    exit(same ? 0 : 1)
}
if args.first == "recipe-dataset" {
    exit(RecipeDatasetCommand.run(Array(args.dropFirst())))
}
if args.first == "gemm" {
    // Square products on one device beside OpenBLAS, same run: chorus-bench gemm [SIZES] [DEVICE].
    let sizes = (args.count > 1 ? args[1] : "512,1024,2048").split(separator: ",").compactMap { Int($0) }
    let device = try Device.select(args.count > 2 ? args[2] : "opencl")
    for n in sizes {
        let blas = TensorBenchmarks.openBLASGEMM(size: n), g = try TensorBenchmarks.deviceGEMM(device, size: n)
        print(String(format: "gemm %d: %@ %.1f GFLOP/s, OpenBLAS %.1f (%.2fx)", n, device.identifier, g, blas, g / blas))
    }
    exit(0)
}
/// A device string, or one convolution path alone: cpu-im2col, cpu-onednn, cpu-winograd, and on the
/// first OpenCL device opencl-gemm (its GEMM variant's path), opencl-winograd (Winograd wherever
/// it serves the shape), opencl-winograd-fused (the same, forward and data gradient in one kernel
/// where it fits).
func benchDevice(_ name: String) throws -> Device {
    switch name {
    case "cpu-im2col": return .cpuIm2col
    case "cpu-onednn": return .cpuOneDNN
    case "cpu-winograd": return .cpuWinograd
    case "opencl-gemm", "opencl-winograd", "opencl-winograd-fused":
        guard let info = try OpenCLPlatforms.devices().first else { throw OpenCLError.noPlatform }
        var tuning = KernelTuning.forDevice(info)
        tuning.convolutions = name == "opencl-gemm" ? .im2col : name == "opencl-winograd" ? .winograd : .winogradFused
        return .opencl(try OpenCLContext(device: info, tuning: tuning))
    default: return try Device.select(name)
    }
}
if args.first == "conv", args.count > 2 {
    // chorus-bench conv BATCH DEVICE,DEVICE...: ResNet18's convolution layers on each device, same
    // run, with each device's fwd+bwd GFLOP/s as a ratio to the first's.
    let batch = Int(args[1]) ?? 32
    let devices = try args[2].split(separator: ",").map { try benchDevice(String($0)) }
    let tables = args.contains("--kernels")  // each layer's kernel times on OpenCL devices
    let results = try devices.map { try TensorBenchmarks.convolutions($0, batch: batch, kernelTables: tables ? { print("\($0):\n\($1)") } : nil) }
    print(formatTable(results.flatMap { $0 }))
    for d in 1..<devices.count {
        for (base, other) in zip(results[0], results[d]) where base.unit == "GFLOP/s" {
            print(String(format: "%@: %@ %.1f GFLOP/s, %@ %.1f (%.2fx)", base.name, other.device, other.value, base.device, base.value, other.value / base.value))
        }
    }
    exit(0)
}
if args.first == "conv" {
    // ResNet18's convolution layers on the CPU fallback: oneDNN beside im2col + OpenBLAS, same run.
    let batch = args.count > 1 ? Int(args[1]) ?? 32 : 32
    let cpu = Device.cpu.backend as! CPUBackend
    for s in TensorBenchmarks.resnet18Convolutions {
        let g = ConvGeometry(channels: s.c, height: s.h, width: s.h, kernelH: s.k, kernelW: s.k, stride: s.s, padding: s.p)
        let impl = try cpu.convolutionImplementations(g, images: batch, outChannels: s.o)
        print("\(s.name): oneDNN forward \(impl.forward), backward-data \(impl.backwardData), backward-weights \(impl.backwardWeights)")
    }
    let peak = TensorBenchmarks.cpuPeak()
    print(String(format: "measured peak: %.1f GFLOP/s (%@, %d cores)", peak.gflops, peak.isa, Machine.usableCores))
    let results = try [Device.cpu, .cpuOneDNN, .cpuWinograd, .cpuIm2col].flatMap { try TensorBenchmarks.convolutions($0, batch: batch) }
    print(formatTable(results))
    for r in results where r.unit == "GFLOP/s" { print(String(format: "%@ %@: %.0f%% of peak", r.name, r.device, 100 * r.value / peak.gflops)) }
    // The same layers in PyTorch, same run, when Benchmarks/reference/.venv has torch.
    _ = StandardSuite.layerReference(PyTorchReference.find(python: nil), chorus: results.filter { $0.device == Device.cpu.identifier }, batch: batch,
                                     peak: peak.gflops, device: .cpu) { print($0) }
    exit(0)
}
if args.first == "winograd-vectors" {
    // chorus-bench winograd-vectors [BATCH]: each ResNet18 3x3 stride-1 layer's Winograd forward
    // and whole backward with the products in AVX2 and in AVX-512, alternated, same run.
    let batch = args.count > 1 ? Int(args[1]) ?? 32 : 32
    guard CPUBackend.winogradVectorBits == 512 else { print("this CPU has no AVX-512: the Winograd products run in AVX2 only"); exit(0) }
    let peak = TensorBenchmarks.cpuPeak().gflops
    print(String(format: "measured peak: %.1f GFLOP/s", peak))
    for s in TensorBenchmarks.resnet18Convolutions where s.k == 3 && s.s == 1 {
        var best: [Int: (forward: Double, backward: Double)] = [:], flops = 0.0
        for _ in 0..<3 {
            for bits in [256, 512] {
                CPUBackend.limitWinogradVectors(bits)
                let r = try TensorBenchmarks.convolutionDirections(.cpuWinograd, batch: batch, layers: [s])[0]
                let old = best[bits] ?? (.infinity, .infinity)
                best[bits] = (min(old.forward, r.forward), min(old.backward, r.backward))
                flops = r.flops
            }
        }
        let line = [256, 512].map { bits in
            String(format: "%@: fwd %.1f ms (%.0f%% of peak) bwd %.1f ms (%.0f%%)", bits == 256 ? "AVX2" : "AVX-512", best[bits]!.forward * 1e3,
                   100 * flops / best[bits]!.forward / 1e9 / peak, best[bits]!.backward * 1e3, 200 * flops / best[bits]!.backward / 1e9 / peak)
        }
        print("\(s.name)  " + line.joined(separator: "  ") + String(format: "  forward %.2fx", best[256]!.forward / best[512]!.forward))
    }
    exit(0)
}
if args.first == "conv-directions" {
    // chorus-bench conv-directions [BATCH]: each ResNet18 convolution's forward, weight gradient
    // alone and whole backward on oneDNN, Winograd (3x3 stride-1 forward and data gradient; oneDNN
    // elsewhere) and im2col + OpenBLAS, same run, as shares of the measured peak.
    let batch = args.count > 1 ? Int(args[1]) ?? 32 : 32
    let peak = TensorBenchmarks.cpuPeak().gflops
    let paths = try [("oneDNN", Device.cpuOneDNN), ("Winograd", Device.cpuWinograd), ("im2col", Device.cpuIm2col)].map { ($0.0, try TensorBenchmarks.convolutionDirections($0.1, batch: batch)) }
    for (i, s) in TensorBenchmarks.resnet18Convolutions.enumerated() {
        let share = { (flops: Double, seconds: Double) in 100 * flops / seconds / 1e9 / peak }
        print(s.name + paths.map { name, rows in
            let r = rows[i]
            return String(format: "  %@: fwd %.0f%% wgt %.0f%% bwd %.0f%% (%.1f/%.1f/%.1f ms)", name, share(r.flops, r.forward), share(r.flops, r.weights),
                          share(2 * r.flops, r.backward), r.forward * 1e3, r.weights * 1e3, r.backward * 1e3)
        }.joined())
    }
    exit(0)
}
if args.first == "predict" {
    // Prediction throughput (hours of audio per minute) of one network on one device.
    let name = args.count > 1 ? args[1] : "cpu"
    let device = try benchDevice(name)
    let arch = args.count > 2 ? Architecture(rawValue: args[2]) ?? .resnet18 : .resnet18
    let batch = args.count > 3 ? Int(args[3]) : nil
    let cpu = device.backend as? CPUBackend
    let p = try PipelineBenchmarks.prediction(device, architecture: arch, minutes: 10, batchSize: batch) { cpu?.startOperationProfile() }
    print(String(format: "%@ prediction %@: %.2f hours of audio per minute (network %.0f%%)", arch.rawValue, device.identifier, p.hoursPerMinute, 100 * p.network))
    if let cpu { print(cpu.stopOperationProfile().table()) }
    exit(0)
}
if args.first == "resnet" {
    let name = args.count > 1 ? args[1] : "cpu"
    let device = try benchDevice(name)
    let batch = args.count > 2 ? Int(args[2]) ?? 32 : 32
    let arch = args.count > 3 ? Architecture(rawValue: args[3]) ?? .resnet18 : .resnet18
    let profile = try TrainingBenchmarks.networkTrainingProfile(device, architecture: arch, batch: batch)
    let notes = [profile.convolutionShare.map { String(format: "%.0f%% of the step outside convolutions", 100 * (1 - $0)) },
                 profile.convolutionGFLOPS.map { String(format: "they ran at %.1f GFLOP/s", $0) },
                 profile.convolution3x3GFLOPS.map { String(format: "the 3x3 ones at %.1f", $0) }].compactMap { $0 }
    print(String(format: "%@ %@ training batch %d: %.2f samples/s", arch.rawValue, device.identifier, batch, profile.samplesPerSecond)
          + (notes.isEmpty ? "" : " (" + notes.joined(separator: "; ") + ")"))
    if let kernels = profile.kernels { print(kernels.table(limit: 40)) }
    print(String(format: "%@ %@ inference batch %d: %.2f samples/s", arch.rawValue, device.identifier, batch,
                 try TrainingBenchmarks.networkInference(device, architecture: arch, batch: batch)))
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
