#ifndef CHORUS_PEAK_H
#define CHORUS_PEAK_H
/// Single-precision fused multiply-adds per second on the calling thread, from a loop of
/// independent FMA chains in the widest vectors this CPU has (AVX-512, AVX2+FMA, else SSE
/// multiply + add), run for about `seconds`. Returns FLOP/s (an FMA counts 2). `isa` receives
/// the instruction set used.
double chorus_peak_flops(double seconds, const char **isa);

/// One pass of the triad a[i] = b[i] + 0.5 c[i] over [first, first + count): what one thread
/// does in the memory-bandwidth measurement (arrays far larger than the caches; 12 bytes moved
/// per element, counted as STREAM counts them, without the reads for ownership of a).
void chorus_triad(float *a, const float *b, const float *c, long first, long count);
#endif
