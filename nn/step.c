/*
 * nn/step.c: the training step and the evaluation forward, flat: forward
 * calls, then backward calls in exactly reverse order.
 *
 * What the forward saves (see nn/model.h for the buffers):
 *   stem   c1 = conv1(image); big0 = ReLU(BN(c1)) (not kept); p1 = maxpool.
 *   block  a1 = conv1(x); w0 = ReLU(BN1(a1)) (not kept, recomputed in
 *          backward: one elementwise pass is cheaper than storing it);
 *          a2 = conv2(w0); ad = downsample conv(x);
 *          out = ReLU(BN2(a2) + [BNd(ad) | x])  (ReLU in place).
 *   head   h0 = concat pool; h2 = dropout(BN(h0)); h4 = ReLU(fc1(h2));
 *          h6 = dropout(BN(h4)); logits = fc2(h6); probs.
 * Backward-weights runs only for trainable convolutions; backward-data runs
 * through the whole body (the body BN parameters train even when frozen)
 * but never into the image.
 */
#include "kernels/layers.h"
#include "nn/model.h"
#include "nn/ops.h"

#define BN_MOMENTUM 0.1f
#define BN_EPS 1e-5f

static float *P(const nn_model *m, size_t i) { return nn_param_data(m, i); }
static float *G(const nn_model *m, size_t i)
{
    return m->grad + m->params[i].offset;
}
static float *S(const nn_model *m, size_t i)
{
    return m->param + m->stats[i].offset;
}
static bool trains(const nn_model *m, size_t i)
{
    return nn_pg_trainable(m, m->params[i].pgroup);
}
static size_t numel(size_t n, const nn_conv *c)
{
    return n * c->oc * c->oh * c->ow;
}

/* The profiling hook (nn_model.trace): op on the layer whose weight is
 * params[param] starts now. */
static void mark_at(const nn_model *m, nn_op op, size_t param)
{
    if (m->trace)
        m->trace(m->trace_ctx, op, m->params[param].name);
}

/* The same for an operation without weights. */
static void mark(const nn_model *m, nn_op op)
{
    if (m->trace)
        m->trace(m->trace_ctx, op, NULL);
}

// --- batch norm -----------------------------------------------------------------

/* Training forward (running statistics updated), evaluation forward
 * (running statistics used), or recompute (train = true, update = false:
 * the same batch statistics again, bit-identical, nothing updated). */
static void bn_fwd(nn_model *m, const nn_bn *bn, size_t n, size_t hw, float *y,
                   const float *x, bool relu, bool train, bool update,
                   const kern_pool *pool)
{
    mark_at(m, NN_OP_BN, bn->weight);
    if (train)
        kern_f32_batchnorm2d_forward_train(
            pool, n, bn->c, hw, y, bn->mean, bn->rstd,
            update ? S(m, bn->rmean) : NULL, update ? S(m, bn->rvar) : NULL,
            x, P(m, bn->weight), P(m, bn->bias), BN_MOMENTUM, BN_EPS, relu);
    else
        kern_f32_batchnorm2d_forward_eval(
            pool, n, bn->c, hw, y, x, P(m, bn->weight), P(m, bn->bias),
            S(m, bn->rmean), S(m, bn->rvar), BN_EPS, relu);
}

/* relu_out: the fused ReLU output of the forward, or NULL. */
static void bn_bwd(nn_model *m, const nn_bn *bn, size_t n, size_t hw,
                   float *dx, const float *dy, const float *x,
                   const float *relu_out, const kern_pool *pool)
{
    mark_at(m, NN_OP_BN, bn->weight);
    kern_f32_batchnorm2d_backward(pool, n, bn->c, hw, dx, G(m, bn->weight),
                                  G(m, bn->bias), dy, x, relu_out,
                                  P(m, bn->weight), bn->mean, bn->rstd);
}

// --- forward --------------------------------------------------------------------

static void block_forward(nn_model *m, const nn_block *b, size_t n,
                          const float *x, bool train, const kern_pool *pool)
{
    size_t hw = b->conv1.oh * b->conv1.ow, cnt = numel(n, &b->conv1);
    mark_at(m, NN_OP_CONV_FWD, b->conv1.weight);
    nn_conv_forward(&b->conv1, n, b->a1, x, P(m, b->conv1.weight), m->scratch,
                    pool);
    bn_fwd(m, &b->bn1, n, hw, m->w0, b->a1, true, train, true, pool);
    mark_at(m, NN_OP_CONV_FWD, b->conv2.weight);
    nn_conv_forward(&b->conv2, n, b->a2, m->w0, P(m, b->conv2.weight),
                    m->scratch, pool);
    bn_fwd(m, &b->bn2, n, hw, b->out, b->a2, false, train, true, pool);
    const float *shortcut = x;
    if (b->has_down) {
        mark_at(m, NN_OP_CONV_FWD, b->down.weight);
        nn_conv_forward(&b->down, n, b->ad, x, P(m, b->down.weight),
                        m->scratch, pool);
        bn_fwd(m, &b->bnd, n, hw, m->w1, b->ad, false, train, true, pool);
        shortcut = m->w1;
    }
    mark(m, NN_OP_ELTWISE);
    kern_f32_add_relu(pool, cnt, b->out, b->out, shortcut);
}

static void head_forward(nn_model *m, size_t n, bool train,
                         const kern_pool *pool)
{
    const nn_block *last = &m->blocks[NN_BLOCKS - 1];
    size_t C = m->classes;
    mark(m, NN_OP_HEAD);
    kern_f32_concat_pool_forward(pool, n, last->conv2.oc,
                                 last->conv2.oh * last->conv2.ow, m->h0,
                                 last->out);
    bn_fwd(m, &m->head_bn1, n, 1, m->h2, m->h0, false, train, true, pool);
    mark(m, NN_OP_HEAD);
    if (train)
        kern_f32_dropout_forward(pool, n * NN_HEAD_FEATURES, m->h2, m->h2,
                                 m->dropout[0], nn_dropout_seed(m->seed, 0),
                                 true);
    nn_linear_forward(n, NN_HEAD_FEATURES, NN_HEAD_HIDDEN, m->h4, m->h2,
                      P(m, m->fc1_w), P(m, m->fc1_b), m->scratch, pool);
    kern_f32_relu(pool, n * NN_HEAD_HIDDEN, m->h4, m->h4);
    bn_fwd(m, &m->head_bn2, n, 1, m->h6, m->h4, false, train, true, pool);
    mark(m, NN_OP_HEAD);
    if (train)
        kern_f32_dropout_forward(pool, n * NN_HEAD_HIDDEN, m->h6, m->h6,
                                 m->dropout[1], nn_dropout_seed(m->seed, 1),
                                 true);
    nn_linear_forward(n, NN_HEAD_HIDDEN, C, m->logits, m->h6, P(m, m->fc2_w),
                      P(m, m->fc2_b), m->scratch, pool);
}

static float forward(nn_model *m, const float *images, const int32_t *labels,
                     size_t n, uint64_t seed, bool train,
                     const kern_pool *pool)
{
    KERN_ASSERT(n >= 1 && n <= m->batch);
    KERN_ASSERT(kern_pool_threads(pool) <= m->threads);
    m->n = n;
    m->seed = seed;
    m->images = images;
    if (labels)
        for (size_t i = 0; i < n; i++)
            m->labels[i] = labels[i];
    // stem
    size_t s1 = m->stem.oh;
    mark_at(m, NN_OP_CONV_FWD, m->stem.weight);
    nn_conv_forward(&m->stem, n, m->c1, images, P(m, m->stem.weight),
                    m->scratch, pool);
    bn_fwd(m, &m->stem_bn, n, s1 * s1, m->big0, m->c1, true, train, true,
           pool);
    mark(m, NN_OP_ELTWISE);
    kern_f32_maxpool_3x3s2p1_forward(pool, n, 64, s1, s1, m->p1, m->big0);
    // body
    const float *x = m->p1;
    for (size_t k = 0; k < NN_BLOCKS; k++) {
        block_forward(m, &m->blocks[k], n, x, train, pool);
        x = m->blocks[k].out;
    }
    // head and loss (dlogits now, for backward)
    head_forward(m, n, train, pool);
    mark(m, NN_OP_HEAD);
    float loss = 0.0f;
    if (labels)
        loss = kern_f32_softmax_xent(n, m->classes, m->item_loss, m->probs,
                                     train ? m->dlogits : NULL, m->logits,
                                     m->labels);
    else
        kern_f32_softmax(n, m->classes, m->probs, m->logits);
    if (train)
        m->bn_batches++;
    m->loss = loss;
    return loss;
}

float nn_forward_train(nn_model *m, const float *images, const int32_t *labels,
                       size_t n, uint64_t seed, const kern_pool *pool)
{
    KERN_ASSERT(labels);
    return forward(m, images, labels, n, seed, true, pool);
}

float nn_forward_eval(nn_model *m, const float *images, const int32_t *labels,
                      size_t n, float *logits, float *item_loss, float *probs,
                      const kern_pool *pool)
{
    float loss = forward(m, images, labels, n, 0, false, pool);
    size_t C = m->classes;
    for (size_t i = 0; i < n * C; i++) {
        if (logits)
            logits[i] = m->logits[i];
        if (probs)
            probs[i] = m->probs[i];
    }
    if (item_loss && labels)
        for (size_t i = 0; i < n; i++)
            item_loss[i] = m->item_loss[i];
    return loss;
}

// --- backward -------------------------------------------------------------------

static void clear_grads(nn_model *m, const kern_pool *pool)
{
    mark(m, NN_OP_ELTWISE);
    for (int pg = 0; pg < NN_PG_COUNT; pg++)
        if (nn_pg_trainable(m, pg))
            kern_f32_fill(pool, m->pg_begin[pg + 1] - m->pg_begin[pg],
                          m->grad + m->pg_begin[pg], 0.0f);
}

/* Frozen convolutions skip their weight gradient. */
static void conv_bwd_weights(nn_model *m, const nn_conv *c, size_t n,
                             const float *dy, const float *x,
                             const kern_pool *pool)
{
    if (!trains(m, c->weight))
        return;
    mark_at(m, NN_OP_CONV_BWD_WEIGHTS, c->weight);
    nn_conv_backward_weights(c, n, G(m, c->weight), dy, x, m->scratch, pool);
}

/* gin: gradient of the block output (consumed); gout: of its input x. */
static void block_backward(nn_model *m, const nn_block *b, size_t n,
                           const float *x, float *gin, float *gout,
                           const kern_pool *pool)
{
    size_t hw = b->conv1.oh * b->conv1.ow, cnt = numel(n, &b->conv1);
    mark(m, NN_OP_ELTWISE);
    kern_f32_relu_backward(pool, cnt, gin, gin, b->out);
    if (b->has_down) {
        bn_bwd(m, &b->bnd, n, hw, m->w0, gin, b->ad, NULL, pool);
        conv_bwd_weights(m, &b->down, n, m->w0, x, pool);
        mark_at(m, NN_OP_CONV_BWD_DATA, b->down.weight);
        nn_conv_backward_data(&b->down, n, gout, m->w0, P(m, b->down.weight),
                              false, m->scratch, pool);
    }
    bn_bwd(m, &b->bn2, n, hw, m->w0, gin, b->a2, NULL, pool);
    bn_fwd(m, &b->bn1, n, hw, m->w1, b->a1, true, true, false, pool);
    conv_bwd_weights(m, &b->conv2, n, m->w0, m->w1, pool);
    mark_at(m, NN_OP_CONV_BWD_DATA, b->conv2.weight);
    nn_conv_backward_data(&b->conv2, n, m->w2, m->w0, P(m, b->conv2.weight),
                          false, m->scratch, pool);
    bn_bwd(m, &b->bn1, n, hw, m->w2, m->w2, b->a1, m->w1, pool);
    conv_bwd_weights(m, &b->conv1, n, m->w2, x, pool);
    mark_at(m, NN_OP_CONV_BWD_DATA, b->conv1.weight);
    nn_conv_backward_data(&b->conv1, n, gout, m->w2, P(m, b->conv1.weight),
                          b->has_down, m->scratch, pool);
    mark(m, NN_OP_ELTWISE);
    if (!b->has_down)
        kern_f32_add(pool, cnt, gout, gout, gin);
}

static void head_backward(nn_model *m, size_t n, float *gbody,
                          const kern_pool *pool)
{
    size_t C = m->classes;
    const nn_block *last = &m->blocks[NN_BLOCKS - 1];
    mark(m, NN_OP_HEAD);
    nn_linear_backward(n, NN_HEAD_HIDDEN, C, m->hg1, G(m, m->fc2_w),
                       G(m, m->fc2_b), m->dlogits, m->h6, P(m, m->fc2_w),
                       m->scratch, pool);
    kern_f32_dropout_backward(pool, n * NN_HEAD_HIDDEN, m->hg1, m->hg1,
                              m->dropout[1], nn_dropout_seed(m->seed, 1));
    bn_bwd(m, &m->head_bn2, n, 1, m->hg0, m->hg1, m->h4, NULL, pool);
    mark(m, NN_OP_HEAD);
    kern_f32_relu_backward(pool, n * NN_HEAD_HIDDEN, m->hg0, m->hg0, m->h4);
    nn_linear_backward(n, NN_HEAD_FEATURES, NN_HEAD_HIDDEN, m->hg1,
                       G(m, m->fc1_w), G(m, m->fc1_b), m->hg0, m->h2,
                       P(m, m->fc1_w), m->scratch, pool);
    kern_f32_dropout_backward(pool, n * NN_HEAD_FEATURES, m->hg1, m->hg1,
                              m->dropout[0], nn_dropout_seed(m->seed, 0));
    bn_bwd(m, &m->head_bn1, n, 1, m->hg0, m->hg1, m->h0, NULL, pool);
    mark(m, NN_OP_HEAD);
    kern_f32_concat_pool_backward(pool, n, last->conv2.oc,
                                  last->conv2.oh * last->conv2.ow, gbody,
                                  m->hg0, last->out, m->h0);
}

void nn_backward(nn_model *m, const kern_pool *pool)
{
    size_t n = m->n, s1 = m->stem.oh;
    clear_grads(m, pool);
    float *gin = m->g0, *gout = m->g1;
    head_backward(m, n, gin, pool);
    for (size_t k = NN_BLOCKS; k-- > 0;) {
        const float *x = k ? m->blocks[k - 1].out : m->p1;
        block_backward(m, &m->blocks[k], n, x, gin, gout, pool);
        float *t = gin;
        gin = gout;
        gout = t;
    }
    // stem: gin = d(p1); the ReLU output is recomputed into big0
    bn_fwd(m, &m->stem_bn, n, s1 * s1, m->big0, m->c1, true, true, false,
           pool);
    mark(m, NN_OP_ELTWISE);
    kern_f32_maxpool_3x3s2p1_backward(pool, n, 64, s1, s1, m->big1, gin,
                                      m->big0, m->p1);
    bn_bwd(m, &m->stem_bn, n, s1 * s1, m->big1, m->big1, m->c1, m->big0,
           pool);
    conv_bwd_weights(m, &m->stem, n, m->big1, m->images, pool);
}

float nn_train_step(nn_model *m, const float *images, const int32_t *labels,
                    size_t n, uint64_t seed, const nn_hparams *hp,
                    const kern_pool *pool)
{
    float loss = nn_forward_train(m, images, labels, n, seed, pool);
    nn_backward(m, pool);
    mark(m, NN_OP_OPTIM);
    nn_optimizer_step(m, hp, pool);
    mark(m, NN_OP_NONE);
    return loss;
}
