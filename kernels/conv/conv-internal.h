/*
 * kernels/conv/conv-internal.h: the convolution microkernel contract, shared
 * by the portable drivers (conv-driver.c) and the per-ISA microkernels.
 *
 * Forward microkernel ("fwd"): r (1..6) output pixels x g (1..2, or 4 where
 * the table's max_g says so) blocks of 8 output channels, held in
 * registers for the whole reduction over nblocks
 * input blocks x ntaps taps x cb channels per block (cb = 8 for NCHW8c
 * input: the c8 kernel; cb = 1 for plain planes: the c1 kernel; cb = 7 for
 * the 7x7 stem on plain planes, a tap being a kernel row and its 7
 * "channels" the row's 7 columns: the c7 kernel). Pixel p's
 * input value for block b, tap t, channel c is
 *     in[b * in_bstride + in_off[t] + p * in_ps + c],
 * its weights (8 g lanes) are
 *     w[b * w_bstride + w_off[t] + c * 8g + lane],
 * except with g = 4, read from two 16-channel slabs laid out as for g = 2:
 *     w[(lane / 16) * w_gstride + b * w_bstride + w_off[t] + c * 16
 *       + lane % 16],
 * and its output (block k, lane l) is out[out_off[p] + k * out_bstride + l],
 * with in_off[ntaps] = in_off[0] and w_off[ntaps] = w_off[0] (a wrap-around
 * entry: the AVX2 kernel loads each tap's offsets one tap ahead),
 * overwritten, or, when accumulate, added to with the sums starting from
 * out (a reduction cut into passes sums in the order of one pass, except
 * across the even/odd chains of an AVX-512 g = 2 tile); a pixel with
 * out_off[p] < 0 is computed and dropped (the driver runs a tile across
 * the end of a row, so tiles stay 5-6 pixels wide on small images). The
 * input is zero-padded by the driver, or read in place with only the taps
 * that stay inside (offsets may be negative), so the kernel has no edge
 * cases besides r and g.
 * Backward-data runs through the same kernel (dout as input, the
 * transposed packing as weights, one driver pass per stride phase).
 *
 * Backward-weights microkernel ("bwdw"): b (1..6) input values (items:
 * channel x tap) x g (1..2, or 4 where max_g says so) blocks of 8 output
 * channels, reduced over imgs x rows x ow output pixels, in that order:
 *     dw[i * dw_rs + k * 8 + l] +=
 *         sum_{n, y, x} in[n * in_is + y * in_rs + x * in_ps + in_off[i]]
 *                       * dout[n * dout_is + y * dout_rs + x * 8
 *                              + k * dout_bstride + l]
 * (= instead of += when zero is set)
 * (with g = 4, blocks 2 and 3 go to dw + dw_gstride as blocks 0 and 1)
 * A "row" is any run of ow pixels that is contiguous in dout and evenly
 * spaced in the input: one output row, a run across rows of a flattened
 * plane, or a whole image (then in_rs and dout_rs step from image to
 * image); imgs (>= 1) repeats the rows over images in_is and dout_is
 * apart, the accumulators staying in registers. The 1x1 strided path
 * calls it with the roles swapped: "in" is dout (items are output
 * channels), "dout" the gathered input (16 input channels), and dw the
 * OIHW gradient itself (dw_rs = ic).
 */
#ifndef RESIN_KERNELS_CONV_INTERNAL_H
#define RESIN_KERNELS_CONV_INTERNAL_H

#include <stddef.h>

#include "kernels/conv.h"

#define KERN_CONV_MR 6  /* pixels (fwd) or items (bwdw) per microkernel call */
#define KERN_CONV_MAX_TAPS 64

typedef struct kern_conv_fwd_args {
    const float *in;         // padded input at pixel 0, block 0
    const float *w;          // packed weights of this group, block 0
    float *out;              // output pixel 0, output block 0
    const ptrdiff_t *in_off; // (ntaps + 1) floats from in (see above)
    const size_t *w_off;     // (ntaps + 1) floats from w
    size_t ntaps, nblocks;
    size_t in_bstride, w_bstride;
    const ptrdiff_t *out_off; // (r) floats from out, < 0: drop the pixel
    size_t in_ps, out_bstride;
    size_t r, g;
    bool accumulate;
    size_t w_gstride; // g = 4: floats from the first slab to the second
} kern_conv_fwd_args;

typedef struct kern_conv_bwdw_args {
    const float *dout;       // (rows, ow, 8) per block, block 0
    const float *in;         // padded input at output pixel (0, 0)
    const ptrdiff_t *in_off; // (b) floats from in
    float *dw;               // (b, 8g) accumulators, rows dw_rs floats apart
    size_t dout_bstride;
    size_t rows, ow, in_rs, in_ps, dout_rs;
    size_t b, g, dw_rs;
    size_t dw_gstride; // g = 4: floats from dw to blocks 2 and 3
    size_t imgs, in_is, dout_is; // imgs >= 1 images of rows, these apart
    bool zero; // start from zero: dw is only written
} kern_conv_bwdw_args;

/* Calls BODY(a, N, G, ...) with the tile's n (1..6: a->r or a->b) and g
 * (1..2) as constants, so each of the 12 tile shapes is its own unrolled
 * copy with the accumulators in registers. */
#define KERN_CONV_TILE_CASES(n, g, BODY, a, ...)                        \
    switch ((n) * 2 + (g) - 1) {                                        \
    case 2: BODY(a, 1, 1, ##__VA_ARGS__); break;                        \
    case 3: BODY(a, 1, 2, ##__VA_ARGS__); break;                        \
    case 4: BODY(a, 2, 1, ##__VA_ARGS__); break;                        \
    case 5: BODY(a, 2, 2, ##__VA_ARGS__); break;                        \
    case 6: BODY(a, 3, 1, ##__VA_ARGS__); break;                        \
    case 7: BODY(a, 3, 2, ##__VA_ARGS__); break;                        \
    case 8: BODY(a, 4, 1, ##__VA_ARGS__); break;                        \
    case 9: BODY(a, 4, 2, ##__VA_ARGS__); break;                        \
    case 10: BODY(a, 5, 1, ##__VA_ARGS__); break;                       \
    case 11: BODY(a, 5, 2, ##__VA_ARGS__); break;                       \
    case 12: BODY(a, 6, 1, ##__VA_ARGS__); break;                       \
    case 13: BODY(a, 6, 2, ##__VA_ARGS__); break;                       \
    default: KERN_ASSERT(false);                                        \
    }

/* Backward-data stride phases: along one axis, kernel tap k (unflipped)
 * reaches the input-gradient positions st * a + ph with ph = (k - pad) mod
 * st. The packed backward-data weights of a group are stored phase by
 * phase (kern_conv_pack_weights), so each phase reads one dense slab. */
static inline size_t kern_conv_tap_phase(size_t k, size_t pad, size_t st)
{
    return (k % st + st - pad % st) % st;
}

/* The phase (ph, pw) that tap (y, x) reaches, as the row-major index
 * ph * st + pw. */
static inline size_t kern_conv_phase_of(size_t y, size_t x, size_t pad,
                                        size_t st)
{
    return kern_conv_tap_phase(y, pad, st) * st +
           kern_conv_tap_phase(x, pad, st);
}

/* Taps of the phases before (ph, pw) in row-major phase order: where phase
 * (ph, pw)'s slab starts in its group, in units of nin * gw floats. */
static inline size_t kern_conv_phase_start(size_t kh, size_t kw, size_t pad,
                                           size_t st, size_t ph, size_t pw)
{
    size_t n = 0;
    for (size_t y = 0; y < kh; y++)
        for (size_t x = 0; x < kw; x++)
            n += kern_conv_phase_of(y, x, pad, st) < ph * st + pw;
    return n;
}

/* The loops of the x86 c8/c7 reductions in GCC extended asm (one asm
 * statement per call; AVX2 and AVX-512 differ only in the channel step
 * between ENTER and LEAVE). They read a struct whose first ten words are
 * in, w, in_off, w_off, ntaps, nblocks, in_bbytes, w_bbytes, ps_bytes, acc
 * (p), and name the registers ib, wb (block bases), nb, t (block and tap
 * counters), ps, ps3 (pixel step, 3 steps), ip, ip3 (pixels 0 and 3 of
 * this tap), wp (its weights), cio, cwo (the next tap's offsets: each tap's
 * are loaded one tap ahead, and entry ntaps is entry 0, the next block's
 * first tap). ENTER takes one more asm line for the prologue (or ""); after
 * LEAVE, ip holds acc. */
#define KERN_CONV_ASM_ENTER(PROLOGUE)                                       \
    "mov 0(%[p]), %[ib]\n\t"                                                \
    "mov 8(%[p]), %[wb]\n\t"                                                \
    "mov 40(%[p]), %[nb]\n\t"                                               \
    "mov 64(%[p]), %[ps]\n\t" PROLOGUE                                      \
    "lea (%[ps], %[ps], 2), %[ps3]\n\t"                                     \
    "mov 16(%[p]), %[cio]\n\t"                                              \
    "mov (%[cio]), %[cio]\n\t"                                              \
    "mov 24(%[p]), %[cwo]\n\t"                                              \
    "mov (%[cwo]), %[cwo]\n\t"                                              \
    "2:\n\t"                                                                \
    "xor %[t], %[t]\n\t"                                                    \
    "1:\n\t"                                                                \
    "lea (%[ib], %[cio], 4), %[ip]\n\t"                                     \
    "lea (%[wb], %[cwo], 4), %[wp]\n\t"                                     \
    "lea (%[ip], %[ps3]), %[ip3]\n\t"                                       \
    "inc %[t]\n\t"                                                          \
    "mov 16(%[p]), %[cio]\n\t"                                              \
    "mov (%[cio], %[t], 8), %[cio]\n\t"                                     \
    "mov 24(%[p]), %[cwo]\n\t"                                              \
    "mov (%[cwo], %[t], 8), %[cwo]\n\t"

#define KERN_CONV_ASM_LEAVE                                                 \
    "cmp 32(%[p]), %[t]\n\t"                                                \
    "jb 1b\n\t"                                                             \
    "add 48(%[p]), %[ib]\n\t"                                               \
    "add 56(%[p]), %[wb]\n\t"                                               \
    "dec %[nb]\n\t"                                                         \
    "jnz 2b\n\t"                                                            \
    "mov 72(%[p]), %[ip]\n\t"

typedef void (*kern_conv_fwd_ukernel_fn)(const kern_conv_fwd_args *a);
typedef void (*kern_conv_bwdw_ukernel_fn)(const kern_conv_bwdw_args *a);

typedef struct kern_conv_ukernels {
    kern_conv_fwd_ukernel_fn fwd_c8; // cb = 8
    kern_conv_fwd_ukernel_fn fwd_c1; // cb = 1
    kern_conv_fwd_ukernel_fn fwd_c7; // cb = 7 (stem kernel rows)
    kern_conv_bwdw_ukernel_fn bwdw;
    size_t max_g; // g up to 2, or 4: fwd_c8, fwd_c7 and bwdw take 32 channels
} kern_conv_ukernels;

void kern_f32_conv2d_ukernel_6x16__scalar(const kern_conv_fwd_args *a);
void kern_f32_conv2d_c1_ukernel_6x16__scalar(const kern_conv_fwd_args *a);
void kern_f32_conv2d_c7_ukernel_6x16__scalar(const kern_conv_fwd_args *a);
void kern_f32_conv2d_bwdw_ukernel_6x16__scalar(const kern_conv_bwdw_args *a);
#if defined(__x86_64__)
void kern_f32_conv2d_ukernel_6x16__avx2(const kern_conv_fwd_args *a);
void kern_f32_conv2d_c1_ukernel_6x16__avx2(const kern_conv_fwd_args *a);
void kern_f32_conv2d_c7_ukernel_6x16__avx2(const kern_conv_fwd_args *a);
void kern_f32_conv2d_bwdw_ukernel_6x16__avx2(const kern_conv_bwdw_args *a);
void kern_f32_conv2d_ukernel_6x16__avx512(const kern_conv_fwd_args *a);
void kern_f32_conv2d_c7_ukernel_6x16__avx512(const kern_conv_fwd_args *a);
void kern_f32_conv2d_bwdw_ukernel_6x16__avx512(const kern_conv_bwdw_args *a);
#endif
#if defined(__aarch64__)
void kern_f32_conv2d_ukernel_6x16__neon(const kern_conv_fwd_args *a);
void kern_f32_conv2d_c1_ukernel_6x16__neon(const kern_conv_fwd_args *a);
void kern_f32_conv2d_c7_ukernel_6x16__neon(const kern_conv_fwd_args *a);
void kern_f32_conv2d_bwdw_ukernel_6x16__neon(const kern_conv_bwdw_args *a);
#endif

#endif /* RESIN_KERNELS_CONV_INTERNAL_H */
