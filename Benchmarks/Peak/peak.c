// The machine's measured single-precision peak: what the GFLOP/s of convolutions are compared with.
#include "peak.h"
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CHORUS_PEAK_X86 1
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// 12 independent accumulators hide the FMA latency (4-5 cycles) on two pipes.
#define CHAINS 12

#ifdef CHORUS_PEAK_X86

__attribute__((target("avx512f"))) static double run_avx512(long iterations) {
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps(1.0f + i * 1e-3f);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(s); (void)sink;
    return (double)iterations * CHAINS * 16 * 2;
}

__attribute__((target("avx2,fma"))) static double run_avx2(long iterations) {
    __m256 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps(1.0f + i * 1e-3f);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    __m256 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8]; _mm256_storeu_ps(out, s);
    volatile float sink = out[0]; (void)sink;
    return (double)iterations * CHAINS * 8 * 2;
}

static double run_sse(long iterations) {
    __m128 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm_set1_ps(1.0f + i * 1e-3f);
    const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], a), b);
    float out[4]; _mm_storeu_ps(out, acc[0]);
    volatile float sink = out[0]; (void)sink;
    return (double)iterations * CHAINS * 4 * 2;
}

#else
// Elsewhere (ARM and the rest): four-lane vectors of the compiler's own (NEON on aarch64),
// multiply-add the compiler may fuse.
typedef float chorus_float4 __attribute__((vector_size(16)));

static double run_portable(long iterations) {
    chorus_float4 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = (chorus_float4){1.0f, 1.0f, 1.0f, 1.0f} + i * 1e-3f;
    const chorus_float4 a = {0.999999f, 0.999999f, 0.999999f, 0.999999f}, b = {1e-7f, 1e-7f, 1e-7f, 1e-7f};
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < CHAINS; i++) acc[i] = acc[i] * a + b;
    volatile float sink = acc[0][0]; (void)sink;
    return (double)iterations * CHAINS * 4 * 2;
}
#endif

double chorus_peak_flops(double seconds, const char **isa) {
    double (*run)(long);
#ifdef CHORUS_PEAK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) { run = run_avx512; if (isa) *isa = "AVX-512 FMA"; }
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) { run = run_avx2; if (isa) *isa = "AVX2 FMA"; }
    else { run = run_sse; if (isa) *isa = "SSE mul+add"; }
#else
    run = run_portable; if (isa) *isa = "4-lane vectors";
#endif
    run(1 << 16);  // warm up (clock ramp, AVX frequency licence)
    long iterations = 1 << 20;
    double best = 0;
    double start = now();
    while (now() - start < seconds) {
        double t0 = now();
        double flops = run(iterations);
        double t = now() - t0;
        if (t < 0.01) { iterations *= 2; continue; }
        if (flops / t > best) best = flops / t;
    }
    return best;
}

void chorus_triad(float *a, const float *b, const float *c, long first, long count) {
    for (long i = first; i < first + count; i++) a[i] = b[i] + 0.5f * c[i];
}
