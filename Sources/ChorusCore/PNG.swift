import Foundation

/// A minimal PNG encoder (8-bit grayscale or RGB, stored/uncompressed deflate blocks, CRC and
/// Adler checksums), enough for spectrogram images and plots with no image library.
public struct RGBImage {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]  // row-major RGB

    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { pixels[3 * i] = fill.0; pixels[3 * i + 1] = fill.1; pixels[3 * i + 2] = fill.2 }
    }

    public mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = 3 * (y * width + x)
        pixels[i] = c.0; pixels[i + 1] = c.1; pixels[i + 2] = c.2
    }
}

public enum PNG {
    public static func encode(_ image: RGBImage) -> Data {
        encode(width: image.width, height: image.height, channels: 3, pixels: image.pixels)
    }

    /// `pixels`: row-major, `channels` bytes per pixel (1 = gray, 3 = RGB).
    public static func encode(width: Int, height: Int, channels: Int, pixels: [UInt8]) -> Data {
        precondition(pixels.count == width * height * channels)
        var raw = [UInt8]()
        raw.reserveCapacity((width * channels + 1) * height)
        for y in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(y * width * channels)..<((y + 1) * width * channels)])
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var ihdr = [UInt8]()
        ihdr += be32(UInt32(width)); ihdr += be32(UInt32(height))
        ihdr += [8, channels == 1 ? 0 : 2, 0, 0, 0]
        png.append(chunk("IHDR", ihdr))
        png.append(chunk("IDAT", zlibStored(raw)))
        png.append(chunk("IEND", []))
        return png
    }

    public static func write(_ image: RGBImage, to path: String) throws {
        try AtomicFile.write(encode(image), to: path)
    }

    private static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }

    private static func chunk(_ type: String, _ body: [UInt8]) -> Data {
        let typeBytes = Array(type.utf8)
        var d = Data(be32(UInt32(body.count)))
        d.append(contentsOf: typeBytes)
        d.append(contentsOf: body)
        d.append(contentsOf: be32(crc32(typeBytes + body)))
        return d
    }

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xffffffff
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xffffffff
    }

    private static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var i = 0
        repeat {
            let n = min(65535, data.count - i)
            let final: UInt8 = (i + n >= data.count) ? 1 : 0
            out.append(final)
            out += [UInt8(n & 0xff), UInt8(n >> 8), UInt8(~n & 0xff), UInt8((~n >> 8) & 0xff)]
            out += data[i..<(i + n)]
            i += n
        } while i < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        out += be32((b << 16) | a)
        return out
    }
}

/// Perceptual colormap (viridis-like, 5 anchor points) for spectrograms and plots.
public enum Colormap {
    public static let viridisAnchors: [(Double, Double, Double)] = [
        (0.267, 0.005, 0.329), (0.229, 0.322, 0.546), (0.128, 0.567, 0.551), (0.369, 0.789, 0.383), (0.993, 0.906, 0.144),
    ]

    /// Maps t in [0, 1] to an RGB colour.
    public static func viridis(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let x = min(max(t, 0), 1) * Double(viridisAnchors.count - 1)
        let i = min(Int(x), viridisAnchors.count - 2)
        let f = x - Double(i)
        let a = viridisAnchors[i], b = viridisAnchors[i + 1]
        func c(_ u: Double, _ v: Double) -> UInt8 { UInt8(max(0, min(255, ((u + (v - u) * f) * 255).rounded()))) }
        return (c(a.0, b.0), c(a.1, b.1), c(a.2, b.2))
    }

    public static func gray(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let v = UInt8(max(0, min(255, (t * 255).rounded())))
        return (v, v, v)
    }
}
