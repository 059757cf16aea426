/*
 * tests/sched/test-one-cycle.c: fastai 1.0.42 one-cycle lr and momentum.
 *
 * Fixture numbers were computed independently with /usr/bin/python3 (numpy)
 * from fastai's own formulas:
 *   cos_anneal(s, e, p) = e + (s - e)/2 * (np.cos(np.pi * p) + 1)
 *   k = 0 -> s; 1 <= k <= a1 -> cos_anneal(s, max, k/a1);
 *   k > a1 -> cos_anneal(max, max/(div*1e4), (k - a1)/a2)
 * and each is printed with repr() and pasted with its formula beside it.
 * The whole series is also checked against the same formula evaluated here
 * with libm's cos, an independent cosine.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "sched/sched.h"

static void expect_rel(double got, double want, double rtol, const char *what,
                       size_t k)
{
    double err = fabs(got - want);
    cr_expect(err <= rtol * fabs(want),
              "%s[%zu]: got %.17g, want %.17g (rel err %.3g)", what, k, got,
              want, err / fabs(want));
}

/* The schedule written straight from the fastai formulas with libm. */
static double oracle(size_t n, size_t a1, double s, double peak, double e,
                     size_t k)
{
    size_t a2 = n - a1;
    if (k == 0)
        return s;
    if (k <= a1) {
        double p = (double)k / (double)a1;
        return peak + (s - peak) / 2 * (cos(M_PI * p) + 1);
    }
    double p = (double)(k - a1) / (double)a2;
    return e + (peak - e) / 2 * (cos(M_PI * p) + 1);
}

// --- stage 1: fit_one_cycle(4, max_lr=3e-3), 92 batches per epoch ----------
Test(one_cycle, stage1_phase_lengths)
{
    sched_one_cycle oc = sched_one_cycle_make(92, 4, 0.3, 25.0, 0.95, 0.85);
    cr_assert_eq(oc.n, 368);
    cr_assert_eq(oc.a1, 110, "a1 = int(368 * 0.3) = int(110.39999..) = 110");
    cr_assert_eq(oc.a2, 258);
    cr_assert_eq(oc.final_div, 250000.0);
}

Test(one_cycle, stage1_reference_points)
{
    sched_one_cycle oc = sched_one_cycle_make(92, 4, 0.3, 25.0, 0.95, 0.85);
    static const struct { size_t k; double lr, mom; } pts[] = {
        /* k = 0: start = 3e-3/25 */
        {0, 0.00012, 0.95},
        /* cos_anneal(1.2e-4, 3e-3, 1/110), cos_anneal(.95, .85, 1/110) */
        {1, 0.0001205872423274074, 0.9499796096414094},
        /* cos_anneal(1.2e-4, 3e-3, 55/110): the midpoint */
        {55, 0.00156, 0.8999999999999999},
        /* k = a1: the peak */
        {110, 0.003, 0.85},
        /* cos_anneal(3e-3, 1.2e-8, 1/258), cos_anneal(.85, .95, 1/258) */
        {111, 0.0029998887975147084, 0.8500037067643368},
        /* cos_anneal(3e-3, 1.2e-8, 90/258) */
        {200, 0.002185866741503018, 0.8771378838347681},
        /* cos_anneal(3e-3, 1.2e-8, 190/258) */
        {300, 0.00048550306645661205, 0.9338168997190451},
        /* cos_anneal(3e-3, 1.2e-8, 257/258): the last batch */
        {367, 1.2320248529152868e-07, 0.9499962932356631},
        /* k = n: set after the last batch, never used */
        {368, 1.2e-08, 0.95},
    };
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        expect_rel(sched_one_cycle_lr(&oc, 3e-3, pts[i].k), pts[i].lr, 1e-13,
                   "lr", pts[i].k);
        expect_rel(sched_one_cycle_mom(&oc, pts[i].k), pts[i].mom, 1e-15,
                   "mom", pts[i].k);
    }
}

Test(one_cycle, stage1_whole_series_vs_libm)
{
    sched_one_cycle oc = sched_one_cycle_make(92, 4, 0.3, 25.0, 0.95, 0.85);
    for (size_t k = 0; k <= oc.n; k++) {
        double lr = oracle(368, 110, 3e-3 / 25, 3e-3, 3e-3 / 25e4, k);
        double mom = oracle(368, 110, 0.95, 0.85, 0.95, k);
        /* 1e-12: an lr near its floor is a difference of two close terms. */
        expect_rel(sched_one_cycle_lr(&oc, 3e-3, k), lr, 1e-12, "lr", k);
        expect_rel(sched_one_cycle_mom(&oc, k), mom, 1e-15, "mom", k);
    }
}

Test(one_cycle, lr_rises_then_falls)
{
    sched_one_cycle oc = sched_one_cycle_make(92, 4, 0.3, 25.0, 0.95, 0.85);
    for (size_t k = 1; k <= oc.n; k++) {
        double prev = sched_one_cycle_lr(&oc, 3e-3, k - 1);
        double cur = sched_one_cycle_lr(&oc, 3e-3, k);
        if (k <= oc.a1)
            cr_expect(cur > prev, "k %zu: %.17g <= %.17g", k, cur, prev);
        else
            cr_expect(cur < prev, "k %zu: %.17g >= %.17g", k, cur, prev);
    }
}

// --- stage 2: fit_one_cycle(2, slice(1e-6, 1e-4)) over 3 groups -------------
Test(one_cycle, stage2_per_group)
{
    sched_one_cycle oc = sched_one_cycle_make(92, 2, 0.3, 25.0, 0.95, 0.85);
    cr_assert_eq(oc.n, 184);
    cr_assert_eq(oc.a1, 55, "a1 = int(184 * 0.3) = int(55.2) = 55");
    cr_assert_eq(oc.a2, 129);
    double lr_max[3];
    sched_lr_expand(sched_lr_slice(1e-6, 1e-4), 3, lr_max);
    static const struct { size_t k; double lr[3]; } pts[] = {
        /* lr_max / 25 */
        {0, {4e-08, 4e-07, 4e-06}},
        /* k = a1: lr_max itself (even_mults gives 9.999999999999999e-05) */
        {55, {1e-06, 9.999999999999999e-06, 9.999999999999999e-05}},
        /* cos_anneal(lr_max, lr_max/25e4, 45/129) */
        {100, {7.286222471676727e-07, 7.2862224716767265e-06,
               7.286222471676726e-05}},
        /* cos_anneal(lr_max, lr_max/25e4, 128/129): the last batch */
        {183, {1.52264484370011e-10, 1.5226448437001097e-09,
               1.5226448437001097e-08}},
        /* k = n: lr_max / 25e4 */
        {184, {4e-12, 4e-11, 3.9999999999999996e-10}},
    };
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        double lr[3] = {NAN, NAN, NAN};
        sched_one_cycle_lrs(&oc, lr_max, 3, pts[i].k, lr);
        for (int g = 0; g < 3; g++)
            expect_rel(lr[g], pts[i].lr[g], 1e-12, "lr", pts[i].k);
    }
}

// --- edge: a1 = 0 -----------------------------------------------------------
Test(one_cycle, empty_first_phase_counts_one_step)
{
    /* n = 3, pct 0.3 -> a1 = int(0.9) = 0. fastai's Stepper uses
     * n_iter = max(1, 0) = 1, so batch 1 is at the peak and phase 2 then
     * runs its full a2 = 3 steps. Values from a Python simulation of
     * fastai's Stepper/OneCycleScheduler code (lr_max 1, div 25). */
    sched_one_cycle oc = sched_one_cycle_make(3, 1, 0.3, 25.0, 0.95, 0.85);
    cr_assert_eq(oc.a1, 0);
    cr_assert_eq(oc.p1, 1);
    cr_assert_eq(oc.p2, 3);
    expect_rel(sched_one_cycle_lr(&oc, 1.0, 0), 0.04, 1e-15, "lr", 0);
    expect_rel(sched_one_cycle_lr(&oc, 1.0, 1), 1.0, 1e-15, "lr", 1);
    expect_rel(sched_one_cycle_lr(&oc, 1.0, 2), 0.750001, 1e-14, "lr", 2);
    expect_rel(sched_one_cycle_lr(&oc, 1.0, 3), 0.2500030000000001, 1e-14,
               "lr", 3);
}

Test(one_cycle, cos_anneal_ends)
{
    cr_assert_eq(sched_cos_anneal(2.0, 5.0, 0.0), 2.0);
    cr_assert_eq(sched_cos_anneal(2.0, 5.0, 1.0), 5.0);
    expect_rel(sched_cos_anneal(2.0, 5.0, 0.5), 3.5, 1e-15, "mid", 0);
}
