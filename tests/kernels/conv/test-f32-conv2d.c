/*
 * tests/kernels/conv/test-f32-conv2d.c: direct convolution, every pass and
 * ISA, against the plain-C reference (kern_conv_*__ref, double
 * accumulation), which is itself checked against central finite differences.
 *
 * Tolerance: |got - ref| <= 1e-6 + 3e-5 * sum of |products| (computed by
 * running the reference on |inputs|). A float sum of K products drifts by
 * about sqrt(K) * 6e-8 of that sum (K <= 4608 here: ~4e-6); one missing or
 * misplaced product of a K = 4608 reduction moves it by ~2e-4.
 * Outputs and scratch are NaN-poisoned before every call.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/pool.h"
#include "kernels/conv.h"
#include "tests/support/testutil.h"

#define RTOL 3e-5
#define ATOL 1e-6

// --- shapes --------------------------------------------------------------------

typedef struct conv_case {
    const char *name;
    size_t n, ic, oc, k, stride, h;
    size_t w; // 0: w = h
} conv_case;

/* Every distinct ResNet-34 convolution (pad = k / 2). Under qemu and in the
 * sanitizer build the spatial size and the channel counts shrink (the native
 * check build runs the real ones); the structure (kernel, stride, stem
 * layout) stays. */
#if defined(__aarch64__) || defined(__SANITIZE_ADDRESS__)
static const conv_case resnet[] = {
    {"conv1", 1, 3, 16, 7, 2, 20},
    {"layer1", 1, 16, 16, 3, 1, 10},
    {"layer2.0.conv1", 1, 16, 32, 3, 2, 10},
    {"layer2", 1, 32, 32, 3, 1, 6},
    {"layer2.0.downsample", 1, 16, 32, 1, 2, 10},
    {"layer3.0.conv1", 1, 32, 64, 3, 2, 6},
    {"layer3", 1, 64, 64, 3, 1, 4},
    {"layer3.0.downsample", 1, 32, 64, 1, 2, 6},
    {"layer4.0.conv1", 1, 64, 128, 3, 2, 4},
    {"layer4", 1, 128, 128, 3, 1, 2},
    {"layer4.0.downsample", 1, 64, 128, 1, 2, 4},
};
#else
static const conv_case resnet[] = {
    {"conv1", 1, 3, 64, 7, 2, 224},
    {"layer1", 1, 64, 64, 3, 1, 56},
    {"layer2.0.conv1", 1, 64, 128, 3, 2, 56},
    {"layer2", 1, 128, 128, 3, 1, 28},
    {"layer2.0.downsample", 1, 64, 128, 1, 2, 56},
    {"layer3.0.conv1", 1, 128, 256, 3, 2, 28},
    {"layer3", 1, 256, 256, 3, 1, 14},
    {"layer3.0.downsample", 1, 128, 256, 1, 2, 28},
    {"layer4.0.conv1", 1, 256, 512, 3, 2, 14},
    {"layer4", 1, 512, 512, 3, 1, 7},
    {"layer4.0.downsample", 1, 256, 512, 1, 2, 14},
};
#endif

/* Odd image sizes, batch > 1, 8-channel tail groups (oc or ic = 8 mod 16),
 * every spatial edge. */
static const conv_case odd[] = {
    {"3x3s1 9x9", 2, 16, 16, 3, 1, 9},
    {"3x3s2 13x13", 3, 24, 16, 3, 2, 13},
    {"3x3s2 9x9 oc24", 2, 16, 24, 3, 2, 9},
    {"1x1s2 13x13", 2, 8, 24, 1, 2, 13},
    {"1x1s2 9x9", 1, 32, 16, 1, 2, 9},
    {"3x3s1 1x1 image", 2, 8, 8, 3, 1, 1},
    /* run flat (runs of 6 across row ends): */
    {"3x3s1 2x2 image", 2, 16, 16, 3, 1, 2},
    {"1x1s1 7x7", 2, 16, 16, 1, 1, 7},
    {"3x3s2 2x2 image", 1, 16, 16, 3, 2, 2},
    {"stem 7x7s2 13x13", 2, 3, 16, 7, 2, 13},
    {"stem 7x7s2 odd oc", 1, 3, 8, 7, 2, 11},
    {"plain 3x3s1 9x9 (the c1 kernel)", 2, 3, 16, 3, 1, 9},
    {"3x3s3 11x11 (general pixel step)", 1, 16, 24, 3, 3, 11},
    /* backward-data stride phases cut into weight passes: the 4-tap
     * phase of 22 output blocks runs as 8 + 8 + 6 blocks (16 KB passes of
     * 16 channels a call, or 32 KB of 32), the 8-channel tail group as
     * 16 + 6 (16 KB) */
    {"3x3s2 9x9 oc176 (phase passes)", 2, 40, 176, 3, 2, 9},
    /* across images (>= 6 images, planes <= 64 pixels, >= 4 groups):
     * image sets of 4 + 3 and of 6, 8-channel tail groups, stride phases,
     * the unpadded 1x1 */
    {"3x3s1 7x7 n7 across images", 7, 64, 72, 3, 1, 7},
    {"3x3s2 13x13 n6 across images", 6, 72, 64, 3, 2, 13},
    {"1x1s2 14x14 n6 across images", 6, 64, 64, 1, 2, 14},
    /* stride-1 3x3 read in place (no padded copy; widths whose inner
     * columns take fewer runs of 6 than the row): H != W, widths not a
     * multiple of 6, no inner row (h = 2), several bands of rows (128
     * channels: 20 KB padded rows, bands of 4), an 8-channel tail group */
    {"3x3s1 5x7 in place", 2, 16, 16, 3, 1, 5, 7},
    {"3x3s1 2x8 in place", 2, 16, 16, 3, 1, 2, 8},
    {"3x3s1 9x38 ic128 in place, bands", 1, 128, 24, 3, 1, 9, 38},
    {"3x3s1 9x38 oc128 in place, bands", 1, 24, 128, 3, 1, 9, 38},
};

static kern_conv_shape shape_of(const conv_case *c)
{
    return kern_conv_shape_make(c->n, c->ic, c->oc, c->h, c->w ? c->w : c->h,
                                c->k, c->stride, c->k / 2);
}

// --- helpers -----------------------------------------------------------------------

static float *fresh(size_t n, tu_rng *r)
{
    float *x = tu_alloc(n * sizeof(float));
    tu_fill(r, x, n, -1.0f, 1.0f);
    return x;
}

static float *absdup(const float *x, size_t n)
{
    float *y = tu_alloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        y[i] = fabsf(x[i]);
    return y;
}

static double *to_double(const float *x, size_t n)
{
    double *y = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        y[i] = x[i];
    return y;
}

/* Activations to the kernel layout (NCHW8c, or as they are for c % 8). */
static float *to_kernel(const float *x, size_t n, size_t c, size_t hw)
{
    float *y = tu_alloc(n * c * hw * sizeof(float));
    if (c % 8)
        memcpy(y, x, n * c * hw * sizeof(float));
    else
        kern_conv_nchw_to_nchw8c(y, x, n, c, hw);
    return y;
}

static void check(const char *what, const conv_case *c, kern_isa isa,
                  size_t threads, const float *got, const float *ref,
                  const float *mag, size_t n)
{
    double *r = to_double(ref, n), *m = to_double(mag, n);
    size_t worst = 0;
    bool ok = tu_close(got, r, m, n, RTOL, ATOL, &worst);
    cr_expect(ok, "%s %s (n%zu ic%zu oc%zu k%zu s%zu h%zu) isa %s threads %zu:"
              " worst [%zu] ref %.9g got %.9g mag %.3g", what, c->name, c->n,
              c->ic, c->oc, c->k, c->stride, c->h, kern_isa_name(isa),
              threads, worst, r[worst], got[worst], m[worst]);
    free(r);
    free(m);
}

typedef struct pools {
    kern_pool *two;
} pools;

static const kern_pool *pool_for(size_t threads, pools *p)
{
    if (threads == 1)
        return NULL;
    if (!p->two)
        p->two = harness_pool_create(2);
    cr_assert_not_null(p->two);
    return p->two;
}

static void *scratch_for(const kern_conv_shape *s, kern_conv_pass pass,
                         const kern_pool *pool)
{
    size_t bytes = kern_conv_scratch_size(s, pass, pool);
    void *p = tu_alloc(bytes);
    /* NaN, so that reading a row the driver has not padded yet shows */
    tu_poison_nan(p, bytes / sizeof(float));
    return p;
}

// --- the three passes against the reference ------------------------------------------

static void test_forward(const conv_case *c, uint64_t seed)
{
    kern_conv_shape s = shape_of(c);
    tu_rng rng = tu_rng_seed(seed);
    size_t ni = s.n * s.ic * s.h * s.w, no = s.n * s.oc * s.oh * s.ow;
    size_t nw = s.oc * s.ic * s.kh * s.kw;
    float *x = fresh(ni, &rng), *w = fresh(nw, &rng);
    float *ref = tu_alloc(no * 4), *mag = tu_alloc(no * 4);
    float *ax = absdup(x, ni), *aw = absdup(w, nw);
    kern_conv_forward__ref(&s, ref, x, w);
    kern_conv_forward__ref(&s, mag, ax, aw);
    float *xk = to_kernel(x, s.n, s.ic, s.h * s.w);
    float *wp = tu_alloc(kern_conv_packed_size(&s, KERN_CONV_FORWARD));
    kern_conv_pack_weights(&s, KERN_CONV_FORWARD, wp, w, NULL);
    float *out = tu_alloc(no * 4), *plain = tu_alloc(no * 4);
    kern_isa isas[KERN_ISA_COUNT];
    size_t nisa = tu_isas(isas);
    pools p = {0};
    for (size_t i = 0; i < nisa; i++)
        for (size_t t = 1; t <= 2; t++) {
            kern_init(isas[i]);
            const kern_pool *pool = pool_for(t, &p);
            void *scr = scratch_for(&s, KERN_CONV_FORWARD, pool);
            tu_poison_nan(out, no);
            kern_conv_forward(&s, out, xk, wp, scr, pool);
            kern_conv_nchw8c_to_nchw(plain, out, s.n, s.oc, s.oh * s.ow);
            check("forward", c, isas[i], t, plain, ref, mag, no);
            tu_free(scr);
        }
    if (p.two)
        harness_pool_free(p.two);
    kern_init(KERN_ISA_BEST);
    tu_free(x), tu_free(w), tu_free(ref), tu_free(mag), tu_free(ax);
    tu_free(aw), tu_free(xk), tu_free(wp), tu_free(out), tu_free(plain);
}

static void test_backward_data(const conv_case *c, uint64_t seed)
{
    kern_conv_shape s = shape_of(c);
    tu_rng rng = tu_rng_seed(seed);
    size_t ni = s.n * s.ic * s.h * s.w, no = s.n * s.oc * s.oh * s.ow;
    size_t nw = s.oc * s.ic * s.kh * s.kw;
    float *d = fresh(no, &rng), *w = fresh(nw, &rng), *prior = fresh(ni, &rng);
    float *ref = tu_alloc(ni * 4), *mag = tu_alloc(ni * 4);
    float *ad = absdup(d, no), *aw = absdup(w, nw);
    kern_conv_backward_data__ref(&s, ref, d, w);
    kern_conv_backward_data__ref(&s, mag, ad, aw);
    float *refacc = tu_alloc(ni * 4), *magacc = tu_alloc(ni * 4);
    for (size_t i = 0; i < ni; i++) {
        refacc[i] = (float)((double)ref[i] + prior[i]);
        magacc[i] = mag[i] + fabsf(prior[i]);
    }
    float *dk = to_kernel(d, s.n, s.oc, s.oh * s.ow);
    float *pk = to_kernel(prior, s.n, s.ic, s.h * s.w);
    float *wp = tu_alloc(kern_conv_packed_size(&s, KERN_CONV_BACKWARD_DATA));
    kern_conv_pack_weights(&s, KERN_CONV_BACKWARD_DATA, wp, w, NULL);
    float *dinp = tu_alloc(ni * 4), *plain = tu_alloc(ni * 4);
    kern_isa isas[KERN_ISA_COUNT];
    size_t nisa = tu_isas(isas);
    pools p = {0};
    for (size_t i = 0; i < nisa; i++)
        for (size_t t = 1; t <= 2; t++) {
            kern_init(isas[i]);
            const kern_pool *pool = pool_for(t, &p);
            void *scr = scratch_for(&s, KERN_CONV_BACKWARD_DATA, pool);
            tu_poison_nan(dinp, ni);
            kern_conv_backward_data(&s, dinp, dk, wp, false, scr, pool);
            kern_conv_nchw8c_to_nchw(plain, dinp, s.n, s.ic, s.h * s.w);
            check("backward_data", c, isas[i], t, plain, ref, mag, ni);
            /* accumulate: dinp += */
            memcpy(dinp, pk, ni * 4);
            tu_poison_nan(scr, kern_conv_scratch_size(
                                   &s, KERN_CONV_BACKWARD_DATA, pool) /
                                   sizeof(float));
            kern_conv_backward_data(&s, dinp, dk, wp, true, scr, pool);
            kern_conv_nchw8c_to_nchw(plain, dinp, s.n, s.ic, s.h * s.w);
            check("backward_data accumulate", c, isas[i], t, plain, refacc,
                  magacc, ni);
            tu_free(scr);
        }
    if (p.two)
        harness_pool_free(p.two);
    kern_init(KERN_ISA_BEST);
    tu_free(d), tu_free(w), tu_free(prior), tu_free(ref), tu_free(mag);
    tu_free(ad), tu_free(aw), tu_free(refacc), tu_free(magacc), tu_free(dk);
    tu_free(pk), tu_free(wp), tu_free(dinp), tu_free(plain);
}

static void test_backward_weights(const conv_case *c, uint64_t seed)
{
    kern_conv_shape s = shape_of(c);
    tu_rng rng = tu_rng_seed(seed);
    size_t ni = s.n * s.ic * s.h * s.w, no = s.n * s.oc * s.oh * s.ow;
    size_t nw = s.oc * s.ic * s.kh * s.kw;
    float *x = fresh(ni, &rng), *d = fresh(no, &rng), *prior = fresh(nw, &rng);
    float *ref = tu_alloc(nw * 4), *mag = tu_alloc(nw * 4);
    float *ax = absdup(x, ni), *ad = absdup(d, no);
    memcpy(ref, prior, nw * 4);
    kern_conv_backward_weights__ref(&s, ref, x, d);
    for (size_t i = 0; i < nw; i++)
        mag[i] = fabsf(prior[i]);
    kern_conv_backward_weights__ref(&s, mag, ax, ad);
    float *xk = to_kernel(x, s.n, s.ic, s.h * s.w);
    float *dk = to_kernel(d, s.n, s.oc, s.oh * s.ow);
    float *dw = tu_alloc(nw * 4), *first = tu_alloc(nw * 4);
    kern_isa isas[KERN_ISA_COUNT];
    size_t nisa = tu_isas(isas);
    pools p = {0};
    for (size_t i = 0; i < nisa; i++)
        for (size_t t = 1; t <= 2; t++) {
            kern_init(isas[i]);
            const kern_pool *pool = pool_for(t, &p);
            void *scr = scratch_for(&s, KERN_CONV_BACKWARD_WEIGHTS, pool);
            memcpy(dw, prior, nw * 4);
            kern_conv_backward_weights(&s, dw, xk, dk, scr, pool);
            check("backward_weights", c, isas[i], t, dw, ref, mag, nw);
            /* the same bits for any thread count */
            if (t == 1)
                memcpy(first, dw, nw * 4);
            else
                cr_expect(memcmp(first, dw, nw * 4) == 0,
                          "backward_weights %s isa %s: 1 and 2 threads differ",
                          c->name, kern_isa_name(isas[i]));
            tu_free(scr);
        }
    if (p.two)
        harness_pool_free(p.two);
    kern_init(KERN_ISA_BEST);
    tu_free(x), tu_free(d), tu_free(prior), tu_free(ref), tu_free(mag);
    tu_free(ax), tu_free(ad), tu_free(xk), tu_free(dk), tu_free(dw);
    tu_free(first);
}

#define N_RESNET (sizeof resnet / sizeof resnet[0])
#define N_ODD (sizeof odd / sizeof odd[0])

Test(conv_forward, resnet34_shapes)
{
    for (size_t i = 0; i < N_RESNET; i++)
        test_forward(&resnet[i], 100 + i);
}

Test(conv_forward, odd_shapes)
{
    for (size_t i = 0; i < N_ODD; i++)
        test_forward(&odd[i], 200 + i);
}

Test(conv_backward_data, resnet34_shapes)
{
    for (size_t i = 0; i < N_RESNET; i++)
        if (resnet[i].ic % 8 == 0) /* the stem has no input gradient */
            test_backward_data(&resnet[i], 300 + i);
}

Test(conv_backward_data, odd_shapes)
{
    for (size_t i = 0; i < N_ODD; i++)
        if (odd[i].ic % 8 == 0)
            test_backward_data(&odd[i], 400 + i);
}

Test(conv_backward_weights, resnet34_shapes)
{
    for (size_t i = 0; i < N_RESNET; i++)
        test_backward_weights(&resnet[i], 500 + i);
}

Test(conv_backward_weights, odd_shapes)
{
    for (size_t i = 0; i < N_ODD; i++)
        test_backward_weights(&odd[i], 600 + i);
}

/* Backward-weights paths the shapes above do not reach: 1x1 stride 1 pad 0
 * (the input read in place, whole images per run), a 1x1 stride-2 image
 * longer than one run (bands of rows), stride 3 (9 phases), a plain input
 * with 1 channel, and the parts and splits of the 1x1 strided path;
 * stride-1 images split into runs of rows by the L1 budget (two runs of 8
 * and 7 rows; plain input, 6 runs of 6-7 rows) at sizes the sanitizer and
 * qemu builds also run. */
static const conv_case bwdw_extra[] = {
    {"1x1s1 10x10", 3, 16, 24, 1, 1, 10},
    {"1x1s2 36x36", 2, 8, 16, 1, 2, 36},
    {"3x3s3 11x11", 2, 8, 16, 3, 3, 11},
    {"5x5s2 plain 12x12", 2, 1, 8, 5, 2, 12},
    {"3x3s1 15x15", 2, 16, 16, 3, 1, 15},
    {"5x5s1 plain 40x40", 2, 3, 8, 5, 1, 40},
    /* 1x1 strided, gathered per run (bwf_*): two parts (dout over 64
     * times the gradient) over 3 images in bands of rows, and over 5
     * images in runs of 2 whole images (parts of 2 and 3); one part split
     * by input-channel ranges (ic 40: 16 and 16 + an 8 tail on two
     * threads), in bands of 21 rows, in runs of whole images (2 + 3 on
     * two threads), in one run; stride 3 */
    {"1x1s2 two parts, bands 40x40", 3, 16, 24, 1, 2, 40},
    {"1x1s2 two parts, image runs 22x22", 5, 8, 16, 1, 2, 22},
    {"1x1s2 one part, bands 84x84", 1, 40, 16, 1, 2, 84},
    {"1x1s2 one part, image runs 40x40", 5, 40, 16, 1, 2, 40},
    {"1x1s2 one part 6x6", 2, 40, 48, 1, 2, 6},
    {"1x1s3 7x7", 2, 16, 24, 1, 3, 7},
    /* whole images several to a call (stride 1: 3 + 2, or all 5 with 16
     * channels a call; stride 2: all 5), the items in two ranges (one
     * thread, or 32 channels a call) */
    {"3x3s1 7x7 image sets, item ranges", 5, 384, 64, 3, 1, 7},
    {"3x3s2 8x8 image sets", 5, 32, 64, 3, 2, 8},
};

Test(conv_backward_weights, extra_shapes)
{
    for (size_t i = 0; i < sizeof bwdw_extra / sizeof bwdw_extra[0]; i++)
        test_backward_weights(&bwdw_extra[i], 700 + i);
}

// --- layout and packing ---------------------------------------------------------------

Test(conv_layout, nchw8c_round_trip)
{
    tu_rng rng = tu_rng_seed(7);
    size_t n = 3, c = 24, hw = 13 * 11, len = n * c * hw;
    float *x = fresh(len, &rng), *b = tu_alloc(len * 4), *y = tu_alloc(len * 4);
    tu_poison_nan(b, len);
    kern_conv_nchw_to_nchw8c(b, x, n, c, hw);
    /* element (n, c, p) lives at ((n * C/8 + c/8) * HW + p) * 8 + c % 8 */
    for (size_t i = 0; i < n; i++)
        for (size_t ch = 0; ch < c; ch++)
            for (size_t p = 0; p < hw; p++)
                cr_assert_eq(b[((i * c / 8 + ch / 8) * hw + p) * 8 + ch % 8],
                             x[(i * c + ch) * hw + p]);
    tu_poison_nan(y, len);
    kern_conv_nchw8c_to_nchw(y, b, n, c, hw);
    cr_assert(memcmp(x, y, len * 4) == 0);
    tu_free(x), tu_free(b), tu_free(y);
}

/* The packed order of kernels/README.md: per 16-channel group,
 * [in-block][KH][KW][cb][gw]; backward-data transposed, taps flipped;
 * serial and with the groups spread over two threads. */
static void check_packing(size_t ic, size_t oc, const kern_pool *pool)
{
    kern_conv_shape s = kern_conv_shape_make(1, ic, oc, 5, 5, 3, 1, 1);
    size_t nw = oc * ic * 9;
    float *w = tu_alloc(nw * 4), *p = tu_alloc(nw * 4);
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)i;
    cr_assert_eq(kern_conv_packed_size(&s, KERN_CONV_FORWARD), nw * 4);
    cr_assert_eq(kern_conv_packed_size(&s, KERN_CONV_BACKWARD_WEIGHTS), 0);
    tu_poison_nan(p, nw);
    kern_conv_pack_weights(&s, KERN_CONV_FORWARD, p, w, pool);
    for (size_t o = 0; o < oc; o++)
        for (size_t c = 0; c < ic; c++)
            for (size_t t = 0; t < 9; t++) {
                size_t g = o / 16, gw = KERN_MIN(16, oc - g * 16);
                size_t at = g * 16 * ic * 9 +
                            (((c / 8) * 9 + t) * 8 + c % 8) * gw + o % 16;
                cr_assert_eq(p[at], w[(o * ic + c) * 9 + t],
                             "fwd ic%zu oc%zu: o%zu c%zu t%zu", ic, oc, o, c,
                             t);
            }
    tu_poison_nan(p, nw);
    kern_conv_pack_weights(&s, KERN_CONV_BACKWARD_DATA, p, w, pool);
    for (size_t o = 0; o < oc; o++)
        for (size_t c = 0; c < ic; c++)
            for (size_t t = 0; t < 9; t++) {
                size_t g = c / 16, gw = KERN_MIN(16, ic - g * 16);
                size_t at = g * 16 * oc * 9 +
                            (((o / 8) * 9 + 8 - t) * 8 + o % 8) * gw + c % 16;
                cr_assert_eq(p[at], w[(o * ic + c) * 9 + t],
                             "bwd ic%zu oc%zu: o%zu c%zu t%zu", ic, oc, o, c,
                             t);
            }
    tu_free(w), tu_free(p);
}

/* Backward-data with stride 2 (3x3, pad 1): each group stored phase by
 * phase, (0,0) (0,1) (1,0) (1,1), each [oc/8][its taps][8][gw] with the
 * taps flipped (descending kh, then kw): kernel row 1 reaches the even
 * input-gradient rows, rows 0 and 2 the odd ones (columns alike). */
static void check_packing_s2(size_t ic, size_t oc, const kern_pool *pool)
{
    static const size_t taps[4][4] = {
        {4}, {5, 3}, {7, 1}, {8, 6, 2, 0}};
    static const size_t ntaps[4] = {1, 2, 2, 4}, start[4] = {0, 1, 3, 5};
    kern_conv_shape s = kern_conv_shape_make(1, ic, oc, 6, 6, 3, 2, 1);
    size_t nw = oc * ic * 9;
    float *w = tu_alloc(nw * 4), *p = tu_alloc(nw * 4);
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)i;
    tu_poison_nan(p, nw);
    kern_conv_pack_weights(&s, KERN_CONV_BACKWARD_DATA, p, w, pool);
    for (size_t ph = 0; ph < 4; ph++)
        for (size_t k = 0; k < ntaps[ph]; k++)
            for (size_t o = 0; o < oc; o++)
                for (size_t c = 0; c < ic; c++) {
                    size_t g = c / 16, gw = KERN_MIN(16, ic - g * 16);
                    size_t at = g * 16 * oc * 9 + start[ph] * oc * gw +
                                (((o / 8) * ntaps[ph] + k) * 8 + o % 8) * gw +
                                c % 16;
                    size_t t = taps[ph][k];
                    cr_assert_eq(p[at], w[(o * ic + c) * 9 + t],
                                 "bwd s2 ic%zu oc%zu: o%zu c%zu t%zu", ic, oc,
                                 o, c, t);
                }
    /* and the packer wrote every slot (none left poisoned) */
    for (size_t i = 0; i < nw; i++)
        cr_assert(!isnan(p[i]), "bwd s2 ic%zu oc%zu: slot %zu not written",
                  ic, oc, i);
    tu_free(w), tu_free(p);
}

/* 16 -> 24: one full and one ragged forward group; 72 -> 136: ragged
 * groups in both roles, several input blocks. */
Test(conv_layout, weight_packing)
{
    pools p = {0};
    for (size_t t = 1; t <= 2; t++) {
        const kern_pool *pool = pool_for(t, &p);
        check_packing(16, 24, pool);
        check_packing(72, 136, pool);
        check_packing(136, 72, pool);
        check_packing_s2(24, 16, pool);
        check_packing_s2(40, 24, pool);
    }
    if (p.two)
        harness_pool_free(p.two);
}

// --- the reference against finite differences ------------------------------------------

/* L = sum(out * g): dL/dinp = backward_data(g), dL/dw = backward_weights(g).
 * L is linear, so central differences are exact up to rounding. */
static double loss(const kern_conv_shape *s, const float *x, const float *w,
                   const float *g, float *out)
{
    kern_conv_forward__ref(s, out, x, w);
    double l = 0.0;
    for (size_t i = 0; i < s->n * s->oc * s->oh * s->ow; i++)
        l += (double)out[i] * g[i];
    return l;
}

static void finite_differences(const conv_case *c, uint64_t seed)
{
    kern_conv_shape s = shape_of(c);
    tu_rng rng = tu_rng_seed(seed);
    size_t ni = s.n * s.ic * s.h * s.w, no = s.n * s.oc * s.oh * s.ow;
    size_t nw = s.oc * s.ic * s.kh * s.kw;
    float *x = fresh(ni, &rng), *w = fresh(nw, &rng), *g = fresh(no, &rng);
    float *out = tu_alloc(no * 4), *dx = tu_alloc(ni * 4);
    float *dw = tu_alloc(nw * 4);
    kern_conv_backward_data__ref(&s, dx, g, w);
    memset(dw, 0, nw * 4);
    kern_conv_backward_weights__ref(&s, dw, x, g);
    const float h = 0.0625f; /* exact in float */
    for (size_t i = 0; i < ni; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double lp = loss(&s, x, w, g, out);
        x[i] = keep - h;
        double lm = loss(&s, x, w, g, out);
        x[i] = keep;
        double fd = (lp - lm) / (2 * h);
        cr_assert(fabs(fd - dx[i]) <= 1e-4 + 1e-4 * fabs(fd),
                  "%s dinp[%zu]: fd %.9g ref %.9g", c->name, i, fd, dx[i]);
    }
    for (size_t i = 0; i < nw; i++) {
        float keep = w[i];
        w[i] = keep + h;
        double lp = loss(&s, x, w, g, out);
        w[i] = keep - h;
        double lm = loss(&s, x, w, g, out);
        w[i] = keep;
        double fd = (lp - lm) / (2 * h);
        cr_assert(fabs(fd - dw[i]) <= 1e-4 + 1e-4 * fabs(fd),
                  "%s dweight[%zu]: fd %.9g ref %.9g", c->name, i, fd, dw[i]);
    }
    tu_free(x), tu_free(w), tu_free(g), tu_free(out), tu_free(dx), tu_free(dw);
}

Test(conv_reference, finite_differences)
{
    static const conv_case tiny[] = {
        {"fd 3x3s1", 2, 3, 4, 3, 1, 5},
        {"fd 3x3s2", 1, 2, 3, 3, 2, 6},
        {"fd 1x1s2", 1, 3, 2, 1, 2, 5},
        {"fd 7x7s2", 1, 2, 2, 7, 2, 7},
    };
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++)
        finite_differences(&tiny[i], 700 + i);
}
