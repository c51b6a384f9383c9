import Tensor

/// The network architectures Chorus trains.
public enum Architecture: String, Codable, CaseIterable, Sendable {
    /// ResNet18 with the common PyTorch layer structure and parameter names, 1 input channel.
    case resnet18
    /// A small, fast CNN for quick runs: three conv-bn-relu stages, global pooling, linear head.
    case small
}

/// A classifier network: a body of layers ending in logits [N, classes].
public final class Network: Layer {
    public let architecture: Architecture
    public let inputChannels: Int
    public let classCount: Int
    let body: Sequential

    public init(architecture: Architecture, classes: Int, inputChannels: Int = 1, device: Device, seed: UInt64 = 0) throws {
        guard classes >= 1 else { throw ModelError.invalidConfiguration("a classifier needs at least one class") }
        self.architecture = architecture
        self.classCount = classes
        self.inputChannels = inputChannels
        switch architecture {
        case .resnet18: body = try Network.resnet18(classes: classes, inputChannels: inputChannels, device: device, seed: seed)
        case .small: body = try Network.smallCNN(classes: classes, inputChannels: inputChannels, device: device, seed: seed)
        }
        // The first convolution's input gradient is never used.
        (body.layers.first as? Conv2d)?.needInputGradient = false
    }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == inputChannels else {
            throw TensorError.invalidShape(op: "\(architecture.rawValue) forward", shape: x.shape, expected: "[N, \(inputChannels), H, W]")
        }
        return try body.forward(x, training: training)
    }

    public func backward(_ dy: Tensor) throws -> Tensor { try body.backward(dy) }
    public var parameters: [Parameter] { body.parameters }
    /// The parameters in flat buffers (`flattenParameters`), as training wants them.
    public private(set) var flatParameters: FlatParameters?

    /// Moves the parameters into flat value and gradient buffers (`FlatParameters`), so an
    /// optimizer step is one launch. Once is enough; the numbers are unchanged.
    public func flattenParameters() throws {
        if flatParameters == nil { flatParameters = try FlatParameters(parameters) }
    }
    public var buffers: [Parameter] { body.buffers }

    /// Every named tensor (parameters and buffers), as saved in model files.
    public var namedTensors: [Parameter] { parameters + buffers }

    static func resnet18(classes: Int, inputChannels: Int, device: Device, seed: UInt64) throws -> Sequential {
        var layers: [Layer] = [
            try Conv2d("conv1", inChannels: inputChannels, outChannels: 64, kernel: 7, stride: 2, padding: 3, device: device, seed: seed),
            try BatchNorm2d("bn1", channels: 64, relu: true, device: device),
            MaxPool2d(kernel: 3, stride: 2, padding: 1),
        ]
        var inC = 64
        for (stage, (outC, stride)) in [(64, 1), (128, 2), (256, 2), (512, 2)].enumerated() {
            for block in 0..<2 {
                layers.append(try BasicBlock("layer\(stage + 1).\(block)", inChannels: inC, outChannels: outC,
                                             stride: block == 0 ? stride : 1, device: device, seed: seed))
                inC = outC
            }
        }
        layers.append(GlobalAvgPool())
        layers.append(try Linear("fc", inFeatures: 512, outFeatures: classes, device: device, seed: seed))
        return Sequential(layers)
    }

    static func smallCNN(classes: Int, inputChannels: Int, device: Device, seed: UInt64) throws -> Sequential {
        Sequential([
            try Conv2d("features.0", inChannels: inputChannels, outChannels: 16, kernel: 5, stride: 2, padding: 2, device: device, seed: seed),
            try BatchNorm2d("features.1", channels: 16, relu: true, device: device), MaxPool2d(kernel: 2, stride: 2),
            try Conv2d("features.4", inChannels: 16, outChannels: 32, kernel: 3, stride: 1, padding: 1, device: device, seed: seed),
            try BatchNorm2d("features.5", channels: 32, relu: true, device: device), MaxPool2d(kernel: 2, stride: 2),
            try Conv2d("features.8", inChannels: 32, outChannels: 64, kernel: 3, stride: 1, padding: 1, device: device, seed: seed),
            try BatchNorm2d("features.9", channels: 64, relu: true, device: device), MaxPool2d(kernel: 2, stride: 2),
            try Conv2d("features.12", inChannels: 64, outChannels: 64, kernel: 3, stride: 1, padding: 1, device: device, seed: seed),
            try BatchNorm2d("features.13", channels: 64, relu: true, device: device),
            GlobalAvgPool(),
            try Linear("fc", inFeatures: 64, outFeatures: classes, device: device, seed: seed),
        ])
    }
}

/// The training loss, chosen by the label type.
public enum LossKind: String, Codable, Sendable {
    /// Binary cross-entropy with logits: any number of positive classes per sample.
    case bceWithLogits = "bce"
    /// Softmax cross-entropy: exactly one positive class per sample.
    case softmaxCrossEntropy = "cross_entropy"

    public func compute(logits: Tensor, targets: Tensor) throws -> (loss: Float, gradient: Tensor) {
        switch self {
        case .bceWithLogits: return try Ops.bceWithLogits(logits: logits, targets: targets)
        case .softmaxCrossEntropy: return try Ops.softmaxCrossEntropy(logits: logits, targets: targets)
        }
    }

    /// The mean loss as a one-element tensor left on the device (nothing is read back), and the gradient.
    public func computeOnDevice(logits: Tensor, targets: Tensor) throws -> (loss: Tensor, gradient: Tensor) {
        switch self {
        case .bceWithLogits: return try Ops.bceWithLogitsOnDevice(logits: logits, targets: targets)
        case .softmaxCrossEntropy: return try Ops.softmaxCrossEntropyOnDevice(logits: logits, targets: targets)
        }
    }
}
