/*
 * nn/loss.c: softmax cross-entropy on (N, C) logits (CrossEntropyFlat, mean
 * over the batch) and the head's dropout masks.
 *
 * loss_i = logsumexp(z_i) - z_i[y_i], computed in double with the row max
 * subtracted; probs = exp(z - logsumexp). Backward: (probs - onehot) / N.
 */
#include "nn/ops.h"
#include "nn/nnmath.h"

float nn_xent_forward(size_t n, size_t c, float *probs, float *item_loss,
                      const float *logits, const int32_t *labels)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * c;
        double mx = z[0];
        for (size_t j = 1; j < c; j++)
            mx = z[j] > mx ? z[j] : mx;
        double s = 0.0;
        for (size_t j = 0; j < c; j++)
            s += nn_exp(z[j] - mx);
        double lse = mx + nn_log(s);
        if (probs)
            for (size_t j = 0; j < c; j++)
                probs[i * c + j] = (float)nn_exp(z[j] - lse);
        if (labels) {
            double l = lse - z[labels[i]];
            if (item_loss)
                item_loss[i] = (float)l;
            total += l;
        }
    }
    return labels ? (float)(total / (double)n) : 0.0f;
}

void nn_xent_backward(size_t n, size_t c, float *dlogits, const float *probs,
                      const int32_t *labels)
{
    float inv = 1.0f / (float)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c; j++)
            dlogits[i * c + j] = (probs[i * c + j] -
                                  ((int32_t)j == labels[i] ? 1.0f : 0.0f)) * inv;
}

// --- dropout ------------------------------------------------------------------------

static inline uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

bool nn_dropout_keep(uint64_t seed, uint32_t layer, uint32_t i, float p)
{
    uint64_t h = mix64(seed ^ mix64((uint64_t)layer << 32 | i));
    return (uint32_t)(h >> 40) >= (uint32_t)((double)p * 16777216.0);
}

void nn_dropout_apply(float *x, size_t count, float p, uint64_t seed,
                      uint32_t layer)
{
    if (p <= 0.0f)
        return;
    float scale = (float)(1.0 / (1.0 - (double)p));
    for (size_t i = 0; i < count; i++)
        x[i] = nn_dropout_keep(seed, layer, (uint32_t)i, p) ? x[i] * scale
                                                            : 0.0f;
}
