/*
 * nn/optim.c: fastai's optimizer step on the contiguous parameter arena.
 *
 * For each trainable parameter group g (lr of its layer group, shared
 * momentum beta1 from the schedule): decoupled weight decay
 * p <- p * (1 - lr * wd) on every parameter (true_wd, bn_wd=True), then
 * PyTorch 1.0's Adam with t = the group's step count:
 *   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
 *   p <- p - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).
 * (torch >= 1.5 divides sqrt(v) by sqrt(1 - b2^t) before adding eps; fastai
 * 1.0.42 ran on torch 1.0, so eps is added to the raw sqrt(v) here.)
 */
#include "nn/ops.h"
#include "nn/nnmath.h"

#define ADAM_BETA2 0.99f
#define ADAM_EPS 1e-8f

static double powi(double b, int64_t e)
{
    double r = 1.0;
    while (e > 0) {
        if (e & 1)
            r *= b;
        b *= b;
        e >>= 1;
    }
    return r;
}

void nn_adamw_range(float *p, float *m, float *v, const float *g, size_t count,
                    float lr, float wd, float beta1, float beta2, float eps,
                    int64_t t)
{
    float decay = (float)(1.0 - (double)lr * wd);
    double bc1 = 1.0 - powi(beta1, t), bc2 = 1.0 - powi(beta2, t);
    float step = (float)(lr * nn_sqrt(bc2) / bc1);
    for (size_t i = 0; i < count; i++) {
        float pi = p[i] * decay;
        float mi = beta1 * m[i] + (1.0f - beta1) * g[i];
        float vi = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step * mi / ((float)nn_sqrt(vi) + eps);
    }
}

void nn_optimizer_step(nn_model *m, const nn_hparams *hp)
{
    for (int pg = 0; pg < NN_PG_COUNT; pg++) {
        if (!nn_pg_trainable(m, pg))
            continue;
        size_t b = m->pg_begin[pg], e = m->pg_begin[pg + 1];
        int64_t t = ++m->opt_steps[pg];
        nn_adamw_range(m->param + b, m->m + b, m->v + b, m->grad + b, e - b,
                       hp->lr[nn_pg_layer_group(pg)], hp->wd, hp->mom,
                       ADAM_BETA2, ADAM_EPS, t);
    }
}
