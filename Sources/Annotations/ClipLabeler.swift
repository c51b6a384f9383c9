import Foundation

/// A recording to be cut into clips, with the annotations made on it.
public struct AnnotatedRecording: Sendable, Equatable {
    /// The string written in the labels table's `file` column.
    public var file: String
    /// Length of the recording in seconds.
    public var duration: Double
    public var annotations: [Annotation]

    public init(file: String, duration: Double, annotations: [Annotation]) {
        self.file = file
        self.duration = duration
        self.annotations = annotations
    }
}

/// Turns annotations into 0/1 clip labels, as the reference toolkit does.
///
/// A clip is positive for a class when some annotation of that class overlaps it by more than
/// zero and either the overlap is at least `minimumOverlap` seconds, or `minimumFraction` is
/// set and the overlap covers at least that fraction of the annotation. So zero-length
/// annotations and annotations that only touch a clip's edge never label it; annotations with
/// an empty label label nothing. Classes are in order of first appearance unless `classes`
/// gives them (then other labels are ignored, and a listed class with no annotations still
/// gets a column of zeros).
public struct ClipLabeler: Sendable {
    /// Name of the column added in single-target mode for clips with no class present.
    public static let otherClass = "other"

    public var minimumOverlap: Double
    public var minimumFraction: Double?
    /// The classes (columns) to label, in order; nil: every label, in order of first appearance.
    public var classes: [String]?
    /// Single-target: exactly one 1 per row; an `other` column marks clips with no class, and
    /// clips with several classes are refused.
    public var singleTarget: Bool
    /// How far (seconds) an annotation may end past the recording's end before it is an error
    /// (allows for rounding of times in annotation tables).
    public var endTolerance: Double

    public init(minimumOverlap: Double = 0.25, minimumFraction: Double? = nil, classes: [String]? = nil,
                singleTarget: Bool = false, endTolerance: Double = 0.001) {
        self.minimumOverlap = minimumOverlap
        self.minimumFraction = minimumFraction
        self.classes = classes
        self.singleTarget = singleTarget
        self.endTolerance = endTolerance
    }

    /// Labels the clips of one recording.
    public func label(recording: String, duration: Double, annotations: [Annotation], clipDuration: Double,
                      overlap: Double = 0, finalClip: FinalClip = .none) throws -> ClipLabelTable {
        try label([AnnotatedRecording(file: recording, duration: duration, annotations: annotations)],
                  clipDuration: clipDuration, overlap: overlap, finalClip: finalClip)
    }

    /// Labels the clips of several recordings into one table (rows in recording order, classes
    /// in order of first appearance across all recordings unless `classes` is set).
    public func label(_ recordings: [AnnotatedRecording], clipDuration: Double, overlap: Double = 0,
                      finalClip: FinalClip = .none) throws -> ClipLabelTable {
        try validateParameters()
        try ClipSchedule.validate(clipDuration: clipDuration, overlap: overlap)  // before the checks that compare with it
        if minimumFraction == nil && minimumOverlap > clipDuration {
            throw AnnotationsError.invalidParameter(name: "minimum label overlap (--min-overlap)",
                reason: "\(minimumOverlap) s is longer than the clip (\(clipDuration) s), so no clip could ever be labelled positive")
        }
        let classes = self.classes ?? Self.classesInOrderOfAppearance(recordings.flatMap(\.annotations))
        if singleTarget && classes.contains(Self.otherClass) {
            throw AnnotationsError.invalidParameter(name: "classes", reason: "a class is named '\(Self.otherClass)', which single-target labels add themselves; rename it")
        }
        let column = Dictionary(classes.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [RowProblem] = []
        var rows: [ClipLabelRow] = []
        for recording in recordings {
            for a in recording.annotations where a.end > recording.duration + endTolerance {
                problems.append(RowProblem(path: a.sourcePath ?? recording.file, line: a.sourceLine,
                                           reason: "annotation '\(a.label)' ends at \(a.end) s, past the end of \(recording.file) (\(recording.duration) s)"))
            }
            let windows = try ClipSchedule.clips(duration: recording.duration, clipDuration: clipDuration, overlap: overlap, finalClip: finalClip)
            var labels = [[Float]](repeating: [Float](repeating: 0, count: classes.count), count: windows.count)
            for a in recording.annotations {
                guard let c = column[a.label] else { continue }
                for i in Self.overlappingClips(windows, start: a.start, end: a.end) where !(labels[i][c] == 1) {
                    if isPositive(clip: windows[i], annotation: a) { labels[i][c] = 1 }
                }
            }
            for (window, l) in zip(windows, labels) {
                rows.append(ClipLabelRow(file: recording.file, start: window.start, end: window.end, labels: l))
            }
        }
        if let first = problems.first {
            throw AnnotationsError.invalidRows(path: problems.allSatisfy { $0.path == first.path } ? first.path : "annotations", problems: problems)
        }
        if rows.isEmpty, let longest = recordings.map(\.duration).max() {
            throw AnnotationsError.cannotProceed(reason: "no clip of \(clipDuration) s fits in the recordings (the longest is \(longest) s)"
                + (finalClip == .none ? "; use a shorter --clip-duration, or --final-clip full to keep one clip per recording" : ""))
        }
        var table = ClipLabelTable(classes: classes, rows: rows)
        if singleTarget { table = try Self.singleTarget(table) }
        return table
    }

    /// The reference rule for one clip and one annotation.
    public func isPositive(clip: ClipWindow, annotation a: Annotation) -> Bool {
        let overlap = max(0, min(clip.end, a.end) - max(clip.start, a.start))
        guard overlap > 0 else { return false }
        if overlap >= minimumOverlap { return true }
        if let minimumFraction, a.duration > 0, overlap / a.duration >= minimumFraction { return true }
        return false
    }

    /// Non-empty labels in order of first appearance.
    public static func classesInOrderOfAppearance(_ annotations: [Annotation]) -> [String] {
        var seen = Set<String>()
        return annotations.compactMap { !$0.label.isEmpty && seen.insert($0.label).inserted ? $0.label : nil }
    }

    /// Adds the `other` column and checks that every row has exactly one class.
    static func singleTarget(_ table: ClipLabelTable) throws -> ClipLabelTable {
        var ambiguous: [String] = []
        var rows = table.rows
        for i in rows.indices {
            let present = rows[i].labels.enumerated().filter { $0.element != 0 }.map { table.classes[$0.offset] }
            if present.count > 1 {
                ambiguous.append("\(rows[i].file) \(formatNumber(rows[i].start))–\(formatNumber(rows[i].end)) s: \(present.joined(separator: ", "))")
            }
            rows[i].labels.append(present.isEmpty ? 1 : 0)
        }
        if !ambiguous.isEmpty { throw AnnotationsError.ambiguousSingleTarget(rows: ambiguous) }
        return ClipLabelTable(classes: table.classes + [otherClass], rows: rows)
    }

    /// Indices of clips with start < `end` and end > `start`. Clip starts and ends are both
    /// non-decreasing for every final-clip mode, so two binary searches bound the range.
    static func overlappingClips(_ windows: [ClipWindow], start: Double, end: Double) -> Range<Int> {
        var lo = 0, hi = windows.count
        while lo < hi { let mid = (lo + hi) / 2; if windows[mid].end > start { hi = mid } else { lo = mid + 1 } }
        let first = lo
        lo = first; hi = windows.count
        while lo < hi { let mid = (lo + hi) / 2; if windows[mid].start < end { lo = mid + 1 } else { hi = mid } }
        return first..<max(first, lo)
    }

    func validateParameters() throws {
        guard minimumOverlap.isFinite, minimumOverlap >= 0 else {
            throw AnnotationsError.invalidParameter(name: "minimum label overlap", reason: "\(minimumOverlap) s; it must be ≥ 0")
        }
        if let minimumFraction, !(minimumFraction > 0 && minimumFraction <= 1) {
            throw AnnotationsError.invalidParameter(name: "minimum label fraction", reason: "\(minimumFraction); it must be in (0, 1]")
        }
        if let classes {
            if classes.isEmpty { throw AnnotationsError.invalidParameter(name: "classes", reason: "the list is empty") }
            if classes.contains("") { throw AnnotationsError.invalidParameter(name: "classes", reason: "a class name is empty") }
            if Set(classes).count != classes.count { throw AnnotationsError.invalidParameter(name: "classes", reason: "a class is listed twice") }
        }
    }
}

func formatNumber(_ x: Double) -> String { x == x.rounded() ? String(format: "%.0f", x) : "\(x)" }
