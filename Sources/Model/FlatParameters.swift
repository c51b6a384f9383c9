import Tensor

/// A model's parameters in one flat buffer and their gradients in another, each parameter a view
/// of both: the backward pass writes every gradient into its place, so an optimizer updates all
/// parameters in one launch and a data-parallel step sums all gradients in one transfer.
///
/// Each view starts at a multiple of the device's view alignment (an OpenCL sub-buffer must); the
/// gaps between them are zero in every flat buffer, and the updates keep them zero.
public final class FlatParameters {
    public let parameters: [Parameter]
    /// All values, and all gradients, laid out alike.
    public let values: Tensor, gradients: Tensor
    /// Each parameter's first element in the flat buffers.
    public let offsets: [Int]

    /// Moves `parameters` (all on one device) into the flat buffers: each parameter's value becomes
    /// a view holding the same numbers, and its gradient destination a view of `gradients`.
    public init(_ parameters: [Parameter]) throws {
        guard let device = parameters.first?.value.device else { throw ModelError.invalidConfiguration("no parameters to lay out") }
        if let other = parameters.first(where: { $0.value.device !== device }) {
            throw ModelError.invalidConfiguration("parameter \(other.name) is on \(other.value.device.identifier), not \(device.identifier) like \(parameters[0].name)")
        }
        let align = device.backend.viewAlignment
        var offsets: [Int] = [], total = 0
        for p in parameters {
            offsets.append(total)
            total += (p.value.count + align - 1) / align * align
        }
        values = try Tensor.zeros([total], on: device)
        gradients = try Tensor.zeros([total], on: device)
        for (p, offset) in zip(parameters, offsets) {
            let value = try values.view(offset: offset, shape: p.value.shape)
            try value.assign(p.value)
            p.value = value
            p.gradientDestination = try gradients.view(offset: offset, shape: p.value.shape)
            p.gradient = nil
        }
        self.parameters = parameters
        self.offsets = offsets
        for p in parameters { p.flat = self }
    }

    /// A zero buffer laid out like `values` (an optimizer's state), and each parameter's view of it by name.
    public func makeState() throws -> (flat: Tensor, views: [String: Tensor]) {
        let flat = try Tensor.zeros(values.shape, on: values.device)
        var views: [String: Tensor] = [:]
        for (p, offset) in zip(parameters, offsets) { views[p.name] = try flat.view(offset: offset, shape: p.value.shape) }
        return (flat, views)
    }

    /// Whether every parameter's gradient is the one its backward wrote into `gradients`: then one
    /// operation over the flat buffers covers them all.
    public var gradientsInPlace: Bool { firstGradientOutOfPlace == nil }

    /// The first parameter whose gradient is not in `gradients` (none yet, or a tensor of its own).
    public var firstGradientOutOfPlace: Parameter? {
        parameters.first { $0.gradient == nil || $0.gradient !== $0.gradientDestination }
    }

    /// The buffers shared by all of `list`, if they are one set's parameters, in order.
    static func shared(by list: [Parameter]) -> FlatParameters? {
        guard let flat = list.first?.flat, list.count == flat.parameters.count,
              zip(list, flat.parameters).allSatisfy({ $0 === $1 }) else { return nil }
        return flat
    }
}
