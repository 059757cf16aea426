/*
 * tests/kernels/layers/test-pool.c: max-pool 3x3/2/1 and adaptive concat
 * pool: every ISA against the reference on ResNet-34 shapes (and odd sizes),
 * tie handling, the backward passes against finite differences (random
 * inputs, no ties).
 */
#include "tests/kernels/layers/layers-test.h"

static size_t at(size_t c, size_t h, size_t w, size_t n, size_t ch,
                 size_t y, size_t x)
{
    return (((n * (c / 8) + ch / 8) * h + y) * w + x) * 8 + ch % 8;
}

// --- max-pool ----------------------------------------------------------------

static void check_maxpool(size_t n, size_t c, size_t h, size_t w)
{
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    size_t li = n * c * h * w, lo = n * c * ho * wo;
    float *x = lt_alloc(li), *y = lt_alloc(lo), *yref = lt_alloc(lo);
    float *dy = lt_alloc(lo), *dx = lt_alloc(li), *dxref = lt_alloc(li);
    tu_rng r = tu_rng_seed(h * 131 + w);
    tu_fill(&r, x, li, -1.0f, 1.0f);
    tu_fill(&r, dy, lo, -1.0f, 1.0f);
    /* Some ties: a quantised stripe makes equal neighbours common. */
    for (size_t i = 0; i < li / 4; i++)
        x[i] = (float)(int)(x[i] * 2.0f);
    kern_f32_maxpool_3x3s2p1_forward__ref(NULL, n, c, h, w, yref, x);
    kern_f32_maxpool_3x3s2p1_backward__ref(NULL, n, c, h, w, dxref, dy, x,
                                           yref);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        tu_poison_nan(y, lo);
        kern_f32_maxpool_3x3s2p1_forward(NULL, n, c, h, w, y, x);
        lt_expect_close("maxpool forward", isas[k], y, yref, lo, 0, 0);
        tu_poison_nan(dx, li);
        kern_f32_maxpool_3x3s2p1_backward(NULL, n, c, h, w, dx, dy, x, y);
        lt_expect_close("maxpool backward", isas[k], dx, dxref, li, 1e-6,
                        1e-7);
    }
    tu_free(x), tu_free(y), tu_free(yref), tu_free(dy), tu_free(dx);
    tu_free(dxref);
}

Test(maxpool, resnet_stem_vs_ref)
{
#if defined(__aarch64__)
    check_maxpool(1, 64, 56, 56);
#else
    check_maxpool(2, 64, 112, 112);
#endif
}

Test(maxpool, odd_sizes_vs_ref)
{
    check_maxpool(2, 16, 7, 9);
    check_maxpool(1, 8, 1, 1);
    check_maxpool(1, 8, 2, 3);
    check_maxpool(1, 8, 5, 4);
}

Test(maxpool, ties_go_to_first_in_scan_order)
{
    size_t h = 4, w = 4, c = 8, ho = 2, wo = 2;
    float *x = lt_alloc(h * w * c), *y = lt_alloc(ho * wo * c);
    float *dy = lt_alloc(ho * wo * c), *dx = lt_alloc(h * w * c);
    for (size_t i = 0; i < h * w * c; i++)
        x[i] = 1.0f;
    for (size_t i = 0; i < ho * wo * c; i++)
        dy[i] = 1.0f;
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        kern_f32_maxpool_3x3s2p1_forward(NULL, 1, c, h, w, y, x);
        tu_poison_nan(dx, h * w * c);
        kern_f32_maxpool_3x3s2p1_backward(NULL, 1, c, h, w, dx, dy, x, y);
        /* Windows start at rows/cols -1, 1 (clamped to 0, 1): firsts are
         * (0,0), (0,1), (1,0), (1,1). */
        for (size_t yy = 0; yy < h; yy++)
            for (size_t xx = 0; xx < w; xx++) {
                float want = yy < 2 && xx < 2 ? 1.0f : 0.0f;
                cr_assert_eq(dx[at(c, h, w, 0, 3, yy, xx)], want,
                             "[%s] tie at %zu,%zu", kern_isa_name(isas[k]),
                             yy, xx);
            }
    }
    tu_free(x), tu_free(y), tu_free(dy), tu_free(dx);
}

static double mp_loss(size_t c, size_t h, size_t w, const float *x,
                      const float *wt)
{
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    double loss = 0;
    for (size_t ch = 0; ch < c; ch++)
        for (size_t oy = 0; oy < ho; oy++)
            for (size_t ox = 0; ox < wo; ox++) {
                double best = -INFINITY;
                for (int ky = -1; ky <= 1; ky++)
                    for (int kx = -1; kx <= 1; kx++) {
                        long iy = 2 * (long)oy + ky, ix = 2 * (long)ox + kx;
                        if (iy < 0 || ix < 0 || iy >= (long)h ||
                            ix >= (long)w)
                            continue;
                        double v = x[at(c, h, w, 0, ch, iy, ix)];
                        best = v > best ? v : best;
                    }
                loss += wt[at(c, ho, wo, 0, ch, oy, ox)] * best;
            }
    return loss;
}

Test(maxpool, backward_vs_finite_differences)
{
    size_t c = 8, h = 7, w = 6, li = c * h * w;
    size_t lo = c * kern_maxpool_3x3s2p1_out_size(h) *
                kern_maxpool_3x3s2p1_out_size(w);
    float *x = lt_alloc(li), *y = lt_alloc(lo), *wt = lt_alloc(lo);
    float *dx = lt_alloc(li);
    tu_rng r = tu_rng_seed(8);
    /* Distinct values at least 1e-3 apart: no ties, a step of 1e-4 never
     * reorders a window. */
    for (size_t i = 0; i < li; i++)
        x[i] = (float)((i * 7919) % li) * 1e-3f;
    tu_fill(&r, wt, lo, -1.0f, 1.0f);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        kern_f32_maxpool_3x3s2p1_forward(NULL, 1, c, h, w, y, x);
        tu_poison_nan(dx, li);
        kern_f32_maxpool_3x3s2p1_backward(NULL, 1, c, h, w, dx, wt, x, y);
        for (size_t i = 0; i < li; i++) {
            float x0 = x[i];
            x[i] = x0 + 1e-4f;
            double lp = mp_loss(c, h, w, x, wt);
            x[i] = x0 - 1e-4f;
            double lm = mp_loss(c, h, w, x, wt);
            x[i] = x0;
            double fd = (lp - lm) / ((double)(x0 + 1e-4f) - (x0 - 1e-4f));
            cr_assert(fabs(dx[i] - fd) < 1e-4 * (1 + fabs(fd)),
                      "[%s] maxpool dx %zu: %g vs %g",
                      kern_isa_name(isas[k]), i, dx[i], fd);
        }
    }
    tu_free(x), tu_free(y), tu_free(wt), tu_free(dx);
}

// --- adaptive concat pool ----------------------------------------------------

Test(concat_pool, resnet_head_vs_ref)
{
    size_t n = 2, c = 512, hw = 49, li = n * c * hw, lo = n * 2 * c;
    float *x = lt_alloc(li), *y = lt_alloc(lo), *yref = lt_alloc(lo);
    float *dy = lt_alloc(lo), *dx = lt_alloc(li), *dxref = lt_alloc(li);
    tu_rng r = tu_rng_seed(12);
    tu_fill(&r, x, li, 0.0f, 3.0f);
    tu_fill(&r, dy, lo, -1.0f, 1.0f);
    for (size_t i = 0; i < li; i += 5)
        x[i] = 0.0f; /* post-ReLU zeros, and ties for channels all zero */
    for (size_t i = 0; i < hw * 8; i++)
        x[i] = 0.0f;
    kern_f32_concat_pool_forward__ref(NULL, n, c, hw, yref, x);
    kern_f32_concat_pool_backward__ref(NULL, n, c, hw, dxref, dy, x, yref);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        tu_poison_nan(y, lo);
        kern_f32_concat_pool_forward(NULL, n, c, hw, y, x);
        lt_expect_close("concat pool forward", isas[k], y, yref, lo, 1e-6,
                        1e-7);
        tu_poison_nan(dx, li);
        kern_f32_concat_pool_backward(NULL, n, c, hw, dx, dy, x, y);
        lt_expect_close("concat pool backward", isas[k], dx, dxref, li,
                        1e-6, 1e-7);
    }
    /* Max first: row 0's first C entries are maxima, not means. */
    cr_assert(yref[1] >= yref[512 + 1]);
    tu_free(x), tu_free(y), tu_free(yref), tu_free(dy), tu_free(dx);
    tu_free(dxref);
}

Test(concat_pool, backward_vs_finite_differences)
{
    size_t n = 2, c = 16, hw = 6, li = n * c * hw, lo = n * 2 * c;
    float *x = lt_alloc(li), *y = lt_alloc(lo), *wt = lt_alloc(lo);
    float *dx = lt_alloc(li);
    tu_rng r = tu_rng_seed(13);
    for (size_t i = 0; i < li; i++)
        x[i] = (float)((i * 7919) % li) * 1e-2f; /* distinct: no ties */
    tu_fill(&r, wt, lo, -1.0f, 1.0f);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        kern_f32_concat_pool_forward(NULL, n, c, hw, y, x);
        tu_poison_nan(dx, li);
        kern_f32_concat_pool_backward(NULL, n, c, hw, dx, wt, x, y);
        for (size_t i = 0; i < li; i++) {
            double loss[2];
            for (int s = 0; s < 2; s++) {
                float x0 = x[i];
                x[i] = x0 + (s ? -1e-3f : 1e-3f);
                kern_f32_concat_pool_forward__ref(NULL, n, c, hw, y, x);
                x[i] = x0;
                loss[s] = 0;
                for (size_t j = 0; j < lo; j++)
                    loss[s] += (double)wt[j] * y[j];
            }
            double fd = (loss[0] - loss[1]) / 2e-3;
            cr_assert(fabs(dx[i] - fd) < 2e-3, "[%s] cpool dx %zu: %g vs %g",
                      kern_isa_name(isas[k]), i, dx[i], fd);
        }
    }
    tu_free(x), tu_free(y), tu_free(wt), tu_free(dx);
}
