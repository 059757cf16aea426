/*
 * kernels/softmax/f32-xent-neon.c: one row of softmax cross-entropy,
 * AArch64 NEON, with SLEEF's 1-ulp vector exp and log (prototypes declared
 * here). The last partial vector is staged in a local buffer padded with
 * -inf, whose exp is 0, so it neither wins the max nor adds to the sum.
 */
#include <arm_neon.h>

#include "kernels/layers/layers-internal.h"

float32x4_t Sleef_expf4_u10advsimd(float32x4_t x);
float32x4_t Sleef_logf4_u10advsimd(float32x4_t x);

/* Logits j..j+3, the ones past c replaced by -inf. */
static inline float32x4_t load_row(const float *x, size_t j, size_t c)
{
    if (j + 4 <= c)
        return vld1q_f32(x + j);
    float buf[4];
    for (size_t l = 0; l < 4; l++)
        buf[l] = j + l < c ? x[j + l] : -__builtin_inff();
    return vld1q_f32(buf);
}

static inline void store_row(float *y, size_t j, size_t c, float32x4_t v)
{
    if (j + 4 <= c) {
        vst1q_f32(y + j, v);
        return;
    }
    float buf[4];
    vst1q_f32(buf, v);
    for (size_t l = 0; j + l < c; l++)
        y[j + l] = buf[l];
}

float kern_f32_xent_row__neon(size_t c, float *probs, float *dlogits,
                              const float *logits, int32_t label,
                              float inv_n)
{
    float32x4_t vmax = vdupq_n_f32(-__builtin_inff());
    for (size_t j = 0; j < c; j += 4)
        vmax = vmaxq_f32(vmax, load_row(logits, j, c));
    const float mx = vmaxvq_f32(vmax);
    const float32x4_t vmx = vdupq_n_f32(mx);
    float32x4_t vsum = vdupq_n_f32(0.0f);
    for (size_t j = 0; j < c; j += 4)
        vsum = vaddq_f32(vsum, Sleef_expf4_u10advsimd(
                                   vsubq_f32(load_row(logits, j, c), vmx)));
    const float sum = vaddvq_f32(vsum);
    const float32x4_t vinv = vdupq_n_f32(1.0f / sum);
    const int32x4_t vlane = {0, 1, 2, 3};
    for (size_t j = 0; j < c && (probs || dlogits); j += 4) {
        float32x4_t vp = vmulq_f32(
            Sleef_expf4_u10advsimd(vsubq_f32(load_row(logits, j, c), vmx)),
            vinv);
        if (probs)
            store_row(probs, j, c, vp);
        if (dlogits) {
            int32x4_t vidx = vaddq_s32(vdupq_n_s32((int32_t)j), vlane);
            uint32x4_t vis = vceqq_s32(vidx, vdupq_n_s32(label));
            float32x4_t vone = vreinterpretq_f32_u32(
                vandq_u32(vis, vreinterpretq_u32_f32(vdupq_n_f32(1.0f))));
            store_row(dlogits, j, c,
                      vmulq_n_f32(vsubq_f32(vp, vone), inv_n));
        }
    }
    if (label < 0)
        return 0.0f;
    float lg = vgetq_lane_f32(Sleef_logf4_u10advsimd(vdupq_n_f32(sum)), 0);
    return (float)((double)mx - (double)logits[label] + (double)lg);
}
