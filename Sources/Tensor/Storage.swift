import Foundation
import Kernels

/// The memory behind a tensor: host memory for the CPU fallback, an OpenCL buffer otherwise.
/// Storage is a reference type: tensors made by `reshaped` share it.
public final class Storage: @unchecked Sendable {
    public let count: Int
    let host: UnsafeMutablePointer<Float>?
    let buffer: DeviceBuffer?
    private let pool: HostPool?
    /// For a view of host memory: the storage it is part of (kept alive; it owns the memory).
    private let parent: Storage?

    init(hostCount count: Int, pool: HostPool?) {
        self.count = count
        self.pool = pool
        buffer = nil
        parent = nil
        host = pool?.take(count) ?? UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
    }

    /// `count` elements of a host storage from `offset`, sharing its memory.
    init(hostViewOf parent: Storage, offset: Int, count: Int) {
        self.count = count
        self.parent = parent
        host = parent.host! + offset
        buffer = nil
        pool = nil
    }

    init(buffer: DeviceBuffer) {
        count = buffer.count
        self.buffer = buffer
        host = nil
        pool = nil
        parent = nil
    }

    deinit {
        if let host, parent == nil {
            if let pool { pool.give(host, count: count) } else { host.deallocate() }
        }
    }
}

/// Reuses host allocations of the same size, so large per-batch buffers are not page-faulted
/// in again every step.
final class HostPool: @unchecked Sendable {
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var pooled = 0
    private let limit: Int
    private let lock = NSLock()

    init(limitFloats: Int) { limit = limitFloats }

    func take(_ count: Int) -> UnsafeMutablePointer<Float>? {
        lock.lock(); defer { lock.unlock() }
        guard var list = free[count], let p = list.popLast() else { return nil }
        free[count] = list
        pooled -= count
        return p
    }

    func give(_ p: UnsafeMutablePointer<Float>, count: Int) {
        lock.lock(); defer { lock.unlock() }
        if pooled + count > limit || count < 1024 { p.deallocate(); return }
        free[count, default: []].append(p)
        pooled += count
    }
}

