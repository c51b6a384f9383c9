import Foundation

/// Escaping and number formatting for the SVG and HTML this module writes.
enum Markup {
    /// Escapes text for XML/HTML content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// A coordinate with two decimals.
    static func coordinate(_ v: Double) -> String { String(format: "%.2f", v) }

    /// A metric value in [0, 1] with three decimals, or "undefined".
    static func metric(_ v: Double?) -> String {
        guard let v else { return "undefined" }
        return String(format: "%.3f", v)
    }

    /// A score or threshold compactly: fixed notation for ordinary magnitudes, scientific for
    /// very small or very large ones.
    static func score(_ v: Double) -> String {
        let a = abs(v)
        if a != 0 && (a < 1e-3 || a >= 1e6) { return String(format: "%.3g", v) }
        var text = String(format: "%.4f", v)
        while text.contains(".") && (text.hasSuffix("0") || text.hasSuffix(".")) { text.removeLast() }
        return text == "-0" ? "0" : text
    }
}

/// Round tick positions for an axis ("nice numbers": steps of 1, 2 or 5 times a power of ten).
enum NiceTicks {
    static func ticks(from low: Double, to high: Double, target: Int = 6) -> (values: [Double], step: Double) {
        guard high > low, low.isFinite, high.isFinite else { return ([low], 1) }
        let rough = (high - low) / Double(max(1, target - 1))
        let magnitude = pow(10, floor(log10(rough)))
        let fraction = rough / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        let step = nice * magnitude
        var values: [Double] = []
        var k = ceil(low / step - 1e-9)
        while k * step <= high + step * 1e-9 && values.count < 100 {
            values.append(k * step)
            k += 1
        }
        return (values, step)
    }

    /// Tick label with as many decimals as the step needs.
    static func label(_ value: Double, step: Double) -> String {
        let magnitude = max(abs(value), step)
        if step < 1e-3 || magnitude >= 1e6 { return String(format: "%.2g", value) }
        let decimals = max(0, Int(-floor(log10(step) + 1e-9)))
        let text = String(format: "%.\(decimals)f", value)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }
}
