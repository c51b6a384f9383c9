import ChorusCore
import Foundation

/// PyTorch's CPU throughput for the same networks, measured in the same run by
/// `Benchmarks/reference/pytorch_resnet18.py` in a Python that has torch (a benchmark only, never
/// a dependency): the reference the CPU fallback's training and inference figures are ratios to.
public struct PyTorchReference: Sendable {
    public let python: String
    public let script: String

    public struct Figures: Decodable, Sendable {
        public let version: String
        public let threads: Int
        public let training: Double
        public let inference: Double
    }

    /// The reference venv (Benchmarks/reference/make-venv) under `root`, when it has torch and the script.
    public static func find(python: String?, root: String = FileManager.default.currentDirectoryPath) -> Result<PyTorchReference, BenchmarkError> {
        let script = root + "/Benchmarks/reference/pytorch_resnet18.py"
        let python = python ?? root + "/Benchmarks/reference/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return .failure(.referenceMissing("no Python at \(python) (make it with Benchmarks/reference/make-venv, or pass --pytorch PYTHON)"))
        }
        guard FileManager.default.fileExists(atPath: script) else {
            return .failure(.referenceMissing("no \(script) (run bench from the repository root)"))
        }
        return .success(PyTorchReference(python: python, script: script))
    }

    /// Training and inference samples/s of `architecture` ("resnet18" or "small") at `batch`, on `threads` threads.
    public func measure(architecture: String, batch: Int, threads: Int) throws -> Figures {
        try run(["\(batch)", architecture, "\(threads)"], as: Figures.self)
    }

    public struct LayerFigures: Decodable, Sendable {
        public let version: String
        public let threads: Int
        /// GFLOP/s of each layer alone, forward and backward, by the layer's name.
        public let layers: [String: Double]
    }

    /// Each convolution layer alone in PyTorch, forward and backward, timed as
    /// `TensorBenchmarks.convolutions` times Chorus's: GFLOP/s by layer name.
    public func measureLayers(_ layers: [TensorBenchmarks.ConvolutionLayer], batch: Int, threads: Int) throws -> LayerFigures {
        try run(["\(batch)", "layers", "\(threads)", try TensorBenchmarks.json(layers)], as: LayerFigures.self)
    }

    /// Runs the script with `arguments` and decodes the JSON on its last line of output.
    private func run<Figures: Decodable>(_ arguments: [String], as: Figures.Type) throws -> Figures {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0, let last = text.split(separator: "\n").last,
              let figures = try? JSONDecoder().decode(Figures.self, from: Data(last.utf8)) else {
            throw BenchmarkError.referenceFailed("\(python) \(script) exited \(p.terminationStatus): \((errors + text).suffix(400))")
        }
        return figures
    }
}

public enum BenchmarkError: Error, CustomStringConvertible {
    case referenceMissing(String)
    case referenceFailed(String)

    public var description: String {
        switch self {
        case let .referenceMissing(why): return "PyTorch reference not measured: \(why)"
        case let .referenceFailed(why): return "PyTorch reference failed: \(why)"
        }
    }
}
