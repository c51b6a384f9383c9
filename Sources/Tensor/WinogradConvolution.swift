import CHostKernels

/// 3x3 convolutions with stride 1 and padding 1 by Winograd's minimal filtering F(4x4, 3x3)
/// (`CHostKernels/winograd.c`): 36 multiply-adds per 4x4 block of outputs and input channel
/// instead of 144, as 36 matrix products over transformed tiles. It serves the forward pass
/// (with bias and ReLU fused for inference) and, with each filter turned 180 degrees and the
/// channels swapped, the data gradient. The CPU backend offers it beside oneDNN and im2col where
/// the shape allows, and keeps it for a shape only where it measured fastest.
enum WinogradConvolution {
    /// Whether it computes this convolution on this CPU (needs AVX2 + FMA; output channels in
    /// fours). `dataGradient`: the layer's data gradient, whose outputs are the layer's inputs.
    static func serves(_ g: ConvGeometry, outChannels: Int, dataGradient: Bool) -> Bool {
        guard g.kernelH == 3, g.kernelW == 3, g.stride == 1, g.padding == 1, g.height > 0, g.width > 0 else { return false }
        return dataGradient ? chorus_winograd_supported(Int32(outChannels), Int32(g.channels)) != 0
                            : chorus_winograd_supported(Int32(g.channels), Int32(outChannels)) != 0
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
        let perPart = chorus_winograd_scratch(Int32(images), Int32(channels), Int32(height), Int32(width), Int32(outChannels))
        let scratch = Storage(hostCount: parts * perPart, pool: pool), s = scratch.host!
        CoreTeam.forEach(parts, threads: threads) { p in
            let first = images * p / parts, last = images * (p + 1) / parts
            chorus_winograd_convolve(x, u, bias, relu ? 1 : 0, y, s + p * perPart, Int32(first), Int32(last - first),
                                     Int32(images), Int32(channels), Int32(height), Int32(width), Int32(outChannels))
        }
        withExtendedLifetime((weights, scratch)) {}
    }
}
