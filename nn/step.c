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
#include "nn/model.h"
#include "nn/ops.h"

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

// --- forward --------------------------------------------------------------------

static void bn_fwd(nn_model *m, const nn_bn *bn, size_t n, size_t hw, float *y,
                   const float *x, bool relu, bool train,
                   const kern_pool *pool)
{
    if (train)
        nn_bn_forward_train(bn, n, hw, y, x, P(m, bn->weight), P(m, bn->bias),
                            S(m, bn->rmean), S(m, bn->rvar), relu, pool);
    else
        nn_bn_forward_eval(bn, n, hw, y, x, P(m, bn->weight), P(m, bn->bias),
                           S(m, bn->rmean), S(m, bn->rvar), relu, pool);
}

static void block_forward(nn_model *m, const nn_block *b, size_t n,
                          const float *x, bool train, const kern_pool *pool)
{
    size_t hw = b->conv1.oh * b->conv1.ow, cnt = numel(n, &b->conv1);
    nn_conv_forward(&b->conv1, n, b->a1, x, P(m, b->conv1.weight), m->scratch,
                    pool);
    bn_fwd(m, &b->bn1, n, hw, m->w0, b->a1, true, train, pool);
    nn_conv_forward(&b->conv2, n, b->a2, m->w0, P(m, b->conv2.weight),
                    m->scratch, pool);
    bn_fwd(m, &b->bn2, n, hw, b->out, b->a2, false, train, pool);
    if (b->has_down) {
        nn_conv_forward(&b->down, n, b->ad, x, P(m, b->down.weight),
                        m->scratch, pool);
        bn_fwd(m, &b->bnd, n, hw, m->w1, b->ad, false, train, pool);
        nn_add_acc(b->out, m->w1, cnt);
    } else {
        nn_add_acc(b->out, x, cnt);
    }
    nn_relu_inplace(b->out, cnt);
}

static float forward(nn_model *m, const float *images, const int32_t *labels,
                     size_t n, uint64_t seed, bool train,
                     const kern_pool *pool)
{
    KERN_ASSERT(n >= 1 && n <= m->batch);
    m->n = n;
    m->seed = seed;
    m->images = images;
    if (labels)
        for (size_t i = 0; i < n; i++)
            m->labels[i] = labels[i];
    // stem
    size_t s1 = m->stem.oh, s2 = m->blocks[0].conv1.ih;
    nn_conv_forward(&m->stem, n, m->c1, images, P(m, m->stem.weight),
                    m->scratch, pool);
    bn_fwd(m, &m->stem_bn, n, s1 * s1, m->big0, m->c1, true, train, pool);
    nn_maxpool_forward(n, 64, s1, s2, m->p1, m->big0, pool);
    // body
    const float *x = m->p1;
    for (size_t k = 0; k < NN_BLOCKS; k++) {
        block_forward(m, &m->blocks[k], n, x, train, pool);
        x = m->blocks[k].out;
    }
    // head
    const nn_conv *last = &m->blocks[NN_BLOCKS - 1].conv2;
    size_t C = m->classes;
    nn_concat_pool_forward(n, last->oc, last->oh * last->ow, m->h0, x);
    bn_fwd(m, &m->head_bn1, n, 1, m->h2, m->h0, false, train, pool);
    if (train)
        nn_dropout_apply(m->h2, n * NN_HEAD_FEATURES, m->dropout[0], seed, 0);
    nn_linear_forward(n, NN_HEAD_FEATURES, NN_HEAD_HIDDEN, m->h4, m->h2,
                      P(m, m->fc1_w), P(m, m->fc1_b), m->scratch, pool);
    nn_relu_inplace(m->h4, n * NN_HEAD_HIDDEN);
    bn_fwd(m, &m->head_bn2, n, 1, m->h6, m->h4, false, train, pool);
    if (train)
        nn_dropout_apply(m->h6, n * NN_HEAD_HIDDEN, m->dropout[1], seed, 1);
    nn_linear_forward(n, NN_HEAD_HIDDEN, C, m->logits, m->h6, P(m, m->fc2_w),
                      P(m, m->fc2_b), m->scratch, pool);
    float loss = nn_xent_forward(n, C, m->probs, m->item_loss, m->logits,
                                 labels ? m->labels : NULL);
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

static void clear_grads(nn_model *m)
{
    for (int pg = 0; pg < NN_PG_COUNT; pg++) {
        if (!nn_pg_trainable(m, pg))
            continue;
        for (size_t i = m->pg_begin[pg]; i < m->pg_begin[pg + 1]; i++)
            m->grad[i] = 0.0f;
    }
}

static void bn_bwd(nn_model *m, const nn_bn *bn, size_t n, size_t hw,
                   float *dx, const float *dy, const float *x, bool relu,
                   const kern_pool *pool)
{
    nn_bn_backward(bn, n, hw, dx, G(m, bn->weight), G(m, bn->bias), dy, x,
                   P(m, bn->weight), P(m, bn->bias), relu, pool);
}

static void conv_bwd_weights(nn_model *m, const nn_conv *c, size_t n,
                             const float *dy, const float *x,
                             const kern_pool *pool)
{
    if (trains(m, c->weight))
        nn_conv_backward_weights(c, n, G(m, c->weight), dy, x, m->scratch,
                                 pool);
}

/* gin: gradient of the block output (consumed); gout: of its input. */
static void block_backward(nn_model *m, const nn_block *b, size_t n,
                           const float *x, float *gin, float *gout,
                           const kern_pool *pool)
{
    size_t hw = b->conv1.oh * b->conv1.ow, cnt = numel(n, &b->conv1);
    nn_relu_mask(gin, b->out, cnt);
    if (b->has_down) {
        bn_bwd(m, &b->bnd, n, hw, m->w0, gin, b->ad, false, pool);
        conv_bwd_weights(m, &b->down, n, m->w0, x, pool);
        nn_conv_backward_data(&b->down, n, gout, m->w0, P(m, b->down.weight),
                              m->scratch, pool);
    }
    bn_bwd(m, &b->bn2, n, hw, m->w0, gin, b->a2, false, pool);
    nn_bn_apply(&b->bn1, n, hw, m->w1, b->a1, P(m, b->bn1.weight),
                P(m, b->bn1.bias), true, pool);
    conv_bwd_weights(m, &b->conv2, n, m->w0, m->w1, pool);
    nn_conv_backward_data(&b->conv2, n, m->w2, m->w0, P(m, b->conv2.weight),
                          m->scratch, pool);
    bn_bwd(m, &b->bn1, n, hw, m->w1, m->w2, b->a1, true, pool);
    conv_bwd_weights(m, &b->conv1, n, m->w1, x, pool);
    if (b->has_down) {
        nn_conv_backward_data(&b->conv1, n, m->w0, m->w1, P(m, b->conv1.weight),
                              m->scratch, pool);
        nn_add_acc(gout, m->w0, n * b->conv1.ic * b->conv1.ih * b->conv1.iw);
    } else {
        nn_conv_backward_data(&b->conv1, n, gout, m->w1, P(m, b->conv1.weight),
                              m->scratch, pool);
        nn_add_acc(gout, gin, cnt);
    }
}

static void head_backward(nn_model *m, size_t n, float *gbody,
                          const kern_pool *pool)
{
    size_t C = m->classes;
    const nn_conv *last = &m->blocks[NN_BLOCKS - 1].conv2;
    nn_xent_backward(n, C, m->hg0, m->probs, m->labels);
    nn_linear_backward(n, NN_HEAD_HIDDEN, C, m->hg1, G(m, m->fc2_w),
                       G(m, m->fc2_b), m->hg0, m->h6, P(m, m->fc2_w),
                       m->scratch, pool);
    nn_dropout_apply(m->hg1, n * NN_HEAD_HIDDEN, m->dropout[1], m->seed, 1);
    bn_bwd(m, &m->head_bn2, n, 1, m->hg0, m->hg1, m->h4, false, pool);
    nn_relu_mask(m->hg0, m->h4, n * NN_HEAD_HIDDEN);
    nn_linear_backward(n, NN_HEAD_FEATURES, NN_HEAD_HIDDEN, m->hg1,
                       G(m, m->fc1_w), G(m, m->fc1_b), m->hg0, m->h2,
                       P(m, m->fc1_w), m->scratch, pool);
    nn_dropout_apply(m->hg1, n * NN_HEAD_FEATURES, m->dropout[0], m->seed, 0);
    bn_bwd(m, &m->head_bn1, n, 1, m->hg0, m->hg1, m->h0, false, pool);
    nn_concat_pool_backward(n, last->oc, last->oh * last->ow, gbody, m->hg0,
                            m->blocks[NN_BLOCKS - 1].out);
}

void nn_backward(nn_model *m, const kern_pool *pool)
{
    size_t n = m->n, s1 = m->stem.oh, s2 = m->blocks[0].conv1.ih;
    clear_grads(m);
    float *gin = m->g0, *gout = m->g1;
    head_backward(m, n, gin, pool);
    for (size_t k = NN_BLOCKS; k-- > 0;) {
        const float *x = k ? m->blocks[k - 1].out : m->p1;
        block_backward(m, &m->blocks[k], n, x, gin, gout, pool);
        float *t = gin;
        gin = gout;
        gout = t;
    }
    // stem: gin = d(p1)
    nn_bn_apply(&m->stem_bn, n, s1 * s1, m->big0, m->c1,
                P(m, m->stem_bn.weight), P(m, m->stem_bn.bias), true, pool);
    nn_maxpool_backward(n, 64, s1, s2, m->big1, gin, m->big0, pool);
    bn_bwd(m, &m->stem_bn, n, s1 * s1, m->big0, m->big1, m->c1, true, pool);
    conv_bwd_weights(m, &m->stem, n, m->big0, m->images, pool);
}

float nn_train_step(nn_model *m, const float *images, const int32_t *labels,
                    size_t n, uint64_t seed, const nn_hparams *hp,
                    const kern_pool *pool)
{
    float loss = nn_forward_train(m, images, labels, n, seed, pool);
    nn_backward(m, pool);
    nn_optimizer_step(m, hp);
    return loss;
}
