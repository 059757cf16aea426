/*
 * tests/kernels/layers/layers-test.h: helpers shared by the layer kernel
 * tests (static, header-only: only test-*.c files become binaries).
 */
#ifndef RESIN_TESTS_LAYERS_TEST_H
#define RESIN_TESTS_LAYERS_TEST_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/layers.h"
#include "tests/support/testutil.h"

/* Real ResNet-34 shapes at batch 2 (batch 1 and fewer under qemu). */
typedef struct lt_shape { size_t n, c, h, w; } lt_shape;
#if defined(__aarch64__)
static const lt_shape lt_resnet_shapes[] = {
    {1, 64, 56, 56}, {1, 128, 28, 28}, {1, 512, 7, 7},
};
#else
static const lt_shape lt_resnet_shapes[] = {
    {2, 64, 112, 112}, {2, 64, 56, 56}, {2, 128, 28, 28},
    {2, 256, 14, 14}, {2, 512, 7, 7},
};
#endif
#define LT_NSHAPES (sizeof lt_resnet_shapes / sizeof lt_resnet_shapes[0])

static inline float *lt_alloc(size_t n)
{
    return tu_alloc(n * sizeof(float));
}

static inline double *lt_to_double(const float *x, size_t n)
{
    double *d = malloc(n * sizeof(double));
    cr_assert_not_null(d);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

/* Asserts got ~ want (a float reference) elementwise. */
static inline void lt_expect_close(const char *what, kern_isa isa,
                                   const float *got, const float *want,
                                   size_t n, double rtol, double atol)
{
    double *ref = lt_to_double(want, n);
    size_t worst = 0;
    bool ok = tu_close(got, ref, NULL, n, rtol, atol, &worst);
    if (!ok)
        cr_log_error("%s [%s]: element %zu: got %.9g want %.9g (n %zu)",
                     what, kern_isa_name(isa), worst, (double)got[worst],
                     ref[worst], n);
    free(ref);
    cr_assert(ok, "%s [%s] differs from the reference", what,
              kern_isa_name(isa));
}

static inline void lt_expect_close_d(const char *what, kern_isa isa,
                                     const float *got, const double *ref,
                                     size_t n, double rtol, double atol)
{
    size_t worst = 0;
    bool ok = tu_close(got, ref, NULL, n, rtol, atol, &worst);
    if (!ok)
        cr_log_error("%s [%s]: element %zu: got %.9g want %.9g (n %zu)",
                     what, kern_isa_name(isa), worst, (double)got[worst],
                     ref[worst], n);
    cr_assert(ok, "%s [%s] differs", what, kern_isa_name(isa));
}

#endif
