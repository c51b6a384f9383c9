import Foundation

/// One annotated event: a box in time (seconds from the start of its recording) and,
/// optionally, frequency (Hz), with a class label.
///
/// `label` is trimmed of surrounding whitespace when read; an empty label labels nothing.
/// `sourcePath`/`sourceLine` say where the annotation was read from, so later checks
/// (for example "ends past the end of the audio") can name the file and line.
public struct Annotation: Sendable, Equatable {
    /// The recording this annotation belongs to, when the table names it (`Begin File`/`Begin Path`).
    public var file: String?
    public var start: Double
    public var end: Double
    public var lowFrequency: Double?
    public var highFrequency: Double?
    public var label: String
    /// Every other column of the source table, by column name.
    public var extra: [String: String]
    /// The table file this annotation was read from, if any.
    public var sourcePath: String?
    /// The 1-based line of `sourcePath` this annotation was read from, if any.
    public var sourceLine: Int?

    public init(file: String? = nil, start: Double, end: Double, lowFrequency: Double? = nil,
                highFrequency: Double? = nil, label: String, extra: [String: String] = [:],
                sourcePath: String? = nil, sourceLine: Int? = nil) {
        self.file = file
        self.start = start
        self.end = end
        self.lowFrequency = lowFrequency
        self.highFrequency = highFrequency
        self.label = label
        self.extra = extra
        self.sourcePath = sourcePath
        self.sourceLine = sourceLine
    }

    /// Length in seconds (0 for point annotations).
    public var duration: Double { end - start }

    /// "table.txt:12" or "annotation 3" style location used in error messages.
    public var location: String {
        switch (sourcePath, sourceLine) {
        case let (path?, line?): return "\(path):\(line)"
        case let (path?, nil): return path
        default: return "annotation \(label) [\(start), \(end)] s"
        }
    }
}
