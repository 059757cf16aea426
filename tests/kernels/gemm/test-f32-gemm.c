/*
 * tests/kernels/gemm/test-f32-gemm.c: the f32 GEMM microkernels and the
 * driver against the reference.
 *
 * Microkernels: every line of kernels/gemm/f32-gemm.inc is run directly on
 * its edge cases (k_eq, k_gt, k_div, subtile_m, subtile_n, NaN in the
 * packed rows of A past mr, strided output, alpha/beta). The driver: for
 * every ISA this CPU runs, shapes below, at and above the register tile and
 * the cache blocks in each dimension, all four transpose combinations,
 * padded leading dimensions, k = 0, beta = 0 over NaN, and two threads.
 *
 * Oracle: kern_f32_gemm__ref (double accumulation), itself checked on a
 * hand-computed product. Tolerance: |got - ref| <= atol + rtol * mag, mag the
 * sum of |products| (|alpha| sum |a b| + |beta c|). Outputs are NaN-poisoned
 * (or hold random values when beta != 0) and the workspace is filled with 0xA5
 * before each call; cells outside the output must come back unchanged.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness/pool.h"
#include "kernels/gemm.h"
#include "tests/support/testutil.h"

#define RTOL 1e-5
#define ATOL 1e-6

#ifdef __aarch64__
#define BIG 96 /* under qemu, about 30x slower */
#else
#define BIG 256
#endif

// --- helpers -------------------------------------------------------------------

/* mag[i * n + j] = |alpha| sum_p |op(A)[i][p] op(B)[p][j]| + |beta c0[i][j]|
 * (c0 is C before the call; ignored when beta == 0). */
static void magnitudes(kern_trans ta, kern_trans tb, size_t m, size_t n,
                       size_t k, float alpha, const float *a, size_t lda,
                       const float *b, size_t ldb, float beta,
                       const float *c0, size_t ldc, double *mag)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t p = 0; p < k; p++) {
                double x = ta == KERN_NOTRANS ? a[i * lda + p] : a[p * lda + i];
                double y = tb == KERN_NOTRANS ? b[p * ldb + j] : b[j * ldb + p];
                s += fabs(x * y);
            }
            s *= fabs(alpha);
            if (beta != 0.0f)
                s += fabs((double)beta * c0[i * ldc + j]);
            mag[i * n + j] = s;
        }
}

typedef struct gemm_case {
    kern_trans ta, tb;
    size_t m, n, k;
    float alpha, beta;
    size_t pad_a, pad_b, pad_c; /* extra floats per stored row */
    uint64_t seed;
} gemm_case;

static const char *tr(kern_trans t) { return t == KERN_NOTRANS ? "N" : "T"; }

/* Runs the driver on one case and compares with the reference. */
static void check_driver(const gemm_case *t, const kern_pool *pool)
{
    size_t ar = t->ta == KERN_NOTRANS ? t->m : t->k; /* stored rows of A */
    size_t ac = t->ta == KERN_NOTRANS ? t->k : t->m;
    size_t br = t->tb == KERN_NOTRANS ? t->k : t->n;
    size_t bc = t->tb == KERN_NOTRANS ? t->n : t->k;
    size_t lda = ac + t->pad_a, ldb = bc + t->pad_b, ldc = t->n + t->pad_c;
    size_t csize = t->m * ldc + 1;
    float *a = tu_alloc((ar * lda + 1) * sizeof(float)); // stored A
    float *b = tu_alloc((br * ldb + 1) * sizeof(float)); // stored B
    float *c0 = tu_alloc(csize * sizeof(float));         // (m, ldc)
    float *c = tu_alloc(csize * sizeof(float));
    float *cref = tu_alloc(csize * sizeof(float));
    double *ref = tu_alloc((t->m * t->n + 1) * sizeof(double));
    double *mag = tu_alloc((t->m * t->n + 1) * sizeof(double));
    float *got = tu_alloc((t->m * t->n + 1) * sizeof(float));
    size_t threads = kern_pool_threads(pool);
    size_t wsize = kern_f32_gemm_workspace_size(t->m, t->n, t->k, threads);
    void *ws = tu_alloc(wsize + 1);

    tu_rng rng = tu_rng_seed(t->seed);
    tu_fill(&rng, a, ar * lda, -1.0f, 1.0f);
    tu_fill(&rng, b, br * ldb, -1.0f, 1.0f);
    if (t->beta == 0.0f)
        tu_poison_nan(c0, csize);
    else
        tu_fill(&rng, c0, csize, -1.0f, 1.0f);
    memcpy(c, c0, csize * sizeof(float));
    memcpy(cref, c0, csize * sizeof(float));
    tu_poison_bytes(ws, wsize);

    kern_f32_gemm__ref(t->ta, t->tb, t->m, t->n, t->k, t->alpha, a, lda, b,
                       ldb, t->beta, cref, ldc, NULL, NULL);
    kern_f32_gemm(t->ta, t->tb, t->m, t->n, t->k, t->alpha, a, lda, b, ldb,
                  t->beta, c, ldc, ws, pool);
    magnitudes(t->ta, t->tb, t->m, t->n, t->k, t->alpha, a, lda, b, ldb,
               t->beta, c0, ldc, mag);
    for (size_t i = 0; i < t->m; i++)
        for (size_t j = 0; j < t->n; j++) {
            ref[i * t->n + j] = cref[i * ldc + j];
            got[i * t->n + j] = c[i * ldc + j];
        }

    size_t worst = 0;
    bool ok = tu_close(got, ref, mag, t->m * t->n, RTOL, ATOL, &worst);
    const kern_f32_gemm_config *cfg = kern_f32_gemm_active_config();
    cr_assert(ok || t->m * t->n == 0,
              "%s: %s%s m=%zu n=%zu k=%zu alpha=%g beta=%g lda=%zu ldb=%zu "
              "ldc=%zu threads=%zu tile %zux%zu seed=%llu: C[%zu][%zu] "
              "ref=%.9g got=%.9g mag=%.3g",
              kern_isa_name(kern_isa_active()), tr(t->ta), tr(t->tb), t->m,
              t->n, t->k, (double)t->alpha, (double)t->beta, lda, ldb, ldc,
              threads, cfg->mr, cfg->nr, (unsigned long long)t->seed,
              worst / (t->n ? t->n : 1), worst % (t->n ? t->n : 1),
              ref[worst], (double)got[worst], mag[worst]);
    /* Padding columns of C and the cell past the end are untouched. */
    for (size_t i = 0; i < csize; i++) {
        bool inside = i < t->m * ldc && i % ldc < t->n;
        if (!inside)
            cr_assert(memcmp(&c[i], &c0[i], sizeof(float)) == 0,
                      "%s: %s%s m=%zu n=%zu k=%zu: write outside C at "
                      "offset %zu", kern_isa_name(kern_isa_active()),
                      tr(t->ta), tr(t->tb), t->m, t->n, t->k, i);
    }
    tu_free(a), tu_free(b), tu_free(c0), tu_free(c), tu_free(cref);
    tu_free(ref), tu_free(mag), tu_free(got), tu_free(ws);
}

/* Runs one case for every ISA, all four transpose combinations. */
static void check_all(gemm_case t, const kern_pool *pool)
{
    kern_isa isas[KERN_ISA_COUNT];
    size_t nisa = tu_isas(isas);
    for (size_t i = 0; i < nisa; i++) {
        kern_init(isas[i]);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                t.ta = (kern_trans)ta, t.tb = (kern_trans)tb;
                check_driver(&t, pool);
                t.seed++;
            }
    }
}

static gemm_case shape(size_t m, size_t n, size_t k)
{
    return (gemm_case){.m = m, .n = n, .k = k, .alpha = 1.0f, .beta = 0.0f,
                       .seed = 1000 + m * 7919 + n * 104729 + k};
}

// --- the oracle ------------------------------------------------------------------

Test(f32_gemm_ref, hand_computed)
{
    /* [1 2 3; 4 5 6] * [1 0; 0 1; 1 1] = [4 5; 10 11] */
    const float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1};
    const float at[6] = {1, 4, 2, 5, 3, 6}, bt[6] = {1, 0, 1, 0, 1, 1};
    float c[4] = {1, 1, 1, 1};
    kern_f32_gemm__ref(KERN_NOTRANS, KERN_NOTRANS, 2, 2, 3, 2.0f, a, 3, b, 2,
                       0.5f, c, 2, NULL, NULL);
    cr_assert(c[0] == 8.5f && c[1] == 10.5f && c[2] == 20.5f && c[3] == 22.5f);
    float d[4] = {NAN, NAN, NAN, NAN};
    kern_f32_gemm__ref(KERN_TRANS, KERN_TRANS, 2, 2, 3, 1.0f, at, 2, bt, 3,
                       0.0f, d, 2, NULL, NULL);
    cr_assert(d[0] == 4.0f && d[1] == 5.0f && d[2] == 10.0f && d[3] == 11.0f);
}

// --- microkernels --------------------------------------------------------------

typedef struct ukernel_case {
    size_t mr, nr, kc;
    bool pad_zero;      /* rows of A past mr zero (as the driver packs them),
                           else NaN */
    size_t ldc;         /* 0: nr */
    float alpha, beta;
} ukernel_case;

/* Calls the microkernel on one case: A a packed (kc, MR) panel (exactly,
 * so that reading past it trips ASan) and B random, the rows of A past mr
 * and the columns of B past nr NaN (computed, never stored), C NaN (beta =
 * 0) or random, with a guard row and column. With sa (the strided-A
 * variant), A is instead mr rows of kc floats, a_stride = kc + 5 apart, the
 * allocation ending at the last one so that a read of row mr trips ASan. */
static void check_ukernel_any(kern_f32_gemm_ukernel_fn fn,
                              kern_f32_gemm_ukernel_sa_fn sa,
                              const char *name, size_t MR, size_t NR,
                              ukernel_case u)
{
    size_t ldc = u.ldc ? u.ldc : u.nr;
    size_t a_stride = u.kc + 5;
    size_t rs = sa ? a_stride : 1, cs = sa ? 1 : MR; /* (r, p) at r rs + p cs */
    size_t asize = sa ? (u.mr - 1) * a_stride + u.kc : u.kc * MR;
    float *a = tu_alloc(asize * sizeof(float));
    float *b = tu_alloc(u.kc * NR * sizeof(float));
    size_t csize = (u.mr + 1) * ldc + 1;
    float *c0 = tu_alloc(csize * sizeof(float));
    float *c = tu_alloc(csize * sizeof(float));
    double ref[8 * 32], mag[8 * 32]; /* MR x NR, up to 6 x 32 or 8 x 12 */
    float got[8 * 32];
    uint64_t seed = 77 + u.mr * 131 + u.nr * 17 + u.kc;
    tu_rng rng = tu_rng_seed(seed);

    tu_poison_nan(a, asize);
    for (size_t r = 0; r < MR; r++)
        for (size_t p = 0; p < u.kc; p++)
            if (r < u.mr)
                a[r * rs + p * cs] = tu_uniform(&rng, -1.0f, 1.0f);
            else if (u.pad_zero && !sa)
                a[r * rs + p * cs] = 0.0f;
    tu_poison_nan(b, u.kc * NR);
    for (size_t p = 0; p < u.kc; p++)
        for (size_t j = 0; j < u.nr; j++)
            b[p * NR + j] = tu_uniform(&rng, -1.0f, 1.0f);
    if (u.beta == 0.0f)
        tu_poison_nan(c0, csize);
    else
        tu_fill(&rng, c0, csize, -1.0f, 1.0f);
    memcpy(c, c0, csize * sizeof(float));

    if (sa)
        sa(u.mr, u.nr, u.kc, a, a_stride, b, c, ldc, u.alpha, u.beta);
    else
        fn(u.mr, u.nr, u.kc, a, b, c, ldc, u.alpha, u.beta);

    for (size_t r = 0; r < u.mr; r++)
        for (size_t j = 0; j < u.nr; j++) {
            double s = 0.0, sa_ = 0.0;
            for (size_t p = 0; p < u.kc; p++) {
                double x = (double)a[r * rs + p * cs] * b[p * NR + j];
                s += x, sa_ += fabs(x);
            }
            double old = u.beta == 0.0f ? 0.0 : (double)u.beta * c0[r * ldc + j];
            ref[r * u.nr + j] = u.alpha * s + old;
            mag[r * u.nr + j] = fabs(u.alpha) * sa_ + fabs(old);
            got[r * u.nr + j] = c[r * ldc + j];
        }
    size_t worst = 0;
    bool ok = tu_close(got, ref, mag, u.mr * u.nr, RTOL, ATOL, &worst);
    cr_assert(ok, "%s%s: mr=%zu nr=%zu kc=%zu pad_zero=%d ldc=%zu "
              "alpha=%g beta=%g seed=%llu: C[%zu][%zu] ref=%.9g got=%.9g",
              name, sa ? " (strided A)" : "", u.mr, u.nr, u.kc,
              (int)u.pad_zero, ldc, (double)u.alpha, (double)u.beta,
              (unsigned long long)seed, worst / u.nr, worst % u.nr,
              ref[worst], (double)got[worst]);
    for (size_t i = 0; i < csize; i++)
        if (!(i / ldc < u.mr && i % ldc < u.nr))
            cr_assert(memcmp(&c[i], &c0[i], sizeof(float)) == 0,
                      "%s: mr=%zu nr=%zu kc=%zu ldc=%zu: write outside the "
                      "tile at offset %zu", name, u.mr, u.nr, u.kc, ldc, i);
    tu_free(a), tu_free(b), tu_free(c0), tu_free(c);
}

static void check_ukernel(kern_f32_gemm_ukernel_fn fn, const char *name,
                          size_t MR, size_t NR, ukernel_case u)
{
    check_ukernel_any(fn, NULL, name, MR, NR, u);
}

/* The strided-A variant of an ISA on the same edge cases (skipped where
 * the ISA has none). */
static void check_ukernel_sa(kern_isa isa, kern_f32_gemm_ukernel_sa_fn sa,
                             const char *name, size_t MR, size_t NR)
{
    if (!kern_isa_available(isa))
        cr_skip_test("%s not available", kern_isa_name(isa));
    if (!sa)
        cr_skip_test("%s: no strided-A microkernel", name);
    /* Full tiles (AVX2: the asm loops, k by 4, full or half width) and edge
     * tiles (AVX2: the intrinsics loop, k by 2) both get every k tail. */
    for (size_t kc = 1; kc <= 19; kc++)
        for (size_t mr = MR - 1; mr <= MR; mr++)
            for (size_t nr = NR / 2; nr <= NR; nr += NR / 2)
                check_ukernel_any(NULL, sa, name, MR, NR,
                                  (ukernel_case){mr, nr, kc, false, 0, 1.0f,
                                                 0.0f});
    for (size_t mr = 1; mr <= MR; mr++) /* rows past mr never read */
        for (size_t nr = 1; nr <= NR; nr += 5)
            check_ukernel_any(NULL, sa, name, MR, NR,
                              (ukernel_case){mr, nr, 23, false, 0, 1.0f,
                                             0.0f});
    const float ab[][2] = {{1, 1}, {-0.5f, 0}, {2.5f, -1.5f}};
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++)
        for (size_t mr = MR - 1; mr <= MR; mr++)
            for (size_t nr = NR / 2 - 3; nr <= NR - 3; nr += NR / 2)
                check_ukernel_any(NULL, sa, name, MR, NR,
                                  (ukernel_case){mr, nr, 64, false, NR + 7,
                                                 ab[i][0], ab[i][1]});
}

static ukernel_case full(size_t MR, size_t NR, size_t kc)
{
    return (ukernel_case){.mr = MR, .nr = NR, .kc = kc, .alpha = 1.0f};
}

#define UKERNEL_TEST(isa, fn, MR, NR, what, ...)                              \
    Test(f32_gemm_ukernel, fn##_##what)                                      \
    {                                                                         \
        if (!kern_isa_available(isa))                                         \
            cr_skip_test("%s not available", kern_isa_name(isa));             \
        __VA_ARGS__                                                           \
    }

#define KERN_F32_GEMM_UKERNEL(isa, fn, MR, NR, mc_, kc_, nc_, pbn_, pbt_,    \
                              pan_, pat_, sa_)                                \
    UKERNEL_TEST(isa, fn, MR, NR, k_eq,                                       \
        check_ukernel(fn, #fn, MR, NR, full(MR, NR, 1));)                     \
    UKERNEL_TEST(isa, fn, MR, NR, k_lt_and_gt,                                \
        for (size_t kc = 2; kc <= 19; kc++)                                   \
            check_ukernel(fn, #fn, MR, NR, full(MR, NR, kc));)                \
    UKERNEL_TEST(isa, fn, MR, NR, k_div,                                      \
        for (size_t kc = 8; kc <= 256; kc *= 2)                               \
            check_ukernel(fn, #fn, MR, NR, full(MR, NR, kc));)                \
    UKERNEL_TEST(isa, fn, MR, NR, subtile_m,                                  \
        for (size_t mr = 1; mr <= MR; mr++)                                   \
            for (size_t kc = 1; kc <= 9; kc += 4) {                           \
                ukernel_case u = full(mr, NR, kc);                            \
                check_ukernel(fn, #fn, MR, NR, u);                            \
            })                                                                \
    UKERNEL_TEST(isa, fn, MR, NR, subtile_n,                                  \
        for (size_t nr = 1; nr <= NR; nr++)                                   \
            for (size_t mr = 1; mr <= MR; mr += MR - 1) {                     \
                ukernel_case u = full(mr, nr, 7);                             \
                check_ukernel(fn, #fn, MR, NR, u);                            \
            })                                                                \
    /* Column edges around half the tile (AVX2 runs nr <= 8 on a           \
     * half-width loop), every k tail, alpha and beta. */                   \
    UKERNEL_TEST(isa, fn, MR, NR, narrow_k,                                   \
        for (size_t kc = 1; kc <= 19; kc++)                                   \
            for (size_t nr = NR / 2 - 1; nr <= NR / 2 + 1; nr++) {            \
                ukernel_case u = full(MR, nr, kc);                            \
                u.alpha = kc % 3 ? 1.0f : -0.5f;                              \
                u.beta = kc % 2 ? 0.0f : 1.5f;                                \
                check_ukernel(fn, #fn, MR, NR, u);                            \
            })                                                                \
    UKERNEL_TEST(isa, fn, MR, NR, a_pad_rows,                                 \
        for (size_t mr = 1; mr <= MR; mr++) {                                 \
            ukernel_case u = full(mr, NR, 23);                                \
            check_ukernel(fn, #fn, MR, NR, u); /* NaN past mr */              \
            u.pad_zero = true; /* as the driver packs them */                 \
            check_ukernel(fn, #fn, MR, NR, u);                                \
        })                                                                    \
    UKERNEL_TEST(isa, fn, MR, NR, strided_output,                             \
        for (size_t nr = 1; nr <= NR; nr += 3) {                              \
            ukernel_case u = full(MR, nr, 11);                                \
            u.ldc = NR + 7;                                                   \
            check_ukernel(fn, #fn, MR, NR, u);                                \
            u.beta = 1.0f;                                                    \
            check_ukernel(fn, #fn, MR, NR, u);                                \
        })                                                                    \
    UKERNEL_TEST(isa, fn, MR, NR, alpha_beta,                                 \
        const float ab[][2] = {{1, 0}, {1, 1}, {-0.5f, 0}, {2.5f, -1.5f},     \
                               {0.25f, 1}};                                   \
        for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++)                 \
            for (size_t nr = NR - 1; nr <= NR; nr++) {                        \
                ukernel_case u = full(MR - 1, nr, 13);                        \
                u.alpha = ab[i][0], u.beta = ab[i][1];                        \
                check_ukernel(fn, #fn, MR, NR, u);                            \
                u.mr = MR;                                                    \
                check_ukernel(fn, #fn, MR, NR, u);                            \
            })                                                                \
    Test(f32_gemm_ukernel, fn##_strided_a)                                    \
    {                                                                         \
        check_ukernel_sa(isa, sa_, #fn, MR, NR);                              \
    }
#include "kernels/gemm/f32-gemm.inc"
#undef KERN_F32_GEMM_UKERNEL

// --- the driver, every ISA -----------------------------------------------------

/* Sizes around every tile edge of every ISA (MR 4, 6, 8; NR 8, 12, 16, 32). */
static const size_t edges[] = {1, 3, 4, 5, 6, 7, 8, 9, 12, 13, 16, 17, 25,
                               31, 32, 33};

Test(f32_gemm, subtile_m)
{
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        check_all(shape(edges[i], 16, 9), NULL);
}

Test(f32_gemm, n_gt_and_n_div)
{
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        check_all(shape(6, edges[i], 9), NULL);
    check_all(shape(7, 48, 5), NULL);
    check_all(shape(9, 96, 3), NULL);
    check_all(shape(5, 65, 4), NULL);
}

Test(f32_gemm, k_eq_lt_gt_div)
{
    const size_t ks[] = {1, 2, 7, 8, 16, 255, 256, 257, 300};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        check_all(shape(7, 17, ks[i]), NULL);
}

Test(f32_gemm, k_zero_scales_c)
{
    gemm_case t = shape(5, 11, 0);
    t.beta = 0.0f; /* NaN in C must become 0 */
    check_all(t, NULL);
    t.beta = -2.0f;
    check_all(t, NULL);
    t.beta = 1.0f;
    check_all(t, NULL);
}

Test(f32_gemm, alpha_beta)
{
    const float ab[][2] = {{1, 0}, {1, 1}, {-1, 0}, {0.5f, 2}, {3, -0.75f},
                           {0, 0}, {0, 0.5f}};
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++) {
        gemm_case t = shape(13, 21, 31);
        t.alpha = ab[i][0], t.beta = ab[i][1];
        check_all(t, NULL);
        t = shape(7, 19, 260); /* beta applied once across KC blocks */
        t.alpha = ab[i][0], t.beta = ab[i][1];
        check_all(t, NULL);
    }
}

Test(f32_gemm, padded_leading_dimensions)
{
    gemm_case t = shape(23, 29, 31);
    t.pad_a = 3, t.pad_b = 5, t.pad_c = 7;
    check_all(t, NULL);
    t = shape(37, 41, 43); /* prime strides */
    t.pad_a = 16, t.pad_b = 1, t.pad_c = 2;
    t.beta = 1.0f;
    check_all(t, NULL);
}

Test(f32_gemm, cache_blocks)
{
    check_all(shape(200, 20, 40), NULL);  /* m > MC */
    check_all(shape(50, 40, BIG + 45), NULL); /* k > KC */
    check_all(shape(3, 4100, 3), NULL);   /* n > NC */
    check_all(shape(BIG, BIG, BIG), NULL);
}

Test(f32_gemm, resnet_like)
{
    check_all(shape(64, 49, 147), NULL);
    check_all(shape(64, 37, 128), NULL);
    check_all(shape(BIG / 2, 49, BIG), NULL);
}

Test(f32_gemm, transposed_packing)
{
    /* 8 x 8 register transposes plus scalar tails in k, in whole panels of
     * B and in the last rows of A (m - i < 8 forces the scalar path). */
    check_all(shape(18, 40, 37), NULL);
    check_all(shape(20, 33, 64), NULL);
    gemm_case t = shape(31, 47, 71);
    t.pad_a = 5, t.pad_b = 3;
    check_all(t, NULL);
}

Test(f32_gemm, a_in_place_or_packed)
{
    /* A stored row-major is read in place below KERN_F32_GEMM_PACK_A_MIN_N
     * columns (where the ISA has a strided microkernel) and packed at and
     * above it; both with several MC and KC blocks and ragged edges. */
    size_t n = KERN_F32_GEMM_PACK_A_MIN_N;
#ifdef __aarch64__
    size_t m = 140, k = 270;
#else
    size_t m = 200, k = 300;
#endif
    check_all(shape(m, n - 1, k), NULL);
    check_all(shape(m, n, k), NULL);
    gemm_case t = shape(m - 7, n - 5, k + 3);
    t.pad_a = 3, t.beta = 0.5f;
    check_all(t, NULL);
}

Test(f32_gemm, fused_b_groups)
{
    /* Rows within one MC block: B packed a group of panels at a time, the
     * next group prefetched, across KC blocks, with a ragged last group. */
    check_all(shape(20, 300, 300), NULL);
    gemm_case t = shape(13, 2 * BIG + 9, BIG + 40);
    t.pad_b = 5, t.pad_c = 2, t.beta = -1.0f;
    check_all(t, NULL);
}

Test(f32_gemm, empty)
{
    check_all(shape(0, 5, 3), NULL);
    check_all(shape(5, 0, 3), NULL);
    check_all(shape(0, 0, 0), NULL);
}

Test(f32_gemm, two_threads)
{
    kern_pool *pool = harness_pool_create(2);
    cr_assert_not_null(pool);
    check_all(shape(BIG - 6, 33, BIG), pool); /* M split */
    check_all(shape(40, BIG - 6, BIG), pool); /* N split */
    check_all(shape(8, 1100, 250), pool);     /* N split, 4 column tasks */
    /* M split with several MC blocks per thread (rows per thread, rounded
     * to MR, above MC, 168 on AVX2: 330 rows would give 168 and miss it)
     * and at least 16 MFLOP per thread and KC step: B packed once, shared
     * (natively only: under qemu these sizes would take minutes; the path
     * is portable C). */
#ifndef __aarch64__
    check_all(shape(400, 170, 300), pool);
    /* N split whose blocks hold several MC blocks: one block per thread,
     * not cut finer. */
    check_all(shape(400, 1100, 64), pool);
    gemm_case s = shape(360, 200, 270);
    s.pad_a = 2, s.pad_b = 3, s.beta = 2.0f;
    check_all(s, pool);
#endif
    gemm_case t = shape(BIG / 2, BIG / 2 + 3, BIG);
    t.beta = 0.5f, t.pad_c = 3;
    check_all(t, pool);
    harness_pool_free(pool);
}
