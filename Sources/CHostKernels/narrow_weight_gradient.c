// The weight gradient of a convolution over few input channels, by sliding windows: no column
// matrix. Each image is first copied zero-padded and split by column phase (column j*s + phase of
// the padded row), so the input under window column kw for outputs ow, ow+1, ... is contiguous:
// phase kw % s, from kw / s. Then, per input channel, window row, four output channels and two
// window columns, eight accumulators of eight lanes run over every output pixel of the image.
#include "host_kernels.h"
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CHORUS_X86 1
#endif

// Columns of one phase row: the outputs, the window's reach (kw / s) and one vector of overrun.
static int phase_width(int out_width, int kernel_w, int stride) { return out_width + (kernel_w - 1) / stride + 8; }
// Padded rows the windows reach: (OH - 1) * s + KH.
static int padded_rows(int out_height, int kernel_h, int stride) { return (out_height - 1) * stride + kernel_h; }

size_t chorus_narrow_weight_gradient_scratch(int channels, int out_height, int out_width, int kernel_h, int kernel_w, int stride) {
    return (size_t)channels * padded_rows(out_height, kernel_h, stride) * stride * phase_width(out_width, kernel_w, stride);
}

// scratch[((c * rows + r) * s + phase) * wq + j] = x[c][r - p][j * s + phase - p], 0 outside.
static void split_phases(const float *x, float *q, int channels, int height, int width, int rows, int wq, int stride, int padding) {
    for (int c = 0; c < channels; c++)
        for (int r = 0; r < rows; r++) {
            const int ih = r - padding;
            for (int phase = 0; phase < stride; phase++) {
                float *out = q + (((size_t)c * rows + r) * stride + phase) * wq;
                if (ih < 0 || ih >= height) { memset(out, 0, sizeof(float) * wq); continue; }
                const float *in = x + ((size_t)c * height + ih) * width;
                for (int j = 0; j < wq; j++) {
                    const int iw = j * stride + phase - padding;
                    out[j] = iw >= 0 && iw < width ? in[iw] : 0.0f;
                }
            }
        }
}

typedef struct {
    int channels, height, width, out_channels, out_height, out_width, kernel_h, kernel_w, stride, padding, rows, wq;
} shape_t;

#ifdef CHORUS_X86
__attribute__((target("avx2,fma")))
static void image_avx2(const shape_t *g, const float *q, const float *dy, double *dw) {
    const int ow = g->out_width, full = ow & ~7, tail = ow - full;
    int lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    const __m256i mask = _mm256_loadu_si256((const __m256i *)(lanes + 8 - tail));
    const size_t plane = (size_t)g->out_height * ow;
    for (int c = 0; c < g->channels; c++)
        for (int kh = 0; kh < g->kernel_h; kh++)
            for (int o = 0; o < g->out_channels; o += 4)
                for (int kw = 0; kw < g->kernel_w; kw += 2) {
                    // Four output channels (the last block repeats its last channel) by two window
                    // columns (an odd last one repeats itself); repeats are not stored.
                    const float *d[4];
                    for (int i = 0; i < 4; i++) d[i] = dy + (size_t)(o + i < g->out_channels ? o + i : g->out_channels - 1) * plane;
                    const int kw2 = kw + 1 < g->kernel_w ? kw + 1 : kw;
                    const size_t offa = (size_t)(kw % g->stride) * g->wq + kw / g->stride;
                    const size_t offb = (size_t)(kw2 % g->stride) * g->wq + kw2 / g->stride;
                    __m256 acc[4][2];
                    for (int i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
                    for (int oh = 0; oh < g->out_height; oh++) {
                        const float *row = q + (((size_t)c * g->rows + oh * g->stride + kh) * g->stride) * g->wq;
                        const float *xa = row + offa, *xb = row + offb;
                        const size_t at = (size_t)oh * ow;
                        int j = 0;
                        for (; j < full; j += 8) {
                            const __m256 va = _mm256_loadu_ps(xa + j), vb = _mm256_loadu_ps(xb + j);
                            for (int i = 0; i < 4; i++) {
                                const __m256 v = _mm256_loadu_ps(d[i] + at + j);
                                acc[i][0] = _mm256_fmadd_ps(v, va, acc[i][0]);
                                acc[i][1] = _mm256_fmadd_ps(v, vb, acc[i][1]);
                            }
                        }
                        if (tail) {
                            const __m256 va = _mm256_loadu_ps(xa + j), vb = _mm256_loadu_ps(xb + j);
                            for (int i = 0; i < 4; i++) {
                                const __m256 v = _mm256_maskload_ps(d[i] + at + j, mask);
                                acc[i][0] = _mm256_fmadd_ps(v, va, acc[i][0]);
                                acc[i][1] = _mm256_fmadd_ps(v, vb, acc[i][1]);
                            }
                        }
                    }
                    for (int i = 0; i < 4 && o + i < g->out_channels; i++)
                        for (int k = 0; k < (kw2 != kw ? 2 : 1); k++) {
                            float lane[8];
                            _mm256_storeu_ps(lane, acc[i][k]);
                            double s = 0;
                            for (int l = 0; l < 8; l++) s += lane[l];
                            dw[(((size_t)(o + i) * g->channels + c) * g->kernel_h + kh) * g->kernel_w + kw + k] += s;
                        }
                }
}

#endif

static void image_portable(const shape_t *g, const float *q, const float *dy, double *dw) {
    const size_t plane = (size_t)g->out_height * g->out_width;
    for (int c = 0; c < g->channels; c++)
        for (int kh = 0; kh < g->kernel_h; kh++)
            for (int o = 0; o < g->out_channels; o++)
                for (int kw = 0; kw < g->kernel_w; kw++) {
                    const size_t off = (size_t)(kw % g->stride) * g->wq + kw / g->stride;
                    float s = 0;
                    for (int oh = 0; oh < g->out_height; oh++) {
                        const float *xa = q + (((size_t)c * g->rows + oh * g->stride + kh) * g->stride) * g->wq + off;
                        const float *d = dy + o * plane + (size_t)oh * g->out_width;
                        for (int j = 0; j < g->out_width; j++) s += d[j] * xa[j];
                    }
                    dw[(((size_t)o * g->channels + c) * g->kernel_h + kh) * g->kernel_w + kw] += s;
                }
}

static int portable_only = 0;

void chorus_host_kernels_use_portable(int on) { portable_only = on; }

static int has_avx2(void) {
#ifdef CHORUS_X86
    __builtin_cpu_init();
    return !portable_only && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

const char *chorus_host_kernels_isa(void) { return has_avx2() ? "AVX2 FMA" : "portable"; }

int chorus_host_kernels_vectors(void) { return has_avx2(); }

void chorus_narrow_weight_gradient(const float *x, const float *dy, double *dw, float *scratch,
                                   int first, int count, int channels, int height, int width,
                                   int out_channels, int out_height, int out_width,
                                   int kernel_h, int kernel_w, int stride, int padding) {
    shape_t g = {channels, height, width, out_channels, out_height, out_width, kernel_h, kernel_w, stride, padding,
                 padded_rows(out_height, kernel_h, stride), phase_width(out_width, kernel_w, stride)};
    const int avx2 = has_avx2();
    (void)avx2;  // unused where there is no x86 version
    for (int n = first; n < first + count; n++) {
        split_phases(x + (size_t)n * channels * height * width, scratch, channels, height, width, g.rows, g.wq, stride, padding);
        const float *d = dy + (size_t)n * out_channels * out_height * out_width;
#ifdef CHORUS_X86
        if (avx2) { image_avx2(&g, scratch, d, dw); continue; }
#endif
        image_portable(&g, scratch, d, dw);
    }
}
