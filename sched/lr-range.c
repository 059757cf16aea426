/*
 * sched/lr-range.c: fastai 1.0.42 Learner.lr_range, which turns max_lr into
 * one lr per layer group.
 *
 *   float            -> the same lr for every group
 *   slice(a, b)      -> even_mults(a, b, n): a * step^i, step = (b/a)^(1/(n-1))
 *   slice(b)         -> [b/10] * (n-1) + [b]   (1.0.29+; 1.0.28 divided by 3)
 *
 * so slice(1e-6, 1e-4) over 3 groups is [1e-6, 1e-5, 1e-4] and the lesson's
 * default slice(3e-3) is [3e-4, 3e-4, 3e-3].
 */
#include "sched/sched.h"

void sched_lr_expand(sched_lr_spec spec, size_t ngroups, double *lr)
{
    SCHED_ASSERT(ngroups >= 1);
    SCHED_ASSERT(spec.stop >= 0.0 && spec.start >= 0.0);
    if (!spec.slice) {
        for (size_t i = 0; i < ngroups; i++)
            lr[i] = spec.stop;
        return;
    }
    if (spec.start == 0.0) {
        for (size_t i = 0; i + 1 < ngroups; i++)
            lr[i] = spec.stop / 10.0;
        lr[ngroups - 1] = spec.stop;
        return;
    }
    /* even_mults divides by n - 1: fastai fails for a single group. */
    SCHED_ASSERT(ngroups >= 2);
    double mult = spec.stop / spec.start;
    double step = sched_pow(mult, 1.0 / (double)(ngroups - 1));
    for (size_t i = 0; i < ngroups; i++)
        lr[i] = spec.start * sched_pow(step, (double)i);
}
