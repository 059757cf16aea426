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
#include "kernels/layers.h"
#include "nn/model.h"

#define ADAM_BETA2 0.99f
#define ADAM_EPS 1e-8f

void nn_optimizer_step(nn_model *m, const nn_hparams *hp,
                       const kern_pool *pool)
{
    for (int pg = 0; pg < NN_PG_COUNT; pg++) {
        if (!nn_pg_trainable(m, pg))
            continue;
        size_t b = m->pg_begin[pg], e = m->pg_begin[pg + 1];
        uint64_t t = (uint64_t)++m->opt_steps[pg];
        kern_adam_hparams ah = {
            .lr = hp->lr[nn_pg_layer_group(pg)],
            .wd = hp->wd,
            .beta1 = hp->mom,
            .beta2 = ADAM_BETA2,
            .eps = ADAM_EPS,
            .bias_correction1 = kern_adam_bias_correction(hp->mom, t),
            .bias_correction2 = kern_adam_bias_correction(ADAM_BETA2, t),
        };
        kern_f32_adam(pool, e - b, m->param + b, m->m + b, m->v + b,
                      m->grad + b, &ah);
    }
}
