/*
 * tests/sched/test-lr-range.c: max_lr expansion (fastai 1.0.42 lr_range).
 *
 * Expected values: /usr/bin/python3 running fastai's even_mults
 *   mult = stop/start; step = mult**(1/(n-1)); [start*(step**i) ...]
 * printed with repr().
 */
#include <criterion/criterion.h>
#include <math.h>

#include "sched/sched.h"

static void expect_rel(double got, double want, const char *what, int i)
{
    cr_expect(fabs(got - want) <= 1e-15 * fabs(want),
              "%s[%d]: got %.17g, want %.17g", what, i, got, want);
}

Test(lr_range, float_is_same_for_all_groups)
{
    double lr[3] = {NAN, NAN, NAN};
    sched_lr_expand(sched_lr_float(3e-3), 3, lr);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(lr[i], 3e-3);
}

Test(lr_range, slice_start_stop_is_geometric)
{
    /* even_mults(1e-6, 1e-4, 3) = [1e-06, 9.999999999999999e-06,
     * 9.999999999999999e-05] */
    static const double want[3] = {1e-06, 9.999999999999999e-06,
                                   9.999999999999999e-05};
    double lr[3] = {NAN, NAN, NAN};
    sched_lr_expand(sched_lr_slice(1e-6, 1e-4), 3, lr);
    for (int i = 0; i < 3; i++)
        expect_rel(lr[i], want[i], "slice(1e-6,1e-4)", i);

    /* even_mults(1e-5, 1e-1, 5): step 10 -> 1e-5 .. 1e-1 */
    double lr5[5];
    sched_lr_expand(sched_lr_slice(1e-5, 1e-1), 5, lr5);
    for (int i = 0; i < 5; i++)
        cr_expect(fabs(lr5[i] - 1e-5 * pow(10.0, i)) <= 4e-15 * lr5[i],
                  "slice(1e-5,1e-1)[%d] = %.17g", i, lr5[i]);
}

Test(lr_range, slice_stop_only)
{
    /* [3e-3/10]*2 + [3e-3]: 3e-3/10 = 0.00030000000000000003 */
    double lr[3] = {NAN, NAN, NAN};
    sched_lr_expand(sched_lr_slice(0.0, 3e-3), 3, lr);
    cr_expect_eq(lr[0], 0.00030000000000000003);
    cr_expect_eq(lr[1], 0.00030000000000000003);
    cr_expect_eq(lr[2], 3e-3);
    double one[1] = {NAN};
    sched_lr_expand(sched_lr_slice(0.0, 3e-3), 1, one);
    cr_expect_eq(one[0], 3e-3, "slice(b) over one group is [b]");
}
