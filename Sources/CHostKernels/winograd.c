// 3x3 convolutions with stride 1 and padding 1 by Winograd's minimal filtering F(4x4, 3x3)
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 4x4 block of
// outputs (a tile) takes a 6x6 patch of input, and
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
// needs 36 multiply-adds per input channel instead of the direct method's 144. The 36 products
// become 36 independent matrix products, one per point xi of the 6x6 transform:
//   M_xi[k][t] = sum over c of U_xi[k][c] * V_xi[c][t]      (k: output channel, t: tile)
//
// Layout, chosen so that every step is vectorised along eight tiles and needs no transposes:
//   U[xi][K/4][C][4]    transformed weights, four output channels side by side (broadcast)
//   V[xi][P][C][w]      transformed input, panels of w tiles: 24 (three AVX2 vectors of eight)
//                       or, where the CPU has AVX-512, 48 (three AVX-512 vectors of sixteen)
//   M[xi][K][Tb]        products for the Tb tiles of a block
// A thread takes its images in chunks: pads the chunk (one zero row and column before, enough
// after to fill whole tiles), then for each block of tiles: input transform (gathers of eight
// tiles' patches), the 36 products (a 4 x 24 register-blocked kernel with 12 accumulators in
// AVX2, or 8 x 48 with 24 in AVX-512), and the output transform with bias and ReLU, stored four
// columns at a time. Each output adds the same products in the same order whichever the panel
// width, so both give the same bits.
#include "host_kernels.h"
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
// x86-64 only: the product kernel's assembly names ymm8-ymm15 and 64-bit registers.
#if defined(__x86_64__)
#include <immintrin.h>
#define CHORUS_X86 1
#endif

enum { TILE = 4, PATCH = 6, POINTS = 36, PANEL = 24, WIDE_PANEL = 48, LANES = 8 };

// The 36 points' slices of U, V and M lie this many floats (one cache line) further apart than
// their sizes: sizes are often multiples of 4 KiB, and 36 streams that far apart all fall into
// the same set of the L1 cache (8 ways), which made the weight transform's stores 5x slower.
enum { SKEW = 16, MAX_PANELS = 8 };
static size_t point_stride(size_t size) { return size + SKEW; }

static int tiles_along(int size) { return (size + TILE - 1) / TILE; }
static int padded_height(int height) { return tiles_along(height) * TILE + 2; }
static int padded_width(int width) { return tiles_along(width) * TILE + 2; }

// The widest vectors the products may use (chorus_winograd_limit_vectors). Callers read the width
// once (chorus_winograd_vector_bits) and pass it to both chorus_winograd_scratch and
// chorus_winograd_convolve, so a change of the limit between the two cannot make them disagree.
static _Atomic int vector_limit = 512;

void chorus_winograd_limit_vectors(int bits) { vector_limit = bits == 256 ? 256 : 512; }

static int has_avx512(void) {
#ifdef CHORUS_X86
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

int chorus_winograd_vector_bits(void) {
    if (!chorus_winograd_supported(1, 4)) return 0;
    return vector_limit >= 512 && has_avx512() ? 512 : 256;
}

// Tiles per panel of V: three vectors of the products' width (AVX-512 only where the CPU has it).
static int panel_width(int vector_bits) { return vector_bits == 512 && has_avx512() ? WIDE_PANEL : PANEL; }

// Panels per block: a point's slice of V (C x Tb floats) stays in the core's L2 cache while each
// group of output channels runs over it.
static int block_panels(int channels, int panel) {
    int panels = 16384 / (channels * panel);
    return panels < 1 ? 1 : panels > MAX_PANELS ? MAX_PANELS : panels;
}

// Images per chunk: about four blocks' worth of tiles.
static int chunk_images(int channels, int height, int width, int images, int panel) {
    const int per_image = tiles_along(height) * tiles_along(width);
    int n = (4 * block_panels(channels, panel) * panel + per_image - 1) / per_image;
    return n < 1 ? 1 : n > images ? images : n;
}

int chorus_winograd_supported(int channels, int out_channels) {
#ifdef CHORUS_X86
    return out_channels % 4 == 0 && channels > 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    (void)channels; (void)out_channels;
    return 0;
#endif
}

size_t chorus_winograd_weights_size(int channels, int out_channels) { return POINTS * point_stride((size_t)channels * out_channels); }

// G applied to three values: the filter's six values along one axis of the patch.
static inline void weights_1d(float a, float b, float e, float *t, int step) {
    const float s = (a + e) * (-1.0f / 6), d = b * (1.0f / 6), s2 = a * (1.0f / 24) + e * (1.0f / 6), d2 = b * (1.0f / 12);
    t[0] = a * 0.25f; t[step] = s - d; t[2 * step] = s + d; t[3 * step] = s2 + d2; t[4 * step] = s2 - d2; t[5 * step] = e;
}

// The filters of output channels [4 k4, 4 k4 + 4) from input channels [c0, c1), one at a time.
static void weights_scalar(const float *w, float *u, int channels, int out_channels, int data_gradient, int k4, int c0, int c1) {
    const size_t point_step = point_stride((size_t)out_channels * channels);
    for (int c = c0; c < c1; c++) {
        float v[POINTS][4];
        for (int kk = 0; kk < 4; kk++) {
            const int k = k4 * 4 + kk;
            // The filter from input channel c to output channel k: w[k][c] forward; for the data
            // gradient (the layer's inputs are this convolution's outputs), w[c][k] turned 180 degrees.
            float g[9];
            if (data_gradient) for (int i = 0; i < 9; i++) g[i] = w[((size_t)c * out_channels + k) * 9 + 8 - i];
            else memcpy(g, w + ((size_t)k * channels + c) * 9, sizeof g);
            float t[PATCH * 3], e[POINTS];
            for (int j = 0; j < 3; j++) weights_1d(g[j], g[3 + j], g[6 + j], t + j, 3);      // t[i][j] = (G g)[i][j]
            for (int i = 0; i < PATCH; i++) weights_1d(t[i * 3], t[i * 3 + 1], t[i * 3 + 2], e + i * PATCH, 1);
            for (int xi = 0; xi < POINTS; xi++) v[xi][kk] = e[xi];
        }
        float *out = u + ((size_t)k4 * channels + c) * 4;
        for (int xi = 0; xi < POINTS; xi++) memcpy(out + xi * point_step, v[xi], sizeof v[xi]);
    }
}

size_t chorus_winograd_scratch(int images, int channels, int height, int width, int out_channels, int vector_bits) {
    const int panel = panel_width(vector_bits);
    const size_t tb = (size_t)block_panels(channels, panel) * panel;
    const size_t padded = (size_t)chunk_images(channels, height, width, images, panel) * channels * padded_height(height) * padded_width(width);
    return padded + LANES + POINTS * point_stride((size_t)channels * tb) + POINTS * point_stride((size_t)out_channels * tb);
}

#ifdef CHORUS_X86
#define AVX2 __attribute__((target("avx2,fma")))

// The chunk's images, padded: row 0 and column 0 zero, the image from (1, 1), zeros after.
static void pad_images(const float *x, float *xp, int count, int channels, int height, int width) {
    const int hp = padded_height(height), wp = padded_width(width);
    for (size_t plane = 0; plane < (size_t)count * channels; plane++) {
        const float *in = x + plane * height * width;
        float *out = xp + plane * hp * wp;
        memset(out, 0, sizeof(float) * wp);
        for (int r = 0; r < height; r++) {
            float *row = out + (size_t)(r + 1) * wp;
            row[0] = 0;
            memcpy(row + 1, in + (size_t)r * width, sizeof(float) * width);
            memset(row + 1 + width, 0, sizeof(float) * (wp - 1 - width));
        }
        memset(out + (size_t)(height + 1) * wp, 0, sizeof(float) * (size_t)(hp - 1 - height) * wp);
    }
}

// B^T applied to six vectors (one column or row of eight tiles' patches).
AVX2 static inline void input_1d(const __m256 d[PATCH], __m256 t[PATCH]) {
    const __m256 four = _mm256_set1_ps(4), five = _mm256_set1_ps(5), two = _mm256_set1_ps(2);
    const __m256 p = _mm256_fnmadd_ps(four, d[2], d[4]), q = _mm256_fnmadd_ps(four, d[1], d[3]);
    const __m256 r = _mm256_sub_ps(d[4], d[2]), s = _mm256_sub_ps(d[3], d[1]);
    t[0] = _mm256_fmadd_ps(four, d[0], _mm256_fnmadd_ps(five, d[2], d[4]));
    t[1] = _mm256_add_ps(p, q);
    t[2] = _mm256_sub_ps(p, q);
    t[3] = _mm256_fmadd_ps(two, s, r);
    t[4] = _mm256_fnmadd_ps(two, s, r);
    t[5] = _mm256_fmadd_ps(four, d[1], _mm256_fnmadd_ps(five, d[3], d[5]));
}

// A^T applied to six vectors.
AVX2 static inline void output_1d(const __m256 m[PATCH], __m256 o[TILE]) {
    const __m256 a = _mm256_add_ps(m[1], m[2]), b = _mm256_sub_ps(m[1], m[2]);
    const __m256 c = _mm256_add_ps(m[3], m[4]), d = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], a), c);
    o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2), d, b);
    o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4), c, a);
    o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8), d, b), m[5]);
}

// A 4x4 transpose in each 128-bit half: t[i] holds v[0..3]'s element i of the low half (low
// 128 bits) and element 4 + i (high 128 bits). Four vectors over eight lanes become each lane's
// four values (lane i low in t[i], lane 4 + i high), and the reverse.
AVX2 static inline void transpose_halves(__m256 v0, __m256 v1, __m256 v2, __m256 v3, __m256 t[4]) {
    const __m256 a0 = _mm256_unpacklo_ps(v0, v1), a1 = _mm256_unpackhi_ps(v0, v1);
    const __m256 a2 = _mm256_unpacklo_ps(v2, v3), a3 = _mm256_unpackhi_ps(v2, v3);
    t[0] = _mm256_shuffle_ps(a0, a2, 0x44); t[1] = _mm256_shuffle_ps(a0, a2, 0xEE);
    t[2] = _mm256_shuffle_ps(a1, a3, 0x44); t[3] = _mm256_shuffle_ps(a1, a3, 0xEE);
}

// Eight rows of eight floats to eight columns: out[j] lane l = row l's float j (j < 6 only).
AVX2 static inline void transpose_8x6(const __m256 r[LANES], __m256 out[PATCH]) {
    __m256 a[4], b[4];
    transpose_halves(r[0], r[1], r[2], r[3], a);  // a[j]: rows 0-3's float j (low), j + 4 (high)
    transpose_halves(r[4], r[5], r[6], r[7], b);  // the same for rows 4-7
    for (int j = 0; j < 4; j++) out[j] = _mm256_permute2f128_ps(a[j], b[j], 0x20);
    out[4] = _mm256_permute2f128_ps(a[0], b[0], 0x31); out[5] = _mm256_permute2f128_ps(a[1], b[1], 0x31);
}

// V for eight tiles (their patches start at xp + at[l]) of every channel. Each patch row is
// loaded as eight floats per tile and transposed, so lane l holds tile l.
AVX2 static void input_transform(const float *xp, const size_t at[LANES], int channels, size_t plane, int wp, float *v, size_t point_step,
                                  size_t channel_step) {
    for (int c = 0; c < channels; c++) {
        __m256 rows[PATCH][PATCH];  // rows[i][j]: the row transform (d B) of patch row i
        for (int i = 0; i < PATCH; i++) {
            __m256 r[LANES], d[PATCH];
            for (int l = 0; l < LANES; l++) r[l] = _mm256_loadu_ps(xp + at[l] + (size_t)c * plane + (size_t)i * wp);
            transpose_8x6(r, d);
            input_1d(d, rows[i]);
        }
        for (int j = 0; j < PATCH; j++) {
            __m256 col[PATCH], t[PATCH];
            for (int i = 0; i < PATCH; i++) col[i] = rows[i][j];
            input_1d(col, t);
            for (int i = 0; i < PATCH; i++) _mm256_storeu_ps(v + (size_t)(i * PATCH + j) * point_step + (size_t)c * channel_step, t[i]);
        }
    }
}

// m[4][ldm] = u[C][4] x v[C][24]: four output channels by 24 tiles, in 12 accumulators. Written
// in assembly because its 16 vector registers are exactly enough (12 sums, 3 rows of v, 1
// broadcast) and clang, free to choose, kept a second broadcast register and spilled a sum on
// every iteration: products ran 1.7x slower than the same loop built by GCC.
AVX2 static void product_4x24(int channels, const float *u, const float *v, float *m, int ldm) {
    long n = channels, row = (long)ldm * (long)sizeof(float);
#define CHORUS_W_ROW(offset, a, b, c) \
    "vbroadcastss " #offset "(%[u]), %%ymm3\n\t" \
    "vfmadd231ps %%ymm0, %%ymm3, %%ymm" #a "\n\t" \
    "vfmadd231ps %%ymm1, %%ymm3, %%ymm" #b "\n\t" \
    "vfmadd231ps %%ymm2, %%ymm3, %%ymm" #c "\n\t"
#define CHORUS_W_STORE(a, b, c) \
    "vmovups %%ymm" #a ", (%[m])\n\t" \
    "vmovups %%ymm" #b ", 32(%[m])\n\t" \
    "vmovups %%ymm" #c ", 64(%[m])\n\t" \
    "add %[row], %[m]\n\t"
    __asm__ volatile(
        "vxorps %%ymm4, %%ymm4, %%ymm4\n\t" "vxorps %%ymm5, %%ymm5, %%ymm5\n\t" "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"
        "vxorps %%ymm7, %%ymm7, %%ymm7\n\t" "vxorps %%ymm8, %%ymm8, %%ymm8\n\t" "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"
        "vxorps %%ymm10, %%ymm10, %%ymm10\n\t" "vxorps %%ymm11, %%ymm11, %%ymm11\n\t" "vxorps %%ymm12, %%ymm12, %%ymm12\n\t"
        "vxorps %%ymm13, %%ymm13, %%ymm13\n\t" "vxorps %%ymm14, %%ymm14, %%ymm14\n\t" "vxorps %%ymm15, %%ymm15, %%ymm15\n\t"
        "1:\n\t"
        "vmovups (%[v]), %%ymm0\n\t"
        "vmovups 32(%[v]), %%ymm1\n\t"
        "vmovups 64(%[v]), %%ymm2\n\t"
        CHORUS_W_ROW(0, 4, 5, 6)
        CHORUS_W_ROW(4, 7, 8, 9)
        CHORUS_W_ROW(8, 10, 11, 12)
        CHORUS_W_ROW(12, 13, 14, 15)
        "add $16, %[u]\n\t"
        "add $96, %[v]\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        CHORUS_W_STORE(4, 5, 6)
        CHORUS_W_STORE(7, 8, 9)
        CHORUS_W_STORE(10, 11, 12)
        CHORUS_W_STORE(13, 14, 15)
        : [u] "+r"(u), [v] "+r"(v), [n] "+r"(n), [m] "+r"(m)
        : [row] "r"(row)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
#undef CHORUS_W_ROW
#undef CHORUS_W_STORE
}

#define AVX512 __attribute__((target("avx512f")))

// m[rows][ldm] = U x V for rows (4 or 8) output channels by 48 tiles: u holds the first group of
// four ([C][4]), ub the next (U's next group, u + 4 C; unused for 4 rows). rows * 3 AVX-512
// accumulators; for 8 rows, 24 of the 32 registers, each row of v loaded once feeding 24 products.
// Inlined into the two entry points below with rows a constant, so its loops unroll.
AVX512 static inline __attribute__((always_inline)) void product_x48(int rows, int channels, const float *u, const float *ub,
                                                                   const float *v, float *m, int ldm) {
    __m512 s[8][3];
    for (int kk = 0; kk < rows; kk++) s[kk][0] = s[kk][1] = s[kk][2] = _mm512_setzero_ps();
    for (int c = 0; c < channels; c++, u += 4, ub += 4, v += WIDE_PANEL) {
        const __m512 v0 = _mm512_loadu_ps(v), v1 = _mm512_loadu_ps(v + 16), v2 = _mm512_loadu_ps(v + 32);
        for (int kk = 0; kk < rows; kk++) {
            const __m512 b = _mm512_set1_ps(kk < 4 ? u[kk] : ub[kk - 4]);
            s[kk][0] = _mm512_fmadd_ps(v0, b, s[kk][0]);
            s[kk][1] = _mm512_fmadd_ps(v1, b, s[kk][1]);
            s[kk][2] = _mm512_fmadd_ps(v2, b, s[kk][2]);
        }
    }
    for (int kk = 0; kk < rows; kk++)
        for (int j = 0; j < 3; j++) _mm512_storeu_ps(m + (size_t)kk * ldm + 16 * j, s[kk][j]);
}

AVX512 static void product_8x48(int channels, const float *u, const float *ub, const float *v, float *m, int ldm) {
    product_x48(8, channels, u, ub, v, m, ldm);
}

// Output channels in fours but not eights: the last four.
AVX512 static void product_4x48(int channels, const float *u, const float *v, float *m, int ldm) {
    product_x48(4, channels, u, u, v, m, ldm);
}

// The products of one point for every output channel and the block's panels: M[K][Tb] = U[K][C] V[C][Tb].
static void point_products(int channels, int out_channels, const float *ux, const float *vx, float *mx, int np, int panel) {
    const int tb = np * panel;
    if (panel == WIDE_PANEL) {
        int k = 0;
        for (; k + 8 <= out_channels; k += 8)
            for (int p = 0; p < np; p++)
                product_8x48(channels, ux + (size_t)k * channels, ux + (size_t)(k + 4) * channels, vx + (size_t)p * channels * panel,
                             mx + (size_t)k * tb + p * panel, tb);
        for (; k < out_channels; k += 4)
            for (int p = 0; p < np; p++)
                product_4x48(channels, ux + (size_t)k * channels, vx + (size_t)p * channels * panel, mx + (size_t)k * tb + p * panel, tb);
    } else
        for (int k = 0; k < out_channels; k += 4)
            for (int p = 0; p < np; p++)
                product_4x24(channels, ux + (size_t)k * channels, vx + (size_t)p * channels * panel, mx + (size_t)k * tb + p * panel, tb);
}

// Where each of eight tiles' outputs go: offset of its first output in y (channel 0), and how
// many of its rows and columns lie inside the image (0 rows: a lane past the last tile).
typedef struct { size_t at[LANES]; int rows[LANES], cols[LANES]; } lanes_t;

// Output transform of eight tiles for output channel k: bias, ReLU, stored row by row.
AVX2 static void output_transform(const float *m, size_t point_step, const lanes_t *dst, float *y, int width,
                                  float bias, int relu) {
    __m256 rows[TILE][PATCH];  // A^T applied down each column: rows[r][j]
    for (int j = 0; j < PATCH; j++) {
        __m256 col[PATCH], o[TILE];
        for (int i = 0; i < PATCH; i++) col[i] = _mm256_loadu_ps(m + (size_t)(i * PATCH + j) * point_step);
        output_1d(col, o);
        for (int r = 0; r < TILE; r++) rows[r][j] = o[r];
    }
    const __m256 b = _mm256_set1_ps(bias), zero = _mm256_setzero_ps();
    for (int r = 0; r < TILE; r++) {
        __m256 o[TILE];
        output_1d(rows[r], o);
        for (int c = 0; c < TILE; c++) {
            o[c] = _mm256_add_ps(o[c], b);
            if (relu) o[c] = _mm256_max_ps(o[c], zero);
        }
        // Four columns of eight lanes to eight lanes of four columns: the low 128 bits of t[l]
        // hold lane l's row, the high ones lane l + 4's.
        __m256 t[4];
        transpose_halves(o[0], o[1], o[2], o[3], t);
        for (int l = 0; l < LANES; l++) {
            if (r >= dst->rows[l]) continue;
            const __m128 q = l < 4 ? _mm256_castps256_ps128(t[l]) : _mm256_extractf128_ps(t[l - 4], 1);
            float *out = y + dst->at[l] + (size_t)r * width;
            if (dst->cols[l] == TILE) _mm_storeu_ps(out, q);
            else {
                float s[4];
                _mm_storeu_ps(s, q);
                for (int c = 0; c < dst->cols[l]; c++) out[c] = s[c];
            }
        }
    }
}

// G applied to three vectors (eight filters' values along one axis).
AVX2 static inline void weights_1d_avx2(__m256 a, __m256 b, __m256 e, __m256 t[PATCH]) {
    const __m256 s = _mm256_mul_ps(_mm256_add_ps(a, e), _mm256_set1_ps(-1.0f / 6)), d = _mm256_mul_ps(b, _mm256_set1_ps(1.0f / 6));
    const __m256 s2 = _mm256_add_ps(_mm256_mul_ps(a, _mm256_set1_ps(1.0f / 24)), _mm256_mul_ps(e, _mm256_set1_ps(1.0f / 6)));
    const __m256 d2 = _mm256_mul_ps(b, _mm256_set1_ps(1.0f / 12));
    t[0] = _mm256_mul_ps(a, _mm256_set1_ps(0.25f)); t[1] = _mm256_sub_ps(s, d); t[2] = _mm256_add_ps(s, d);
    t[3] = _mm256_add_ps(s2, d2); t[4] = _mm256_sub_ps(s2, d2); t[5] = e;
}

// As weights_scalar for input channels [c0, c0 + 8), eight filters a vector (lane l: channel c0 + l):
// the same operations in the same order.
AVX2 static void weights_avx2(const float *w, float *u, int channels, int out_channels, int data_gradient, int k4, int c0, int stream) {
    const size_t point_step = point_stride((size_t)out_channels * channels);
    const int step = data_gradient ? out_channels * 9 : 9;  // floats between lanes' filters
    const __m256i lanes = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(step));
    __m256 e[4][POINTS];
    for (int kk = 0; kk < 4; kk++) {
        const int k = k4 * 4 + kk;
        const float *base = data_gradient ? w + ((size_t)c0 * out_channels + k) * 9 : w + ((size_t)k * channels + c0) * 9;
        __m256 g[9];
        for (int i = 0; i < 9; i++) g[i] = _mm256_i32gather_ps(base + (data_gradient ? 8 - i : i), lanes, 4);
        __m256 t[3][PATCH];  // t[j][i] = (G g)[i][j]
        for (int j = 0; j < 3; j++) weights_1d_avx2(g[j], g[3 + j], g[6 + j], t[j]);
        for (int i = 0; i < PATCH; i++) weights_1d_avx2(t[0][i], t[1][i], t[2][i], e[kk] + i * PATCH);
    }
    float *out = u + ((size_t)k4 * channels + c0) * 4;
    for (int xi = 0; xi < POINTS; xi++) {
        // Four vectors over eight channels to eight channels' four values, in channel order.
        __m256 t[4];
        transpose_halves(e[0][xi], e[1][xi], e[2][xi], e[3][xi], t);
        float *o = out + xi * point_step;
        const __m256 o0 = _mm256_permute2f128_ps(t[0], t[1], 0x20), o1 = _mm256_permute2f128_ps(t[2], t[3], 0x20);
        const __m256 o2 = _mm256_permute2f128_ps(t[0], t[1], 0x31), o3 = _mm256_permute2f128_ps(t[2], t[3], 0x31);
        if (stream) {
            _mm256_stream_ps(o, o0); _mm256_stream_ps(o + 8, o1); _mm256_stream_ps(o + 16, o2); _mm256_stream_ps(o + 24, o3);
        } else {
            _mm256_storeu_ps(o, o0); _mm256_storeu_ps(o + 8, o1); _mm256_storeu_ps(o + 16, o2); _mm256_storeu_ps(o + 24, o3);
        }
    }
}

AVX2 static void convolve_avx2(const float *x, const float *u, const float *bias, int relu, float *y, float *scratch,
                                int first, int count, int images, int channels, int height, int width, int out_channels, int vector_bits) {
    const int th = tiles_along(height), tw = tiles_along(width), per_image = th * tw;
    const int hp = padded_height(height), wp = padded_width(width);
    const size_t plane = (size_t)hp * wp, out_plane = (size_t)height * width;
    const int panel = panel_width(vector_bits), target = block_panels(channels, panel), chunk = chunk_images(channels, height, width, images, panel);
    const int tb_max = target * panel;
    float *xp = scratch;
    float *v = xp + (size_t)chunk * channels * plane + LANES;  // rows are loaded 8 floats wide: 2 past the last
    float *m = v + POINTS * point_stride((size_t)channels * tb_max);
    lanes_t dst[MAX_PANELS * WIDE_PANEL / LANES];
    for (int n0 = first; n0 < first + count; n0 += chunk) {
        const int n = n0 + chunk <= first + count ? chunk : first + count - n0;
        pad_images(x + (size_t)n0 * channels * height * width, xp, n, channels, height, width);
        const int tiles = n * per_image, panels = (tiles + panel - 1) / panel;
        const int blocks = (panels + target - 1) / target;
        for (int blk = 0; blk < blocks; blk++) {
            const int p0 = panels * blk / blocks, p1 = panels * (blk + 1) / blocks, np = p1 - p0, tb = np * panel;
            // Input transform, eight tiles at a time.
            for (int p = 0; p < np; p++)
                for (int third = 0; third < panel / LANES; third++) {
                    size_t at[LANES];
                    for (int l = 0; l < LANES; l++) {
                        int t = (p0 + p) * panel + third * LANES + l;
                        if (t >= tiles) t = tiles - 1;
                        const int img = t / per_image, ty = t % per_image / tw, tx = t % tw;
                        at[l] = (size_t)img * channels * plane + (size_t)ty * TILE * wp + (size_t)tx * TILE;
                    }
                    input_transform(xp, at, channels, plane, wp,
                                    v + (size_t)p * channels * panel + third * LANES, point_stride((size_t)np * channels * panel), panel);
                }
            // The 36 products.
            for (int xi = 0; xi < POINTS; xi++)
                point_products(channels, out_channels, u + xi * point_stride((size_t)out_channels * channels),
                               v + xi * point_stride((size_t)np * channels * panel), m + xi * point_stride((size_t)out_channels * tb), np, panel);
            // Output transform, eight tiles at a time.
            for (int g = 0; g < tb / LANES; g++)
                for (int l = 0; l < LANES; l++) {
                    const int t = p0 * panel + g * LANES + l;
                    if (t >= tiles) { dst[g].at[l] = 0; dst[g].rows[l] = 0; dst[g].cols[l] = 0; continue; }
                    const int img = t / per_image, ty = t % per_image / tw, tx = t % tw;
                    const int rows = height - ty * TILE, cols = width - tx * TILE;
                    dst[g].at[l] = (size_t)(n0 + img) * out_channels * out_plane + (size_t)ty * TILE * width + (size_t)tx * TILE;
                    dst[g].rows[l] = rows < TILE ? rows : TILE;
                    dst[g].cols[l] = cols < TILE ? cols : TILE;
                }
            for (int k = 0; k < out_channels; k++)
                for (int g = 0; g < tb / LANES; g++)
                    output_transform(m + (size_t)k * tb + g * LANES, point_stride((size_t)out_channels * tb), &dst[g], y + (size_t)k * out_plane, width,
                                     bias ? bias[k] : 0.0f, relu);
        }
    }
}

// --- The weight gradient -------------------------------------------------------------------
// dW[k][c] = G^T dU[k][c] G, where for each of the 36 points
//   dU_xi[k][c] = sum over tiles t of dM_xi[k][t] * V_xi[c][t],   dM = A dY A^T (dY: a 4x4 tile of
// the output gradient), V as in the forward pass. The transforms here fill V[xi][C][T] and
// dM[xi][K][T] for a chunk of images (T tiles, a multiple of 8, the tiles past the last zero in
// dM); the 36 products, with their long sums over tiles, are plain matrix products (the caller
// runs them on OpenBLAS).

// A applied to four vectors (one row or column of eight tiles of the output gradient).
AVX2 static inline void gradient_1d(const __m256 y[TILE], __m256 m[PATCH]) {
    const __m256 a = _mm256_add_ps(y[0], y[2]), b = _mm256_add_ps(y[1], y[3]);
    const __m256 c = _mm256_fmadd_ps(_mm256_set1_ps(4), y[2], y[0]);
    const __m256 d = _mm256_fmadd_ps(_mm256_set1_ps(8), y[3], _mm256_add_ps(y[1], y[1]));
    m[0] = y[0]; m[1] = _mm256_add_ps(a, b); m[2] = _mm256_sub_ps(a, b);
    m[3] = _mm256_add_ps(c, d); m[4] = _mm256_sub_ps(c, d); m[5] = y[3];
}

// dM for eight tiles of every output channel: their 4x4 blocks start at dyp + at[l] in planes of
// `plane` floats, rows `width` apart. Stored at dm + point * point_step + k * channel_step.
AVX2 static void gradient_transform(const float *dyp, const size_t at[LANES], int out_channels, size_t plane, int width,
                                    float *dm, size_t point_step, size_t channel_step) {
    for (int k = 0; k < out_channels; k++) {
        __m256 rows[TILE][PATCH];
        for (int r = 0; r < TILE; r++) {
            __m128 q[LANES];
            for (int l = 0; l < LANES; l++) q[l] = _mm_loadu_ps(dyp + at[l] + (size_t)k * plane + (size_t)r * width);
            // Eight rows of four (tile l's row in q[l]; tiles l and l + 4 share a vector) to four
            // vectors of eight (lane l: tile l).
            __m256 v[TILE];
            transpose_halves(_mm256_insertf128_ps(_mm256_castps128_ps256(q[0]), q[4], 1), _mm256_insertf128_ps(_mm256_castps128_ps256(q[1]), q[5], 1),
                             _mm256_insertf128_ps(_mm256_castps128_ps256(q[2]), q[6], 1), _mm256_insertf128_ps(_mm256_castps128_ps256(q[3]), q[7], 1), v);
            gradient_1d(v, rows[r]);
        }
        for (int j = 0; j < PATCH; j++) {
            __m256 col[TILE], m[PATCH];
            for (int r = 0; r < TILE; r++) col[r] = rows[r][j];
            gradient_1d(col, m);
            for (int i = 0; i < PATCH; i++) _mm256_storeu_ps(dm + (size_t)(i * PATCH + j) * point_step + (size_t)k * channel_step, m[i]);
        }
    }
}
#endif

// Transformed weights larger than this (floats) are written past the caches: they would not fit
// there anyway, and reading each line in before writing it doubled the transform's traffic.
enum { STREAMED_WEIGHTS = 4 << 20 };

void chorus_winograd_weights(const float *w, float *u, int channels, int out_channels, int data_gradient, int first_group, int groups) {
#ifdef CHORUS_X86
    const int vector = chorus_winograd_supported(channels, out_channels);
    // Streaming stores need 32-byte alignment: u's, and every point's and group's offset (whole
    // multiples of 8 floats when channels are).
    const int stream = vector && ((uintptr_t)u & 31) == 0 && channels % LANES == 0
                       && chorus_winograd_weights_size(channels, out_channels) > STREAMED_WEIGHTS;
#endif
    for (int k4 = first_group; k4 < first_group + groups; k4++) {
        int c = 0;
#ifdef CHORUS_X86
        if (vector)
            for (; c + LANES <= channels; c += LANES) weights_avx2(w, u, channels, out_channels, data_gradient, k4, c, stream);
#endif
        weights_scalar(w, u, channels, out_channels, data_gradient, k4, c, channels);
    }
#ifdef CHORUS_X86
    if (stream) _mm_sfence();  // streamed stores are visible to the other cores before the products read them
#endif
}

void chorus_winograd_convolve(const float *x, const float *u, const float *bias, int relu, float *y, float *scratch,
                              int first, int count, int images, int channels, int height, int width, int out_channels, int vector_bits) {
#ifdef CHORUS_X86
    convolve_avx2(x, u, bias, relu, y, scratch, first, count, images, channels, height, width, out_channels, vector_bits);
#else
    (void)x; (void)u; (void)bias; (void)relu; (void)y; (void)scratch; (void)first; (void)count; (void)images;
    (void)channels; (void)height; (void)width; (void)out_channels; (void)vector_bits;
    abort();
#endif
}

// Floats of V and dM for the chunk (36 x (channels + out channels) x tiles) kept at most this
// large, and tiles per chunk at most GRADIENT_TILES (whole images): each product sums a chunk's
// tiles in float32, and the chunks' sums add in float64 (summed over a whole batch's tiles in
// float32, the weight gradient's error grew to 1e-4 of its larger entries, six times that of
// float64 sums of the same transforms).
enum { GRADIENT_TRANSFORMS = 8 << 20, GRADIENT_TILES = 512 };
static size_t gradient_transforms = GRADIENT_TRANSFORMS;

void chorus_winograd_set_gradient_budget(size_t floats) { gradient_transforms = floats ? floats : GRADIENT_TRANSFORMS; }

chorus_winograd_gradient_plan chorus_winograd_gradient_layout(int images, int channels, int height, int width, int out_channels) {
    chorus_winograd_gradient_plan plan;
    const int per_image = tiles_along(height) * tiles_along(width);
    int chunk = (int)(gradient_transforms / ((size_t)POINTS * (channels + out_channels) * per_image));
    if (chunk > GRADIENT_TILES / per_image) chunk = GRADIENT_TILES / per_image;
    chunk = chunk < 1 ? 1 : chunk > images ? images : chunk;
    plan.images = chunk;
    plan.tiles_per_image = per_image;
    plan.tiles = (chunk * per_image + LANES - 1) / LANES * LANES;
    plan.point_v = point_stride((size_t)channels * plan.tiles);
    plan.point_m = point_stride((size_t)out_channels * plan.tiles);
    const size_t padded = (size_t)chunk * channels * padded_height(height) * padded_width(width) + LANES;
    const size_t gradients = (size_t)(chunk + 1) * out_channels * tiles_along(height) * TILE * tiles_along(width) * TILE;
    plan.v_offset = padded + gradients;
    plan.m_offset = plan.v_offset + POINTS * plan.point_v;
    plan.scratch = plan.m_offset + POINTS * plan.point_m;
    return plan;
}

void chorus_winograd_gradient_pad(const float *x, const float *dy, float *scratch, const chorus_winograd_gradient_plan *plan, int first,
                                  int count, int part, int parts, int channels, int height, int width, int out_channels) {
    const int th = tiles_along(height), tw = tiles_along(width), qw = tw * TILE;
    const size_t plane = (size_t)padded_height(height) * padded_width(width), qplane = (size_t)th * TILE * qw;
    float *dyp = scratch + (size_t)plan->images * channels * plane + LANES;
    // Images [i0, i1) of the chunk; the part holding the last also zeroes the image past it (the
    // output gradient of the tiles that pad the last vector of eight).
    const int i0 = count * part / parts, i1 = count * (part + 1) / parts;
#ifdef CHORUS_X86
    pad_images(x + (size_t)(first + i0) * channels * height * width, scratch + (size_t)i0 * channels * plane, i1 - i0, channels, height, width);
#else
    (void)x; (void)channels;
#endif
    for (size_t p = (size_t)i0 * out_channels; p < (size_t)i1 * out_channels; p++) {
        const float *in = dy + ((size_t)first * out_channels + p) * height * width;
        float *out = dyp + p * qplane;
        for (int r = 0; r < th * TILE; r++) {
            float *row = out + (size_t)r * qw;
            if (r < height) {
                memcpy(row, in + (size_t)r * width, sizeof(float) * width);
                memset(row + width, 0, sizeof(float) * (qw - width));
            } else memset(row, 0, sizeof(float) * qw);
        }
    }
    if (part == parts - 1) memset(dyp + (size_t)count * out_channels * qplane, 0, sizeof(float) * out_channels * qplane);
}

void chorus_winograd_gradient_transform(float *scratch, const chorus_winograd_gradient_plan *plan, int count, int part, int parts,
                                        int channels, int height, int width, int out_channels) {
#ifdef CHORUS_X86
    const int th = tiles_along(height), tw = tiles_along(width), per_image = th * tw, qw = tw * TILE, wp = padded_width(width);
    const size_t plane = (size_t)padded_height(height) * wp, qplane = (size_t)th * TILE * qw;
    const float *dyp = scratch + (size_t)plan->images * channels * plane + LANES;
    float *v = scratch + plan->v_offset, *dm = scratch + plan->m_offset;
    const int tiles = count * per_image, groups = (tiles + LANES - 1) / LANES;
    const int g0 = groups * part / parts, g1 = groups * (part + 1) / parts;
    for (int g = g0; g < g1; g++) {
        size_t at[LANES], aq[LANES];
        for (int l = 0; l < LANES; l++) {
            int t = g * LANES + l;
            const int past = t >= tiles;
            if (past) t = tiles - 1;
            const int img = t / per_image, ty = t % per_image / tw, tx = t % tw;
            at[l] = (size_t)img * channels * plane + (size_t)ty * TILE * wp + (size_t)tx * TILE;
            aq[l] = past ? (size_t)count * out_channels * qplane : (size_t)img * out_channels * qplane + (size_t)ty * TILE * qw + (size_t)tx * TILE;
        }
        input_transform(scratch, at, channels, plane, wp, v + (size_t)g * LANES, plan->point_v, plan->tiles);
        gradient_transform(dyp, aq, out_channels, qplane, qw, dm + (size_t)g * LANES, plan->point_m, plan->tiles);
    }
#else
    (void)scratch; (void)plan; (void)count; (void)part; (void)parts; (void)channels; (void)height; (void)width; (void)out_channels;
    abort();
#endif
}

void chorus_winograd_gradient_finish(const double *du, float *dw, int channels, int out_channels, int first, int count) {
    const size_t point = (size_t)out_channels * channels;
    for (int k = first; k < first + count; k++)
        for (int c = 0; c < channels; c++) {
            // dW = G^T dU G, in float64.
            double d[PATCH][PATCH], t[3][PATCH];
            for (int xi = 0; xi < POINTS; xi++) d[xi / PATCH][xi % PATCH] = du[xi * point + (size_t)k * channels + c];
            for (int j = 0; j < PATCH; j++) {
                const double d0 = d[0][j], d1 = d[1][j], d2 = d[2][j], d3 = d[3][j], d4 = d[4][j], d5 = d[5][j];
                t[0][j] = d0 / 4 - (d1 + d2) / 6 + (d3 + d4) / 24;
                t[1][j] = (d2 - d1) / 6 + (d3 - d4) / 12;
                t[2][j] = (d3 + d4 - d1 - d2) / 6 + d5;
            }
            float *out = dw + ((size_t)k * channels + c) * 9;
            for (int i = 0; i < 3; i++) {
                const double d0 = t[i][0], d1 = t[i][1], d2 = t[i][2], d3 = t[i][3], d4 = t[i][4], d5 = t[i][5];
                out[i * 3] = (float)(d0 / 4 - (d1 + d2) / 6 + (d3 + d4) / 24);
                out[i * 3 + 1] = (float)((d2 - d1) / 6 + (d3 - d4) / 12);
                out[i * 3 + 2] = (float)((d3 + d4 - d1 - d2) / 6 + d5);
            }
        }
}
