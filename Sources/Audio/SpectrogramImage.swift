import ChorusCore
import Foundation

extension Spectrogram {
    /// The CNN input tensor, `p.height * p.width` values row-major in [-1, 1]: rows cropped to
    /// `[minFrequency, maxFrequency]` (nearest rows, inclusive), dB mapped by
    /// `clip((dB - lo) / (hi - lo), 0, 1)`, flipped so row 0 is the highest frequency, resized
    /// bilinearly (align-corners false, no antialias), then `(x - 0.5) / 0.5`.
    public func image(_ p: ImageParameters = .init()) throws -> [Float] {
        try p.validate()
        let (normalized, rows, columns) = try normalizedFlipped(p)
        let resized = BilinearResize.resize(normalized, height: rows, width: columns, toHeight: p.height, width: p.width)
        return resized.map { ($0 - 0.5) / 0.5 }
    }

    /// dB mapped to [0, 1] (clipped) with row 0 = highest frequency, at the spectrogram's own size
    /// after the optional frequency crop.
    public func normalizedFlipped(_ p: ImageParameters) throws -> (values: [Float], rows: Int, columns: Int) {
        try p.validate()
        guard rowCount > 0, columnCount > 0 else {
            throw AudioError.tooShort(reason: "spectrogram is empty (\(rowCount) x \(columnCount))")
        }
        var cropped = self
        if p.minFrequency != nil || p.maxFrequency != nil {
            cropped = try bandpassed(minFrequency: p.minFrequency ?? frequencies[0], maxFrequency: p.maxFrequency ?? frequencies[rowCount - 1])
        }
        let decibels = cropped.inDecibels()
        let lo = Float(p.dBRange.lowerBound), span = Float(p.dBRange.upperBound - p.dBRange.lowerBound)
        let rows = decibels.rowCount, columns = decibels.columnCount
        var out = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let sourceRow = (rows - 1 - r) * columns, destinationRow = r * columns
            for c in 0..<columns {
                out[destinationRow + c] = min(max((decibels.values[sourceRow + c] - lo) / span, 0), 1)
            }
        }
        return (out, rows, columns)
    }
}

/// Colour maps for spectrogram pictures.
public enum SpectrogramColormap: String, CaseIterable, Sendable, Codable {
    case viridis
    case gray

    func color(_ t: Double) -> (UInt8, UInt8, UInt8) {
        switch self {
        case .viridis: return Colormap.viridis(t)
        case .gray: return Colormap.gray(t)
        }
    }
}

/// Spectrogram pictures for people: low frequencies at the bottom, loud = bright.
public enum SpectrogramImage {
    /// An RGB picture. With `size` (height, width) it shows exactly the CNN tensor of those
    /// parameters; without, one pixel per spectrogram cell.
    public static func render(_ spectrogram: Spectrogram, parameters: ImageParameters = .init(), size: (height: Int, width: Int)? = nil,
                              colormap: SpectrogramColormap = .viridis) throws -> RGBImage {
        let values: [Float], rows: Int, columns: Int
        if let size {
            var p = parameters
            p.height = size.height
            p.width = size.width
            values = try spectrogram.image(p).map { ($0 + 1) / 2 }
            rows = size.height
            columns = size.width
        } else {
            (values, rows, columns) = try spectrogram.normalizedFlipped(parameters)
        }
        var image = RGBImage(width: columns, height: rows)
        for r in 0..<rows {
            for c in 0..<columns { image.set(c, r, colormap.color(Double(values[r * columns + c]))) }
        }
        return image
    }

    /// PNG bytes of `render(...)`.
    public static func png(_ spectrogram: Spectrogram, parameters: ImageParameters = .init(), size: (height: Int, width: Int)? = nil,
                           colormap: SpectrogramColormap = .viridis) throws -> Data {
        PNG.encode(try render(spectrogram, parameters: parameters, size: size, colormap: colormap))
    }

    /// A picture of a network input image exactly as the network gets it: `values` [height*width]
    /// in [-1, 1] (row 0 = highest frequency, as `Spectrogram.image` makes it), one pixel per value;
    /// values outside the range (gain, noise) are clipped for display.
    public static func render(networkInput values: [Float], height: Int, width: Int, colormap: SpectrogramColormap = .viridis) -> RGBImage {
        precondition(values.count >= height * width, "network input of \(values.count) values, picture \(height)x\(width)")
        var image = RGBImage(width: width, height: height)
        for r in 0..<height {
            for c in 0..<width { image.set(c, r, colormap.color(Double(min(1, max(0, (values[r * width + c] + 1) / 2))))) }
        }
        return image
    }

    /// Writes `png(...)` atomically to `path`.
    public static func writePNG(_ spectrogram: Spectrogram, to path: String, parameters: ImageParameters = .init(),
                                size: (height: Int, width: Int)? = nil, colormap: SpectrogramColormap = .viridis) throws {
        try AtomicFile.write(try png(spectrogram, parameters: parameters, size: size, colormap: colormap), to: path)
    }
}
