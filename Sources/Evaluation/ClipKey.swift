import ChorusCore
import Foundation

/// Identifies one clip: the audio file and the clip's start and end in seconds.
public struct ClipKey: Equatable, Codable, Sendable, CustomStringConvertible {
    public var file: String
    public var startTime: Double
    public var endTime: Double

    public init(file: String, startTime: Double, endTime: Double) {
        self.file = file
        self.startTime = startTime
        self.endTime = endTime
    }

    /// Times closer than this (seconds) are the same time when joining tables.
    public static let timeTolerance = 1e-6

    /// The file as an absolute, standardized path (relative paths resolve against the current
    /// directory), so `data/a.wav` and `/home/me/data/a.wav` name the same recording.
    public var canonicalFile: String { ClipKey.canonical(file) }

    static func canonical(_ file: String) -> String { URL(fileURLWithPath: file).standardizedFileURL.path }

    /// True when the files are the same and both times agree within `timeTolerance`.
    public func matches(_ other: ClipKey) -> Bool {
        (file == other.file || canonicalFile == other.canonicalFile) && abs(startTime - other.startTime) <= Self.timeTolerance
            && abs(endTime - other.endTime) <= Self.timeTolerance
    }

    /// `file,start,end` as in the CSV tables.
    public var description: String { "\(file),\(formatSeconds(startTime)),\(formatSeconds(endTime))" }

    enum CodingKeys: String, CodingKey {
        case file
        case startTime = "start_time"
        case endTime = "end_time"
    }
}

/// Finds clips by key within `ClipKey.timeTolerance` in constant time: keys are bucketed by
/// times rounded to the tolerance, and a lookup checks the neighbouring buckets too.
struct ClipIndex {
    private struct Bucket: Hashable {
        let file: String
        let start: Int64
        let end: Int64
    }

    private var buckets: [Bucket: [Int]] = [:]
    private(set) var keys: [ClipKey] = []

    private static func tick(_ t: Double) -> Int64 {
        let scaled = (t / ClipKey.timeTolerance).rounded()
        guard scaled.isFinite, abs(scaled) < 9e18 else { return scaled < 0 ? Int64.min / 2 : Int64.max / 2 }
        return Int64(scaled)
    }

    /// Adds a key and returns the index of an earlier matching key if there was one (a duplicate).
    @discardableResult
    mutating func insert(_ key: ClipKey) -> Int? {
        if let existing = firstMatch(key) { return existing }
        let bucket = Bucket(file: key.canonicalFile, start: Self.tick(key.startTime), end: Self.tick(key.endTime))
        buckets[bucket, default: []].append(keys.count)
        keys.append(key)
        return nil
    }

    /// The index of the stored key that matches `key` within the tolerance.
    func firstMatch(_ key: ClipKey) -> Int? {
        let s = Self.tick(key.startTime), e = Self.tick(key.endTime)
        let file = key.canonicalFile
        for ds in -1...1 as ClosedRange<Int64> {
            for de in -1...1 as ClosedRange<Int64> {
                guard let candidates = buckets[Bucket(file: file, start: s + ds, end: e + de)] else { continue }
                if let hit = candidates.first(where: { keys[$0].matches(key) }) { return hit }
            }
        }
        return nil
    }
}
