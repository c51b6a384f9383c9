import Foundation
import Model

/// Every parameter of a training run; saved as config.json in the run folder and in the model.
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    public var architecture: Architecture = .resnet18
    public var epochs = 20
    public var batchSize = 128
    public var learningRate: Float = 0.01
    public var optimizer: OptimizerKind = .sgd
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    /// Linear warm-up steps as a fraction of the run (at least one step), then cosine decay to 0.
    public var warmupFraction: Double = 0.05
    public var seed: UInt64 = 0
    public var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Single-target (softmax cross-entropy) or multi-target (BCE with logits).
    public var singleTarget = false
    public var preprocessing = Preprocessing()
    public var augmentation = AugmentationSettings()
    public var device = "auto"
    public var note: String? = nil
    /// Path of weights (safetensors, PyTorch names) to start from.
    public var initWeights: String? = nil
    /// Mark the finished models read-only.
    public var final = false

    public init() {}

    public var loss: LossKind { singleTarget ? .softmaxCrossEntropy : .bceWithLogits }

    public func validate() throws {
        guard epochs >= 1 else { throw PipelineError.invalidParameter("--epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw PipelineError.invalidParameter("--batch-size must be at least 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw PipelineError.invalidParameter("--learning-rate must be positive, got \(learningRate)") }
        guard workers >= 1 else { throw PipelineError.invalidParameter("--workers must be at least 1") }
        guard augmentation.overlayWeight.count == 2, augmentation.overlayWeight.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
            throw PipelineError.invalidParameter("--overlay-weight must lie in [0, 1]")
        }
        try preprocessing.validate()
    }
}
