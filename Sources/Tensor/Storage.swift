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
/// in again every step. When a buffer given back would take the pool past its limit, the idle
/// buffers given back longest ago are freed to make room: a process that moves on to other shapes
/// (a benchmark after ResNet18, prediction after training) keeps reusing its current ones instead
/// of finding the pool full of sizes nobody asks for any more.
final class HostPool: @unchecked Sendable {
    /// Idle buffers by size, each with the time it was given back (oldest first in each list).
    private var free: [Int: [(pointer: UnsafeMutablePointer<Float>, given: Int)]] = [:]
    private var pooled = 0
    private var clock = 0
    private let limit: Int
    private let lock = NSLock()

    init(limitFloats: Int) { limit = limitFloats }

    /// Floats held idle.
    var idleFloats: Int {
        lock.lock(); defer { lock.unlock() }
        return pooled
    }

    func take(_ count: Int) -> UnsafeMutablePointer<Float>? {
        lock.lock(); defer { lock.unlock() }
        guard var list = free[count], let entry = list.popLast() else { return nil }
        free[count] = list.isEmpty ? nil : list
        pooled -= count
        return entry.pointer
    }

    func give(_ p: UnsafeMutablePointer<Float>, count: Int) {
        lock.lock(); defer { lock.unlock() }
        if count < 1024 || count > limit { p.deallocate(); return }
        while pooled + count > limit, let (size, list) = free.min(by: { $0.value[0].given < $1.value[0].given }) {
            list[0].pointer.deallocate()
            free[size] = list.count > 1 ? Array(list.dropFirst()) : nil
            pooled -= size
        }
        clock += 1
        free[count, default: []].append((p, clock))
        pooled += count
    }
}
