/*
 * kernels/conv/f32-conv2d-6x16-neon.c: AArch64 NEON convolution microkernels
 * (contract in conv-internal.h). The AVX2 scheme with each 8-channel block
 * held as two float32x4 registers: up to 6 pixels x 16 channels = 24
 * accumulators of the 32 vector registers; per input channel and tap, 4
 * weight loads and one scalar load per pixel feeding lane-broadcast FMAs.
 * The channel loop stays rolled: unrolled by 8, gcc 12 ran out of registers
 * and spilled (342 instructions and 23 stack accesses per 192 FMAs on the
 * full tile); rolled, 36 per 24 FMAs and none (objdump; NEON speed cannot
 * be measured on this project's machine).
 */
#include <arm_neon.h>

#include "kernels/conv/conv-internal.h"

#define INLINE static inline __attribute__((always_inline))

INLINE void fwd_body(const kern_conv_fwd_args *a, size_t R, size_t G,
                     size_t CB)
{
    float32x4_t vacc[KERN_CONV_MR][4];
    const size_t gw = G * 8, nv = G * 2;
#pragma GCC unroll 6
    for (size_t r = 0; r < R; r++)
#pragma GCC unroll 4
        for (size_t v = 0; v < nv; v++)
            vacc[r][v] = a->accumulate && a->out_off[r] >= 0
                ? vld1q_f32(a->out + a->out_off[r] + (v / 2) * a->out_bstride +
                            (v % 2) * 4)
                : vdupq_n_f32(0.0f);
    const size_t ps = a->in_ps;
    for (size_t b = 0; b < a->nblocks; b++) {
        const float *ib = a->in + b * a->in_bstride;
        const float *wb = a->w + b * a->w_bstride;
        for (size_t t = 0; t < a->ntaps; t++) {
            const float *ip = ib + a->in_off[t];
            const float *wp = wb + a->w_off[t];
#pragma GCC unroll 1
            for (size_t c = 0; c < CB; c++) {
                float32x4_t vw[4];
#pragma GCC unroll 4
                for (size_t v = 0; v < nv; v++)
                    vw[v] = vld1q_f32(wp + c * gw + v * 4);
#pragma GCC unroll 6
                for (size_t r = 0; r < R; r++) {
                    float x = ip[r * ps + c];
#pragma GCC unroll 4
                    for (size_t v = 0; v < nv; v++)
                        vacc[r][v] = vfmaq_n_f32(vacc[r][v], vw[v], x);
                }
            }
        }
    }
#pragma GCC unroll 6
    for (size_t r = 0; r < R; r++)
        if (a->out_off[r] >= 0)
#pragma GCC unroll 4
            for (size_t v = 0; v < nv; v++)
                vst1q_f32(a->out + a->out_off[r] + (v / 2) * a->out_bstride +
                              (v % 2) * 4,
                          vacc[r][v]);
}

void kern_f32_conv2d_ukernel_6x16__neon(const kern_conv_fwd_args *a)
{
    KERN_ASSERT(a->r >= 1 && a->r <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    KERN_CONV_TILE_CASES(a->r, a->g, fwd_body, a, 8)
}

void kern_f32_conv2d_c1_ukernel_6x16__neon(const kern_conv_fwd_args *a)
{
    KERN_ASSERT(a->r >= 1 && a->r <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    KERN_CONV_TILE_CASES(a->r, a->g, fwd_body, a, 1)
}

void kern_f32_conv2d_c7_ukernel_6x16__neon(const kern_conv_fwd_args *a)
{
    KERN_ASSERT(a->r >= 1 && a->r <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    KERN_CONV_TILE_CASES(a->r, a->g, fwd_body, a, 7)
}

INLINE void bwdw_body(const kern_conv_bwdw_args *a, size_t B, size_t G)
{
    float32x4_t vacc[KERN_CONV_MR][4];
    ptrdiff_t off[KERN_CONV_MR];
    const size_t nv = G * 2;
#pragma GCC unroll 6
    for (size_t i = 0; i < B; i++) {
        off[i] = a->in_off[i];
#pragma GCC unroll 4
        for (size_t v = 0; v < nv; v++)
            vacc[i][v] = a->zero ? vdupq_n_f32(0.0f)
                                 : vld1q_f32(a->dw + i * a->dw_rs + v * 4);
    }
    const size_t ps = a->in_ps, ds = a->dout_bstride;
    for (size_t n = 0; n < a->imgs; n++) {
        for (size_t y = 0; y < a->rows; y++) {
            const float *d = a->dout + n * a->dout_is + y * a->dout_rs;
            const float *x = a->in + n * a->in_is + y * a->in_rs;
            for (size_t col = 0; col < a->ow; col++) {
                float32x4_t vd[4];
#pragma GCC unroll 4
                for (size_t v = 0; v < nv; v++)
                    vd[v] = vld1q_f32(d + col * 8 + (v / 2) * ds + (v % 2) * 4);
                const float *xp = x + col * ps;
#pragma GCC unroll 6
                for (size_t i = 0; i < B; i++) {
                    float xv = xp[off[i]];
#pragma GCC unroll 4
                    for (size_t v = 0; v < nv; v++)
                        vacc[i][v] = vfmaq_n_f32(vacc[i][v], vd[v], xv);
                }
            }
        }
    }
#pragma GCC unroll 6
    for (size_t i = 0; i < B; i++)
#pragma GCC unroll 4
        for (size_t v = 0; v < nv; v++)
            vst1q_f32(a->dw + i * a->dw_rs + v * 4, vacc[i][v]);
}

void kern_f32_conv2d_bwdw_ukernel_6x16__neon(const kern_conv_bwdw_args *a)
{
    KERN_ASSERT(a->b >= 1 && a->b <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    KERN_CONV_TILE_CASES(a->b, a->g, bwdw_body, a)
}
