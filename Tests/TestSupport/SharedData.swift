import Foundation
import XCTest

/// Locates `../shared/data` beside the repository. Tests that need it call `try sharedData()`,
/// which skips (with a message) when it is absent and `CI` is unset, and fails under CI.
public enum SharedData {
    public static var root: String? {
        if let env = ProcessInfo.processInfo.environment["CHORUS_SHARED_DATA"], FileManager.default.fileExists(atPath: env) { return env }
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("../shared/data").standardized
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("README.md").path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    public static func path(_ relative: String) throws -> String {
        guard let root else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("../shared/data is required under CI but was not found")
                throw XCTSkip("shared data missing")
            }
            throw XCTSkip("../shared/data not found beside the repository; skipping test that needs real recordings")
        }
        return (root as NSString).appendingPathComponent(relative)
    }
}

/// The repository's `Tests` folder, for fixtures: `$CHORUS_SOURCE_ROOT/Tests` when set (a test
/// binary run away from the tree it was built in, as `scripts/gpu-check`'s bundle is), else the
/// folder this file was compiled from.
public enum SourceTree {
    public static var tests: URL {
        if let root = ProcessInfo.processInfo.environment["CHORUS_SOURCE_ROOT"], !root.isEmpty {
            return URL(fileURLWithPath: root).appendingPathComponent("Tests")
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    }
}

/// A fresh temporary directory, removed by the caller (or left for inspection on failure).
public func makeTemporaryDirectory(_ name: String = "chorus-test") -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Seeded generator for test inputs (SplitMix64).
public struct TestRNG: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    public mutating func uniform(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<n).map { _ in Float.random(in: lo..<hi, using: &self) }
    }
}
