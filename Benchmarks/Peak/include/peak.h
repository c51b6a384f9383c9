#ifndef CHORUS_PEAK_H
#define CHORUS_PEAK_H
/// Single-precision fused multiply-adds per second on the calling thread, from a loop of
/// independent FMA chains in the widest vectors this CPU has (AVX-512, AVX2+FMA, else SSE
/// multiply + add), run for about `seconds`. Returns FLOP/s (an FMA counts 2). `isa` receives
/// the instruction set used.
double chorus_peak_flops(double seconds, const char **isa);
#endif
