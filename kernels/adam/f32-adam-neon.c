/*
 * kernels/adam/f32-adam-neon.c: the Adam microkernel, AArch64 NEON, one q
 * register of 4 parameters per iteration and the scalar kernel for the tail.
 */
#include <arm_neon.h>

#include "kernels/layers/layers-internal.h"

void kern_f32_adam__neon(size_t len, float *param, float *exp_avg,
                         float *exp_avg_sq, const float *grad, float decay,
                         float step, float beta1, float beta2, float eps)
{
    const float32x4_t vb1 = vdupq_n_f32(beta1), vb2 = vdupq_n_f32(beta2);
    const float32x4_t vc1 = vdupq_n_f32(1.0f - beta1);
    const float32x4_t vc2 = vdupq_n_f32(1.0f - beta2);
    const float32x4_t veps = vdupq_n_f32(eps);
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        float32x4_t vg = vld1q_f32(grad + i);
        float32x4_t vm = vfmaq_f32(vmulq_f32(vc1, vg), vb1,
                                   vld1q_f32(exp_avg + i));
        float32x4_t vv = vfmaq_f32(vmulq_f32(vc2, vmulq_f32(vg, vg)), vb2,
                                   vld1q_f32(exp_avg_sq + i));
        float32x4_t vden = vaddq_f32(vsqrtq_f32(vv), veps);
        float32x4_t vp = vmulq_n_f32(vld1q_f32(param + i), decay);
        vp = vfmsq_f32(vp, vdupq_n_f32(step), vdivq_f32(vm, vden));
        vst1q_f32(exp_avg + i, vm);
        vst1q_f32(exp_avg_sq + i, vv);
        vst1q_f32(param + i, vp);
    }
    if (i < len)
        kern_f32_adam__scalar(len - i, param + i, exp_avg + i,
                              exp_avg_sq + i, grad + i, decay, step, beta1,
                              beta2, eps);
}
