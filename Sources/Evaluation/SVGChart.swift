import Foundation

/// How a legend entry is drawn.
public enum LegendSymbol: Sendable {
    case line
    case dashedLine
    case box(opacity: Double)
    case dot
}

/// A legend entry: a symbol in a colour and a label.
public struct LegendEntry: Sendable {
    public var label: String
    public var color: String
    public var symbol: LegendSymbol

    public init(_ label: String, color: String, symbol: LegendSymbol = .line) {
        self.label = label
        self.color = color
        self.symbol = symbol
    }
}

/// Colours used by every chart (colour-blind friendly blue/orange pair).
public enum ChartColors {
    public static let blue = "#1f6fd1"
    public static let orange = "#e4730b"
    public static let green = "#2e9e55"
    public static let gray = "#6b7280"
    public static let red = "#c43c3c"
    static let grid = "#e5e7eb"
    static let axis = "#374151"
    static let text = "#111827"
}

/// A self-contained SVG chart: title, legend row, frame, grid, ticks and axis labels, with
/// plot elements placed in data coordinates. Uses no ids, so several can be inlined in one page.
struct SVGChart {
    let width = 540.0
    let height = 380.0
    let left = 64.0, right = 18.0, top = 66.0, bottom = 54.0

    var title: String
    var xLabel: String
    var yLabel: String
    var xDomain: ClosedRange<Double>
    var yDomain: ClosedRange<Double>
    var legend: [LegendEntry] = []
    private var body: [String] = []

    init(title: String, xLabel: String, yLabel: String, xDomain: ClosedRange<Double>, yDomain: ClosedRange<Double>) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xDomain = SVGChart.widened(xDomain)
        self.yDomain = SVGChart.widened(yDomain)
    }

    /// A domain of zero width is widened so that a single value sits in the middle.
    static func widened(_ d: ClosedRange<Double>) -> ClosedRange<Double> {
        guard d.lowerBound.isFinite, d.upperBound.isFinite else { return 0...1 }
        if d.upperBound > d.lowerBound { return d }
        let pad = d.lowerBound == 0 ? 0.5 : abs(d.lowerBound) * 0.1
        return (d.lowerBound - pad)...(d.upperBound + pad)
    }

    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }

    /// Pixel position of a data x (clamped to the plot area).
    func px(_ x: Double) -> Double {
        let t = (x - xDomain.lowerBound) / (xDomain.upperBound - xDomain.lowerBound)
        return left + min(max(t, 0), 1) * plotWidth
    }

    /// Pixel position of a data y (clamped to the plot area).
    func py(_ y: Double) -> Double {
        let t = (y - yDomain.lowerBound) / (yDomain.upperBound - yDomain.lowerBound)
        return top + (1 - min(max(t, 0), 1)) * plotHeight
    }

    /// A polyline through data points.
    mutating func addPath(_ points: [(Double, Double)], color: String, width strokeWidth: Double = 2,
                          dashed: Bool = false, opacity: Double = 1) {
        guard let first = points.first else { return }
        var d = "M\(Markup.coordinate(px(first.0))),\(Markup.coordinate(py(first.1)))"
        for p in points.dropFirst() { d += " L\(Markup.coordinate(px(p.0))),\(Markup.coordinate(py(p.1)))" }
        let dash = dashed ? " stroke-dasharray=\"6 4\"" : ""
        body.append("<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(strokeWidth)\" stroke-opacity=\"\(opacity)\" stroke-linejoin=\"round\"\(dash)/>")
    }

    /// A filled rectangle between data corners.
    mutating func addRect(x0: Double, x1: Double, y0: Double, y1: Double, color: String, opacity: Double) {
        let xa = px(min(x0, x1)), xb = px(max(x0, x1)), ya = py(max(y0, y1)), yb = py(min(y0, y1))
        guard xb - xa > 0, yb - ya > 0 else { return }
        body.append("<rect x=\"\(Markup.coordinate(xa))\" y=\"\(Markup.coordinate(ya))\" width=\"\(Markup.coordinate(xb - xa))\" height=\"\(Markup.coordinate(yb - ya))\" fill=\"\(color)\" fill-opacity=\"\(opacity)\" stroke=\"\(color)\" stroke-opacity=\"\(min(1, opacity + 0.3))\" stroke-width=\"0.6\"/>")
    }

    /// A marker dot at a data point.
    mutating func addDot(x: Double, y: Double, color: String, radius: Double = 5) {
        body.append("<circle cx=\"\(Markup.coordinate(px(x)))\" cy=\"\(Markup.coordinate(py(y)))\" r=\"\(radius)\" fill=\"\(color)\" stroke=\"white\" stroke-width=\"1.5\"/>")
    }

    /// A dashed vertical line at data x with a small label at the top.
    mutating func addVerticalMarker(x: Double, label: String, color: String = ChartColors.axis) {
        let x0 = Markup.coordinate(px(x))
        body.append("<line x1=\"\(x0)\" y1=\"\(Markup.coordinate(top))\" x2=\"\(x0)\" y2=\"\(Markup.coordinate(top + plotHeight))\" stroke=\"\(color)\" stroke-width=\"1.2\" stroke-dasharray=\"3 3\"/>")
        let anchorEnd = px(x) > left + plotWidth * 0.75
        let tx = Markup.coordinate(px(x) + (anchorEnd ? -4 : 4))
        body.append("<text x=\"\(tx)\" y=\"\(Markup.coordinate(top + 15))\" font-size=\"12\" fill=\"\(color)\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\" text-anchor=\"\(anchorEnd ? "end" : "start")\">\(Markup.escape(label))</text>")
    }

    /// A centred note in the plot area (e.g. why a curve is missing).
    mutating func addNote(_ text: String) {
        body.append("<text x=\"\(Markup.coordinate(left + plotWidth / 2))\" y=\"\(Markup.coordinate(top + plotHeight / 2))\" font-size=\"15\" fill=\"\(ChartColors.gray)\" stroke=\"white\" stroke-width=\"4\" paint-order=\"stroke\" text-anchor=\"middle\">\(Markup.escape(text))</text>")
    }

    /// The complete `<svg>` element.
    func render() -> String {
        var s: [String] = []
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\" role=\"img\">")
        s.append("<title>\(Markup.escape(title))</title>")
        s.append("<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"white\"/>")
        s.append("<text x=\"\(Markup.coordinate(left))\" y=\"24\" font-size=\"16\" font-weight=\"bold\" fill=\"\(ChartColors.text)\">\(Markup.escape(title))</text>")
        s.append(contentsOf: legendElements())
        s.append(contentsOf: gridAndAxes())
        s.append(contentsOf: body)
        s.append("<rect x=\"\(Markup.coordinate(left))\" y=\"\(Markup.coordinate(top))\" width=\"\(Markup.coordinate(plotWidth))\" height=\"\(Markup.coordinate(plotHeight))\" fill=\"none\" stroke=\"\(ChartColors.axis)\" stroke-width=\"1\"/>")
        s.append("</svg>")
        return s.joined(separator: "\n") + "\n"
    }

    private func legendElements() -> [String] {
        var s: [String] = []
        var x = left
        let y = 46.0
        for entry in legend {
            switch entry.symbol {
            case .line:
                s.append("<line x1=\"\(Markup.coordinate(x))\" y1=\"\(y)\" x2=\"\(Markup.coordinate(x + 20))\" y2=\"\(y)\" stroke=\"\(entry.color)\" stroke-width=\"2.5\"/>")
            case .dashedLine:
                s.append("<line x1=\"\(Markup.coordinate(x))\" y1=\"\(y)\" x2=\"\(Markup.coordinate(x + 20))\" y2=\"\(y)\" stroke=\"\(entry.color)\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>")
            case let .box(opacity):
                s.append("<rect x=\"\(Markup.coordinate(x + 3))\" y=\"\(y - 6)\" width=\"14\" height=\"12\" fill=\"\(entry.color)\" fill-opacity=\"\(opacity)\" stroke=\"\(entry.color)\"/>")
            case .dot:
                s.append("<circle cx=\"\(Markup.coordinate(x + 10))\" cy=\"\(y)\" r=\"5\" fill=\"\(entry.color)\" stroke=\"white\" stroke-width=\"1.5\"/>")
            }
            s.append("<text x=\"\(Markup.coordinate(x + 25))\" y=\"\(y + 4)\" font-size=\"13\" fill=\"\(ChartColors.text)\">\(Markup.escape(entry.label))</text>")
            // Approximate text width: 6.9 px per character at 13 px.
            x += 25 + Double(entry.label.count) * 6.9 + 16
        }
        return s
    }

    private func gridAndAxes() -> [String] {
        var s: [String] = []
        let xTicks = NiceTicks.ticks(from: xDomain.lowerBound, to: xDomain.upperBound)
        let yTicks = NiceTicks.ticks(from: yDomain.lowerBound, to: yDomain.upperBound)
        let bottomY = top + plotHeight
        for v in xTicks.values {
            let x = Markup.coordinate(px(v))
            s.append("<line x1=\"\(x)\" y1=\"\(Markup.coordinate(top))\" x2=\"\(x)\" y2=\"\(Markup.coordinate(bottomY))\" stroke=\"\(ChartColors.grid)\" stroke-width=\"1\"/>")
            s.append("<line x1=\"\(x)\" y1=\"\(Markup.coordinate(bottomY))\" x2=\"\(x)\" y2=\"\(Markup.coordinate(bottomY + 5))\" stroke=\"\(ChartColors.axis)\"/>")
            s.append("<text x=\"\(x)\" y=\"\(Markup.coordinate(bottomY + 18))\" font-size=\"12.5\" fill=\"\(ChartColors.axis)\" text-anchor=\"middle\">\(NiceTicks.label(v, step: xTicks.step))</text>")
        }
        for v in yTicks.values {
            let y = Markup.coordinate(py(v))
            s.append("<line x1=\"\(Markup.coordinate(left))\" y1=\"\(y)\" x2=\"\(Markup.coordinate(left + plotWidth))\" y2=\"\(y)\" stroke=\"\(ChartColors.grid)\" stroke-width=\"1\"/>")
            s.append("<line x1=\"\(Markup.coordinate(left - 5))\" y1=\"\(y)\" x2=\"\(Markup.coordinate(left))\" y2=\"\(y)\" stroke=\"\(ChartColors.axis)\"/>")
            s.append("<text x=\"\(Markup.coordinate(left - 8))\" y=\"\(Markup.coordinate(py(v) + 4))\" font-size=\"12.5\" fill=\"\(ChartColors.axis)\" text-anchor=\"end\">\(NiceTicks.label(v, step: yTicks.step))</text>")
        }
        s.append("<text x=\"\(Markup.coordinate(left + plotWidth / 2))\" y=\"\(Markup.coordinate(height - 12))\" font-size=\"14\" fill=\"\(ChartColors.text)\" text-anchor=\"middle\">\(Markup.escape(xLabel))</text>")
        let cy = Markup.coordinate(top + plotHeight / 2)
        s.append("<text x=\"16\" y=\"\(cy)\" font-size=\"14\" fill=\"\(ChartColors.text)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(cy))\">\(Markup.escape(yLabel))</text>")
        return s
    }
}
