import ArgumentParser
import BenchmarkSuite
import ChorusCore
import Foundation
import Tensor

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark every device: GEMM next to OpenBLAS, ResNet18 convolutions, launch overhead, spectrograms, training.",
        discussion: """
        Figures are ratios to references measured in the same run: OpenBLAS sgemm, FFTW, the CPU's FMA peak (measured), and \
        PyTorch on the CPU when a Python with torch is at hand (--pytorch). --json writes [{name, device, value, unit}].
        """)

    @Option(help: "Devices to measure (comma-separated device strings); default: cpu and every OpenCL device.")
    var devices: String?
    @Flag(help: "Smaller sizes, for a quick look.")
    var quick = false
    @Option(help: ArgumentHelp("Also write the figures as JSON.", valueName: "file"))
    var json: String?
    @Option(help: ArgumentHelp("Python with torch for the CPU reference figures (default: Benchmarks/reference/.venv/bin/python, made by Benchmarks/reference/make-venv).", valueName: "python"))
    var pytorch: String?
    @OptionGroup var outputs: OverwriteOption

    func run() throws {
        if let json { try OutputPolicy.claim([PlannedOutput(json, parameter: "--json", locks: true)], inputs: [], overwrite: outputs.overwrite) }
        let list = try devices.map { try $0.split(separator: ",").map { try Device.select(String($0)) } } ?? StandardSuite.defaultDevices()
        let reference = PyTorchReference.find(python: pytorch)
        if case let .failure(why) = reference { print("\(why)") }
        let results = try StandardSuite.run(devices: list, quick: quick, pytorch: reference) { print($0) }
        print("")
        print(formatTable(results))
        if let json { try writeJSON(results, to: json); print("wrote \(json)") }
    }
}
