// Chorus OpenCL kernels. Every kernel has a host wrapper of the same name (camelCase) in
// Sources/Tensor/OpenCLBackend.swift and a float64-checked CPU twin in Sources/Tensor/CPUBackend.swift.
// Forward and backward kernels stand side by side. Tuning parameters arrive as -D defines
// (see Sources/Kernels/KernelTuning.swift); the defaults below are only fallbacks.

// Reductions run one work-group of get_local_size(0) items (a power of two, at most
// REDUCE_WG_MAX, which the host passes from KernelTuning.maxReduceWorkGroup) per sum; the size is
// a launch parameter, tuned on the device without a rebuild.
#ifndef REDUCE_WG_MAX
#define REDUCE_WG_MAX 256
#endif

// ---------------------------------------------------------------------------------------------
// GEMM: C[b] = alpha * op(A[b]) op(B[b]) + beta * C[b], row-major, batched with element strides.
// Three variants, chosen per device type at run time (and by `train-gpu tune` on the device):
//   gemm_tiled   - GPUs: TSM x TSN tiles of C per work-group, TSK-deep tiles of A and B staged in
//                  __local memory, WPTM x WPTN outputs per work-item in registers; reads
//                  transposed operands in place.
//   gemm_packed  - CPU devices (POCL, the default there): operands copied into panels first
//                  (gemm_pack, or conv_pack_* straight from a convolution's images), then
//                  cache-blocked register tiles (below).
//   gemm_blocked - CPU devices: no packing; each work-item keeps an RM x (16*RN) block of C in
//                  float16 registers and streams A and B (untransposed, the host transposes
//                  first) through the cache; fast while the operands fit in it.
// ---------------------------------------------------------------------------------------------
#ifndef TSM
#define TSM 64
#endif
#ifndef TSN
#define TSN 64
#endif
#ifndef TSK
#define TSK 16
#endif
#ifndef WPTM
#define WPTM 4
#endif
#ifndef WPTN
#define WPTN 4
#endif
#define RTSM (TSM / WPTM)
#define RTSN (TSN / WPTN)

// C = alpha * op(A) op(B) + beta * C, op(A) m x k and op(B) k x n, read as stored (transA: A is
// k x m; transB: B is n x k), batched with element strides; tiles in local memory (GPUs).
__kernel void gemm_tiled(const int M, const int N, const int K, const int transA, const int transB, const float alpha,
                         __global const float* A, const int offA, const int lda, const int strideA,
                         __global const float* B, const int offB, const int ldb, const int strideB,
                         const float beta,
                         __global float* C, const int offC, const int ldc, const int strideC)
{
    __local float Asub[TSK][TSM + 1];
    __local float Bsub[TSK][TSN + 1];
    const int batch = get_global_id(2);
    A += offA + (long)batch * strideA;
    B += offB + (long)batch * strideB;
    C += offC + (long)batch * strideC;
    const int tidn = get_local_id(0);
    const int tidm = get_local_id(1);
    const int tid = tidm * RTSN + tidn;
    const int n0 = get_group_id(0) * TSN;
    const int m0 = get_group_id(1) * TSM;
    float acc[WPTM][WPTN];
    for (int i = 0; i < WPTM; i++)
        for (int j = 0; j < WPTN; j++) acc[i][j] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TSK) {
        // Neighbouring work-items load neighbouring addresses: along k for A (m x k) and B^T
        // (n x k) as stored, along m for A^T (k x m), along n for B (k x n).
        for (int l = tid; l < TSM * TSK; l += RTSM * RTSN) {
            const int r = transA ? l % TSM : l / TSK, c = transA ? l / TSM : l % TSK;
            const int gm = m0 + r, gk = k0 + c;
            Asub[c][r] = (gm < M && gk < K) ? A[transA ? (long)gk * lda + gm : (long)gm * lda + gk] : 0.0f;
        }
        for (int l = tid; l < TSK * TSN; l += RTSM * RTSN) {
            const int r = transB ? l % TSK : l / TSN, c = transB ? l / TSK : l % TSN;
            const int gk = k0 + r, gn = n0 + c;
            Bsub[r][c] = (gk < K && gn < N) ? B[transB ? (long)gn * ldb + gk : (long)gk * ldb + gn] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        #pragma unroll
        for (int k = 0; k < TSK; k++) {
            float breg[WPTN];
            #pragma unroll
            for (int j = 0; j < WPTN; j++) breg[j] = Bsub[k][tidn + j * RTSN];
            #pragma unroll
            for (int i = 0; i < WPTM; i++) {
                const float a = Asub[k][tidm + i * RTSM];
                #pragma unroll
                for (int j = 0; j < WPTN; j++) acc[i][j] = fma(a, breg[j], acc[i][j]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < WPTM; i++) {
        const int gm = m0 + tidm + i * RTSM;
        if (gm >= M) continue;
        for (int j = 0; j < WPTN; j++) {
            const int gn = n0 + tidn + j * RTSN;
            if (gn >= N) continue;
            const long idx = (long)gm * ldc + gn;
            C[idx] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * C[idx];
        }
    }
}

#ifndef RM
#define RM 8
#endif
#ifndef RN
#define RN 2
#endif
#ifndef KU
#define KU 1
#endif

__kernel void gemm_blocked(const int M, const int N, const int K, const float alpha,
                           __global const float* A, const int offA, const int lda, const int strideA,
                           __global const float* B, const int offB, const int ldb, const int strideB,
                           const float beta,
                           __global float* C, const int offC, const int ldc, const int strideC)
{
    const int batch = get_global_id(2);
    A += offA + (long)batch * strideA;
    B += offB + (long)batch * strideB;
    C += offC + (long)batch * strideC;
    const int n0 = get_global_id(0) * (16 * RN);
    const int m0 = get_global_id(1) * RM;
    if (n0 >= N || m0 >= M) return;
    if (m0 + RM <= M && n0 + 16 * RN <= N) {
        float16 acc[RM][RN];
        #pragma unroll
        for (int i = 0; i < RM; i++)
            #pragma unroll
            for (int j = 0; j < RN; j++) acc[i][j] = (float16)(0.0f);
        const __global float* a = A + (long)m0 * lda;
        const __global float* b = B + n0;
        int k = 0;
        for (; k + KU <= K; k += KU) {
            #pragma unroll
            for (int u = 0; u < KU; u++) {
                float16 bv[RN];
                #pragma unroll
                for (int j = 0; j < RN; j++) bv[j] = vload16(0, b + (long)(k + u) * ldb + 16 * j);
                #pragma unroll
                for (int i = 0; i < RM; i++) {
                    const float16 av = (float16)(a[(long)i * lda + k + u]);
                    #pragma unroll
                    for (int j = 0; j < RN; j++) acc[i][j] = fma(av, bv[j], acc[i][j]);
                }
            }
        }
        for (; k < K; k++) {
            float16 bv[RN];
            #pragma unroll
            for (int j = 0; j < RN; j++) bv[j] = vload16(0, b + (long)k * ldb + 16 * j);
            #pragma unroll
            for (int i = 0; i < RM; i++) {
                const float16 av = (float16)(a[(long)i * lda + k]);
                #pragma unroll
                for (int j = 0; j < RN; j++) acc[i][j] = fma(av, bv[j], acc[i][j]);
            }
        }
        #pragma unroll
        for (int i = 0; i < RM; i++) {
            #pragma unroll
            for (int j = 0; j < RN; j++) {
                __global float* c = C + (long)(m0 + i) * ldc + n0 + 16 * j;
                float16 r = alpha * acc[i][j];
                if (beta != 0.0f) r += beta * vload16(0, c);
                vstore16(r, 0, c);
            }
        }
    } else {
        // Edge block: scalar path with bounds checks.
        for (int i = 0; i < RM && m0 + i < M; i++) {
            for (int j = 0; j < 16 * RN && n0 + j < N; j++) {
                float s = 0.0f;
                for (int k = 0; k < K; k++) s = fma(A[(long)(m0 + i) * lda + k], B[(long)k * ldb + n0 + j], s);
                const long idx = (long)(m0 + i) * ldc + n0 + j;
                C[idx] = beta == 0.0f ? alpha * s : alpha * s + beta * C[idx];
            }
        }
    }
}

// C = beta * C + the sum of `slices` partial products W[s] (each M x N, contiguous), in order:
// the second half of a split-K GEMM.
__kernel void gemm_splitk_reduce(const int M, const int N, const int slices, __global const float* W,
                                 const float beta, __global float* C, const int offC, const int ldc)
{
    const int j = get_global_id(0), i = get_global_id(1);
    if (i >= M || j >= N) return;
    float sum = 0.0f;
    for (int s = 0; s < slices; s++) sum += W[((long)s * M + i) * N + j];
    const long idx = offC + (long)i * ldc + j;
    C[idx] = beta == 0.0f ? sum : sum + beta * C[idx];
}

// ---------------------------------------------------------------------------------------------
// gemm_packed - CPU devices, for products larger than the caches (as BLIS does it): op(A) and
// op(B) are first copied by `gemm_pack` into panels (A: PM rows, B: NR = PV*PN columns, each
// panel k-major and zero-padded at the edge), so the inner loop reads both contiguously; each
// work-item computes an (MCB*PM) x (NCB*NR) block of C in KC-deep chunks (a KC x NR sliver of B
// stays in L1 while the block's A panels stream from L2), PM x NR outputs at a time in
// floatPV registers.
// ---------------------------------------------------------------------------------------------
#ifndef PM
#define PM 6
#endif
#ifndef PV
#define PV 8
#endif
#ifndef PN
#define PN 2
#endif
#ifndef KC
#define KC 256
#endif
#ifndef MCB
#define MCB 8
#endif
#ifndef NCB
#define NCB 8
#endif
#define NR (PV * PN)
#if PV == 16
#define PVEC float16
#define PLOAD vload16
#define PSTORE vstore16
#elif PV == 4
#define PVEC float4
#define PLOAD vload4
#define PSTORE vstore4
#else
#define PVEC float8
#define PLOAD vload8
#define PSTORE vstore8
#endif

// dst[b] = the rows x depth matrix whose element (r, k) is
//   src[off + b*stride + r*rStride + (k / kBlock)*kBlockStride + (k % kBlock)*kStride]
// in panels of P rows: element (r, k) at (r/P)*depth*P + k*P + r%P, rows past the last padded
// with zeros. A row-major m x k matrix is rStride = ld, kStride = 1 (transposed: 1 and ld), and
// B as its n x k transpose the other way round; kBlock splits k into blocks kBlockStride apart
// (the images of an NCHW tensor read as a channels x images*pixels matrix).
__kernel void gemm_pack(const int rows, const int depth, const int P, __global const float* src, const int off, const int stride,
                        const int rStride, const int kStride, const int kBlock, const int kBlockStride,
                        __global float* dst, const int dstStride)
{
    // One work-item writes one panel's P entries at one k; neighbours write neighbouring lines.
    const int k = get_global_id(0), panel = get_global_id(1), b = get_global_id(2);
    if (panel * P >= rows || k >= depth) return;
    const __global float* s = src + off + (long)b * stride + (long)(k / kBlock) * kBlockStride + (long)(k % kBlock) * kStride;
    __global float* out = dst + (long)b * dstStride + (long)panel * depth * P + (long)k * P;
    for (int j = 0, r = panel * P; j < P; j++, r++) out[j] = r < rows ? s[(long)r * rStride] : 0.0f;
}

// C[b] = alpha * op(A) op(B) + beta * C[b] from the packed panels Ap[b] (PM rows each) and
// Bp[b] (NR columns each).
__kernel void gemm_packed(const int M, const int N, const int K, const float alpha,
                          __global const float* Ap, const int strideAp, __global const float* Bp, const int strideBp,
                          const float beta, __global float* C, const int offC, const int ldc, const int strideC)
{
    const int batch = get_global_id(2);
    Ap += (long)batch * strideAp;
    Bp += (long)batch * strideBp;
    C += offC + (long)batch * strideC;
    const int panelsM = (M + PM - 1) / PM, panelsN = (N + NR - 1) / NR;
    const int ip0 = get_global_id(1) * MCB, jp0 = get_global_id(0) * NCB;
    const int ipEnd = min(ip0 + MCB, panelsM), jpEnd = min(jp0 + NCB, panelsN);
    for (int p0 = 0; p0 < K; p0 += KC) {
        const int kc = min(KC, K - p0);
        const float scaleC = p0 == 0 ? beta : 1.0f;  // later chunks add to what the first wrote
        for (int jp = jp0; jp < jpEnd; jp++) {
            const __global float* b = Bp + (long)jp * K * NR + (long)p0 * NR;
            for (int ip = ip0; ip < ipEnd; ip++) {
                const __global float* a = Ap + (long)ip * K * PM + (long)p0 * PM;
                PVEC acc[PM][PN];
                #pragma unroll
                for (int i = 0; i < PM; i++)
                    #pragma unroll
                    for (int j = 0; j < PN; j++) acc[i][j] = (PVEC)(0.0f);
                for (int k = 0; k < kc; k++) {
                    PVEC bv[PN];
                    #pragma unroll
                    for (int j = 0; j < PN; j++) bv[j] = PLOAD(0, b + k * NR + j * PV);
                    #pragma unroll
                    for (int i = 0; i < PM; i++) {
                        const PVEC av = (PVEC)(a[k * PM + i]);
                        #pragma unroll
                        for (int j = 0; j < PN; j++) acc[i][j] = fma(av, bv[j], acc[i][j]);
                    }
                }
                const int i0 = ip * PM, j0 = jp * NR;
                if (i0 + PM <= M && j0 + NR <= N) {
                    #pragma unroll
                    for (int i = 0; i < PM; i++) {
                        #pragma unroll
                        for (int j = 0; j < PN; j++) {
                            __global float* c = C + (long)(i0 + i) * ldc + j0 + j * PV;
                            PVEC r = alpha * acc[i][j];
                            if (scaleC != 0.0f) r += scaleC * PLOAD(0, c);
                            PSTORE(r, 0, c);
                        }
                    }
                } else {
                    // Edge tile: only the elements inside C (loops unrolled, so that acc is
                    // indexed by constants and stays in registers).
                    #pragma unroll
                    for (int i = 0; i < PM; i++) {
                        #pragma unroll
                        for (int j = 0; j < PN; j++) {
                            float t[PV];
                            PSTORE(acc[i][j], 0, t);
                            for (int q = 0; q < PV && i0 + i < M && j0 + j * PV + q < N; q++) {
                                __global float* c = C + (long)(i0 + i) * ldc + j0 + j * PV + q;
                                *c = scaleC == 0.0f ? alpha * t[q] : alpha * t[q] + scaleC * *c;
                            }
                        }
                    }
                }
            }
        }
    }
}

// B[b][c][r] = A[b][r][c]: rows x cols -> cols x rows, batched with element strides.
__kernel void transpose(const int rows, const int cols,
                        __global const float* A, const int offA, const int strideA,
                        __global float* B, const int offB, const int strideB)
{
    const int c = get_global_id(0), r = get_global_id(1), b = get_global_id(2);
    if (c >= cols || r >= rows) return;
    B[offB + (long)b * strideB + (long)c * rows + r] = A[offA + (long)b * strideA + (long)r * cols + c];
}

// The GEMM tuner (train-gpu tune) builds only the kernels above, for each candidate's defines.
#ifndef CHORUS_GEMM_ONLY
// ---------------------------------------------------------------------------------------------
// Elementwise
// ---------------------------------------------------------------------------------------------
__kernel void fill(const int n, const float value, __global float* X, const int offX)
{
    const int i = get_global_id(0);
    if (i < n) X[(long)offX + i] = value;
}

__kernel void copy_offset(const int n, __global const float* X, const int offX, __global float* Y, const int offY)
{
    const int i = get_global_id(0);
    if (i < n) Y[offY + i] = X[offX + i];
}

__kernel void scale(const int n, const float alpha, __global float* X)
{
    const int i = get_global_id(0);
    if (i < n) X[i] *= alpha;
}

// Y += alpha * X
__kernel void axpy(const int n, const float alpha, __global const float* X, __global float* Y)
{
    const int i = get_global_id(0);
    if (i < n) Y[i] = fma(alpha, X[i], Y[i]);
}

__kernel void add(const int n, __global const float* A, __global const float* B, __global float* C)
{
    const int i = get_global_id(0);
    if (i < n) C[i] = A[i] + B[i];
}

__kernel void mul(const int n, __global const float* A, __global const float* B, __global float* C)
{
    const int i = get_global_id(0);
    if (i < n) C[i] = A[i] * B[i];
}

__kernel void relu_forward(const int n, __global const float* X, __global float* Y)
{
    const int i = get_global_id(0);
    if (i < n) Y[i] = fmax(X[i], 0.0f);
}

// dX = dY where the forward output was positive.
__kernel void relu_backward(const int n, __global const float* Y, __global const float* dY, __global float* dX)
{
    const int i = get_global_id(0);
    if (i < n) dX[i] = Y[i] > 0.0f ? dY[i] : 0.0f;
}

__kernel void sigmoid_forward(const int n, __global const float* X, __global float* Y)
{
    const int i = get_global_id(0);
    if (i < n) {
        const float x = X[i];
        Y[i] = x >= 0.0f ? 1.0f / (1.0f + exp(-x)) : exp(x) / (1.0f + exp(x));
    }
}

// dX = dY * y * (1 - y)
__kernel void sigmoid_backward(const int n, __global const float* Y, __global const float* dY, __global float* dX)
{
    const int i = get_global_id(0);
    if (i < n) dX[i] = dY[i] * Y[i] * (1.0f - Y[i]);
}

// X[i] += bias[(i / inner) % channels]: NCHW conv bias (inner = H*W) or [N, F] linear bias (inner = 1).
__kernel void bias_add_forward(const int n, const int channels, const int inner, __global float* X, __global const float* bias)
{
    const int i = get_global_id(0);
    if (i < n) X[i] += bias[(i / inner) % channels];
}

// Kahan-compensated float accumulation, for long per-work-item sums (see batch normalization).
#define KAHAN_ADD(sum, comp, value) { const float y_ = (value) - (comp); const float t_ = (sum) + y_; (comp) = (t_ - (sum)) - y_; (sum) = t_; }

// Sum of `x` over the work-group; `scratch` holds get_local_size(0) floats (a power of two).
inline float chorus_group_sum(const float x, __local float* scratch)
{
    const int lid = get_local_id(0), n = get_local_size(0);
    scratch[lid] = x;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = n >> 1; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

// Per-channel sums over [outer, channels, inner] data (batch norm's statistics, bias gradients):
// each work-item reads the channel's planes eight values at a time (vload8: runs of eight
// consecutive values, work-items taking every WG-th run; a plane's last inner % 8 values one at
// a time), with eight lanes of Kahan-compensated sums. The lanes make one work-item's loop vector
// code where a CPU device runs a work-group's items one after another (POCL), instead of a chain
// of dependent scalar additions over values a cache line apart; on a GPU neighbouring items
// still read neighbouring runs.
#define KAHAN_ADD8(sum, comp, value) { const float8 y_ = (value) - (comp); const float8 t_ = (sum) + y_; (comp) = (t_ - (sum)) - y_; (sum) = t_; }
inline float lanes_sum8(const float8 v) { return ((v.s0 + v.s1) + (v.s2 + v.s3)) + ((v.s4 + v.s5) + (v.s6 + v.s7)); }

// This work-item's part of channel c's sum (squares == 0) or sum of squared deviations from
// `mean` (squares != 0); chorus_group_sum adds the work-group's parts.
inline float channel_sum(__global const float* X, const int outer, const int channels, const int inner, const int c,
                         const int squares, const float mean, const int lid, const int WG)
{
    float8 a = (float8)(0.0f), ca = (float8)(0.0f);
    float s = 0.0f, cs = 0.0f;
    const int runs = inner / 8;
    for (int o = 0; o < outer; o++) {
        const __global float* x = X + ((long)o * channels + c) * inner;
        for (int k = lid; k < runs; k += WG) {
            const float8 v = vload8(k, x), d = v - mean;
            KAHAN_ADD8(a, ca, squares ? d * d : v);
        }
        for (int j = runs * 8 + lid; j < inner; j += WG) { const float d = x[j] - mean; KAHAN_ADD(s, cs, squares ? d * d : x[j]); }
    }
    return lanes_sum8(a) + s;
}

// dbias[c] = sum over outer and inner of dY; one work-group per channel.
__kernel void bias_add_backward(const int outer, const int channels, const int inner, __global const float* restrict dY, __global float* restrict dbias)
{
    __local float scratch[REDUCE_WG_MAX];
    const int c = get_group_id(0), lid = get_local_id(0);
    const float total = chorus_group_sum(channel_sum(dY, outer, channels, inner, c, 0, 0.0f, lid, get_local_size(0)), scratch);
    if (lid == 0) dbias[c] = total;
}

// ---------------------------------------------------------------------------------------------
// Convolution helpers: im2col / col2im in "CNHW" column layout, so one GEMM covers a chunk of
// images: col[(c*KH + kh)*KW + kw][(n - n0)*OH*OW + oh*OW + ow].
// ---------------------------------------------------------------------------------------------
__kernel void im2col(const int n0, const int count, const int C, const int H, const int W,
                     const int KH, const int KW, const int stride, const int pad, const int OH, const int OW,
                     __global const float* X, __global float* col)
{
    const int q = get_global_id(0);  // over count*OH*OW
    const int row = get_global_id(1); // over C*KH*KW
    const int P = OH * OW;
    if (q >= count * P || row >= C * KH * KW) return;
    const int n = q / P, p = q % P;
    const int oh = p / OW, ow = p % OW;
    const int kw = row % KW, kh = (row / KW) % KH, c = row / (KW * KH);
    const int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
    float v = 0.0f;
    if (ih >= 0 && ih < H && iw >= 0 && iw < W) v = X[(((long)(n0 + n) * C + c) * H + ih) * W + iw];
    col[(long)row * count * P + q] = v;
}

// The column matrix packed for gemm_packed without writing it out first (CPU devices). Forward:
// each image's columns as B, in panels of PP output pixels (r = pixel, k = row); dst holds one
// padded block per image. One work-item writes one panel's entries for one input channel: the
// KH*KW rows of its window, PP entries each (KH*KW*PP consecutive floats), so the panel's runs of
// pixels along output rows are worked out once for the whole window, not once per row.
__kernel void conv_pack_pixels(const int n0, const int count, const int C, const int H, const int W,
                               const int KH, const int KW, const int stride, const int pad, const int OH, const int OW,
                               const int PP, __global const float* restrict X, __global float* restrict dst)
{
    const int c = get_global_id(0), panel = get_global_id(1), n = get_global_id(2);  // neighbours write neighbouring blocks
    const int P = OH * OW, K = C * KH * KW, padded = (P + PP - 1) / PP * PP;
    if (panel * PP >= padded || c >= C) return;
    const __global float* x = X + ((long)(n0 + n) * C + c) * H * W;
    __global float* out = dst + (long)n * padded * K + (long)panel * K * PP + (long)c * KH * KW * PP;
    // Runs of pixels along one output row: for each window position, their inputs lie along one
    // input row, stride apart.
    int p = panel * PP, oh = p / OW, ow = p % OW;
    for (int j = 0; j < PP;) {
        const int run = min(PP - j, OW - ow);
        if (p >= P) {  // the padded panel's last pixels
            for (int k = 0; k < KH * KW; k++)
                for (int t = j; t < PP; t++) out[k * PP + t] = 0.0f;
            break;
        }
        const int live = min(run, P - p);
        for (int kh = 0; kh < KH; kh++) {
            const int ih = oh * stride - pad + kh;
            const bool rowInside = ih >= 0 && ih < H;
            const __global float* xr = x + ih * W;
            for (int kw = 0; kw < KW; kw++) {
                __global float* o = out + (kh * KW + kw) * PP + j;
                const int iw0 = ow * stride - pad + kw;
                if (rowInside && iw0 >= 0 && iw0 + (live - 1) * stride < W) {
                    // The whole run inside the image (most of them): a plain copy.
                    if (stride == 1) for (int t = 0; t < live; t++) o[t] = xr[iw0 + t];
                    else for (int t = 0; t < live; t++) o[t] = xr[iw0 + t * stride];
                } else {
                    for (int t = 0; t < live; t++) {
                        const int iw = iw0 + t * stride;
                        o[t] = rowInside && iw >= 0 && iw < W ? xr[iw] : 0.0f;
                    }
                }
                for (int t = live; t < run; t++) o[t] = 0.0f;
            }
        }
        j += run; p += run; ow = 0; oh++;
    }
}

// Weight gradient: the chunk's transposed column matrix as B (r = row, k = pixel over the
// chunk's images), in panels of PP rows: dst[panel][q][j] = column row panel*PP + j of pixel q.
// One work-item fills the panel's PP rows for eight neighbouring pixels of one output row (the
// row's last, shorter run one pixel at a time): for each row, the eight inputs lie along one input
// row, read as one vector where they are inside the image. Over [ceil(OW / 8), count * OH, panels].
__kernel void conv_pack_rows(const int n0, const int count, const int C, const int H, const int W,
                             const int KH, const int KW, const int stride, const int pad, const int OH, const int OW,
                             const int PP, __global const float* restrict X, __global float* restrict dst)
{
    const int chunk = get_global_id(0), line = get_global_id(1), panel = get_global_id(2);
    const int P = OH * OW, K = C * KH * KW, padded = (K + PP - 1) / PP * PP, depth = count * P;
    const int ow0 = chunk * 8;
    if (ow0 >= OW || line >= count * OH || panel * PP >= padded) return;
    const int n = line / OH, oh = line % OH, width = min(8, OW - ow0);
    const __global float* x = X + (long)(n0 + n) * C * H * W;
    __global float* out = dst + (long)panel * depth * PP + ((long)n * P + oh * OW + ow0) * PP;
    const int ih0 = oh * stride - pad, iw0 = ow0 * stride - pad;
    int r = panel * PP, kw = r % KW, kh = (r / KW) % KH, c = r / (KW * KH);
    for (int j = 0; j < PP; j++, r++) {
        const int ih = ih0 + kh, iw = iw0 + kw;
        const bool rowInside = r < K && ih >= 0 && ih < H;
        const __global float* xr = x + ((long)c * H + ih) * W;
        if (rowInside && width == 8 && iw >= 0 && iw + 7 * stride < W) {
            const float8 v = stride == 1 ? vload8(0, xr + iw)
                           : (float8)(xr[iw], xr[iw + stride], xr[iw + 2 * stride], xr[iw + 3 * stride],
                                      xr[iw + 4 * stride], xr[iw + 5 * stride], xr[iw + 6 * stride], xr[iw + 7 * stride]);
            out[j] = v.s0; out[PP + j] = v.s1; out[2 * PP + j] = v.s2; out[3 * PP + j] = v.s3;
            out[4 * PP + j] = v.s4; out[5 * PP + j] = v.s5; out[6 * PP + j] = v.s6; out[7 * PP + j] = v.s7;
        } else {
            for (int t = 0; t < width; t++) {
                const int iwt = iw + t * stride;
                out[t * PP + j] = rowInside && iwt >= 0 && iwt < W ? xr[iwt] : 0.0f;
            }
        }
        if (++kw == KW) { kw = 0; if (++kh == KH) { kh = 0; c++; } }
    }
}

// col2im: dX (chunk of images) = the sum of the column entries that read each input pixel, as
// scatters by window position into a zeroed dX: one launch per (kh, kw), over [OW, OH, count*C],
// adds the column entry of (c, kh, kw) at pixel (n, oh, ow) to input (oh*stride - pad + kh,
// ow*stride - pad + kw). One window position maps distinct pixels to distinct inputs, so no two
// work-items of a launch add to one input (no atomics), and the launches in order add each input's
// entries as a sum over the window does: kh, then kw, rising. (A gather per input, with its window
// bounds worked out per input, took about twice as long on POCL: 155 against 76-90 ms of a
// ResNet18 step.)
__kernel void col2im_window(const int n0, const int count, const int C, const int H, const int W,
                            const int KH, const int KW, const int stride, const int pad, const int OH, const int OW,
                            const int kh, const int kw, __global const float* restrict col, __global float* restrict dX)
{
    const int ow = get_global_id(0), oh = get_global_id(1), nc = get_global_id(2);
    if (ow >= OW || oh >= OH || nc >= count * C) return;
    const int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
    if (ih < 0 || ih >= H || iw < 0 || iw >= W) return;
    const int c = nc % C, n = nc / C, P = OH * OW;
    dX[(((long)(n0 + n) * C + c) * H + ih) * W + iw] += col[((long)(c * KH + kh) * KW + kw) * count * P + (long)n * P + oh * OW + ow];
}

// col2im on CPU devices: one work-item per input row adds up every window position's entries
// for it while the row stays in the cache, over [H, count*C]; the entries of a row are read in
// runs along output rows. The same order of additions as col2im_window (kh, then kw, rising),
// so the same bits. (The scatters, each over every line of the chunk's dX with a stride-2
// window, moved 9x the data: 60 of a ResNet18 layer2 3x3/2 backward's 126 ms on POCL.)
__kernel void col2im_rows(const int n0, const int count, const int C, const int H, const int W,
                          const int KH, const int KW, const int stride, const int pad, const int OH, const int OW,
                          __global const float* restrict col, __global float* restrict dX)
{
    const int ih = get_global_id(0), nc = get_global_id(1);
    if (ih >= H || nc >= count * C) return;
    const int c = nc % C, n = nc / C, P = OH * OW;
    __global float* out = dX + (((long)n0 * C + nc) * H + ih) * W;
    for (int iw = 0; iw < W; iw++) out[iw] = 0.0f;
    for (int kh = 0; kh < KH; kh++) {
        const int t = ih + pad - kh;  // oh * stride
        if (t < 0 || t % stride != 0 || t / stride >= OH) continue;
        const int oh = t / stride;
        for (int kw = 0; kw < KW; kw++) {
            const __global float* in = col + ((long)(c * KH + kh) * KW + kw) * count * P + (long)n * P + oh * OW;
            // The outputs whose input ow * stride - pad + kw lies inside the row.
            const int lo = pad > kw ? (pad - kw + stride - 1) / stride : 0;
            const int last = W - 1 + pad - kw, hi = last < 0 ? 0 : min(OW, last / stride + 1);
            __global float* o = out - pad + kw;
            for (int ow = lo; ow < hi; ow++) o[ow * stride] += in[ow];
        }
    }
}

// Implicit-GEMM convolutions (GPU variant): the tiled GEMM above, its operands read straight
// from the tensors, so no column matrix is built, transposed or scattered back.
//   mode 0, forward:          Y[n][o][p]  = sum_k W[o][k] * X^[k][(n, p)]          M=O, N=n*OH*OW, K=C*KH*KW
//   mode 1, backward data:    dX[n][c][q] = sum_(o,kh,kw) W[o][c][kh][kw] * dY^     M=C, N=n*H*W,   K=O*KH*KW
//   mode 2, backward weights: dW[o][k]    = sum_(n,p) dY[n][o][p] * X^[k][(n, p)]   M=O, N=C*KH*KW, K=n*OH*OW
// X^ is the im2col view of X (zero outside the image); dY^ the view of dY that each input pixel
// receives (zero where the stride skips it). Mode 2 cuts K into slices of `depth` over
// get_group_id(2), slice z writing Out + z*M*N (split-K; gemm_splitk_reduce sums them).
inline float conv_input_view(__global const float* X, const int C, const int H, const int W, const int KH, const int KW,
                             const int n, const int ih0, const int iw0, const int k)
{
    // k = (c*KH + kh)*KW + kw; (ih0, iw0) = (oh*stride - pad, ow*stride - pad) of the output pixel.
    const int kw = k % KW, kh = (k / KW) % KH, c = k / (KW * KH);
    const int ih = ih0 + kh, iw = iw0 + kw;
    return (ih >= 0 && ih < H && iw >= 0 && iw < W) ? X[(((long)n * C + c) * H + ih) * W + iw] : 0.0f;
}

inline void conv_gemm_tiled(const int mode, const int batchN, const int C, const int H, const int W, const int O,
                            const int KH, const int KW, const int stride, const int pad, const int OH, const int OW, const int depth,
                            __global const float* A, __global const float* B, const float beta, __global float* Out,
                            __local float (*Asub)[TSM + 1], __local float (*Bsub)[TSN + 1])
{
    const int P = OH * OW, HW = H * W, KK = KH * KW;
    const int M = mode == 1 ? C : O;
    const int N = mode == 0 ? batchN * P : mode == 1 ? batchN * HW : C * KK;
    const int Ktotal = mode == 0 ? C * KK : mode == 1 ? O * KK : batchN * P;
    const int kBegin = mode == 2 ? get_group_id(2) * depth : 0;
    const int kEnd = mode == 2 ? min(Ktotal, kBegin + depth) : Ktotal;
    if (mode == 2) Out += (long)get_group_id(2) * M * N;
    const int tidn = get_local_id(0), tidm = get_local_id(1);
    const int tid = tidm * RTSN + tidn;
    const int n0 = get_group_id(0) * TSN, m0 = get_group_id(1) * TSM;
    float acc[WPTM][WPTN];
    for (int i = 0; i < WPTM; i++)
        for (int j = 0; j < WPTN; j++) acc[i][j] = 0.0f;
    for (int k0 = kBegin; k0 < kEnd; k0 += TSK) {
        // A tile (M x TSK), neighbouring work-items along k.
        for (int l = tid; l < TSM * TSK; l += RTSM * RTSN) {
            const int r = l / TSK, c = l % TSK;
            const int gm = m0 + r, gk = k0 + c;
            float v = 0.0f;
            if (gm < M && gk < kEnd) {
                if (mode == 0) v = A[(long)gm * Ktotal + gk];
                else if (mode == 1) v = A[((long)(gk / KK) * C + gm) * KK + gk % KK];
                else v = A[((long)(gk / P) * O + gm) * P + gk % P];
            }
            Asub[c][r] = v;
        }
        // B tile (TSK x N): along n for modes 0 and 1, along k (the output pixels) for mode 2.
        for (int l = tid; l < TSK * TSN; l += RTSM * RTSN) {
            const int r = mode == 2 ? l % TSK : l / TSN, c = mode == 2 ? l / TSK : l % TSN;
            const int gk = k0 + r, gn = n0 + c;
            float v = 0.0f;
            if (gk < kEnd && gn < N) {
                if (mode == 0) {
                    const int n = gn / P, p = gn % P;
                    v = conv_input_view(B, C, H, W, KH, KW, n, (p / OW) * stride - pad, (p % OW) * stride - pad, gk);
                } else if (mode == 2) {
                    const int n = gk / P, p = gk % P;
                    v = conv_input_view(B, C, H, W, KH, KW, n, (p / OW) * stride - pad, (p % OW) * stride - pad, gn);
                } else {
                    const int o = gk / KK, kh = (gk % KK) / KW, kw = gk % KW;
                    const int n = gn / HW, q = gn % HW;
                    const int t = q / W + pad - kh, u = q % W + pad - kw;
                    if (t >= 0 && u >= 0 && t % stride == 0 && u % stride == 0 && t / stride < OH && u / stride < OW)
                        v = B[(((long)n * O + o) * OH + t / stride) * OW + u / stride];
                }
            }
            Bsub[r][c] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        #pragma unroll
        for (int k = 0; k < TSK; k++) {
            float breg[WPTN];
            #pragma unroll
            for (int j = 0; j < WPTN; j++) breg[j] = Bsub[k][tidn + j * RTSN];
            #pragma unroll
            for (int i = 0; i < WPTM; i++) {
                const float a = Asub[k][tidm + i * RTSM];
                #pragma unroll
                for (int j = 0; j < WPTN; j++) acc[i][j] = fma(a, breg[j], acc[i][j]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < WPTM; i++) {
        const int gm = m0 + tidm + i * RTSM;
        if (gm >= M) continue;
        for (int j = 0; j < WPTN; j++) {
            const int gn = n0 + tidn + j * RTSN;
            if (gn >= N) continue;
            long idx;
            if (mode == 0) idx = ((long)(gn / P) * O + gm) * P + gn % P;
            else if (mode == 1) idx = ((long)(gn / HW) * C + gm) * HW + gn % HW;
            else idx = (long)gm * N + gn;
            Out[idx] = beta == 0.0f ? acc[i][j] : acc[i][j] + beta * Out[idx];
        }
    }
}

__kernel void conv_forward_implicit(const int batchN, const int C, const int H, const int W, const int O,
                                    const int KH, const int KW, const int stride, const int pad, const int OH, const int OW,
                                    __global const float* Wt, __global const float* X, __global float* Y)
{
    __local float Asub[TSK][TSM + 1];
    __local float Bsub[TSK][TSN + 1];
    conv_gemm_tiled(0, batchN, C, H, W, O, KH, KW, stride, pad, OH, OW, 0, Wt, X, 0.0f, Y, Asub, Bsub);
}

__kernel void conv_backward_data_implicit(const int batchN, const int C, const int H, const int W, const int O,
                                          const int KH, const int KW, const int stride, const int pad, const int OH, const int OW,
                                          __global const float* Wt, __global const float* dY, __global float* dX)
{
    __local float Asub[TSK][TSM + 1];
    __local float Bsub[TSK][TSN + 1];
    conv_gemm_tiled(1, batchN, C, H, W, O, KH, KW, stride, pad, OH, OW, 0, Wt, dY, 0.0f, dX, Asub, Bsub);
}

__kernel void conv_backward_weights_implicit(const int batchN, const int C, const int H, const int W, const int O,
                                             const int KH, const int KW, const int stride, const int pad, const int OH, const int OW,
                                             const int depth, __global const float* dY, __global const float* X, __global float* dW)
{
    __local float Asub[TSK][TSM + 1];
    __local float Bsub[TSK][TSN + 1];
    conv_gemm_tiled(2, batchN, C, H, W, O, KH, KW, stride, pad, OH, OW, depth, dY, X, 0.0f, dW, Asub, Bsub);
}

// ---------------------------------------------------------------------------------------------
// Winograd F(4x4, 3x3) for 3x3 convolutions of stride 1 and padding 1 (Lavin and Gray): each 4x4
// block of outputs is A^T [ (G g G^T) . (B^T d B) ] A over a 6x6 input tile d, so the products run
// as 36 matrix products M[xi] (K x T) = U[xi] (K x C) x V[xi] (C x T) over tiles T = N * tilesH *
// tilesW, on the device's GEMM: 36 multiply-adds per input channel and 4x4 outputs instead of 144.
// U and V are written in the GEMM's own layout: row-major (panel 0), or gemm_packed's panels of
// `panel` rows of U (PM) and columns of V (NR), zero-padded, so nothing is packed again. The 36
// points of U, V and M lie `point` floats apart, an odd number of cache lines at least one more
// than a point's size: at a multiple of 4 KiB the 36 streams a work-item writes or reads would
// share one set of a CPU's L1 cache (POCL: the input transform 20x slower than its traffic).
// The transforms are the CPU's (CHostKernels/winograd.c).
// ---------------------------------------------------------------------------------------------
inline void winograd_weights_1d(const float8 a, const float8 b, const float8 e, float8* t, const int step)
{
    const float8 s = (a + e) * (-1.0f / 6), d = b * (1.0f / 6), s2 = a * (1.0f / 24) + e * (1.0f / 6), d2 = b * (1.0f / 12);
    t[0] = a * 0.25f; t[step] = s - d; t[2 * step] = s + d; t[3 * step] = s2 + d2; t[4 * step] = s2 - d2; t[5 * step] = e;
}

// Where row r (of A: m; of B: n), depth k of a GEMM operand lies: in panels of `panel` rows over
// `depth` (gemm_pack's layout), or row-major (panel 0) with leading dimension `ld`: r * ld + k for
// A (rowMajorRows), k * ld + r for B.
inline long winograd_operand_index(const int r, const int k, const int depth, const int ld, const int panel, const int rowMajorRows)
{
    if (panel > 0) return (long)(r / panel) * depth * panel + (long)k * panel + r % panel;
    return rowMajorRows ? (long)r * ld + k : (long)k * ld + r;
}

// U[xi] (K x C) = G g G^T per output channel k and input channel c, for `rows` rows (K, or K
// padded to whole panels: zeros). w is [K][C][3][3]; flip: a layer's data gradient, whose
// inputs are the layer's outputs and outputs its inputs: g[k][c] is the layer's w[c][k] (w is
// [C][K][3][3]) turned 180 degrees. A work-item transforms eight channels c0.. at once, a float8
// across them, for a whole panel of rows (panel 0, row-major: one row), so each point's cache
// lines are written by one work-item (one filter a work-item, six work-items wrote into each line
// of a panel: 16 of a ResNet18 512-channel layer's ms on POCL). Over [ceil(C / 8), ceil(rows /
// panel)], in work-groups of 16 along C: a work-item's private arrays take about 1 KiB, and POCL
// keeps those of a whole work-group on its thread's stack (a first version, 2.4 KiB a work-item,
// crashed it in work-groups of the runtime's choosing, 4096 work-items).
__kernel void winograd_weights(const int C, const int K, const int rows, const int flip, __global const float* w,
                               __global float* u, const int panel, const int point)
{
    const int c0 = get_global_id(0) * 8, height = max(1, panel), k0 = get_global_id(1) * height;
    if (c0 >= C || k0 >= rows) return;
    const int lanes = min(8, C - c0);
    const int step = panel > 0 ? panel : 1;  // between channels c and c + 1
    for (int k = k0; k < min(k0 + height, rows); k++) {
        float gl[9][8];  // the eight filters, element i of lane l at gl[i][l]
        for (int l = 0; l < 8; l++) {
            const bool live = l < lanes && k < K;
            const __global float* f = flip ? w + ((long)(c0 + l) * K + k) * 9 : w + ((long)k * C + c0 + l) * 9;
            for (int i = 0; i < 9; i++) gl[i][l] = live ? f[flip ? 8 - i : i] : 0.0f;
        }
        float8 t[18];
        for (int j = 0; j < 3; j++) winograd_weights_1d(vload8(0, gl[j]), vload8(0, gl[3 + j]), vload8(0, gl[6 + j]), t + j, 3);  // t[6][3] = G g
        const long at = winograd_operand_index(k, c0, C, C, panel, 1);
        for (int i = 0; i < 6; i++) {
            float8 U[6];  // row i of U = t G^T
            winograd_weights_1d(t[3 * i], t[3 * i + 1], t[3 * i + 2], U, 1);
            for (int j = 0; j < 6; j++) {
                __global float* dst = u + (6 * i + j) * (long)point + at;
                if (panel == 0 && lanes == 8) vstore8(U[j], 0, dst);  // row-major: the eight channels side by side
                else {
                    float v[8];
                    vstore8(U[j], 0, v);
                    for (int l = 0; l < lanes; l++) dst[l * step] = v[l];
                }
            }
        }
    }
}

// B^T applied to six values: a tile's six rows, or one row's six columns (as vectors: across tiles).
#define WINOGRAD_BT0(a0, a1, a2, a3, a4, a5) (4.0f * (a0) - 5.0f * (a2) + (a4))
#define WINOGRAD_BT1(a0, a1, a2, a3, a4, a5) (-4.0f * ((a1) + (a2)) + (a3) + (a4))
#define WINOGRAD_BT2(a0, a1, a2, a3, a4, a5) (4.0f * ((a1) - (a2)) - (a3) + (a4))
#define WINOGRAD_BT3(a0, a1, a2, a3, a4, a5) (2.0f * ((a3) - (a1)) - (a2) + (a4))
#define WINOGRAD_BT4(a0, a1, a2, a3, a4, a5) (2.0f * ((a1) - (a3)) - (a2) + (a4))
#define WINOGRAD_BT5(a0, a1, a2, a3, a4, a5) (4.0f * (a1) - 5.0f * (a3) + (a5))
// A^T applied to six values (a tile of products to four outputs).
#define WINOGRAD_AT0(m0, m1, m2, m3, m4, m5) ((m0) + (m1) + (m2) + (m3) + (m4))
#define WINOGRAD_AT1(m0, m1, m2, m3, m4, m5) ((m1) - (m2) + 2.0f * ((m3) - (m4)))
#define WINOGRAD_AT2(m0, m1, m2, m3, m4, m5) ((m1) + (m2) + 4.0f * ((m3) + (m4)))
#define WINOGRAD_AT3(m0, m1, m2, m3, m4, m5) ((m1) - (m2) + 8.0f * ((m3) - (m4)) + (m5))
// A applied to four values (four output gradients to six): the transpose of A^T.
#define WINOGRAD_A0(y0, y1, y2, y3) (y0)
#define WINOGRAD_A1(y0, y1, y2, y3) ((y0) + (y1) + (y2) + (y3))
#define WINOGRAD_A2(y0, y1, y2, y3) ((y0) - (y1) + (y2) - (y3))
#define WINOGRAD_A3(y0, y1, y2, y3) ((y0) + 2.0f * (y1) + 4.0f * (y2) + 8.0f * (y3))
#define WINOGRAD_A4(y0, y1, y2, y3) ((y0) - 2.0f * (y1) + 4.0f * (y2) - 8.0f * (y3))
#define WINOGRAD_A5(y0, y1, y2, y3) (y3)

// The unit of work of the input, output and output-gradient transforms: up to four tiles side by
// side in one row of tiles (lane l: tile column tw0 + l, tile t0 + l of the chunk; `lanes` of
// them exist), for one channel. Every value is a float4 across the four tiles, so a row of the
// image loads as vectors and each of the 36 points stores as one vector (POCL does not vectorise
// a work-item per tile: its scalar loads, selects and stores made the input transform 4x slower
// than its traffic). Work-item g of a chunk of T tiles; winograd_groups of them.
typedef struct { int n, th, tw0, t0, lanes; } WinogradGroup;

inline int winograd_groups(const int T, const int tilesW) { return T / tilesW * ((tilesW + 3) / 4); }

inline WinogradGroup winograd_group(const int g, const int tilesH, const int tilesW)
{
    WinogradGroup q;
    const int groupsW = (tilesW + 3) / 4, r = g / groupsW;
    q.tw0 = 4 * (g - r * groupsW);
    q.n = r / tilesH;
    q.th = r - q.n * tilesH;
    q.t0 = r * tilesW + q.tw0;
    q.lanes = min(4, tilesW - q.tw0);
    return q;
}

// Four consecutive values from p, the lanes that exist (others 0).
inline float4 winograd_load_lanes(const __global float* p, const int lanes)
{
    if (lanes == 4) return vload4(0, p);
    return (float4)(p[0], lanes > 1 ? p[1] : 0.0f, lanes > 2 ? p[2] : 0.0f, 0.0f);
}

// Stores the lanes that exist at p + at[l]: one vector where they are consecutive (`together`).
inline void winograd_store_lanes(__global float* p, const long* at, const int together, const float4 o)
{
    if (together) { vstore4(o, 0, p + at[0]); return; }
    // Lanes that do not exist store at the last one's place (winograd_lane_offsets), before it does.
    p[at[3]] = o.s3; p[at[2]] = o.s2; p[at[1]] = o.s1; p[at[0]] = o.s0;
}

// Row h, columns w0 ... w0+15 of a plane (0 outside it, or everywhere unless `real`) as four
// vectors of four, one per tile; as vector loads unless the row's end is inside them.
inline void winograd_load_row16(const __global float* plane, const int H, const int W, const int h, const int w0, const int real,
                                float4* q)
{
    q[0] = q[1] = q[2] = q[3] = (float4)(0.0f);
    if (!real || h < 0 || h >= H) return;
    const __global float* row = plane + (long)h * W;
    if (w0 >= 0 && w0 + 16 <= W) {
        q[0] = vload4(0, row + w0); q[1] = vload4(1, row + w0); q[2] = vload4(2, row + w0); q[3] = vload4(3, row + w0);
        return;
    }
    // At the plane's sides: each value alone, its index clamped into the row and outside it 0.
#define WINOGRAD_SIDE(j) (w0 + (j) >= 0 && w0 + (j) < W ? row[clamp(w0 + (j), 0, W - 1)] : 0.0f)
    q[0] = (float4)(WINOGRAD_SIDE(0), WINOGRAD_SIDE(1), WINOGRAD_SIDE(2), WINOGRAD_SIDE(3));
    q[1] = (float4)(WINOGRAD_SIDE(4), WINOGRAD_SIDE(5), WINOGRAD_SIDE(6), WINOGRAD_SIDE(7));
    q[2] = (float4)(WINOGRAD_SIDE(8), WINOGRAD_SIDE(9), WINOGRAD_SIDE(10), WINOGRAD_SIDE(11));
    q[3] = (float4)(WINOGRAD_SIDE(12), WINOGRAD_SIDE(13), WINOGRAD_SIDE(14), WINOGRAD_SIDE(15));
#undef WINOGRAD_SIDE
}

// Where lane l's tile (t0 + l; the last lane that exists for those that do not) lies in a GEMM
// operand (winograd_operand_index: row `r` of A or column of B is the tile, or, `byChannel`, the
// channel), and whether the four lie together.
inline int winograd_lane_offsets(const int t0, const int lanes, const int channel, const int byChannel, const int depth, const int ld,
                                 const int panel, const int rowMajorRows, long* at)
{
    for (int l = 0; l < 4; l++) {
        const int t = t0 + min(l, lanes - 1);
        at[l] = byChannel ? winograd_operand_index(channel, t, depth, ld, panel, rowMajorRows)
                          : winograd_operand_index(t, channel, depth, ld, panel, rowMajorRows);
    }
    return lanes == 4 && at[1] == at[0] + 1 && at[2] == at[0] + 2 && at[3] == at[0] + 3;
}

// The 36 points of B^T d B for a group's four tiles (tile row th, columns tw0...) of a plane
// (zeros unless `real`): o[6i + j], lanes the tiles.
inline void winograd_input_points(const __global float* plane, const int H, const int W, const int th, const int tw0, const int real,
                                  float4* o)
{
    float4 e[36];  // B^T over each tile row's six columns: e[6i + j]
    for (int i = 0; i < 6; i++) {
        // Columns w0 ... w0+17 hold the four tiles' six columns, 4 apart: d[j] lane l is column w0 + 4l + j.
        const int row = 4 * th - 1 + i, w16 = 4 * tw0 + 15, inside = real && row >= 0 && row < H;
        float4 a[4];
        winograd_load_row16(plane, H, W, row, w16 - 16, real, a);
        const float e16 = inside && w16 < W ? plane[(long)row * W + w16] : 0.0f;
        const float e17 = inside && w16 + 1 < W ? plane[(long)row * W + w16 + 1] : 0.0f;
        const float4 d0 = (float4)(a[0].s0, a[1].s0, a[2].s0, a[3].s0), d1 = (float4)(a[0].s1, a[1].s1, a[2].s1, a[3].s1);
        const float4 d2 = (float4)(a[0].s2, a[1].s2, a[2].s2, a[3].s2), d3 = (float4)(a[0].s3, a[1].s3, a[2].s3, a[3].s3);
        const float4 d4 = (float4)(a[1].s0, a[2].s0, a[3].s0, e16), d5 = (float4)(a[1].s1, a[2].s1, a[3].s1, e17);
        e[6 * i] = WINOGRAD_BT0(d0, d1, d2, d3, d4, d5); e[6 * i + 1] = WINOGRAD_BT1(d0, d1, d2, d3, d4, d5);
        e[6 * i + 2] = WINOGRAD_BT2(d0, d1, d2, d3, d4, d5); e[6 * i + 3] = WINOGRAD_BT3(d0, d1, d2, d3, d4, d5);
        e[6 * i + 4] = WINOGRAD_BT4(d0, d1, d2, d3, d4, d5); e[6 * i + 5] = WINOGRAD_BT5(d0, d1, d2, d3, d4, d5);
    }
    for (int j = 0; j < 6; j++) {  // then B^T over the rows
        const float4 m0 = e[j], m1 = e[6 + j], m2 = e[12 + j], m3 = e[18 + j], m4 = e[24 + j], m5 = e[30 + j];
        o[j] = WINOGRAD_BT0(m0, m1, m2, m3, m4, m5); o[6 + j] = WINOGRAD_BT1(m0, m1, m2, m3, m4, m5);
        o[12 + j] = WINOGRAD_BT2(m0, m1, m2, m3, m4, m5); o[18 + j] = WINOGRAD_BT3(m0, m1, m2, m3, m4, m5);
        o[24 + j] = WINOGRAD_BT4(m0, m1, m2, m3, m4, m5); o[30 + j] = WINOGRAD_BT5(m0, m1, m2, m3, m4, m5);
    }
}

// V[xi] = B^T d B per input channel c and tile of images n0... of x [N][C][H][W], over tileRange x
// channelRange (T and C, or padded to whole panels: zeros). For the forward V[xi] is the GEMM's B,
// C x T (depth c), over [groups, channels]; transposed (the weight gradient's), T x C (depth t),
// over [channels, groups]: a line of V holds a tile's consecutive channels there, so neighbouring
// work-items write it (tile-major, each line took stores from 16 work-items far apart: 1.5x slower).
__kernel void winograd_input(const int n0, const int C, const int H, const int W, const int tilesH, const int tilesW, const int T,
                             const int tileRange, const int channelRange, const int transposed,
                             __global const float* x, __global float* v, const int panel, const int pointStride)
{
    const int g = get_global_id(transposed ? 1 : 0), c = get_global_id(transposed ? 0 : 1), groups = winograd_groups(T, tilesW);
    if (g >= groups + (tileRange - T + 3) / 4 || c >= channelRange) return;
    WinogradGroup q;
    float4 o[36];
    if (g < groups) {
        q = winograd_group(g, tilesH, tilesW);
        winograd_input_points(x + ((long)(n0 + q.n) * C + min(c, C - 1)) * H * W, H, W, q.th, q.tw0, c < C, o);
    } else {  // the zero tiles that fill the last panel
        q.t0 = T + 4 * (g - groups);
        q.lanes = min(4, tileRange - q.t0);
        for (int i = 0; i < 36; i++) o[i] = (float4)(0.0f);
    }
    long at[4];
    const int together = transposed ? winograd_lane_offsets(q.t0, q.lanes, c, 1, tileRange, channelRange, panel, 0, at)
                                    : winograd_lane_offsets(q.t0, q.lanes, c, 0, channelRange, tileRange, panel, 0, at);
    for (int xi = 0; xi < 36; xi++) winograd_store_lanes(v + xi * (long)pointStride, at, together, o[xi]);
}

// The weight gradient's dM[xi] (K x T, the GEMM's A, depth t) = A dY A^T per output channel k and
// tile of images n0... of dy [N][K][H][W] (outside the image: 0), for `rows` rows (K, or padded:
// zeros), over [rows, groups]: in gemm_packed's panels a line holds a tile's consecutive output
// channels, so neighbouring work-items write it (as winograd_input's transposed form).
__kernel void winograd_output_gradient(const int n0, const int K, const int H, const int W, const int tilesH, const int tilesW, const int T,
                                       const int rows, __global const float* dy, __global float* dm, const int panel, const int point)
{
    const int g = get_global_id(1), k = get_global_id(0);
    if (g >= winograd_groups(T, tilesW) || k >= rows) return;
    const WinogradGroup q = winograd_group(g, tilesH, tilesW);
    const __global float* plane = dy + ((long)(n0 + q.n) * K + min(k, K - 1)) * H * W;
    float4 r[24];  // A over each tile row's four columns: r[6i + j]
    for (int i = 0; i < 4; i++) {
        float4 a[4];
        winograd_load_row16(plane, H, W, 4 * q.th + i, 4 * q.tw0, k < K, a);
        const float4 y0 = (float4)(a[0].s0, a[1].s0, a[2].s0, a[3].s0), y1 = (float4)(a[0].s1, a[1].s1, a[2].s1, a[3].s1);
        const float4 y2 = (float4)(a[0].s2, a[1].s2, a[2].s2, a[3].s2), y3 = (float4)(a[0].s3, a[1].s3, a[2].s3, a[3].s3);
        r[6 * i] = WINOGRAD_A0(y0, y1, y2, y3); r[6 * i + 1] = WINOGRAD_A1(y0, y1, y2, y3); r[6 * i + 2] = WINOGRAD_A2(y0, y1, y2, y3);
        r[6 * i + 3] = WINOGRAD_A3(y0, y1, y2, y3); r[6 * i + 4] = WINOGRAD_A4(y0, y1, y2, y3); r[6 * i + 5] = WINOGRAD_A5(y0, y1, y2, y3);
    }
    long at[4];
    const int together = winograd_lane_offsets(q.t0, q.lanes, k, 1, T, T, panel, 1, at);
    const long p = point;
    for (int j = 0; j < 6; j++) {  // then A over the rows: point 6i + j
        const float4 y0 = r[j], y1 = r[6 + j], y2 = r[12 + j], y3 = r[18 + j];
        winograd_store_lanes(dm + j * p, at, together, WINOGRAD_A0(y0, y1, y2, y3));
        winograd_store_lanes(dm + (6 + j) * p, at, together, WINOGRAD_A1(y0, y1, y2, y3));
        winograd_store_lanes(dm + (12 + j) * p, at, together, WINOGRAD_A2(y0, y1, y2, y3));
        winograd_store_lanes(dm + (18 + j) * p, at, together, WINOGRAD_A3(y0, y1, y2, y3));
        winograd_store_lanes(dm + (24 + j) * p, at, together, WINOGRAD_A4(y0, y1, y2, y3));
        winograd_store_lanes(dm + (30 + j) * p, at, together, WINOGRAD_A5(y0, y1, y2, y3));
    }
}

// G^T applied to six values: the transpose of the weight transform.
inline void winograd_weights_gradient_1d(const float8 u0, const float8 u1, const float8 u2, const float8 u3, const float8 u4, const float8 u5,
                                         float8* r, const int step)
{
    r[0] = u0 * 0.25f - (u1 + u2) * (1.0f / 6) + (u3 + u4) * (1.0f / 24);
    r[step] = (u2 - u1) * (1.0f / 6) + (u3 - u4) * (1.0f / 12);
    r[2 * step] = (u3 + u4 - u1 - u2) * (1.0f / 6) + u5;
}

// dw[k][c] = G^T dU[.][k][c] G (dU: [36][K][C] row-major), dw [K][C][3][3]; eight channels
// c0.. per work-item, a float8 across them (as winograd_weights). Over [ceil(C / 8), K], in
// work-groups of 16 along C (as winograd_weights).
__kernel void winograd_weights_gradient(const int C, const int K, __global const float* du, const int point, __global float* dw)
{
    const int c0 = get_global_id(0) * 8, k = get_global_id(1);
    if (c0 >= C || k >= K) return;
    const int lanes = min(8, C - c0);
    float8 r[18];
    for (int j = 0; j < 6; j++) {  // r[3][6] = G^T over each column of dU
        float8 u[6];
        for (int i = 0; i < 6; i++) {
            const __global float* p = du + (6 * i + j) * (long)point + (long)k * C + c0;
            if (lanes == 8) u[i] = vload8(0, p);
            else {
                float v[8];
                for (int l = 0; l < 8; l++) v[l] = l < lanes ? p[l] : 0.0f;
                u[i] = vload8(0, v);
            }
        }
        winograd_weights_gradient_1d(u[0], u[1], u[2], u[3], u[4], u[5], r + j, 6);
    }
    __global float* d = dw + ((long)k * C + c0) * 9;  // the lanes' filters one after another, 9 floats each
    for (int i = 0; i < 3; i++) {
        float8 g[3];  // row i of the filters: r G
        winograd_weights_gradient_1d(r[6 * i], r[6 * i + 1], r[6 * i + 2], r[6 * i + 3], r[6 * i + 4], r[6 * i + 5], g, 1);
        for (int j = 0; j < 3; j++) {
            float v[8];
            vstore8(g[j], 0, v);
            for (int l = 0; l < lanes; l++) d[9 * l + 3 * i + j] = v[l];
        }
    }
}

// y = A^T s A + bias, then ReLU (relu), for a group's four tiles from their 36 products s[6i + j]
// (lanes the tiles), into a plane of y.
inline void winograd_output_points(const float4* s, const float bias, const int relu, __global float* plane, const int H, const int W,
                                   const int th, const int tw0, const int lanes)
{
    float4 h[24];  // A^T over each row of products' six columns: h[4i + c]
    for (int i = 0; i < 6; i++) {
        const float4 m0 = s[6 * i], m1 = s[6 * i + 1], m2 = s[6 * i + 2], m3 = s[6 * i + 3], m4 = s[6 * i + 4], m5 = s[6 * i + 5];
        h[4 * i] = WINOGRAD_AT0(m0, m1, m2, m3, m4, m5); h[4 * i + 1] = WINOGRAD_AT1(m0, m1, m2, m3, m4, m5);
        h[4 * i + 2] = WINOGRAD_AT2(m0, m1, m2, m3, m4, m5); h[4 * i + 3] = WINOGRAD_AT3(m0, m1, m2, m3, m4, m5);
    }
    float4 o[16];  // then A^T over the rows: output row a, column c of each tile at o[4a + c]
    const float4 b = (float4)(bias);
    for (int c = 0; c < 4; c++) {
        const float4 m0 = h[c], m1 = h[4 + c], m2 = h[8 + c], m3 = h[12 + c], m4 = h[16 + c], m5 = h[20 + c];
        o[c] = WINOGRAD_AT0(m0, m1, m2, m3, m4, m5) + b; o[4 + c] = WINOGRAD_AT1(m0, m1, m2, m3, m4, m5) + b;
        o[8 + c] = WINOGRAD_AT2(m0, m1, m2, m3, m4, m5) + b; o[12 + c] = WINOGRAD_AT3(m0, m1, m2, m3, m4, m5) + b;
    }
    const int left = W - 4 * tw0;  // columns of the image from the group's first
    for (int a = 0; a < 4; a++) {
        const int row = 4 * th + a;
        if (row >= H) break;
        float4 c0 = o[4 * a], c1 = o[4 * a + 1], c2 = o[4 * a + 2], c3 = o[4 * a + 3];
        if (relu) { c0 = fmax(c0, 0.0f); c1 = fmax(c1, 0.0f); c2 = fmax(c2, 0.0f); c3 = fmax(c3, 0.0f); }
        // Tile l's four outputs of the row.
        const float4 t0 = (float4)(c0.s0, c1.s0, c2.s0, c3.s0), t1 = (float4)(c0.s1, c1.s1, c2.s1, c3.s1);
        const float4 t2 = (float4)(c0.s2, c1.s2, c2.s2, c3.s2), t3 = (float4)(c0.s3, c1.s3, c2.s3, c3.s3);
        __global float* out = plane + (long)row * W + 4 * tw0;
        if (left >= 16) { vstore4(t0, 0, out); vstore4(t1, 1, out); vstore4(t2, 2, out); vstore4(t3, 3, out); continue; }
        for (int l = 0; l < lanes; l++) {
            const float4 t = l == 0 ? t0 : l == 1 ? t1 : l == 2 ? t2 : t3;
            const int n = left - 4 * l;
            out[4 * l] = t.s0;
            if (n > 1) out[4 * l + 1] = t.s1;
            if (n > 2) out[4 * l + 2] = t.s2;
            if (n > 3) out[4 * l + 3] = t.s3;
        }
    }
}

// y = A^T M A per output channel k and tile of images n0..., from M [36][K][T], plus bias[k]
// (hasBias) and then ReLU (relu); y is [N][K][H][W].
__kernel void winograd_output(const int n0, const int K, const int H, const int W, const int tilesH, const int tilesW, const int T,
                              __global const float* m, const int point, __global const float* bias, const int hasBias, const int relu, __global float* y)
{
    const int g = get_global_id(0), k = get_global_id(1);
    if (g >= winograd_groups(T, tilesW) || k >= K) return;
    const WinogradGroup q = winograd_group(g, tilesH, tilesW);
    const __global float* src = m + (long)k * T + q.t0;
    float4 s[36];
    for (int xi = 0; xi < 36; xi++) s[xi] = winograd_load_lanes(src + xi * (long)point, q.lanes);
    winograd_output_points(s, hasBias ? bias[k] : 0.0f, relu, y + ((long)(n0 + q.n) * K + k) * H * W, H, W, q.th, q.tw0, q.lanes);
}

// The whole Winograd convolution in one kernel, for CPU-type devices: a work-group of one
// work-item takes WINOGRAD_FUSED_GROUPS groups of four tiles (16 lanes) and every channel, so the
// transformed inputs v [36][C][16] and products m [36][rows][16] stay in local memory (a CPU
// device's caches) instead of streaming through global memory between three launches (POCL: the
// 56x56 layers' transforms and products ran at the memory's speed, not the cores'). Products
// run in register blocks of 6 output channels x 16 tiles over U's panels of 6 rows
// (winograd_weights with panel 6: u[xi][k/6][c][k%6]; rows = K padded to 6). Tiles of
// images 0..., T of them; y as winograd_output.
#define WINOGRAD_FUSED_GROUPS 4
__kernel void winograd_fused(const int C, const int K, const int rows, const int H, const int W, const int tilesH, const int tilesW, const int T,
                             __global const float* x, __global const float* u, const int uPoint, __global const float* bias, const int hasBias,
                             const int relu, __global float* y, __local float* v, __local float* m)
{
    const int g0 = WINOGRAD_FUSED_GROUPS * get_group_id(0), count = min(WINOGRAD_FUSED_GROUPS, winograd_groups(T, tilesW) - g0);
    if (count <= 0) return;  // a launch with more work-groups than blocks
    // The 36 points lie an odd number of 64-byte lines apart (C | 1 and rows | 1 lines; the host
    // sizes v and m so): at a multiple of 4 KiB their stores would share one L1 set.
    const int vPoint = (C | 1) * 16, mPoint = (rows | 1) * 16;
    // Transformed inputs: v[xi * vPoint + 16c + 4j + lane], group j.
    for (int j = 0; j < WINOGRAD_FUSED_GROUPS; j++) {
        const WinogradGroup q = winograd_group(g0 + min(j, count - 1), tilesH, tilesW);
        for (int c = 0; c < C; c++) {
            float4 o[36];
            winograd_input_points(x + ((long)q.n * C + c) * H * W, H, W, q.th, q.tw0, j < count, o);
            for (int xi = 0; xi < 36; xi++) vstore4(o[xi], 0, v + xi * vPoint + 16 * c + 4 * j);
        }
    }
    // m[xi] (rows x 16) = U[xi] (rows x C) v[xi] (C x 16).
    for (int xi = 0; xi < 36; xi++) {
        const __local float* vx = v + xi * vPoint;
        for (int k0 = 0; k0 < rows; k0 += 6) {
            const __global float* panel = u + xi * (long)uPoint + (long)k0 * C;
            float8 a0 = 0.0f, b0 = 0.0f, a1 = 0.0f, b1 = 0.0f, a2 = 0.0f, b2 = 0.0f, a3 = 0.0f, b3 = 0.0f, a4 = 0.0f, b4 = 0.0f, a5 = 0.0f, b5 = 0.0f;
            for (int c = 0; c < C; c++) {
                const float8 lo = vload8(0, vx + 16 * c), hi = vload8(1, vx + 16 * c);
                const __global float* w6 = panel + 6 * c;
                float8 w;
                w = (float8)(w6[0]); a0 = fma(w, lo, a0); b0 = fma(w, hi, b0);
                w = (float8)(w6[1]); a1 = fma(w, lo, a1); b1 = fma(w, hi, b1);
                w = (float8)(w6[2]); a2 = fma(w, lo, a2); b2 = fma(w, hi, b2);
                w = (float8)(w6[3]); a3 = fma(w, lo, a3); b3 = fma(w, hi, b3);
                w = (float8)(w6[4]); a4 = fma(w, lo, a4); b4 = fma(w, hi, b4);
                w = (float8)(w6[5]); a5 = fma(w, lo, a5); b5 = fma(w, hi, b5);
            }
            __local float* out = m + xi * mPoint + 16 * k0;
            vstore8(a0, 0, out); vstore8(b0, 1, out); vstore8(a1, 2, out); vstore8(b1, 3, out); vstore8(a2, 4, out); vstore8(b2, 5, out);
            vstore8(a3, 6, out); vstore8(b3, 7, out); vstore8(a4, 8, out); vstore8(b4, 9, out); vstore8(a5, 10, out); vstore8(b5, 11, out);
        }
    }
    for (int j = 0; j < count; j++) {
        const WinogradGroup q = winograd_group(g0 + j, tilesH, tilesW);
        for (int k = 0; k < K; k++) {
            float4 s[36];
            for (int xi = 0; xi < 36; xi++) s[xi] = vload4(0, m + xi * mPoint + 16 * k + 4 * j);
            winograd_output_points(s, hasBias ? bias[k] : 0.0f, relu, y + ((long)q.n * K + k) * H * W, H, W, q.th, q.tw0, q.lanes);
        }
    }
}

// Y[c][(n-n0)*HW + p] = X[n][c][p] for n in [n0, n0+count)
__kernel void nchw_to_cnhw(const int n0, const int count, const int C, const int HW,
                           __global const float* X, __global float* Y)
{
    const long i = get_global_id(0);
    if (i >= (long)count * C * HW) return;
    const int p = i % HW, c = (i / HW) % C, n = i / ((long)HW * C);
    Y[(long)c * count * HW + (long)n * HW + p] = X[((long)(n0 + n) * C + c) * HW + p];
}

// X[n][c][p] = Y[c][(n-n0)*HW + p]
__kernel void cnhw_to_nchw(const int n0, const int count, const int C, const int HW,
                           __global const float* Y, __global float* X)
{
    const long i = get_global_id(0);
    if (i >= (long)count * C * HW) return;
    const int p = i % HW, c = (i / HW) % C, n = i / ((long)HW * C);
    X[((long)(n0 + n) * C + c) * HW + p] = Y[(long)c * count * HW + (long)n * HW + p];
}

// ---------------------------------------------------------------------------------------------
// Pooling
// ---------------------------------------------------------------------------------------------
// Max pool; `argmax` holds the winning input index within its H*W plane (as float, exact < 2^24).
// The maximum of window (oh, ow) of plane x and where it is (as a float): the window clipped to
// the image first, then scanned row by row with selects (no branch per value), keeping the first
// of equal maxima, as the CPU backend does.
inline void maxpool_window(const __global float* x, const int H, const int W, const int K, const int stride, const int pad,
                           const int oh, const int ow, __global float* y, __global float* argmax)
{
    const int h0 = max(0, oh * stride - pad), h1 = min(H, oh * stride - pad + K);
    const int w0 = max(0, ow * stride - pad), w1 = min(W, ow * stride - pad + K);
    float best = -INFINITY;
    int bi = h0 * W + w0;
    for (int ih = h0; ih < h1; ih++) {
        for (int iw = w0; iw < w1; iw++) {
            const float v = x[ih * W + iw];
            const bool better = v > best;
            best = better ? v : best;
            bi = better ? ih * W + iw : bi;
        }
    }
    *y = best;
    *argmax = (float)bi;
}

__kernel void maxpool_forward(const int NC, const int H, const int W, const int K, const int stride, const int pad,
                              const int OH, const int OW, __global const float* X, __global float* Y, __global float* argmax)
{
    const int ow = get_global_id(0), oh = get_global_id(1), nc = get_global_id(2);  // over [OW, OH, NC]
    if (ow >= OW || oh >= OH || nc >= NC) return;
    const long i = ((long)nc * OH + oh) * OW + ow;
    maxpool_window(X + (long)nc * H * W, H, W, K, stride, pad, oh, ow, Y + i, argmax + i);
}

// Disjoint windows (K <= stride; the small CNN's 2x2 stride 2): dX[p] = dY of the one window that
// holds p if p was its maximum, else 0 (inputs in no window: 0). Overlapping windows take
// maxpool_backward_phase below.
__kernel void maxpool_backward(const int NC, const int H, const int W, const int K, const int stride, const int pad,
                               const int OH, const int OW, __global const float* dY, __global const float* argmax, __global float* dX)
{
    const int iw = get_global_id(0), ih = get_global_id(1), nc = get_global_id(2);  // over [W, H, NC]
    if (iw >= W || ih >= H || nc >= NC) return;
    const int oh = (ih + pad) / stride, ow = (iw + pad) / stride;
    const bool holds = oh < OH && ow < OW && ih + pad - oh * stride < K && iw + pad - ow * stride < K;
    const long o = (long)nc * OH * OW + min(oh, OH - 1) * OW + min(ow, OW - 1);
    dX[((long)nc * H + ih) * W + iw] = holds && (int)argmax[o] == ih * W + iw ? dY[o] : 0.0f;
}

// Overlapping windows (K > stride), dX already zero: dX[argmax] += dY for the windows of one phase
// (py, px), those with oh % m == py and ow % m == px, where m = ceil(K / stride). Windows m apart
// are disjoint, so no two work-items of a launch add to the same input and the m*m launches, in
// phase order, give each input its windows' gradients in the same order as the CPU. A scatter
// reads each window once. (A gather over each input's candidate windows, their bounds worked out
// per input, took 179 ms a launch on POCL for ResNet18's stem at batch 32; the phases 39-48 ms.)
__kernel void maxpool_backward_phase(const int NC, const int H, const int W, const int OH, const int OW,
                                     const int m, const int py, const int px,
                                     __global const float* restrict dY, __global const float* restrict argmax, __global float* restrict dX)
{
    const int j = get_global_id(0), i = get_global_id(1), nc = get_global_id(2);  // over [ceil(OW/m), ceil(OH/m), NC]
    const int oh = i * m + py, ow = j * m + px;
    if (ow >= OW || oh >= OH || nc >= NC) return;
    const long o = ((long)nc * OH + oh) * OW + ow;
    dX[(long)nc * H * W + (int)argmax[o]] += dY[o];
}

// Max pooling on CPU devices, one work-item per plane, the CPU fallback's loops
// (CHostKernels/pooling.c): the forward's windows row by row, as maxpool_forward scans each;
// the backward zeroes the plane, then adds each window's gradient to its maximum phase by phase,
// in the order maxpool_backward_phase's launches do, so every device adds the same values in
// the same order. A work-item per output (maxpool_forward) spent 55 ms on ResNet18's stem at
// batch 32 on POCL, the phases' scatters 74 ms after a fill of 16.
__kernel void maxpool_forward_plane(const int NC, const int H, const int W, const int K, const int stride, const int pad,
                                    const int OH, const int OW, __global const float* restrict X, __global float* restrict Y,
                                    __global float* restrict argmax)
{
    const int nc = get_global_id(0);
    if (nc >= NC) return;
    const __global float* x = X + (long)nc * H * W;
    const long plane = (long)nc * OH * OW;
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) maxpool_window(x, H, W, K, stride, pad, oh, ow, Y + plane + oh * OW + ow, argmax + plane + oh * OW + ow);
}

__kernel void maxpool_backward_plane(const int NC, const int H, const int W, const int OH, const int OW, const int m,
                                     __global const float* restrict dY, __global const float* restrict argmax, __global float* restrict dX)
{
    const int nc = get_global_id(0);
    if (nc >= NC) return;
    __global float* d = dX + (long)nc * H * W;
    const __global float* g = dY + (long)nc * OH * OW;
    const __global float* a = argmax + (long)nc * OH * OW;
    for (int i = 0; i < H * W; i++) d[i] = 0.0f;
    for (int py = 0; py < m; py++)
        for (int px = 0; px < m; px++)
            for (int oh = py; oh < OH; oh += m)
                for (int ow = px; ow < OW; ow += m) d[(int)a[oh * OW + ow]] += g[oh * OW + ow];
}

__kernel void global_avgpool_forward(const int NC, const int HW, __global const float* X, __global float* Y)
{
    const int i = get_global_id(0);
    if (i >= NC) return;
    const __global float* x = X + (long)i * HW;
    float s = 0.0f;
    for (int j = 0; j < HW; j++) s += x[j];
    Y[i] = s / HW;
}

__kernel void global_avgpool_backward(const int NC, const int HW, __global const float* dY, __global float* dX)
{
    const long i = get_global_id(0);
    if (i >= (long)NC * HW) return;
    dX[i] = dY[i / HW] / HW;
}

// ---------------------------------------------------------------------------------------------
// Batch normalization (NCHW, per channel). Training: batch statistics, running stats updated with
// `momentum` (unbiased variance, as PyTorch). `saved` holds mean and inverse std per channel.
// Each work-item sums up to N*HW/WG values of a channel, with Kahan compensation, so the
// statistics of a large batch stay accurate to float rounding (plain float sums drift with their
// length); the variance takes a second pass over the squared deviations from the mean.
// ---------------------------------------------------------------------------------------------

// The normalised value (x - mean) * g + b with g = gamma * invstd, written once: the backward
// of a batch norm with a fused ReLU recomputes from it exactly the forward's positive outputs.
inline float batchnorm_output(const float x, const float mean, const float g, const float b) { return (x - mean) * g + b; }
inline float8 batchnorm_output8(const float8 x, const float mean, const float g, const float b) { return (x - mean) * g + b; }

// relu != 0: the ReLU after the batch norm is fused in (Y = max(normalised, 0)).
__kernel void batchnorm_forward_train(const int N, const int C, const int HW, const float eps, const float momentum, const int relu,
                                      __global const float* restrict X, __global float* restrict Y,
                                      __global const float* restrict gamma, __global const float* restrict beta,
                                      __global float* restrict runningMean, __global float* restrict runningVar,
                                      __global float* restrict savedMean, __global float* restrict savedInvStd)
{
    __local float scratch[REDUCE_WG_MAX];
    const int c = get_group_id(0), lid = get_local_id(0);
    const int WG = get_local_size(0);
    const float M = (float)N * HW;
    const float mean = chorus_group_sum(channel_sum(X, N, C, HW, c, 0, 0.0f, lid, WG), scratch) / M;
    const float var = chorus_group_sum(channel_sum(X, N, C, HW, c, 1, mean, lid, WG), scratch) / M;
    const float invstd = rsqrt(var + eps);
    const float g = gamma[c] * invstd, bb = beta[c];
    const int runs = HW / 8;
    for (int n = 0; n < N; n++) {
        const __global float* x = X + ((long)n * C + c) * HW;
        __global float* y = Y + ((long)n * C + c) * HW;
        for (int k = lid; k < runs; k += WG) {
            const float8 v = batchnorm_output8(vload8(k, x), mean, g, bb);
            vstore8(relu ? fmax(v, (float8)(0.0f)) : v, k, y);
        }
        for (int j = runs * 8 + lid; j < HW; j += WG) {
            const float v = batchnorm_output(x[j], mean, g, bb);
            y[j] = relu ? fmax(v, 0.0f) : v;
        }
    }
    if (lid == 0) {
        savedMean[c] = mean;
        savedInvStd[c] = invstd;
        const float unbiased = M > 1.0f ? var * M / (M - 1.0f) : var;
        runningMean[c] = (1.0f - momentum) * runningMean[c] + momentum * mean;
        runningVar[c] = (1.0f - momentum) * runningVar[c] + momentum * unbiased;
    }
}

__kernel void batchnorm_forward_eval(const int N, const int C, const int HW, const float eps,
                                     __global const float* X, __global float* Y,
                                     __global const float* gamma, __global const float* beta,
                                     __global const float* runningMean, __global const float* runningVar)
{
    const int p = get_global_id(0), nc = get_global_id(1);  // over [HW, N*C]
    if (p >= HW || nc >= N * C) return;
    const int c = nc % C;
    const long i = (long)nc * HW + p;
    Y[i] = (X[i] - runningMean[c]) * rsqrt(runningVar[c] + eps) * gamma[c] + beta[c];
}

// Batch norm (inference) folded into the bias-free convolution before it, weights [O, inner]:
// W' = W * s, bias' = beta - mean * s, with s = gamma / sqrt(var + eps) per output channel.
__kernel void batchnorm_fold(const int O, const int inner, const float eps, __global const float* W,
                             __global const float* gamma, __global const float* beta,
                             __global const float* runningMean, __global const float* runningVar,
                             __global float* foldedW, __global float* foldedBias)
{
    const long i = get_global_id(0);
    if (i >= (long)O * inner) return;
    const int o = i / inner;
    const float s = gamma[o] / sqrt(runningVar[o] + eps);
    foldedW[i] = W[i] * s;
    if (i % inner == 0) foldedBias[o] = beta[o] - runningMean[o] * s;
}

// Per channel: dbeta = sum dY, dgamma = sum dY * xhat (one work-group per channel, Kahan-compensated).
// relu != 0: the ReLU was fused into the forward; dY is the gradient of its output, kept where
// the recomputed output was positive.
__kernel void batchnorm_backward_reduce(const int N, const int C, const int HW, const int relu,
                                        __global const float* restrict X, __global const float* restrict dY,
                                        __global const float* restrict gamma, __global const float* restrict beta,
                                        __global const float* restrict savedMean, __global const float* restrict savedInvStd,
                                        __global float* restrict dgamma, __global float* restrict dbeta)
{
    __local float scratch[REDUCE_WG_MAX];
    const int c = get_group_id(0), lid = get_local_id(0);
    const int WG = get_local_size(0);
    const float mean = savedMean[c], invstd = savedInvStd[c], g = gamma[c] * invstd, bb = beta[c];
    // Eight lanes each (runs of eight, as channel_sum), the plane's tail one at a time.
    float8 a = (float8)(0.0f), b = (float8)(0.0f), ca = (float8)(0.0f), cb = (float8)(0.0f);
    float a1 = 0.0f, b1 = 0.0f, ca1 = 0.0f, cb1 = 0.0f;
    const int runs = HW / 8;
    for (int n = 0; n < N; n++) {
        const __global float* x = X + ((long)n * C + c) * HW;
        const __global float* dy = dY + ((long)n * C + c) * HW;
        for (int k = lid; k < runs; k += WG) {
            const float8 v = vload8(k, x), dv = vload8(k, dy);
            const float8 d = relu ? select((float8)(0.0f), dv, batchnorm_output8(v, mean, g, bb) > 0.0f) : dv;
            KAHAN_ADD8(a, ca, d); KAHAN_ADD8(b, cb, d * (v - mean));
        }
        for (int j = runs * 8 + lid; j < HW; j += WG) {
            const float d = relu && !(batchnorm_output(x[j], mean, g, bb) > 0.0f) ? 0.0f : dy[j];
            KAHAN_ADD(a1, ca1, d); KAHAN_ADD(b1, cb1, d * (x[j] - mean));
        }
    }
    const float sumDy = chorus_group_sum(lanes_sum8(a) + a1, scratch);
    const float sumDyXhat = chorus_group_sum(lanes_sum8(b) + b1, scratch);
    if (lid == 0) { dbeta[c] = sumDy; dgamma[c] = sumDyXhat * invstd; }
}

// dX = gamma * invstd / M * (M * dY - dbeta - xhat * dgamma), dY masked as in the reduction when
// the ReLU is fused. Over [ceil(HW / 8), N * C]: each work-item takes a run of eight values of a
// plane (vload8; the plane's last, shorter run one value at a time).
__kernel void batchnorm_backward_input(const int N, const int C, const int HW, const int relu,
                                       __global const float* restrict X, __global const float* restrict dY,
                                       __global const float* restrict gamma, __global const float* restrict beta,
                                       __global const float* restrict savedMean, __global const float* restrict savedInvStd,
                                       __global const float* restrict dgamma, __global const float* restrict dbeta, __global float* restrict dX)
{
    const int k = get_global_id(0), nc = get_global_id(1);  // over [ceil(HW / 8), N*C]
    if (k * 8 >= HW || nc >= N * C) return;
    const int c = nc % C;
    const float M = (float)N * HW;
    const float invstd = savedInvStd[c], mean = savedMean[c], g = gamma[c] * invstd, bb = beta[c];
    const float scale = gamma[c] * invstd / M, db = dbeta[c], dg = dgamma[c];
    const __global float* x = X + (long)nc * HW;
    const __global float* dy = dY + (long)nc * HW;
    __global float* dx = dX + (long)nc * HW;
    if (k * 8 + 8 <= HW) {
        const float8 v = vload8(k, x), dv = vload8(k, dy);
        const float8 d = relu ? select((float8)(0.0f), dv, batchnorm_output8(v, mean, g, bb) > 0.0f) : dv;
        vstore8(scale * (M * d - db - (v - mean) * invstd * dg), k, dx);
        return;
    }
    for (int j = k * 8; j < HW; j++) {
        const float d = relu && !(batchnorm_output(x[j], mean, g, bb) > 0.0f) ? 0.0f : dy[j];
        dx[j] = scale * (M * d - db - (x[j] - mean) * invstd * dg);
    }
}

// ---------------------------------------------------------------------------------------------
// Softmax family and losses (mean over rows; BCE mean over all elements, as PyTorch).
// ---------------------------------------------------------------------------------------------
__kernel void log_softmax_forward(const int rows, const int cols, __global const float* X, __global float* Y)
{
    const int r = get_global_id(0);
    if (r >= rows) return;
    const __global float* x = X + (long)r * cols;
    float m = -INFINITY;
    for (int j = 0; j < cols; j++) m = fmax(m, x[j]);
    float s = 0.0f;
    for (int j = 0; j < cols; j++) s += exp(x[j] - m);
    const float lse = m + log(s);
    for (int j = 0; j < cols; j++) Y[(long)r * cols + j] = x[j] - lse;
}

// dX = dY - softmax * sum(dY) per row, with Y = log_softmax output.
__kernel void log_softmax_backward(const int rows, const int cols, __global const float* Y, __global const float* dY, __global float* dX)
{
    const int r = get_global_id(0);
    if (r >= rows) return;
    float s = 0.0f;
    for (int j = 0; j < cols; j++) s += dY[(long)r * cols + j];
    for (int j = 0; j < cols; j++) {
        const long i = (long)r * cols + j;
        dX[i] = dY[i] - exp(Y[i]) * s;
    }
}

// Per row: loss = -sum_j t_j log softmax(x)_j; grad = (softmax(x) - t) / rows.
__kernel void softmax_cross_entropy(const int rows, const int cols, __global const float* X, __global const float* T,
                                    __global float* rowLoss, __global float* dX)
{
    const int r = get_global_id(0);
    if (r >= rows) return;
    const __global float* x = X + (long)r * cols;
    const __global float* t = T + (long)r * cols;
    float m = -INFINITY;
    for (int j = 0; j < cols; j++) m = fmax(m, x[j]);
    float s = 0.0f;
    for (int j = 0; j < cols; j++) s += exp(x[j] - m);
    const float lse = m + log(s);
    float loss = 0.0f, tsum = 0.0f;
    for (int j = 0; j < cols; j++) { loss -= t[j] * (x[j] - lse); tsum += t[j]; }
    rowLoss[r] = loss;
    for (int j = 0; j < cols; j++) dX[(long)r * cols + j] = (exp(x[j] - lse) * tsum - t[j]) / rows;
}

// Elementwise: loss = max(x,0) - x t + log(1 + exp(-|x|)); grad = (sigmoid(x) - t) / n.
__kernel void bce_with_logits(const int n, __global const float* X, __global const float* T, __global float* loss, __global float* dX)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    const float x = X[i], t = T[i];
    loss[i] = fmax(x, 0.0f) - x * t + log1p(exp(-fabs(x)));
    const float s = x >= 0.0f ? 1.0f / (1.0f + exp(-x)) : exp(x) / (1.0f + exp(x));
    dX[i] = (s - t) / n;
}

// Sum of n values into out[0] by one work-group.
__kernel void reduce_sum(const int n, __global const float* X, __global float* out)
{
    __local float scratch[REDUCE_WG_MAX];
    const int lid = get_local_id(0);
    const int WG = get_local_size(0);
    float s = 0.0f;
    for (int j = lid; j < n; j += WG) s += X[j];
    const float total = chorus_group_sum(s, scratch);
    if (lid == 0) out[0] = total;
}

// ---------------------------------------------------------------------------------------------
// Optimizers (PyTorch semantics)
// ---------------------------------------------------------------------------------------------
// SGD with momentum and L2 weight decay: g += wd*w; v = m*v + g; w -= lr*v.
__kernel void sgd_update(const int n, const float lr, const float momentum, const float weightDecay,
                         __global float* W, __global const float* G, __global float* V)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    const float g = G[i] + weightDecay * W[i];
    const float v = momentum * V[i] + g;
    V[i] = v;
    W[i] -= lr * v;
}

// AdamW: w -= lr*wd*w; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr * (m/bc1) / (sqrt(v/bc2) + eps).
__kernel void adamw_update(const int n, const float lr, const float beta1, const float beta2, const float eps,
                           const float weightDecay, const float bc1, const float bc2,
                           __global float* W, __global const float* G, __global float* Mo, __global float* Ve)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    const float g = G[i];
    float w = W[i] * (1.0f - lr * weightDecay);
    const float m = beta1 * Mo[i] + (1.0f - beta1) * g;
    const float v = beta2 * Ve[i] + (1.0f - beta2) * g * g;
    Mo[i] = m; Ve[i] = v;
    W[i] = w - lr * (m / bc1) / (sqrt(v / bc2) + eps);
}

// ---------------------------------------------------------------------------------------------
// Counter-based random numbers: value i of stream `seed` is a pure function of (seed, offset + i)
// (SplitMix64 finaliser), identical on every device and on the CPU fallback.
// ---------------------------------------------------------------------------------------------
inline ulong chorus_mix64(ulong z)
{
    z += 0x9E3779B97F4A7C15UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

inline float chorus_uniform(ulong seed, ulong counter)
{
    return (float)(chorus_mix64(seed ^ chorus_mix64(counter)) >> 40) * (1.0f / 16777216.0f);
}

__kernel void random_uniform(const int n, const ulong seed, const ulong offset, const float lo, const float hi, __global float* X)
{
    const int i = get_global_id(0);
    if (i < n) X[i] = lo + (hi - lo) * chorus_uniform(seed, offset + (ulong)i);
}

// Box-Muller on counters 2i and 2i+1.
__kernel void random_normal(const int n, const ulong seed, const ulong offset, const float mean, const float std, __global float* X)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    const float u1 = chorus_uniform(seed, offset + 2 * (ulong)i);
    const float u2 = chorus_uniform(seed, offset + 2 * (ulong)i + 1);
    const float r = sqrt(-2.0f * log(1.0f - u1));
    X[i] = mean + std * r * cos(6.283185307179586f * u2);
}

// ---------------------------------------------------------------------------------------------
// Augmentation
// ---------------------------------------------------------------------------------------------
// Overlay averaging: out[b] = (1 - w[b]) * a[b] + w[b] * o[b] for samples of `size` elements.
__kernel void overlay_blend(const int batch, const int size, __global const float* A, __global const float* O,
                            __global const float* w, __global float* Out)
{
    const long i = get_global_id(0);
    if (i >= (long)batch * size) return;
    const float wb = w[i / size];
    Out[i] = (1.0f - wb) * A[i] + wb * O[i];
}

// Label union for overlays: out = apply[b] ? max(la, lo) : la, per sample of `classes` labels.
__kernel void overlay_label_union(const int batch, const int classes, __global const float* La, __global const float* Lo,
                                  __global const float* apply, __global float* Out)
{
    const int i = get_global_id(0);
    if (i >= batch * classes) return;
    Out[i] = apply[i / classes] > 0.5f ? fmax(La[i], Lo[i]) : La[i];
}

// Spectrogram augmentation for a batch of [H, W] images, one work-item per output pixel:
// time bars (columns) then frequency bars (rows), each filled with its own fill (the reference
// fills each bar with the image's mean as it is when the bar is drawn, earlier bars included) or
// all with the sample's mean; Gaussian noise; then translation by (dy, dx) pixels with fill 0.
// `params` holds AUGMENT_PARAMS floats per sample: [fill, 3 x (time start, time width),
// 3 x (freq start, freq width), dy, dx, noiseStd, 3 time-bar fills, 3 freq-bar fills, per-bar
// fills on (> 0.5), unused].
#define AUGMENT_PARAMS 24
__kernel void augment_spectrogram(const int batch, const int H, const int W, const ulong seed, const ulong offset,
                                  __global const float* X, __global const float* params, __global float* Y)
{
    const long i = get_global_id(0);
    if (i >= (long)batch * H * W) return;
    const int x = i % W, y = (i / W) % H, b = i / ((long)W * H);
    const __global float* p = params + b * AUGMENT_PARAMS;
    const int sy = y - (int)p[13], sx = x - (int)p[14];
    if (sy < 0 || sy >= H || sx < 0 || sx >= W) { Y[i] = 0.0f; return; }
    float v = X[((long)b * H + sy) * W + sx];
    const int perBar = p[22] > 0.5f;
    for (int k = 0; k < 3; k++) {
        const int ts = (int)p[1 + 2 * k], tw = (int)p[2 + 2 * k];
        if (sx >= ts && sx < ts + tw) v = perBar ? p[16 + k] : p[0];
    }
    for (int k = 0; k < 3; k++) {
        const int fs = (int)p[7 + 2 * k], fw = (int)p[8 + 2 * k];
        if (sy >= fs && sy < fs + fw) v = perBar ? p[19 + k] : p[0];
    }
    const float std = p[15];
    if (std > 0.0f) {
        const ulong c = offset + 2 * (ulong)(((long)b * H + sy) * W + sx);
        const float u1 = chorus_uniform(seed, c), u2 = chorus_uniform(seed, c + 1);
        v += std * sqrt(-2.0f * log(1.0f - u1)) * cos(6.283185307179586f * u2);
    }
    Y[i] = v;
}

// The bar fills of augment_spectrogram, as the reference draws its bars: each filled with the
// image's mean as it is when the bar is drawn (time bars, then frequency bars; earlier bars
// included). One work-group per sample writes params[0] (the first mean), params[16..21] (each
// bar's fill) and params[22] = 1. A pixel's value when bar k is drawn is the fill of the last
// earlier bar covering it, else the image's.
__kernel void augment_bar_fills(const int batch, const int H, const int W, __global const float* X, __global float* params)
{
    __local float partial[REDUCE_WG_MAX];
    const int b = get_group_id(0), lid = get_local_id(0);
    const int WG = get_local_size(0);
    const __global float* x = X + (long)b * H * W;
    __global float* p = params + b * AUGMENT_PARAMS;
    const float count = (float)max(1, H * W);
    float s = 0.0f, comp = 0.0f;
    for (int i = lid; i < H * W; i += WG) KAHAN_ADD(s, comp, x[i]);
    float total = chorus_group_sum(s, partial);  // every work-item keeps the same running total
    if (lid == 0) p[0] = total / count;
    float fills[6];
    for (int k = 0; k < 6; k++) {
        const float fill = total / count;
        fills[k] = fill;
        const int time = k < 3;
        const int start = (int)p[1 + 2 * k], extent = (int)p[2 + 2 * k];
        const int lo = max(0, start), hi = min(time ? W : H, start + extent);
        const int across = time ? H : W;
        float d = 0.0f, dc = 0.0f;
        for (int j = lid; hi > lo && j < (hi - lo) * across; j += WG) {
            const int a = lo + j / across, c = j % across;
            const int row = time ? c : a, col = time ? a : c;
            float v = x[row * W + col];
            for (int e = 0; e < k; e++) {
                const int es = (int)p[1 + 2 * e], ee = es + (int)p[2 + 2 * e];
                const int at = e < 3 ? col : row;
                if (at >= es && at < ee) v = fills[e];
            }
            KAHAN_ADD(d, dc, fill - v);
        }
        total += chorus_group_sum(d, partial);
        if (lid == 0) p[16 + k] = fill;
    }
    if (lid == 0) p[22] = 1.0f;
}

// Audio augmentation of a batch of waveforms [B, L] (the reference toolkit's current pipeline,
// after random trimming; the host draws every choice and computes the level-dependent factors):
//   z[t] = A(a * x[t]) + c * o[t]                  gain (a), overlay mixed as audio (c * o, rounds
//                                                  pre-combined); A clips to +-p[6] when p[6] > 0
//   z[t] = N(z[t] + N(sn * N(0, 1)))               noise relative to the clip's level
//   w[t] = z[(t + s) mod L]                        random wrap: split at s, swap the two parts
//   y[t] = N(sm * N(0, 1)) inside any time mask, else w[t]
// where N clips to [-1, 1] when p[7] > 0.5 (as the reference clips gains, noise and mixes).
// `params` holds WAVEFORM_PARAMS floats per sample: [a, c, sn, s, masks, sm, sample bound, clip,
// start0, len0, start1, len1, ...]. Noise draws come from counters 2*(b*L + t) (+ 2*B*L for mask
// noise), so every device gives the same values.
#define WAVEFORM_PARAMS 32
#define WAVEFORM_MAX_MASKS 12
__kernel void augment_waveform(const int batch, const int L, const ulong seed, const ulong offset,
                               __global const float* X, __global const float* O, __global const float* params, __global float* Y)
{
    const long i = get_global_id(0);
    if (i >= (long)batch * L) return;
    const int t = i % L, b = i / L;
    const __global float* p = params + (long)b * WAVEFORM_PARAMS;
    const int clip = p[7] > 0.5f;
    const int masks = min((int)p[4], WAVEFORM_MAX_MASKS);
    for (int k = 0; k < masks; k++) {
        const int ms = (int)p[8 + 2 * k], ml = (int)p[9 + 2 * k];
        if (t >= ms && t < ms + ml) {
            // The masks' noise: its own stream, counted per sample like the additive noise below.
            const ulong c = offset + 2 * (ulong)i, ms_seed = seed ^ 0x6D61736B6E6F6973UL;
            const float u1 = chorus_uniform(ms_seed, c), u2 = chorus_uniform(ms_seed, c + 1);
            const float m = p[5] * sqrt(-2.0f * log(1.0f - u1)) * cos(6.283185307179586f * u2);
            Y[i] = clip ? clamp(m, -1.0f, 1.0f) : m;
            return;
        }
    }
    int src = t + (int)p[3];
    if (src >= L) src -= L;
    const long j = (long)b * L + src;
    float s = p[0] * X[j];
    if (p[6] > 0.0f) s = clamp(s, -p[6], p[6]);
    const float o = p[1] * O[j];
    float v = s + o;
    if (p[2] > 0.0f) {
        const ulong c = offset + 2 * (ulong)j;
        const float u1 = chorus_uniform(seed, c), u2 = chorus_uniform(seed, c + 1);
        const float n = p[2] * sqrt(-2.0f * log(1.0f - u1)) * cos(6.283185307179586f * u2);
        v = clip ? clamp(v + clamp(n, -1.0f, 1.0f), -1.0f, 1.0f) : v + n;
    }
    Y[i] = v;
}

// Random gain on spectrogram images in [-1, 1]: a level change of g dB shifts every pixel by
// offsets[b] = 2 g / (dB range), clamped to [-1, 1] like the original dB clipping.
__kernel void gain_shift(const int batch, const int size, __global const float* X, __global const float* offsets, __global float* Y)
{
    const long i = get_global_id(0);
    if (i >= (long)batch * size) return;
    Y[i] = clamp(X[i] + offsets[i / size], -1.0f, 1.0f);
}

// ---------------------------------------------------------------------------------------------
// STFT to tensor: a batch of raw clips [B, samples] -> dB spectrogram rows -> CNN image tensors.
//   stft_power_db        - one work-group per (frame, clip): loads the frame, removes its mean,
//                          applies the window, zero-pads to nfft (a power of two) and transforms it
//                          in __local memory: the real frame is packed as nfft/2 complex values
//                          (even + i*odd samples), radix-2 FFT, then split into the one-sided
//                          spectrum. Power |X|^2 * scale ("spectrum" scaling: scale = 1/(sum w)^2,
//                          doubled except DC and Nyquist), dB = 10 log10(max(p, 1e-30)); only the
//                          kept rows rowLo..rowLo+rows-1 are written, out[B, rows, frames].
//   stft_power_db_dft    - the same for any FFT size: the windowed frame in __local memory and a
//                          direct DFT per kept bin (work-items stride over bins).
//   spectrogram_to_image - dB -> clip((dB - lo) / span, 0, 1), flipped (row 0 = highest frequency),
//                          bilinear resize (align_corners=false, PyTorch semantics) to H x W, then
//                          (x - 0.5) / 0.5; out[B, 1, H, W].
// Work-group sizes of the STFT kernels are powers of two (the mean is a tree reduction).
// ---------------------------------------------------------------------------------------------

// The mean of the frame's first `windowLen` samples (0 when `removeMean` is 0).
inline float chorus_frame_mean(__global const float* x, const int windowLen, const int removeMean, __local float* scratch)
{
    if (!removeMean) return 0.0f;  // uniform across the work-group, so no barrier is skipped by some only
    float acc = 0.0f;
    for (int i = get_local_id(0); i < windowLen; i += get_local_size(0)) acc += x[i];
    return chorus_group_sum(acc, scratch) / (float)windowLen;
}

// `v` with its lowest `bits` bits reversed (bits in 0...31). A plain loop: the swap-halves form
// compiles to llvm.bitreverse, which simulators such as Oclgrind cannot run; `bits` is at most
// log2 of the FFT length, and this runs once per sample when the input is packed.
inline uint chorus_reverse_bits(uint v, const int bits)
{
    uint r = 0;
    for (int i = 0; i < bits; ++i) { r = (r << 1) | (v & 1u); v >>= 1; }
    return r;
}

// 10 log10(max(p, 1e-30)) as Audio's FastDecibels computes it: the exponent from the bit pattern and
// ln of the mantissa m in [1, 2) from 2 atanh(t), t = (m - 1) / (m + 1) (abs. error < 1e-5 dB);
// cheaper than log10 on CPU devices and the same values as the FFTW path.
inline float chorus_decibels(const float power)
{
    const float p = fmax(power, 1e-30f);
    const uint bits = as_uint(p);
    const float exponent = (float)((int)((bits >> 23) & 0xffu) - 127);
    const float m = as_float((bits & 0x007fffffu) | 0x3f800000u);
    const float t = (m - 1.0f) / (m + 1.0f);
    const float t2 = t * t;
    const float series = 1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9 + t2 * (1.0f / 11)))));
    return 3.0102999566f * exponent + 4.342944819f * (2.0f * t * series);
}

// twiddles[t] = exp(-2 pi i t / nfft) for t < nfft/2 (computed in float64 on the host).
// Launch: global [frames * L, B], local [L, 1]; buf holds nfft/2 float2, scratch L floats.
__kernel void stft_power_db(const int samples, const int frames, const int windowLen, const int hop,
                            const int nfft, const int log2n, const int removeMean,
                            __global const float* clips, __global const float* window,
                            __global const float2* twiddles, const float scale,
                            const int rowLo, const int rows, __global float* out,
                            __local float2* buf, __local float* scratch)
{
    const int frame = get_group_id(0), clip = get_group_id(1);
    const int lid = get_local_id(0), lsize = get_local_size(0);
    const int halfN = nfft >> 1, halfBits = log2n - 1;
    __global const float* x = clips + (long)clip * samples + (long)frame * hop;
    const float mean = chorus_frame_mean(x, windowLen, removeMean, scratch);

    // Pack z[n] = x[2n] + i x[2n+1] (windowed, zero-padded) at bit-reversed positions.
    for (int n = lid; n < halfN; n += lsize) {
        const int i0 = 2 * n, i1 = 2 * n + 1;
        const float re = i0 < windowLen ? (x[i0] - mean) * window[i0] : 0.0f;
        const float im = i1 < windowLen ? (x[i1] - mean) * window[i1] : 0.0f;
        buf[chorus_reverse_bits((uint)n, halfBits)] = (float2)(re, im);
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    // Radix-2 decimation-in-time over nfft/2 points: blocks of 2m combine with W_{2m}^p = twiddles[p * nfft / (2m)].
    for (int m = 1, step = halfN; m < halfN; m <<= 1, step >>= 1) {
        for (int j = lid; j < (halfN >> 1); j += lsize) {
            const int p = j & (m - 1);
            const int a0 = ((j - p) << 1) + p, a1 = a0 + m;
            const float2 w = twiddles[p * step];
            const float2 a = buf[a0], b = buf[a1];
            const float2 bw = (float2)(b.x * w.x - b.y * w.y, b.x * w.y + b.y * w.x);
            buf[a0] = a + bw;
            buf[a1] = a - bw;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    // Split: X[k] = E[k] + W_N^k O[k], E = (Z[k] + conj Z[M-k]) / 2, O = -i (Z[k] - conj Z[M-k]) / 2.
    __global float* dst = out + (long)clip * rows * frames + frame;
    for (int r = lid; r < rows; r += lsize) {
        const int k = rowLo + r;
        const float2 zk = buf[k & (halfN - 1)];
        const float2 zm = buf[(halfN - k) & (halfN - 1)];
        const float2 e = (float2)(0.5f * (zk.x + zm.x), 0.5f * (zk.y - zm.y));
        const float2 d = (float2)(0.5f * (zk.x - zm.x), 0.5f * (zk.y + zm.y));
        const float2 o = (float2)(d.y, -d.x);
        const float2 w = k < halfN ? twiddles[k] : (float2)(-1.0f, 0.0f);
        const float re = e.x + o.x * w.x - o.y * w.y;
        const float im = e.y + o.x * w.y + o.y * w.x;
        const float s = (k == 0 || k == halfN) ? scale : 2.0f * scale;
        dst[(long)r * frames] = chorus_decibels((re * re + im * im) * s);
    }
}

// twiddles[t] = exp(-2 pi i t / nfft) for t < nfft. Launch as stft_power_db; frameBuf holds windowLen floats.
__kernel void stft_power_db_dft(const int samples, const int frames, const int windowLen, const int hop,
                                const int nfft, const int removeMean,
                                __global const float* clips, __global const float* window,
                                __global const float2* twiddles, const float scale,
                                const int rowLo, const int rows, __global float* out,
                                __local float* frameBuf, __local float* scratch)
{
    const int frame = get_group_id(0), clip = get_group_id(1);
    const int lid = get_local_id(0), lsize = get_local_size(0);
    __global const float* x = clips + (long)clip * samples + (long)frame * hop;
    const float mean = chorus_frame_mean(x, windowLen, removeMean, scratch);
    for (int n = lid; n < windowLen; n += lsize) frameBuf[n] = (x[n] - mean) * window[n];
    barrier(CLK_LOCAL_MEM_FENCE);

    const int nyquist = (nfft % 2 == 0) ? nfft / 2 : -1;
    __global float* dst = out + (long)clip * rows * frames + frame;
    for (int r = lid; r < rows; r += lsize) {
        const int k = rowLo + r;
        float re = 0.0f, im = 0.0f;
        int t = 0;  // (k * n) mod nfft, advanced without overflow
        for (int n = 0; n < windowLen; ++n) {
            const float2 w = twiddles[t];
            const float v = frameBuf[n];
            re += v * w.x;
            im += v * w.y;
            t += k;
            if (t >= nfft) t -= nfft;
        }
        const float s = (k == 0 || k == nyquist) ? scale : 2.0f * scale;
        dst[(long)r * frames] = chorus_decibels((re * re + im * im) * s);
    }
}

// Source taps of output index i for align_corners=false (PyTorch's CPU kernel, in float);
// scale = (float)inSize / (float)outSize, computed on the host (correctly rounded, as the CPU path).
inline void chorus_bilinear_tap(const int i, const int inSize, const float scale, int* low, int* high, float* weight)
{
    const float src = fmax(scale * ((float)i + 0.5f) - 0.5f, 0.0f);
    const int lo = min((int)src, inSize - 1);
    *low = lo;
    *high = lo < inSize - 1 ? lo + 1 : lo;
    *weight = src - (float)lo;
}

inline float chorus_unit_db(const float db, const float dbLow, const float invSpan)
{
    return fmin(fmax((db - dbLow) * invSpan, 0.0f), 1.0f);
}

// db [B, rows, frames] (row 0 = lowest kept frequency) -> out [B, 1, height, width].
// rowScale = rows / height and columnScale = frames / width (float, from the host); invSpan = 1 / (hi - lo) dB.
// Launch: global [width, height, B].
__kernel void spectrogram_to_image(const int batch, const int rows, const int frames, const int height, const int width,
                                   const float rowScale, const float columnScale, const float dbLow, const float invSpan,
                                   __global const float* db, __global float* out)
{
    const int x = get_global_id(0), y = get_global_id(1), b = get_global_id(2);
    if (x >= width || y >= height || b >= batch) return;
    int r0, r1, c0, c1;
    float rw, cw;
    chorus_bilinear_tap(y, rows, rowScale, &r0, &r1, &rw);
    chorus_bilinear_tap(x, frames, columnScale, &c0, &c1, &cw);
    // Image row r shows spectrogram row rows - 1 - r (flipped).
    __global const float* s = db + (long)b * rows * frames;
    __global const float* top = s + (long)(rows - 1 - r0) * frames;
    __global const float* bottom = s + (long)(rows - 1 - r1) * frames;
    const float upper = (1.0f - cw) * chorus_unit_db(top[c0], dbLow, invSpan) + cw * chorus_unit_db(top[c1], dbLow, invSpan);
    const float lower = (1.0f - cw) * chorus_unit_db(bottom[c0], dbLow, invSpan) + cw * chorus_unit_db(bottom[c1], dbLow, invSpan);
    const float v = (1.0f - rw) * upper + rw * lower;
    out[((long)b * height + y) * width + x] = (v - 0.5f) * 2.0f;
}
#endif  // CHORUS_GEMM_ONLY
