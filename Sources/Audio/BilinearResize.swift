import Foundation

/// Bilinear resizing of a single-channel row-major image with PyTorch's
/// `F.interpolate(mode="bilinear", align_corners=False)` semantics (no antialiasing): source
/// coordinate `(dst + 0.5) * in/out - 0.5`, clamped at 0; the upper neighbour clamped at the edge.
public enum BilinearResize {
    public static func resize(_ image: [Float], height: Int, width: Int, toHeight outHeight: Int, width outWidth: Int) -> [Float] {
        precondition(image.count == height * width, "image has \(image.count) values, not \(height)x\(width)")
        let rows = taps(input: height, output: outHeight)
        let columns = taps(input: width, output: outWidth)
        var result = [Float](repeating: 0, count: outHeight * outWidth)
        image.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { out in
                for (y, r) in rows.enumerated() {
                    let top = r.low * width, bottom = r.high * width
                    for (x, c) in columns.enumerated() {
                        let upper = (1 - c.weight) * source[top + c.low] + c.weight * source[top + c.high]
                        let lower = (1 - c.weight) * source[bottom + c.low] + c.weight * source[bottom + c.high]
                        out[y * outWidth + x] = (1 - r.weight) * upper + r.weight * lower
                    }
                }
            }
        }
        return result
    }

    struct Tap { let low: Int; let high: Int; let weight: Float }

    /// Neighbour indices and the weight of the upper one, computed in Float like PyTorch's CPU kernel.
    static func taps(input: Int, output: Int) -> [Tap] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { i in
            let source = max(scale * (Float(i) + 0.5) - 0.5, 0)
            let low = min(Int(source), input - 1)
            let high = low < input - 1 ? low + 1 : low
            return Tap(low: low, high: high, weight: source - Float(low))
        }
    }
}
