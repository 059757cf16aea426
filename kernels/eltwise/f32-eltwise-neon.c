/*
 * kernels/eltwise/f32-eltwise-neon.c: elementwise microkernels, AArch64
 * NEON, one q register per step and a scalar tail (contracts in
 * kernels/layers.h; outputs may alias inputs). The ReLU masks compare
 * x > 0 and AND, so NaN and -0 map to 0 exactly as the reference does.
 */
#include <arm_neon.h>

#include "kernels/layers/layers-internal.h"

static inline float32x4_t keep_if(float32x4_t v, uint32x4_t m)
{
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), m));
}

void kern_f32_relu__neon(size_t len, float *out, const float *inp)
{
    const float32x4_t vzero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        float32x4_t vx = vld1q_f32(inp + i);
        vst1q_f32(out + i, keep_if(vx, vcgtq_f32(vx, vzero)));
    }
    for (; i < len; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void kern_f32_relu_bwd__neon(size_t len, float *dinp, const float *dout,
                             const float *out)
{
    const float32x4_t vzero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 4 <= len; i += 4)
        vst1q_f32(dinp + i, keep_if(vld1q_f32(dout + i),
                                    vcgtq_f32(vld1q_f32(out + i), vzero)));
    for (; i < len; i++)
        dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

void kern_f32_add_relu__neon(size_t len, float *out, const float *a,
                             const float *b)
{
    const float32x4_t vzero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        float32x4_t vs = vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
        vst1q_f32(out + i, keep_if(vs, vcgtq_f32(vs, vzero)));
    }
    for (; i < len; i++) {
        float s = a[i] + b[i];
        out[i] = s > 0.0f ? s : 0.0f;
    }
}

void kern_f32_add_relu_bwd__neon(size_t len, float *da, float *db_acc,
                                 const float *dout, const float *out)
{
    const float32x4_t vzero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        float32x4_t vg = keep_if(vld1q_f32(dout + i),
                                 vcgtq_f32(vld1q_f32(out + i), vzero));
        if (db_acc)
            vst1q_f32(db_acc + i, vaddq_f32(vld1q_f32(db_acc + i), vg));
        vst1q_f32(da + i, vg);
    }
    for (; i < len; i++) {
        float g = out[i] > 0.0f ? dout[i] : 0.0f;
        if (db_acc)
            db_acc[i] += g;
        da[i] = g;
    }
}

void kern_f32_add__neon(size_t len, float *out, const float *a,
                        const float *b)
{
    size_t i = 0;
    for (; i + 4 <= len; i += 4)
        vst1q_f32(out + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    for (; i < len; i++)
        out[i] = a[i] + b[i];
}

void kern_f32_fill__neon(size_t len, float *out, float value)
{
    const float32x4_t v = vdupq_n_f32(value);
    size_t i = 0;
    for (; i + 4 <= len; i += 4)
        vst1q_f32(out + i, v);
    for (; i < len; i++)
        out[i] = value;
}
