/*
 * tests/sched/test-lr-find.c: the lr range test sweep, loss smoothing, the
 * stop rule and Recorder.plot's suggestions (fastai 1.0.42 / 1.0.46 / 1.0.53).
 *
 * Expected values come from /usr/bin/python3 running fastai's own code
 * (SmoothenValue, the LRFinder.on_batch_end rule, numpy.gradient/argmin) on
 * the constructed series below; the formula or code is quoted beside each.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "sched/sched.h"

static void expect_rel(double got, double want, double rtol, const char *what)
{
    double err = fabs(got - want);
    cr_expect(err <= rtol * fabs(want), "%s: got %.17g, want %.17g", what, got,
              want);
}

// --- sweep ------------------------------------------------------------------
Test(lr_find, sweep_reference_points)
{
    sched_lr_find f;
    sched_lr_find_init(&f, SCHED_LR_FIND_START, SCHED_LR_FIND_END,
                       SCHED_LR_FIND_NUM_IT, true);
    /* 1e-7 * (10/1e-7) ** (k/100) */
    expect_rel(sched_lr_find_lr(&f, 0), 1e-07, 1e-15, "lr[0]");
    expect_rel(sched_lr_find_lr(&f, 10), 6.309573444801933e-07, 1e-14,
               "lr[10]");
    expect_rel(sched_lr_find_lr(&f, 99), 8.317637711026709, 1e-14, "lr[99]");
    expect_rel(sched_lr_find_lr(&f, 100), 10.0, 1e-14, "lr[100]");
}

Test(lr_find, sweep_is_geometric)
{
    sched_lr_find f;
    sched_lr_find_init(&f, 1e-7, 10.0, 100, true);
    /* Consecutive lrs differ by 10^(8/100), checked against libm's pow. */
    double ratio = pow(10.0, 0.08);
    for (size_t k = 1; k <= 100; k++) {
        double r = sched_lr_find_lr(&f, k) / sched_lr_find_lr(&f, k - 1);
        cr_expect(fabs(r - ratio) <= 1e-13, "k %zu: ratio %.17g", k, r);
        double lr = 1e-7 * pow(1e8, (double)k / 100.0);
        cr_expect(fabs(sched_lr_find_lr(&f, k) - lr) <= 4e-15 * lr,
                  "k %zu: %.17g vs libm %.17g", k, sched_lr_find_lr(&f, k),
                  lr);
    }
}

Test(lr_find, epochs_cover_num_it)
{
    sched_lr_find f;
    sched_lr_find_init(&f, 1e-7, 10.0, 100, true);
    cr_assert_eq(sched_lr_find_epochs(&f, 92), 2, "ceil(100/92)");
    cr_assert_eq(sched_lr_find_epochs(&f, 100), 1);
    cr_assert_eq(sched_lr_find_epochs(&f, 7), 15, "ceil(100/7)");
}

// --- smoothing --------------------------------------------------------------
Test(smooth, debiased_average)
{
    /* SmoothenValue(0.98).add_value over [2, 1, 4, 3] */
    static const double loss[] = {2.0, 1.0, 4.0, 3.0};
    static const double want[] = {2.0, 1.4949494949494933, 2.3468915793769543,
                                  2.5151494541414947};
    sched_smooth s;
    sched_smooth_init(&s, SCHED_SMOOTH_BETA);
    for (size_t i = 0; i < 4; i++) {
        double v = sched_smooth_add(&s, loss[i]);
        expect_rel(v, want[i], 1e-14, "smooth");
        cr_expect_eq(v, s.value);
        cr_expect_eq(s.n, i + 1);
    }
}

Test(smooth, constant_stays_constant)
{
    sched_smooth s;
    sched_smooth_init(&s, 0.98);
    for (int i = 0; i < 1000; i++)
        expect_rel(sched_smooth_add(&s, 0.75), 0.75, 1e-13, "constant");
}

// --- stop rule --------------------------------------------------------------
/* Feeds raw losses through the smoother and the stop rule; returns the batch
 * that stopped the sweep (or n if none did). */
static size_t run_sweep(sched_lr_find *f, const double *loss, size_t n,
                        double *last_smooth)
{
    sched_smooth s;
    sched_smooth_init(&s, 0.98);
    for (size_t i = 0; i < n; i++) {
        *last_smooth = sched_smooth_add(&s, loss[i]);
        if (sched_lr_find_stop(f, *last_smooth))
            return i;
    }
    return n;
}

Test(lr_find, stops_on_divergence)
{
    /* L = [2 - 0.01 i for i < 30] + [1.7 + (i+1)^2 / 2 for i < 70]: fastai's
     * rule stops after batch 39 with smooth 8.4506.. > 4 * best 1.83995.. */
    double loss[100];
    for (int i = 0; i < 30; i++)
        loss[i] = 2.0 - 0.01 * i;
    for (int i = 0; i < 70; i++)
        loss[30 + i] = 1.7 + (i + 1) * (i + 1) * 0.5;
    sched_lr_find f;
    sched_lr_find_init(&f, 1e-7, 10.0, 100, true);
    double smooth = NAN;
    cr_assert_eq(run_sweep(&f, loss, 100, &smooth), 39);
    expect_rel(smooth, 8.450650733302933, 1e-13, "smooth at stop");
    expect_rel(f.best, 1.8399567654247222, 1e-13, "best");
    cr_expect(smooth > 4.0 * f.best);

    /* Without stop_div the same series runs all num_it batches. */
    sched_lr_find_init(&f, 1e-7, 10.0, 100, false);
    cr_assert_eq(run_sweep(&f, loss, 100, &smooth), 99);
    expect_rel(smooth, 988.3738984486605, 1e-13, "smooth at 99");
}

Test(lr_find, stops_after_num_it)
{
    double loss[200];
    for (int i = 0; i < 200; i++)
        loss[i] = 1.0;
    sched_lr_find f;
    sched_lr_find_init(&f, 1e-7, 10.0, 100, true);
    double smooth = NAN;
    cr_assert_eq(run_sweep(&f, loss, 200, &smooth), 99);
    cr_expect_eq(f.iteration, 100);
}

Test(lr_find, stops_on_nan)
{
    double loss[] = {1, 1, 1, 1, 1, NAN, 1, 1};
    sched_lr_find f;
    sched_lr_find_init(&f, 1e-7, 10.0, 100, true);
    double smooth = 0;
    cr_assert_eq(run_sweep(&f, loss, 8, &smooth), 5);
    cr_expect(isnan(smooth));
    cr_expect(!isnan(f.best), "a NaN after batch 0 never becomes best");
}

Test(lr_find, first_batch_sets_best_even_if_higher)
{
    sched_lr_find f;
    sched_lr_find_init(&f, 1e-7, 10.0, 100, true);
    f.best = 0.0; /* fastai's initial best_loss = 0 must not stick */
    cr_assert_not(sched_lr_find_stop(&f, 3.0));
    cr_expect_eq(f.best, 3.0);
    cr_assert_not(sched_lr_find_stop(&f, 12.0), "12 == 4 * best: not above");
    cr_assert(sched_lr_find_stop(&f, 12.000001));
}

// --- trimming and suggestion -------------------------------------------------
Test(lr_suggest, trim_follows_python_slicing)
{
    size_t first, count;
    sched_lr_trim(100, 10, 5, &first, &count); /* [10:-5] */
    cr_expect(first == 10 && count == 85);
    sched_lr_trim(100, 10, 0, &first, &count); /* [10:] */
    cr_expect(first == 10 && count == 90);
    sched_lr_trim(12, 10, 5, &first, &count);  /* [10:-5] of 12: empty */
    cr_expect(first == 10 && count == 0);
    sched_lr_trim(3, 10, 5, &first, &count);   /* start clamps to n */
    cr_expect(first == 3 && count == 0);
    sched_lr_trim(4, 0, 9, &first, &count);    /* -9 clamps to 0 */
    cr_expect(first == 0 && count == 0);
}

static void fill_lrs(double *lrs, size_t n)
{
    sched_lr_find f;
    sched_lr_find_init(&f, 1e-7, 10.0, 100, true);
    for (size_t i = 0; i < n; i++)
        lrs[i] = sched_lr_find_lr(&f, i);
}

Test(lr_suggest, step_down)
{
    /* losses [5]*13 + [2]*7, window [10:15] = [5, 5, 5, 2, 2];
     * np.gradient = [0, 0, -1.5, -1.5, 0] -> argmin 2 (index 12);
     * np.argmin(losses) = 3 (index 13). */
    double lrs[20], loss[20];
    fill_lrs(lrs, 20);
    for (int i = 0; i < 20; i++)
        loss[i] = i < 13 ? 5.0 : 2.0;
    sched_lr_suggestion s;
    cr_assert(sched_lr_suggest(lrs, loss, 20, 10, 5, &s));
    cr_expect_eq(s.first, 10);
    cr_expect_eq(s.count, 5);
    cr_expect_eq(s.min_grad, 12);
    cr_expect_eq(s.min_grad_lr, lrs[12]);
    cr_expect_eq(s.min_loss, 13);
    cr_expect_eq(s.min_loss_lr, lrs[13] / 10.0);
}

Test(lr_suggest, smooth_valley)
{
    /* l_i = 3 - tanh((i-31)/4) + 0.002 (i-31)^2, i < 60: steepest descent
     * at the tanh centre i = 31, minimum where the parabola takes over
     * (numpy over l[10:-5]: gradient argmin 31, argmin 38). */
    double lrs[60], loss[60];
    fill_lrs(lrs, 60);
    for (int i = 0; i < 60; i++)
        loss[i] = 3.0 - tanh((i - 31) / 4.0) + 0.002 * (i - 31) * (i - 31);
    sched_lr_suggestion s;
    cr_assert(sched_lr_suggest(lrs, loss, 60, 10, 5, &s));
    cr_expect_eq(s.min_grad, 31);
    cr_expect_eq(s.min_loss, 38);
    expect_rel(s.min_grad_lr, 1e-7 * pow(1e8, 0.31), 1e-14, "min_grad_lr");
    expect_rel(s.min_loss_lr, 1e-7 * pow(1e8, 0.38) / 10, 1e-14,
               "min_loss_lr");
}

Test(lr_suggest, nan_counts_as_minimum)
{
    /* l_i = 5 - 0.1 i, l[20] = NaN; over l[10:-5] numpy gives
     * gradient argmin 9 (index 19, the first NaN gradient) and
     * argmin 10 (index 20, the NaN loss). */
    double lrs[30], loss[30];
    fill_lrs(lrs, 30);
    for (int i = 0; i < 30; i++)
        loss[i] = 5.0 - 0.1 * i;
    loss[20] = NAN;
    sched_lr_suggestion s;
    cr_assert(sched_lr_suggest(lrs, loss, 30, 10, 5, &s));
    cr_expect_eq(s.min_grad, 19);
    cr_expect_eq(s.min_loss, 20);
}

Test(lr_suggest, too_few_points)
{
    double lrs[17], loss[17];
    fill_lrs(lrs, 17);
    for (int i = 0; i < 17; i++)
        loss[i] = 17.0 - i;
    sched_lr_suggestion s;
    /* 16 points -> window of 1: numpy.gradient raises, no suggestion. */
    cr_expect_not(sched_lr_suggest(lrs, loss, 16, 10, 5, &s));
    cr_expect_eq(s.count, 1);
    /* 17 points -> window of 2: both gradients are -1, the first wins. */
    cr_assert(sched_lr_suggest(lrs, loss, 17, 10, 5, &s));
    cr_expect_eq(s.min_grad, 10);
    cr_expect_eq(s.min_loss, 11);
}
