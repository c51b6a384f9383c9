import Foundation

/// A closed range `[low, high]` used by the sequence criteria (inclusive at both ends).
public struct ValueRange: Sendable, Equatable, Codable {
    public var low: Double
    public var high: Double
    public init(_ low: Double, _ high: Double) { self.low = low; self.high = high }
    public func contains(_ x: Double) -> Bool { x >= low && x <= high }
}

/// A run of peaks whose intervals shrink: the reference's `find_accel_sequences` result plus the
/// beat it started from.
public struct PeakSequence: Sendable, Equatable {
    /// The peak the first accepted interval was measured from (the reference leaves it out).
    public var anchor: Double
    /// Times of the accepted points (the reference's `sequence_t`).
    public var times: [Double]
    /// Each accepted point's interval to the next peak (the reference's `sequence_y`).
    public var intervals: [Double]
}

/// OpenSoundscape's `find_accel_sequences`. With peak times `t` and intervals
/// `y_i = t_{i+1} − t_i`, the first peak initialises the reference point `(t_0, y_0)`; then for
/// each later peak `i` (that has an interval): `dt = t_i − t_ref`, `dy = y_i − y_ref`,
/// `d2y = dy − dy_ref` (none right after a reset). The point is valid when `dt ∈ dtRange`,
/// `dy ∈ dyRange` and (if defined) `d2y ∈ d2yRange`; it joins the sequence and becomes the
/// reference. An invalid point while a sequence is open ends it when more than `maxSkip`
/// points passed since the last valid one or `dt ∉ dtRange`; otherwise it is skipped. An
/// invalid point with no open sequence becomes the reference (with no `dy`). An ended sequence
/// is kept when its point count is in `pointsRange` and `last − first` time is in
/// `durationRange` (a sequence still open at the end needs more than one point). All ranges
/// are inclusive.
public struct AcceleratingSequenceFinder: Sendable, Equatable, Codable {
    public var dtRange = ValueRange(0.05, 0.8)
    public var dyRange = ValueRange(-0.2, 0)
    public var d2yRange = ValueRange(-0.05, 0.15)
    public var maxSkip = 3
    public var durationRange = ValueRange(1, 15)
    public var pointsRange = ValueRange(9, 100)

    public init() {}

    public func sequences(_ peakTimes: [Double]) -> [PeakSequence] {
        guard peakTimes.count >= 3 else { return [] }
        let y = (0..<(peakTimes.count - 1)).map { peakTimes[$0 + 1] - peakTimes[$0] }
        var referenceY = y[0], referenceT = peakTimes[0]
        var referenceDy: Double?
        var lastUsed = -1
        var anchor = referenceT
        var times: [Double] = [], intervals: [Double] = []
        var building = false
        var found: [PeakSequence] = []

        func close() {
            let duration = (times.last ?? 0) - (times.first ?? 0)
            if pointsRange.contains(Double(times.count)) && durationRange.contains(duration) {
                found.append(PeakSequence(anchor: anchor, times: times, intervals: intervals))
            }
            times = []
            intervals = []
            building = false
        }

        for i in 0..<(y.count - 1) {
            let yi = y[i + 1], ti = peakTimes[i + 1]
            let dt = ti - referenceT, dy = yi - referenceY
            let d2y = referenceDy.map { dy - $0 }
            if dtRange.contains(dt) && dyRange.contains(dy) && (d2y.map(d2yRange.contains) ?? true) {
                if !building { anchor = referenceT }
                lastUsed = i
                referenceY = yi
                referenceT = ti
                referenceDy = dy
                building = true
                times.append(ti)
                intervals.append(yi)
            } else if building {
                if i - lastUsed > maxSkip || !dtRange.contains(dt) { close() }
            } else {
                referenceY = yi
                referenceT = ti
                referenceDy = nil
            }
        }
        if times.count > 1 { close() }
        return found
    }
}
