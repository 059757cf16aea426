/*
 * nn/model.c: the model description (layers, shapes, parameter names and
 * groups), the memory plan, carving of the arenas, fresh weights, freeze and
 * the summary. The step itself is in nn/step.c, the optimizer in nn/optim.c.
 *
 * One function, describe(), builds everything from (batch, size, classes)
 * and a base address per arena: nn_plan runs it with base 0 and reads the
 * final cursors; nn_model_init runs it with the caller's arenas. So the plan
 * and the carve cannot disagree.
 */
#include "nn/model.h"
#include "nn/nnmath.h"
#include "nn/ops.h"

// --- names without libc ---------------------------------------------------------

typedef struct namebuf {
    char *p;
    size_t left;
} namebuf;

static void nb_str(namebuf *b, const char *s)
{
    while (*s && b->left > 1) {
        *b->p++ = *s++;
        b->left--;
    }
    *b->p = 0;
}

static void nb_uint(namebuf *b, size_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n > 0 && b->left > 1) {
        *b->p++ = tmp[--n];
        b->left--;
    }
    *b->p = 0;
}

static void name_join(char dst[NN_NAME_MAX], const char *prefix,
                      const char *suffix)
{
    namebuf b = {dst, NN_NAME_MAX};
    nb_str(&b, prefix);
    if (suffix) {
        nb_str(&b, ".");
        nb_str(&b, suffix);
    }
}

static bool str_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

// --- the description -----------------------------------------------------------

/* Cursor over one arena: hands out 64-byte aligned blocks, each followed by
 * KERN_EXTRA_BYTES of readable padding (kernels may over-read). */
typedef struct carver {
    uintptr_t base;
    size_t used;
} carver;

static void *carve(carver *c, size_t bytes)
{
    void *p = (void *)(c->base + c->used);
    c->used += kern_align_up(bytes + KERN_EXTRA_BYTES);
    return p;
}

static float *carve_f(carver *c, size_t floats)
{
    return carve(c, floats * sizeof(float));
}

typedef struct builder {
    nn_model *m;
    carver acts;
    size_t n;      /* batch */
} builder;

static size_t add_param(nn_model *m, const char *prefix, const char *suffix,
                        int pg, int ndim, size_t d0, size_t d1, size_t d2,
                        size_t d3)
{
    nn_param *p = &m->params[m->nparams];
    name_join(p->name, prefix, suffix);
    p->ndim = ndim;
    p->shape[0] = d0, p->shape[1] = d1, p->shape[2] = d2, p->shape[3] = d3;
    p->numel = d0 * (ndim > 1 ? d1 : 1) * (ndim > 2 ? d2 : 1) *
               (ndim > 3 ? d3 : 1);
    p->pgroup = pg;
    return m->nparams++;
}

static size_t add_stat(nn_model *m, const char *prefix, const char *suffix,
                       size_t numel)
{
    nn_stat *s = &m->stats[m->nstats];
    name_join(s->name, prefix, suffix);
    s->numel = numel;
    return m->nstats++;
}

static nn_conv make_conv(builder *b, const char *name, size_t ic, size_t oc,
                         size_t k, size_t stride, size_t pad, size_t ih,
                         int group)
{
    nn_conv c = {ic, oc, k, stride, pad, ih, ih, 0, 0, 0};
    c.oh = c.ow = (ih + 2 * pad - k) / stride + 1;
    c.weight = add_param(b->m, name, "weight", 2 * group, 4, oc, ic, k, k);
    return c;
}

static nn_bn make_bn(builder *b, const char *name, size_t c, int group)
{
    nn_bn bn = {0};
    bn.c = c;
    bn.weight = add_param(b->m, name, "weight", 2 * group + 1, 1, c, 0, 0, 0);
    bn.bias = add_param(b->m, name, "bias", 2 * group + 1, 1, c, 0, 0, 0);
    bn.rmean = add_stat(b->m, name, "running_mean", c);
    bn.rvar = add_stat(b->m, name, "running_var", c);
    bn.mean = carve_f(&b->acts, c);
    bn.rstd = carve_f(&b->acts, c);
    return bn;
}

static size_t act_numel(size_t n, size_t c, size_t h, size_t w)
{
    return n * c * h * w;
}

static void describe_block(builder *b, nn_block *blk, size_t layer,
                           size_t index, size_t ic, size_t oc, size_t stride,
                           size_t ih)
{
    int group = layer <= 2 ? 0 : 1;
    char prefix[NN_NAME_MAX], name[NN_NAME_MAX];
    namebuf nb = {prefix, NN_NAME_MAX};
    nb_str(&nb, "layer");
    nb_uint(&nb, layer);
    nb_str(&nb, ".");
    nb_uint(&nb, index);

    name_join(name, prefix, "conv1");
    blk->conv1 = make_conv(b, name, ic, oc, 3, stride, 1, ih, group);
    name_join(name, prefix, "bn1");
    blk->bn1 = make_bn(b, name, oc, group);
    size_t oh = blk->conv1.oh;
    name_join(name, prefix, "conv2");
    blk->conv2 = make_conv(b, name, oc, oc, 3, 1, 1, oh, group);
    name_join(name, prefix, "bn2");
    blk->bn2 = make_bn(b, name, oc, group);
    blk->has_down = stride != 1 || ic != oc;
    size_t numel = act_numel(b->n, oc, oh, oh);
    blk->a1 = carve_f(&b->acts, numel);
    blk->a2 = carve_f(&b->acts, numel);
    if (blk->has_down) {
        name_join(name, prefix, "downsample.0");
        blk->down = make_conv(b, name, ic, oc, 1, stride, 0, ih, group);
        name_join(name, prefix, "downsample.1");
        blk->bnd = make_bn(b, name, oc, group);
        blk->ad = carve_f(&b->acts, numel);
    }
    blk->out = carve_f(&b->acts, numel);
}

/* Parameters are laid out group by group (so each optimizer group is one
 * contiguous range and Adam is a flat loop), in model order inside a group,
 * each tensor 64-byte aligned; the running statistics follow. */
static void layout_params(nn_model *m)
{
    size_t off = 0;
    for (int pg = 0; pg < NN_PG_COUNT; pg++) {
        m->pg_begin[pg] = off;
        for (size_t i = 0; i < m->nparams; i++) {
            if (m->params[i].pgroup != pg)
                continue;
            m->params[i].offset = off;
            off += KERN_ROUND_UP(m->params[i].numel, (size_t)16);
        }
    }
    m->pg_begin[NN_PG_COUNT] = off;
    m->param_floats = off;
    for (size_t i = 0; i < m->nstats; i++) {
        m->stats[i].offset = off;
        off += KERN_ROUND_UP(m->stats[i].numel, (size_t)16);
    }
}

static void describe_head(builder *b, size_t classes)
{
    nn_model *m = b->m;
    size_t n = b->n;
    m->head_bn1 = make_bn(b, "head.bn1", NN_HEAD_FEATURES, 2);
    m->fc1_w = add_param(m, "head.fc1", "weight", NN_PG_G2, 2, NN_HEAD_HIDDEN,
                         NN_HEAD_FEATURES, 0, 0);
    m->fc1_b = add_param(m, "head.fc1", "bias", NN_PG_G2, 1, NN_HEAD_HIDDEN,
                         0, 0, 0);
    m->head_bn2 = make_bn(b, "head.bn2", NN_HEAD_HIDDEN, 2);
    m->fc2_w = add_param(m, "head.fc2", "weight", NN_PG_G2, 2, classes,
                         NN_HEAD_HIDDEN, 0, 0);
    m->fc2_b = add_param(m, "head.fc2", "bias", NN_PG_G2, 1, classes, 0, 0, 0);
    m->h0 = carve_f(&b->acts, n * NN_HEAD_FEATURES);
    m->h2 = carve_f(&b->acts, n * NN_HEAD_FEATURES);
    m->h4 = carve_f(&b->acts, n * NN_HEAD_HIDDEN);
    m->h6 = carve_f(&b->acts, n * NN_HEAD_HIDDEN);
    m->logits = carve_f(&b->acts, n * classes);
    m->dlogits = carve_f(&b->acts, n * classes);
    m->probs = carve_f(&b->acts, n * classes);
    m->item_loss = carve_f(&b->acts, n);
    m->labels = carve(&b->acts, n * sizeof(int32_t));
    m->hg0 = carve_f(&b->acts, n * NN_HEAD_FEATURES);
    m->hg1 = carve_f(&b->acts, n * NN_HEAD_FEATURES);
}

/* Work tensors: big0 holds the stem's recomputed ReLU output (forward and
 * backward) and, during a block's backward, three block-sized views w0..w2;
 * big1 the stem's gradient; g0/g1 carry the gradient between blocks. */
static void describe_work(builder *b, size_t stem_numel, size_t block_max)
{
    nn_model *m = b->m;
    size_t big = KERN_MAX(stem_numel, 3 * block_max + 64);
    m->big0 = carve_f(&b->acts, big);
    m->big1 = carve_f(&b->acts, stem_numel);
    m->w0 = m->big0;
    m->w1 = m->big0 + kern_align_up(block_max * sizeof(float)) / sizeof(float);
    m->w2 = m->w1 + kern_align_up(block_max * sizeof(float)) / sizeof(float);
    m->g0 = carve_f(&b->acts, block_max);
    m->g1 = carve_f(&b->acts, block_max);
}

/* Returns the bytes used in the activation arena. */
static size_t describe(nn_model *m, size_t batch, size_t size, size_t classes,
                       size_t threads, carver acts)
{
    static const size_t depth[4] = {3, 4, 6, 3};
    m->batch = batch, m->size = size, m->classes = classes;
    m->threads = threads ? threads : 1;
    m->nparams = m->nstats = 0;
    builder b = {m, acts, batch};

    m->stem = make_conv(&b, "conv1", 3, 64, 7, 2, 3, size, 0);
    m->stem_bn = make_bn(&b, "bn1", 64, 0);
    size_t s1 = m->stem.oh, s2 = (s1 + 2 - 3) / 2 + 1;
    size_t stem_numel = act_numel(batch, 64, s1, s1);
    m->c1 = carve_f(&b.acts, stem_numel);
    m->p1 = carve_f(&b.acts, act_numel(batch, 64, s2, s2));

    size_t ic = 64, h = s2, k = 0, block_max = act_numel(batch, 64, s2, s2);
    for (size_t layer = 1; layer <= 4; layer++) {
        size_t oc = (size_t)64 << (layer - 1);
        for (size_t i = 0; i < depth[layer - 1]; i++, k++) {
            size_t stride = (layer > 1 && i == 0) ? 2 : 1;
            describe_block(&b, &m->blocks[k], layer, i, ic, oc, stride, h);
            h = m->blocks[k].conv1.oh;
            ic = oc;
            block_max = KERN_MAX(block_max, act_numel(batch, oc, h, h));
        }
    }
    describe_head(&b, classes);
    describe_work(&b, stem_numel, block_max);
    layout_params(m);
    m->scratch_bytes = KERN_MAX(nn_conv_scratch_bytes(m, m->threads),
                                nn_linear_scratch_bytes(m, m->threads));
    return b.acts.used;
}

// --- plan and init ---------------------------------------------------------------

static bool args_ok(size_t batch, size_t size, size_t classes)
{
    return batch >= 1 && size >= 32 && size <= 4096 && classes >= 2 &&
           classes <= 100000;
}

static nn_plan_sizes sizes_of(const nn_model *m, size_t acts_bytes)
{
    nn_plan_sizes s = {0};
    size_t pbytes = m->param_floats * sizeof(float);
    size_t sbytes = 0;
    for (size_t i = 0; i < m->nstats; i++)
        sbytes += KERN_ROUND_UP(m->stats[i].numel, (size_t)16) * sizeof(float);
    s.bytes[NN_ARENA_PARAMS] = kern_align_up(pbytes + sbytes + KERN_EXTRA_BYTES);
    s.bytes[NN_ARENA_GRADS] = kern_align_up(pbytes + KERN_EXTRA_BYTES);
    s.bytes[NN_ARENA_MOMENTS] = 2 * kern_align_up(pbytes + KERN_EXTRA_BYTES);
    s.bytes[NN_ARENA_ACTS] = acts_bytes;
    s.bytes[NN_ARENA_SCRATCH] = kern_align_up(m->scratch_bytes + KERN_EXTRA_BYTES);
    for (int a = 0; a < NN_ARENA_COUNT; a++)
        s.total += s.bytes[a];
    for (size_t i = 0; i < m->nparams; i++)
        s.param_count += m->params[i].numel;
    for (size_t i = 0; i < m->nstats; i++)
        s.stat_count += m->stats[i].numel;
    return s;
}

nn_plan_sizes nn_plan(size_t batch, size_t size, size_t classes,
                      size_t threads)
{
    nn_plan_sizes s = {0};
    if (!args_ok(batch, size, classes))
        return s;
    nn_model tmp; /* about 30 KB of tables */
    size_t acts = describe(&tmp, batch, size, classes, threads,
                           (carver){0, 0});
    return sizes_of(&tmp, acts);
}

bool nn_model_init(nn_model *m, size_t batch, size_t size, size_t classes,
                   size_t threads, void *const arenas[NN_ARENA_COUNT])
{
    if (!args_ok(batch, size, classes))
        return false;
    for (int a = 0; a < NN_ARENA_COUNT; a++)
        if (!arenas[a] || (uintptr_t)arenas[a] % KERN_ALIGN)
            return false;
    size_t acts = describe(m, batch, size, classes, threads,
                           (carver){(uintptr_t)arenas[NN_ARENA_ACTS], 0});
    nn_plan_sizes s = sizes_of(m, acts);
    m->param = arenas[NN_ARENA_PARAMS];
    m->grad = arenas[NN_ARENA_GRADS];
    m->m = arenas[NN_ARENA_MOMENTS];
    m->v = (float *)((char *)arenas[NN_ARENA_MOMENTS] +
                     s.bytes[NN_ARENA_MOMENTS] / 2);
    m->scratch = arenas[NN_ARENA_SCRATCH];
    m->dropout[0] = 0.25f;
    m->dropout[1] = 0.5f;
    m->n = 0;
    m->seed = 0;
    m->loss = 0;
    m->bn_batches = 0;
    m->trace = NULL;
    m->trace_ctx = NULL;
    for (size_t i = 0; i < m->param_floats; i++)
        m->grad[i] = 0.0f;
    nn_freeze(m);
    return true;
}

// --- fresh weights ------------------------------------------------------------------

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s)
{
    return (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Marsaglia's polar method: needs only log and sqrt. */
static double normal(uint64_t *s)
{
    for (;;) {
        double u = 2.0 * uniform01(s) - 1.0, v = 2.0 * uniform01(s) - 1.0;
        double r = u * u + v * v;
        if (r > 0.0 && r < 1.0)
            return u * nn_sqrt(-2.0 * nn_log(r) / r);
    }
}

void nn_model_init_weights(nn_model *m, uint64_t seed)
{
    uint64_t s = seed;
    /* convs: kaiming normal, fan_out (torchvision); head Linear: kaiming
     * normal, fan_in (fastai apply_init); biases 0; BN below */
    for (size_t i = 0; i < m->nparams; i++) {
        const nn_param *p = &m->params[i];
        float *x = nn_param_data(m, i);
        size_t fan = p->ndim == 4 ? p->shape[0] * p->shape[2] * p->shape[3]
                                  : p->ndim == 2 ? p->shape[1] : 0;
        double std = fan ? nn_sqrt(2.0 / (double)fan) : 0.0;
        for (size_t j = 0; j < p->numel; j++)
            x[j] = fan ? (float)(std * normal(&s)) : 0.0f;
    }
    /* BN weights: 1 in the body (torchvision), U(0,1) in the head (PyTorch
     * <= 1.1 default, which fastai 1.0.42 ran on); running mean 0, var 1. */
    const nn_bn *bns[NN_BNS];
    size_t nb = nn_bn_list(m, bns);
    for (size_t k = 0; k < nb; k++) {
        float *w = nn_param_data(m, bns[k]->weight);
        bool head = bns[k] == &m->head_bn1 || bns[k] == &m->head_bn2;
        for (size_t j = 0; j < bns[k]->c; j++)
            w[j] = head ? (float)uniform01(&s) : 1.0f;
        float *rm = m->param + m->stats[bns[k]->rmean].offset;
        float *rv = m->param + m->stats[bns[k]->rvar].offset;
        for (size_t j = 0; j < bns[k]->c; j++)
            rm[j] = 0.0f, rv[j] = 1.0f;
    }
    m->bn_batches = 0;
}

// --- lookup, groups, freeze ----------------------------------------------------------

long nn_param_find(const nn_model *m, const char *name)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (str_eq(m->params[i].name, name))
            return (long)i;
    return -1;
}

long nn_stat_find(const nn_model *m, const char *name)
{
    for (size_t i = 0; i < m->nstats; i++)
        if (str_eq(m->stats[i].name, name))
            return (long)i;
    return -1;
}

bool nn_pg_trainable(const nn_model *m, int pg)
{
    return !m->frozen || nn_pg_is_bn(pg) || nn_pg_layer_group(pg) == 2;
}

size_t nn_trainable_count(const nn_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nparams; i++)
        if (nn_pg_trainable(m, m->params[i].pgroup))
            n += m->params[i].numel;
    return n;
}

/* fastai builds a new optimizer on every freeze_to: moments and step counts
 * start from zero. */
static void reset_optimizer(nn_model *m)
{
    for (size_t i = 0; i < m->param_floats; i++)
        m->m[i] = 0.0f, m->v[i] = 0.0f;
    for (int pg = 0; pg < NN_PG_COUNT; pg++)
        m->opt_steps[pg] = 0;
}

void nn_freeze(nn_model *m)
{
    m->frozen = true;
    reset_optimizer(m);
}

void nn_unfreeze(nn_model *m)
{
    m->frozen = false;
    reset_optimizer(m);
}

size_t nn_bn_list(const nn_model *m, const nn_bn *out[NN_BNS])
{
    size_t n = 0;
    out[n++] = &m->stem_bn;
    for (size_t k = 0; k < NN_BLOCKS; k++) {
        out[n++] = &m->blocks[k].bn1;
        out[n++] = &m->blocks[k].bn2;
        if (m->blocks[k].has_down)
            out[n++] = &m->blocks[k].bnd;
    }
    out[n++] = &m->head_bn1;
    out[n++] = &m->head_bn2;
    return n;
}

// --- summary ---------------------------------------------------------------------------

typedef struct rows {
    nn_summary *s;
    const nn_model *m;
    size_t n;
} rows;

static void row(rows *r, const char *name, const char *suffix,
                const char *type, int ndim, size_t c, size_t h, size_t w,
                long p0, long p1)
{
    nn_summary_row *x = &r->s->rows[r->s->nrows++];
    name_join(x->name, name, suffix);
    namebuf tb = {x->type, sizeof x->type};
    nb_str(&tb, type);
    x->ndim = ndim;
    x->shape[0] = r->n, x->shape[1] = c, x->shape[2] = h, x->shape[3] = w;
    x->params = 0;
    x->trainable = false;
    x->layer_group = 2;
    long ps[2] = {p0, p1};
    for (int i = 0; i < 2; i++) {
        if (ps[i] < 0)
            continue;
        const nn_param *p = &r->m->params[ps[i]];
        x->params += p->numel;
        x->trainable = nn_pg_trainable(r->m, p->pgroup);
        x->layer_group = nn_pg_layer_group(p->pgroup);
    }
    r->s->total_params += x->params;
    if (x->trainable)
        r->s->trainable_params += x->params;
}

static void row_conv(rows *r, const char *name, const char *suffix,
                     const nn_conv *c)
{
    row(r, name, suffix, "Conv2d", 4, c->oc, c->oh, c->ow, (long)c->weight, -1);
}

static void row_bn(rows *r, const char *name, const char *suffix,
                   const nn_bn *bn, size_t h, int group)
{
    row(r, name, suffix, h ? "BatchNorm2d" : "BatchNorm1d", h ? 4 : 2, bn->c,
        h, h, (long)bn->weight, (long)bn->bias);
    r->s->rows[r->s->nrows - 1].layer_group = group;
}

static void row_plain(rows *r, const char *name, const char *suffix,
                      const char *type, int ndim, size_t c, size_t h, int group)
{
    row(r, name, suffix, type, ndim, c, h, h, -1, -1);
    r->s->rows[r->s->nrows - 1].layer_group = group;
}

static void summary_block(rows *r, const nn_block *b, size_t layer,
                          size_t index)
{
    char prefix[NN_NAME_MAX];
    namebuf nb = {prefix, NN_NAME_MAX};
    nb_str(&nb, "layer");
    nb_uint(&nb, layer);
    nb_str(&nb, ".");
    nb_uint(&nb, index);
    int g = layer <= 2 ? 0 : 1;
    size_t h = b->conv1.oh;
    row_conv(r, prefix, "conv1", &b->conv1);
    row_bn(r, prefix, "bn1", &b->bn1, h, g);
    row_plain(r, prefix, "relu", "ReLU", 4, b->conv1.oc, h, g);
    row_conv(r, prefix, "conv2", &b->conv2);
    row_bn(r, prefix, "bn2", &b->bn2, h, g);
    if (b->has_down) {
        row_conv(r, prefix, "downsample.0", &b->down);
        row_bn(r, prefix, "downsample.1", &b->bnd, h, g);
    }
}

void nn_summary_build(const nn_model *m, size_t n, nn_summary *s)
{
    static const size_t depth[4] = {3, 4, 6, 3};
    s->nrows = s->total_params = s->trainable_params = 0;
    rows r = {s, m, n};
    size_t s1 = m->stem.oh, s2 = (s1 + 2 - 3) / 2 + 1;
    row_conv(&r, "conv1", NULL, &m->stem);
    row_bn(&r, "bn1", NULL, &m->stem_bn, s1, 0);
    row_plain(&r, "relu", NULL, "ReLU", 4, 64, s1, 0);
    row_plain(&r, "maxpool", NULL, "MaxPool2d", 4, 64, s2, 0);
    for (size_t layer = 1, k = 0; layer <= 4; layer++)
        for (size_t i = 0; i < depth[layer - 1]; i++, k++)
            summary_block(&r, &m->blocks[k], layer, i);
    row_plain(&r, "head.pool", NULL, "AdaptiveConcatPool2d", 4,
              NN_HEAD_FEATURES, 1, 2);
    row_plain(&r, "head.flatten", NULL, "Flatten", 2, NN_HEAD_FEATURES, 0, 2);
    row_bn(&r, "head.bn1", NULL, &m->head_bn1, 0, 2);
    row_plain(&r, "head.drop1", NULL, "Dropout", 2, NN_HEAD_FEATURES, 0, 2);
    row(&r, "head.fc1", NULL, "Linear", 2, NN_HEAD_HIDDEN, 0, 0,
        (long)m->fc1_w, (long)m->fc1_b);
    row_plain(&r, "head.relu", NULL, "ReLU", 2, NN_HEAD_HIDDEN, 0, 2);
    row_bn(&r, "head.bn2", NULL, &m->head_bn2, 0, 2);
    row_plain(&r, "head.drop2", NULL, "Dropout", 2, NN_HEAD_HIDDEN, 0, 2);
    row(&r, "head.fc2", NULL, "Linear", 2, m->classes, 0, 0, (long)m->fc2_w,
        (long)m->fc2_b);
}
