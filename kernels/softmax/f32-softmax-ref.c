/*
 * kernels/softmax/f32-softmax-ref.c: softmax and softmax cross-entropy over
 * (N, C) logits, the oracle: double throughout, max subtraction, libm-free
 * exp/log from layers-internal.h.
 */
#include "kernels/layers/layers-internal.h"

/* Row softmax into probs (may be NULL); returns logsumexp(x). */
static double row_softmax(size_t c, const float *x, float *probs)
{
    double mx = x[0];
    for (size_t j = 1; j < c; j++)
        mx = x[j] > mx ? x[j] : mx;
    double sum = 0.0;
    for (size_t j = 0; j < c; j++)
        sum += kern_exp_f64(x[j] - mx);
    for (size_t j = 0; j < c; j++) {
        if (probs)
            probs[j] = (float)(kern_exp_f64(x[j] - mx) / sum);
    }
    return mx + kern_log_f64(sum);
}

float kern_f32_softmax_xent__ref(size_t n, size_t c, float *losses,
                                 float *probs, float *dlogits,
                                 const float *logits, const int32_t *labels)
{
    KERN_ASSERT(n > 0 && c > 0);
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *x = logits + i * c;
        KERN_ASSERT(labels[i] >= 0 && (size_t)labels[i] < c);
        double lse = row_softmax(c, x, probs ? probs + i * c : 0);
        double loss = lse - x[labels[i]];
        if (losses)
            losses[i] = (float)loss;
        total += loss;
        if (dlogits) {
            for (size_t j = 0; j < c; j++) {
                double p = kern_exp_f64(x[j] - lse);
                double onehot = (size_t)labels[i] == j ? 1.0 : 0.0;
                dlogits[i * c + j] = (float)((p - onehot) / (double)n);
            }
        }
    }
    return (float)(total / (double)n);
}

void kern_f32_softmax__ref(size_t n, size_t c, float *probs,
                           const float *logits)
{
    for (size_t i = 0; i < n; i++)
        row_softmax(c, logits + i * c, probs + i * c);
}
