/*
 * kernels/batchnorm/f32-bn8-neon.c: batch-norm microkernels on one block of
 * 8 channels, AArch64 NEON: the 8 channels are two q registers (lanes 0-3,
 * 4-7); contracts in kernels/layers/layers-internal.h. Sums run in float
 * over runs of BN_RUN pixels and in double across runs.
 */
#include <arm_neon.h>

#include "kernels/layers/layers-internal.h"

#define BN_RUN 128

/* acc[0..3] (2 doubles each) += the 8 lanes of v0:v1. */
static inline void add_to_f64(float64x2_t *acc, float32x4_t v0,
                              float32x4_t v1)
{
    acc[0] = vaddq_f64(acc[0], vcvt_f64_f32(vget_low_f32(v0)));
    acc[1] = vaddq_f64(acc[1], vcvt_high_f64_f32(v0));
    acc[2] = vaddq_f64(acc[2], vcvt_f64_f32(vget_low_f32(v1)));
    acc[3] = vaddq_f64(acc[3], vcvt_high_f64_f32(v1));
}

static inline void store_sums(double *sums, const float64x2_t *s1,
                              const float64x2_t *s2)
{
    for (int k = 0; k < 4; k++) {
        vst1q_f64(sums + 2 * k, vaddq_f64(vld1q_f64(sums + 2 * k), s1[k]));
        vst1q_f64(sums + 8 + 2 * k,
                  vaddq_f64(vld1q_f64(sums + 8 + 2 * k), s2[k]));
    }
}

void kern_f32_bn8_stats__neon(size_t n, size_t hw, size_t stride,
                              const float *inp, const float *shift,
                              double *sums)
{
    const float32x4_t vsh0 = vld1q_f32(shift), vsh1 = vld1q_f32(shift + 4);
    float64x2_t s1[4], s2[4];
    for (int k = 0; k < 4; k++)
        s1[k] = s2[k] = vdupq_n_f64(0.0);
    for (size_t b = 0; b < n; b++) {
        const float *x = inp + b * stride;
        for (size_t p0 = 0; p0 < hw; p0 += BN_RUN) {
            size_t p1 = KERN_MIN(hw, p0 + BN_RUN);
            float32x4_t va0 = vdupq_n_f32(0.0f), va1 = va0;
            float32x4_t vq0 = va0, vq1 = va0;
            for (size_t p = p0; p < p1; p++) {
                float32x4_t vd0 = vsubq_f32(vld1q_f32(x + p * 8), vsh0);
                float32x4_t vd1 = vsubq_f32(vld1q_f32(x + p * 8 + 4), vsh1);
                va0 = vaddq_f32(va0, vd0);
                va1 = vaddq_f32(va1, vd1);
                vq0 = vfmaq_f32(vq0, vd0, vd0);
                vq1 = vfmaq_f32(vq1, vd1, vd1);
            }
            add_to_f64(s1, va0, va1);
            add_to_f64(s2, vq0, vq1);
        }
    }
    store_sums(sums, s1, s2);
}

void kern_f32_bn8_apply__neon(size_t n, size_t hw, size_t stride,
                              float *out, const float *inp,
                              const float *mean, const float *scale,
                              const float *beta, bool relu)
{
    const float32x4_t vm0 = vld1q_f32(mean), vm1 = vld1q_f32(mean + 4);
    const float32x4_t vs0 = vld1q_f32(scale), vs1 = vld1q_f32(scale + 4);
    const float32x4_t vb0 = vld1q_f32(beta), vb1 = vld1q_f32(beta + 4);
    /* FMAX propagates NaN, as the reference does */
    const float32x4_t vlo = vdupq_n_f32(relu ? 0.0f : -__builtin_inff());
    for (size_t b = 0; b < n; b++) {
        const float *x = inp + b * stride;
        float *y = out + b * stride;
        for (size_t p = 0; p < hw; p++) {
            float32x4_t vy0 =
                vfmaq_f32(vb0, vsubq_f32(vld1q_f32(x + p * 8), vm0), vs0);
            float32x4_t vy1 =
                vfmaq_f32(vb1, vsubq_f32(vld1q_f32(x + p * 8 + 4), vm1), vs1);
            vst1q_f32(y + p * 8, vmaxq_f32(vlo, vy0));
            vst1q_f32(y + p * 8 + 4, vmaxq_f32(vlo, vy1));
        }
    }
}

/* dout masked by out > 0, or dout itself when there is no fused ReLU. */
static inline float32x4_t masked(const float *dout, const float *out,
                                 size_t i)
{
    float32x4_t vg = vld1q_f32(dout + i);
    if (!out)
        return vg;
    uint32x4_t vpos = vcgtq_f32(vld1q_f32(out + i), vdupq_n_f32(0.0f));
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(vg), vpos));
}

void kern_f32_bn8_bwd_reduce__neon(size_t n, size_t hw, size_t stride,
                                   const float *dout, const float *inp,
                                   const float *out, const float *mean,
                                   double *sums)
{
    const float32x4_t vm0 = vld1q_f32(mean), vm1 = vld1q_f32(mean + 4);
    float64x2_t s1[4], s2[4];
    for (int k = 0; k < 4; k++)
        s1[k] = s2[k] = vdupq_n_f64(0.0);
    for (size_t b = 0; b < n; b++) {
        size_t o = b * stride;
        for (size_t p0 = 0; p0 < hw; p0 += BN_RUN) {
            size_t p1 = KERN_MIN(hw, p0 + BN_RUN);
            float32x4_t va0 = vdupq_n_f32(0.0f), va1 = va0;
            float32x4_t vq0 = va0, vq1 = va0;
            for (size_t p = p0; p < p1; p++) {
                size_t i = o + p * 8;
                float32x4_t vg0 = masked(dout, out, i);
                float32x4_t vg1 = masked(dout, out, i + 4);
                va0 = vaddq_f32(va0, vg0);
                va1 = vaddq_f32(va1, vg1);
                vq0 = vfmaq_f32(vq0, vg0, vsubq_f32(vld1q_f32(inp + i), vm0));
                vq1 = vfmaq_f32(vq1, vg1,
                                vsubq_f32(vld1q_f32(inp + i + 4), vm1));
            }
            add_to_f64(s1, va0, va1);
            add_to_f64(s2, vq0, vq1);
        }
    }
    store_sums(sums, s1, s2);
}

void kern_f32_bn8_bwd_apply__neon(size_t n, size_t hw, size_t stride,
                                  float *dinp, const float *dout,
                                  const float *inp, const float *out,
                                  const float *mean, const float *a,
                                  const float *b, const float *k)
{
    const float32x4_t vm0 = vld1q_f32(mean), vm1 = vld1q_f32(mean + 4);
    const float32x4_t va0 = vld1q_f32(a), va1 = vld1q_f32(a + 4);
    const float32x4_t vb0 = vld1q_f32(b), vb1 = vld1q_f32(b + 4);
    const float32x4_t vk0 = vld1q_f32(k), vk1 = vld1q_f32(k + 4);
    for (size_t bi = 0; bi < n; bi++) {
        size_t o = bi * stride;
        for (size_t p = 0; p < hw; p++) {
            size_t i = o + p * 8;
            float32x4_t vg0 = vsubq_f32(masked(dout, out, i), vb0);
            float32x4_t vg1 = vsubq_f32(masked(dout, out, i + 4), vb1);
            float32x4_t vd0 = vsubq_f32(vld1q_f32(inp + i), vm0);
            float32x4_t vd1 = vsubq_f32(vld1q_f32(inp + i + 4), vm1);
            vst1q_f32(dinp + i, vmulq_f32(va0, vfmsq_f32(vg0, vd0, vk0)));
            vst1q_f32(dinp + i + 4, vmulq_f32(va1, vfmsq_f32(vg1, vd1, vk1)));
        }
    }
}
