/*
 * nn/ops.h: the layer operations of nn/step.c that need more than one kernel
 * call: convolution (nn/conv.c: weight packing into scratch + the pass) and
 * the head's Linear layers (nn/linear.c: GEMMs + bias). Everything else the
 * step calls straight from kernels/layers.h.
 *
 * Layouts: activations NCHW8c; the stem convolution reads the NCHW 3-channel
 * image; head tensors (N, C) row-major (= NCHW8c with H = W = 1 when C % 8
 * == 0, which is how BN1d reuses the 2-D code). Weights OIHW / (out, in).
 *
 * Gradient convention (as kernels/): every parameter gradient is accumulated
 * (+=); the step clears the gradient arena once. Activation gradients are
 * written (=) unless asked to accumulate. No output aliases an input.
 */
#ifndef RESIN_NN_OPS_H
#define RESIN_NN_OPS_H

#include "nn/model.h"

/* Bytes of shared scratch each family needs for this model on up to
 * `threads` pool threads (its largest single call). */
size_t nn_conv_scratch_bytes(const nn_model *m, size_t threads);
size_t nn_linear_scratch_bytes(const nn_model *m, size_t threads);

// --- convolution (nn/conv.c) --------------------------------------------------
void nn_conv_forward(const nn_conv *c, size_t n, float *y, const float *x,
                     const float *w, void *scratch, const kern_pool *pool);
/* dx = (or += when accumulate) the input gradient. */
void nn_conv_backward_data(const nn_conv *c, size_t n, float *dx,
                           const float *dy, const float *w, bool accumulate,
                           void *scratch, const kern_pool *pool);
void nn_conv_backward_weights(const nn_conv *c, size_t n, float *dw,
                              const float *dy, const float *x, void *scratch,
                              const kern_pool *pool);

// --- linear (nn/linear.c), through kern_f32_gemm -------------------------------------
/* y (N, O) = x (N, I) w^T + b */
void nn_linear_forward(size_t n, size_t in, size_t out, float *y,
                       const float *x, const float *w, const float *b,
                       void *scratch, const kern_pool *pool);
/* dw (O, I) += dy^T x; db += sum_n dy; dx (N, I) = dy w (dx may be NULL). */
void nn_linear_backward(size_t n, size_t in, size_t out, float *dx,
                        float *dw, float *db, const float *dy, const float *x,
                        const float *w, void *scratch, const kern_pool *pool);

/* The seed of dropout layer `layer` (0: after head.bn1, 1: after head.bn2)
 * for a step seed: splitmix64's output function of 2 seed + layer, so every
 * layer of every step (seeds < 2^63) gets its own kern_f32_dropout mask. */
static inline uint64_t nn_dropout_seed(uint64_t seed, uint32_t layer)
{
    uint64_t z = 2 * seed + layer + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#endif /* RESIN_NN_OPS_H */
