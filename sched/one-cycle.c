/*
 * sched/one-cycle.c: fastai 1.0.42 OneCycleScheduler as a pure function of
 * the batch index.
 *
 * fastai keeps two Steppers per hyper-parameter, (start -> peak, a1 steps)
 * and (peak -> end, a2 steps), each annealed with annealing_cos. The value
 * for batch 0 is set in on_train_begin; after every training batch the
 * current Stepper steps (n += 1, value = func(start, end, n / n_iter)) and,
 * when it is done, the next one takes over. A Stepper counts
 * n_iter = max(1, steps), which only matters when a1 or a2 is 0 (a tiny
 * pct_start or a one-batch fit); p1 and p2 below carry that.
 */
#include "sched/sched.h"

static const double PI = 3.14159265358979323846;

double sched_cos_anneal(double start, double end, double pct)
{
    SCHED_ASSERT(pct >= 0.0 && pct <= 1.0);
    /* fastai: cos_out = np.cos(np.pi * pct) + 1;
     *         return end + (start-end)/2 * cos_out */
    double cos_out = sched_cos(PI * pct) + 1.0;
    return end + (start - end) / 2.0 * cos_out;
}

sched_one_cycle sched_one_cycle_make(size_t batches_per_epoch, size_t epochs,
                                     double pct_start, double div_factor,
                                     double mom_hi, double mom_lo)
{
    SCHED_ASSERT(batches_per_epoch >= 1 && epochs >= 1);
    SCHED_ASSERT(pct_start >= 0.0 && pct_start <= 1.0);
    SCHED_ASSERT(div_factor > 0.0);
    sched_one_cycle oc;
    oc.n = batches_per_epoch * epochs;
    SCHED_ASSERT(oc.n / epochs == batches_per_epoch); /* no overflow */
    /* int(n * pct_start): the double product truncated, as Python does. */
    oc.a1 = (size_t)((double)oc.n * pct_start);
    oc.a2 = oc.n - oc.a1;
    oc.p1 = oc.a1 > 0 ? oc.a1 : 1;
    oc.p2 = oc.a2 > 0 ? oc.a2 : 1;
    oc.div_factor = div_factor;
    oc.final_div = div_factor * 1e4;
    oc.mom_hi = mom_hi;
    oc.mom_lo = mom_lo;
    return oc;
}

/* The two-phase cosine shared by lr and momentum. */
static double one_cycle_at(const sched_one_cycle *oc, double start,
                           double peak, double end, size_t k)
{
    SCHED_ASSERT(k <= oc->p1 + oc->p2);
    if (k == 0)
        return start;
    if (k <= oc->p1)
        return sched_cos_anneal(start, peak, (double)k / (double)oc->p1);
    return sched_cos_anneal(peak, end, (double)(k - oc->p1) / (double)oc->p2);
}

double sched_one_cycle_lr(const sched_one_cycle *oc, double lr_max, size_t k)
{
    SCHED_ASSERT(lr_max >= 0.0);
    /* fastai: low_lr = lr_max/div_factor; end = lr_max/(div_factor*1e4) */
    return one_cycle_at(oc, lr_max / oc->div_factor, lr_max,
                        lr_max / oc->final_div, k);
}

double sched_one_cycle_mom(const sched_one_cycle *oc, size_t k)
{
    return one_cycle_at(oc, oc->mom_hi, oc->mom_lo, oc->mom_hi, k);
}

void sched_one_cycle_lrs(const sched_one_cycle *oc, const double *lr_max,
                         size_t ngroups, size_t k, double *lr)
{
    for (size_t g = 0; g < ngroups; g++)
        lr[g] = sched_one_cycle_lr(oc, lr_max[g], k);
}
