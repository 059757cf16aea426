/*
 * kernels/gemm/f32-gemm-8x12-neon.c: kern_f32_gemm_ukernel_8x12__neon
 * (AArch64 Advanced SIMD; contract in kernels/gemm.h).
 *
 * 8 rows x 12 columns = 24 q-register accumulators, 3 for the row of B and
 * 2 for the column of A: 29 of AArch64's 32 vector registers. Each step of k
 * is 3 loads of B, 2 loads of the packed column of A and 24 FMAs by lane.
 * Edge tiles: rows past mr are computed (the driver zeroes them), not
 * stored; a column tail is stored in halves 8, 4, 2, 1.
 */
#include <arm_neon.h>

#include "kernels/gemm.h"

static inline float32x4_t scale4(float *c, float32x4_t v, float32x4_t valpha,
                                 float beta)
{
    v = vmulq_f32(v, valpha);
    if (beta != 0.0f)
        v = vfmaq_n_f32(v, vld1q_f32(c), beta);
    return v;
}

/* c[0:nr] = alpha * (v0, v1, v2)[0:nr] + beta * c[0:nr]. */
static inline void store_row(float *c, size_t nr, float32x4_t v0,
                             float32x4_t v1, float32x4_t v2,
                             float32x4_t valpha, float beta)
{
    if (nr == 12) {
        vst1q_f32(c, scale4(c, v0, valpha, beta));
        vst1q_f32(c + 4, scale4(c + 4, v1, valpha, beta));
        vst1q_f32(c + 8, scale4(c + 8, v2, valpha, beta));
        return;
    }
    if (nr & 8) {
        vst1q_f32(c, scale4(c, v0, valpha, beta));
        vst1q_f32(c + 4, scale4(c + 4, v1, valpha, beta));
        v0 = v2;
        c += 8;
    }
    if (nr & 4) {
        vst1q_f32(c, scale4(c, v0, valpha, beta));
        v0 = v1;
        c += 4;
    }
    float32x2_t v = vmul_f32(vget_low_f32(v0), vget_low_f32(valpha));
    if (nr & 2) {
        if (beta != 0.0f)
            v = vfma_n_f32(v, vld1_f32(c), beta);
        vst1_f32(c, v);
        v = vmul_f32(vget_high_f32(v0), vget_low_f32(valpha));
        c += 2;
    }
    if (nr & 1) {
        float s = vget_lane_f32(v, 0);
        c[0] = beta != 0.0f ? s + beta * c[0] : s;
    }
}

void kern_f32_gemm_ukernel_8x12__neon(size_t mr, size_t nr, size_t kc,
                                      const float *restrict a,
                                      const float *restrict b,
                                      float *restrict c, size_t ldc,
                                      float alpha, float beta)
{
    KERN_ASSERT(mr >= 1 && mr <= 8);
    KERN_ASSERT(nr >= 1 && nr <= 12);
    KERN_ASSERT(kc >= 1);

    float32x4_t vacc0x0123 = vdupq_n_f32(0.0f), vacc0x4567 = vacc0x0123,
                vacc0x89AB = vacc0x0123;
    float32x4_t vacc1x0123 = vacc0x0123, vacc1x4567 = vacc0x0123,
                vacc1x89AB = vacc0x0123;
    float32x4_t vacc2x0123 = vacc0x0123, vacc2x4567 = vacc0x0123,
                vacc2x89AB = vacc0x0123;
    float32x4_t vacc3x0123 = vacc0x0123, vacc3x4567 = vacc0x0123,
                vacc3x89AB = vacc0x0123;
    float32x4_t vacc4x0123 = vacc0x0123, vacc4x4567 = vacc0x0123,
                vacc4x89AB = vacc0x0123;
    float32x4_t vacc5x0123 = vacc0x0123, vacc5x4567 = vacc0x0123,
                vacc5x89AB = vacc0x0123;
    float32x4_t vacc6x0123 = vacc0x0123, vacc6x4567 = vacc0x0123,
                vacc6x89AB = vacc0x0123;
    float32x4_t vacc7x0123 = vacc0x0123, vacc7x4567 = vacc0x0123,
                vacc7x89AB = vacc0x0123;

    for (size_t p = 0; p < kc; p++) {
        const float32x4_t vb0123 = vld1q_f32(b);
        const float32x4_t vb4567 = vld1q_f32(b + 4);
        const float32x4_t vb89AB = vld1q_f32(b + 8);
        b += 12;
        const float32x4_t va0123 = vld1q_f32(a);
        const float32x4_t va4567 = vld1q_f32(a + 4);
        a += 8;

#define ROW(r, va, lane)                                                      \
    vacc##r##x0123 = vfmaq_laneq_f32(vacc##r##x0123, vb0123, va, lane);       \
    vacc##r##x4567 = vfmaq_laneq_f32(vacc##r##x4567, vb4567, va, lane);       \
    vacc##r##x89AB = vfmaq_laneq_f32(vacc##r##x89AB, vb89AB, va, lane)
        ROW(0, va0123, 0);
        ROW(1, va0123, 1);
        ROW(2, va0123, 2);
        ROW(3, va0123, 3);
        ROW(4, va4567, 0);
        ROW(5, va4567, 1);
        ROW(6, va4567, 2);
        ROW(7, va4567, 3);
#undef ROW
    }


    const float32x4_t valpha = vdupq_n_f32(alpha);
    store_row(c, nr, vacc0x0123, vacc0x4567, vacc0x89AB, valpha, beta);
    if (mr > 1)
        store_row(c + ldc, nr, vacc1x0123, vacc1x4567, vacc1x89AB, valpha,
                  beta);
    if (mr > 2)
        store_row(c + 2 * ldc, nr, vacc2x0123, vacc2x4567, vacc2x89AB,
                  valpha, beta);
    if (mr > 3)
        store_row(c + 3 * ldc, nr, vacc3x0123, vacc3x4567, vacc3x89AB,
                  valpha, beta);
    if (mr > 4)
        store_row(c + 4 * ldc, nr, vacc4x0123, vacc4x4567, vacc4x89AB,
                  valpha, beta);
    if (mr > 5)
        store_row(c + 5 * ldc, nr, vacc5x0123, vacc5x4567, vacc5x89AB,
                  valpha, beta);
    if (mr > 6)
        store_row(c + 6 * ldc, nr, vacc6x0123, vacc6x4567, vacc6x89AB,
                  valpha, beta);
    if (mr > 7)
        store_row(c + 7 * ldc, nr, vacc7x0123, vacc7x4567, vacc7x89AB,
                  valpha, beta);
}
