// Vector loops of the CPU fallback that need instructions the Swift code is not compiled for
// (AVX2 + FMA), each chosen at run time with a portable version beside it.
#ifndef CHORUS_HOST_KERNELS_H
#define CHORUS_HOST_KERNELS_H

#include <stddef.h>

/// Floats of scratch one call of chorus_narrow_weight_gradient needs (one image's input,
/// zero-padded and split by column phase).
size_t chorus_narrow_weight_gradient_scratch(int channels, int out_height, int out_width,
                                             int kernel_h, int kernel_w, int stride);

/// Adds the weight gradient of images [first, first + count) to dw (float64, [O][C][KH][KW]):
///   dw[o][c][kh][kw] += sum over n, oh, ow of dy[n][o][oh][ow] * x[n][c][oh*s + kh - p][ow*s + kw - p]
/// (x outside the image is 0). x is [N][C][H][W], dy [N][O][OH][OW]. For inputs with few channels
/// (a network's first layer), where the column matrix of im2col would be a long, thin product.
/// scratch holds chorus_narrow_weight_gradient_scratch floats.
void chorus_narrow_weight_gradient(const float *x, const float *dy, double *dw, float *scratch,
                                   int first, int count, int channels, int height, int width,
                                   int out_channels, int out_height, int out_width,
                                   int kernel_h, int kernel_w, int stride, int padding);

/// The instructions chorus_narrow_weight_gradient runs with here: "AVX2 FMA" or "portable".
const char *chorus_host_kernels_isa(void);

/// Nonzero: the portable versions run even where AVX2 + FMA are present (for tests, which
/// check both on machines that have them).
void chorus_host_kernels_use_portable(int on);

#endif
