import Foundation
import Tensor

/// An optimizer updates parameters in place from their gradients and owns per-parameter state
/// (saved in checkpoints so a resumed run continues exactly).
public protocol Optimizer: AnyObject {
    var kind: OptimizerKind { get }
    /// Applies one update with this learning rate.
    func step(_ parameters: [Parameter], learningRate: Float) throws
    /// Named state tensors for checkpoints (`<param>.<slot>`), and the step count.
    func state(_ parameters: [Parameter]) throws -> [String: Tensor]
    func loadState(_ state: [String: [Float]], parameters: [Parameter]) throws
    var stepCount: Int { get set }
}

public enum OptimizerKind: String, Codable, CaseIterable, Sendable { case sgd, adamw }

/// SGD with momentum and L2 weight decay (PyTorch semantics). Over `FlatParameters` the state is
/// flat too and a step is one launch; otherwise one per parameter.
public final class SGD: Optimizer {
    public let kind = OptimizerKind.sgd
    public var momentum: Float, weightDecay: Float
    public var stepCount = 0
    /// Per parameter (views of `flatVelocity` when the parameters are flat).
    private var velocity: [String: Tensor] = [:]
    private var flatVelocity: Tensor?

    public init(momentum: Float = 0.9, weightDecay: Float = 5e-4) { self.momentum = momentum; self.weightDecay = weightDecay }

    /// Lays the state out like flat parameters, keeping what it already holds.
    private func prepare(_ parameters: [Parameter]) throws {
        guard flatVelocity == nil, let flat = FlatParameters.shared(by: parameters) else { return }
        let state = try flat.makeState()
        for (name, v) in velocity { try state.views[name]?.assign(v) }
        velocity = state.views
        flatVelocity = state.flat
    }

    public func step(_ parameters: [Parameter], learningRate: Float) throws {
        try prepare(parameters)
        if let flat = FlatParameters.shared(by: parameters), flat.gradientsInPlace, let flatVelocity {
            try Ops.sgdUpdate(weight: flat.values, gradient: flat.gradients, velocity: flatVelocity,
                              learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        } else {
            for p in parameters {
                guard let g = p.gradient else { continue }
                let v = try velocity[p.name] ?? { let t = try Tensor.zeros(p.value.shape, on: p.value.device); velocity[p.name] = t; return t }()
                try Ops.sgdUpdate(weight: p.value, gradient: g, velocity: v, learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
            }
        }
        stepCount += 1
    }

    public func state(_ parameters: [Parameter]) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for p in parameters { if let v = velocity[p.name] { out[p.name + ".momentum_buffer"] = v } }
        return out
    }

    public func loadState(_ state: [String: [Float]], parameters: [Parameter]) throws {
        try prepare(parameters)
        for p in parameters {
            guard let v = state[p.name + ".momentum_buffer"] else { continue }
            if let existing = velocity[p.name] { try existing.upload(v) } else { velocity[p.name] = try Tensor(v, shape: p.value.shape, on: p.value.device) }
        }
    }
}

/// AdamW: Adam with decoupled weight decay. Over `FlatParameters` the moments are flat too and a
/// step is one launch; otherwise one per parameter.
public final class AdamW: Optimizer {
    public let kind = OptimizerKind.adamw
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public var stepCount = 0
    /// Per parameter (views of `flatMoments` when the parameters are flat).
    private var moments: [String: (Tensor, Tensor)] = [:]
    private var flatMoments: (Tensor, Tensor)?

    public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
    }

    /// Lays the state out like flat parameters, keeping what it already holds.
    private func prepare(_ parameters: [Parameter]) throws {
        guard flatMoments == nil, let flat = FlatParameters.shared(by: parameters) else { return }
        let first = try flat.makeState(), second = try flat.makeState()
        var views: [String: (Tensor, Tensor)] = [:]
        for p in parameters {
            guard let m = first.views[p.name], let v = second.views[p.name] else { continue }
            if let (oldM, oldV) = moments[p.name] { try m.assign(oldM); try v.assign(oldV) }
            views[p.name] = (m, v)
        }
        moments = views
        flatMoments = (first.flat, second.flat)
    }

    public func step(_ parameters: [Parameter], learningRate: Float) throws {
        try prepare(parameters)
        stepCount += 1
        if let flat = FlatParameters.shared(by: parameters), flat.gradientsInPlace, let (m, v) = flatMoments {
            try Ops.adamwUpdate(weight: flat.values, gradient: flat.gradients, firstMoment: m, secondMoment: v, step: stepCount,
                                learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
            return
        }
        for p in parameters {
            guard let g = p.gradient else { continue }
            let mv = try moments[p.name] ?? {
                let t = (try Tensor.zeros(p.value.shape, on: p.value.device), try Tensor.zeros(p.value.shape, on: p.value.device))
                moments[p.name] = t
                return t
            }()
            try Ops.adamwUpdate(weight: p.value, gradient: g, firstMoment: mv.0, secondMoment: mv.1, step: stepCount,
                                learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
        }
    }

    public func state(_ parameters: [Parameter]) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for p in parameters { if let (m, v) = moments[p.name] { out[p.name + ".exp_avg"] = m; out[p.name + ".exp_avg_sq"] = v } }
        return out
    }

    public func loadState(_ state: [String: [Float]], parameters: [Parameter]) throws {
        try prepare(parameters)
        for p in parameters {
            guard let m = state[p.name + ".exp_avg"], let v = state[p.name + ".exp_avg_sq"] else { continue }
            if let (em, ev) = moments[p.name] { try em.upload(m); try ev.upload(v) }
            else { moments[p.name] = (try Tensor(m, shape: p.value.shape, on: p.value.device), try Tensor(v, shape: p.value.shape, on: p.value.device)) }
        }
    }
}

/// Cosine decay over the whole run after a linear warm-up: lr(t) for step t of `totalSteps`.
public struct CosineSchedule: Codable, Sendable, Equatable {
    public var baseLearningRate: Float
    public var totalSteps: Int
    public var warmupSteps: Int
    public var minimumLearningRate: Float

    public init(baseLearningRate: Float, totalSteps: Int, warmupSteps: Int, minimumLearningRate: Float = 0) {
        self.baseLearningRate = baseLearningRate; self.totalSteps = max(1, totalSteps)
        self.warmupSteps = max(0, min(warmupSteps, totalSteps)); self.minimumLearningRate = minimumLearningRate
    }

    public func learningRate(step: Int) -> Float {
        if step < warmupSteps { return baseLearningRate * Float(step + 1) / Float(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let t = min(1, Double(step - warmupSteps) / Double(span))
        return minimumLearningRate + (baseLearningRate - minimumLearningRate) * Float(0.5 * (1 + cos(Double.pi * t)))
    }
}
