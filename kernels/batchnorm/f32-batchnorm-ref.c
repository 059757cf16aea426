/*
 * kernels/batchnorm/f32-batchnorm-ref.c: batch-norm 2-D on NCHW8c, the
 * oracle. Loops in the order of the math, double accumulation, two-pass
 * statistics, serial (pool ignored). See kernels/layers.h for the contract.
 *
 * Backward (Ioffe & Szegedy 2015, with xhat = (x - mean) * invstd, M = N*HW):
 *   dbeta = sum g, dgamma = sum g * xhat,
 *   dinp = gamma * invstd / M * (M g - dbeta - xhat dgamma),
 * where g is dout masked by the fused ReLU output.
 */
#include "kernels/layers/layers-internal.h"

/* Flat index of (n, c, p) in NCHW8c with C channels and HW pixels. */
static size_t at(size_t c_total, size_t hw, size_t n, size_t c, size_t p)
{
    return ((n * (c_total / 8) + c / 8) * hw + p) * 8 + c % 8;
}

void kern_f32_batchnorm2d_forward_train__ref(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *out,
    float *save_mean, float *save_invstd, float *running_mean,
    float *running_var, const float *inp, const float *gamma,
    const float *beta, float momentum, float eps, bool relu)
{
    KERN_ASSERT(c % 8 == 0 && n * hw > 1);
    double m = (double)(n * hw);
    for (size_t ch = 0; ch < c; ch++) {
        double sum = 0.0;
        for (size_t b = 0; b < n; b++)
            for (size_t p = 0; p < hw; p++)
                sum += inp[at(c, hw, b, ch, p)];
        double mean = sum / m, ss = 0.0;
        for (size_t b = 0; b < n; b++)
            for (size_t p = 0; p < hw; p++) {
                double d = inp[at(c, hw, b, ch, p)] - mean;
                ss += d * d;
            }
        double var = ss / m;
        double invstd = 1.0 / kern_sqrt_f64(var + eps);
        for (size_t b = 0; b < n; b++)
            for (size_t p = 0; p < hw; p++) {
                size_t i = at(c, hw, b, ch, p);
                double y = (inp[i] - mean) * invstd * gamma[ch] + beta[ch];
                out[i] = (float)(relu && y < 0.0 ? 0.0 : y);
            }
        save_mean[ch] = (float)mean;
        save_invstd[ch] = (float)invstd;
        if (running_mean) {
            running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] +
                                       momentum * mean);
            running_var[ch] = (float)((1.0 - momentum) * running_var[ch] +
                                      momentum * var * m / (m - 1.0));
        }
    }
}

void kern_f32_batchnorm2d_forward_eval__ref(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *out,
    const float *inp, const float *gamma, const float *beta,
    const float *running_mean, const float *running_var, float eps,
    bool relu)
{
    KERN_ASSERT(c % 8 == 0);
    for (size_t ch = 0; ch < c; ch++) {
        double invstd = 1.0 / kern_sqrt_f64((double)running_var[ch] + eps);
        for (size_t b = 0; b < n; b++)
            for (size_t p = 0; p < hw; p++) {
                size_t i = at(c, hw, b, ch, p);
                double y = (inp[i] - (double)running_mean[ch]) * invstd *
                           gamma[ch] + beta[ch];
                out[i] = (float)(relu && y < 0.0 ? 0.0 : y);
            }
    }
}

void kern_f32_batchnorm2d_backward__ref(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *dinp,
    float *dgamma, float *dbeta, const float *dout, const float *inp,
    const float *out, const float *gamma, const float *save_mean,
    const float *save_invstd)
{
    KERN_ASSERT(c % 8 == 0);
    double m = (double)(n * hw);
    for (size_t ch = 0; ch < c; ch++) {
        double mean = save_mean[ch], invstd = save_invstd[ch];
        double sum_g = 0.0, sum_gx = 0.0;
        for (size_t b = 0; b < n; b++)
            for (size_t p = 0; p < hw; p++) {
                size_t i = at(c, hw, b, ch, p);
                double g = out && !(out[i] > 0.0f) ? 0.0 : dout[i];
                sum_g += g;
                sum_gx += g * (inp[i] - mean) * invstd;
            }
        if (dinp) {
            double a = gamma[ch] * invstd / m;
            for (size_t b = 0; b < n; b++)
                for (size_t p = 0; p < hw; p++) {
                    size_t i = at(c, hw, b, ch, p);
                    double g = out && !(out[i] > 0.0f) ? 0.0 : dout[i];
                    double xhat = (inp[i] - mean) * invstd;
                    dinp[i] = (float)(a * (m * g - sum_g - xhat * sum_gx));
                }
        }
        dgamma[ch] += (float)sum_gx;
        dbeta[ch] += (float)sum_g;
    }
}
