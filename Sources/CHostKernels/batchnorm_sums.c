// The float64 sums of batch norm on the CPU fallback (a plane at a time), with AVX2: the
// statistics of the forward pass and the two sums of the backward. The portable versions are the
// Swift ones (HostVectors); these differ from them in the order of the float64 additions and in
// fusing the float64 multiply-adds (their last bits).
// The fused ReLU's mask is (x - mean) * scale + shift > 0 in float, multiplied then added, as
// the forward computed its outputs: no contraction into fused multiply-adds here.
#pragma STDC FP_CONTRACT OFF
#include "host_kernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx2,fma")))
static double total(__m256d a, __m256d b, __m256d c, __m256d d) {
    const __m256d s = _mm256_add_pd(_mm256_add_pd(a, b), _mm256_add_pd(c, d));
    const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

__attribute__((target("avx2,fma")))
double chorus_sum_f64(const float *p, long count) {
    __m256d a = _mm256_setzero_pd(), b = a, c = a, d = a;
    long j = 0;
    for (; j + 16 <= count; j += 16) {
        a = _mm256_add_pd(a, _mm256_cvtps_pd(_mm_loadu_ps(p + j)));
        b = _mm256_add_pd(b, _mm256_cvtps_pd(_mm_loadu_ps(p + j + 4)));
        c = _mm256_add_pd(c, _mm256_cvtps_pd(_mm_loadu_ps(p + j + 8)));
        d = _mm256_add_pd(d, _mm256_cvtps_pd(_mm_loadu_ps(p + j + 12)));
    }
    double tail = 0;
    for (; j < count; j++) tail += p[j];
    return total(a, b, c, d) + tail;
}

__attribute__((target("avx2,fma")))
double chorus_squared_deviations_f64(const float *p, long count, double mean) {
    const __m256d m = _mm256_set1_pd(mean);
    __m256d a = _mm256_setzero_pd(), b = a, c = a, d = a;
    long j = 0;
    for (; j + 16 <= count; j += 16) {
        const __m256d e = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + j)), m), f = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + j + 4)), m);
        const __m256d g = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + j + 8)), m), h = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + j + 12)), m);
        a = _mm256_fmadd_pd(e, e, a); b = _mm256_fmadd_pd(f, f, b); c = _mm256_fmadd_pd(g, g, c); d = _mm256_fmadd_pd(h, h, d);
    }
    double tail = 0;
    for (; j < count; j++) { const double e = p[j] - mean; tail += e * e; }
    return total(a, b, c, d) + tail;
}

__attribute__((target("avx2,fma")))
void chorus_gradient_sums_f64(const float *x, const float *dy, long count, double mean, int relu, float relu_mean, float relu_scale,
                              float relu_shift, double *sum, double *dot) {
    const __m256d m = _mm256_set1_pd(mean);
    const __m256 rm = _mm256_set1_ps(relu_mean), rs = _mm256_set1_ps(relu_scale), rb = _mm256_set1_ps(relu_shift), zero = _mm256_setzero_ps();
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, b0 = a0, b1 = a0;
    long j = 0;
    for (; j + 8 <= count; j += 8) {
        const __m256 v = _mm256_loadu_ps(x + j);
        __m256 g = _mm256_loadu_ps(dy + j);
        if (relu) {
            const __m256 out = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(v, rm), rs), rb);
            g = _mm256_and_ps(g, _mm256_cmp_ps(out, zero, _CMP_GT_OQ));
        }
        const __m256d g0 = _mm256_cvtps_pd(_mm256_castps256_ps128(g)), g1 = _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1));
        const __m256d v0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m), v1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m);
        a0 = _mm256_add_pd(a0, g0); a1 = _mm256_add_pd(a1, g1);
        b0 = _mm256_fmadd_pd(g0, v0, b0); b1 = _mm256_fmadd_pd(g1, v1, b1);
    }
    double a = 0, b = 0;
    for (; j < count; j++) {
        float g = dy[j];
        if (relu && !((x[j] - relu_mean) * relu_scale + relu_shift > 0)) g = 0;
        a += g;
        b += (double)g * ((double)x[j] - mean);
    }
    const __m256d z = _mm256_setzero_pd();
    *sum = total(a0, a1, z, z) + a;
    *dot = total(b0, b1, z, z) + b;
}
#else
// Never called where chorus_host_kernels_vectors is 0 (the Swift loops run); defined for the linker.
double chorus_sum_f64(const float *p, long count) {
    double s = 0;
    for (long j = 0; j < count; j++) s += p[j];
    return s;
}

double chorus_squared_deviations_f64(const float *p, long count, double mean) {
    double s = 0;
    for (long j = 0; j < count; j++) { const double e = p[j] - mean; s += e * e; }
    return s;
}

void chorus_gradient_sums_f64(const float *x, const float *dy, long count, double mean, int relu, float relu_mean, float relu_scale,
                              float relu_shift, double *sum, double *dot) {
    double a = 0, b = 0;
    for (long j = 0; j < count; j++) {
        float g = dy[j];
        if (relu && !((x[j] - relu_mean) * relu_scale + relu_shift > 0)) g = 0;
        a += g;
        b += (double)g * ((double)x[j] - mean);
    }
    *sum = a;
    *dot = b;
}
#endif
