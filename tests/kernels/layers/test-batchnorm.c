/*
 * tests/kernels/layers/test-batchnorm.c: batch-norm 2-D and 1-D, every ISA
 * against the reference on ResNet-34 shapes, the backward against central
 * finite differences of an independent double forward, the running-stat
 * update against the unbiased-variance formula.
 */
#include "tests/kernels/layers/layers-test.h"

#include "harness/pool.h"

#define EPS 1e-5f
#define MOM 0.1f

typedef struct bn_bufs {
    size_t n, c, hw, len;
    float *inp, *gamma, *beta, *out, *mean, *invstd, *rmean, *rvar;
    float *dout, *dinp, *dgamma, *dbeta;
} bn_bufs;

static bn_bufs bn_alloc(size_t n, size_t c, size_t hw, uint64_t seed)
{
    bn_bufs b = {.n = n, .c = c, .hw = hw, .len = n * c * hw};
    tu_rng r = tu_rng_seed(seed);
    b.inp = lt_alloc(b.len), b.out = lt_alloc(b.len);
    b.dout = lt_alloc(b.len), b.dinp = lt_alloc(b.len);
    float **pc[] = {&b.gamma, &b.beta, &b.mean, &b.invstd, &b.rmean,
                    &b.rvar, &b.dgamma, &b.dbeta};
    for (size_t i = 0; i < sizeof pc / sizeof pc[0]; i++)
        *pc[i] = lt_alloc(c);
    /* An offset of ~5 standard deviations exercises the shifted sums. */
    tu_fill(&r, b.inp, b.len, 2.0f, 4.0f);
    tu_fill(&r, b.dout, b.len, -1.0f, 1.0f);
    tu_fill(&r, b.gamma, c, 0.5f, 1.5f);
    tu_fill(&r, b.beta, c, -0.5f, 0.5f);
    tu_fill(&r, b.rmean, c, -1.0f, 1.0f);
    tu_fill(&r, b.rvar, c, 0.5f, 2.0f);
    tu_fill(&r, b.dgamma, c, -1.0f, 1.0f);
    tu_fill(&r, b.dbeta, c, -1.0f, 1.0f);
    return b;
}

static void bn_free(bn_bufs *b)
{
    float *all[] = {b->inp, b->out, b->dout, b->dinp, b->gamma, b->beta,
                    b->mean, b->invstd, b->rmean, b->rvar, b->dgamma,
                    b->dbeta};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tu_free(all[i]);
}

static float *dup(const float *x, size_t n)
{
    float *y = lt_alloc(n);
    memcpy(y, x, n * sizeof(float));
    return y;
}

// --- forward and backward against the reference ------------------------------

static void check_train_offset(size_t n, size_t c, size_t hw, bool relu,
                               float offset)
{
    bn_bufs ref = bn_alloc(n, c, hw, 11 + c + hw);
    bn_bufs got = bn_alloc(n, c, hw, 11 + c + hw);
    for (size_t i = 0; i < ref.len; i++)
        ref.inp[i] += offset, got.inp[i] += offset;
    kern_f32_batchnorm2d_forward_train__ref(
        NULL, n, c, hw, ref.out, ref.mean, ref.invstd, ref.rmean, ref.rvar,
        ref.inp, ref.gamma, ref.beta, MOM, EPS, relu);
    kern_f32_batchnorm2d_backward__ref(
        NULL, n, c, hw, ref.dinp, ref.dgamma, ref.dbeta, ref.dout, ref.inp,
        relu ? ref.out : NULL, ref.gamma, ref.mean, ref.invstd);
    float *rmean0 = dup(got.rmean, c), *rvar0 = dup(got.rvar, c);
    float *dg0 = dup(got.dgamma, c), *db0 = dup(got.dbeta, c);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        memcpy(got.rmean, rmean0, c * sizeof(float));
        memcpy(got.rvar, rvar0, c * sizeof(float));
        memcpy(got.dgamma, dg0, c * sizeof(float));
        memcpy(got.dbeta, db0, c * sizeof(float));
        tu_poison_nan(got.out, got.len);
        tu_poison_nan(got.dinp, got.len);
        tu_poison_nan(got.mean, c);
        tu_poison_nan(got.invstd, c);
        kern_f32_batchnorm2d_forward_train(
            NULL, n, c, hw, got.out, got.mean, got.invstd, got.rmean,
            got.rvar, got.inp, got.gamma, got.beta, MOM, EPS, relu);
        /* Storing the mean in float costs half its ulp in x - mean (as in
         * PyTorch's float kernels); times invstd (< 1.8) and gamma (< 1.5). */
        double atol = 2e-5 + 6e-8 * fabs(offset) * 1.8 * 1.5;
        lt_expect_close("bn2d train out", isas[k], got.out, ref.out, got.len,
                        2e-5, atol);
        lt_expect_close("bn2d mean", isas[k], got.mean, ref.mean, c, 1e-6,
                        1e-6);
        lt_expect_close("bn2d invstd", isas[k], got.invstd, ref.invstd, c,
                        2e-5, 0);
        lt_expect_close("bn2d running mean", isas[k], got.rmean, ref.rmean,
                        c, 1e-6, 1e-6);
        lt_expect_close("bn2d running var", isas[k], got.rvar, ref.rvar, c,
                        2e-5, 1e-6);
        /* Backward from the reference's saved state, so only it is tested. */
        kern_f32_batchnorm2d_backward(
            NULL, n, c, hw, got.dinp, got.dgamma, got.dbeta, got.dout,
            got.inp, relu ? ref.out : NULL, got.gamma, ref.mean, ref.invstd);
        lt_expect_close("bn2d dinp", isas[k], got.dinp, ref.dinp, got.len,
                        1e-4, 2e-5);
        lt_expect_close("bn2d dgamma", isas[k], got.dgamma, ref.dgamma, c,
                        1e-4, 1e-3);
        lt_expect_close("bn2d dbeta", isas[k], got.dbeta, ref.dbeta, c,
                        1e-4, 1e-3);
    }
    tu_free(rmean0), tu_free(rvar0), tu_free(dg0), tu_free(db0);
    bn_free(&ref);
    bn_free(&got);
}

static void check_train(size_t n, size_t c, size_t hw, bool relu)
{
    check_train_offset(n, c, hw, relu, 0.0f);
}

Test(batchnorm, train_resnet_shapes_vs_ref)
{
    for (size_t s = 0; s < LT_NSHAPES; s++) {
        const lt_shape *sh = &lt_resnet_shapes[s];
        check_train(sh->n, sh->c, sh->h * sh->w, s % 2 == 0);
    }
}

Test(batchnorm, head_1d_vs_ref)
{
    /* BatchNorm1d(1024) and (512) of the head: H*W = 1. */
    check_train(16, 1024, 1, false);
    check_train(16, 512, 1, false);
    check_train(2, 8, 1, true);
}

/* Mean 500 standard deviations from zero: the statistics must not cancel
 * (a plain one-pass E[x^2] - E[x]^2 in float would lose every digit). */
Test(batchnorm, large_mean_offset)
{
    check_train_offset(2, 64, 28 * 28, false, 300.0f);
}

Test(batchnorm, eval_vs_ref)
{
    size_t n = 2, c = 128, hw = 28 * 28;
    bn_bufs b = bn_alloc(n, c, hw, 5);
    float *want = lt_alloc(b.len);
    kern_f32_batchnorm2d_forward_eval__ref(NULL, n, c, hw, want, b.inp,
                                           b.gamma, b.beta, b.rmean, b.rvar,
                                           EPS, true);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        tu_poison_nan(b.out, b.len);
        kern_f32_batchnorm2d_forward_eval(NULL, n, c, hw, b.out, b.inp,
                                          b.gamma, b.beta, b.rmean, b.rvar,
                                          EPS, true);
        lt_expect_close("bn2d eval", isas[k], b.out, want, b.len, 2e-5,
                        2e-5);
        /* The 1-D eval path, in place. */
        float *x = dup(b.inp, 16 * 64), *want1 = lt_alloc(16 * 64);
        kern_f32_batchnorm1d_forward_eval(NULL, 16, 64, x, x, b.gamma,
                                          b.beta, b.rmean, b.rvar, EPS);
        kern_f32_batchnorm2d_forward_eval__ref(NULL, 16, 64, 1, want1,
                                               b.inp, b.gamma, b.beta,
                                               b.rmean, b.rvar, EPS, false);
        lt_expect_close("bn1d eval in place", isas[k], x, want1, 16 * 64,
                        2e-5, 2e-5);
        tu_free(x), tu_free(want1);
    }
    tu_free(want);
    bn_free(&b);
}

Test(batchnorm, dinp_null_still_gives_param_grads)
{
    size_t n = 2, c = 64, hw = 56 * 56;
    bn_bufs b = bn_alloc(n, c, hw, 9);
    kern_f32_batchnorm2d_forward_train__ref(
        NULL, n, c, hw, b.out, b.mean, b.invstd, NULL, NULL, b.inp, b.gamma,
        b.beta, MOM, EPS, true);
    float *dg = dup(b.dgamma, c), *db = dup(b.dbeta, c);
    kern_f32_batchnorm2d_backward__ref(NULL, n, c, hw, b.dinp, dg, db,
                                       b.dout, b.inp, b.out, b.gamma, b.mean,
                                       b.invstd);
    float *dg0 = dup(b.dgamma, c), *db0 = dup(b.dbeta, c);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        memcpy(b.dgamma, dg0, c * sizeof(float));
        memcpy(b.dbeta, db0, c * sizeof(float));
        tu_poison_nan(b.dinp, b.len);
        kern_f32_batchnorm2d_backward(NULL, n, c, hw, NULL, b.dgamma,
                                      b.dbeta, b.dout, b.inp, b.out, b.gamma,
                                      b.mean, b.invstd);
        lt_expect_close("bn2d dgamma (no dinp)", isas[k], b.dgamma, dg, c,
                        1e-4, 1e-3);
        lt_expect_close("bn2d dbeta (no dinp)", isas[k], b.dbeta, db, c,
                        1e-4, 1e-3);
        for (size_t i = 0; i < b.len; i++)
            cr_assert(isnan(b.dinp[i]), "dinp written although NULL");
    }
    tu_free(dg), tu_free(db), tu_free(dg0), tu_free(db0);
    bn_free(&b);
}

// --- running statistics ------------------------------------------------------

Test(batchnorm, running_stats_use_unbiased_variance)
{
    size_t n = 3, c = 16, hw = 5, m = n * hw;
    bn_bufs b = bn_alloc(n, c, hw, 21);
    float *rm0 = dup(b.rmean, c), *rv0 = dup(b.rvar, c);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        memcpy(b.rmean, rm0, c * sizeof(float));
        memcpy(b.rvar, rv0, c * sizeof(float));
        kern_f32_batchnorm2d_forward_train(
            NULL, n, c, hw, b.out, b.mean, b.invstd, b.rmean, b.rvar, b.inp,
            b.gamma, b.beta, MOM, EPS, false);
        for (size_t ch = 0; ch < c; ch++) {
            double s = 0, ss = 0;
            for (size_t i = 0; i < n; i++)
                for (size_t p = 0; p < hw; p++)
                    s += b.inp[((i * c / 8 + ch / 8) * hw + p) * 8 + ch % 8];
            double mean = s / m;
            for (size_t i = 0; i < n; i++)
                for (size_t p = 0; p < hw; p++) {
                    double d = b.inp[((i * c / 8 + ch / 8) * hw + p) * 8 +
                                     ch % 8] - mean;
                    ss += d * d;
                }
            double want_m = 0.9 * rm0[ch] + 0.1 * mean;
            double want_v = 0.9 * rv0[ch] + 0.1 * ss / (m - 1);
            double want_is = 1.0 / sqrt(ss / m + EPS);
            cr_assert(fabs(b.rmean[ch] - want_m) < 1e-6 * (1 + fabs(want_m)),
                      "[%s] running mean %zu", kern_isa_name(isas[k]), ch);
            cr_assert(fabs(b.rvar[ch] - want_v) < 1e-5 * want_v,
                      "[%s] running var %zu: %g vs %g",
                      kern_isa_name(isas[k]), ch, b.rvar[ch], want_v);
            cr_assert(fabs(b.invstd[ch] - want_is) < 1e-5 * want_is,
                      "[%s] invstd (biased) %zu", kern_isa_name(isas[k]), ch);
        }
    }
    tu_free(rm0), tu_free(rv0);
    bn_free(&b);
}

// --- finite differences ------------------------------------------------------

/* Loss = sum(w * bn(x)) in double, the training forward written anew. */
static double fd_loss(size_t n, size_t c, size_t hw, const double *x,
                      const double *gamma, const double *beta,
                      const float *w, bool relu, double *min_abs_pre)
{
    double loss = 0.0;
    for (size_t ch = 0; ch < c; ch++) {
        double s = 0, ss = 0, m = (double)(n * hw);
        for (size_t i = 0; i < n; i++)
            for (size_t p = 0; p < hw; p++)
                s += x[((i * c / 8 + ch / 8) * hw + p) * 8 + ch % 8];
        double mean = s / m;
        for (size_t i = 0; i < n; i++)
            for (size_t p = 0; p < hw; p++) {
                double d = x[((i * c / 8 + ch / 8) * hw + p) * 8 + ch % 8] -
                           mean;
                ss += d * d;
            }
        double invstd = 1.0 / sqrt(ss / m + EPS);
        for (size_t i = 0; i < n; i++)
            for (size_t p = 0; p < hw; p++) {
                size_t j = ((i * c / 8 + ch / 8) * hw + p) * 8 + ch % 8;
                double y = (x[j] - mean) * invstd * gamma[ch] + beta[ch];
                if (min_abs_pre && fabs(y) < *min_abs_pre)
                    *min_abs_pre = fabs(y);
                loss += w[j] * (relu && y < 0 ? 0 : y);
            }
    }
    return loss;
}

static void check_fd(bool relu)
{
    size_t n = 2, c = 8, hw = 5, len = n * c * hw;
    bn_bufs b = bn_alloc(n, c, hw, relu ? 31 : 32);
    tu_rng r = tu_rng_seed(77);
    tu_fill(&r, b.inp, len, -2.0f, 2.0f);
    double *x = lt_to_double(b.inp, len), *g = lt_to_double(b.gamma, c);
    double *be = lt_to_double(b.beta, c);
    double minpre = INFINITY;
    fd_loss(n, c, hw, x, g, be, b.dout, relu, &minpre);
    if (relu && minpre < 1e-3)
        cr_skip_test("a pre-activation sits on the ReLU kink");
    const double h = 1e-5;
    double *fdx = malloc(len * sizeof(double)), fdg[8], fdb[8];
    for (size_t i = 0; i < len; i++) {
        double x0 = x[i];
        x[i] = x0 + h;
        double lp = fd_loss(n, c, hw, x, g, be, b.dout, relu, NULL);
        x[i] = x0 - h;
        double lm = fd_loss(n, c, hw, x, g, be, b.dout, relu, NULL);
        x[i] = x0;
        fdx[i] = (lp - lm) / (2 * h);
    }
    for (size_t ch = 0; ch < c; ch++) {
        double *par[2] = {g, be}, *res[2] = {fdg, fdb};
        for (int k = 0; k < 2; k++) {
            double v0 = par[k][ch];
            par[k][ch] = v0 + h;
            double lp = fd_loss(n, c, hw, x, g, be, b.dout, relu, NULL);
            par[k][ch] = v0 - h;
            double lm = fd_loss(n, c, hw, x, g, be, b.dout, relu, NULL);
            par[k][ch] = v0;
            res[k][ch] = (lp - lm) / (2 * h);
        }
    }
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        kern_f32_batchnorm2d_forward_train(NULL, n, c, hw, b.out, b.mean,
                                           b.invstd, NULL, NULL, b.inp,
                                           b.gamma, b.beta, MOM, EPS, relu);
        memset(b.dgamma, 0, c * sizeof(float));
        memset(b.dbeta, 0, c * sizeof(float));
        tu_poison_nan(b.dinp, len);
        kern_f32_batchnorm2d_backward(NULL, n, c, hw, b.dinp, b.dgamma,
                                      b.dbeta, b.dout, b.inp,
                                      relu ? b.out : NULL, b.gamma, b.mean,
                                      b.invstd);
        lt_expect_close_d("bn fd dinp", isas[k], b.dinp, fdx, len, 1e-3,
                          1e-4);
        lt_expect_close_d("bn fd dgamma", isas[k], b.dgamma, fdg, c, 1e-3,
                          1e-4);
        lt_expect_close_d("bn fd dbeta", isas[k], b.dbeta, fdb, c, 1e-3,
                          1e-4);
    }
    free(x), free(g), free(be), free(fdx);
    bn_free(&b);
}

Test(batchnorm, backward_vs_finite_differences)
{
    check_fd(false);
}

Test(batchnorm, fused_relu_backward_vs_finite_differences)
{
    check_fd(true);
}

// --- threads ----------------------------------------------------------------------

/* One task per channel block: results are bit-identical for any thread
 * count (nn recomputes a forward in the backward pass and relies on it). */
Test(batchnorm, bit_identical_for_1_and_2_threads)
{
    size_t n = 2, c = 64, hw = 56 * 56;
    bn_bufs a = bn_alloc(n, c, hw, 41), b = bn_alloc(n, c, hw, 41);
    kern_pool *pool = harness_pool_create(2);
    cr_assert_not_null(pool);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        bn_bufs *v[2] = {&a, &b};
        for (int t = 0; t < 2; t++) {
            const kern_pool *p = t ? pool : NULL;
            kern_f32_batchnorm2d_forward_train(
                p, n, c, hw, v[t]->out, v[t]->mean, v[t]->invstd, v[t]->rmean,
                v[t]->rvar, v[t]->inp, v[t]->gamma, v[t]->beta, MOM, EPS,
                true);
            kern_f32_batchnorm2d_backward(
                p, n, c, hw, v[t]->dinp, v[t]->dgamma, v[t]->dbeta,
                v[t]->dout, v[t]->inp, v[t]->out, v[t]->gamma, v[t]->mean,
                v[t]->invstd);
        }
        cr_assert(!memcmp(a.out, b.out, a.len * sizeof(float)));
        cr_assert(!memcmp(a.dinp, b.dinp, a.len * sizeof(float)));
        cr_assert(!memcmp(a.mean, b.mean, c * sizeof(float)));
        cr_assert(!memcmp(a.invstd, b.invstd, c * sizeof(float)));
        cr_assert(!memcmp(a.rvar, b.rvar, c * sizeof(float)));
        cr_assert(!memcmp(a.dgamma, b.dgamma, c * sizeof(float)));
        cr_assert(!memcmp(a.dbeta, b.dbeta, c * sizeof(float)));
    }
    harness_pool_free(pool);
    bn_free(&a);
    bn_free(&b);
}
