import Foundation

/// Float64 reference implementations the kernels are checked against.
enum Reference {
    static func gemm(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int, transA: Bool, transB: Bool) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let av = transA ? a[p * m + i] : a[i * k + p]
                let bv = transB ? b[j * k + p] : b[p * n + j]
                s += av * bv
            }
            c[i * n + j] = s
        } }
        return c
    }

    static func conv2d(_ x: [Double], _ w: [Double], _ bias: [Double]?, n: Int, c: Int, h: Int, wd: Int, o: Int, kh: Int, kw: Int, stride: Int, pad: Int) -> [Double] {
        let oh = (h + 2 * pad - kh) / stride + 1, ow = (wd + 2 * pad - kw) / stride + 1
        var y = [Double](repeating: 0, count: n * o * oh * ow)
        for b in 0..<n { for oc in 0..<o { for yy in 0..<oh { for xx in 0..<ow {
            var s = bias?[oc] ?? 0
            for ic in 0..<c { for i in 0..<kh { for j in 0..<kw {
                let ih = yy * stride - pad + i, iw = xx * stride - pad + j
                if ih < 0 || ih >= h || iw < 0 || iw >= wd { continue }
                s += x[((b * c + ic) * h + ih) * wd + iw] * w[((oc * c + ic) * kh + i) * kw + j]
            } } }
            y[((b * o + oc) * oh + yy) * ow + xx] = s
        } } } }
        return y
    }

    /// Gradients of `conv2d` (no bias) for output gradient `dy`: (dL/dx, dL/dw).
    static func conv2dBackward(_ x: [Double], _ w: [Double], _ dy: [Double], n: Int, c: Int, h: Int, wd: Int, o: Int, k: Int,
                               stride: Int, pad: Int) -> (dx: [Double], dw: [Double]) {
        let oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        for b in 0..<n { for oc in 0..<o { for yy in 0..<oh { for xx in 0..<ow {
            let g = dy[((b * o + oc) * oh + yy) * ow + xx]
            for ic in 0..<c { for i in 0..<k { for j in 0..<k {
                let ih = yy * stride - pad + i, iw = xx * stride - pad + j
                if ih < 0 || ih >= h || iw < 0 || iw >= wd { continue }
                let xi = ((b * c + ic) * h + ih) * wd + iw, wi = ((oc * c + ic) * k + i) * k + j
                dx[xi] += g * w[wi]
                dw[wi] += g * x[xi]
            } } }
        } } } }
        return (dx, dw)
    }

    static func maxpool(_ x: [Double], planes: Int, h: Int, w: Int, k: Int, s: Int, p: Int) -> [Double] {
        let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
        var y = [Double](repeating: 0, count: planes * oh * ow)
        for q in 0..<planes { for yy in 0..<oh { for xx in 0..<ow {
            var best = -Double.infinity
            for i in 0..<k { for j in 0..<k {
                let ih = yy * s - p + i, iw = xx * s - p + j
                if ih < 0 || ih >= h || iw < 0 || iw >= w { continue }
                best = max(best, x[(q * h + ih) * w + iw])
            } }
            y[(q * oh + yy) * ow + xx] = best
        } } }
        return y
    }

    static func batchnormTrain(_ x: [Double], gamma: [Double], beta: [Double], n: Int, c: Int, plane: Int, eps: Double) -> [Double] {
        var y = x
        for ch in 0..<c {
            var s = 0.0, s2 = 0.0
            for b in 0..<n { for j in 0..<plane { let v = x[(b * c + ch) * plane + j]; s += v; s2 += v * v } }
            let m = Double(n * plane), mean = s / m, variance = s2 / m - mean * mean
            for b in 0..<n { for j in 0..<plane {
                let i = (b * c + ch) * plane + j
                y[i] = (x[i] - mean) / (variance + eps).squareRoot() * gamma[ch] + beta[ch]
            } }
        }
        return y
    }

    static func logSoftmax(_ x: [Double], rows: Int, cols: Int) -> [Double] {
        var y = x
        for r in 0..<rows {
            let row = x[(r * cols)..<((r + 1) * cols)]
            let m = row.max()!
            let lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
            for j in 0..<cols { y[r * cols + j] = x[r * cols + j] - lse }
        }
        return y
    }

    static func softmaxCE(_ x: [Double], _ t: [Double], rows: Int, cols: Int) -> Double {
        let ls = logSoftmax(x, rows: rows, cols: cols)
        return -zip(ls, t).reduce(0) { $0 + $1.0 * $1.1 } / Double(rows)
    }

    static func bce(_ x: [Double], _ t: [Double]) -> Double {
        zip(x, t).reduce(0) { acc, p in acc + max(p.0, 0) - p.0 * p.1 + Foundation.log(1 + Foundation.exp(-abs(p.0))) } / Double(x.count)
    }
}
