/*
 * nn/bn.c: batch norm over NCHW8c (BN2d) and (N, C) (BN1d = hw 1), training
 * and evaluation forward, recompute, backward. eps 1e-5, momentum 0.1;
 * normalisation uses the biased batch variance, the running variance the
 * unbiased one (PyTorch BatchNorm semantics).
 *
 * Backward (M = n*hw values per channel, x^ = (x - mean) * rstd, dy masked
 * by the recomputed ReLU when the layer is followed by one):
 *   dbeta = sum dy, dgamma = sum dy x^,
 *   dx = gamma rstd / M * (M dy - dbeta - x^ dgamma).
 * Per-channel sums accumulate in double.
 */
#include "nn/ops.h"
#include "nn/nnmath.h"

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

/* Element (n, c, s) of an NCHW8c tensor with s = h*W + w. */
static inline size_t at(size_t C, size_t hw, size_t n, size_t c, size_t s)
{
    return ((n * (C / 8) + c / 8) * hw + s) * 8 + c % 8;
}

static void channel_sums(size_t C, size_t n, size_t hw, const float *x,
                         size_t c, double *sum, double *sumsq, double mean)
{
    double s = 0.0, q = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < hw; k++) {
            double d = (double)x[at(C, hw, i, c, k)] - mean;
            s += d;
            q += d * d;
        }
    *sum = s;
    *sumsq = q;
}

void nn_bn_apply(const nn_bn *bn, size_t n, size_t hw, float *y,
                 const float *x, const float *gamma, const float *beta,
                 bool relu, const kern_pool *pool)
{
    size_t C = bn->c;
    /* (x - mean) first: folding mean into a shift (x*scale + shift) loses
     * the low bits when a channel's mean is large against its spread, which
     * small batch statistics make common. */
    for (size_t c = 0; c < C; c++) {
        float scale = gamma[c] * bn->rstd[c], mean = bn->mean[c];
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < hw; k++) {
                size_t j = at(C, hw, i, c, k);
                float v = (x[j] - mean) * scale + beta[c];
                y[j] = relu && !(v > 0.0f) ? 0.0f : v;
            }
    }
}

void nn_bn_forward_train(const nn_bn *bn, size_t n, size_t hw, float *y,
                         const float *x, const float *gamma, const float *beta,
                         float *rmean, float *rvar, bool relu,
                         const kern_pool *pool)
{
    size_t C = bn->c;
    double count = (double)(n * hw);
    for (size_t c = 0; c < C; c++) {
        double sum, sq;
        channel_sums(C, n, hw, x, c, &sum, &sq, 0.0);
        double mean = sum / count;
        channel_sums(C, n, hw, x, c, &sum, &sq, mean);
        double var = sq / count; /* biased: normalisation */
        bn->mean[c] = (float)mean;
        bn->rstd[c] = (float)(1.0 / nn_sqrt(var + BN_EPS));
        double unbiased = count > 1 ? sq / (count - 1) : var;
        rmean[c] = (float)((1 - BN_MOMENTUM) * rmean[c] + BN_MOMENTUM * mean);
        rvar[c] = (float)((1 - BN_MOMENTUM) * rvar[c] + BN_MOMENTUM * unbiased);
    }
    nn_bn_apply(bn, n, hw, y, x, gamma, beta, relu, pool);
}

void nn_bn_forward_eval(const nn_bn *bn, size_t n, size_t hw, float *y,
                        const float *x, const float *gamma, const float *beta,
                        const float *rmean, const float *rvar, bool relu,
                        const kern_pool *pool)
{
    for (size_t c = 0; c < bn->c; c++) {
        bn->mean[c] = rmean[c];
        bn->rstd[c] = (float)(1.0 / nn_sqrt((double)rvar[c] + BN_EPS));
    }
    nn_bn_apply(bn, n, hw, y, x, gamma, beta, relu, pool);
}

void nn_bn_backward(const nn_bn *bn, size_t n, size_t hw, float *dx,
                    float *dgamma, float *dbeta, const float *dy,
                    const float *x, const float *gamma, const float *beta,
                    bool relu, const kern_pool *pool)
{
    size_t C = bn->c;
    double count = (double)(n * hw);
    for (size_t c = 0; c < C; c++) {
        float mean = bn->mean[c], rstd = bn->rstd[c];
        /* the ReLU mask exactly as nn_bn_apply computed the output */
        float scale = gamma[c] * rstd;
        double sdy = 0.0, sdyx = 0.0;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < hw; k++) {
                size_t j = at(C, hw, i, c, k);
                float xh = (x[j] - mean) * rstd;
                float g = dy[j];
                if (relu && !((x[j] - mean) * scale + beta[c] > 0.0f))
                    g = 0.0f;
                sdy += g;
                sdyx += (double)g * xh;
            }
        dbeta[c] += (float)sdy;
        dgamma[c] += (float)sdyx;
        double k1 = gamma[c] * rstd / count;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < hw; k++) {
                size_t j = at(C, hw, i, c, k);
                double xh = ((double)x[j] - mean) * rstd;
                double g = dy[j];
                if (relu && !((x[j] - mean) * scale + beta[c] > 0.0f))
                    g = 0.0;
                dx[j] = (float)(k1 * (count * g - sdy - xh * sdyx));
            }
    }
}
