/*
 * tests/kernels/layers/test-eltwise.c: ReLU, add + ReLU, add, fill and
 * dropout: every ISA against the reference on ResNet-34 activation sizes
 * (odd lengths, so vector tails and chunk edges are hit), in place, the
 * backward passes against finite differences, dropout's mask against 1 and
 * 2 threads, its keep rate and its eval identity.
 */
#include "tests/kernels/layers/layers-test.h"

#include "harness/pool.h"

#if defined(__aarch64__)
#define BIG (1 * 64 * 56 * 56 + 13)
#else
#define BIG (2 * 64 * 112 * 112 + 13)
#endif

typedef struct elt_bufs {
    size_t len;
    float *a, *b, *out, *want, *acc, *acc_want;
} elt_bufs;

static elt_bufs elt_alloc(size_t len, uint64_t seed)
{
    elt_bufs e = {.len = len};
    tu_rng r = tu_rng_seed(seed);
    float **all[] = {&e.a, &e.b, &e.out, &e.want, &e.acc, &e.acc_want};
    for (size_t i = 0; i < 6; i++)
        *all[i] = lt_alloc(len);
    tu_fill(&r, e.a, len, -1.0f, 1.0f);
    tu_fill(&r, e.b, len, -1.0f, 1.0f);
    tu_fill(&r, e.acc, len, -1.0f, 1.0f);
    for (size_t i = 0; i < len; i += 7)
        e.a[i] = 0.0f; /* exact zeros: the ReLU mask must treat 0 as off */
    return e;
}

static void elt_free(elt_bufs *e)
{
    tu_free(e->a), tu_free(e->b), tu_free(e->out), tu_free(e->want);
    tu_free(e->acc), tu_free(e->acc_want);
}

static void expect_equal(const char *what, kern_isa isa, const float *got,
                         const float *want, size_t n)
{
    lt_expect_close(what, isa, got, want, n, 0.0, 0.0);
}

Test(eltwise, forward_and_backward_vs_ref)
{
    elt_bufs e = elt_alloc(BIG, 3);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_isa isa = isas[k];
        kern_init(isa);
        size_t n = e.len;
        tu_poison_nan(e.out, n);
        kern_f32_relu(NULL, n, e.out, e.a);
        kern_f32_relu__ref(NULL, n, e.want, e.a);
        expect_equal("relu", isa, e.out, e.want, n);

        tu_poison_nan(e.out, n);
        kern_f32_relu_backward(NULL, n, e.out, e.b, e.want);
        kern_f32_relu_backward__ref(NULL, n, e.want, e.b, e.want);
        expect_equal("relu backward", isa, e.out, e.want, n);

        tu_poison_nan(e.out, n);
        kern_f32_add_relu(NULL, n, e.out, e.a, e.b);
        kern_f32_add_relu__ref(NULL, n, e.want, e.a, e.b);
        expect_equal("add relu", isa, e.out, e.want, n);

        /* backward with the identity-branch accumulation */
        memcpy(e.acc_want, e.acc, n * sizeof(float));
        float *acc = lt_alloc(n), *fwd = lt_alloc(n);
        memcpy(acc, e.acc, n * sizeof(float));
        memcpy(fwd, e.want, n * sizeof(float));
        tu_poison_nan(e.out, n);
        kern_f32_add_relu_backward(NULL, n, e.out, acc, e.b, fwd);
        kern_f32_add_relu_backward__ref(NULL, n, e.want, e.acc_want, e.b,
                                        fwd);
        expect_equal("add relu backward da", isa, e.out, e.want, n);
        expect_equal("add relu backward db_acc", isa, acc, e.acc_want, n);
        tu_poison_nan(e.out, n);
        kern_f32_add_relu_backward(NULL, n, e.out, NULL, e.b, fwd);
        expect_equal("add relu backward, no db", isa, e.out, e.want, n);
        tu_free(acc), tu_free(fwd);

        tu_poison_nan(e.out, n);
        kern_f32_add(NULL, n, e.out, e.a, e.b);
        kern_f32_add__ref(NULL, n, e.want, e.a, e.b);
        expect_equal("add", isa, e.out, e.want, n);

        tu_poison_nan(e.out, n);
        kern_f32_fill(NULL, n, e.out, 0.0f);
        kern_f32_fill__ref(NULL, n, e.want, 0.0f);
        expect_equal("fill", isa, e.out, e.want, n);
    }
    elt_free(&e);
}

Test(eltwise, in_place)
{
    size_t n = 1000 + 5;
    elt_bufs e = elt_alloc(n, 4);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        memcpy(e.out, e.a, n * sizeof(float));
        kern_f32_add_relu(NULL, n, e.out, e.out, e.b);
        kern_f32_add_relu__ref(NULL, n, e.want, e.a, e.b);
        expect_equal("add relu in place", isas[k], e.out, e.want, n);
        kern_f32_relu(NULL, n, e.out, e.out);
        expect_equal("relu in place", isas[k], e.out, e.want, n);
        float *d = lt_alloc(n);
        memcpy(d, e.b, n * sizeof(float));
        kern_f32_relu_backward(NULL, n, d, d, e.want);
        kern_f32_relu_backward__ref(NULL, n, e.out, e.b, e.want);
        expect_equal("relu backward in place", isas[k], d, e.out, n);
        tu_free(d);
    }
    elt_free(&e);
}

/* d/dx of sum(w * relu(x + y)) by central differences, skipping kinks. */
Test(eltwise, add_relu_backward_vs_finite_differences)
{
    size_t n = 203;
    elt_bufs e = elt_alloc(n, 5);
    float *w = e.b, *y = e.acc;
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        kern_f32_add_relu(NULL, n, e.out, e.a, y);
        float *da = lt_alloc(n), *db = lt_alloc(n);
        tu_poison_nan(da, n);
        kern_f32_add_relu_backward(NULL, n, da, db, w, e.out);
        const double h = 1e-3;
        for (size_t i = 0; i < n; i++) {
            double s = (double)e.a[i] + y[i];
            if (fabs(s) < 2 * h)
                continue;
            double fd = w[i] * ((s + h > 0 ? s + h : 0) -
                                (s - h > 0 ? s - h : 0)) / (2 * h);
            cr_assert(fabs(da[i] - fd) < 1e-5, "[%s] da %zu: %g vs %g",
                      kern_isa_name(isas[k]), i, da[i], fd);
            cr_assert(db[i] == da[i], "db_acc from zero equals da");
        }
        /* relu_backward: the same mask with b = 0 */
        kern_f32_relu(NULL, n, e.out, e.a);
        kern_f32_relu_backward(NULL, n, da, w, e.out);
        for (size_t i = 0; i < n; i++) {
            if (fabs(e.a[i]) < 2 * h)
                continue;
            double fd = e.a[i] > 0 ? w[i] : 0.0;
            cr_assert(fabs(da[i] - fd) < 1e-6, "[%s] relu d %zu",
                      kern_isa_name(isas[k]), i);
        }
        tu_free(da), tu_free(db);
    }
    elt_free(&e);
}

// --- dropout -----------------------------------------------------------------

Test(dropout, vs_ref_and_thread_count)
{
    size_t n = 64 * 1024 + 3; /* > the driver's chunk: several tasks */
    float p = 0.25f;
    uint64_t seed = 0x1234567890ABCDEFull;
    elt_bufs e = elt_alloc(n, 6);
    kern_pool *pool = harness_pool_create(2);
    cr_assert_not_null(pool);
    kern_f32_dropout_forward__ref(NULL, n, e.want, e.a, p, seed, true);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        tu_poison_nan(e.out, n);
        kern_f32_dropout_forward(NULL, n, e.out, e.a, p, seed, true);
        expect_equal("dropout 1 thread", isas[k], e.out, e.want, n);
        tu_poison_nan(e.out, n);
        kern_f32_dropout_forward(pool, n, e.out, e.a, p, seed, true);
        expect_equal("dropout 2 threads", isas[k], e.out, e.want, n);
        /* backward: the same mask and scale applied to dout */
        tu_poison_nan(e.out, n);
        kern_f32_dropout_backward(pool, n, e.out, e.a, p, seed);
        expect_equal("dropout backward", isas[k], e.out, e.want, n);
        /* eval: identity, copying and in place */
        tu_poison_nan(e.out, n);
        kern_f32_dropout_forward(pool, n, e.out, e.a, p, seed, false);
        expect_equal("dropout eval", isas[k], e.out, e.a, n);
        kern_f32_dropout_forward(pool, n, e.out, e.out, p, seed, false);
        expect_equal("dropout eval in place", isas[k], e.out, e.a, n);
    }
    harness_pool_free(pool);
    elt_free(&e);
}

Test(dropout, keep_rate_scale_and_seeds)
{
    size_t n = 200000;
    float *x = lt_alloc(n), *y = lt_alloc(n), *y2 = lt_alloc(n);
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f;
    const float ps[] = {0.25f, 0.5f};
    kern_init(KERN_ISA_BEST);
    for (size_t t = 0; t < 2; t++) {
        float p = ps[t];
        kern_f32_dropout_forward(NULL, n, y, x, p, 42, true);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            if (y[i] != 0.0f) {
                kept++;
                cr_assert_float_eq(y[i], 1.0f / (1.0f - p), 1e-6);
            }
        }
        double rate = (double)kept / n, sd = sqrt(p * (1 - p) / n);
        cr_assert(fabs(rate - (1 - p)) < 5 * sd, "keep rate %g for p %g",
                  rate, p);
        /* Another seed gives another mask (about half the bits differ). */
        kern_f32_dropout_forward(NULL, n, y2, x, p, 43, true);
        size_t diff = 0;
        for (size_t i = 0; i < n; i++)
            diff += (y[i] == 0.0f) != (y2[i] == 0.0f);
        cr_assert(diff > n * 2 * p * (1 - p) * 0.9, "seeds barely differ");
    }
    /* p = 0 keeps everything exactly. */
    kern_f32_dropout_forward(NULL, n, y, x, 0.0f, 7, true);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(y[i], 1.0f);
    tu_free(x), tu_free(y), tu_free(y2);
}
