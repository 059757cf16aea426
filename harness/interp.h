/*
 * harness/interp.h: ClassificationInterpretation of fastai v1 (1.0.42).
 *
 * From the validation predictions (fixed valid order): per-item softmax
 * probabilities, cross-entropy losses and argmax predictions; the confusion
 * matrix (rows = actual, columns = predicted); most_confused; top losses.
 *
 * most_confused follows the early-2019 rule by default: a pair is listed
 * when its count is STRICTLY greater than min_val (fastai <= 1.0.44; so
 * min_val=2 lists counts >= 3); 1.0.46+ used >=, selectable here. Pairs are
 * sorted by count descending; ties keep row-major (actual, then predicted)
 * order, as fastai's stable sort of numpy.where output does.
 *
 * Pure functions on caller buffers; no allocation, no I/O.
 */
#ifndef RESIN_HARNESS_INTERP_H
#define RESIN_HARNESS_INTERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Per item i of logits (n, nc): probs (n, nc) = softmax, loss[i] =
 * logsumexp - logit[y], pred[i] = argmax (first maximum). Any output may be
 * NULL. Returns the number of wrong predictions. */
size_t harness_interp_eval(const float *logits, const int32_t *y, size_t n,
                           size_t nc, float *probs, float *loss,
                           int32_t *pred);

/* cm (nc, nc) = counts of (actual y[i], predicted pred[i]). */
void harness_interp_confusion(int64_t *cm, size_t nc, const int32_t *y,
                              const int32_t *pred, size_t n);

typedef struct {
    int32_t actual, predicted;
    int64_t count;
} interp_pair;

typedef enum {
    INTERP_STRICT = 0, /* count > min_val: fastai <= 1.0.44 (default) */
    INTERP_AT_LEAST,   /* count >= min_val: fastai >= 1.0.46 */
} interp_rule;

/* Off-diagonal cells passing the rule, into out (capacity nc*(nc-1) is
 * always enough), sorted as described above. Returns how many. */
size_t harness_interp_most_confused(const int64_t *cm, size_t nc,
                                    int64_t min_val, interp_rule rule,
                                    interp_pair *out);

/* The k largest losses: idx[0..k) in descending loss order (ties by lower
 * index first, NaN counted as largest). k is clamped to n; returns it. */
size_t harness_interp_top_losses(const float *loss, size_t n, size_t k,
                                 size_t *idx);

#endif /* RESIN_HARNESS_INTERP_H */
