/*
 * kernels/conv/f32-conv2d-6x16-avx2.c: AVX2+FMA convolution microkernels
 * (contract in conv-internal.h).
 *
 * Forward: up to 6 pixels x 2 blocks of 8 output channels = 12 ymm
 * accumulators; per input channel and tap, 2 weight loads (one contiguous
 * 64-byte line) and one broadcast per pixel feed 2 FMAs each (the oneDNN
 * jit:avx2 direct-convolution scheme on NCHW8c). r and g are specialised
 * through an always-inline body with constant arguments; the loops over
 * them unroll. (Backward-weights: f32-conv2d-bwdw-avx2.c.)
 */
#include <immintrin.h>

#include "kernels/conv/conv-internal.h"

#define INLINE static inline __attribute__((always_inline))

/* PS: the input pixel step when it is known at compile time (8 or 16 floats:
 * stride 1 or 2 on NCHW8c), so every broadcast is one addressing mode off
 * one pointer; 0: read it from the arguments. */
INLINE void fwd_body(const kern_conv_fwd_args *a, size_t R, size_t G,
                     size_t CB, size_t PS)
{
    __m256 vacc[KERN_CONV_MR][2];
    const size_t gw = G * 8;
#pragma GCC unroll 6
    for (size_t r = 0; r < R; r++)
#pragma GCC unroll 2
        for (size_t k = 0; k < G; k++)
            vacc[r][k] = a->accumulate && a->out_off[r] >= 0
                ? _mm256_loadu_ps(a->out + a->out_off[r] + k * a->out_bstride)
                : _mm256_setzero_ps();
    const size_t ps = PS ? PS : a->in_ps;
    for (size_t b = 0; b < a->nblocks; b++) {
        const float *ib = a->in + b * a->in_bstride;
        const float *wb = a->w + b * a->w_bstride;
        for (size_t t = 0; t < a->ntaps; t++) {
            const float *ip = ib + a->in_off[t];
            const float *wp = wb + a->w_off[t];
#pragma GCC unroll 8
            for (size_t c = 0; c < CB; c++) {
                __m256 vw0 = _mm256_loadu_ps(wp + c * gw);
                __m256 vw1 = G > 1 ? _mm256_loadu_ps(wp + c * gw + 8) : vw0;
#pragma GCC unroll 6
                for (size_t r = 0; r < R; r++) {
                    __m256 vx = _mm256_broadcast_ss(ip + r * ps + c);
                    vacc[r][0] = _mm256_fmadd_ps(vx, vw0, vacc[r][0]);
                    if (G > 1)
                        vacc[r][1] = _mm256_fmadd_ps(vx, vw1, vacc[r][1]);
                }
            }
        }
    }
#pragma GCC unroll 6
    for (size_t r = 0; r < R; r++)
        if (a->out_off[r] >= 0)
#pragma GCC unroll 2
            for (size_t k = 0; k < G; k++)
                _mm256_storeu_ps(a->out + a->out_off[r] + k * a->out_bstride,
                                 vacc[r][k]);
}

#define FWD_CASES(CB, PS)                                              \
    switch (a->r * 2 + a->g - 1) {                                     \
    case 2: fwd_body(a, 1, 1, CB, PS); break;                          \
    case 3: fwd_body(a, 1, 2, CB, PS); break;                          \
    case 4: fwd_body(a, 2, 1, CB, PS); break;                          \
    case 5: fwd_body(a, 2, 2, CB, PS); break;                          \
    case 6: fwd_body(a, 3, 1, CB, PS); break;                          \
    case 7: fwd_body(a, 3, 2, CB, PS); break;                          \
    case 8: fwd_body(a, 4, 1, CB, PS); break;                          \
    case 9: fwd_body(a, 4, 2, CB, PS); break;                          \
    case 10: fwd_body(a, 5, 1, CB, PS); break;                         \
    case 11: fwd_body(a, 5, 2, CB, PS); break;                         \
    case 12: fwd_body(a, 6, 1, CB, PS); break;                         \
    case 13: fwd_body(a, 6, 2, CB, PS); break;                         \
    default: KERN_ASSERT(false);                                       \
    }

void kern_f32_conv2d_ukernel_6x16__avx2(const kern_conv_fwd_args *a)
{
    KERN_ASSERT(a->r >= 1 && a->r <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    if (a->in_ps == 8) {
        FWD_CASES(8, 8)
    } else if (a->in_ps == 16) {
        FWD_CASES(8, 16)
    } else {
        FWD_CASES(8, 0)
    }
}

void kern_f32_conv2d_c1_ukernel_6x16__avx2(const kern_conv_fwd_args *a)
{
    KERN_ASSERT(a->r >= 1 && a->r <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    FWD_CASES(1, 0)
}
