/*
 * sched/sched.h: the hyper-parameter schedules of fastai v1 (1.0.42), as pure
 * functions of the batch index.
 *
 * - one-cycle (fit_one_cycle): lr and momentum for training batch k, cosine
 *   in both phases (fastai 1.0.29 and later), per-group arrays element-wise;
 * - the lr range test (lr_find): the exponential lr sweep, the stop rule, and
 *   the two lr suggestions of Recorder.plot (min numerical gradient, 1.0.46+;
 *   min loss / 10, 1.0.53+);
 * - the debiased exponential moving average of the batch loss (SmoothenValue)
 *   that fastai shows as train_loss and that lr_find's stop rule reads;
 * - max_lr expansion: a float, slice(b) or slice(a, b) into per-group lrs;
 * - cos/exp/log/pow in double, written here because sched/ is freestanding
 *   (no libm); accurate to a few ulp on the ranges the schedules use.
 *
 * Source for every formula: fastai/fastai1 @1.0.42 fastai/callbacks/
 * one_cycle.py, callbacks/lr_finder.py, callback.py (annealing_cos,
 * annealing_exp, Stepper, SmoothenValue), basic_train.py (lr_range,
 * Recorder.plot), core.py (even_mults); restated in
 * /work/shared/reference/fastai-v1-semantics.md sections 5 and 6.
 *
 * Preconditions are SCHED_ASSERT lines: they trap in test and debug builds
 * and compile out in release (NDEBUG), like KERN_ASSERT.
 */
#ifndef RESIN_SCHED_SCHED_H
#define RESIN_SCHED_SCHED_H

#include <stdbool.h>
#include <stddef.h>

#ifdef NDEBUG
#define SCHED_ASSERT(x) ((void)0)
#else
#define SCHED_ASSERT(x) do { if (!(x)) __builtin_trap(); } while (0)
#endif

// --- elementary functions (no libm) ------------------------------------------
/* Largest |x| sched_cos accepts: the three-part Cody-Waite reduction by pi/2
 * is exact up to here. The schedules only pass x in [0, pi]. */
#define SCHED_COS_MAX_ARG 1048576.0

double sched_cos(double x);         /* |x| <= SCHED_COS_MAX_ARG */
double sched_exp(double x);         /* any x; overflow -> inf, underflow -> 0 */
double sched_log(double x);         /* x < 0 -> NaN, 0 -> -inf */
double sched_pow(double x, double y); /* x > 0: exp(y log x) */

// --- one-cycle ---------------------------------------------------------------
/* fastai 1.0.42 fit_one_cycle defaults. */
#define SCHED_ONE_CYCLE_PCT_START 0.3
#define SCHED_ONE_CYCLE_DIV 25.0
#define SCHED_ONE_CYCLE_MOM_HI 0.95
#define SCHED_ONE_CYCLE_MOM_LO 0.85

/* cos_anneal(start, end, pct) = end + (start - end)/2 * (cos(pi pct) + 1),
 * evaluated in fastai's order. pct in [0, 1]. */
double sched_cos_anneal(double start, double end, double pct);

typedef struct sched_one_cycle {
    size_t n;          /* training batches in the fit: per epoch * epochs */
    size_t a1, a2;     /* int(n * pct_start), n - a1 */
    size_t p1, p2;     /* phase lengths as fastai's Stepper counts them:
                          max(1, a1), max(1, a2) */
    double div_factor; /* start lr = max / div_factor */
    double final_div;  /* end lr = max / final_div (1.0.42: div_factor*1e4) */
    double mom_hi;     /* momentum at the start and the end (0.95) */
    double mom_lo;     /* momentum at the peak lr (0.85) */
} sched_one_cycle;

/* The fastai 1.0.42 schedule: final_div = div_factor * 1e4. Asserts
 * batches_per_epoch, epochs >= 1, 0 <= pct_start <= 1, div_factor > 0. */
sched_one_cycle sched_one_cycle_make(size_t batches_per_epoch, size_t epochs,
                                     double pct_start, double div_factor,
                                     double mom_hi, double mom_lo);

/* Batch k (counted from 0 over the whole fit, so resuming at epoch e starts
 * at k = e * batches_per_epoch) uses
 *   k = 0        -> start
 *   1 <= k <= p1 -> cos_anneal(start, peak, k / p1)
 *   k > p1       -> cos_anneal(peak, end, (k - p1) / p2)
 * with p1 = a1 and p2 = a2 whenever both are >= 1. k may equal p1 + p2: the
 * value fastai sets after the last batch and never uses. */
double sched_one_cycle_lr(const sched_one_cycle *oc, double lr_max, size_t k);
double sched_one_cycle_mom(const sched_one_cycle *oc, size_t k);

/* Per-group lrs for batch k: lr[g] = sched_one_cycle_lr(oc, lr_max[g], k). */
void sched_one_cycle_lrs(const sched_one_cycle *oc, const double *lr_max,
                         size_t ngroups, size_t k, double *lr);

// --- max_lr expansion (Learner.lr_range) -------------------------------------
/* A float, slice(stop) or slice(start, stop). start == 0 counts as absent, as
 * fastai's `if lr.start:` does. */
typedef struct sched_lr_spec {
    double start;
    double stop;
    bool slice;
} sched_lr_spec;

static inline sched_lr_spec sched_lr_float(double lr)
{
    return (sched_lr_spec){0.0, lr, false};
}
static inline sched_lr_spec sched_lr_slice(double start, double stop)
{
    return (sched_lr_spec){start, stop, true};
}

/* Fills lr[0..ngroups): float -> the same for every group; slice(a, b) ->
 * a * step^i with step = (b/a)^(1/(n-1)) (even_mults; needs n >= 2);
 * slice(b) -> b/10 for all groups but the last, b for the last. */
void sched_lr_expand(sched_lr_spec spec, size_t ngroups, double *lr);

// --- loss smoothing (SmoothenValue) ------------------------------------------
#define SCHED_SMOOTH_BETA 0.98

/* avg_k = beta avg_{k-1} + (1 - beta) loss_k (avg_0 = 0), value = avg_k /
 * (1 - beta^k), k counted from 1. Kept in double (fastai holds it in a
 * float32 tensor; the difference is float32 rounding). */
typedef struct sched_smooth {
    double beta;
    double mov_avg;
    double beta_pow; /* beta^n */
    size_t n;        /* losses added so far */
    double value;    /* the smoothed loss after the last add (0 before) */
} sched_smooth;

void sched_smooth_init(sched_smooth *s, double beta);
/* Adds one batch loss and returns the new smoothed value. */
double sched_smooth_add(sched_smooth *s, double loss);

// --- lr range test (LRFinder) ------------------------------------------------
#define SCHED_LR_FIND_START 1e-7
#define SCHED_LR_FIND_END 10.0
#define SCHED_LR_FIND_NUM_IT 100
#define SCHED_LR_FIND_SKIP_START 10
#define SCHED_LR_FIND_SKIP_END 5

typedef struct sched_lr_find {
    double start_lr, end_lr;
    size_t num_it;
    bool stop_div;    /* stop when the smoothed loss diverges */
    double best;      /* running minimum of the smoothed loss */
    size_t iteration; /* batches reported to sched_lr_find_stop so far */
} sched_lr_find;

/* Asserts 0 < start_lr, 0 < end_lr, num_it >= 1. */
void sched_lr_find_init(sched_lr_find *f, double start_lr, double end_lr,
                        size_t num_it, bool stop_div);

/* lr for batch k in [0, num_it]: start * (end/start)^(k / num_it). */
double sched_lr_find_lr(const sched_lr_find *f, size_t k);

/* Epochs lr_find asks fit for: ceil(num_it / batches_per_epoch). The run also
 * ends when those epochs are done, even before num_it batches. */
size_t sched_lr_find_epochs(const sched_lr_find *f, size_t batches_per_epoch);

/* Call after each batch's optimizer step with that batch's smoothed loss.
 * best <- smooth on the first batch, else min(best, smooth) (a later NaN
 * never replaces best). Returns true when the sweep must stop: num_it batches are
 * done, or stop_div and (smooth > 4 best or smooth is NaN). The batch that
 * triggers the stop is still part of the recorded series. */
bool sched_lr_find_stop(sched_lr_find *f, double smooth_loss);

/* Recorder.plot's window: Python's series[skip_start:-skip_end] (or
 * [skip_start:] when skip_end is 0) as [*first, *first + *count). */
void sched_lr_trim(size_t n, size_t skip_start, size_t skip_end, size_t *first,
                   size_t *count);

typedef struct sched_lr_suggestion {
    size_t first, count; /* the trimmed window (see sched_lr_trim) */
    size_t min_grad;     /* index into the full series */
    double min_grad_lr;  /* "Min numerical gradient": lrs[min_grad] */
    size_t min_loss;     /* index into the full series */
    double min_loss_lr;  /* "Min loss divided by 10": lrs[min_loss] / 10 */
} sched_lr_suggestion;

/* The suggestions Recorder.plot(suggestion=True) prints, over the recorded
 * lrs and smoothed losses trimmed as sched_lr_trim says:
 *   min_grad = argmin numpy.gradient(losses) (unit spacing: central
 *              differences (l[i+1] - l[i-1]) / 2 inside, one-sided at ends),
 *   min_loss = argmin losses.
 * argmin follows numpy: the first minimum wins and a NaN counts as the
 * minimum. Returns false (out untouched but first/count) when fewer than two
 * points remain, where numpy.gradient fails and fastai prints no suggestion. */
bool sched_lr_suggest(const double *lrs, const double *losses, size_t n,
                      size_t skip_start, size_t skip_end,
                      sched_lr_suggestion *out);

#endif /* RESIN_SCHED_SCHED_H */
