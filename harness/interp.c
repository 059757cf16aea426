/*
 * harness/interp.c: confusion matrix, most_confused, top losses (interp.h).
 */
#include "harness/interp.h"

#include <math.h>

size_t harness_interp_eval(const float *logits, const int32_t *y, size_t n,
                           size_t nc, float *probs, float *loss,
                           int32_t *pred)
{
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * nc;
        size_t am = 0;
        for (size_t c = 1; c < nc; c++)
            if (z[c] > z[am])
                am = c;
        double s = 0;
        for (size_t c = 0; c < nc; c++)
            s += exp((double)z[c] - z[am]);
        double lse = z[am] + log(s);
        if (probs)
            for (size_t c = 0; c < nc; c++)
                probs[i * nc + c] = (float)(exp((double)z[c] - z[am]) / s);
        if (loss)
            loss[i] = (float)(lse - z[y[i]]);
        if (pred)
            pred[i] = (int32_t)am;
        wrong += (int32_t)am != y[i];
    }
    return wrong;
}

void harness_interp_confusion(int64_t *cm, size_t nc, const int32_t *y,
                              const int32_t *pred, size_t n)
{
    for (size_t i = 0; i < nc * nc; i++)
        cm[i] = 0;
    for (size_t i = 0; i < n; i++)
        if (y[i] >= 0 && (size_t)y[i] < nc && pred[i] >= 0 &&
            (size_t)pred[i] < nc)
            cm[(size_t)y[i] * nc + (size_t)pred[i]]++;
}

size_t harness_interp_most_confused(const int64_t *cm, size_t nc,
                                    int64_t min_val, interp_rule rule,
                                    interp_pair *out)
{
    size_t m = 0;
    for (size_t a = 0; a < nc; a++) {
        for (size_t p = 0; p < nc; p++) {
            int64_t v = cm[a * nc + p];
            bool keep = rule == INTERP_STRICT ? v > min_val : v >= min_val;
            if (a == p || !keep)
                continue;
            /* insertion sort, stable: move past every count >= v */
            size_t j = m++;
            while (j > 0 && out[j - 1].count < v) {
                out[j] = out[j - 1];
                j--;
            }
            out[j] = (interp_pair){(int32_t)a, (int32_t)p, v};
        }
    }
    return m;
}

/* a ranks before b: larger loss (NaN largest), then lower index */
static bool loss_before(const float *loss, size_t a, size_t b)
{
    bool na = isnan(loss[a]), nb = isnan(loss[b]);
    if (na != nb)
        return na;
    if (!na && loss[a] != loss[b])
        return loss[a] > loss[b];
    return a < b;
}

size_t harness_interp_top_losses(const float *loss, size_t n, size_t k,
                                 size_t *idx)
{
    if (k > n)
        k = n;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m == k && (k == 0 || !loss_before(loss, i, idx[k - 1])))
            continue;
        size_t j = m < k ? m++ : k - 1;
        while (j > 0 && loss_before(loss, i, idx[j - 1])) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return k;
}
