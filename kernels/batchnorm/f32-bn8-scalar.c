/*
 * kernels/batchnorm/f32-bn8-scalar.c: batch-norm microkernels on one block
 * of 8 channels, portable C (contracts in kernels/layers/layers-internal.h).
 * Sums run in float over runs of BN_RUN pixels and in double across runs.
 */
#include "kernels/layers/layers-internal.h"

#define BN_RUN 128

void kern_f32_bn8_stats__scalar(size_t n, size_t hw, size_t stride,
                                const float *inp, const float *shift,
                                double *sums)
{
    for (size_t b = 0; b < n; b++) {
        const float *x = inp + b * stride;
        for (size_t p0 = 0; p0 < hw; p0 += BN_RUN) {
            size_t p1 = KERN_MIN(hw, p0 + BN_RUN);
            float s1[8] = {0}, s2[8] = {0};
            for (size_t p = p0; p < p1; p++)
                for (size_t l = 0; l < 8; l++) {
                    float d = x[p * 8 + l] - shift[l];
                    s1[l] += d;
                    s2[l] += d * d;
                }
            for (size_t l = 0; l < 8; l++) {
                sums[l] += s1[l];
                sums[8 + l] += s2[l];
            }
        }
    }
}

void kern_f32_bn8_apply__scalar(size_t n, size_t hw, size_t stride,
                                float *out, const float *inp,
                                const float *mean, const float *scale,
                                const float *beta, bool relu)
{
    for (size_t b = 0; b < n; b++) {
        const float *x = inp + b * stride;
        float *y = out + b * stride;
        for (size_t p = 0; p < hw; p++)
            for (size_t l = 0; l < 8; l++) {
                float v = (x[p * 8 + l] - mean[l]) * scale[l] + beta[l];
                y[p * 8 + l] = relu && v < 0.0f ? 0.0f : v;
            }
    }
}

void kern_f32_bn8_bwd_reduce__scalar(size_t n, size_t hw, size_t stride,
                                     const float *dout, const float *inp,
                                     const float *out, const float *mean,
                                     double *sums)
{
    for (size_t b = 0; b < n; b++) {
        size_t o = b * stride;
        for (size_t p0 = 0; p0 < hw; p0 += BN_RUN) {
            size_t p1 = KERN_MIN(hw, p0 + BN_RUN);
            float s1[8] = {0}, s2[8] = {0};
            for (size_t p = p0; p < p1; p++)
                for (size_t l = 0; l < 8; l++) {
                    size_t i = o + p * 8 + l;
                    float g = out && !(out[i] > 0.0f) ? 0.0f : dout[i];
                    s1[l] += g;
                    s2[l] += g * (inp[i] - mean[l]);
                }
            for (size_t l = 0; l < 8; l++) {
                sums[l] += s1[l];
                sums[8 + l] += s2[l];
            }
        }
    }
}

void kern_f32_bn8_bwd_apply__scalar(size_t n, size_t hw, size_t stride,
                                    float *dinp, const float *dout,
                                    const float *inp, const float *out,
                                    const float *mean, const float *a,
                                    const float *b, const float *k)
{
    for (size_t bi = 0; bi < n; bi++) {
        size_t o = bi * stride;
        for (size_t p = 0; p < hw; p++)
            for (size_t l = 0; l < 8; l++) {
                size_t i = o + p * 8 + l;
                float g = out && !(out[i] > 0.0f) ? 0.0f : dout[i];
                dinp[i] = a[l] * (g - b[l] - (inp[i] - mean[l]) * k[l]);
            }
    }
}
