// Max pooling of the CPU fallback. Forward: each window's maximum and the row-major index in
// its plane of the first input that holds it (NaN never wins; a window of NaN or -inf names its
// first input), as the OpenCL kernels do, bit for bit. Stride-2 windows run eight outputs at a
// time with AVX2 where they lie inside the row; the rest one at a time. Backward: each plane is
// zeroed and the gradients added at their maxima in the phase order every device uses, while
// the plane is in cache.
#include "host_kernels.h"
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CHORUS_X86 1
#endif

// One output (yo, xo) of a plane, scanning its window row by row, left to right.
static inline void window_max(const float *src, int height, int width, int kernel, int stride, int padding,
                              int yo, int xo, float *y, float *argmax) {
    int y0 = yo * stride - padding, y1 = y0 + kernel, x0 = xo * stride - padding, x1 = x0 + kernel;
    if (y0 < 0) y0 = 0;
    if (y1 > height) y1 = height;
    if (x0 < 0) x0 = 0;
    if (x1 > width) x1 = width;
    float best = -__builtin_inff();
    int at = y0 * width + x0;
    for (int ih = y0; ih < y1; ih++)
        for (int iw = x0; iw < x1; iw++) {
            const float v = src[ih * width + iw];
            if (v > best) { best = v; at = ih * width + iw; }
        }
    *y = best;
    *argmax = (float)at;
}

#ifdef CHORUS_X86
// Eight stride-2 outputs of one output row from input column `column` (>= 1, the eight windows
// inside the row): column j of the windows is the odd lanes of the 16 floats from column + j - 1.
// The odd lanes come out in the order 0 1 4 5 2 3 6 7 and stay so until the store. Each window row
// is scanned on its own (from -inf, naming its first input) and the rows are then taken in order,
// a later one only where it is greater: the same maximum and index as one scan of the window, but
// the rows' compare chains are independent, so they overlap.
__attribute__((target("avx2"), always_inline))
static inline void stride2_eight(const float *src, int width, int y0, int y1, int kernel, int column, float *y, float *argmax) {
    const __m256 lanes = _mm256_setr_ps(0, 2, 8, 10, 4, 6, 12, 14), least = _mm256_set1_ps(-__builtin_inff());
    __m256 best = least, index = _mm256_add_ps(lanes, _mm256_set1_ps((float)(y0 * width + column)));
    for (int ih = y0; ih < y1; ih++) {
        const float *r = src + (size_t)ih * width + column - 1;
        __m256 row_best = least, row_index = _mm256_add_ps(lanes, _mm256_set1_ps((float)(ih * width + column)));
        for (int j = 0; j < kernel; j++) {
            const __m256 v = _mm256_shuffle_ps(_mm256_loadu_ps(r + j), _mm256_loadu_ps(r + j + 8), _MM_SHUFFLE(3, 1, 3, 1));
            const __m256 better = _mm256_cmp_ps(v, row_best, _CMP_GT_OQ);
            row_best = _mm256_blendv_ps(row_best, v, better);
            row_index = _mm256_blendv_ps(row_index, _mm256_add_ps(lanes, _mm256_set1_ps((float)(ih * width + column + j))), better);
        }
        const __m256 better = _mm256_cmp_ps(row_best, best, _CMP_GT_OQ);
        best = _mm256_blendv_ps(best, row_best, better);
        index = _mm256_blendv_ps(index, row_index, better);
    }
    _mm256_storeu_ps(y, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(best), _MM_SHUFFLE(3, 1, 2, 0))));
    _mm256_storeu_ps(argmax, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(index), _MM_SHUFFLE(3, 1, 2, 0))));
}

// One output row: the edges one at a time, the inside eight at a time (the last eight overlap
// the group before when the inside is not a multiple of eight).
__attribute__((target("avx2")))
static void stride2_row(const float *src, int height, int width, int kernel, int padding, int yo, int out_width,
                        int first, int last, float *y, float *argmax) {
    int y0 = 2 * yo - padding, y1 = y0 + kernel;
    if (y0 < 0) y0 = 0;
    if (y1 > height) y1 = height;
    for (int xo = 0; xo < first; xo++) window_max(src, height, width, kernel, 2, padding, yo, xo, y + xo, argmax + xo);
    // The common windows with their size known to the compiler, so their loops unroll.
    for (int xo = first; xo <= last; xo += 8) {
        const int at = xo + 8 > last + 1 ? last + 1 - 8 : xo;
        if (kernel == 3) stride2_eight(src, width, y0, y1, 3, 2 * at - padding, y + at, argmax + at);
        else if (kernel == 2) stride2_eight(src, width, y0, y1, 2, 2 * at - padding, y + at, argmax + at);
        else stride2_eight(src, width, y0, y1, kernel, 2 * at - padding, y + at, argmax + at);
    }
    for (int xo = last + 1; xo < out_width; xo++) window_max(src, height, width, kernel, 2, padding, yo, xo, y + xo, argmax + xo);
}
#endif

void chorus_maxpool_forward(const float *x, float *y, float *argmax, int first_plane, int planes,
                            int height, int width, int kernel, int stride, int padding) {
    const int oh = (height + 2 * padding - kernel) / stride + 1, ow = (width + 2 * padding - kernel) / stride + 1;
#ifdef CHORUS_X86
    // Outputs whose windows start at column >= 1 and end inside the row: 2 xo - p >= 1 and
    // 2 xo - p + k <= width; at least eight of them.
    const int first = (padding + 2) / 2, last = (width - kernel + padding) / 2 < ow - 1 ? (width - kernel + padding) / 2 : ow - 1;
    if (stride == 2 && last - first + 1 >= 8 && chorus_host_kernels_vectors()) {
        for (int p = first_plane; p < first_plane + planes; p++)
            for (int yo = 0; yo < oh; yo++)
                stride2_row(x + (size_t)p * height * width, height, width, kernel, padding, yo, ow, first, last,
                            y + ((size_t)p * oh + yo) * ow, argmax + ((size_t)p * oh + yo) * ow);
        return;
    }
#endif
    for (int p = first_plane; p < first_plane + planes; p++)
        for (int yo = 0; yo < oh; yo++)
            for (int xo = 0; xo < ow; xo++) {
                const size_t o = ((size_t)p * oh + yo) * ow + xo;
                window_max(x + (size_t)p * height * width, height, width, kernel, stride, padding, yo, xo, y + o, argmax + o);
            }
}

void chorus_maxpool_backward(const float *dy, const float *argmax, float *dx, int first_plane, int planes,
                             int height, int width, int kernel, int stride, int padding) {
    const int oh = (height + 2 * padding - kernel) / stride + 1, ow = (width + 2 * padding - kernel) / stride + 1;
    const int phases = (kernel + stride - 1) / stride;
    const size_t plane = (size_t)height * width;
    for (int p = first_plane; p < first_plane + planes; p++) {
        float *d = dx + p * plane;
        const float *g = dy + (size_t)p * oh * ow, *a = argmax + (size_t)p * oh * ow;
        memset(d, 0, sizeof(float) * plane);
        // Windows of one phase (m apart along each axis) never share an input.
        for (int py = 0; py < phases; py++)
            for (int px = 0; px < phases; px++)
                for (int yo = py; yo < oh; yo += phases)
                    for (int xo = px; xo < ow; xo += phases) d[(int)a[yo * ow + xo]] += g[yo * ow + xo];
    }
}
