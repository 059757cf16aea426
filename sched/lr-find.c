/*
 * sched/lr-find.c: the lr range test (fastai 1.0.42 LRFinder), the loss
 * smoothing every fit uses (SmoothenValue) and the lr suggestions of
 * Recorder.plot (1.0.46+ min numerical gradient, 1.0.53+ min loss / 10).
 *
 * LRFinder steps a Stepper((start, end), num_it, annealing_exp) once after
 * every batch: batch k trains with start * (end/start)^(k/num_it). After each
 * batch it updates best (batch 0's smoothed loss, then the running minimum)
 * and stops when the Stepper is done (k + 1 >= num_it) or, with stop_div,
 * when the smoothed loss exceeds 4 * best or is NaN.
 */
#include "sched/sched.h"

// --- lr sweep and stop rule --------------------------------------------------
void sched_lr_find_init(sched_lr_find *f, double start_lr, double end_lr,
                        size_t num_it, bool stop_div)
{
    SCHED_ASSERT(start_lr > 0.0 && end_lr > 0.0);
    SCHED_ASSERT(num_it >= 1);
    f->start_lr = start_lr;
    f->end_lr = end_lr;
    f->num_it = num_it;
    f->stop_div = stop_div;
    f->best = 0.0;
    f->iteration = 0;
}

double sched_lr_find_lr(const sched_lr_find *f, size_t k)
{
    SCHED_ASSERT(k <= f->num_it);
    /* annealing_exp: start * (end/start) ** pct */
    double pct = (double)k / (double)f->num_it;
    return f->start_lr * sched_pow(f->end_lr / f->start_lr, pct);
}

size_t sched_lr_find_epochs(const sched_lr_find *f, size_t batches_per_epoch)
{
    SCHED_ASSERT(batches_per_epoch >= 1);
    return (f->num_it + batches_per_epoch - 1) / batches_per_epoch;
}

bool sched_lr_find_stop(sched_lr_find *f, double smooth_loss)
{
    size_t k = f->iteration++;
    if (k == 0 || smooth_loss < f->best)
        f->best = smooth_loss;
    if (k + 1 >= f->num_it)
        return true;
    bool is_nan = smooth_loss != smooth_loss;
    return f->stop_div && (smooth_loss > 4.0 * f->best || is_nan);
}

// --- smoothing ---------------------------------------------------------------
void sched_smooth_init(sched_smooth *s, double beta)
{
    SCHED_ASSERT(beta >= 0.0 && beta < 1.0);
    s->beta = beta;
    s->mov_avg = 0.0;
    s->beta_pow = 1.0;
    s->n = 0;
    s->value = 0.0;
}

double sched_smooth_add(sched_smooth *s, double loss)
{
    s->n++;
    s->mov_avg = s->beta * s->mov_avg + (1.0 - s->beta) * loss;
    s->beta_pow *= s->beta;
    s->value = s->mov_avg / (1.0 - s->beta_pow);
    return s->value;
}

// --- suggestion --------------------------------------------------------------
void sched_lr_trim(size_t n, size_t skip_start, size_t skip_end, size_t *first,
                   size_t *count)
{
    /* Python slicing: a[s:-e] clamps s to n and -e to 0. */
    size_t start = skip_start < n ? skip_start : n;
    size_t stop = skip_end == 0 ? n : (skip_end < n ? n - skip_end : 0);
    *first = start;
    *count = stop > start ? stop - start : 0;
}

/* numpy.gradient with unit spacing, element i of x[0..n), n >= 2. */
static double gradient_at(const double *x, size_t n, size_t i)
{
    if (i == 0)
        return x[1] - x[0];
    if (i == n - 1)
        return x[n - 1] - x[n - 2];
    return (x[i + 1] - x[i - 1]) / 2.0;
}

/* numpy.argmin's order: NaN beats everything, then the first minimum. */
static bool argmin_better(double candidate, double best)
{
    if (best != best)
        return false;
    return candidate != candidate || candidate < best;
}

bool sched_lr_suggest(const double *lrs, const double *losses, size_t n,
                      size_t skip_start, size_t skip_end,
                      sched_lr_suggestion *out)
{
    sched_lr_trim(n, skip_start, skip_end, &out->first, &out->count);
    size_t m = out->count;
    if (m < 2)
        return false;
    const double *l = losses + out->first;
    size_t grad_i = 0, loss_i = 0;
    double grad_best = gradient_at(l, m, 0);
    for (size_t i = 1; i < m; i++) {
        double g = gradient_at(l, m, i);
        if (argmin_better(g, grad_best)) {
            grad_best = g;
            grad_i = i;
        }
        if (argmin_better(l[i], l[loss_i]))
            loss_i = i;
    }
    out->min_grad = out->first + grad_i;
    out->min_grad_lr = lrs[out->min_grad];
    out->min_loss = out->first + loss_i;
    out->min_loss_lr = lrs[out->min_loss] / 10.0;
    return true;
}
