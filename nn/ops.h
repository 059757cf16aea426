/*
 * nn/ops.h: the layer operations the step is written in, one forward/backward
 * pair per layer (nn/conv.c, nn/bn.c, nn/pool.c, nn/linear.c, nn/loss.c).
 * Each is a thin wrapper that maps the model's shapes onto the kernels of
 * kernels/ (or, where a kernel family has not landed, a plain loop).
 *
 * Layouts: activations NCHW8c; the stem convolution reads the NCHW 3-channel
 * image; head tensors (N, C) row-major (= NCHW8c with H = W = 1 when C % 8
 * == 0, which is how BN1d reuses the 2-D code). Weights OIHW / (out, in).
 *
 * Gradient convention: every parameter gradient is accumulated (+=); the
 * step clears the gradient arena once. Activation gradients are written (=)
 * unless the name says _acc. No function here aliases an input with an
 * output.
 */
#ifndef RESIN_NN_OPS_H
#define RESIN_NN_OPS_H

#include "nn/model.h"

/* Bytes of shared scratch the ops need for this model (largest single need). */
size_t nn_ops_scratch_bytes(const nn_model *m);

// --- convolution (nn/conv.c) --------------------------------------------------
void nn_conv_forward(const nn_conv *c, size_t n, float *y, const float *x,
                     const float *w, void *scratch, const kern_pool *pool);
void nn_conv_backward_data(const nn_conv *c, size_t n, float *dx,
                           const float *dy, const float *w, void *scratch,
                           const kern_pool *pool);
void nn_conv_backward_weights(const nn_conv *c, size_t n, float *dw,
                              const float *dy, const float *x, void *scratch,
                              const kern_pool *pool);

// --- batch norm (nn/bn.c); hw = H*W (1 for BN1d) -------------------------------
/* Training: batch statistics saved in bn->mean/rstd, running statistics
 * updated (momentum 0.1, unbiased variance), y = [ReLU](gamma x^ + beta). */
void nn_bn_forward_train(const nn_bn *bn, size_t n, size_t hw, float *y,
                         const float *x, const float *gamma, const float *beta,
                         float *rmean, float *rvar, bool relu,
                         const kern_pool *pool);
/* Evaluation: bn->mean/rstd are set from the running statistics first. */
void nn_bn_forward_eval(const nn_bn *bn, size_t n, size_t hw, float *y,
                        const float *x, const float *gamma, const float *beta,
                        const float *rmean, const float *rvar, bool relu,
                        const kern_pool *pool);
/* Recomputes y from x with the saved statistics (no update). */
void nn_bn_apply(const nn_bn *bn, size_t n, size_t hw, float *y,
                 const float *x, const float *gamma, const float *beta,
                 bool relu, const kern_pool *pool);
/* dx from dy (masked by the recomputed ReLU when relu), dgamma/dbeta += . */
void nn_bn_backward(const nn_bn *bn, size_t n, size_t hw, float *dx,
                    float *dgamma, float *dbeta, const float *dy,
                    const float *x, const float *gamma, const float *beta,
                    bool relu, const kern_pool *pool);

// --- elementwise, pooling (nn/pool.c) --------------------------------------------
void nn_relu_inplace(float *x, size_t count);
void nn_relu_mask(float *dx, const float *y, size_t count); /* dx *= y > 0 */
void nn_add_acc(float *y, const float *x, size_t count);    /* y += x */
/* 3x3 stride 2 pad 1 max pool, NCHW8c. */
void nn_maxpool_forward(size_t n, size_t c, size_t ih, size_t oh, float *y,
                        const float *x, const kern_pool *pool);
void nn_maxpool_backward(size_t n, size_t c, size_t ih, size_t oh, float *dx,
                         const float *dy, const float *x,
                         const kern_pool *pool);
/* x NCHW8c (N, C, H, W) -> y (N, 2C): max of each channel, then the mean. */
void nn_concat_pool_forward(size_t n, size_t c, size_t hw, float *y,
                            const float *x);
void nn_concat_pool_backward(size_t n, size_t c, size_t hw, float *dx,
                             const float *dy, const float *x);

// --- linear (nn/linear.c), through kern_f32_gemm -------------------------------------
/* y (N, O) = x (N, I) w^T + b */
void nn_linear_forward(size_t n, size_t in, size_t out, float *y,
                       const float *x, const float *w, const float *b,
                       void *scratch, const kern_pool *pool);
/* dw (O, I) += dy^T x; db += sum_n dy; dx (N, I) = dy w (dx may be NULL). */
void nn_linear_backward(size_t n, size_t in, size_t out, float *dx,
                        float *dw, float *db, const float *dy, const float *x,
                        const float *w, void *scratch, const kern_pool *pool);

// --- loss (nn/loss.c) ------------------------------------------------------------
/* Softmax cross-entropy of logits (N, C): probs, per-item loss; returns the
 * mean. labels may be NULL (probs only, returns 0). */
float nn_xent_forward(size_t n, size_t c, float *probs, float *item_loss,
                      const float *logits, const int32_t *labels);
/* dlogits = (probs - onehot) / n */
void nn_xent_backward(size_t n, size_t c, float *dlogits, const float *probs,
                      const int32_t *labels);

// --- dropout (nn/loss.c) -----------------------------------------------------------
/* Inverted dropout with a counter-based mask: element i of dropout layer
 * `layer` is kept iff (mix64(seed ^ mix64(layer << 32 | i)) >> 40) >=
 * p * 2^24 (mix64 = the splitmix64 step, see nn/loss.c); kept values are
 * scaled by 1/(1-p) as torch does. The same (seed, layer) regenerates the
 * mask in backward, so nothing is stored. */
bool nn_dropout_keep(uint64_t seed, uint32_t layer, uint32_t i, float p);
void nn_dropout_apply(float *x, size_t count, float p, uint64_t seed,
                      uint32_t layer);

// --- optimizer (nn/optim.c) ----------------------------------------------------------
/* One flat range: p *= 1 - lr*wd; Adam (PyTorch 1.0 form) with step t. */
void nn_adamw_range(float *p, float *m, float *v, const float *g, size_t count,
                    float lr, float wd, float beta1, float beta2, float eps,
                    int64_t t);

#endif /* RESIN_NN_OPS_H */
