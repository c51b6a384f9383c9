import ChorusCore
import Foundation
import Tensor

/// Saving and loading a network's named tensors (parameters and batch-norm buffers).
extension Network {
    /// The tensors as a safetensors file (values copied to the host).
    public func exportWeights() throws -> SafeTensorsFile {
        var file = SafeTensorsFile()
        for p in namedTensors { file.add(p.name, shape: p.value.shape, values: try p.value.toArray()) }
        return file
    }

    /// Loads tensors by name. With `strict`, every model tensor must be present with the right
    /// shape; otherwise missing ones keep their initial values. A 3-channel first convolution is
    /// averaged down to the model's 1 channel (ImageNet weights). Extra tensors (e.g. PyTorch's
    /// `num_batches_tracked`, or another head) are ignored. Throws a `ModelError.weightsMismatch`
    /// listing every missing or mismatched tensor.
    @discardableResult
    public func loadWeights(_ file: SafeTensorsFile, strict: Bool = true, skipping skip: Set<String> = []) throws -> (loaded: [String], skipped: [String]) {
        var missing: [String] = [], wrong: [String] = [], loaded: [String] = [], skipped: [String] = []
        var pending: [(Parameter, [Float])] = []
        for p in namedTensors {
            if skip.contains(p.name) { skipped.append(p.name); continue }
            guard var t = file.tensors[p.name] else { missing.append(p.name); continue }
            if t.shape != p.value.shape, t.shape.count == 4, p.value.shape.count == 4, t.shape[1] == 3, p.value.shape[1] == 1,
               t.shape[0] == p.value.shape[0], t.shape[2] == p.value.shape[2], t.shape[3] == p.value.shape[3] {
                t = (p.value.shape, Network.averageInputChannels(t.values, shape: t.shape))
            }
            guard t.shape == p.value.shape else { wrong.append("\(p.name): file \(t.shape), model \(p.value.shape)"); continue }
            pending.append((p, t.values))
        }
        if !wrong.isEmpty || (strict && !missing.isEmpty) {
            let known = Set(namedTensors.map(\.name))
            let unexpected = file.tensors.keys.filter { !known.contains($0) && !$0.hasSuffix("num_batches_tracked") }.sorted()
            throw ModelError.weightsMismatch(missing: missing, unexpected: Array(unexpected.prefix(20)), wrongShape: wrong)
        }
        for (p, values) in pending {
            try p.value.upload(values)
            loaded.append(p.name)
        }
        return (loaded, skipped + missing)
    }

    /// [O, 3, KH, KW] -> [O, 1, KH, KW] by averaging the input channels.
    static func averageInputChannels(_ v: [Float], shape: [Int]) -> [Float] {
        let (o, c, plane) = (shape[0], shape[1], shape[2] * shape[3])
        var out = [Float](repeating: 0, count: o * plane)
        for i in 0..<o { for ch in 0..<c { for j in 0..<plane { out[i * plane + j] += v[(i * c + ch) * plane + j] / Float(c) } } }
        return out
    }
}
