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

/// Nonzero where the AVX2 + FMA versions run (the CPU has them and the portable ones are not forced).
int chorus_host_kernels_vectors(void);

/// Nonzero: the portable versions run even where AVX2 + FMA are present (for tests, which
/// check both on machines that have them).
void chorus_host_kernels_use_portable(int on);

/// Winograd F(4x4, 3x3) convolutions (winograd.c): 3x3 windows, stride 1, padding 1, so the
/// output is the input's size. Nonzero when this CPU runs them (AVX2 + FMA) and out_channels is
/// a multiple of 4.
int chorus_winograd_supported(int channels, int out_channels);

/// The vector width the Winograd products run in: 512 (AVX-512, panels of 48 tiles) where the
/// CPU has it and no limit is set, else 256 (AVX2, panels of 24); 0 where they do not run.
int chorus_winograd_vector_bits(void);

/// 256: the products run in AVX2 even where AVX-512 is present (for tests, which check that both
/// give the same bits, and benchmarks, which time both in one run); 512: the widest there is.
/// Takes effect through chorus_winograd_vector_bits, whose value callers pass on.
void chorus_winograd_limit_vectors(int bits);

/// Floats of transformed weights (36 x channels x out_channels).
size_t chorus_winograd_weights_size(int channels, int out_channels);

/// Transforms 3x3 weights for chorus_winograd_convolve. Forward (data_gradient 0): w is
/// [out_channels][channels][3][3]. For a layer's data gradient (data_gradient 1), whose inputs are
/// the layer's output gradients: w is the layer's weights, [channels][out_channels][3][3], each
/// filter turned 180 degrees. Transforms the output channels of groups [first_group, first_group +
/// groups), four channels each (threads split the groups).
void chorus_winograd_weights(const float *w, float *u, int channels, int out_channels, int data_gradient, int first_group, int groups);

/// Floats of scratch one thread's call of chorus_winograd_convolve needs, its products in vectors
/// of vector_bits (chorus_winograd_vector_bits; the same value as the calls that use it).
size_t chorus_winograd_scratch(int images, int channels, int height, int width, int out_channels, int vector_bits);

/// y[n][k] = relu?(bias[k] + sum over c of conv3x3(x[n][c], w[k][c])) for images [first, first + count)
/// of x [images][channels][height][width]; y is [images][out_channels][height][width]. u from
/// chorus_winograd_weights; bias may be NULL (0). Only where chorus_winograd_supported.
void chorus_winograd_convolve(const float *x, const float *u, const float *bias, int relu, float *y, float *scratch,
                              int first, int count, int images, int channels, int height, int width, int out_channels, int vector_bits);

/// The weight gradient by Winograd F(4x4, 3x3), in chunks of images: for each chunk, pad (split
/// between parts: images), transform (split between parts: tiles), then 36 matrix products
///   dU[xi] (+)= dM[xi] x V[xi]^T      (K x T times T x C: row-major, T = tiles, the caller's
/// BLAS), and once after the last chunk chorus_winograd_gradient_finish. dU is [36][K][C].
typedef struct {
    int images;               /* images per chunk */
    int tiles_per_image;
    int tiles;                /* T: columns of V and dM, a multiple of 8 */
    size_t point_v, point_m;  /* floats between points in V ([36][C][T]) and dM ([36][K][T]) */
    size_t v_offset, m_offset;/* where V and dM start in the scratch */
    size_t scratch;           /* floats of scratch */
} chorus_winograd_gradient_plan;

chorus_winograd_gradient_plan chorus_winograd_gradient_layout(int images, int channels, int height, int width, int out_channels);

/// The most floats of V and dM one chunk holds (0: the default, 8 Mi): tests set it small so that
/// a few images make several chunks.
void chorus_winograd_set_gradient_budget(size_t floats);

/// Pads this part's share of the chunk's images [first, first + count) of x [N][C][H][W] and
/// dy [N][K][H][W] into the scratch.
void chorus_winograd_gradient_pad(const float *x, const float *dy, float *scratch, const chorus_winograd_gradient_plan *plan, int first,
                                  int count, int part, int parts, int channels, int height, int width, int out_channels);

/// Transforms this part's share of the padded chunk's tiles into V and dM.
void chorus_winograd_gradient_transform(float *scratch, const chorus_winograd_gradient_plan *plan, int count, int part, int parts,
                                        int channels, int height, int width, int out_channels);

/// dw[k][c] = G^T dU[.][k][c] G for output channels [first, first + count); dw is [K][C][3][3].
void chorus_winograd_gradient_finish(const double *du, float *dw, int channels, int out_channels, int first, int count);

/// Batch norm's float64 sums over one plane (batchnorm_sums.c), x86-64 with AVX2 + FMA only
/// (where chorus_host_kernels_vectors): sum of p; sum of (p - mean)^2; and, for the backward,
/// sum of dy and of dy (x - mean), dy masked by the fused ReLU when relu is nonzero (kept where
/// (x - relu_mean) * relu_scale + relu_shift > 0, computed in float as the forward did).
double chorus_sum_f64(const float *p, long count);
double chorus_squared_deviations_f64(const float *p, long count, double mean);
void chorus_gradient_sums_f64(const float *x, const float *dy, long count, double mean, int relu, float relu_mean, float relu_scale,
                              float relu_shift, double *sum, double *dot);

/// Max pooling (pooling.c) of planes [first_plane, first_plane + planes) of x [P][H][W] into
/// y and argmax [P][OH][OW]: each window's maximum and, as a float, the index in its plane of the
/// first input in row-major order that holds it (a window of NaN or -inf: its first input).
void chorus_maxpool_forward(const float *x, float *y, float *argmax, int first_plane, int planes,
                            int height, int width, int kernel, int stride, int padding);

/// dx = 0, then each window's gradient added at its maximum, in phases of windows
/// ceil(kernel / stride) apart along each axis, in the order every device uses.
void chorus_maxpool_backward(const float *dy, const float *argmax, float *dx, int first_plane, int planes,
                             int height, int width, int kernel, int stride, int padding);

#endif
