import ChorusCore
import Foundation

/// What to do with the last clip when the recording does not end on a clip boundary.
public enum FinalClip: String, Codable, CaseIterable, Sendable {
    /// Drop a partial last clip (the default for labels).
    case none
    /// Keep it, shortened to end at the end of the recording.
    case remainder
    /// Shift it back so it ends at the end of the recording (full length; starts at 0 if the
    /// recording is shorter than a clip).
    case full
    /// Keep it at full length past the end of the recording (the audio is padded later).
    case extend
}

/// A clip's time span in seconds from the start of its recording.
public struct ClipWindow: Sendable, Equatable {
    public var start: Double
    public var end: Double
    public init(start: Double, end: Double) { self.start = start; self.end = end }
}

/// The clips of a recording, as the reference toolkit makes them: starts at 0, 2·d − o, ...
/// (step = clip duration − overlap) for every start before the recording's end, the final clip
/// handled by `FinalClip`, times rounded to 10 decimals, duplicates removed.
public enum ClipSchedule {
    /// Times are rounded to this many decimals (as the reference does) so that 0.1-second steps
    /// give 0.3, not 0.30000000000000004.
    public static let roundingDecimals = 10
    /// More clips than this from one recording is a mistake (a day at 0.1 s steps is 864,000).
    public static let maximumClipsPerRecording = 2_000_000
    /// A clip longer than a day is a mistake (and past about 1e298 s its end would round to infinity).
    public static let maximumClipDuration = 86_400.0

    /// Checks a clip duration and overlap (before any other parameter that depends on them):
    /// the duration finite, > 0 and at most `maximumClipDuration`; the overlap finite, ≥ 0 and
    /// shorter than the clip.
    public static func validate(clipDuration: Double, overlap: Double = 0) throws {
        guard clipDuration.isFinite, clipDuration > 0, clipDuration <= maximumClipDuration else {
            throw AnnotationsError.invalidParameter(name: "clip duration (--clip-duration)",
                reason: "\(clipDuration) s; it must be > 0 and at most \(CheckedCount.formatNumber(maximumClipDuration)) s (a day)")
        }
        guard overlap.isFinite, overlap >= 0, overlap < clipDuration else {
            throw AnnotationsError.invalidParameter(name: "clip overlap (--clip-overlap)", reason: "\(overlap) s; it must be ≥ 0 and less than the clip duration (\(clipDuration) s)")
        }
    }

    public static func clips(duration: Double, clipDuration: Double, overlap: Double = 0,
                             finalClip: FinalClip = .none) throws -> [ClipWindow] {
        try validate(clipDuration: clipDuration, overlap: overlap)
        guard duration.isFinite, duration >= 0 else {
            throw AnnotationsError.invalidParameter(name: "recording duration", reason: "\(duration) s; it must be a finite number ≥ 0")
        }
        let step = clipDuration - overlap
        // numpy.arange(0, duration, step): ceil(duration / step) values i * step. Compared as a
        // Double (it may be far past Int.max), converted only once within the limit.
        let exactCount = (duration / step).rounded(.up)
        guard let count = CheckedCount.exact(exactCount, maximum: maximumClipsPerRecording) else {
            throw AnnotationsError.invalidParameter(name: "clip duration and overlap",
                reason: "a \(duration) s recording in steps of \(step) s (clip duration \(clipDuration) s, overlap \(overlap) s) would make \(CheckedCount.formatNumber(exactCount)) clips; the limit is \(maximumClipsPerRecording) per recording. Use a longer clip duration or a smaller overlap")
        }
        var clips: [ClipWindow] = []
        clips.reserveCapacity(count)
        for i in 0..<max(0, count) {
            var start = Double(i) * step
            var end = start + clipDuration
            switch finalClip {
            case .none:
                if end > duration { continue }
            case .remainder:
                if end > duration { end = duration }
            case .full:
                if end > duration { start -= end - duration; end = duration }
                if start < 0 { start = 0 }
            case .extend:
                break
            }
            start = round(start); end = round(end)
            let window = ClipWindow(start: start, end: end)
            if finalClip == .full, clips.last == window { continue }  // shifted clips repeat at the end
            clips.append(window)
        }
        return clips
    }

    /// numpy.round(x, 10): scale, round half to even, unscale.
    static func round(_ x: Double) -> Double {
        let scale = pow(10.0, Double(roundingDecimals))
        return (x * scale).rounded(.toNearestOrEven) / scale
    }
}
