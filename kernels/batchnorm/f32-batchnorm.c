/*
 * kernels/batchnorm/f32-batchnorm.c: the batch-norm drivers (contract in
 * kernels/layers.h). One task per block of 8 channels: it reduces the block
 * (statistics or gradient sums) and then applies it, so the second pass over
 * a block often finds it still in the last-level cache, and every result is
 * independent of the thread that computed it.
 *
 * Statistics are one pass over shifted data: with K = the block's first
 * value per channel, mean = K + S1/M and var = S2/M - (S1/M)^2 where
 * S1 = sum(x - K), S2 = sum((x - K)^2); the shift keeps the cancellation
 * small (|mean - K| is a few standard deviations at most), and the
 * microkernels sum short runs in float and the runs in double.
 */
#include "kernels/layers/layers-internal.h"

/* Below this many floats a pool costs more than it saves. */
#define BN_SERIAL_FLOATS 32768

typedef struct bn_ctx {
    size_t n, c, hw;
    float *out, *save_mean, *save_invstd, *running_mean, *running_var;
    float *dinp, *dgamma, *dbeta;
    const float *inp, *dout, *fwd_out, *gamma, *beta, *mean, *var_or_invstd;
    float momentum, eps;
    bool relu;
} bn_ctx;

static const kern_pool *bn_pool(const kern_pool *pool, size_t n, size_t c,
                                size_t hw)
{
    return n * c * hw < BN_SERIAL_FLOATS ? NULL : pool;
}

static void bn_train_task(void *vctx, size_t cb, size_t thread)
{
    const bn_ctx *x = vctx;
    size_t stride = x->c / 8 * x->hw * 8, off = cb * x->hw * 8;
    double m = (double)(x->n * x->hw), sums[16] = {0};
    float shift[8], mean[8], scale[8];
    for (size_t l = 0; l < 8; l++)
        shift[l] = x->inp[off + l];
    kern_layers.bn8_stats(x->n, x->hw, stride, x->inp + off, shift, sums);
    for (size_t l = 0; l < 8; l++) {
        size_t ch = cb * 8 + l;
        double d = sums[l] / m, var = sums[8 + l] / m - d * d;
        var = var > 0.0 ? var : 0.0;
        double dmean = shift[l] + d;
        double invstd = 1.0 / kern_sqrt_f64(var + x->eps);
        mean[l] = (float)dmean;
        scale[l] = (float)(x->gamma[ch] * invstd);
        x->save_mean[ch] = mean[l];
        x->save_invstd[ch] = (float)invstd;
        if (x->running_mean) {
            double mo = x->momentum;
            x->running_mean[ch] =
                (float)((1.0 - mo) * x->running_mean[ch] + mo * dmean);
            x->running_var[ch] = (float)((1.0 - mo) * x->running_var[ch] +
                                         mo * var * m / (m - 1.0));
        }
    }
    kern_layers.bn8_apply(x->n, x->hw, stride, x->out + off, x->inp + off,
                          mean, scale, x->beta + cb * 8, x->relu);
}

void kern_f32_batchnorm2d_forward_train(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *out,
    float *save_mean, float *save_invstd, float *running_mean,
    float *running_var, const float *inp, const float *gamma,
    const float *beta, float momentum, float eps, bool relu)
{
    KERN_ASSERT(c % 8 == 0 && n * hw > 1);
    KERN_ASSERT((running_mean == NULL) == (running_var == NULL));
    if (kern_layers.ref) {
        kern_f32_batchnorm2d_forward_train__ref(
            pool, n, c, hw, out, save_mean, save_invstd, running_mean,
            running_var, inp, gamma, beta, momentum, eps, relu);
        return;
    }
    bn_ctx ctx = {.n = n, .c = c, .hw = hw, .out = out,
                  .save_mean = save_mean, .save_invstd = save_invstd,
                  .running_mean = running_mean, .running_var = running_var,
                  .inp = inp, .gamma = gamma, .beta = beta,
                  .momentum = momentum, .eps = eps, .relu = relu};
    kern_parallel_for(bn_pool(pool, n, c, hw), bn_train_task, &ctx, c / 8);
}

static void bn_eval_task(void *vctx, size_t cb, size_t thread)
{
    const bn_ctx *x = vctx;
    size_t stride = x->c / 8 * x->hw * 8, off = cb * x->hw * 8;
    float scale[8];
    for (size_t l = 0; l < 8; l++) {
        size_t ch = cb * 8 + l;
        scale[l] = (float)(x->gamma[ch] /
                           kern_sqrt_f64((double)x->var_or_invstd[ch] +
                                         x->eps));
    }
    kern_layers.bn8_apply(x->n, x->hw, stride, x->out + off, x->inp + off,
                          x->mean + cb * 8, scale, x->beta + cb * 8, x->relu);
}

void kern_f32_batchnorm2d_forward_eval(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *out,
    const float *inp, const float *gamma, const float *beta,
    const float *running_mean, const float *running_var, float eps,
    bool relu)
{
    KERN_ASSERT(c % 8 == 0);
    if (kern_layers.ref) {
        kern_f32_batchnorm2d_forward_eval__ref(pool, n, c, hw, out, inp,
                                               gamma, beta, running_mean,
                                               running_var, eps, relu);
        return;
    }
    bn_ctx ctx = {.n = n, .c = c, .hw = hw, .out = out, .inp = inp,
                  .gamma = gamma, .beta = beta, .mean = running_mean,
                  .var_or_invstd = running_var, .eps = eps, .relu = relu};
    kern_parallel_for(bn_pool(pool, n, c, hw), bn_eval_task, &ctx, c / 8);
}

static void bn_backward_task(void *vctx, size_t cb, size_t thread)
{
    const bn_ctx *x = vctx;
    size_t stride = x->c / 8 * x->hw * 8, off = cb * x->hw * 8;
    const float *fwd_out = x->fwd_out ? x->fwd_out + off : NULL;
    const float *mean = x->mean + cb * 8;
    double m = (double)(x->n * x->hw), sums[16] = {0};
    kern_layers.bn8_bwd_reduce(x->n, x->hw, stride, x->dout + off,
                               x->inp + off, fwd_out, mean, sums);
    float a[8], b[8], k[8];
    for (size_t l = 0; l < 8; l++) {
        size_t ch = cb * 8 + l;
        double invstd = x->var_or_invstd[ch];
        double sum_gxhat = sums[8 + l] * invstd;
        x->dgamma[ch] += (float)sum_gxhat;
        x->dbeta[ch] += (float)sums[l];
        a[l] = (float)(x->gamma[ch] * invstd);
        b[l] = (float)(sums[l] / m);
        k[l] = (float)(invstd * sum_gxhat / m);
    }
    if (x->dinp)
        kern_layers.bn8_bwd_apply(x->n, x->hw, stride, x->dinp + off,
                                  x->dout + off, x->inp + off, fwd_out, mean,
                                  a, b, k);
}

void kern_f32_batchnorm2d_backward(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *dinp,
    float *dgamma, float *dbeta, const float *dout, const float *inp,
    const float *out, const float *gamma, const float *save_mean,
    const float *save_invstd)
{
    KERN_ASSERT(c % 8 == 0);
    if (kern_layers.ref) {
        kern_f32_batchnorm2d_backward__ref(pool, n, c, hw, dinp, dgamma,
                                           dbeta, dout, inp, out, gamma,
                                           save_mean, save_invstd);
        return;
    }
    bn_ctx ctx = {.n = n, .c = c, .hw = hw, .dinp = dinp, .dgamma = dgamma,
                  .dbeta = dbeta, .dout = dout, .inp = inp, .fwd_out = out,
                  .gamma = gamma, .mean = save_mean,
                  .var_or_invstd = save_invstd};
    kern_parallel_for(bn_pool(pool, n, c, hw), bn_backward_task, &ctx,
                      c / 8);
}

// --- 1-D: (N, C) row-major is NCHW8c with H*W = 1 ----------------------------

void kern_f32_batchnorm1d_forward_train(
    const kern_pool *pool, size_t n, size_t c, float *out, float *save_mean,
    float *save_invstd, float *running_mean, float *running_var,
    const float *inp, const float *gamma, const float *beta, float momentum,
    float eps)
{
    kern_f32_batchnorm2d_forward_train(pool, n, c, 1, out, save_mean,
                                       save_invstd, running_mean, running_var,
                                       inp, gamma, beta, momentum, eps,
                                       false);
}

void kern_f32_batchnorm1d_forward_eval(
    const kern_pool *pool, size_t n, size_t c, float *out, const float *inp,
    const float *gamma, const float *beta, const float *running_mean,
    const float *running_var, float eps)
{
    kern_f32_batchnorm2d_forward_eval(pool, n, c, 1, out, inp, gamma, beta,
                                      running_mean, running_var, eps, false);
}

void kern_f32_batchnorm1d_backward(
    const kern_pool *pool, size_t n, size_t c, float *dinp, float *dgamma,
    float *dbeta, const float *dout, const float *inp, const float *gamma,
    const float *save_mean, const float *save_invstd)
{
    kern_f32_batchnorm2d_backward(pool, n, c, 1, dinp, dgamma, dbeta, dout,
                                  inp, NULL, gamma, save_mean, save_invstd);
}
