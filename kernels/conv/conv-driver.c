/*
 * kernels/conv/conv-driver.c: the convolution drivers (portable, no
 * intrinsics) and the dispatch table.
 *
 * A pass that needs padding copies its spatial input into a zero-padded
 * buffer in scratch, so the microkernels (conv-internal.h) never see an
 * edge: no im2col, the copy is one pass over the input. 1x1 pad-0 inputs
 * are read as they are, and stride-1 3x3 planes of some widths (layer1,
 * layer3, and layer4 when it does not run across images) are read in
 * place, cut into regions by the taps that stay inside (run_in_place).
 *
 * - forward: one task per image (each thread works on its own images: two
 *   single-thread convolutions side by side beat one two-thread one on this
 *   machine); with fewer images than threads, images are split further by
 *   16-channel output groups. Per task: for each band of output rows, pad
 *   the rows it reads, then for each output group one microkernel call per
 *   run of up to 6 pixels reduces over the input channels and taps; where a
 *   group's weights outgrow conv_one_pass_bytes() the reduction is cut into
 *   passes over conv_l1_weight_bytes() of them, each over every run
 *   (run_plane). Small planes (7x7) with 6 or more images instead run across images: the
 *   padded batch first, then one task per output group, each call up to 6
 *   images at one pixel. Where the kernels take 32 channels (max_g 4:
 *   AVX-512), "group" here and below is a pair of 16-channel groups
 *   (unit_groups), a lone group where the channels run out.
 * - backward-data: the same kernel over the zero-padded dout with the
 *   transposed packing. For stride s the input gradient splits into s x s
 *   phases (ih % s, iw % s); each phase is a stride-1 convolution over its
 *   own subset of taps (the stride-2 scatter, gathered).
 * - backward-weights: the whole input batch in scratch, padded and split by
 *   stride phase (dense runs for every tap; no copy at stride 1, pad 0),
 *   then one task per few 16-output-channel groups; each reduces over
 *   images and runs of pixels (bww_task) in one fixed order into its own
 *   slice of a blocked gradient, then adds it into OIHW. The 1x1 strided
 *   shortcuts instead gather each run into a per-thread buffer (bwf_*).
 *   The only sums across tasks add fixed image halves in a fixed order
 *   (BWF_PARTS), so every result is the same for any thread count.
 */
#include "kernels/conv/conv-internal.h"

static kern_conv_ukernels table = {
    kern_f32_conv2d_ukernel_6x16__scalar,
    kern_f32_conv2d_c1_ukernel_6x16__scalar,
    kern_f32_conv2d_c7_ukernel_6x16__scalar,
    kern_f32_conv2d_bwdw_ukernel_6x16__scalar,
    2,
};

void kern_conv_init(kern_isa isa)
{
    table = (kern_conv_ukernels){
        kern_f32_conv2d_ukernel_6x16__scalar,
        kern_f32_conv2d_c1_ukernel_6x16__scalar,
        kern_f32_conv2d_c7_ukernel_6x16__scalar,
        kern_f32_conv2d_bwdw_ukernel_6x16__scalar,
        2,
    };
#if defined(__x86_64__)
    if (isa == KERN_ISA_AVX2)
        table = (kern_conv_ukernels){
            kern_f32_conv2d_ukernel_6x16__avx2,
            kern_f32_conv2d_c1_ukernel_6x16__avx2,
            kern_f32_conv2d_c7_ukernel_6x16__avx2,
            kern_f32_conv2d_bwdw_ukernel_6x16__avx2,
            2,
        };
    if (isa == KERN_ISA_AVX512)
        table = (kern_conv_ukernels){
            kern_f32_conv2d_ukernel_6x16__avx512,
            kern_f32_conv2d_c1_ukernel_6x16__avx2,
            kern_f32_conv2d_c7_ukernel_6x16__avx512,
            kern_f32_conv2d_bwdw_ukernel_6x16__avx512,
            4,
        };
#endif
#if defined(__aarch64__)
    if (isa == KERN_ISA_NEON)
        table = (kern_conv_ukernels){
            kern_f32_conv2d_ukernel_6x16__neon,
            kern_f32_conv2d_c1_ukernel_6x16__neon,
            kern_f32_conv2d_c7_ukernel_6x16__neon,
            kern_f32_conv2d_bwdw_ukernel_6x16__neon,
            2,
        };
#endif
}

// --- padding -------------------------------------------------------------------

/* A zero-padded copy of nb planes of (h, w, cb) floats into (hp, wp, cb),
 * the source placed at row top, column left. */
typedef struct pad_geom {
    size_t nb, h, w, cb, hp, wp, top, left;
} pad_geom;

static size_t pad_floats(const pad_geom *g)
{
    return g->nb * g->hp * g->wp * g->cb;
}

/* No padding (1x1 pad 0): the kernels read the source itself. */
static bool pad_none(const pad_geom *g)
{
    return g->hp == g->h && g->wp == g->w;
}

/* Scratch floats for one padded image (0 if no copy is needed). */
static size_t pad_scratch(const pad_geom *g)
{
    return pad_none(g) ? 0 : pad_floats(g);
}

/* One NCHW8c pixel, copied as one object: two vector moves on SSE, one
 * on wider targets (a float-by-float loop ran at one float per cycle).
 * Used by the padding copy and the 1x1/2 gather. */
typedef struct px8 {
    float v[8];
} px8;

/* Rows [y0, y1) of every padded plane. */
static void pad_rows(const pad_geom *g, float *restrict dst,
                     const float *restrict src, size_t y0, size_t y1)
{
    size_t row = g->wp * g->cb, lo = g->left * g->cb, len = g->w * g->cb;
    bool px = g->cb == 8;
    for (size_t b = 0; b < g->nb; b++)
        for (size_t y = y0; y < y1; y++) {
            float *d = dst + (b * g->hp + y) * row;
            size_t i = 0;
            if (y >= g->top && y < g->top + g->h) {
                const float *s = src + (b * g->h + y - g->top) * len;
                for (; i < lo; i++)
                    d[i] = 0.0f;
                if (px)
                    for (; i < lo + len; i += 8)
                        *(px8 *)(d + i) = *(const px8 *)(s + i - lo);
                for (; i < lo + len; i++)
                    d[i] = s[i - lo];
            }
            if (px)
                for (; i < row; i += 8)
                    *(px8 *)(d + i) = (px8){{0}};
            for (; i < row; i++)
                d[i] = 0.0f;
        }
}

static void pad_image(const pad_geom *g, float *restrict dst,
                      const float *restrict src)
{
    pad_rows(g, dst, src, 0, g->hp);
}

typedef struct pad_batch {
    pad_geom g;
    float *dst;
    const float *src;
} pad_batch;

/* Row bands: a task walks its image in bands of output rows and runs every
 * output group of the task over a band before moving on, so the band's
 * input rows (about CONV_BAND_BYTES) are reused from L2 by every group
 * instead of the whole image being streamed once per group, and each band
 * is padded just before it is read. When the task's weights outgrow the
 * L2 (CONV_BAND_WEIGHT_BYTES: layer2's 3x3s, layer3, layer4) the image is
 * one band: there the image is small and the weights must stream once. */
#define CONV_BAND_BYTES (128 * 1024)
#define CONV_BAND_WEIGHT_BYTES (512 * 1024)

/* Output rows per band; row_bytes: one padded input row over all blocks,
 * k, stride: input rows of the first output row and step per row. */
static size_t band_rows(size_t rows, size_t row_bytes, size_t k,
                        size_t stride, size_t weight_bytes)
{
    if (weight_bytes > CONV_BAND_WEIGHT_BYTES)
        return rows;
    size_t in_rows = CONV_BAND_BYTES / row_bytes;
    size_t band = in_rows > k ? (in_rows - k) / stride + 1 : 1;
    return KERN_MIN(rows, band);
}

static size_t cb_of(const kern_conv_shape *s)
{
    return kern_conv_plain_input(s) ? 1 : 8;
}

/* Forward and backward-weights pad the input by s->pad on every side. */
static pad_geom input_pad(const kern_conv_shape *s)
{
    size_t cb = cb_of(s);
    return (pad_geom){
        .nb = s->ic / cb, .h = s->h, .w = s->w, .cb = cb,
        .hp = s->h + 2 * s->pad, .wp = s->w + 2 * s->pad,
        .top = s->pad, .left = s->pad,
    };
}

/* Backward-data: input position i = stride * a + phase reads dout at
 * a + delta, delta = (phase + pad - k) / stride for the taps k with
 * phase + pad - k divisible by stride. The padding covers every delta. */
static size_t dout_pad(size_t size, size_t osize, size_t k, size_t stride,
                       size_t pad)
{
    long need = 0;
    for (size_t ph = 0; ph < stride && ph < size; ph++) {
        long amax = (long)((size - 1 - ph) / stride);
        for (size_t t = 0; t < k; t++) {
            long num = (long)(ph + pad) - (long)t;
            if (num % (long)stride != 0)
                continue;
            long delta = num / (long)stride;
            need = KERN_MAX(need, -delta);
            need = KERN_MAX(need, amax + delta - ((long)osize - 1));
        }
    }
    return (size_t)need;
}

static pad_geom grad_pad(const kern_conv_shape *s)
{
    size_t ph = dout_pad(s->h, s->oh, s->kh, s->stride, s->pad);
    size_t pw = dout_pad(s->w, s->ow, s->kw, s->stride, s->pad);
    return (pad_geom){
        .nb = s->oc / 8, .h = s->oh, .w = s->ow, .cb = 8,
        .hp = s->oh + 2 * ph, .wp = s->ow + 2 * pw, .top = ph, .left = pw,
    };
}

/* Run a small plane across images (run_images): at least 6 images, a plane
 * of at most CONV_IMAGES_PIXELS pixels (ResNet-34's 7x7 planes), and at
 * least two 16-channel groups per thread (the tasks are the groups). */
#define CONV_IMAGES_PIXELS 64

static bool across_images(const kern_conv_shape *s, size_t pixels,
                          size_t channels, const kern_pool *pool)
{
    return s->n >= KERN_CONV_MR && pixels <= CONV_IMAGES_PIXELS &&
           KERN_DIV_UP(channels, 16) >= 2 * kern_pool_threads(pool);
}

static bool fwd_across(const kern_conv_shape *s, const kern_pool *pool)
{
    return across_images(s, s->oh * s->ow, s->oc, pool);
}

/* Backward-data planes are the stride phases of the input gradient. */
static bool bwd_across(const kern_conv_shape *s, const kern_pool *pool)
{
    size_t ph = KERN_DIV_UP(s->h, s->stride), pw = KERN_DIV_UP(s->w, s->stride);
    return across_images(s, ph * pw, s->ic, pool);
}

// --- scratch ---------------------------------------------------------------------

static size_t bwdw_items(const kern_conv_shape *s)
{
    return s->ic * s->kh * s->kw;
}

static size_t bww_scratch(const kern_conv_shape *s, const kern_pool *pool);
static size_t bwf_scratch(const kern_conv_shape *s, const kern_pool *pool);
static bool bwf_applies(const kern_conv_shape *s);
static bool in_place(const kern_conv_shape *s); // forward, backward-data

size_t kern_conv_scratch_size(const kern_conv_shape *s, kern_conv_pass pass,
                              const kern_pool *pool)
{
    size_t threads = kern_pool_threads(pool);
    /* one padded image per thread, or the whole padded batch across images */
    if (pass == KERN_CONV_FORWARD) {
        pad_geom g = input_pad(s);
        bool across = fwd_across(s, pool);
        size_t k = across ? s->n : in_place(s) ? 0 : threads;
        return k * kern_align_up(pad_scratch(&g) * sizeof(float));
    }
    if (pass == KERN_CONV_BACKWARD_DATA) {
        pad_geom g = grad_pad(s);
        bool across = bwd_across(s, pool);
        size_t k = across ? s->n : in_place(s) ? 0 : threads;
        return k * kern_align_up(pad_scratch(&g) * sizeof(float));
    }
    return bwf_applies(s) ? bwf_scratch(s, pool) : bww_scratch(s, pool);
}

// --- one output plane through the forward microkernel ---------------------------------

/* rows x cols output pixels of one 8g-channel group; row y, column x reads
 * in + y * in_rs + x * in_ps and writes out + y * out_rs + x * out_ps. */
typedef struct plane_job {
    kern_conv_fwd_args k; // in, out: pixel (0, 0); the rest as for the kernel
    kern_conv_fwd_ukernel_fn fn;
    size_t rows, cols, in_rs, out_rs, out_ps;
    size_t w_used; // weight floats read per input block (a phase reads a subset)
    size_t imgs;   // > 0: the plane of imgs images, in_is / out_is floats apart
    size_t in_is, out_is;
    size_t one_pass; // weight bytes above which a pass is cut (0: default)
    /* in place (run_in_place): the taps, and rows [y0, y0 + rows) of a
     * plane of ph rows; in, out at the plane's pixel (0, 0) */
    const struct taps3x3 *taps;
    size_t y0, ph;
} plane_job;

/* Row by row, in balanced runs: 7 pixels as 3 + 4, not 6 + 1. */
static void run_rows(const plane_job *j)
{
    kern_conv_fwd_args a = j->k;
    ptrdiff_t off[KERN_CONV_MR];
    size_t runs = KERN_DIV_UP(j->cols, KERN_CONV_MR);
    for (size_t p = 0; p < KERN_CONV_MR; p++)
        off[p] = (ptrdiff_t)(p * j->out_ps);
    a.out_off = off;
    for (size_t y = 0; y < j->rows; y++)
        for (size_t i = 0; i < runs; i++) {
            size_t x = i * j->cols / runs;
            a.r = (i + 1) * j->cols / runs - x;
            a.in = j->k.in + y * j->in_rs + x * j->k.in_ps;
            a.out = j->k.out + y * j->out_rs + x * j->out_ps;
            j->fn(&a);
        }
}

/* Flattened: an input row is `span` pixel steps, so pixel q = y * span + x
 * reads in + q * in_ps on every row, and a (balanced) run of up to 6 can
 * cross a row end; the span - cols pixels past each row end are computed
 * and dropped. Used when that costs fewer slots than rows of short runs
 * (row_cost); with the 2 padding columns of a 3x3 it rarely does (14x14:
 * 37 runs of 6 = 222 slots against 14 rows of 4 + 5 + 5 = 196, measured
 * 10% faster). */
static void run_flat(const plane_job *j, size_t span)
{
    kern_conv_fwd_args a = j->k;
    ptrdiff_t off[KERN_CONV_MR];
    size_t total = (j->rows - 1) * span + j->cols;
    size_t runs = KERN_DIV_UP(total, KERN_CONV_MR);
    a.out_off = off;
    for (size_t i = 0; i < runs; i++) {
        size_t q0 = i * total / runs;
        a.r = (i + 1) * total / runs - q0;
        for (size_t p = 0; p < a.r; p++) {
            size_t y = (q0 + p) / span, x = (q0 + p) % span;
            off[p] = x < j->cols ? (ptrdiff_t)(y * j->out_rs + x * j->out_ps)
                                 : -1;
        }
        a.in = j->k.in + q0 * j->k.in_ps;
        j->fn(&a);
    }
}

/* Across images: the microkernel's pixels are one output pixel (y, x) of up
 * to 6 images (the pixel step is the image stride; the images in balanced
 * sets, 16 as 5 + 5 + 6), so a small plane keeps 5-6 pixels per call with
 * none dropped (a 7x7 plane run flat fills 49 of 66 slots) and each weight
 * chunk serves every image. */
static void run_images(const plane_job *j)
{
    kern_conv_fwd_args a = j->k;
    ptrdiff_t off[KERN_CONV_MR];
    size_t sets = KERN_DIV_UP(j->imgs, KERN_CONV_MR);
    for (size_t p = 0; p < KERN_CONV_MR; p++)
        off[p] = (ptrdiff_t)(p * j->out_is);
    a.out_off = off;
    a.in_ps = j->in_is;
    for (size_t i = 0; i < sets; i++) {
        size_t i0 = i * j->imgs / sets;
        a.r = (i + 1) * j->imgs / sets - i0;
        for (size_t y = 0; y < j->rows; y++)
            for (size_t x = 0; x < j->cols; x++) {
                a.in = j->k.in + i0 * j->in_is + y * j->in_rs +
                       x * j->k.in_ps;
                a.out = j->k.out + i0 * j->out_is + y * j->out_rs +
                        x * j->out_ps;
                j->fn(&a);
            }
    }
}

/* Input blocks per pass over the plane. When a call's weights outgrow
 * conv_one_pass_bytes(), each pass takes conv_pass_bytes() of them, which
 * stay in cache while every pixel run of the plane uses them; the output
 * is reloaded once per pass, a few loads per thousands of FMAs, and the
 * kernels resume its sums, so the passes add in the order of one. The
 * stride phases of backward-data (1-4 taps, so each input line serves
 * only those taps) are always cut, into passes of conv_l1_weight_bytes(),
 * measured faster (kernels/README.md). The limits follow the caches of the
 * machines each tile was tuned on: 16 channels a call (AVX2, NEON, scalar)
 * on the Zen 3, 32 KB L1 and 512 KB L2: 128 KB (layer3, layer4 cut),
 * passes and phases 16 KB; 32 channels a call (AVX-512) on the Zen 5, 48
 * KB L1 and 1 MB L2: 512 KB (layer4's 590 KB pair cut, layer3's 295 KB
 * not: cut it was 2-3% slower) into passes of 128 KB (layer4 forward 0.92
 * -> 0.98x oneDNN, backward-data 0.91 -> 0.96, medians of 5 alternating
 * runs; 192 KB the same), phases 32 KB (kernels/README.md, "AVX-512"). */
static size_t conv_one_pass_bytes(void)
{
    return table.max_g >= 4 ? 512 * 1024 : 128 * 1024;
}

static size_t conv_pass_bytes(void)
{
    return table.max_g >= 4 ? 128 * 1024 : 16 * 1024;
}

static size_t conv_l1_weight_bytes(void)
{
    return table.max_g >= 4 ? 32 * 1024 : 16 * 1024;
}

/* A plane no tap reaches (a backward-data phase of a 1x1/2: odd rows or
 * columns): zeros, or nothing to add when accumulating; no kernel calls. */
static void zero_plane(const plane_job *j)
{
    size_t imgs = KERN_MAX(1, j->imgs);
    for (size_t i = 0; i < imgs; i++)
        for (size_t k = 0; k < j->k.g; k++)
            for (size_t y = 0; y < j->rows; y++)
                for (size_t x = 0; x < j->cols; x++) {
                    float *o = j->k.out + i * j->out_is + k * j->k.out_bstride +
                               y * j->out_rs + x * j->out_ps;
                    for (size_t l = 0; l < 8; l++)
                        o[l] = 0.0f;
                }
}

/* The time of one row in balanced runs, in pixel slots: a run of r pixels
 * costs r FMA cycles per channel step (2r FMAs on 2 pipes), but at least 4,
 * the FMA latency each accumulator chain waits (r = 3: 6 chains for the 8
 * the pipes need). Run flat, a plane costs 6 slots per run, dropped
 * pixels and the slack of balanced runs included. */
static size_t row_cost(size_t cols)
{
    size_t runs = KERN_DIV_UP(cols, KERN_CONV_MR), cost = 0;
    for (size_t i = 0; i < runs; i++)
        cost += KERN_MAX(4, (i + 1) * cols / runs - i * cols / runs);
    return cost;
}

/* Flat beats rows of balanced runs (row_cost) on a plane of rows x cols
 * output pixels whose input rows are span pixel steps apart. */
static bool flat_wins(size_t rows, size_t cols, size_t span)
{
    return rows > 1 &&
           KERN_DIV_UP((rows - 1) * span + cols, KERN_CONV_MR) *
                   KERN_CONV_MR <
               rows * row_cost(cols);
}

// --- stride-1 3x3 planes read in place -------------------------------------------

/* A stride-1 3x3 pad-1 plane on NCHW8c that runs as rows reads its source
 * in place, with no padded copy (the copy was 5% of layer1 backward-data):
 * the plane is cut by which taps stay inside it. Inner rows and columns
 * take all 9 taps, in runs of up to 6 along the row (56 = 1 + 9 x 6 + 1);
 * the first and last row 6 taps, run along the row; the first and last
 * column 6 taps, run DOWN the column (the kernel's pixel step is then the
 * row stride), so 6 edge pixels share one call; the corners 4 taps, one
 * pixel a call. Tap t reads source pixel (y + dy[t], x + dx[t]) with its
 * weights at w_off[t]. Only where the inner columns take fewer runs than
 * the whole row (56: 9 runs, not 10; 14: 2, not 3): at 28 (5 runs either
 * way) the edge calls add to the runs and it measured 2-4% slower than
 * the copy (paired A/B, both passes). */
typedef struct taps3x3 {
    int dy[9], dx[9];
    size_t w_off[9];
} taps3x3;

static bool in_place(const kern_conv_shape *s)
{
    return s->stride == 1 && s->kh == 3 && s->kw == 3 && s->pad == 1 &&
           !kern_conv_plain_input(s) && s->h >= 2 && s->w >= 2 &&
           !flat_wins(s->h, s->w, s->w + 2) &&
           KERN_DIV_UP(s->w - 2, KERN_CONV_MR) <
               KERN_DIV_UP(s->w, KERN_CONV_MR);
}

/* The taps of region (cy, cx) (0: first row / column, 1: inner, 2: last)
 * that read inside a plane w pixels wide, in the order given, with the
 * wrap-around entry (conv-internal.h). */
static size_t region_taps(const taps3x3 *t, int cy, int cx, size_t w,
                          ptrdiff_t *in_off, size_t *w_off)
{
    size_t n = 0;
    for (size_t i = 0; i < 9; i++) {
        int dy = t->dy[i], dx = t->dx[i];
        if ((cy == 0 && dy < 0) || (cy == 2 && dy > 0) ||
            (cx == 0 && dx < 0) || (cx == 2 && dx > 0))
            continue;
        in_off[n] = ((ptrdiff_t)dy * (ptrdiff_t)w + dx) * 8;
        w_off[n++] = t->w_off[i];
    }
    in_off[n] = in_off[0], w_off[n] = w_off[0];
    return n;
}

/* Rows [y0, y0 + rows) of the plane, region by region. */
static void run_in_place(const plane_job *j)
{
    size_t h = j->ph, w = j->cols, y0 = j->y0, y1 = j->y0 + j->rows;
    size_t ya[3] = {y0, KERN_MAX(y0, 1), KERN_MAX(y0, h - 1)};
    size_t yb[3] = {KERN_MIN(y1, 1), KERN_MIN(y1, h - 1), y1};
    size_t xa[3] = {0, 1, w - 1}, xb[3] = {1, w - 1, w};
    ptrdiff_t in_off[10];
    size_t w_off[10];
    for (int cy = 0; cy < 3; cy++)
        for (int cx = 0; cx < 3; cx++) {
            if (ya[cy] >= yb[cy] || xa[cx] >= xb[cx])
                continue;
            plane_job r = *j;
            r.k.ntaps = region_taps(j->taps, cy, cx, w, in_off, w_off);
            r.k.in_off = in_off, r.k.w_off = w_off;
            r.k.in = j->k.in + ya[cy] * j->in_rs + xa[cx] * j->k.in_ps;
            r.k.out = j->k.out + ya[cy] * j->out_rs + xa[cx] * j->out_ps;
            r.rows = yb[cy] - ya[cy], r.cols = xb[cx] - xa[cx];
            if (cx != 1) { // down the column: rows and pixels swap
                r.rows = 1, r.cols = yb[cy] - ya[cy];
                r.in_rs = j->k.in_ps, r.k.in_ps = j->in_rs;
                r.out_rs = j->out_ps, r.out_ps = j->out_rs;
            }
            run_rows(&r);
        }
}

/* Whichever costs fewer slots (row_cost), one pass per input-block chunk. */
static void run_plane(const plane_job *j)
{
    if (j->k.ntaps == 0) {
        if (!j->k.accumulate)
            zero_plane(j);
        return;
    }
    size_t span = j->in_rs / j->k.in_ps;
    bool flat = !j->taps && j->in_rs % j->k.in_ps == 0 &&
                flat_wins(j->rows, j->cols, span);
    size_t chunk = j->k.nblocks, used = j->w_used * sizeof(float);
    if (j->one_pass && chunk * used > j->one_pass)
        chunk = KERN_MAX(1, conv_l1_weight_bytes() / used);
    else if (chunk * used > conv_one_pass_bytes())
        chunk = KERN_MAX(1, conv_pass_bytes() / used);
    plane_job c = *j;
    for (size_t b = 0; b < j->k.nblocks; b += chunk) {
        c.k.nblocks = KERN_MIN(chunk, j->k.nblocks - b);
        c.k.in = j->k.in + b * j->k.in_bstride;
        c.k.w = j->k.w + b * j->k.w_bstride;
        c.k.accumulate = b > 0 || j->k.accumulate;
        if (j->taps)
            run_in_place(&c);
        else if (j->imgs)
            run_images(&c);
        else if (flat)
            run_flat(&c, span);
        else
            run_rows(&c);
    }
}

// --- forward ---------------------------------------------------------------------------

typedef struct fwd_ctx {
    const kern_conv_shape *s;
    float *out;
    const float *inp, *wpack;
    char *scratch;
    size_t split, slab;
} fwd_ctx;

/* Whether the kernels take two 16-channel groups a call (max_g): c8
 * and c7 do, the c1 kernel of other plain-input shapes does not. */
static bool pairs(const kern_conv_shape *s)
{
    return table.max_g >= 4 && (!kern_conv_plain_input(s) || s->kw == 7);
}

/* 16-channel groups per microkernel call from group g of [g, g1): 2 where
 * the kernel takes them and both are full. */
static size_t unit_groups(const kern_conv_shape *s, size_t g, size_t g1,
                          size_t channels)
{
    return pairs(s) && g + 1 < g1 && (g + 2) * 16 <= channels ? 2 : 1;
}

/* Tasks of one unit each (1 or 2 groups), for the across-images passes. */
static size_t group_units(const kern_conv_shape *s, size_t channels)
{
    size_t groups = KERN_DIV_UP(channels, 16);
    return pairs(s) ? KERN_DIV_UP(groups, 2) : groups;
}

/* Output rows [y0, y1) of ng (1 or 2) 16-channel groups from g16; imgs > 0:
 * of imgs images at once (xp, out: image 0). */
static void fwd_group(const kern_conv_shape *s, float *out, const float *xp,
                      const float *wpack, size_t g16, size_t ng, size_t y0,
                      size_t y1, size_t imgs)
{
    pad_geom pg = input_pad(s);
    size_t cb = pg.cb, taps = s->kh * s->kw, gw = KERN_MIN(16, s->oc - g16);
    size_t gt = ng > 1 ? 32 : gw; // channels per call
    size_t in_rs = s->stride * pg.wp * cb;
    ptrdiff_t in_off[KERN_CONV_MAX_TAPS + 1];
    size_t w_off[KERN_CONV_MAX_TAPS + 1];
    /* the 7-wide stem on plain planes: one "tap" per kernel row, its 7
     * columns as the c7 kernel's channels (7x fewer taps to walk) */
    bool rows = cb == 1 && s->kw == 7;
    size_t ntaps = rows ? s->kh : taps;
    for (size_t t = 0; t < ntaps; t++) {
        in_off[t] = rows ? (ptrdiff_t)(t * pg.wp)
                         : (ptrdiff_t)(((t / s->kw) * pg.wp + t % s->kw) * cb);
        w_off[t] = rows ? t * s->kw * gw : t * cb * gw;
    }
    in_off[ntaps] = in_off[0], w_off[ntaps] = w_off[0]; // conv-internal.h
    plane_job j = {
        .k = {
            .in = xp + y0 * in_rs, .w = wpack + g16 * s->ic * taps,
            .out = out + g16 * s->oh * s->ow + y0 * s->ow * 8,
            .in_off = in_off, .w_off = w_off, .ntaps = ntaps,
            .nblocks = pg.nb, .in_bstride = pg.hp * pg.wp * cb,
            .w_bstride = taps * cb * gw, .in_ps = s->stride * cb,
            .out_bstride = s->oh * s->ow * 8, .g = gt / 8,
            .w_gstride = 16 * s->ic * taps,
        },
        .fn = cb == 8 ? table.fwd_c8 : rows ? table.fwd_c7 : table.fwd_c1,
        .rows = y1 - y0, .cols = s->ow,
        .in_rs = in_rs, .out_rs = s->ow * 8, .out_ps = 8,
        .w_used = taps * cb * gt, .imgs = imgs,
        .in_is = pad_floats(&pg), // the source's image stride if pad_none
        .out_is = s->oc * s->oh * s->ow,
    };
    taps3x3 t;
    if (!imgs && in_place(s)) { // xp: the source image itself
        for (size_t i = 0; i < 9; i++)
            t.dy[i] = (int)(i / 3) - 1, t.dx[i] = (int)(i % 3) - 1,
            t.w_off[i] = i * 8 * gw;
        j.taps = &t, j.y0 = y0, j.ph = s->oh;
        j.k.in = xp, j.k.out = out + g16 * s->oh * s->ow;
        j.k.in_bstride = s->h * s->w * 8, j.in_rs = s->w * 8;
    }
    run_plane(&j);
}

static void fwd_task(void *vctx, size_t task, size_t thread)
{
    const fwd_ctx *c = vctx;
    const kern_conv_shape *s = c->s;
    size_t n = task / c->split, part = task % c->split;
    size_t groups = KERN_DIV_UP(s->oc, 16);
    size_t g0 = part * groups / c->split, g1 = (part + 1) * groups / c->split;
    pad_geom pg = input_pad(s);
    const float *src = c->inp + n * s->ic * s->h * s->w, *xp = src;
    float *dst = (float *)(c->scratch + thread * c->slab);
    bool copy = !pad_none(&pg) && !in_place(s);
    if (copy)
        xp = dst;
    size_t band = band_rows(s->oh, pg.wp * s->ic * sizeof(float), s->kh,
                            s->stride,
                            (g1 - g0) * 16 * s->ic * s->kh * s->kw *
                                sizeof(float));
    float *out = c->out + n * s->oc * s->oh * s->ow;
    size_t padded = 0;
    for (size_t y0 = 0; y0 < s->oh; y0 += band) {
        size_t y1 = KERN_MIN(s->oh, y0 + band);
        size_t need = KERN_MIN(pg.hp, (y1 - 1) * s->stride + s->kh);
        if (copy && need > padded) {
            pad_rows(&pg, dst, src, padded, need);
            padded = need;
        }
        for (size_t g = g0, ng; g < g1; g += ng) {
            ng = unit_groups(s, g, g1, s->oc);
            fwd_group(s, out, xp, c->wpack, g * 16, ng, y0, y1, 0);
        }
    }
}

/* Tasks per image: 1 when there are enough images for every thread. */
static size_t image_split(const kern_conv_shape *s, size_t groups,
                          const kern_pool *pool)
{
    size_t t = kern_pool_threads(pool);
    return s->n >= t ? 1 : KERN_MIN(groups, KERN_DIV_UP(t, s->n));
}

/* The whole padded batch, one image per task (across images). */
static void pad_batch_task(void *vctx, size_t n, size_t thread)
{
    const pad_batch *b = vctx;
    (void)thread;
    pad_image(&b->g, b->dst + n * pad_floats(&b->g),
              b->src + n * b->g.nb * b->g.h * b->g.w * b->g.cb);
}

/* Across images: one task per unit of 16-channel groups (group_units)
 * over the whole batch. */
static void fwd_images_task(void *vctx, size_t u, size_t thread)
{
    const fwd_ctx *c = vctx;
    const kern_conv_shape *s = c->s;
    pad_geom pg = input_pad(s);
    const float *xp = pad_none(&pg) ? c->inp : (const float *)c->scratch;
    size_t groups = KERN_DIV_UP(s->oc, 16);
    size_t g = u * KERN_DIV_UP(groups, group_units(s, s->oc));
    (void)thread;
    fwd_group(s, c->out, xp, c->wpack, g * 16,
              unit_groups(s, g, groups, s->oc), 0, s->oh, s->n);
}

void kern_conv_forward(const kern_conv_shape *s, float *out, const float *inp,
                       const float *wpack, void *scratch,
                       const kern_pool *pool)
{
    KERN_ASSERT(s->oc % 8 == 0 && s->kh * s->kw <= KERN_CONV_MAX_TAPS);
    pad_geom pg = input_pad(s);
    fwd_ctx c = {
        .s = s, .out = out, .inp = inp, .wpack = wpack, .scratch = scratch,
        .split = image_split(s, KERN_DIV_UP(s->oc, 16), pool),
        .slab = kern_align_up(pad_scratch(&pg) * sizeof(float)),
    };
    if (fwd_across(s, pool)) {
        pad_batch b = {pg, scratch, inp};
        if (!pad_none(&pg))
            kern_parallel_for(pool, pad_batch_task, &b, s->n);
        kern_parallel_for(pool, fwd_images_task, &c, group_units(s, s->oc));
        return;
    }
    kern_parallel_for(pool, fwd_task, &c, s->n * c.split);
}

// --- backward-data ---------------------------------------------------------------------

typedef struct bwd_ctx {
    const kern_conv_shape *s;
    float *dinp;
    const float *dout, *wpack;
    char *scratch;
    size_t split, slab;
    size_t imgs; // > 0: across images (bwd_images_task)
    bool accumulate;
} bwd_ctx;

/* Input-gradient positions stride * a + ph, for one tap axis: how many taps
 * reach them, and the dout offset (delta) of each, in tap order. */
static size_t phase_taps(size_t ph, size_t k, size_t stride, size_t pad,
                         long *delta)
{
    size_t n = 0;
    for (size_t t = 0; t < k; t++) {
        long num = (long)(ph + pad) - (long)t;
        if (num % (long)stride == 0)
            delta[n++] = num / (long)stride;
    }
    return n;
}

/* Phase (ph, pw) rows [a0, a1) (input-gradient rows stride * a + ph) of
 * ng (1 or 2) 16-channel groups from g16. */
static void bwd_phase(const bwd_ctx *c, float *dinp, const float *dp,
                      size_t g16, size_t ng, size_t ph, size_t pw, size_t a0,
                      size_t a1)
{
    const kern_conv_shape *s = c->s;
    pad_geom pg = grad_pad(s);
    size_t st = s->stride, gw = KERN_MIN(16, s->ic - g16), taps = 0;
    size_t gt = ng > 1 ? 32 : gw; // channels per call
    long dh[8], dw[8];
    size_t nh = phase_taps(ph, s->kh, st, s->pad, dh);
    size_t nw = phase_taps(pw, s->kw, st, s->pad, dw);
    ptrdiff_t in_off[KERN_CONV_MAX_TAPS + 1];
    size_t w_off[KERN_CONV_MAX_TAPS + 1];
    /* taps in ascending input address: rows top to bottom, which is the
     * order of the phase's slab in the packing (taps flipped) */
    for (size_t i = nh; i-- > 0;)
        for (size_t j = nw; j-- > 0; taps++) {
            in_off[taps] = (dh[i] * (long)pg.wp + dw[j]) * 8;
            w_off[taps] = taps * 8 * gw;
        }
    if (taps) // the wrap-around entry (conv-internal.h)
        in_off[taps] = in_off[0], w_off[taps] = w_off[0];
    plane_job j = {
        .k = {
            .in = dp + ((pg.top + a0) * pg.wp + pg.left) * 8,
            .w = c->wpack + g16 * s->oc * s->kh * s->kw +
                 kern_conv_phase_start(s->kh, s->kw, s->pad, st, ph, pw) *
                     s->oc * gw,
            .out = dinp + g16 * s->h * s->w + (ph * s->w + pw) * 8 +
                   a0 * st * s->w * 8,
            .in_off = in_off, .w_off = w_off, .ntaps = taps,
            .nblocks = pg.nb, .in_bstride = pg.hp * pg.wp * 8,
            .w_bstride = taps * 8 * gw, .in_ps = 8,
            .out_bstride = s->h * s->w * 8, .g = gt / 8,
            .accumulate = c->accumulate,
            .w_gstride = 16 * s->oc * s->kh * s->kw,
        },
        .fn = table.fwd_c8,
        .rows = a1 - a0, .cols = (s->w - pw + st - 1) / st,
        .in_rs = pg.wp * 8, .out_rs = st * s->w * 8, .out_ps = st * 8,
        .w_used = taps * 8 * gt, .imgs = c->imgs,
        .in_is = pad_floats(&pg), // dout's image stride if pad_none
        .out_is = s->ic * s->h * s->w,
        .one_pass = st > 1 ? conv_l1_weight_bytes() : 0,
    };
    taps3x3 t;
    if (!c->imgs && in_place(s)) { // dp: dout itself; one phase
        size_t i = 0;
        for (size_t a = nh; a-- > 0;)
            for (size_t b = nw; b-- > 0; i++)
                t.dy[i] = (int)dh[a], t.dx[i] = (int)dw[b],
                t.w_off[i] = i * 8 * gw;
        j.taps = &t, j.y0 = a0, j.ph = s->h;
        j.k.in = dp, j.k.out = dinp + g16 * s->h * s->w;
        j.k.in_bstride = s->oh * s->ow * 8, j.in_rs = s->ow * 8;
    }
    run_plane(&j);
}

/* Bands of stride * band input-gradient rows, i.e. `band` rows of every
 * phase; phase row a reads padded dout rows a + top + delta, delta at most
 * (stride - 1 + pad) / stride. */
static void bwd_task(void *vctx, size_t task, size_t thread)
{
    const bwd_ctx *c = vctx;
    const kern_conv_shape *s = c->s;
    size_t n = task / c->split, part = task % c->split;
    size_t groups = KERN_DIV_UP(s->ic, 16), st = s->stride;
    size_t g0 = part * groups / c->split, g1 = (part + 1) * groups / c->split;
    pad_geom pg = grad_pad(s);
    const float *src = c->dout + n * s->oc * s->oh * s->ow, *dp = src;
    float *dst = (float *)(c->scratch + thread * c->slab);
    bool copy = !pad_none(&pg) && !in_place(s);
    if (copy)
        dp = dst;
    size_t rows = KERN_DIV_UP(s->h, st);
    size_t band = band_rows(rows, pg.wp * s->oc * sizeof(float),
                            pg.hp - s->oh + 1, 1,
                            (g1 - g0) * 16 * s->oc * s->kh * s->kw *
                                sizeof(float));
    float *dinp = c->dinp + n * s->ic * s->h * s->w;
    size_t padded = 0;
    for (size_t a0 = 0; a0 < rows; a0 += band) {
        size_t a1 = KERN_MIN(rows, a0 + band);
        size_t need = KERN_MIN(pg.hp, a1 + pg.top + (st - 1 + s->pad) / st);
        if (copy && need > padded) {
            pad_rows(&pg, dst, src, padded, need);
            padded = need;
        }
        for (size_t g = g0, ng; g < g1; g += ng) {
            ng = unit_groups(s, g, g1, s->ic);
            for (size_t ph = 0; ph < KERN_MIN(st, s->h); ph++)
                for (size_t pw = 0; pw < KERN_MIN(st, s->w); pw++)
                    bwd_phase(c, dinp, dp, g * 16, ng, ph, pw, a0,
                              KERN_MIN(a1, (s->h - ph + st - 1) / st));
        }
    }
}

/* Across images: one task per unit of 16-channel groups (group_units)
 * over the whole batch. */
static void bwd_images_task(void *vctx, size_t u, size_t thread)
{
    const bwd_ctx *c = vctx;
    const kern_conv_shape *s = c->s;
    pad_geom pg = grad_pad(s);
    const float *dp = pad_none(&pg) ? c->dout : (const float *)c->scratch;
    size_t st = s->stride, groups = KERN_DIV_UP(s->ic, 16);
    size_t g = u * KERN_DIV_UP(groups, group_units(s, s->ic));
    size_t ng = unit_groups(s, g, groups, s->ic);
    (void)thread;
    for (size_t ph = 0; ph < KERN_MIN(st, s->h); ph++)
        for (size_t pw = 0; pw < KERN_MIN(st, s->w); pw++)
            bwd_phase(c, c->dinp, dp, g * 16, ng, ph, pw, 0,
                      (s->h - ph + st - 1) / st);
}

void kern_conv_backward_data(const kern_conv_shape *s, float *dinp,
                             const float *dout, const float *wpack,
                             bool accumulate, void *scratch,
                             const kern_pool *pool)
{
    KERN_ASSERT(!kern_conv_plain_input(s) && s->oc % 8 == 0);
    KERN_ASSERT(s->kh <= 8 && s->kw <= 8);
    pad_geom pg = grad_pad(s);
    bwd_ctx c = {
        .s = s, .dinp = dinp, .dout = dout, .wpack = wpack,
        .scratch = scratch, .accumulate = accumulate,
        .split = image_split(s, KERN_DIV_UP(s->ic, 16), pool),
        .slab = kern_align_up(pad_scratch(&pg) * sizeof(float)),
    };
    if (bwd_across(s, pool)) {
        c.imgs = s->n;
        pad_batch b = {pg, scratch, dout};
        if (!pad_none(&pg))
            kern_parallel_for(pool, pad_batch_task, &b, s->n);
        kern_parallel_for(pool, bwd_images_task, &c, group_units(s, s->ic));
        return;
    }
    kern_parallel_for(pool, bwd_task, &c, s->n * c.split);
}

// --- backward-weights --------------------------------------------------------------------

/* The input as backward-weights reads it: zero-padded and split by stride
 * phase. Padded pixel (st * i + pa, st * j + pc) of plane b (an 8-channel
 * block, or one channel of a plain input) goes to phase (pa, pc) at (i, j),
 * so tap (kh, kw) of output pixel (y, x) reads phase (kh % st, kw % st) at
 * (y + kh / st, x + kw / st): every reduction walks a dense run, and a
 * stride-2 pass no longer loads lines of which it uses half. Stride 1 is
 * one phase, the plain padded copy; 1x1 stride 2 keeps one phase of 1/4 of
 * the input. */
typedef struct bww_geom {
    size_t cb, nb;       // floats per pixel (8, or 1: plain input), planes
    size_t nph, npw;     // phases along h and w: min(stride, kernel)
    size_t ph, pw;       // pixels of one phase
    size_t image;        // floats per image
    size_t ps, rs;       // floats per output pixel and row
    bool copy;           // false: read the input itself (stride 1, pad 0)
} bww_geom;

static bww_geom bww_geom_of(const kern_conv_shape *s)
{
    size_t cb = cb_of(s), st = s->stride;
    bww_geom g = {
        .cb = cb, .nb = s->ic / cb,
        .nph = KERN_MIN(st, s->kh), .npw = KERN_MIN(st, s->kw),
        .ph = KERN_DIV_UP(s->h + 2 * s->pad, st),
        .pw = KERN_DIV_UP(s->w + 2 * s->pad, st),
        .copy = st != 1 || s->pad != 0,
    };
    g.ps = cb, g.rs = g.pw * cb;
    g.image = g.nb * g.nph * g.npw * g.ph * g.pw * cb;
    return g;
}

/* Phase columns [*j0, *j1) read source columns st * j + pc - pad in [0, w). */
static void bww_valid(size_t w, size_t st, size_t pc, size_t pad, size_t pw,
                      size_t *j0, size_t *j1)
{
    *j0 = pad > pc ? KERN_DIV_UP(pad - pc, st) : 0;
    *j1 = w + pad > pc ? KERN_MIN(pw, KERN_DIV_UP(w + pad - pc, st)) : 0;
    *j1 = KERN_MAX(*j0, *j1);
}

/* One phase row: zeros, then source pixels st apart from r (the source
 * of column j0), then zeros; all zeros if r is NULL. */
static void bww_row(float *restrict d, const float *restrict r, size_t cb,
                    size_t st, size_t j0, size_t j1, size_t pw)
{
    for (size_t i = 0; i < j0 * cb; i++)
        d[i] = 0.0f;
    if (r && cb == 8)
        for (size_t j = j0; j < j1; j++)
            for (size_t k = 0; k < 8; k++)
                d[j * 8 + k] = r[(j - j0) * st * 8 + k];
    else if (r)
        for (size_t j = j0; j < j1; j++)
            d[j] = r[(j - j0) * st];
    else
        for (size_t i = j0 * cb; i < j1 * cb; i++)
            d[i] = 0.0f;
    for (size_t i = j1 * cb; i < pw * cb; i++)
        d[i] = 0.0f;
}

/* (nb, h, w, cb) -> (nb, nph, npw, prow, pw, cb), padded and phase-split:
 * blocks [b0, b1) and phase rows [i0, i1) of one image, row i at i - i0
 * of planes of prow rows. */
static void bww_split(const kern_conv_shape *s, const bww_geom *g,
                      float *restrict dst, const float *restrict src,
                      size_t b0, size_t b1, size_t i0, size_t i1, size_t prow)
{
    size_t st = s->stride, cb = g->cb, pad = s->pad;
    for (size_t b = b0; b < b1; b++)
        for (size_t pa = 0; pa < g->nph; pa++)
            for (size_t pc = 0; pc < g->npw; pc++) {
                size_t j0, j1;
                bww_valid(s->w, st, pc, pad, g->pw, &j0, &j1);
                size_t x0 = st * j0 + pc - pad; // source column of j0
                for (size_t i = i0; i < i1; i++) {
                    float *d = dst + (((b * g->nph + pa) * g->npw + pc) *
                                      prow + i - i0) * g->pw * cb;
                    size_t y = st * i + pa;
                    const float *r = NULL;
                    if (y >= pad && y - pad < s->h && j1 > j0)
                        r = src + ((b * s->h + y - pad) * s->w + x0) * cb;
                    bww_row(d, r, cb, st, j0, j1, g->pw);
                }
            }
}

typedef struct bww_ctx {
    const kern_conv_shape *s;
    bww_geom g;
    float *dweight;
    const float *inp, *dout;
    float *xs, *dwb;           // (N, split input), (OC/16, items, 16)
    const float *x;            // xs, or inp when there is no copy
    char *bufs;                // gather: per thread, imgs x rimage floats
    size_t buf_bytes, rrows, rimage; // phase rows and floats of a run image
    const ptrdiff_t *item_off; // (items) input offset of (c, kh, kw)
    size_t sg;                 // 16-channel groups per task
    size_t isplit;             // item ranges per group range (tasks)
} bww_ctx;

static void bww_split_task(void *vctx, size_t n, size_t thread)
{
    const bww_ctx *c = vctx;
    const kern_conv_shape *s = c->s;
    bww_split(s, &c->g, c->xs + n * c->g.image,
              c->inp + n * s->ic * s->h * s->w, 0, c->g.nb, 0, c->g.ph,
              c->g.ph);
}

/* Pixels per microkernel call: enough to amortise loading and storing the
 * 12 accumulators, few enough for the dout run (64 bytes a pixel) and the
 * input run to stay in L1 while every item of the group reads them. */
#define BWW_PIXELS 256

/* The next run's input and dout, fetched into L2 a slice per microkernel
 * call of the current run, so that the run's first calls do not wait on L3
 * line by line (stride 1, runs of rows: each run's 20-30 KB of dout and
 * input are used by every tuple of items, then never again). */
#define BWW_PF_SEGS (64 + 8)

/* A segment: reps runs of `bytes`, `step` bytes apart (one per image). */
typedef struct bww_pf {
    const char *p[BWW_PF_SEGS];
    size_t bytes[BWW_PF_SEGS], step[BWW_PF_SEGS];
    size_t n, reps, seg, rep, off, total;
} bww_pf;

static void bww_pf_add(bww_pf *f, const float *p, size_t floats,
                       size_t step_floats)
{
    if (f->n < BWW_PF_SEGS) {
        f->p[f->n] = (const char *)p, f->bytes[f->n] = floats * sizeof(float);
        f->step[f->n++] = step_floats * sizeof(float);
        f->total += f->reps * floats * sizeof(float);
    }
}

static void bww_pf_step(bww_pf *f, size_t lines)
{
    for (; lines > 0 && f->seg < f->n; lines--) {
        __builtin_prefetch(f->p[f->seg] + f->rep * f->step[f->seg] + f->off,
                           0, 2);
        if ((f->off += 64) < f->bytes[f->seg])
            continue;
        f->off = 0;
        if (++f->rep == f->reps)
            f->seg++, f->rep = 0;
    }
}

/* Stride 1, runs of whole rows: output rows [y0, y1) of images [n0, n1),
 * as f: the input rows they read in every block that items [i0, i1)
 * reach (of the padded copy of the batch where there is one, else of the
 * source, which the run's gather, if any, reads) and the dout blocks of
 * channels [g0, g1). */
static bww_pf *bww_pf_rows(bww_pf *f, const bww_ctx *c, size_t n0, size_t n1,
                           size_t y0, size_t y1, size_t g0, size_t g1,
                           size_t i0, size_t i1)
{
    const kern_conv_shape *s = c->s;
    const bww_geom *g = &c->g;
    size_t px = s->oh * s->ow, dimg = s->oc * px;
    size_t plane = g->ph * g->pw * g->cb, image = g->image, row = g->rs;
    size_t r0 = y0, r1 = y1 - 1 + s->kh; // rows of the padded copy
    if (c->x == c->inp) { // the source: rows pad up, clipped to the image
        plane = s->h * s->w * g->cb, image = s->ic * s->h * s->w;
        row = s->w * g->cb;
        r0 = y0 > s->pad ? y0 - s->pad : 0;
        r1 = KERN_MIN(s->h, r1 - s->pad);
    }
    const float *x = c->x + n0 * image + r0 * row;
    const float *d = c->dout + n0 * dimg + y0 * s->ow * 8;
    f->n = f->seg = f->rep = f->off = f->total = 0;
    f->reps = n1 - n0;
    size_t taps = s->kh * s->kw;
    for (size_t b = i0 / taps / g->cb; b <= (i1 - 1) / taps / g->cb; b++)
        bww_pf_add(f, x + b * plane, (r1 - r0) * row, image);
    for (size_t k = g0 / 8; k < g1 / 8; k++)
        bww_pf_add(f, d + k * px * 8, (y1 - y0) * s->ow * 8, dimg);
    return f;
}

/* Adds the blocked gradient of channels [g0, g1) (16-channel groups, items
 * per channel; `parts` copies part_floats apart, summed in order) into
 * OIHW: item i of channel g16 + j goes to dweight[(g16 + j) * items + i].
 * In tiles of 16 items: the tile's 1 KB of dwb stays in L1 while each
 * channel's 16 items are added in one contiguous run. */
static void bww_scatter(float *dweight, const float *dwb, size_t oc,
                        size_t items, size_t parts, size_t part_floats,
                        size_t g0, size_t g1, size_t lo, size_t hi)
{
    for (size_t g16 = g0; g16 < g1; g16 += 16) {
        size_t gw = KERN_MIN(16, oc - g16);
        const float *gb = dwb + g16 * items;
        for (size_t i0 = lo; i0 < hi; i0 += 16) {
            size_t i1 = KERN_MIN(hi, i0 + 16);
            for (size_t j = 0; j < gw; j++) {
                float *d = dweight + (g16 + j) * items;
                for (size_t i = i0; i < i1; i++) {
                    const float *p = gb + i * gw + j;
                    float sum = p[0];
                    for (size_t k = 1; k < parts; k++)
                        sum += p[k * part_floats];
                    d[i] += sum;
                }
            }
        }
    }
}

/* One run of pixels (a->in, a->rows, a->ow, strides set; dout at block 0)
 * for groups [g0, g1): items [i0, i1), in balanced tuples of up to 6; pf
 * (may be NULL): the next run, fetched across the calls; scatter (the
 * task's last run): each tuple added into OIHW right after its call, from
 * L1. */
static void bww_run(const bww_ctx *c, kern_conv_bwdw_args *a,
                    const float *dout, size_t g0, size_t g1, size_t i0,
                    size_t i1, bww_pf *pf, bool scatter)
{
    const kern_conv_shape *s = c->s;
    size_t items = bwdw_items(s), nt = KERN_DIV_UP(i1 - i0, KERN_CONV_MR);
    size_t calls = KERN_DIV_UP(g1 - g0, pairs(s) ? 32 : 16) * nt;
    size_t per_call = pf ? KERN_DIV_UP(pf->total / 64 + 1, calls) : 0;
    for (size_t g16 = g0, ng; g16 < g1; g16 += ng * 16) {
        size_t gw = KERN_MIN(16, s->oc - g16);
        float *dwb = c->dwb + g16 * items;
        ng = unit_groups(s, g16 / 16, KERN_DIV_UP(g1, 16), s->oc);
        a->g = ng * gw / 8, a->dw_rs = gw, a->dw_gstride = 16 * items;
        a->dout = dout + g16 * s->oh * s->ow;
        for (size_t t = 0; t < nt; t++) {
            size_t i = i0 + t * (i1 - i0) / nt;
            a->b = i0 + (t + 1) * (i1 - i0) / nt - i;
            a->in_off = c->item_off + i;
            a->dw = dwb + i * gw;
            if (pf)
                bww_pf_step(pf, per_call);
            table.bwdw(a);
            if (scatter)
                bww_scatter(c->dweight, c->dwb, s->oc, items, 1, 0, g16,
                            KERN_MIN(s->oc, g16 + ng * 16), i, i + a->b);
        }
    }
}

/* Stride 1: runs of whole rows per image, the fewest whose every run
 * keeps its dout (2 blocks) and the input its taps read (with the rows
 * below the run that the taps reach) within BWW_L1_BYTES, so both stay in
 * L1 while all items of the group pass over them: layer1 3 rows (was 4 of
 * 256 pixels, 25 KB), layer2 5-6 (was 7, 21 KB), layer3 and layer4 whole
 * images as before; layer1 and layer2 measured 6% faster (paired A/B),
 * layer3 as 7-row runs 3.5% slower (more accumulator reloads). The
 * stride-2 3x3s and the stem, also over the budget (41 and 23 KB), did not
 * gain from it (0.97-1.0x) and keep runs of about BWW_PIXELS. */
#define BWW_L1_BYTES (20 * 1024 + 512)

static size_t bww_row_runs(const kern_conv_shape *s, const bww_geom *g)
{
    size_t halo = (s->kh - 1) / s->stride, in_row = g->nph * g->npw * g->rs;
    for (size_t runs = 1;; runs++) {
        size_t r = KERN_DIV_UP(s->oh, runs);
        size_t bytes = (r * s->ow * 16 + (r + halo) * in_row) * sizeof(float);
        if (bytes <= BWW_L1_BYTES || r == 1)
            return runs;
    }
}

/* Whole images a run (layer3, layer4 and their stride-2 first convs): a
 * call takes as many images as BWW_IMG_BYTES holds of its dout and of one
 * input block (all its phases), so its accumulators stay in registers
 * across them and the gradient tile is loaded and stored once per set of
 * images, not once per image: layer4 3 images (0.80 -> 0.83x oneDNN,
 * medians of 7 alternating runs; 1, 2 and 5 images 0.81-0.86, all 16
 * 0.74: dout then streams from L2), layer4.0.conv1 2 (0.86 -> 0.93x),
 * layer3 and layer3.0.conv1 1. */
#define BWW_IMG_BYTES (32 * 1024)

/* Whole images a run: images per microkernel call, as many as
 * BWW_IMG_BYTES holds of dout (a call's channels) and one input block. */
static size_t bww_run_images(const kern_conv_shape *s, const bww_geom *g)
{
    size_t ch = pairs(s) ? 32 : 16, halo = (s->kh - 1) / s->stride;
    size_t in_row = g->nph * g->npw * g->rs;
    size_t bytes = (s->oh * s->ow * ch + (s->oh + halo) * in_row) *
                   sizeof(float);
    return KERN_MAX(1, KERN_MIN(s->n, BWW_IMG_BYTES / bytes));
}

/* Runs of the row path (not flat: the input rows have gaps): whole rows,
 * as many as BWW_L1_BYTES holds at stride 1, about BWW_PIXELS otherwise. */
static size_t bww_row_path_runs(const kern_conv_shape *s, const bww_geom *g)
{
    return s->stride == 1 ? bww_row_runs(s, g)
                          : KERN_DIV_UP(s->oh, KERN_MAX(1, BWW_PIXELS / s->ow));
}

static bool bww_flat(const kern_conv_shape *s, const bww_geom *g)
{
    return g->rs == s->ow * g->ps;
}

/* Images per set of a run (several when a run is a whole image). */
static size_t bww_set_images(const kern_conv_shape *s, const bww_geom *g)
{
    return bww_row_path_runs(s, g) == 1 ? bww_run_images(s, g) : 1;
}

/* Where an image is several runs of rows (layer1, layer2 and
 * layer2.0.conv1), each run's input (its phase rows, padded and split, of
 * the blocks the task's items read) is gathered into a per-thread buffer
 * right before it is reduced, instead of the whole batch being split into
 * scratch up front: that pass wrote a padded copy of the input to memory
 * (7-14% of these layers' time), which every task then read back. Each
 * task gathers its own copy, so the tasks are made as large as the
 * threads allow (kern_conv_backward_weights). Ratio to oneDNN, medians of 3
 * alternating runs, batch 16, 2 threads: layer1 0.95 -> 0.98, layer2
 * 0.91 -> 0.95, layer2.0.conv1 0.81 -> 0.87 (0.75 with the old task
 * sizes). Whole-image runs keep the batch split: gathered, layer3 and
 * layer3.0.conv1 measured the same, layer4.0.conv1 0.91 -> 0.87; the
 * stem's plain planes (one float a pixel, stride 2) 1.08 -> 0.94. */
static bool bww_gathers(const kern_conv_shape *s, const bww_geom *g)
{
    return g->copy && !bww_flat(s, g) && g->cb == 8 &&
           bww_row_path_runs(s, g) > 1;
}

/* Phase rows of a gathered run: its output rows and the rows below that
 * the taps reach. */
static size_t bww_run_rows(const kern_conv_shape *s, const bww_geom *g)
{
    return KERN_DIV_UP(s->oh, bww_row_path_runs(s, g)) +
           (s->kh - 1) / s->stride;
}

static size_t bww_scratch(const kern_conv_shape *s, const kern_pool *pool)
{
    bww_geom g = bww_geom_of(s);
    size_t copy = 0;
    if (bww_gathers(s, &g))
        copy = kern_pool_threads(pool) *
               kern_align_up(bww_set_images(s, &g) * g.nb * g.nph * g.npw *
                             bww_run_rows(s, &g) * g.pw * g.cb *
                             sizeof(float));
    else if (g.copy)
        copy = kern_align_up(s->n * g.image * sizeof(float));
    return copy + kern_align_up(s->oc * bwdw_items(s) * sizeof(float)) +
           kern_align_up(bwdw_items(s) * sizeof(ptrdiff_t));
}

/* Bytes of blocked gradient per task (items cut into ranges to fit). */
#define BWW_DW_BYTES (384 * 1024)

/* A task: sg consecutive 16-channel groups and one range of items over the
 * whole batch, in runs of pixels, so each run of input is read from memory
 * once and reused from cache by every group of the task: whole rows, as
 * many as BWW_L1_BYTES holds at stride 1 (bww_row_runs; whole images
 * several to a call, bww_run_images), about BWW_PIXELS otherwise. When
 * input rows follow each other with no gap (pw == ow: 1x1, pad 0) the
 * plane is flattened into runs of up to BWW_PIXELS, and images that small
 * are taken several to a call. The first run's calls start from zero (no
 * clearing pass), the last run's tuples go to OIHW as they finish (no
 * pass over the blocked gradient after: it had been 9% of layer4's time). */
static void bww_task(void *vctx, size_t task, size_t thread)
{
    const bww_ctx *c = vctx;
    const kern_conv_shape *s = c->s;
    const bww_geom *g = &c->g;
    size_t items = bwdw_items(s), px = s->oh * s->ow;
    size_t gt = task / c->isplit, it = task % c->isplit;
    size_t g0 = gt * c->sg * 16, g1 = KERN_MIN(s->oc, g0 + c->sg * 16);
    size_t i0 = it * items / c->isplit, i1 = (it + 1) * items / c->isplit;
    size_t dimg = s->oc * px;
    kern_conv_bwdw_args a = {
        .dout_bstride = px * 8, .in_ps = g->ps, .ow = s->ow,
        .in_rs = g->rs, .dout_rs = s->ow * 8,
        .imgs = 1, .in_is = g->image, .dout_is = dimg,
    };
    if (g->rs == s->ow * g->ps && px <= BWW_PIXELS) {
        size_t runs = KERN_DIV_UP(s->n, BWW_PIXELS / px);
        a.ow = px, a.in_rs = g->image, a.dout_rs = dimg;
        for (size_t r = 0; r < runs; r++) {
            size_t n0 = r * s->n / runs;
            a.rows = (r + 1) * s->n / runs - n0;
            a.in = c->x + n0 * g->image;
            a.zero = r == 0;
            bww_run(c, &a, c->dout + n0 * dimg, g0, g1, i0, i1, NULL,
                    r + 1 == runs);
        }
        return;
    }
    /* runs of whole rows, or (flat) of pixels */
    bool flat = bww_flat(s, g), gather = bww_gathers(s, g);
    size_t len = flat ? px : s->oh;
    size_t runs = flat ? KERN_DIV_UP(px, BWW_PIXELS) : bww_row_path_runs(s, g);
    size_t din = flat ? 8 : s->ow * 8, xin = flat ? g->ps : a.in_rs;
    bool fetch = !flat && g->nph == 1 && g->npw == 1; // stride 1
    /* whole images a run: several a call (bww_run_images) */
    size_t sets = flat ? s->n : KERN_DIV_UP(s->n, bww_set_images(s, g));
    float *buf = (float *)(c->bufs + thread * c->buf_bytes);
    size_t simg = s->ic * s->h * s->w;
    bww_pf pf;
    for (size_t k = 0; k < sets; k++)
        for (size_t r = 0; r < runs; r++) {
            size_t n0 = k * s->n / sets, n1 = (k + 1) * s->n / sets;
            size_t p0 = r * len / runs, p1 = (r + 1) * len / runs;
            if (flat)
                a.rows = 1, a.ow = p1 - p0;
            else
                a.rows = p1 - p0;
            a.imgs = n1 - n0;
            a.in = c->x + n0 * g->image + p0 * xin;
            if (gather) { // the blocks the task's items read
                size_t q1 = KERN_MIN(g->ph, p0 + c->rrows);
                size_t taps = s->kh * s->kw;
                for (size_t n = n0; n < n1; n++)
                    bww_split(s, g, buf + (n - n0) * c->rimage,
                              c->inp + n * simg, i0 / taps / g->cb,
                              (i1 - 1) / taps / g->cb + 1, p0, q1, c->rrows);
                a.in = buf, a.in_is = c->rimage;
            }
            size_t nk = r + 1 < runs ? k : k + 1, nr = r + 1 < runs ? r + 1 : 0;
            bww_pf *next = fetch && nk < sets
                ? bww_pf_rows(&pf, c, nk * s->n / sets, (nk + 1) * s->n / sets,
                              nr * len / runs, (nr + 1) * len / runs, g0, g1,
                              i0, i1)
                : NULL;
            a.zero = k == 0 && r == 0;
            bww_run(c, &a, c->dout + n0 * dimg + p0 * din, g0, g1, i0, i1,
                    next, k + 1 == sets && r + 1 == runs);
        }
}

// --- backward-weights, 1x1 with stride: the input gathered per run ---------

/* A 1x1 convolution with stride > 1 reads every stride-th pixel of every
 * stride-th row. Copying those for the whole batch up front (bww_split)
 * writes them to memory and reads them back: a third of the pass for the
 * shortcuts. Here each run of output pixels is gathered into a per-thread
 * buffer just before it is reduced, so it stays in L2 while every output
 * channel reads it. Every input pixel should be gathered once, and the
 * result must be the same for any thread count. Two ways, by which costs
 * less:
 * - parts (layer2: dout over BWF_DOUT_RATIO times the gradient): the batch
 *   cut into BWF_PARTS fixed image ranges, one task each gathering all
 *   input channels of its images in runs of about BWW_PIXELS, the kernel
 *   as in bww_run (items: input channels), each part into its own blocked
 *   gradient, the parts added in order into OIHW at the end;
 * - one part (layer3, layer4): tasks by input-channel ranges (16-channel
 *   groups), each gathering only its own channels over the whole batch,
 *   and the kernel with its roles swapped (conv-internal.h): items are up
 *   to 6 output channels (broadcast from dout), lanes 16 gathered input
 *   channels, so it adds rows of the OIHW gradient in place: no partial
 *   gradients to clear, sum and transpose. Each task reads all of dout,
 *   which streams (the tuple's run stays in L1 while the task's groups
 *   read it). Runs hold whole images up to BWF_RUN_BYTES of gathered
 *   input (layer4 8 images, layer3 4; the buffer stays in L2 with the
 *   dout stream passing).
 * Measured against (in-process A/B, 2 threads, batch 16): one part split
 * by output channels (every task gathering all input channels of the
 * batch) layer4 4-6% slower; layer3 in two parts 7% slower; runs of
 * BWW_PIXELS instead of BWF_RUN_BYTES layer4 5% and layer3 12% slower;
 * layer2 as one part 6% slower (its 6.4 MB dout read by both threads). */
#define BWF_PARTS 2
#define BWF_DOUT_RATIO 64
#define BWF_RUN_BYTES (200 * 1024)

static bool bwf_applies(const kern_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->pad == 0 && s->stride > 1 &&
           !kern_conv_plain_input(s);
}

static size_t bwf_parts(const kern_conv_shape *s)
{
    size_t dout = s->n * s->oc * s->oh * s->ow, grad = s->oc * s->ic;
    return s->n >= BWF_PARTS && dout > BWF_DOUT_RATIO * grad ? BWF_PARTS : 1;
}

/* A run: whole images when a plane fits the run (imgs of them), else
 * `band` output rows of one image. cap: pixels of the largest run; chans:
 * input channels gathered per task; isplit: input-channel ranges (one
 * part). */
typedef struct bwf_geom {
    size_t imgs, band, cap, chans, isplit;
} bwf_geom;

static bwf_geom bwf_geom_of(const kern_conv_shape *s, const kern_pool *pool)
{
    size_t px = s->oh * s->ow, groups = KERN_DIV_UP(s->ic, 16);
    bwf_geom r = {.isplit = 1, .chans = s->ic};
    size_t pixels = BWW_PIXELS;
    if (bwf_parts(s) == 1) {
        r.isplit = KERN_MIN(groups, kern_pool_threads(pool));
        r.chans = KERN_MIN(s->ic, KERN_DIV_UP(groups, r.isplit) * 16);
        pixels = KERN_MAX(pixels, BWF_RUN_BYTES / (r.chans * sizeof(float)));
    }
    if (px <= pixels) {
        r.imgs = KERN_MIN(s->n, pixels / px);
        r.cap = r.imgs * px;
    } else {
        size_t runs = KERN_DIV_UP(s->oh, KERN_MAX(1, pixels / s->ow));
        r.band = KERN_DIV_UP(s->oh, runs);
        r.cap = r.band * s->ow;
    }
    return r;
}

/* per thread a run buffer; per part a blocked gradient (split only); the
 * input-channel and output-channel offsets */
static size_t bwf_scratch(const kern_conv_shape *s, const kern_pool *pool)
{
    bwf_geom r = bwf_geom_of(s, pool);
    size_t threads = kern_pool_threads(pool), parts = bwf_parts(s);
    return threads * kern_align_up(r.chans * r.cap * sizeof(float)) +
           (parts > 1 ? parts : 0) *
               kern_align_up(s->oc * s->ic * sizeof(float)) +
           kern_align_up((s->ic + s->oc) * sizeof(ptrdiff_t));
}

typedef struct bwf_ctx {
    bww_ctx w;          // dwb: part 0's blocked gradient (split)
    const ptrdiff_t *oc_off; // (OC) dout offset of channel o at pixel 0
    bwf_geom r;
    char *bufs;         // per thread: (chans/8, cap, 8)
    size_t buf_bytes, part_floats, parts;
} bwf_ctx;

/* Gathers output rows [y0, y1) of images [n0, n1) of input blocks
 * [b0, b1) (input rows and columns stride apart) into buf (b1 - b0, cap,
 * 8), pixels in image, row, column order. */
static void bwf_gather(const kern_conv_shape *s, size_t cap, float *buf,
                       const float *inp, size_t b0, size_t b1, size_t n0,
                       size_t n1, size_t y0, size_t y1)
{
    size_t st = s->stride, plane = s->h * s->w * 8;
    /* the same column two used rows on: a row is a short stream (28 lines
     * for the largest shortcut) that the hardware prefetcher barely ramps
     * up on before the next jump */
    size_t ahead = 2 * st * s->w * 8;
    for (size_t b = b0; b < b1; b++) {
        float *restrict d = buf + (b - b0) * cap * 8;
        for (size_t n = n0; n < n1; n++)
            for (size_t y = y0; y < y1; y++) {
                const float *restrict r = inp + (n * s->ic / 8 + b) * plane +
                                          st * y * s->w * 8;
                for (size_t x = 0; x < s->ow; x++, d += 8) {
                    __builtin_prefetch(r + st * x * 8 + ahead);
                    *(px8 *)d = *(const px8 *)(r + st * x * 8);
                }
            }
    }
}

/* A gathered run of input channels [i0, i1), roles swapped: every output
 * channel in tuples of up to 6, each over the range's 16-channel groups
 * (the tuple's dout run stays in L1, the gathered run in L2); a->in at
 * the run's dout. */
static void bwf_swapped(const bwf_ctx *f, kern_conv_bwdw_args *a,
                        const float *buf, size_t i0, size_t i1)
{
    const kern_conv_shape *s = f->w.s;
    size_t nt = KERN_DIV_UP(s->oc, KERN_CONV_MR);
    for (size_t t = 0; t < nt; t++) {
        size_t o = t * s->oc / nt;
        a->b = (t + 1) * s->oc / nt - o;
        a->in_off = f->oc_off + o;
        for (size_t i16 = i0; i16 < i1; i16 += 16) {
            a->g = KERN_MIN(16, i1 - i16) / 8;
            a->dout = buf + (i16 - i0) * f->r.cap;
            a->dw = f->w.dweight + o * s->ic + i16;
            table.bwdw(a);
        }
    }
}

/* One gathered run (a->rows, a->ow set): split, every output group over
 * it into the part's blocked gradient; else the swapped tuples. */
static void bwf_reduce(const bwf_ctx *f, const bww_ctx *c,
                       kern_conv_bwdw_args a, const float *buf,
                       const float *dout, size_t i0, size_t i1)
{
    const kern_conv_shape *s = f->w.s;
    size_t px = s->oh * s->ow, dimg = s->oc * px;
    if (f->parts > 1) {
        a.in = buf, a.in_ps = 8, a.in_rs = px * 8;
        a.dout_bstride = px * 8, a.dout_rs = dimg;
        bww_run(c, &a, dout, 0, s->oc, 0, s->ic, NULL, false);
        return;
    }
    a.in = dout, a.in_ps = 8, a.in_rs = dimg;
    a.dout_bstride = f->r.cap * 8, a.dout_rs = px * 8, a.dw_rs = s->ic;
    bwf_swapped(f, &a, buf, i0, i1);
}

/* Task (part, input-channel range): the part's images in runs, each
 * gathered (the range's blocks), then reduced. */
static void bwf_task(void *vctx, size_t task, size_t thread)
{
    const bwf_ctx *f = vctx;
    const kern_conv_shape *s = f->w.s;
    size_t isplit = f->r.isplit, groups = KERN_DIV_UP(s->ic, 16);
    size_t part = task / isplit, is = task % isplit;
    size_t i0 = is * groups / isplit * 16;
    size_t i1 = KERN_MIN(s->ic, (is + 1) * groups / isplit * 16);
    bww_ctx c = f->w;
    if (f->parts > 1) {
        c.dwb = f->w.dwb + part * f->part_floats;
        for (size_t i = 0; i < s->oc * s->ic; i++)
            c.dwb[i] = 0.0f;
    }
    float *buf = (float *)(f->bufs + thread * f->buf_bytes);
    size_t n0 = part * s->n / f->parts, n1 = (part + 1) * s->n / f->parts;
    size_t px = s->oh * s->ow, dimg = s->oc * px;
    kern_conv_bwdw_args a = {.imgs = 1};
    if (f->r.imgs) {
        /* the kernel's rows are images */
        size_t runs = KERN_DIV_UP(n1 - n0, f->r.imgs);
        a.ow = px;
        for (size_t i = 0; i < runs; i++) {
            size_t m0 = n0 + i * (n1 - n0) / runs;
            size_t m1 = n0 + (i + 1) * (n1 - n0) / runs;
            bwf_gather(s, f->r.cap, buf, f->w.inp, i0 / 8, i1 / 8, m0, m1, 0,
                       s->oh);
            a.rows = m1 - m0;
            bwf_reduce(f, &c, a, buf, f->w.dout + m0 * dimg, i0, i1);
        }
        return;
    }
    /* one flat run of whole output rows (dout rows are contiguous) */
    a.rows = 1;
    for (size_t n = n0; n < n1; n++)
        for (size_t y0 = 0; y0 < s->oh; y0 += f->r.band) {
            size_t y1 = KERN_MIN(s->oh, y0 + f->r.band);
            bwf_gather(s, f->r.cap, buf, f->w.inp, i0 / 8, i1 / 8, n, n + 1,
                       y0, y1);
            a.ow = (y1 - y0) * s->ow;
            bwf_reduce(f, &c, a, buf, f->w.dout + n * dimg + y0 * s->ow * 8,
                       i0, i1);
        }
}

/* Split: adds the parts, in order, into OIHW. */
static void bwf_scatter_task(void *vctx, size_t task, size_t thread)
{
    const bwf_ctx *f = vctx;
    const kern_conv_shape *s = f->w.s;
    (void)thread;
    bww_scatter(f->w.dweight, f->w.dwb, s->oc, s->ic, f->parts,
                f->part_floats, task * 16, KERN_MIN(s->oc, task * 16 + 16), 0,
                s->ic);
}

static void bwf_run(const kern_conv_shape *s, float *dweight, const float *inp,
                    const float *dout, void *scratch, const kern_pool *pool)
{
    size_t threads = kern_pool_threads(pool);
    bwf_ctx f = {.r = bwf_geom_of(s, pool), .parts = bwf_parts(s)};
    f.w = (bww_ctx){.s = s, .dweight = dweight, .inp = inp, .dout = dout,
                    .isplit = 1};
    char *p = scratch;
    f.bufs = p;
    f.buf_bytes = kern_align_up(f.r.chans * f.r.cap * sizeof(float));
    p += threads * f.buf_bytes;
    f.w.dwb = (float *)p;
    f.part_floats = kern_align_up(s->oc * s->ic * sizeof(float)) /
                    sizeof(float);
    p += (f.parts > 1 ? f.parts : 0) * f.part_floats * sizeof(float);
    ptrdiff_t *off = (ptrdiff_t *)p;
    for (size_t i = 0; i < s->ic; i++)
        off[i] = (ptrdiff_t)((i / 8) * f.r.cap * 8 + i % 8);
    for (size_t o = 0; o < s->oc; o++)
        off[s->ic + o] = (ptrdiff_t)((o / 8) * s->oh * s->ow * 8 + o % 8);
    f.w.item_off = off;
    f.oc_off = off + s->ic;
    kern_parallel_for(pool, bwf_task, &f, f.parts * f.r.isplit);
    if (f.parts > 1)
        kern_parallel_for(pool, bwf_scatter_task, &f,
                          KERN_DIV_UP(s->oc, 16));
}

void kern_conv_backward_weights(const kern_conv_shape *s, float *dweight,
                                const float *inp, const float *dout,
                                void *scratch, const kern_pool *pool)
{
    KERN_ASSERT(s->oc % 8 == 0);
    if (bwf_applies(s)) {
        bwf_run(s, dweight, inp, dout, scratch, pool);
        return;
    }
    bww_geom g = bww_geom_of(s);
    size_t items = bwdw_items(s), taps = s->kh * s->kw, st = s->stride;
    char *p = scratch;
    bww_ctx c = {.s = s, .g = g, .dweight = dweight, .inp = inp,
                 .dout = dout};
    bool gather = bww_gathers(s, &g);
    size_t plane = g.ph * g.pw * g.cb;
    if (gather) {
        c.rrows = bww_run_rows(s, &g);
        c.rimage = g.nb * g.nph * g.npw * c.rrows * g.pw * g.cb;
        c.buf_bytes = kern_align_up(bww_set_images(s, &g) * c.rimage *
                                    sizeof(float));
        c.bufs = p;
        p += kern_pool_threads(pool) * c.buf_bytes;
        plane = c.rrows * g.pw * g.cb;
        c.x = inp; // not read: each run reads its buffer
    } else {
        c.xs = (float *)p;
        c.x = g.copy ? c.xs : inp;
        p += kern_align_up((g.copy ? s->n * g.image : 0) * sizeof(float));
    }
    c.dwb = (float *)p;
    p += kern_align_up(s->oc * items * sizeof(float));
    ptrdiff_t *off = (ptrdiff_t *)p;
    for (size_t i = 0; i < items; i++) {
        size_t ch = i / taps, t = i % taps;
        size_t kh = t / s->kw, kw = t % s->kw;
        size_t phase = ((ch / g.cb) * g.nph + kh % st) * g.npw + kw % st;
        off[i] = (ptrdiff_t)(phase * plane + ch % g.cb +
                             ((kh / st) * g.pw + kw / st) * g.cb);
    }
    c.item_off = off;
    if (g.copy && !gather)
        kern_parallel_for(pool, bww_split_task, &c, s->n);
    /* up to 4 groups a task while every thread still gets two tasks
     * (with pairs, whole pairs: layer1's 4 groups are 2 tasks); a
     * channel's reduction order does not depend on the grouping, nor on
     * the thread count, as pairs start at even groups in every task */
    size_t groups = KERN_DIV_UP(s->oc, 16);
    c.sg = KERN_MAX(1, KERN_MIN(4, groups / (2 * kern_pool_threads(pool))));
    if (gather) // one task a thread (up to 8 groups: 128 channels)
        c.sg = KERN_MAX(1, KERN_MIN(8, groups / kern_pool_threads(pool)));
    if (pairs(s)) // whole pairs of groups (unit_groups)
        c.sg = KERN_MAX(2, c.sg & ~(size_t)1);
    /* and the items cut into ranges (more tasks) until a task's blocked
     * gradient fits BWW_DW_BYTES, so the tile every call loads and stores
     * comes from L2, not L3: layer4's 1.2 MB in 4 ranges, layer3's 590 KB
     * in 2 (layer4 0.83 -> 0.91x oneDNN, layer3 0.90 -> 0.93; 256 KB the
     * same). A channel's sums do not depend on the ranges. */
    c.isplit = 1;
    while (c.sg * 16 * KERN_DIV_UP(items, c.isplit) * sizeof(float) >
               BWW_DW_BYTES &&
           items / (c.isplit + 1) >= 16 * KERN_CONV_MR)
        c.isplit++;
    kern_parallel_for(pool, bww_task, &c,
                      KERN_DIV_UP(groups, c.sg) * c.isplit);
}
