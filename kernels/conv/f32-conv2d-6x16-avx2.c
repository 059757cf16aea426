/*
 * kernels/conv/f32-conv2d-6x16-avx2.c: AVX2+FMA convolution microkernels
 * (contract in conv-internal.h).
 *
 * Forward: up to 6 pixels x 2 blocks of 8 output channels = 12 ymm
 * accumulators; per input channel and tap, 2 weight loads (one contiguous
 * 64-byte line) and one broadcast per pixel feed 2 FMAs each (the oneDNN
 * jit:avx2 direct-convolution scheme on NCHW8c). Backward-weights: up to 6
 * input values (channel x tap) x 2 blocks of dout channels, reduced over
 * the pixels of a row chunk. r, b and g are specialised through an
 * always-inline body with constant arguments; the loops over them unroll.
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

/* The c8 reduction of one input block in inline assembly: GCC's own
 * allocation of fwd_body spills accumulators and offsets inside the tap
 * loop. The 12 accumulators stay in ymm0-11 (the "+x" operands; ymm12-15
 * are clobbered, so they cannot land there), ymm12-13 hold the weights of
 * one channel, ymm14-15 the broadcasts. The pixel step is a compile-time
 * constant (stride 1 or 2), so every weight and input offset in the tap is
 * an immediate: the inner step is 2 + R loads and R * G FMAs with no address
 * arithmetic. R, G and the step travel as one immediate (GCC allows 30
 * operands and the accumulators take 24) and select lines through
 * assembler .if directives. */
#define FWD_ASM_PIX(R, REG, A0, A1)                                         \
    ".if " #R " < .Lcv_r\n\t"                                               \
    "vbroadcastss \\c*4+" #R "*.Lcv_ps(%[ip]), %%" REG "\n\t"               \
    "vfmadd231ps %%" REG ", %%ymm12, %[" A0 "]\n\t"                         \
    ".if .Lcv_g > 1\n\t"                                                    \
    "vfmadd231ps %%" REG ", %%ymm13, %[" A1 "]\n\t"                         \
    ".endif\n\t"                                                            \
    ".endif\n\t"

typedef struct fwd_asm_args {
    const float *ib, *wb;      // this block's input and weights
    const ptrdiff_t *in_off;   // (ntaps)
    const size_t *w_off;       // (ntaps)
    const ptrdiff_t *ioff_end; // in_off + ntaps
} fwd_asm_args;

INLINE void fwd_c8_block(__m256 vacc[KERN_CONV_MR][2], const fwd_asm_args *p,
                         size_t R, size_t G, size_t PS)
{
    size_t pio, pwo, ip, wp;
    __asm__ volatile(
        ".set .Lcv_r, %c[K] & 15\n\t"
        ".set .Lcv_g, (%c[K] >> 4) & 15\n\t"
        ".set .Lcv_ps, %c[K] >> 8\n\t"
        "mov 16(%[p]), %[pio]\n\t"
        "mov 24(%[p]), %[pwo]\n\t"
        "1:\n\t"
        "mov (%[pio]), %[ip]\n\t"
        "shl $2, %[ip]\n\t"
        "add 0(%[p]), %[ip]\n\t"
        "mov (%[pwo]), %[wp]\n\t"
        "shl $2, %[wp]\n\t"
        "add 8(%[p]), %[wp]\n\t"
        ".irp c, 0, 1, 2, 3, 4, 5, 6, 7\n\t"
        "vmovups \\c*32*.Lcv_g(%[wp]), %%ymm12\n\t"
        ".if .Lcv_g > 1\n\t"
        "vmovups \\c*64+32(%[wp]), %%ymm13\n\t"
        ".endif\n\t"
        FWD_ASM_PIX(0, "ymm14", "a00", "a01")
        FWD_ASM_PIX(1, "ymm15", "a10", "a11")
        FWD_ASM_PIX(2, "ymm14", "a20", "a21")
        FWD_ASM_PIX(3, "ymm15", "a30", "a31")
        FWD_ASM_PIX(4, "ymm14", "a40", "a41")
        FWD_ASM_PIX(5, "ymm15", "a50", "a51")
        ".endr\n\t"
        "add $8, %[pio]\n\t"
        "add $8, %[pwo]\n\t"
        "cmp 32(%[p]), %[pio]\n\t"
        "jb 1b\n\t"
        : [a00] "+x"(vacc[0][0]), [a01] "+x"(vacc[0][1]),
          [a10] "+x"(vacc[1][0]), [a11] "+x"(vacc[1][1]),
          [a20] "+x"(vacc[2][0]), [a21] "+x"(vacc[2][1]),
          [a30] "+x"(vacc[3][0]), [a31] "+x"(vacc[3][1]),
          [a40] "+x"(vacc[4][0]), [a41] "+x"(vacc[4][1]),
          [a50] "+x"(vacc[5][0]), [a51] "+x"(vacc[5][1]),
          [pio] "=&r"(pio), [pwo] "=&r"(pwo), [ip] "=&r"(ip), [wp] "=&r"(wp)
        : [p] "r"(p), [K] "i"(R | G << 4 | PS * sizeof(float) << 8)
        : "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
}

INLINE void fwd_c8_body(const kern_conv_fwd_args *a, size_t R, size_t G,
                        size_t PS)
{
    __m256 vacc[KERN_CONV_MR][2];
#pragma GCC unroll 6
    for (size_t r = 0; r < KERN_CONV_MR; r++)
#pragma GCC unroll 2
        for (size_t k = 0; k < 2; k++)
            vacc[r][k] = r < R && k < G && a->accumulate && a->out_off[r] >= 0
                ? _mm256_loadu_ps(a->out + a->out_off[r] + k * a->out_bstride)
                : _mm256_setzero_ps();
    fwd_asm_args p = {a->in, a->w, a->in_off, a->w_off, a->in_off + a->ntaps};
    /* a phase no tap reaches (backward-data) has ntaps = 0: the assembly
     * loop runs its body at least once */
    for (size_t b = 0; b < (a->ntaps ? a->nblocks : 0); b++) {
        fwd_c8_block(vacc, &p, R, G, PS);
        p.ib += a->in_bstride;
        p.wb += a->w_bstride;
    }
#pragma GCC unroll 6
    for (size_t r = 0; r < R; r++)
        if (a->out_off[r] >= 0)
#pragma GCC unroll 2
            for (size_t k = 0; k < G; k++)
                _mm256_storeu_ps(a->out + a->out_off[r] + k * a->out_bstride,
                                 vacc[r][k]);
}

#define FWD_CASES(BODY, ...)                                           \
    switch (a->r * 2 + a->g - 1) {                                     \
    case 2: BODY(a, 1, 1, ##__VA_ARGS__); break;                       \
    case 3: BODY(a, 1, 2, ##__VA_ARGS__); break;                       \
    case 4: BODY(a, 2, 1, ##__VA_ARGS__); break;                       \
    case 5: BODY(a, 2, 2, ##__VA_ARGS__); break;                       \
    case 6: BODY(a, 3, 1, ##__VA_ARGS__); break;                       \
    case 7: BODY(a, 3, 2, ##__VA_ARGS__); break;                       \
    case 8: BODY(a, 4, 1, ##__VA_ARGS__); break;                       \
    case 9: BODY(a, 4, 2, ##__VA_ARGS__); break;                       \
    case 10: BODY(a, 5, 1, ##__VA_ARGS__); break;                      \
    case 11: BODY(a, 5, 2, ##__VA_ARGS__); break;                      \
    case 12: BODY(a, 6, 1, ##__VA_ARGS__); break;                      \
    case 13: BODY(a, 6, 2, ##__VA_ARGS__); break;                      \
    default: KERN_ASSERT(false);                                       \
    }

void kern_f32_conv2d_ukernel_6x16__avx2(const kern_conv_fwd_args *a)
{
    KERN_ASSERT(a->r >= 1 && a->r <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    if (a->in_ps == 8) {
        FWD_CASES(fwd_c8_body, 8)
    } else if (a->in_ps == 16) {
        FWD_CASES(fwd_c8_body, 16)
    } else {
        FWD_CASES(fwd_body, 8, 0)
    }
}

void kern_f32_conv2d_c1_ukernel_6x16__avx2(const kern_conv_fwd_args *a)
{
    KERN_ASSERT(a->r >= 1 && a->r <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    FWD_CASES(fwd_body, 1, 0)
}

INLINE void bwdw_body(const kern_conv_bwdw_args *a, size_t B, size_t G)
{
    __m256 vacc[KERN_CONV_MR][2];
    ptrdiff_t off[KERN_CONV_MR];
    const size_t gw = G * 8;
#pragma GCC unroll 6
    for (size_t i = 0; i < B; i++) {
        off[i] = a->in_off[i];
#pragma GCC unroll 2
        for (size_t k = 0; k < G; k++)
            vacc[i][k] = _mm256_loadu_ps(a->dw + i * gw + k * 8);
    }
    const size_t ps = a->in_ps, ds = a->dout_bstride;
    for (size_t y = 0; y < a->rows; y++) {
        const float *d = a->dout + y * a->ow * 8;
        const float *x = a->in + y * a->in_rs;
        for (size_t col = 0; col < a->ow; col++) {
            __m256 vd0 = _mm256_loadu_ps(d + col * 8);
            __m256 vd1 = G > 1 ? _mm256_loadu_ps(d + col * 8 + ds) : vd0;
            const float *xp = x + col * ps;
#pragma GCC unroll 6
            for (size_t i = 0; i < B; i++) {
                __m256 vx = _mm256_broadcast_ss(xp + off[i]);
                vacc[i][0] = _mm256_fmadd_ps(vx, vd0, vacc[i][0]);
                if (G > 1)
                    vacc[i][1] = _mm256_fmadd_ps(vx, vd1, vacc[i][1]);
            }
        }
    }
#pragma GCC unroll 6
    for (size_t i = 0; i < B; i++)
#pragma GCC unroll 2
        for (size_t k = 0; k < G; k++)
            _mm256_storeu_ps(a->dw + i * gw + k * 8, vacc[i][k]);
}

void kern_f32_conv2d_bwdw_ukernel_6x16__avx2(const kern_conv_bwdw_args *a)
{
    KERN_ASSERT(a->b >= 1 && a->b <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    switch (a->b * 2 + a->g - 1) {
    case 2: bwdw_body(a, 1, 1); break;
    case 3: bwdw_body(a, 1, 2); break;
    case 4: bwdw_body(a, 2, 1); break;
    case 5: bwdw_body(a, 2, 2); break;
    case 6: bwdw_body(a, 3, 1); break;
    case 7: bwdw_body(a, 3, 2); break;
    case 8: bwdw_body(a, 4, 1); break;
    case 9: bwdw_body(a, 4, 2); break;
    case 10: bwdw_body(a, 5, 1); break;
    case 11: bwdw_body(a, 5, 2); break;
    case 12: bwdw_body(a, 6, 1); break;
    case 13: bwdw_body(a, 6, 2); break;
    default: KERN_ASSERT(false);
    }
}
