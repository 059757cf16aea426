/*
 * tests/sched/test-math.c: sched_cos/exp/log/pow against libm.
 *
 * Errors are measured in ulps of the libm result (glibc's are within an ulp
 * of the true value); the bounds below leave one ulp of room for libm's own
 * error on top of ours. Arguments: dense grids over the ranges the schedules
 * use plus seeded random samples over the whole domain.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>

#include "sched/sched.h"
#include "tests/support/testutil.h"

/* |got - want| in units of the spacing of doubles at want. */
static double ulps(double got, double want)
{
    if (got == want)
        return 0.0;
    double w = fabs(want);
    double ulp = w >= DBL_MIN ? ldexp(DBL_EPSILON, ilogb(w)) : DBL_TRUE_MIN;
    return fabs(got - want) / ulp;
}

static double uniform(tu_rng *r, double lo, double hi)
{
    double u = (double)(tu_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return lo + (hi - lo) * u;
}

typedef struct { double worst, at; } worst_err;

static void track(worst_err *w, double got, double want, double x)
{
    double e = ulps(got, want);
    if (!(e <= w->worst)) { /* NaN got -> NaN error -> recorded */
        w->worst = e;
        w->at = x;
    }
}

// --- cos ---------------------------------------------------------------------
Test(sched_math, cos_on_anneal_range)
{
    /* The schedules call cos(pi * p), p = k/a in [0, 1]. */
    worst_err w = {0, 0};
    for (int a = 1; a <= 400; a += 7)
        for (int k = 0; k <= a; k++) {
            double x = M_PI * ((double)k / a);
            track(&w, sched_cos(x), cos(x), x);
        }
    cr_expect(w.worst <= 2.0, "worst %.2f ulp at x = %.17g", w.worst, w.at);
    cr_log_info("cos on [0, pi]: worst %.2f ulp", w.worst);
}

Test(sched_math, cos_random_and_special)
{
    tu_rng r = tu_rng_seed(11);
    worst_err w = {0, 0};
    for (int i = 0; i < 200000; i++) {
        double lim = i % 2 ? 10.0 : SCHED_COS_MAX_ARG;
        double x = uniform(&r, -lim, lim);
        track(&w, sched_cos(x), cos(x), x);
    }
    cr_expect(w.worst <= 2.0, "worst %.2f ulp at x = %.17g (seed 11)",
              w.worst, w.at);
    /* Near the zeros the reduction must be exact to give the right tiny
     * value: cos(pi/2) = 6.123e-17 (the rounding error of the double pi/2). */
    for (int k = 1; k < 2000; k += 2) {
        double x = k * M_PI_2;
        cr_expect(ulps(sched_cos(x), cos(x)) <= 2.0, "cos(%d pi/2) %.17g vs "
                  "%.17g", k, sched_cos(x), cos(x));
    }
    cr_expect_eq(sched_cos(0.0), 1.0);
    cr_expect_eq(sched_cos(M_PI), -1.0);
    cr_expect(isnan(sched_cos(NAN)));
}

// --- exp ---------------------------------------------------------------------
Test(sched_math, exp_vs_libm)
{
    tu_rng r = tu_rng_seed(12);
    worst_err w = {0, 0};
    for (int i = 0; i < 200000; i++) {
        double x = i % 2 ? uniform(&r, -40.0, 40.0)
                         : uniform(&r, -708.0, 709.0);
        track(&w, sched_exp(x), exp(x), x);
    }
    for (double x = -20.0; x <= 20.0; x += 1.0 / 64)
        track(&w, sched_exp(x), exp(x), x);
    cr_expect(w.worst <= 2.0, "worst %.2f ulp at x = %.17g (seed 12)",
              w.worst, w.at);
    cr_log_info("exp: worst %.2f ulp", w.worst);
}

Test(sched_math, exp_edges)
{
    cr_expect_eq(sched_exp(0.0), 1.0);
    cr_expect(isnan(sched_exp(NAN)));
    cr_expect_eq(sched_exp(INFINITY), INFINITY);
    cr_expect_eq(sched_exp(-INFINITY), 0.0);
    cr_expect_eq(sched_exp(710.0), INFINITY);
    cr_expect_eq(sched_exp(-746.0), 0.0);
    /* Near overflow and in the subnormal range (where ulps() measures in
     * units of DBL_TRUE_MIN, as subnormals lose bits). */
    double hi = 709.78;
    cr_expect(ulps(sched_exp(hi), exp(hi)) <= 2.0, "exp(709.78)");
    for (double x = -745.0; x < -700.0; x += 0.37)
        cr_expect(ulps(sched_exp(x), exp(x)) <= 2.0, "exp(%.17g) %.17g vs "
                  "%.17g", x, sched_exp(x), exp(x));
}

// --- log ---------------------------------------------------------------------
Test(sched_math, log_vs_libm)
{
    tu_rng r = tu_rng_seed(13);
    worst_err w = {0, 0};
    for (int i = 0; i < 200000; i++) {
        /* Spread over the binades: mantissa in [1, 2), exponent +-1000. */
        double x = ldexp(uniform(&r, 1.0, 2.0), (int)uniform(&r, -1000, 1000));
        track(&w, sched_log(x), log(x), x);
    }
    /* Around 1, where log is small and cancellation would show. */
    for (int i = -2000; i <= 2000; i++) {
        double x = 1.0 + i * 1e-7;
        track(&w, sched_log(x), log(x), x);
    }
    cr_expect(w.worst <= 2.0, "worst %.2f ulp at x = %.17g (seed 13)",
              w.worst, w.at);
    cr_log_info("log: worst %.2f ulp", w.worst);
}

Test(sched_math, log_edges)
{
    cr_expect_eq(sched_log(1.0), 0.0);
    cr_expect_eq(sched_log(0.0), -INFINITY);
    cr_expect(isnan(sched_log(-1.0)));
    cr_expect(isnan(sched_log(NAN)));
    cr_expect_eq(sched_log(INFINITY), INFINITY);
    static const double xs[] = {DBL_TRUE_MIN, 3 * DBL_TRUE_MIN, DBL_MIN / 3,
                                DBL_MIN, DBL_MAX, 2.0, 10.0, 1e8, 1e-7};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        cr_expect(ulps(sched_log(xs[i]), log(xs[i])) <= 1.0,
                  "log(%.17g) = %.17g, libm %.17g", xs[i], sched_log(xs[i]),
                  log(xs[i]));
}

// --- pow ---------------------------------------------------------------------
Test(sched_math, pow_on_schedule_arguments)
{
    /* The lr sweep: (1e8)^(k/100); even_mults: (b/a)^(1/(n-1)). Relative
     * error of exp(y log x) is about |y log x| ulp: allow 1e-15 * that. */
    for (int k = 0; k <= 100; k++) {
        double y = k / 100.0, want = pow(1e8, y);
        double got = sched_pow(1e8, y);
        double tol = 4e-16 * (1.0 + fabs(y * log(1e8))) * want;
        cr_expect(fabs(got - want) <= tol, "1e8^%.2f: %.17g vs %.17g", y, got,
                  want);
    }
    cr_expect_eq(sched_pow(7.5, 0.0), 1.0);
    cr_expect_eq(sched_pow(7.5, 1.0), 7.5);
    cr_expect(fabs(sched_pow(100.0, 0.5) - 10.0) <= 4e-15);
}
