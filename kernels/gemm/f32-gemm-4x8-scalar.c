/*
 * kernels/gemm/f32-gemm-4x8-scalar.c: kern_f32_gemm_ukernel_4x8__scalar,
 * the portable fallback microkernel (contract in kernels/gemm.h).
 *
 * A 4 x 8 tile of accumulators, one rank-1 update per step of k: the four
 * packed values of A times a row of eight packed values of B. Plain C; the
 * compiler may vectorise the eight columns with whatever the baseline ISA
 * offers.
 */
#include "kernels/gemm.h"

void kern_f32_gemm_ukernel_4x8__scalar(size_t mr, size_t nr, size_t kc,
                                       const float *restrict a,
                                       const float *restrict b,
                                       float *restrict c, size_t ldc,
                                       float alpha, float beta)
{
    KERN_ASSERT(mr >= 1 && mr <= 4);
    KERN_ASSERT(nr >= 1 && nr <= 8);
    KERN_ASSERT(kc >= 1);

    float acc[4][8] = {{0.0f}};
    for (size_t p = 0; p < kc; p++, a += 4, b += 8)
        for (size_t r = 0; r < 4; r++)
            for (size_t j = 0; j < 8; j++)
                acc[r][j] += a[r] * b[j];

    for (size_t r = 0; r < mr; r++) {
        float *crow = c + r * ldc;
        for (size_t j = 0; j < nr; j++) {
            float v = alpha * acc[r][j];
            crow[j] = beta == 0.0f ? v : v + beta * crow[j];
        }
    }
}
