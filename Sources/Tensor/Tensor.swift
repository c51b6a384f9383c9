/// A Float32 N-D tensor (row-major, NCHW for images) on one device. Transfers between host and
/// device are explicit (`init(_:shape:on:)`, `toArray()`, `to(_:)`). Tensors are reference types
/// whose storage may be shared by reshaped views; ops allocate new outputs unless they say
/// "in place".
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    public let device: Device
    public let storage: Storage

    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }

    init(shape: [Int], device: Device, storage: Storage) {
        self.shape = shape
        self.device = device
        self.storage = storage
    }

    /// A tensor with uninitialised contents.
    public static func empty(_ shape: [Int], on device: Device) throws -> Tensor {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw TensorError.invalidShape(op: "empty", shape: shape, expected: "non-negative sizes") }
        return Tensor(shape: shape, device: device, storage: try device.backend.allocate(shape.reduce(1, *)))
    }

    public static func zeros(_ shape: [Int], on device: Device) throws -> Tensor {
        try full(shape, value: 0, on: device)
    }

    public static func full(_ shape: [Int], value: Float, on device: Device) throws -> Tensor {
        let t = try empty(shape, on: device)
        try device.backend.fill(t.storage, count: t.count, value: value)
        return t
    }

    /// Copies host values to a new tensor on `device`.
    public convenience init(_ values: [Float], shape: [Int], on device: Device = .cpu) throws {
        guard shape.reduce(1, *) == values.count else {
            throw TensorError.shapeMismatch(op: "Tensor(values:shape:)", lhs: [values.count], rhs: shape)
        }
        let storage = try device.backend.allocate(values.count)
        try values.withUnsafeBufferPointer { try device.backend.upload($0, to: storage, offset: 0) }
        self.init(shape: shape, device: device, storage: storage)
    }

    /// Copies the values to the host.
    public func toArray() throws -> [Float] {
        var out = [Float](repeating: 0, count: count)
        try out.withUnsafeMutableBufferPointer { try device.backend.download(storage, offset: 0, into: $0) }
        return out
    }

    /// Overwrites the contents from host values (same count).
    public func upload(_ values: [Float]) throws {
        guard values.count == count else { throw TensorError.shapeMismatch(op: "upload", lhs: [values.count], rhs: shape) }
        try values.withUnsafeBufferPointer { try device.backend.upload($0, to: storage, offset: 0) }
    }

    /// A copy on another device (or a fresh copy on the same one).
    public func to(_ other: Device) throws -> Tensor {
        if other === device {
            let t = try Tensor.empty(shape, on: device)
            try device.backend.copy(storage, sourceOffset: 0, to: t.storage, destinationOffset: 0, count: count)
            return t
        }
        return try Tensor(toArray(), shape: shape, on: other)
    }

    /// A view with another shape of the same element count, sharing storage.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.reduce(1, *) == count else { throw TensorError.shapeMismatch(op: "reshape", lhs: shape, rhs: newShape) }
        return Tensor(shape: newShape, device: device, storage: storage)
    }

    /// A tensor of `shape` over this one's elements from `offset`, sharing its storage (writes
    /// through either are seen by both). `offset` is a multiple of the device's `viewAlignment`.
    public func view(offset: Int, shape newShape: [Int]) throws -> Tensor {
        let n = newShape.reduce(1, *)
        guard newShape.allSatisfy({ $0 >= 0 }), offset >= 0, offset + n <= count else {
            throw TensorError.invalidShape(op: "view", shape: newShape, expected: "at most \(count - offset) elements from element \(offset) of \(shape)")
        }
        return Tensor(shape: newShape, device: device, storage: try device.backend.view(storage, offset: offset, count: n))
    }

    /// Copies `other` (same shape and device) into this tensor.
    public func assign(_ other: Tensor) throws {
        try requireSameShape("assign", other)
        try device.backend.copy(other.storage, sourceOffset: 0, to: storage, destinationOffset: 0, count: count)
    }

    public var description: String { "Tensor(\(shape), \(device.identifier))" }

    func requireSameShape(_ op: String, _ other: Tensor) throws {
        guard other.device === device else { throw TensorError.deviceMismatch(op: op, lhs: device.identifier, rhs: other.device.identifier) }
        guard other.shape == shape else { throw TensorError.shapeMismatch(op: op, lhs: shape, rhs: other.shape) }
    }

    /// Where an op writes a result of `shape`: `into` when given (it must have that shape and live
    /// on `device`), else a new tensor.
    static func output(_ op: String, _ shape: [Int], on device: Device, into: Tensor?) throws -> Tensor {
        guard let into else { return try empty(shape, on: device) }
        guard into.device === device else { throw TensorError.deviceMismatch(op: op, lhs: device.identifier, rhs: into.device.identifier) }
        guard into.shape == shape else { throw TensorError.shapeMismatch(op: op, lhs: shape, rhs: into.shape) }
        return into
    }

    func requireDevice(_ op: String, _ others: Tensor...) throws {
        for o in others where o.device !== device {
            throw TensorError.deviceMismatch(op: op, lhs: device.identifier, rhs: o.device.identifier)
        }
    }
}
