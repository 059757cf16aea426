/*
 * kernels/conv/f32-conv2d-bwdw-avx2.c: the AVX2+FMA backward-weights
 * microkernel (contract in conv-internal.h).
 *
 * Up to 6 input values (items: channel x tap) x 2 blocks of 8 dout channels
 * = 12 ymm accumulators, reduced over rows x ow pixels: per pixel 2 dout
 * loads and one broadcast per item feed 2 FMAs each. b and g are
 * specialised through an always-inline body with constant arguments; the
 * loops over them unroll, and the accumulators stay in registers. The pixel
 * loop is unrolled by 4: with one pixel per iteration its pointer steps and
 * branch (5 of 25 instructions) held the kernel at 60-70 GFLOP/s on L1-hot
 * 7x7 and 14x14 planes; unrolled, 9 of 10 alternating one-thread runs
 * were faster, by about 9% at the median.
 */
#include <immintrin.h>

#include "kernels/conv/conv-internal.h"

#define INLINE static inline __attribute__((always_inline))

INLINE void bwdw_body(const kern_conv_bwdw_args *a, size_t B, size_t G)
{
    __m256 vacc[KERN_CONV_MR][2];
    ptrdiff_t off[KERN_CONV_MR];
#pragma GCC unroll 6
    for (size_t i = 0; i < B; i++) {
        off[i] = a->in_off[i];
#pragma GCC unroll 2
        for (size_t k = 0; k < G; k++)
            vacc[i][k] =
                a->zero ? _mm256_setzero_ps()
                        : _mm256_loadu_ps(a->dw + i * a->dw_rs + k * 8);
    }
    const size_t ps = a->in_ps, ds = a->dout_bstride, ow = a->ow;
    for (size_t n = 0; n < a->imgs; n++) {
        for (size_t y = 0; y < a->rows; y++) {
            const float *d = a->dout + n * a->dout_is + y * a->dout_rs;
            const float *xp = a->in + n * a->in_is + y * a->in_rs;
#pragma GCC unroll 4
            for (size_t col = 0; col < ow; col++, d += 8, xp += ps) {
                __m256 vd0 = _mm256_loadu_ps(d);
                __m256 vd1 = G > 1 ? _mm256_loadu_ps(d + ds) : vd0;
#pragma GCC unroll 6
                for (size_t i = 0; i < B; i++) {
                    __m256 vx = _mm256_broadcast_ss(xp + off[i]);
                    vacc[i][0] = _mm256_fmadd_ps(vx, vd0, vacc[i][0]);
                    if (G > 1)
                        vacc[i][1] = _mm256_fmadd_ps(vx, vd1, vacc[i][1]);
                }
            }
        }
    }
#pragma GCC unroll 6
    for (size_t i = 0; i < B; i++)
#pragma GCC unroll 2
        for (size_t k = 0; k < G; k++)
            _mm256_storeu_ps(a->dw + i * a->dw_rs + k * 8, vacc[i][k]);
}

void kern_f32_conv2d_bwdw_ukernel_6x16__avx2(const kern_conv_bwdw_args *a)
{
    KERN_ASSERT(a->b >= 1 && a->b <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    KERN_CONV_TILE_CASES(a->b, a->g, bwdw_body, a)
}
