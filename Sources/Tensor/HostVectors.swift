import CHostKernels

/// Vector loops over host memory for the CPU backend's memory-bound passes (ReLU, sums, batch
/// norm; max pooling is in CHostKernels). The compiler leaves the scalar forms of these loops scalar: selects on one
/// array chosen by another, and float64 sums it may not reorder. Written over `SIMD8<Float>` /
/// `SIMD4<Double>`, they run a vector at a time with the same per-element arithmetic, so every
/// element-wise result is bit-for-bit the scalar one; only the float64 sums change their order.
enum HostVectors {
    typealias Lanes = SIMD8<Float>
    static let width = Lanes.scalarCount
    /// Whether the float64 sums run as AVX2 + FMA (CHostKernels: where the CPU has them and tests
    /// do not ask for the portable loops); elsewhere the loops below, for the baseline instruction set.
    static var sumsInAVX2: Bool { chorus_host_kernels_vectors() != 0 }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
    }

    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> Lanes { load(UnsafePointer(p)) }

    @inline(__always) static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
    }

    /// `y[i] = max(x[i], 0)` for i in lo..<hi, as `Swift.max(x, 0)` (NaN stays NaN, -0 becomes 0).
    @inline(__always) static func relu(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int) {
        var i = lo
        while i + width <= hi {
            let v = load(x + i)
            store(v.replacing(with: 0, where: v .<= 0), y + i)
            i += width
        }
        while i < hi { y[i] = max(x[i], 0); i += 1 }
    }

    /// `dx[i] = y[i] > 0 ? dy[i] : 0` for i in lo..<hi.
    @inline(__always) static func reluBackward(_ y: UnsafeMutablePointer<Float>, _ dy: UnsafeMutablePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                               _ lo: Int, _ hi: Int) {
        var i = lo
        while i + width <= hi {
            store(load(dy + i).replacing(with: 0, where: .!(load(y + i) .> 0)), dx + i)
            i += width
        }
        while i < hi { dx[i] = y[i] > 0 ? dy[i] : 0; i += 1 }
    }

    /// `out[i] = a[i] + b[i]` (or `*` when `multiply`) for i in lo..<hi.
    @inline(__always) static func combine(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                          _ lo: Int, _ hi: Int, multiply: Bool) {
        var i = lo
        if multiply {
            while i + width <= hi { store(load(a + i) * load(b + i), out + i); i += width }
            while i < hi { out[i] = a[i] * b[i]; i += 1 }
        } else {
            while i + width <= hi { store(load(a + i) + load(b + i), out + i); i += width }
            while i < hi { out[i] = a[i] + b[i]; i += 1 }
        }
    }

    /// A batch norm's output `(x - mean) * scale + shift` for one channel, followed by a fused
    /// ReLU: computed by one expression, so the backward recomputes exactly which outputs the
    /// forward kept positive.
    struct BatchNormOutput {
        var mean, scale, shift: Float
        @inline(__always) func callAsFunction(_ x: Lanes) -> Lanes { (x - mean) * scale + shift }
        @inline(__always) func callAsFunction(_ x: Float) -> Float { (x - mean) * scale + shift }
    }

    /// `dst[j] = (src[j] - mean) * scale + shift` for j in 0..<count, then `max(·, 0)` when `relu`.
    @inline(__always) static func affine(_ src: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int,
                                         _ f: BatchNormOutput, relu: Bool = false) {
        var j = 0
        if relu {
            while j + width <= count {
                let v = f(load(src + j))
                store(v.replacing(with: 0, where: v .<= 0), dst + j)
                j += width
            }
            while j < count { dst[j] = max(f(src[j]), 0); j += 1 }
            return
        }
        while j + width <= count {
            store(f(load(src + j)), dst + j)
            j += width
        }
        while j < count { dst[j] = f(src[j]); j += 1 }
    }

    /// `dy` where the fused ReLU's output was positive (all of it when `relu` is nil).
    @inline(__always) static func masked(_ dy: Lanes, _ x: Lanes, _ relu: BatchNormOutput?) -> Lanes {
        guard let relu else { return dy }
        return dy.replacing(with: 0, where: .!(relu(x) .> 0))
    }

    @inline(__always) static func masked(_ dy: Float, _ x: Float, _ relu: BatchNormOutput?) -> Float {
        guard let relu else { return dy }
        return relu(x) > 0 ? dy : 0
    }

    /// Sum of `count` floats accumulated in float64, four lanes at a time.
    @inline(__always) static func sumInDouble(_ p: UnsafeMutablePointer<Float>, _ count: Int) -> Double {
        if sumsInAVX2 { return chorus_sum_f64(p, count) }
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
        var j = 0
        while j + 8 <= count {
            let v = load(p + j)
            s0 += SIMD4<Double>(v.lowHalf); s1 += SIMD4<Double>(v.highHalf)
            j += 8
        }
        var tail = 0.0
        while j < count { tail += Double(p[j]); j += 1 }
        return (s0 + s1).sum() + tail
    }

    /// Sum of `(p[j] - mean)^2` accumulated in float64.
    @inline(__always) static func squaredDeviationsInDouble(_ p: UnsafeMutablePointer<Float>, _ count: Int, from mean: Double) -> Double {
        if sumsInAVX2 { return chorus_squared_deviations_f64(p, count, mean) }
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
        var j = 0
        while j + 8 <= count {
            let v = load(p + j)
            let d0 = SIMD4<Double>(v.lowHalf) - mean, d1 = SIMD4<Double>(v.highHalf) - mean
            s0 += d0 * d0; s1 += d1 * d1
            j += 8
        }
        var tail = 0.0
        while j < count { let d = Double(p[j]) - mean; tail += d * d; j += 1 }
        return (s0 + s1).sum() + tail
    }

    /// The sums `Σ dy` and `Σ dy·(x - mean)` in float64 (batch norm's backward reduction), dy
    /// masked by the fused ReLU when there is one.
    @inline(__always) static func gradientSums(_ x: UnsafeMutablePointer<Float>, _ dy: UnsafeMutablePointer<Float>, _ count: Int,
                                               mean: Double, relu: BatchNormOutput?) -> (sum: Double, dot: Double) {
        if sumsInAVX2 {
            var sum = 0.0, dot = 0.0
            chorus_gradient_sums_f64(x, dy, count, mean, relu == nil ? 0 : 1, relu?.mean ?? 0, relu?.scale ?? 0, relu?.shift ?? 0, &sum, &dot)
            return (sum, dot)
        }
        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>(), b0 = SIMD4<Double>(), b1 = SIMD4<Double>()
        var j = 0
        while j + 8 <= count {
            let v = load(x + j), d = masked(load(dy + j), v, relu)
            let d0 = SIMD4<Double>(d.lowHalf), d1 = SIMD4<Double>(d.highHalf)
            a0 += d0; a1 += d1
            b0 += d0 * (SIMD4<Double>(v.lowHalf) - mean); b1 += d1 * (SIMD4<Double>(v.highHalf) - mean)
            j += 8
        }
        var a = 0.0, b = 0.0
        while j < count { let d = Double(masked(dy[j], x[j], relu)); a += d; b += d * (Double(x[j]) - mean); j += 1 }
        return ((a0 + a1).sum() + a, (b0 + b1).sum() + b)
    }
}
