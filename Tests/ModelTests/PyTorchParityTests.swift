import Foundation
import Kernels
import Model
import Tensor
import TestSupport
import XCTest

/// Whole-model parity with PyTorch, as llm.c checks its model against a reference: ResNet18 and
/// the small CNN, with the same weights and batch as `Benchmarks/reference/pytorch_parity.py`
/// (which wrote `Fixtures/parity-*.json` from PyTorch in float64), must give the same logits,
/// losses (BCE-with-logits multi-target and softmax cross-entropy single-target), parameter
/// gradients, weights and batch-norm running statistics after 3 SGD and 3 AdamW steps (one
/// learning rate per step from `CosineSchedule`), and evaluation-mode logits. Checked on the CPU
/// fallback and on the OpenCL device.
///
/// Weights and inputs are not stored: both sides generate them from the counter-based formula in
/// `ParityFormula`. The error of a tensor is `||a - b|| / ||b||` (b: PyTorch). Small tensors are
/// stored whole and compared exactly that way. Large ones are stored as a summary; for those the
/// test checks the L2 norm (`| ||a|| - ||b|| | / ||b||`), the sum (`|Σa - Σb| / Σ|b|`, so sums
/// that cancel to near zero are not over-weighted), `||a - b|| / ||b||` estimated from 16 random
/// ±1 projections of the whole tensor (`sqrt(mean_j (r_j·a - r_j·b)²)`, an unbiased estimate of
/// `||a - b||²`), all within `relativeTolerance`; and 32 elements at fixed indices, whose error is
/// taken relative to the tensor's largest magnitude (`|a_i - b_i| / max|b|` within
/// `elementTolerance`), since gradient elements near zero make elementwise relative error
/// meaningless. Separately, `testOptimizersMatchPyTorch` checks the optimizers' updates alone to
/// 1e-5 (in the whole-model runs a wrong weight decay would move the weights by less than 1e-4).
/// Images are odd and non-square (67x93, 61x93) so that border padding, floor rounding of strided
/// sizes and any height/width mix-up show; the cross-entropy runs also force chunked convolutions.
/// Set PARITY_DUMP=DIR to write every compared tensor in full (safetensors) for
/// `pytorch_parity.py --compare DIR`, which reports exact errors.
final class PyTorchParityTests: XCTestCase {
    static let opencl: Device? = {
        do { return try Device.select("opencl") } catch {
            if ProcessInfo.processInfo.environment["CI"] != nil { fatalError("OpenCL required under CI: \(error)") }
            print("note: no OpenCL device (\(error)); parity is checked on the CPU only")
            return nil
        }
    }()

    /// One step (logits, loss, gradients, evaluation): within 1e-4, relative and of max|b| per
    /// element. After the four training steps (the weights and running statistics of the `sgd.`
    /// and `adamw.` runs) float32 itself is about that far from the float64 reference: PyTorch's
    /// own float32 ResNet18 run is 1.03e-4 max|b| off in an SGD weight and 7.8e-5 (relative) /
    /// 1.2e-4 (element) in a running mean (`pytorch_parity.py`, torch 2.11), and any other
    /// summation order (a GPU's reductions, split-K) lands at the same distance. Those get 3e-4
    /// relative and 5e-4 per element.
    static func relativeTolerance(_ key: String) -> Double { isAfterTraining(key) ? 3e-4 : 1e-4 }
    /// Sampled elements: as above, except in the AdamW runs, where `1e-2 max|b|`: AdamW's first
    /// steps are close to lr * sign(g), so the few weights (up to 4 in 100,000) whose gradient
    /// element is within float32 rounding of zero move by up to 2 lr either way (PyTorch float32
    /// against float64 alike: up to 1.6e-3 max|b|). Their share of the L2 error is what
    /// `relativeTolerance` bounds.
    static func elementTolerance(_ key: String) -> Double { key.contains(" adamw.") ? 1e-2 : isAfterTraining(key) ? 5e-4 : 1e-4 }
    static func isAfterTraining(_ key: String) -> Bool { key.contains(" sgd.") || key.contains(" adamw.") }

    static var devices: [Device] { [Device.cpu] + (opencl.map { [$0] } ?? []) }

    func testResNet18MatchesPyTorch() throws { try checkParity("resnet18") }
    func testSmallCNNMatchesPyTorch() throws { try checkParity("small") }

    /// SGD and AdamW alone, on one parameter with given gradients (magnitudes 1e-8..1 and zeros)
    /// and a changing learning rate: each step's total update `w_k - w_0` must be PyTorch's to
    /// `||Δa - Δb|| / ||Δb|| <= 1e-5`. This is the tight check of the optimizers' arithmetic
    /// (momentum, weight-decay placement, bias correction, eps): in the whole-model runs a wrong
    /// weight decay would change the weights by less than 1e-4.
    func testOptimizersMatchPyTorch() throws {
        let url = SourceTree.tests.appendingPathComponent("ModelTests/Fixtures/parity-optimizers.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let f = try decoder.decode(OptimizerParityFixture.self, from: try Data(contentsOf: url))
        for device in Self.devices {
            for name in ["sgd", "adamw"] {
                let run = name == "sgd" ? f.sgd : f.adamw
                let optimizer: Optimizer = name == "sgd"
                    ? SGD(momentum: try XCTUnwrap(run.momentum), weightDecay: run.weightDecay)
                    : AdamW(beta1: try XCTUnwrap(run.beta1), beta2: try XCTUnwrap(run.beta2), eps: try XCTUnwrap(run.eps), weightDecay: run.weightDecay)
                let p = Parameter(name: "w", value: try Tensor(f.weight, shape: f.shape, on: device))
                let schedule = CosineSchedule(baseLearningRate: run.baseLr, totalSteps: f.schedule.totalSteps, warmupSteps: f.schedule.warmupSteps)
                var report: [String] = []
                for (k, step) in f.schedule.steps.enumerated() {
                    let lr = schedule.learningRate(step: step)
                    XCTAssertEqual(lr, run.rates[k], "CosineSchedule step \(step)")
                    p.gradient = try Tensor(f.gradients[k], shape: f.shape, on: device)
                    try optimizer.step([p], learningRate: lr)
                    let a = try p.value.toArray(), b = run.after[k]
                    var d2 = 0.0, u2 = 0.0, dmax = 0.0, umax = 0.0
                    for i in 0..<a.count {
                        let ua = Double(a[i]) - Double(f.weight[i]), ub = b[i] - Double(f.weight[i])
                        d2 += (ua - ub) * (ua - ub); u2 += ub * ub
                        dmax = max(dmax, abs(ua - ub)); umax = max(umax, abs(ub))
                    }
                    let rel = d2.squareRoot() / max(u2.squareRoot(), 1e-30)
                    report.append(String(format: "%.2e/%.2e", rel, dmax / max(umax, 1e-30)))
                    XCTAssertLessThanOrEqual(rel, 1e-5, "\(name) on \(device.identifier): update after step \(k + 1) is \(rel) from PyTorch's")
                }
                print("parity \(name) alone on \(device.identifier): update rel/max-elementwise after steps 1-3: " + report.joined(separator: ", "))
            }
        }
    }

    func checkParity(_ architectureName: String) throws {
        let fixture = try ParityFixture.load(architectureName)
        XCTAssertEqual(fixture.baseSeed, String(format: "%016llx", ParityFormula.baseSeed))
        XCTAssertEqual(fixture.projectionSeed, String(format: "%016llx", ParitySketch.seed))
        let architecture = try XCTUnwrap(Architecture(rawValue: fixture.architecture))
        let (n, h, w) = (fixture.inputShape[0], fixture.inputShape[2], fixture.inputShape[3])
        let classes = fixture.classes

        // The generated inputs, labels and weights must be PyTorch's, bit for bit.
        let x = ParityFormula.values("input", count: n * h * w, offset: 0, scale: 1)
        let multi = (0..<(n * classes)).map { ParityFormula.uniform("labels.multi", $0) < 0.4 ? Float(1) : 0 }
        let single = (0..<n).map { min(Int(ParityFormula.uniform("labels.single", $0) * Double(classes)), classes - 1) }
        var oneHot = [Float](repeating: 0, count: n * classes)
        for (i, c) in single.enumerated() { oneHot[i * classes + c] = 1 }
        XCTAssertEqual(x.reduce(0.0) { $0 + Double($1) }, fixture.generatorCheck.inputSum, accuracy: 1e-9)
        XCTAssertEqual(Int(multi.reduce(0, +)), fixture.generatorCheck.multiPositives)
        XCTAssertEqual(single, fixture.generatorCheck.single)

        for device in Self.devices {
            let started = Date()
            let net = try Network(architecture: architecture, classes: classes, device: device)
            XCTAssertEqual(net.namedTensors.map(\.name), fixture.tensors.map(\.name), "tensor names and order")
            XCTAssertEqual(net.namedTensors.map(\.value.shape), fixture.tensors.map(\.shape), "tensor shapes")
            let fcIn = try XCTUnwrap(net.parameters.first { $0.name == "fc.weight" }).value.shape[1]
            let initial = net.namedTensors.map { p in ParityFormula.initialValues(p.name, shape: p.value.shape, fcIn: fcIn) }
            XCTAssertEqual(initial.reduce(0.0) { $0 + $1.reduce(0.0) { $0 + Double($1) } }, fixture.generatorCheck.weightsSum,
                           accuracy: 1e-9 * max(1, abs(fixture.generatorCheck.weightsSum)))
            func reset() throws { for (p, v) in zip(net.namedTensors, initial) { try p.value.upload(v) } }
            let input = try Tensor(x, shape: [n, 1, h, w], on: device)

            var measures: [ParityMeasure] = []
            for lossName in fixture.cases.keys.sorted() {
                let reference = try XCTUnwrap(fixture.cases[lossName])
                let lossKind = try XCTUnwrap(LossKind(rawValue: lossName))
                let targets = try Tensor(lossKind == .bceWithLogits ? multi : oneHot, shape: [n, classes], on: device)
                // The cross-entropy runs bound the im2col buffer so that convolutions take their
                // chunked paths (1, 2, 3 and all 4 images per GEMM, with remainders), as large
                // training batches do.
                let budget = Ops.columnBudget
                if lossKind == .softmaxCrossEntropy { Ops.columnBudget = 1 << 18 }
                defer { Ops.columnBudget = budget }
                var dump = SafeTensorsFile()
                func compare(_ key: String, _ values: [Float], shape: [Int]) {
                    dump.add(key, shape: shape, values: values)
                    guard let entry = reference[key] else { XCTFail("\(key) missing from the fixture"); return }
                    XCTAssertEqual(entry.shape, shape, key)
                    measures.append(ParityMeasure(key: "\(lossName) \(key)", values: values, reference: entry))
                }

                for optimizerName in ["sgd", "adamw"] {
                    try reset()
                    let optimizer: Optimizer, base: Float, rates: [Float]
                    if optimizerName == "sgd" {
                        optimizer = SGD(momentum: fixture.sgd.momentum, weightDecay: fixture.sgd.weightDecay)
                        (base, rates) = (fixture.sgd.baseLr, fixture.sgd.rates)
                    } else {
                        optimizer = AdamW(beta1: fixture.adamw.beta1, beta2: fixture.adamw.beta2, eps: fixture.adamw.eps,
                                          weightDecay: fixture.adamw.weightDecay)
                        (base, rates) = (fixture.adamw.baseLr, fixture.adamw.rates)
                    }
                    let schedule = CosineSchedule(baseLearningRate: base, totalSteps: fixture.schedule.totalSteps,
                                                  warmupSteps: fixture.schedule.warmupSteps)
                    var losses: [Float] = []
                    for (k, step) in fixture.schedule.steps.enumerated() {
                        let lr = schedule.learningRate(step: step)
                        XCTAssertEqual(lr, rates[k], "CosineSchedule step \(step)")
                        let logits = try net.forward(input, training: true)
                        let (loss, gradient) = try lossKind.compute(logits: logits, targets: targets)
                        _ = try net.backward(gradient)
                        losses.append(loss)
                        if k == 0 && optimizerName == "sgd" {
                            compare("logits", try logits.toArray(), shape: logits.shape)
                            compare("loss", [loss], shape: [1])
                            for p in net.parameters {
                                let g = try XCTUnwrap(p.gradient, p.name)
                                compare("grad." + p.name, try g.toArray(), shape: g.shape)
                            }
                        }
                        try optimizer.step(net.parameters, learningRate: lr)
                    }
                    compare(optimizerName + ".losses", losses, shape: [losses.count])
                    for p in net.namedTensors { compare(optimizerName + "." + p.name, try p.value.toArray(), shape: p.value.shape) }
                }

                try reset()
                let evalLogits = try net.forward(input, training: false)
                compare("eval.logits", try evalLogits.toArray(), shape: evalLogits.shape)

                if let dir = ProcessInfo.processInfo.environment["PARITY_DUMP"], !dir.isEmpty {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    let id = device.identifier.replacingOccurrences(of: ":", with: "_")
                    try dump.write(to: "\(dir)/\(architectureName)-\(lossName)-\(id).safetensors")
                }
            }

            let seconds = Date().timeIntervalSince(started)
            print("parity \(architectureName) on \(device.identifier) (\(String(format: "%.1f", seconds)) s), worst tensor per check:")
            for (group, worst) in ParityMeasure.worstByGroup(measures) {
                let (r, m) = (worst.worstRelative, worst.worstElement)
                print("  " + group.padding(toLength: 17, withPad: " ", startingAt: 0)
                      + String(format: " rel %.2e", r.value) + " (\(r.key))  max elementwise/max|ref| " + String(format: "%.2e", m.value) + " (\(m.key))")
            }
            for m in measures {
                for failure in m.failures(relative: Self.relativeTolerance(m.key), element: Self.elementTolerance(m.key)) {
                    XCTFail("\(architectureName) on \(device.identifier): \(m.key): \(failure)")
                }
            }
        }
    }
}

// MARK: - The shared generator (mirrors pytorch_parity.py)

enum ParityFormula {
    static let baseSeed: UInt64 = 0x00C4_0B05_2024_0601

    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    /// u in [0, 1) with 24 random bits: value i of stream fnv1a(name) ^ baseSeed.
    static func uniform(_ name: String, _ i: Int) -> Double { uniform(seed: fnv1a(name) ^ baseSeed, i) }

    static func uniform(seed: UInt64, _ i: Int) -> Double {
        Double(CounterRandom.mix64(seed ^ CounterRandom.mix64(UInt64(i))) >> 40) / 16_777_216.0
    }

    /// Float(offset + scale * (2u - 1)), computed in Double and rounded once.
    static func values(_ name: String, count: Int, offset: Double, scale: Double) -> [Float] {
        let seed = fnv1a(name) ^ baseSeed
        return (0..<count).map { Float(offset + scale * (2 * uniform(seed: seed, $0) - 1)) }
    }

    /// The initial value of each named tensor: conv weights kaiming-uniform (bound sqrt(6/fan_in)),
    /// linear layers PyTorch's default (bound 1/sqrt(in)), batch-norm weights in [0.75, 1.25],
    /// biases and running means in [-0.2, 0.2], running variances in [0.5, 1.5].
    static func initialValues(_ name: String, shape: [Int], fcIn: Int) -> [Float] {
        let count = shape.reduce(1, *)
        let (offset, scale): (Double, Double)
        if name.hasSuffix("running_mean") { (offset, scale) = (0, 0.2) }
        else if name.hasSuffix("running_var") { (offset, scale) = (1, 0.5) }
        else if shape.count == 4 { (offset, scale) = (0, (6.0 / Double(shape[1] * shape[2] * shape[3])).squareRoot()) }
        else if name.hasPrefix("fc.") { (offset, scale) = (0, 1 / Double(fcIn).squareRoot()) }
        else if name.hasSuffix(".weight") { (offset, scale) = (1, 0.25) }
        else { (offset, scale) = (0, 0.2) }
        return values(name, count: count, offset: offset, scale: scale)
    }
}

/// Random ±1 projections: sign j of element i is bit j of mix64(seed ^ mix64(i)).
enum ParitySketch {
    static let seed: UInt64 = 0x005E_ED0F_5EED_0F00
    static let count = 16
    nonisolated(unsafe) private static var bits: [UInt64] = []

    static func project(_ a: [Float]) -> [Double] {
        if bits.count < a.count {
            bits = (0..<a.count).map { CounterRandom.mix64(seed ^ CounterRandom.mix64(UInt64($0))) }
        }
        var total = 0.0
        var negative = [Double](repeating: 0, count: count)
        bits.withUnsafeBufferPointer { b in
            negative.withUnsafeMutableBufferPointer { neg in
                for i in 0..<a.count {
                    let v = Double(a[i]), h = b[i]
                    total += v
                    for j in 0..<count { neg[j] += v * Double((h >> UInt64(j)) & 1) }
                }
            }
        }
        return negative.map { total - 2 * $0 }
    }
}

// MARK: - Fixture and measures

struct ParityFixture: Decodable {
    struct Named: Decodable { let name: String; let shape: [Int] }
    struct Schedule: Decodable { let totalSteps: Int; let warmupSteps: Int; let steps: [Int] }
    struct SGDSettings: Decodable { let momentum: Float; let weightDecay: Float; let baseLr: Float; let rates: [Float] }
    struct AdamWSettings: Decodable { let beta1: Float; let beta2: Float; let eps: Float; let weightDecay: Float; let baseLr: Float; let rates: [Float] }
    struct GeneratorCheck: Decodable { let inputSum: Double; let multiPositives: Int; let single: [Int]; let weightsSum: Double }
    /// A reference tensor: `values` when small, otherwise the summary.
    struct Entry: Decodable {
        let shape: [Int]
        let values: [Double]?
        let norm: Double?, sum: Double?, absSum: Double?, maxAbs: Double?
        let projections: [Double]?
        let indices: [Int]?, samples: [Double]?
    }

    let architecture: String
    let classes: Int
    let inputShape: [Int]
    let baseSeed: String, projectionSeed: String
    let schedule: Schedule
    let sgd: SGDSettings
    let adamw: AdamWSettings
    let tensors: [Named]
    let generatorCheck: GeneratorCheck
    let cases: [String: [String: Entry]]

    static func load(_ architecture: String) throws -> ParityFixture {
        let url = SourceTree.tests.appendingPathComponent("ModelTests/Fixtures/parity-\(architecture).json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(ParityFixture.self, from: try Data(contentsOf: url))
    }
}

struct OptimizerParityFixture: Decodable {
    struct Run: Decodable {
        let momentum: Float?, beta1: Float?, beta2: Float?, eps: Float?
        let weightDecay: Float, baseLr: Float, rates: [Float]
        /// The weights after each step.
        let after: [[Double]]
    }
    let shape: [Int]
    let weight: [Float]
    let gradients: [[Float]]
    let schedule: ParityFixture.Schedule
    let sgd: Run, adamw: Run
}

struct ParityMeasure {
    let key: String
    /// `||a - b|| / ||b||`, exact for whole tensors, the projection estimate for summarised ones.
    let relative: Double
    /// Largest `|a_i - b_i| / max|b|` over all elements (whole) or the sampled ones.
    let element: Double
    /// Summaries only: norm and sum errors.
    let norm: Double?, sum: Double?

    init(key: String, values a: [Float], reference e: ParityFixture.Entry) {
        self.key = key
        if let b = e.values {
            var d2 = 0.0, b2 = 0.0, dmax = 0.0, bmax = 0.0
            for (x, y) in zip(a, b) {
                let d = Double(x) - y
                d2 += d * d; b2 += y * y; dmax = max(dmax, abs(d)); bmax = max(bmax, abs(y))
            }
            relative = a.count == b.count ? d2.squareRoot() / max(b2.squareRoot(), 1e-30) : .infinity
            element = dmax / max(bmax, 1e-30)
            norm = nil; sum = nil
            return
        }
        let refNorm = max(e.norm ?? 0, 1e-30)
        let p = ParitySketch.project(a), q = e.projections ?? []
        relative = p.count == q.count ? (zip(p, q).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(q.count)).squareRoot() / refNorm : .infinity
        let maxAbs = max(e.maxAbs ?? 0, 1e-30)
        element = zip(e.indices ?? [], e.samples ?? []).reduce(0.0) { max($0, abs(Double(a[$1.0]) - $1.1) / maxAbs) }
        norm = abs(a.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() - refNorm) / refNorm
        sum = abs(a.reduce(0.0) { $0 + Double($1) } - (e.sum ?? 0)) / max(e.absSum ?? 0, 1e-30)
    }

    var group: String {
        let name = key.split(separator: " ", maxSplits: 1).last.map(String.init) ?? key
        if name == "logits" { return "logits" }
        if name == "eval.logits" { return "eval logits" }
        if name == "loss" || name.hasSuffix(".losses") { return "loss" }
        if name.hasPrefix("grad.") { return "grads" }
        if name.contains("running_") { return "bn running stats" }
        return String(name.prefix { $0 != "." })
    }

    func failures(relative tolerance: Double, element elementTolerance: Double) -> [String] {
        var out: [String] = []
        if !(relative <= tolerance) { out.append(String(format: "relative error %.3e > %.0e", relative, tolerance)) }
        if let norm, !(norm <= tolerance) { out.append(String(format: "norm error %.3e > %.0e", norm, tolerance)) }
        if let sum, !(sum <= tolerance) { out.append(String(format: "sum error (of sum |x|) %.3e > %.0e", sum, tolerance)) }
        if !(element <= elementTolerance) { out.append(String(format: "element error (of max |x|) %.3e > %.0e", element, elementTolerance)) }
        return out
    }

    /// Per group: the measure with the largest relative error and the one with the largest element error.
    static func worstByGroup(_ measures: [ParityMeasure]) -> [(String, (worstRelative: (key: String, value: Double), worstElement: (key: String, value: Double)))] {
        var groups: [String: (worstRelative: (key: String, value: Double), worstElement: (key: String, value: Double))] = [:]
        for m in measures {
            var g = groups[m.group] ?? ((m.key, -1), (m.key, -1))
            let r = max(m.relative, m.norm ?? 0)
            if r > g.worstRelative.value { g.worstRelative = (m.key, r) }
            if m.element > g.worstElement.value { g.worstElement = (m.key, m.element) }
            groups[m.group] = g
        }
        let order = ["logits", "loss", "grads", "sgd", "adamw", "bn running stats", "eval logits"]
        return groups.sorted { (order.firstIndex(of: $0.key) ?? 99, $0.key) < (order.firstIndex(of: $1.key) ?? 99, $1.key) }.map { ($0.key, $0.value) }
    }
}
