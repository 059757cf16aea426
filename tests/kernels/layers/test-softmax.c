/*
 * tests/kernels/layers/test-softmax.c: softmax cross-entropy, every ISA
 * against a libm log-sum-exp oracle written here (including logits far
 * beyond exp's range), dlogits against finite differences of the mean loss.
 */
#include "tests/kernels/layers/layers-test.h"

/* The oracle: long double log-sum-exp with max subtraction. */
static void oracle(size_t n, size_t c, const float *x, const int32_t *lab,
                   double *mean, double *losses, double *probs,
                   double *dlogits)
{
    long double total = 0;
    for (size_t i = 0; i < n; i++) {
        const float *r = x + i * c;
        long double mx = r[0], s = 0;
        for (size_t j = 1; j < c; j++)
            mx = r[j] > mx ? r[j] : mx;
        for (size_t j = 0; j < c; j++)
            s += expl(r[j] - mx);
        long double lse = mx + logl(s);
        losses[i] = (double)(lse - r[lab[i]]);
        total += lse - r[lab[i]];
        for (size_t j = 0; j < c; j++) {
            long double p = expl(r[j] - lse);
            probs[i * c + j] = (double)p;
            dlogits[i * c + j] =
                (double)((p - ((int32_t)j == lab[i])) / (long double)n);
        }
    }
    *mean = (double)(total / n);
}

static void check(size_t n, size_t c, float lo, float hi, uint64_t seed)
{
    float *x = lt_alloc(n * c), *probs = lt_alloc(n * c);
    float *dl = lt_alloc(n * c), *losses = lt_alloc(n);
    int32_t *lab = malloc(n * sizeof(int32_t));
    double *wl = malloc(n * sizeof(double)), wm;
    double *wp = malloc(n * c * sizeof(double));
    double *wd = malloc(n * c * sizeof(double));
    tu_rng r = tu_rng_seed(seed);
    tu_fill(&r, x, n * c, lo, hi);
    for (size_t i = 0; i < n; i++)
        lab[i] = (int32_t)(tu_next(&r) % c);
    oracle(n, c, x, lab, &wm, wl, wp, wd);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        tu_poison_nan(probs, n * c);
        tu_poison_nan(dl, n * c);
        tu_poison_nan(losses, n);
        float mean = kern_f32_softmax_xent(n, c, losses, probs, dl, x, lab);
        double tol = 2e-6 * (1 + fabs(wm)) + 1e-6 * (hi - lo);
        cr_assert(fabs(mean - wm) <= tol, "[%s] mean loss %.9g vs %.9g",
                  kern_isa_name(isas[k]), mean, wm);
        lt_expect_close_d("xent losses", isas[k], losses, wl, n, 2e-6,
                          1e-6 * (hi - lo));
        lt_expect_close_d("xent probs", isas[k], probs, wp, n * c, 1e-5,
                          1e-7);
        lt_expect_close_d("xent dlogits", isas[k], dl, wd, n * c, 1e-5,
                          1e-7 / n);
        /* Only the mean, and softmax alone. */
        float m2 = kern_f32_softmax_xent(n, c, NULL, NULL, NULL, x, lab);
        cr_assert_eq(m2, mean);
        tu_poison_nan(probs, n * c);
        kern_f32_softmax(n, c, probs, x);
        lt_expect_close_d("softmax", isas[k], probs, wp, n * c, 1e-5, 1e-7);
    }
    tu_free(x), tu_free(probs), tu_free(dl), tu_free(losses);
    free(lab), free(wl), free(wp), free(wd);
}

Test(softmax_xent, pets_head_vs_oracle)
{
    check(16, 37, -5.0f, 5.0f, 1);
    check(3, 10, -1.0f, 1.0f, 2);   /* Fashion-MNIST head */
    check(5, 1, -1.0f, 1.0f, 3);    /* one class: loss 0 */
    check(2, 1000, -8.0f, 8.0f, 4); /* long rows: vector tails, sums */
}

Test(softmax_xent, large_logits_are_stable)
{
    check(8, 37, 1000.0f, 1100.0f, 5);
    check(8, 37, -1e4f, 1e4f, 6); /* exp overflows without max subtraction */
    check(4, 37, -90.0f, -89.0f, 7);
}

Test(softmax_xent, dlogits_vs_finite_differences)
{
    size_t n = 4, c = 37;
    float *x = lt_alloc(n * c), *dl = lt_alloc(n * c);
    int32_t lab[4] = {0, 36, 5, 5};
    tu_rng r = tu_rng_seed(9);
    tu_fill(&r, x, n * c, -3.0f, 3.0f);
    double *xd = lt_to_double(x, n * c), wm, wl[4];
    double *wp = malloc(n * c * sizeof(double));
    double *wd = malloc(n * c * sizeof(double));
    double *fd = malloc(n * c * sizeof(double));
    for (size_t i = 0; i < n * c; i++) {
        /* mean loss in long double as a function of logit i */
        long double lp = 0, lm = 0, h = 1e-3L;
        for (int s = 0; s < 2; s++) {
            long double tot = 0;
            for (size_t b = 0; b < n; b++) {
                long double mx = -INFINITY, sum = 0;
                for (size_t j = 0; j < c; j++) {
                    long double v = xd[b * c + j] +
                                    (b * c + j == i ? (s ? -h : h) : 0);
                    mx = v > mx ? v : mx;
                }
                for (size_t j = 0; j < c; j++) {
                    long double v = xd[b * c + j] +
                                    (b * c + j == i ? (s ? -h : h) : 0);
                    sum += expl(v - mx);
                }
                long double vl = xd[b * c + lab[b]] +
                                 (b * c + (size_t)lab[b] == i ? (s ? -h : h)
                                                              : 0);
                tot += mx + logl(sum) - vl;
            }
            *(s ? &lm : &lp) = tot / n;
        }
        fd[i] = (double)((lp - lm) / (2 * h));
    }
    oracle(n, c, x, lab, &wm, wl, wp, wd);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        tu_poison_nan(dl, n * c);
        kern_f32_softmax_xent(n, c, NULL, NULL, dl, x, lab);
        lt_expect_close_d("xent dlogits fd", isas[k], dl, fd, n * c, 1e-4,
                          1e-6);
    }
    tu_free(x), tu_free(dl);
    free(xd), free(wp), free(wd), free(fd);
}
