import Foundation

/// Counts (samples, frames, clips) made from user-given numbers of seconds, checked before they
/// become an `Int` or a memory request: `Int(x)` traps on a NaN, an infinity or anything past
/// `Int.max`, and a huge but representable count would ask for terabytes. Every conversion of a
/// duration, an offset or a ratio given on the command line or read from a file goes through here,
/// and the caller turns the reason into its module's typed error naming the parameter.
public enum CheckedCount {
    /// `value.rounded(rounding)` as an `Int` when `value` is finite and the result lies in
    /// `0...maximum`; nil otherwise (never traps).
    public static func exact(_ value: Double, rounding: FloatingPointRoundingRule = .toNearestOrAwayFromZero,
                             maximum: Int = .max) -> Int? {
        guard value.isFinite else { return nil }
        let r = value.rounded(rounding)
        // 2^63 is the first Double past Int.max; Double(Int.max) rounds up to it.
        guard r >= 0, r < 0x1p63 else { return nil }
        let n = Int(r)
        return n <= maximum ? n : nil
    }

    /// `seconds × perSecond` rounded as an `Int` in `minimum...maximum`, or `fail(reason)` thrown,
    /// the reason saying what is wrong in the parameter's own units (the caller names it):
    /// "1e+300 s at 8000 Hz would be 8e+303 samples; the limit is 67108864 (8388.608 s)".
    ///
    /// - Parameters:
    ///   - perSecond: the rate (Hz, frames/s), positive and finite.
    ///   - unit: what is counted, for the message ("samples", "amplitude samples").
    ///   - rateUnit: the rate's unit, for the message ("Hz", "frames/s").
    public static func of(seconds: Double, perSecond rate: Double, unit: String = "samples", rateUnit: String = "Hz",
                          rounding: FloatingPointRoundingRule = .toNearestOrAwayFromZero,
                          minimum: Int = 0, maximum: Int, fail: (String) -> any Error) throws -> Int {
        guard seconds.isFinite else { throw fail("\(seconds) s is not a finite number of seconds") }
        guard seconds >= 0 else { throw fail("\(seconds) s is negative") }
        let value = seconds * rate
        let rateText = "\(formatNumber(rate)) \(rateUnit)"
        guard let n = exact(value, rounding: rounding, maximum: maximum) else {
            throw fail("\(formatNumber(seconds)) s at \(rateText) would be \(formatNumber(value.rounded(rounding))) \(unit); "
                       + "the limit is \(maximum) (\(formatNumber(Double(maximum) / rate)) s)")
        }
        guard n >= minimum else {
            throw fail("\(formatNumber(seconds)) s at \(rateText) is \(n) \(unit); at least \(minimum) are needed")
        }
        return n
    }

    /// A number as people read it: integers without ".0", others with up to 6 significant digits
    /// (huge values in exponent form, never hundreds of digits).
    public static func formatNumber(_ x: Double) -> String {
        if x.isFinite, x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return String(format: "%.6g", x)
    }
}
