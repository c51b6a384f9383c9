import ChorusCore
import Foundation

/// A rectangle of an `RGBImage` in which one series is drawn as a line, with optional shaded
/// x ranges and a frame. No text: axes run from the given limits, left to right and bottom to top.
struct LinePlot {
    var x0: Int, y0: Int, width: Int, height: Int
    var xRange: ClosedRange<Double>
    var yRange: ClosedRange<Double>

    static let frameColor: (UInt8, UInt8, UInt8) = (60, 60, 60)
    static let lineColor: (UInt8, UInt8, UInt8) = (31, 119, 180)
    static let shadeColor: (UInt8, UInt8, UInt8) = (255, 221, 170)

    func column(_ x: Double) -> Int {
        let span = xRange.upperBound - xRange.lowerBound
        return x0 + Int(((x - xRange.lowerBound) / (span > 0 ? span : 1) * Double(width - 1)).rounded())
    }

    func row(_ y: Double) -> Int {
        let span = yRange.upperBound - yRange.lowerBound
        let fraction = min(1, max(0, (y - yRange.lowerBound) / (span > 0 ? span : 1)))
        return y0 + height - 1 - Int((fraction * Double(height - 1)).rounded())
    }

    func shade(_ range: ClosedRange<Double>, on image: inout RGBImage) {
        let a = max(x0, column(range.lowerBound)), b = min(x0 + width - 1, column(range.upperBound))
        guard a <= b else { return }
        for x in a...b { for y in y0..<(y0 + height) { image.set(x, y, LinePlot.shadeColor) } }
    }

    func frame(on image: inout RGBImage) {
        for x in x0..<(x0 + width) { image.set(x, y0, LinePlot.frameColor); image.set(x, y0 + height - 1, LinePlot.frameColor) }
        for y in y0..<(y0 + height) { image.set(x0, y, LinePlot.frameColor); image.set(x0 + width - 1, y, LinePlot.frameColor) }
    }

    /// Draws `(xs[i], ys[i])` joined by straight segments; many points per column become a
    /// vertical min–max bar, so long series keep their peaks.
    func line(xs: [Double], ys: [Double], on image: inout RGBImage) {
        var previous: (Int, Int)?
        for (x, y) in zip(xs, ys) where y.isFinite {
            let point = (column(x), row(y))
            if let p = previous { segment(from: p, to: point, on: &image) } else { image.set(point.0, point.1, LinePlot.lineColor) }
            previous = point
        }
    }

    private func segment(from a: (Int, Int), to b: (Int, Int), on image: inout RGBImage) {
        let steps = max(abs(b.0 - a.0), abs(b.1 - a.1), 1)
        for s in 0...steps {
            let t = Double(s) / Double(steps)
            image.set(a.0 + Int((Double(b.0 - a.0) * t).rounded()), a.1 + Int((Double(b.1 - a.1) * t).rounded()), LinePlot.lineColor)
        }
    }
}

/// The `--plot` picture of one recording's RIBBIT result: on top the net amplitude series over
/// the whole recording (the best clip shaded), below the Welch PSD of the best clip from 0 to
/// the amplitude series' Nyquist frequency (the pulse-rate range shaded).
public enum RibbitPlot {
    public static func image(_ result: RibbitResult, parameters: RibbitParameters, width: Int = 1000, height: Int = 600) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        let margin = 20, panelHeight = (height - 3 * margin) / 2
        let series = result.amplitude
        let seriesTop = Double(series.values.max() ?? 0)
        let top = LinePlot(x0: margin, y0: margin, width: width - 2 * margin, height: panelHeight,
                           xRange: 0...max(series.audioDuration, 1e-9), yRange: 0...max(seriesTop, 1e-30))
        if let best = result.bestClipIndex { top.shade(result.clips[best].start...result.clips[best].end, on: &image) }
        // At most a few points per pixel column: min and max of each bucket.
        let buckets = max(1, series.values.count / (2 * top.width))
        var xs: [Double] = [], ys: [Double] = []
        var i = 0
        while i < series.values.count {
            let slice = series.values[i..<min(series.values.count, i + buckets)]
            let t = series.time(ofFrame: i)
            xs += [t, t]
            ys += [Double(slice.min() ?? 0), Double(slice.max() ?? 0)]
            i += buckets
        }
        top.line(xs: xs, ys: ys, on: &image)
        top.frame(on: &image)

        let psdTop = result.bestClipPSD.max() ?? 0
        let bottom = LinePlot(x0: margin, y0: 2 * margin + panelHeight, width: width - 2 * margin, height: panelHeight,
                              xRange: 0...max(series.rate / 2, 1e-9), yRange: 0...max(psdTop, 1e-30))
        bottom.shade(parameters.pulseRateRange.low...parameters.pulseRateRange.high, on: &image)
        bottom.line(xs: result.bestClipFrequencies, ys: result.bestClipPSD, on: &image)
        bottom.frame(on: &image)
        return image
    }

    public static func write(_ result: RibbitResult, parameters: RibbitParameters, to path: String) throws {
        try PNG.write(image(result, parameters: parameters), to: path)
    }
}
