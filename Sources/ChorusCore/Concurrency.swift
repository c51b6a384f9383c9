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
