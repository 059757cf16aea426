/*
 * kernels/conv/f32-conv2d-6x16-avx512.c: AVX-512 convolution microkernels
 * for the c8 forward / backward-data reduction, the stem's c7 kernel rows
 * and backward-weights (contract in conv-internal.h). The c1 kernel and the
 * one-block tiles (g = 1, 8 output channels, which ResNet-34 never runs)
 * stay on the AVX2 kernels.
 *
 * 16 channels are one zmm register. The forward tile is 6 pixels x 32
 * output channels (g = 4: two packed 16-channel groups, w_gstride apart),
 * 12 zmm accumulators fed by 2 weight loads and 6 broadcasts per input
 * channel, as the AVX2 tile is with ymm. With 16 channels (g = 2, and
 * backward-weights) six accumulators would leave the two FMA pipes waiting
 * on their own latency (2 pipes x 4 cycles want 8 independent chains), so
 * each pixel (item) has two: one for the even input channels (pixels) and
 * one for the odd, added at the end. Zen 5, one core, operands in L1, the
 * inner steps run at 248 GFLOP/s (6 x 32) and 213 GFLOP/s (6 x 16, two
 * chains a pixel), of the 252 GFLOP/s zmm FMA peak (183 with one chain per
 * pixel; the AVX2 kernel's ceiling is the 125 GFLOP/s ymm peak).
 */
#include <immintrin.h>

#include "kernels/conv/conv-internal.h"

#define INLINE static inline __attribute__((always_inline))

/* The c8 reduction, as fwd_asm in f32-conv2d-6x16-avx2.c (one asm
 * statement for blocks x taps x 8 channels, tap offsets loaded one tap
 * ahead, pixels 0-2 off ip and 3-5 off ip3, immediates). Pixel r's sums
 * are zmm(2r) and zmm(2r + 1): with g = 4 (32 channels: two 16-channel
 * weight slabs, w_gbytes apart) the two halves, with g = 2 the even and
 * the odd input channels' sums of the 16 channels, added at the end;
 * zmm12-13 hold the weights of one channel, zmm14-15 the broadcasts. */
typedef struct fwd_asm_args {
    const float *in, *w;     // block 0
    const ptrdiff_t *in_off; // (ntaps + 1) floats
    const size_t *w_off;     // (ntaps + 1) floats
    size_t ntaps, nblocks;   // both >= 1
    size_t in_bbytes, w_bbytes, ps_bytes;
    float *acc;              // (6, 8g): the sums of pixels 0-5
    size_t w_gbytes;         // g = 4: the second slab's offset
} fwd_asm_args;

_Static_assert(offsetof(fwd_asm_args, acc) == 72 &&
                   offsetof(fwd_asm_args, w_gbytes) == 80,
               "the asm's offsets");

#define FWD_ASM_PIX(R, REG, BASE, IDX, A0, A1)                              \
    ".if " #R " < .Lcz_r\n\t"                                               \
    "vbroadcastss \\c*4(" BASE IDX "), %%" REG "\n\t"                       \
    ".if .Lcz_g > 2\n\t"                                                    \
    "vfmadd231ps %%" REG ", %%zmm12, %%" A0 "\n\t"                          \
    "vfmadd231ps %%" REG ", %%zmm13, %%" A1 "\n\t"                          \
    ".elseif \\c & 1\n\t"                                                   \
    "vfmadd231ps %%" REG ", %%zmm12, %%" A1 "\n\t"                          \
    ".else\n\t"                                                             \
    "vfmadd231ps %%" REG ", %%zmm12, %%" A0 "\n\t"                          \
    ".endif\n\t"                                                            \
    ".endif\n\t"

#define FWD_ASM_STORE(R, A0, A1)                                            \
    ".if " #R " < .Lcz_r\n\t"                                               \
    ".if .Lcz_g > 2\n\t"                                                    \
    "vmovups %%" A0 ", " #R "*128(%[ip])\n\t"                               \
    "vmovups %%" A1 ", " #R "*128+64(%[ip])\n\t"                            \
    ".else\n\t"                                                             \
    "vaddps %%" A1 ", %%" A0 ", %%" A0 "\n\t"                               \
    "vmovups %%" A0 ", " #R "*64(%[ip])\n\t"                                \
    ".endif\n\t"                                                            \
    ".endif\n\t"

#define FWD_ASM_LOAD(R, A0, A1)                                             \
    ".if " #R " < .Lcz_r\n\t"                                               \
    ".if .Lcz_g > 2\n\t"                                                    \
    "vmovups " #R "*128(%[ip]), %%" A0 "\n\t"                               \
    "vmovups " #R "*128+64(%[ip]), %%" A1 "\n\t"                            \
    ".else\n\t"                                                             \
    "vmovups " #R "*64(%[ip]), %%" A0 "\n\t"                                \
    ".endif\n\t"                                                            \
    ".endif\n\t"

INLINE void fwd_asm(const fwd_asm_args *p, size_t R, size_t G, size_t CB,
                    size_t ACC)
{
    size_t ib, wb, nb, ps, ps3, t, ip, ip3, wp, cio, cwo, gs;
    __asm__ volatile(
        ".set .Lcz_r, %c[K] & 15\n\t"
        ".set .Lcz_g, (%c[K] >> 4) & 15\n\t"
        ".set .Lcz_cb, (%c[K] >> 8) & 15\n\t"
        ".irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11\n\t"
        "vpxord %%zmm\\i, %%zmm\\i, %%zmm\\i\n\t"
        ".endr\n\t"
        ".if %c[K] >> 12\n\t"
        "mov 72(%[p]), %[ip]\n\t"
        FWD_ASM_LOAD(0, "zmm0", "zmm1") FWD_ASM_LOAD(1, "zmm2", "zmm3")
        FWD_ASM_LOAD(2, "zmm4", "zmm5") FWD_ASM_LOAD(3, "zmm6", "zmm7")
        FWD_ASM_LOAD(4, "zmm8", "zmm9") FWD_ASM_LOAD(5, "zmm10", "zmm11")
        ".endif\n\t"
        KERN_CONV_ASM_ENTER("mov 80(%[p]), %[gs]\n\t")
        ".irp c, 0, 1, 2, 3, 4, 5, 6, 7\n\t"
        ".if \\c < .Lcz_cb\n\t"
        "vmovups \\c*64(%[wp]), %%zmm12\n\t"
        ".if .Lcz_g > 2\n\t"
        "vmovups \\c*64(%[wp], %[gs], 1), %%zmm13\n\t"
        ".endif\n\t"
        FWD_ASM_PIX(0, "zmm14", "%[ip]", "", "zmm0", "zmm1")
        FWD_ASM_PIX(1, "zmm15", "%[ip]", ", %[ps], 1", "zmm2", "zmm3")
        FWD_ASM_PIX(2, "zmm14", "%[ip]", ", %[ps], 2", "zmm4", "zmm5")
        FWD_ASM_PIX(3, "zmm15", "%[ip3]", "", "zmm6", "zmm7")
        FWD_ASM_PIX(4, "zmm14", "%[ip3]", ", %[ps], 1", "zmm8", "zmm9")
        FWD_ASM_PIX(5, "zmm15", "%[ip3]", ", %[ps], 2", "zmm10", "zmm11")
        ".endif\n\t"
        ".endr\n\t"
        KERN_CONV_ASM_LEAVE
        FWD_ASM_STORE(0, "zmm0", "zmm1") FWD_ASM_STORE(1, "zmm2", "zmm3")
        FWD_ASM_STORE(2, "zmm4", "zmm5") FWD_ASM_STORE(3, "zmm6", "zmm7")
        FWD_ASM_STORE(4, "zmm8", "zmm9") FWD_ASM_STORE(5, "zmm10", "zmm11")
        "vzeroupper\n\t"
        : [ib] "=&r"(ib), [wb] "=&r"(wb), [nb] "=&r"(nb), [ps] "=&r"(ps),
          [ps3] "=&r"(ps3), [t] "=&r"(t), [ip] "=&r"(ip), [ip3] "=&r"(ip3),
          [wp] "=&r"(wp), [cio] "=&r"(cio), [cwo] "=&r"(cwo), [gs] "=&r"(gs)
        : [p] "r"(p), [K] "i"(R | G << 4 | CB << 8 | ACC << 12)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
          "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
          "xmm15", "cc", "memory");
}

INLINE void fwd_asm_body(const kern_conv_fwd_args *a, size_t R, size_t G,
                         size_t CB)
{
    float acc[KERN_CONV_MR * 32] __attribute__((aligned(64)));
    fwd_asm_args p = {
        a->in, a->w, a->in_off, a->w_off, a->ntaps, a->nblocks,
        a->in_bstride * sizeof(float), a->w_bstride * sizeof(float),
        a->in_ps * sizeof(float), acc, a->w_gstride * sizeof(float),
    };
    /* accumulate: the sums start from out (a reduction cut into passes
     * keeps the order of one pass; with g = 2, in the even-channel sum) */
    if (a->accumulate) {
#pragma GCC unroll 6
        for (size_t r = 0; r < R; r++)
#pragma GCC unroll 4
            for (size_t k = 0; k < G; k++)
                _mm256_store_ps(acc + (G * r + k) * 8,
                                a->out_off[r] >= 0
                                    ? _mm256_loadu_ps(a->out + a->out_off[r] +
                                                      k * a->out_bstride)
                                    : _mm256_setzero_ps());
        fwd_asm(&p, R, G, CB, 1);
    } else {
        fwd_asm(&p, R, G, CB, 0);
    }
#pragma GCC unroll 6
    for (size_t r = 0; r < R; r++)
        if (a->out_off[r] >= 0)
#pragma GCC unroll 4
            for (size_t k = 0; k < G; k++)
                _mm256_storeu_ps(a->out + a->out_off[r] + k * a->out_bstride,
                                 _mm256_load_ps(acc + (G * r + k) * 8));
}

#define FWD_R_CASES(a, G, CB)                                               \
    switch ((a)->r) {                                                       \
    case 1: fwd_asm_body(a, 1, G, CB); break;                               \
    case 2: fwd_asm_body(a, 2, G, CB); break;                               \
    case 3: fwd_asm_body(a, 3, G, CB); break;                               \
    case 4: fwd_asm_body(a, 4, G, CB); break;                               \
    case 5: fwd_asm_body(a, 5, G, CB); break;                               \
    default: fwd_asm_body(a, 6, G, CB); break;                              \
    }

/* CB channels per block: 8 (NCHW8c), or 7 (the stem's kernel rows). */
INLINE void fwd_c(const kern_conv_fwd_args *a, size_t CB)
{
    KERN_ASSERT(a->r >= 1 && a->r <= KERN_CONV_MR);
    KERN_ASSERT(a->g == 1 || a->g == 2 || a->g == 4);
    if (!a->ntaps || !a->nblocks) { // nothing reaches these pixels
        for (size_t r = 0; r < a->r; r++)
            for (size_t k = 0; k < a->g && !a->accumulate; k++)
                if (a->out_off[r] >= 0)
                    _mm256_storeu_ps(a->out + a->out_off[r] +
                                         k * a->out_bstride,
                                     _mm256_setzero_ps());
    } else if (a->g == 1 && CB == 8)
        kern_f32_conv2d_ukernel_6x16__avx2(a);
    else if (a->g == 1)
        kern_f32_conv2d_c7_ukernel_6x16__avx2(a);
    else if (a->g == 2)
        FWD_R_CASES(a, 2, CB)
    else
        FWD_R_CASES(a, 4, CB)
}

void kern_f32_conv2d_ukernel_6x16__avx512(const kern_conv_fwd_args *a)
{
    fwd_c(a, 8);
}

/* The stem's kernel rows: a tap is a kernel row, its 7 "channels" the 7
 * columns of one plain plane (the c7 kernel of f32-conv2d-6x16-avx2.c). */
void kern_f32_conv2d_c7_ukernel_6x16__avx512(const kern_conv_fwd_args *a)
{
    fwd_c(a, 7);
}

/* Backward-weights. G = 2 (16 dout channels): pixels two at a time, each
 * pixel's two 8-channel dout blocks joined into one zmm, and one broadcast
 * per item and pixel feeds the item's even-pixel or odd-pixel sum. G = 4
 * (32 channels): per pixel two such zmm and one broadcast per item feed
 * the item's two halves. */
INLINE __m512 dout16(const float *d, size_t ds)
{
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(d)),
                              _mm256_loadu_ps(d + ds), 1);
}

INLINE void bwdw_body(const kern_conv_bwdw_args *a, size_t B, size_t G)
{
    __m512 v0[KERN_CONV_MR], v1[KERN_CONV_MR];
    ptrdiff_t off[KERN_CONV_MR];
#pragma GCC unroll 6
    for (size_t i = 0; i < B; i++) {
        off[i] = a->in_off[i];
        v0[i] = a->zero ? _mm512_setzero_ps()
                        : _mm512_loadu_ps(a->dw + i * a->dw_rs);
        v1[i] = G > 2 && !a->zero
                    ? _mm512_loadu_ps(a->dw + a->dw_gstride + i * a->dw_rs)
                    : _mm512_setzero_ps();
    }
    const size_t ps = a->in_ps, ds = a->dout_bstride, ow = a->ow;
    for (size_t n = 0; n < a->imgs; n++) {
        for (size_t y = 0; y < a->rows; y++) {
            const float *d = a->dout + n * a->dout_is + y * a->dout_rs;
            const float *xp = a->in + n * a->in_is + y * a->in_rs;
            size_t col = 0;
            if (G > 2) {
#pragma GCC unroll 2
                for (; col < ow; col++, d += 8, xp += ps) {
                    __m512 d0 = dout16(d, ds), d1 = dout16(d + 2 * ds, ds);
#pragma GCC unroll 6
                    for (size_t i = 0; i < B; i++) {
                        __m512 x = _mm512_set1_ps(xp[off[i]]);
                        v0[i] = _mm512_fmadd_ps(x, d0, v0[i]);
                        v1[i] = _mm512_fmadd_ps(x, d1, v1[i]);
                    }
                }
                continue;
            }
#pragma GCC unroll 2
            for (; col + 2 <= ow; col += 2, d += 16, xp += 2 * ps) {
                __m512 d0 = dout16(d, ds), d1 = dout16(d + 8, ds);
#pragma GCC unroll 6
                for (size_t i = 0; i < B; i++) {
                    v0[i] = _mm512_fmadd_ps(_mm512_set1_ps(xp[off[i]]), d0,
                                            v0[i]);
                    v1[i] = _mm512_fmadd_ps(_mm512_set1_ps(xp[ps + off[i]]),
                                            d1, v1[i]);
                }
            }
            if (col < ow) {
                __m512 d0 = dout16(d, ds);
#pragma GCC unroll 6
                for (size_t i = 0; i < B; i++)
                    v0[i] = _mm512_fmadd_ps(_mm512_set1_ps(xp[off[i]]), d0,
                                            v0[i]);
            }
        }
    }
#pragma GCC unroll 6
    for (size_t i = 0; i < B; i++) {
        if (G > 2) {
            _mm512_storeu_ps(a->dw + i * a->dw_rs, v0[i]);
            _mm512_storeu_ps(a->dw + a->dw_gstride + i * a->dw_rs, v1[i]);
        } else {
            _mm512_storeu_ps(a->dw + i * a->dw_rs, _mm512_add_ps(v0[i], v1[i]));
        }
    }
}

#define BWDW_B_CASES(a, G)                                                  \
    switch ((a)->b) {                                                       \
    case 1: bwdw_body(a, 1, G); break;                                      \
    case 2: bwdw_body(a, 2, G); break;                                      \
    case 3: bwdw_body(a, 3, G); break;                                      \
    case 4: bwdw_body(a, 4, G); break;                                      \
    case 5: bwdw_body(a, 5, G); break;                                      \
    default: bwdw_body(a, 6, G); break;                                     \
    }

void kern_f32_conv2d_bwdw_ukernel_6x16__avx512(const kern_conv_bwdw_args *a)
{
    KERN_ASSERT(a->b >= 1 && a->b <= KERN_CONV_MR);
    KERN_ASSERT(a->g == 1 || a->g == 2 || a->g == 4);
    if (a->g == 1)
        kern_f32_conv2d_bwdw_ukernel_6x16__avx2(a);
    else if (a->g == 2)
        BWDW_B_CASES(a, 2)
    else
        BWDW_B_CASES(a, 4)
}
