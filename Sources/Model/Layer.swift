import Tensor

/// A trainable tensor with its gradient, named as in the common PyTorch definitions
/// (`layer1.0.conv1.weight`), so weights can be exchanged through safetensors files.
public final class Parameter {
    public let name: String
    public var value: Tensor
    public var gradient: Tensor?
    /// Where the backward pass writes this parameter's gradient (its place in the flat gradient
    /// buffer of `FlatParameters`), or nil to write a new tensor each step.
    public internal(set) var gradientDestination: Tensor?
    /// The flat buffers this parameter's value and gradient live in, if any.
    public internal(set) weak var flat: FlatParameters?
    public init(name: String, value: Tensor) { self.name = name; self.value = value }
}

/// A layer with an explicit forward and backward pass. `forward` caches what `backward` needs;
/// `backward` takes dL/dy, stores parameter gradients and returns dL/dx.
public protocol Layer: AnyObject {
    func forward(_ x: Tensor, training: Bool) throws -> Tensor
    func backward(_ dy: Tensor) throws -> Tensor
    /// Trainable parameters, depth first, with full names.
    var parameters: [Parameter] { get }
    /// Non-trainable state saved with the model (batch-norm running statistics).
    var buffers: [Parameter] { get }
}

extension Layer {
    public var buffers: [Parameter] { [] }
}

/// Deterministic host-side initialisation from the shared counter-based generator.
enum Initializer {
    /// Normal(0, std) values for parameter `name` of a model seeded with `seed`.
    static func normal(_ count: Int, std: Float, seed: UInt64, name: String) -> [Float] {
        let s = seed ^ stableHash(name)
        return (0..<count).map { i in
            let u1 = CounterRandom.uniform(seed: s, counter: 2 * UInt64(i)), u2 = CounterRandom.uniform(seed: s, counter: 2 * UInt64(i) + 1)
            return std * (-2 * logf(1 - u1)).squareRoot() * cosf(2 * Float.pi * u2)
        }
    }

    static func uniform(_ count: Int, bound: Float, seed: UInt64, name: String) -> [Float] {
        let s = seed ^ stableHash(name)
        return (0..<count).map { i in (2 * CounterRandom.uniform(seed: s, counter: UInt64(i)) - 1) * bound }
    }

    /// FNV-1a, stable across runs and platforms (unlike Hasher).
    static func stableHash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

import Foundation
