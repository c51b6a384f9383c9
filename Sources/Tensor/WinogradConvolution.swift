import CBLAS
import CHostKernels

/// 3x3 convolutions with stride 1 and padding 1 by Winograd's minimal filtering F(4x4, 3x3)
/// (`CHostKernels/winograd.c`): 36 multiply-adds per 4x4 block of outputs and input channel
/// instead of 144, as 36 matrix products over transformed tiles. It serves the forward pass
/// (with bias and ReLU fused for inference), with each filter turned 180 degrees and the
/// channels swapped the data gradient, and, with the output gradient's tiles transformed too and
/// the products summed over tiles (on OpenBLAS), the weight gradient. The CPU backend offers it beside oneDNN and im2col where
/// the shape allows, and keeps it for a shape only where it measured fastest.
enum WinogradConvolution {
    /// The vector width its products run in on this machine: 512 (AVX-512, panels of 48 tiles),
    /// 256 (AVX2, panels of 24), 0 where it does not run. Each output adds the same products in
    /// the same order in either, so both give the same bits.
    static var vectorBits: Int { Int(chorus_winograd_vector_bits()) }

    /// Keeps the products to AVX2 (256) even where AVX-512 is present, or lets them use the widest
    /// vectors there are (512): for tests and benchmarks that compare the two in one process.
    static func limitVectors(_ bits: Int) { chorus_winograd_limit_vectors(Int32(bits)) }

    /// Whether it computes this convolution on this CPU (needs AVX2 + FMA; output channels in
    /// fours). `dataGradient`: the layer's data gradient, whose outputs are the layer's inputs.
    static func serves(_ g: ConvGeometry, outChannels: Int, dataGradient: Bool) -> Bool {
        guard g.kernelH == 3, g.kernelW == 3, g.stride == 1, g.padding == 1, g.height > 0, g.width > 0 else { return false }
        return dataGradient ? chorus_winograd_supported(Int32(outChannels), Int32(g.channels)) != 0
                            : chorus_winograd_supported(Int32(g.channels), Int32(outChannels)) != 0
    }

    /// Whether it computes this convolution's weight gradient on this CPU (AVX2 + FMA).
    static func servesWeightGradient(_ g: ConvGeometry) -> Bool {
        g.kernelH == 3 && g.kernelW == 3 && g.stride == 1 && g.padding == 1 && g.height > 0 && g.width > 0 && g.channels > 0
            && chorus_winograd_supported(1, 4) != 0
    }

    /// y = relu?(bias + x * w) for `images` images of `channels` x `height` x `width`; w is
    /// [outChannels][channels][3][3] forward, or for `dataGradient` the layer's weights
    /// [channels][outChannels][3][3] (x is then the output gradient, y the input gradient).
    /// Images are split between `threads` cores; scratch comes from `pool`.
    static func convolve(images: Int, channels: Int, height: Int, width: Int, outChannels: Int, dataGradient: Bool,
                         x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool,
                         y: UnsafeMutablePointer<Float>, threads: Int, pool: HostPool) {
        // 32-byte aligned: large transformed weights are written with streaming stores.
        let weights = Storage(hostCount: chorus_winograd_weights_size(Int32(channels), Int32(outChannels)) + 8, pool: pool)
        let u = UnsafeMutablePointer<Float>(bitPattern: (Int(bitPattern: weights.host!) + 31) & ~31)!
        let groups = outChannels / 4
        let weightParts = max(1, min(threads, groups))
        CoreTeam.forEach(weightParts, threads: threads) { p in
            let first = groups * p / weightParts, last = groups * (p + 1) / weightParts
            chorus_winograd_weights(w, u, Int32(channels), Int32(outChannels), dataGradient ? 1 : 0, Int32(first), Int32(last - first))
        }
        let parts = max(1, min(threads, images))
        let vectors = chorus_winograd_vector_bits()  // read once: the scratch's size and the calls' layout follow it
        let perPart = chorus_winograd_scratch(Int32(images), Int32(channels), Int32(height), Int32(width), Int32(outChannels), vectors)
        let scratch = Storage(hostCount: parts * perPart, pool: pool), s = scratch.host!
        CoreTeam.forEach(parts, threads: threads) { p in
            let first = images * p / parts, last = images * (p + 1) / parts
            chorus_winograd_convolve(x, u, bias, relu ? 1 : 0, y, s + p * perPart, Int32(first), Int32(last - first),
                                     Int32(images), Int32(channels), Int32(height), Int32(width), Int32(outChannels), vectors)
        }
        withExtendedLifetime((weights, scratch)) {}
    }

    /// dw ([outChannels][channels][3][3], overwritten) = the weight gradient of the layer whose
    /// input is x ([images][channels][height][width]) and output gradient dy
    /// ([images][outChannels][height][width]). Chunks of images are padded and transformed split
    /// between `threads` cores, then the 36 products run one per core at a time, each summing over
    /// the chunk's tiles in float32 and adding to the chunks before in float64.
    static func weightGradient(images: Int, channels: Int, height: Int, width: Int, outChannels: Int,
                               x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
                               threads: Int, pool: HostPool) {
        guard images > 0 else { return dw.update(repeating: 0, count: outChannels * channels * 9) }  // no images: no gradient
        let plan = chorus_winograd_gradient_layout(Int32(images), Int32(channels), Int32(height), Int32(width), Int32(outChannels))
        let scratch = Storage(hostCount: plan.scratch, pool: pool), s = scratch.host!
        // dU in float64 (two floats a value), each core's products in float32 before they are added.
        let size = outChannels * channels
        let sums = Storage(hostCount: 2 * 36 * size, pool: pool)
        let du = UnsafeMutableRawPointer(sums.host!).bindMemory(to: Double.self, capacity: 36 * size)
        let parts = max(1, threads)
        let products = Storage(hostCount: parts * size, pool: pool), product = products.host!
        let (c, k, h, w) = (Int32(channels), Int32(outChannels), Int32(height), Int32(width))
        withUnsafePointer(to: plan) { plan in
            var first = 0
            while first < images {
                let count = min(Int(plan.pointee.images), images - first)
                CoreTeam.forEach(parts, threads: threads) { p in
                    chorus_winograd_gradient_pad(x, dy, s, plan, Int32(first), Int32(count), Int32(p), Int32(parts), c, h, w, k)
                }
                CoreTeam.forEach(parts, threads: threads) { p in
                    chorus_winograd_gradient_transform(s, plan, Int32(count), Int32(p), Int32(parts), c, h, w, k)
                }
                let n = (count * Int(plan.pointee.tiles_per_image) + 7) / 8 * 8, ld = Int32(plan.pointee.tiles)
                let v = s + plan.pointee.v_offset, m = s + plan.pointee.m_offset, firstChunk = first == 0
                CoreTeam.forEach(parts, threads: threads) { p in
                    let mine = product + p * size
                    for point in stride(from: p, to: 36, by: parts) {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, k, c, Int32(n), 1, m + point * plan.pointee.point_m, ld,
                                    v + point * plan.pointee.point_v, ld, 0, mine, c)
                        let sum = du + point * size
                        if firstChunk { for i in 0..<size { sum[i] = Double(mine[i]) } } else { for i in 0..<size { sum[i] += Double(mine[i]) } }
                    }
                }
                first += count
            }
        }
        let finishParts = max(1, min(threads, outChannels))
        CoreTeam.forEach(finishParts, threads: threads) { p in
            let first = outChannels * p / finishParts, last = outChannels * (p + 1) / finishParts
            chorus_winograd_gradient_finish(du, dw, c, k, Int32(first), Int32(last - first))
        }
        withExtendedLifetime((scratch, sums, products)) {}
    }
}
