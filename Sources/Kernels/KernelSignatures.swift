import Foundation

/// The kind of one kernel argument, as the host passes it.
public enum KernelArgumentKind: String, Sendable, Equatable {
    case buffer, local, int, float, uint64
}

/// A kernel's parameter list: names and kinds, in order.
public struct KernelSignature: Sendable, Equatable {
    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var kind: KernelArgumentKind
    }
    public var name: String
    public var parameters: [Parameter]

    public var description: String { "\(name)(" + parameters.map { "\($0.name): \($0.kind.rawValue)" }.joined(separator: ", ") + ")" }
}

/// Kernel signatures are declared once, in `kernels.cl` itself: this reads them from the embedded
/// source, and every launch is checked against them, so a wrong argument count or kind is an
/// error naming the kernel and the argument, not a silently wrong result.
public enum KernelSignatures {
    /// Every `__kernel` of the embedded source, by name.
    public static let all: [String: KernelSignature] = parse(KernelSource.text)

    /// The `__kernel void name(...)` declarations of OpenCL C source.
    public static func parse(_ source: String) -> [String: KernelSignature] {
        var out: [String: KernelSignature] = [:]
        var rest = Substring(source)
        while let k = rest.range(of: "__kernel") {
            rest = rest[k.upperBound...]
            guard let open = rest.firstIndex(of: "("), let close = rest[open...].firstIndex(of: ")") else { break }
            let head = rest[..<open].split(whereSeparator: { $0.isWhitespace })
            guard let name = head.last.map(String.init), head.contains("void") else { continue }
            let parameters = rest[rest.index(after: open)..<close].split(separator: ",").compactMap { text -> KernelSignature.Parameter? in
                let words = text.split(whereSeparator: { $0.isWhitespace || $0 == "*" }).map(String.init)
                guard let last = words.last else { return nil }
                let kind: KernelArgumentKind
                if words.contains("__global") || words.contains("global") { kind = .buffer }
                else if words.contains("__local") || words.contains("local") { kind = .local }
                else if words.contains("ulong") { kind = .uint64 }
                else if words.contains("float") { kind = .float }
                else { kind = .int }
                return KernelSignature.Parameter(name: last, kind: kind)
            }
            out[name] = KernelSignature(name: name, parameters: parameters)
            rest = rest[close...]
        }
        return out
    }

    /// Checks a launch's arguments against the kernel's declaration (kernels from other source,
    /// such as a test's, are not in the table and pass).
    public static func check(_ name: String, _ args: [KernelArgument], in table: [String: KernelSignature] = all) throws {
        guard let signature = table[name] else { return }
        guard args.count == signature.parameters.count else {
            throw OpenCLError.badArguments(kernel: name, reason: "it takes \(signature.parameters.count) arguments, \(signature.description); the launch passes \(args.count)")
        }
        for (i, (arg, p)) in zip(args, signature.parameters).enumerated() where arg.kind != p.kind {
            throw OpenCLError.badArguments(kernel: name, reason: "argument \(i) (\(p.name)) is declared \(p.kind.rawValue); the launch passes \(arg.kind.rawValue)")
        }
    }
}

extension KernelArgument {
    public var kind: KernelArgumentKind {
        switch self {
        case .buffer: return .buffer
        case .int: return .int
        case .float: return .float
        case .uint64: return .uint64
        case .local: return .local
        }
    }
}
