/*
 * tests/kernels/layers/test-adam.c: Adam with decoupled weight decay, every
 * ISA against the PyTorch 1.0 formula written here in double, over a few
 * steps with a changing beta1 (fastai's momentum schedule), on a range
 * longer than the driver's chunk and not a multiple of any vector width.
 */
#include "tests/kernels/layers/layers-test.h"

#include "harness/pool.h"

Test(adam, bias_correction_is_one_minus_power)
{
    cr_assert_float_eq(kern_adam_bias_correction(0.9, 1), 0.1, 1e-15);
    cr_assert_float_eq(kern_adam_bias_correction(0.99, 10),
                       1 - pow(0.99, 10), 1e-15);
    cr_assert_float_eq(kern_adam_bias_correction(0.95, 1000),
                       1 - pow(0.95, 1000), 1e-15);
}

Test(adam, steps_vs_formula)
{
    size_t n = 70000 + 3;
    float *p = lt_alloc(n), *m = lt_alloc(n), *v = lt_alloc(n);
    float *g = lt_alloc(n);
    double *pd = malloc(n * sizeof(double)), *md = calloc(n, sizeof(double));
    double *vd = calloc(n, sizeof(double));
    /* sum of |terms| forming m: m cancels, its error does not */
    double *mmag = calloc(n, sizeof(double));
    tu_rng r = tu_rng_seed(17);
    float *p0 = lt_alloc(n);
    tu_fill(&r, p0, n, -1.0f, 1.0f);
    kern_pool *pool = harness_pool_create(2);
    kern_isa isas[KERN_ISA_COUNT];
    for (size_t k = 0, nisa = tu_isas(isas); k < nisa; k++) {
        kern_init(isas[k]);
        memcpy(p, p0, n * sizeof(float));
        memset(m, 0, n * sizeof(float));
        memset(v, 0, n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            pd[i] = p0[i], md[i] = 0, vd[i] = 0, mmag[i] = 0;
        tu_rng rg = tu_rng_seed(18);
        for (uint64_t t = 1; t <= 4; t++) {
            float lr = 3e-3f * (float)t, wd = 1e-2f;
            float b1 = 0.95f - 0.02f * (float)t, b2 = 0.99f, eps = 1e-8f;
            /* gradients of mixed scale, including tiny ones where eps
             * matters and exact zeros */
            for (size_t i = 0; i < n; i++) {
                float s = (i % 3 == 0) ? 1e-9f : (i % 3 == 1 ? 1e-2f : 1.0f);
                g[i] = i % 101 == 0 ? 0.0f : tu_uniform(&rg, -s, s);
            }
            kern_adam_hparams hp = {
                .lr = lr, .wd = wd, .beta1 = b1, .beta2 = b2, .eps = eps,
                .bias_correction1 = 1 - pow(b1, (double)t),
                .bias_correction2 = 1 - pow(b2, (double)t)};
            kern_f32_adam(t % 2 ? pool : NULL, n, p, m, v, g, &hp);
            double step = lr * sqrt(hp.bias_correction2) /
                          hp.bias_correction1;
            for (size_t i = 0; i < n; i++) {
                pd[i] *= 1.0 - (double)lr * wd;
                md[i] = b1 * md[i] + (1.0 - b1) * g[i];
                mmag[i] = b1 * mmag[i] + (1.0 - b1) * fabs(g[i]);
                vd[i] = b2 * vd[i] + (1.0 - b2) * (double)g[i] * g[i];
                pd[i] -= step * md[i] / (sqrt(vd[i]) + eps);
            }
        }
        lt_expect_close_d("adam param", isas[k], p, pd, n, 1e-6, 1e-7);
        size_t worst = 0;
        cr_assert(tu_close(m, md, mmag, n, 1e-6, 1e-30, &worst),
                  "[%s] adam exp_avg %zu: %g vs %g", kern_isa_name(isas[k]),
                  worst, m[worst], md[worst]);
        lt_expect_close_d("adam exp_avg_sq", isas[k], v, vd, n, 1e-5,
                          1e-20);
    }
    harness_pool_free(pool);
    tu_free(p), tu_free(m), tu_free(v), tu_free(g), tu_free(p0);
    free(pd), free(md), free(vd), free(mmag);
}
