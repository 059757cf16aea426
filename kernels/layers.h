/*
 * kernels/layers.h: every non-convolution kernel of ResNet-34 + the fastai
 * head: batch-norm (2-D on NCHW8c, 1-D on (N, C)), ReLU, residual add + ReLU,
 * max-pool 3x3/2, adaptive concat pool, dropout, softmax cross-entropy, Adam
 * with decoupled weight decay, elementwise add and fill.
 *
 * Layouts (kernels/README.md): activations NCHW8c `[N][C/8][H][W][8]`, so C
 * is a multiple of 8; head tensors (N, C) row-major. A row-major (N, C)
 * tensor with C % 8 == 0 IS an NCHW8c tensor with H = W = 1, which is how
 * the 1-D batch-norm reuses the 2-D kernels.
 *
 * Conventions:
 * - Parameter gradients (dgamma, dbeta) ACCUMULATE (+=): one memset per step
 *   clears the gradient arena.
 * - Activation gradients (dinp) are OVERWRITTEN unless the name says _acc;
 *   every dinp may alias its dout (in place) unless noted.
 * - ReLU backward reads the forward OUTPUT, so ReLU may run in place.
 * - pool: may be NULL (serial). Work is split into tasks whose results do not
 *   depend on which thread runs them, so every output is bit-identical for
 *   any thread count.
 * - kern_layers_init(isa) (called by kern_init) picks the plain-C reference
 *   (KERN_ISA_REF, double accumulation, the test oracle) or the scalar / AVX2
 *   / NEON microkernels.
 */
#ifndef RESIN_KERNELS_LAYERS_H
#define RESIN_KERNELS_LAYERS_H

#include "kernels/dispatch.h"

void kern_layers_init(kern_isa isa);

// --- batch-norm -------------------------------------------------------------
/* PyTorch semantics, eps 1e-5, momentum 0.1 in ResNet-34 and the head.
 * Training forward: y = (x - mean) * invstd * gamma + beta with the batch
 * mean and the BIASED batch variance (invstd = 1/sqrt(var + eps)); saves
 * mean and invstd for backward; running_mean/var (may both be NULL: not
 * updated) become (1 - momentum) * running + momentum * batch, using the
 * UNBIASED variance var * M / (M - 1), M = N*H*W (M must be > 1).
 * relu: fuse y = max(y, 0) (the backward then needs the fused output).
 * out may alias inp only in the eval forward. */
void kern_f32_batchnorm2d_forward_train(
    const kern_pool *pool, size_t n, size_t c, size_t hw,
    float *out,                 // (N, C/8, H*W, 8)
    float *save_mean,           // (C) written
    float *save_invstd,         // (C) written
    float *running_mean,        // (C) updated, or NULL
    float *running_var,         // (C) updated, or NULL
    const float *inp,           // (N, C/8, H*W, 8)
    const float *gamma,         // (C)
    const float *beta,          // (C)
    float momentum, float eps, bool relu);

/* Eval forward with the running statistics; out may alias inp. */
void kern_f32_batchnorm2d_forward_eval(
    const kern_pool *pool, size_t n, size_t c, size_t hw,
    float *out,                 // (N, C/8, H*W, 8)
    const float *inp,           // (N, C/8, H*W, 8)
    const float *gamma, const float *beta,               // (C)
    const float *running_mean, const float *running_var, // (C)
    float eps, bool relu);

/* Backward of the training forward. dinp (overwritten; may alias dout) may be
 * NULL to skip the input gradient (nothing upstream needs it). out: the fused
 * ReLU output when the forward had relu = true (dout is masked by out > 0),
 * else NULL. dgamma, dbeta accumulate. */
void kern_f32_batchnorm2d_backward(
    const kern_pool *pool, size_t n, size_t c, size_t hw,
    float *dinp,                // (N, C/8, H*W, 8) or NULL
    float *dgamma,              // (C) +=
    float *dbeta,               // (C) +=
    const float *dout,          // (N, C/8, H*W, 8)
    const float *inp,           // (N, C/8, H*W, 8) forward input
    const float *out,           // (N, C/8, H*W, 8) fused-ReLU output or NULL
    const float *gamma,         // (C)
    const float *save_mean,     // (C)
    const float *save_invstd);  // (C)

/* 1-D batch-norm on (N, C) row-major, C % 8 == 0: the 2-D kernels with
 * H*W = 1 (same contracts). */
void kern_f32_batchnorm1d_forward_train(
    const kern_pool *pool, size_t n, size_t c,
    float *out, float *save_mean, float *save_invstd,
    float *running_mean, float *running_var,
    const float *inp, const float *gamma, const float *beta,
    float momentum, float eps);
void kern_f32_batchnorm1d_forward_eval(
    const kern_pool *pool, size_t n, size_t c, float *out, const float *inp,
    const float *gamma, const float *beta,
    const float *running_mean, const float *running_var, float eps);
void kern_f32_batchnorm1d_backward(
    const kern_pool *pool, size_t n, size_t c,
    float *dinp, float *dgamma, float *dbeta,
    const float *dout, const float *inp, const float *gamma,
    const float *save_mean, const float *save_invstd);

// --- elementwise ------------------------------------------------------------
/* Flat arrays of len floats (any layout). out may alias any input. */
void kern_f32_relu(const kern_pool *pool, size_t len, float *out,
                   const float *inp);
/* dinp = out > 0 ? dout : 0 (overwrite; may alias dout). */
void kern_f32_relu_backward(const kern_pool *pool, size_t len, float *dinp,
                            const float *dout, const float *out);
/* out = max(a + b, 0): the residual join of a basic block. */
void kern_f32_add_relu(const kern_pool *pool, size_t len, float *out,
                       const float *a, const float *b);
/* g = out > 0 ? dout : 0; da = g (overwrite; may alias dout);
 * db_acc += g unless db_acc is NULL (the identity branch's gradient, which
 * also receives the block's first convolution's input gradient). */
void kern_f32_add_relu_backward(const kern_pool *pool, size_t len, float *da,
                                float *db_acc, const float *dout,
                                const float *out);
/* out = a + b. */
void kern_f32_add(const kern_pool *pool, size_t len, float *out,
                  const float *a, const float *b);
/* out[i] = value. */
void kern_f32_fill(const kern_pool *pool, size_t len, float *out,
                   float value);

// --- max-pool 3x3, stride 2, padding 1 (NCHW8c) -----------------------------
static inline size_t kern_maxpool_3x3s2p1_out_size(size_t in)
{
    return (in - 1) / 2 + 1; /* floor((in + 2 - 3) / 2) + 1 */
}
/* Padding never wins (it is -inf). out may not alias inp. */
void kern_f32_maxpool_3x3s2p1_forward(
    const kern_pool *pool, size_t n, size_t c, size_t h, size_t w,
    float *out,                 // (N, C/8, HO, WO, 8)
    const float *inp);          // (N, C/8, H, W, 8)
/* Each output's gradient goes to the FIRST input in its window, in scan order
 * (rows top to bottom, each row left to right), equal to the saved output.
 * dinp is overwritten (zeroed, then window gradients summed); it may not
 * alias dout. */
void kern_f32_maxpool_3x3s2p1_backward(
    const kern_pool *pool, size_t n, size_t c, size_t h, size_t w,
    float *dinp,                // (N, C/8, H, W, 8)
    const float *dout,          // (N, C/8, HO, WO, 8)
    const float *inp,           // (N, C/8, H, W, 8)
    const float *out);          // (N, C/8, HO, WO, 8)

// --- adaptive concat pool to 1x1 (fastai AdaptiveConcatPool2d) ---------------
/* out[n][c] = max over H*W, out[n][C + c] = mean over H*W: MAX FIRST. */
void kern_f32_concat_pool_forward(
    const kern_pool *pool, size_t n, size_t c, size_t hw,
    float *out,                 // (N, 2C)
    const float *inp);          // (N, C/8, H*W, 8)
/* dinp = dout_avg / HW everywhere, plus dout_max at the FIRST pixel (scan
 * order) equal to the saved max. Overwrites dinp. */
void kern_f32_concat_pool_backward(
    const kern_pool *pool, size_t n, size_t c, size_t hw,
    float *dinp,                // (N, C/8, H*W, 8)
    const float *dout,          // (N, 2C)
    const float *inp,           // (N, C/8, H*W, 8)
    const float *out);          // (N, 2C)

// --- dropout ----------------------------------------------------------------
/* Element i (flat index) is kept iff kern_dropout_keep(seed, i, p): a
 * counter-based hash, so the mask depends only on (seed, i, p), never on the
 * thread count. Kept elements are scaled by 1/(1 - p) (inverted dropout).
 * train = false: identity (out = inp). 0 <= p < 1. out may alias inp.
 * Callers give every dropout layer and every step its own seed. */
void kern_f32_dropout_forward(const kern_pool *pool, size_t len, float *out,
                              const float *inp, float p, uint64_t seed,
                              bool train);
/* dinp = keep ? dout / (1 - p) : 0 with the forward's seed (overwrite; may
 * alias dout). */
void kern_f32_dropout_backward(const kern_pool *pool, size_t len,
                               float *dinp, const float *dout, float p,
                               uint64_t seed);

/* The mask: a 32-bit hash (two rounds of the "lowbias32" integer mix of
 * C. Wellons) of the index keyed by both halves of the seed; keep iff its top
 * 24 bits are >= p * 2^24, so the keep rate is 1 - p to within 2^-24. */
static inline uint32_t kern_dropout_mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}
static inline uint32_t kern_dropout_threshold(float p)
{
    return (uint32_t)(p * 16777216.0f);
}
static inline bool kern_dropout_keep(uint64_t seed, size_t i, float p)
{
    uint32_t h = kern_dropout_mix32((uint32_t)i ^ (uint32_t)seed);
    h = kern_dropout_mix32(h + (uint32_t)(seed >> 32));
    return (h >> 8) >= kern_dropout_threshold(p);
}

// --- softmax cross-entropy ---------------------------------------------------
/* Over (N, C) logits with labels in [0, C): returns the mean loss
 * (1/N) sum_n (logsumexp(x_n) - x_n[label_n]), computed with max subtraction
 * so large logits are safe. Optional outputs (NULL to skip), overwritten:
 * losses (N) per item, probs (N, C) softmax, dlogits (N, C) =
 * (softmax - onehot) / N. */
float kern_f32_softmax_xent(size_t n, size_t c,
                            float *losses,        // (N) or NULL
                            float *probs,         // (N, C) or NULL
                            float *dlogits,       // (N, C) or NULL
                            const float *logits,  // (N, C)
                            const int32_t *labels);  // (N)
/* probs = softmax(logits) row by row (prediction). */
void kern_f32_softmax(size_t n, size_t c, float *probs, const float *logits);

// --- Adam with decoupled weight decay (fastai v1 "AdamW", PyTorch 1.0) -------
/* One pass over a flat parameter range, per element:
 *   p <- p * (1 - lr * wd)
 *   m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2
 *   p <- p - lr * sqrt(bias_correction2) / bias_correction1
 *            * m / (sqrt(v) + eps)
 * bias_correction{1,2} = 1 - beta{1,2}^t, t = this step's count (from 1);
 * kern_adam_bias_correction computes them without libm. */
typedef struct kern_adam_hparams {
    float lr, wd, beta1, beta2, eps;
    double bias_correction1;    /* 1 - beta1^t */
    double bias_correction2;    /* 1 - beta2^t */
} kern_adam_hparams;

static inline double kern_adam_bias_correction(double beta, uint64_t t)
{
    double power = 1.0, base = beta;
    for (; t; t >>= 1, base *= base)
        if (t & 1)
            power *= base;
    return 1.0 - power;
}

void kern_f32_adam(const kern_pool *pool, size_t len,
                   float *param,        // (len) updated
                   float *exp_avg,      // (len) m, updated
                   float *exp_avg_sq,   // (len) v, updated
                   const float *grad,   // (len)
                   const kern_adam_hparams *hp);

// --- references (the oracle; also what KERN_ISA_REF runs) --------------------
void kern_f32_batchnorm2d_forward_train__ref(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *out,
    float *save_mean, float *save_invstd, float *running_mean,
    float *running_var, const float *inp, const float *gamma,
    const float *beta, float momentum, float eps, bool relu);
void kern_f32_batchnorm2d_forward_eval__ref(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *out,
    const float *inp, const float *gamma, const float *beta,
    const float *running_mean, const float *running_var, float eps,
    bool relu);
void kern_f32_batchnorm2d_backward__ref(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *dinp,
    float *dgamma, float *dbeta, const float *dout, const float *inp,
    const float *out, const float *gamma, const float *save_mean,
    const float *save_invstd);
void kern_f32_relu__ref(const kern_pool *pool, size_t len, float *out,
                        const float *inp);
void kern_f32_relu_backward__ref(const kern_pool *pool, size_t len,
                                 float *dinp, const float *dout,
                                 const float *out);
void kern_f32_add_relu__ref(const kern_pool *pool, size_t len, float *out,
                            const float *a, const float *b);
void kern_f32_add_relu_backward__ref(const kern_pool *pool, size_t len,
                                     float *da, float *db_acc,
                                     const float *dout, const float *out);
void kern_f32_add__ref(const kern_pool *pool, size_t len, float *out,
                       const float *a, const float *b);
void kern_f32_fill__ref(const kern_pool *pool, size_t len, float *out,
                        float value);
void kern_f32_maxpool_3x3s2p1_forward__ref(
    const kern_pool *pool, size_t n, size_t c, size_t h, size_t w,
    float *out, const float *inp);
void kern_f32_maxpool_3x3s2p1_backward__ref(
    const kern_pool *pool, size_t n, size_t c, size_t h, size_t w,
    float *dinp, const float *dout, const float *inp, const float *out);
void kern_f32_concat_pool_forward__ref(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *out,
    const float *inp);
void kern_f32_concat_pool_backward__ref(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *dinp,
    const float *dout, const float *inp, const float *out);
void kern_f32_dropout_forward__ref(const kern_pool *pool, size_t len,
                                   float *out, const float *inp, float p,
                                   uint64_t seed, bool train);
void kern_f32_dropout_backward__ref(const kern_pool *pool, size_t len,
                                    float *dinp, const float *dout, float p,
                                    uint64_t seed);
float kern_f32_softmax_xent__ref(size_t n, size_t c, float *losses,
                                 float *probs, float *dlogits,
                                 const float *logits, const int32_t *labels);
void kern_f32_softmax__ref(size_t n, size_t c, float *probs,
                           const float *logits);
void kern_f32_adam__ref(const kern_pool *pool, size_t len, float *param,
                        float *exp_avg, float *exp_avg_sq, const float *grad,
                        const kern_adam_hparams *hp);

#endif /* RESIN_KERNELS_LAYERS_H */
