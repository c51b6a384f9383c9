import Foundation

/// A value handed across threads on the caller's word that it is safe there (a pointer to memory
/// each thread touches its own part of, a buffer written before and read after). Keep its uses few
/// and commented.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// Runs `body(i)` for `i` in `0..<count` on all cores and returns when every call has. The calls
/// must touch disjoint memory (each its own rows, frames or files); that is the caller's promise,
/// which is why `body` need not be `@Sendable`.
public func concurrentPerform(_ count: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: count) { shared.value($0) }
    }
}

/// What this process may use of the machine.
public enum Machine {
    /// Cores this process may run on: its CPU affinity (taskset, a cgroup's cpuset, the core an
    /// MPI launcher binds a rank to), so several processes on one host do not oversubscribe it.
    public static let usableCores: Int = {
        // Linux lists the cores a process may use as a hex mask in /proc/self/status.
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) {
            let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
            let count = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
            if count > 0 { return min(count, max(1, ProcessInfo.processInfo.activeProcessorCount)) }
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()
}
