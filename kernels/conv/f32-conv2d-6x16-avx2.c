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

/* The c8 and c7 reductions in inline assembly: GCC's own allocation of
 * fwd_body spills accumulators and offsets inside the tap loop. One asm
 * statement runs the whole reduction (blocks x taps x cb channels) with the
 * accumulators fixed in ymm0-11 (pixel r, block k in ymm(2r + k)), ymm12-13
 * holding the weights of one channel and ymm14-15 the broadcasts; pixels
 * 0-2 are addressed off ip and 3-5 off ip3 = ip + 3 ps, as base + ps *
 * {0, 1, 2}, and every channel and weight offset is an immediate, so the
 * inner step is 2 + R loads and R * G FMAs with no address arithmetic. The
 * sums leave through a buffer (12 stores and loads per call, against at
 * least 72 channel steps of 6 cycles; an accumulating call's start from
 * the output through it too), which keeps the asm at two operands
 * besides its scratch registers. R and G select lines through assembler
 * .if directives (the per-tap work, 4 table loads and address steps, is
 * why the stem runs kernel rows as taps: c1 in assembly measured slower
 * than fwd_body).
 * The tap offsets are loaded one tap ahead: tap t's pointers are formed
 * from offsets loaded at the start of tap t - 1, so no table load sits
 * between a tap's start and its first broadcast (measured 4-8% faster on
 * every ResNet-34 3x3, forward and backward-data, than loading them at the
 * tap's start). Past the last tap the kernel reads entry ntaps, which the
 * driver sets to a copy of entry 0: the next block's first tap, relative
 * to the block base advanced at the block's end. */
typedef struct fwd_asm_args {
    const float *in, *w;     // block 0
    const ptrdiff_t *in_off; // (ntaps + 1) floats
    const size_t *w_off;     // (ntaps + 1) floats
    size_t ntaps, nblocks;   // both >= 1
    size_t in_bbytes, w_bbytes, ps_bytes;
    float *acc;              // (12, 8): the sums of ymm0-11
} fwd_asm_args;

_Static_assert(offsetof(fwd_asm_args, acc) == 72, "the asm's offsets");

#define FWD_ASM_PIX(R, REG, BASE, IDX, A0, A1)                              \
    ".if " #R " < .Lcv_r\n\t"                                               \
    "vbroadcastss \\c*4(" BASE IDX "), %%" REG "\n\t"                       \
    "vfmadd231ps %%" REG ", %%ymm12, %%" A0 "\n\t"                          \
    ".if .Lcv_g > 1\n\t"                                                    \
    "vfmadd231ps %%" REG ", %%ymm13, %%" A1 "\n\t"                          \
    ".endif\n\t"                                                            \
    ".endif\n\t"

#define FWD_ASM_STORE(I)                                                    \
    ".if (" #I " >> 1) < .Lcv_r && (" #I " & 1) < .Lcv_g\n\t"               \
    "vmovups %%ymm" #I ", " #I "*32(%[ip])\n\t"                             \
    ".endif\n\t"

#define FWD_ASM_LOAD(I)                                                     \
    ".if (" #I " >> 1) < .Lcv_r && (" #I " & 1) < .Lcv_g\n\t"               \
    "vmovups " #I "*32(%[ip]), %%ymm" #I "\n\t"                             \
    ".endif\n\t"

INLINE void fwd_asm(const fwd_asm_args *p, size_t R, size_t G, size_t CB,
                    size_t ACC)
{
    size_t ib, wb, nb, ps, ps3, t, ip, ip3, wp, cio, cwo;
    __asm__ volatile(
        ".set .Lcv_r, %c[K] & 15\n\t"
        ".set .Lcv_g, (%c[K] >> 4) & 15\n\t"
        ".set .Lcv_cb, (%c[K] >> 8) & 15\n\t"
        ".irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11\n\t"
        "vxorps %%xmm\\i, %%xmm\\i, %%xmm\\i\n\t"
        ".endr\n\t"
        ".if %c[K] >> 12\n\t"
        "mov 72(%[p]), %[ip]\n\t"
        FWD_ASM_LOAD(0) FWD_ASM_LOAD(1) FWD_ASM_LOAD(2)
        FWD_ASM_LOAD(3) FWD_ASM_LOAD(4) FWD_ASM_LOAD(5)
        FWD_ASM_LOAD(6) FWD_ASM_LOAD(7) FWD_ASM_LOAD(8)
        FWD_ASM_LOAD(9) FWD_ASM_LOAD(10) FWD_ASM_LOAD(11)
        ".endif\n\t"
        KERN_CONV_ASM_ENTER("")
        ".irp c, 0, 1, 2, 3, 4, 5, 6, 7\n\t"
        ".if \\c < .Lcv_cb\n\t"
        "vmovups \\c*32*.Lcv_g(%[wp]), %%ymm12\n\t"
        ".if .Lcv_g > 1\n\t"
        "vmovups \\c*64+32(%[wp]), %%ymm13\n\t"
        ".endif\n\t"
        FWD_ASM_PIX(0, "ymm14", "%[ip]", "", "ymm0", "ymm1")
        FWD_ASM_PIX(1, "ymm15", "%[ip]", ", %[ps], 1", "ymm2", "ymm3")
        FWD_ASM_PIX(2, "ymm14", "%[ip]", ", %[ps], 2", "ymm4", "ymm5")
        FWD_ASM_PIX(3, "ymm15", "%[ip3]", "", "ymm6", "ymm7")
        FWD_ASM_PIX(4, "ymm14", "%[ip3]", ", %[ps], 1", "ymm8", "ymm9")
        FWD_ASM_PIX(5, "ymm15", "%[ip3]", ", %[ps], 2", "ymm10", "ymm11")
        ".endif\n\t"
        ".endr\n\t"
        KERN_CONV_ASM_LEAVE
        FWD_ASM_STORE(0) FWD_ASM_STORE(1) FWD_ASM_STORE(2)
        FWD_ASM_STORE(3) FWD_ASM_STORE(4) FWD_ASM_STORE(5)
        FWD_ASM_STORE(6) FWD_ASM_STORE(7) FWD_ASM_STORE(8)
        FWD_ASM_STORE(9) FWD_ASM_STORE(10) FWD_ASM_STORE(11)
        : [ib] "=&r"(ib), [wb] "=&r"(wb), [nb] "=&r"(nb), [ps] "=&r"(ps),
          [ps3] "=&r"(ps3), [t] "=&r"(t), [ip] "=&r"(ip), [ip3] "=&r"(ip3),
          [wp] "=&r"(wp), [cio] "=&r"(cio), [cwo] "=&r"(cwo)
        : [p] "r"(p), [K] "i"(R | G << 4 | CB << 8 | ACC << 12)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
          "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
          "xmm15", "cc", "memory");
}

INLINE void fwd_asm_body(const kern_conv_fwd_args *a, size_t R, size_t G,
                         size_t CB)
{
    float acc[2 * KERN_CONV_MR * 8] __attribute__((aligned(32)));
    bool run = a->ntaps && a->nblocks; // else a phase no tap reaches
    /* accumulate: the sums start from out (a reduction cut into passes
     * keeps the order of one pass) */
    if (a->accumulate || !run)
#pragma GCC unroll 6
        for (size_t r = 0; r < R; r++)
#pragma GCC unroll 2
            for (size_t k = 0; k < G; k++)
                _mm256_store_ps(acc + (2 * r + k) * 8,
                                a->accumulate && a->out_off[r] >= 0
                                    ? _mm256_loadu_ps(a->out + a->out_off[r] +
                                                      k * a->out_bstride)
                                    : _mm256_setzero_ps());
    if (run) {
        fwd_asm_args p = {
            a->in, a->w, a->in_off, a->w_off, a->ntaps, a->nblocks,
            a->in_bstride * sizeof(float), a->w_bstride * sizeof(float),
            a->in_ps * sizeof(float), acc,
        };
        if (a->accumulate)
            fwd_asm(&p, R, G, CB, 1);
        else
            fwd_asm(&p, R, G, CB, 0);
    }
#pragma GCC unroll 6
    for (size_t r = 0; r < R; r++)
        if (a->out_off[r] >= 0)
#pragma GCC unroll 2
            for (size_t k = 0; k < G; k++)
                _mm256_storeu_ps(a->out + a->out_off[r] + k * a->out_bstride,
                                 _mm256_load_ps(acc + (2 * r + k) * 8));
}

void kern_f32_conv2d_ukernel_6x16__avx2(const kern_conv_fwd_args *a)
{
    KERN_ASSERT(a->r >= 1 && a->r <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    KERN_CONV_TILE_CASES(a->r, a->g, fwd_asm_body, a, 8)
}

/* The stem's kernel rows: a tap is a kernel row, its 7 "channels" the 7
 * columns (contiguous floats of one plain plane). */
void kern_f32_conv2d_c7_ukernel_6x16__avx2(const kern_conv_fwd_args *a)
{
    KERN_ASSERT(a->r >= 1 && a->r <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    KERN_CONV_TILE_CASES(a->r, a->g, fwd_asm_body, a, 7)
}

void kern_f32_conv2d_c1_ukernel_6x16__avx2(const kern_conv_fwd_args *a)
{
    KERN_ASSERT(a->r >= 1 && a->r <= KERN_CONV_MR);
    KERN_ASSERT(a->g >= 1 && a->g <= 2);
    KERN_CONV_TILE_CASES(a->r, a->g, fwd_body, a, 1, 0)
}
