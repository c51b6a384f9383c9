import Foundation
import Kernels
@testable import Model
import Tensor
import TestSupport
import XCTest

final class ModelTests: XCTestCase {
    static let opencl: Device? = {
        do { return try Device.select("opencl") } catch {
            if ProcessInfo.processInfo.environment["CI"] != nil { fatalError("OpenCL required under CI: \(error)") }
            return nil
        }
    }()

    /// A 10-step training loop of a tiny conv net on a fixed random batch: the loss falls, and
    /// the CPU fallback and the OpenCL device give the same curve.
    func testTinyConvNetTrainsIdenticallyOnBothDevices() throws {
        var devices = [Device.cpu]
        if let cl = ModelTests.opencl { devices.append(cl) }
        var rng = TestRNG(seed: 7)
        let x = rng.uniform(8 * 1 * 16 * 16)
        var y = [Float](repeating: 0, count: 8 * 3)
        for i in 0..<8 { y[i * 3 + i % 3] = 1; if i % 4 == 0 { y[i * 3 + (i + 1) % 3] = 1 } }
        var curves: [[Float]] = []
        for device in devices {
            let net = Sequential([
                try Conv2d("c1", inChannels: 1, outChannels: 4, kernel: 3, stride: 1, padding: 1, bias: true, device: device, seed: 1),
                try BatchNorm2d("b1", channels: 4, device: device), ReLU(), MaxPool2d(kernel: 2, stride: 2),
                try Conv2d("c2", inChannels: 4, outChannels: 8, kernel: 3, stride: 2, padding: 1, device: device, seed: 1),
                ReLU(), GlobalAvgPool(),
                try Linear("fc", inFeatures: 8, outFeatures: 3, device: device, seed: 1),
            ])
            let opt = SGD(momentum: 0.9, weightDecay: 5e-4)
            let xt = try Tensor(x, shape: [8, 1, 16, 16], on: device), yt = try Tensor(y, shape: [8, 3], on: device)
            var losses: [Float] = []
            for _ in 0..<10 {
                let logits = try net.forward(xt, training: true)
                let (loss, grad) = try LossKind.bceWithLogits.compute(logits: logits, targets: yt)
                _ = try net.backward(grad)
                try opt.step(net.parameters, learningRate: 0.03)
                losses.append(loss)
            }
            XCTAssertLessThan(losses.last!, losses.first! - 0.05, "loss falls on \(device.identifier): \(losses)")
            curves.append(losses)
        }
        if curves.count == 2 {
            for (a, b) in zip(curves[0], curves[1]) { XCTAssertEqual(a, b, accuracy: 1e-4, "loss curves differ: \(curves)") }
        }
    }

    /// With the parameters in flat buffers, training takes the same steps, bit for bit, as with one
    /// tensor per parameter (SGD and AdamW, both devices: the same kernels on the same numbers); on
    /// OpenCL an optimizer step is one launch; and an optimizer's saved state restores into the flat
    /// layout, continuing the same run bit for bit.
    func testFlatParametersTrainLikeSeparateOnesInOneUpdateLaunch() throws {
        var devices = [Device.cpu]
        if let cl = ModelTests.opencl { devices.append(cl) }
        func assertSame(_ a: Tensor, _ b: Tensor, _ message: String) throws {
            let (u, v) = (try a.toArray(), try b.toArray())
            let worst = zip(u, v).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            XCTAssertTrue(u.count == v.count && worst == 0, "\(message): differs by \(worst)")
        }
        var rng = TestRNG(seed: 11)
        let x = rng.uniform(6 * 1 * 12 * 12)
        var y = [Float](repeating: 0, count: 6 * 3)
        for i in 0..<6 { y[i * 3 + i % 3] = 1 }
        for device in devices {
            for kind in OptimizerKind.allCases {
                func network() throws -> Sequential {
                    Sequential([
                        try Conv2d("c1", inChannels: 1, outChannels: 4, kernel: 3, stride: 1, padding: 1, bias: true, device: device, seed: 3),
                        try BatchNorm2d("b1", channels: 4, device: device), ReLU(),
                        try Conv2d("c2", inChannels: 4, outChannels: 6, kernel: 3, stride: 2, padding: 1, device: device, seed: 3),
                        ReLU(), GlobalAvgPool(),
                        try Linear("fc", inFeatures: 6, outFeatures: 3, device: device, seed: 3),
                    ])
                }
                func optimizer() -> Optimizer { kind == .sgd ? SGD(momentum: 0.9, weightDecay: 5e-4) : AdamW(weightDecay: 5e-4) }
                let xt = try Tensor(x, shape: [6, 1, 12, 12], on: device), yt = try Tensor(y, shape: [6, 3], on: device)
                func train(_ net: Sequential, _ opt: Optimizer, steps: Int) throws {
                    for _ in 0..<steps {
                        let (_, grad) = try LossKind.bceWithLogits.compute(logits: try net.forward(xt, training: true), targets: yt)
                        _ = try net.backward(grad)
                        try opt.step(net.parameters, learningRate: 0.02)
                    }
                }
                let label = "\(kind.rawValue) on \(device.identifier)"
                let separate = try network(), separateOpt = optimizer()
                try train(separate, separateOpt, steps: 4)
                let flatNet = try network(), flatOpt = optimizer()
                let flat = try FlatParameters(flatNet.parameters)
                XCTAssertTrue(flatNet.parameters.allSatisfy { $0.flat === flat && $0.value.storage !== flat.values.storage }, label)
                try train(flatNet, flatOpt, steps: 4)
                XCTAssertTrue(flat.gradientsInPlace, "backward wrote every gradient into the flat buffer (\(label))")
                for (p, q) in zip(separate.parameters, flatNet.parameters) {
                    try assertSame(q.value, p.value, "\(p.name) after 4 steps, \(label)")
                }
                if case let .opencl(context) = device.kind {
                    _ = try flatNet.backward(try LossKind.bceWithLogits.compute(logits: try flatNet.forward(xt, training: true), targets: yt).gradient)
                    context.startKernelProfile()
                    try flatOpt.step(flatNet.parameters, learningRate: 0.02)
                    let launches = try context.stopKernelProfile().entries
                    XCTAssertEqual(launches.map(\.launches), [1], "one update launch for \(flatNet.parameters.count) parameters: \(launches.map(\.kernel))")
                    try train(separate, separateOpt, steps: 1)
                }
                // Save both after the same steps, restore the flat run's state into a new flat
                // network and optimizer, and take two more steps on each: the same parameters.
                let saved = try flatOpt.state(flatNet.parameters).mapValues { try $0.toArray() }
                XCTAssertEqual(saved.count, flatNet.parameters.count * (kind == .sgd ? 1 : 2), "every parameter's state, \(label)")
                let resumed = try network(), resumedOpt = optimizer()
                let resumedFlat = try FlatParameters(resumed.parameters)
                for (p, q) in zip(flatNet.parameters, resumed.parameters) { try q.value.upload(try p.value.toArray()) }
                for b in zip(flatNet.buffers, resumed.buffers) { try b.1.value.upload(try b.0.value.toArray()) }
                try resumedOpt.loadState(saved, parameters: resumed.parameters)
                resumedOpt.stepCount = flatOpt.stepCount
                try train(flatNet, flatOpt, steps: 2)
                try train(resumed, resumedOpt, steps: 2)
                XCTAssertTrue(resumedFlat.gradientsInPlace, label)
                for (p, q) in zip(flatNet.parameters, resumed.parameters) {
                    try assertSame(q.value, p.value, "\(p.name) after resuming, \(label)")
                }
            }
        }
    }

    /// Inference runs each bias-free convolution, its batch norm and ReLU as one convolution; the
    /// networks give what their layers give one by one.
    func testFusedInferenceEqualsTheLayersOneByOne() throws {
        var devices = [Device.cpu]
        if let cl = ModelTests.opencl { devices.append(cl) }
        for device in devices {
            for architecture in [Architecture.small, .resnet18] {
                let net = try Network(architecture: architecture, classes: 3, device: device, seed: 4)
                // Trained-looking batch-norm statistics, so the folding has something to fold.
                for (k, b) in net.buffers.enumerated() {
                    let v = (0..<b.value.count).map { i in Float(sin(Double(i + k))) * 0.5 + (b.name.hasSuffix("running_var") ? 1 : 0) }
                    b.value = try Tensor(v, shape: b.value.shape, on: device)
                }
                let x = try Ops.randomUniform([2, 1, 64, 64], seed: 9, low: -1, high: 1, on: device)
                let fused = try net.forward(x, training: false).toArray()
                let body = net.body
                var h = x
                for layer in body.layers {
                    if let block = layer as? BasicBlock {
                        var g = try block.conv1.forward(h, training: false)
                        g = try block.bn1.forward(g, training: false)  // with the block's first ReLU (bn1.relu)
                        XCTAssertTrue(block.bn1.relu)
                        g = try block.bn2.forward(try block.conv2.forward(g, training: false), training: false)
                        var identity = h
                        if let d = block.downsample { identity = try d.layers[1].forward(try d.layers[0].forward(h, training: false), training: false) }
                        h = try Ops.reluForward(try Ops.add(g, identity))
                    } else if let seq = layer as? Sequential {
                        XCTFail("nested \(seq)")
                    } else {
                        h = try layer.forward(h, training: false)
                    }
                }
                let apart = try h.toArray()
                XCTAssertEqual(fused.count, apart.count)
                let worst = zip(fused, apart).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-4, "\(architecture.rawValue) on \(device.identifier)")
            }
        }
    }

    func testResNet18StructureNamesAndShapes() throws {
        let net = try Network(architecture: .resnet18, classes: 5, device: .cpu, seed: 3)
        let names = net.namedTensors.map(\.name)
        for expected in ["conv1.weight", "bn1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                         "layer2.0.downsample.1.running_mean", "layer4.1.bn2.bias", "fc.weight", "fc.bias"] {
            XCTAssertTrue(names.contains(expected), "missing \(expected)")
        }
        XCTAssertFalse(names.contains("layer1.0.downsample.0.weight"), "layer1 keeps the identity")
        let count = net.parameters.reduce(0) { $0 + $1.value.count }
        // torchvision resnet18 has 11,689,512 parameters with 3 input channels and 1000 classes;
        // 1 channel removes 2*64*49 and a 5-class head removes 995*513.
        XCTAssertEqual(count, 11_689_512 - 2 * 64 * 49 - 995 * 513)
        XCTAssertEqual(try net.exportWeights().tensors["conv1.weight"]!.shape, [64, 1, 7, 7])
        let out = try net.forward(try Tensor.zeros([2, 1, 64, 64], on: .cpu), training: false)
        XCTAssertEqual(out.shape, [2, 5])
    }

    func testSmallNetworkBackwardProducesEveryGradient() throws {
        let net = try Network(architecture: .small, classes: 2, device: .cpu, seed: 1)
        let x = try Ops.randomUniform([3, 1, 64, 64], seed: 9, on: .cpu)
        let logits = try net.forward(x, training: true)
        let (_, g) = try LossKind.softmaxCrossEntropy.compute(logits: logits, targets: try Tensor([1, 0, 0, 1, 1, 0], shape: [3, 2], on: .cpu))
        _ = try net.backward(g)
        for p in net.parameters {
            XCTAssertEqual(p.gradient?.shape, p.value.shape, p.name)
        }
    }

    func testSafeTensorsRoundTripAndWeightLoading() throws {
        let dir = makeTemporaryDirectory()
        let a = try Network(architecture: .small, classes: 3, device: .cpu, seed: 1)
        var file = try a.exportWeights()
        file.metadata = ["classes": "[\"a\",\"b\",\"c\"]"]
        try file.write(to: dir + "/w.safetensors")
        let back = try SafeTensorsFile.read(dir + "/w.safetensors")
        XCTAssertEqual(back.metadata["classes"], "[\"a\",\"b\",\"c\"]")
        let b = try Network(architecture: .small, classes: 3, device: .cpu, seed: 2)
        XCTAssertNotEqual(try b.parameters[0].value.toArray(), try a.parameters[0].value.toArray())
        try b.loadWeights(back)
        for (p, q) in zip(a.namedTensors, b.namedTensors) { XCTAssertEqual(try p.value.toArray(), try q.value.toArray(), p.name) }
        // A head of another size is reported by name with both shapes.
        let c = try Network(architecture: .small, classes: 4, device: .cpu, seed: 2)
        XCTAssertThrowsError(try c.loadWeights(back)) { e in
            XCTAssertTrue("\(e)".contains("fc.weight: file [3, 64], model [4, 64]"), "\(e)")
        }
        // Missing tensors are listed.
        var partial = back
        partial.tensors["features.0.weight"] = nil
        XCTAssertThrowsError(try b.loadWeights(partial)) { XCTAssertTrue("\($0)".contains("missing tensors: features.0.weight"), "\($0)") }
        // Corrupt file.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/bad.safetensors"))
        XCTAssertThrowsError(try SafeTensorsFile.read(dir + "/bad.safetensors")) { XCTAssertTrue("\($0)".contains("bad.safetensors")) }
    }

    func testThreeChannelFirstConvIsAveraged() throws {
        let net = try Network(architecture: .small, classes: 2, device: .cpu, seed: 1)
        var file = try net.exportWeights()
        let w = (0..<(16 * 3 * 25)).map { Float($0 % 7) }
        file.tensors["features.0.weight"] = ([16, 3, 5, 5], w)
        try net.loadWeights(file)
        let loaded = try net.parameters[0].value.toArray()
        XCTAssertEqual(loaded[0], (w[0] + w[25] + w[50]) / 3, accuracy: 1e-6)
        XCTAssertEqual(loaded[16 * 25 - 1], (w[3 * 25 * 15 + 24] + w[3 * 25 * 15 + 49] + w[3 * 25 * 15 + 74]) / 3, accuracy: 1e-6)
    }

    func testCosineScheduleWarmsUpAndDecays() {
        let s = CosineSchedule(baseLearningRate: 0.01, totalSteps: 100, warmupSteps: 10)
        XCTAssertEqual(s.learningRate(step: 0), 0.001, accuracy: 1e-7)
        XCTAssertEqual(s.learningRate(step: 9), 0.01, accuracy: 1e-7)
        XCTAssertEqual(s.learningRate(step: 55), 0.005, accuracy: 1e-4)
        XCTAssertEqual(s.learningRate(step: 100), 0, accuracy: 1e-7)
        XCTAssertTrue((10..<99).allSatisfy { s.learningRate(step: $0) >= s.learningRate(step: $0 + 1) })
    }
}
