/*
 * tests/nn/test-model.c: the model description against its sources of
 * truth: torchvision's resnet34 state-dict keys and shapes
 * (fixtures/resnet34-keys.txt from gen-keys.py), fastai's parameter counts
 * per layer group and freeze state (reference section 3), the summary, the
 * plan (carved pointers inside their arena, no overlap of saved tensors),
 * freeze/unfreeze resetting the optimizer.
 */
#include <criterion/criterion.h>

#include "tests/nn/nnfix.h"

#define KEYS_PATH "tests/nn/fixtures/resnet34-keys.txt"

static nn_model model;
static fx_arenas arenas;

static nn_model *small_model(size_t classes)
{
    cr_assert(fx_alloc(&arenas, 2, 64, classes, 1));
    cr_assert(nn_model_init(&model, 2, 64, classes, 1, arenas.a));
    return &model;
}

Test(nn_model, torchvision_names_and_shapes)
{
    nn_model *m = small_model(37);
    FILE *fp = fopen(KEYS_PATH, "r");
    cr_assert_not_null(fp, "cannot read %s", KEYS_PATH);
    char name[96];
    int ndim;
    size_t d[4], body_params = 0, body_stats = 0, nbt = 0;
    while (fscanf(fp, "%95s %d %zu %zu %zu %zu", name, &ndim, &d[0], &d[1],
                  &d[2], &d[3]) == 6) {
        if (strncmp(name, "fc.", 3) == 0)
            continue;
        if (fx_ends(name, "num_batches_tracked")) {
            nbt++;
            continue;
        }
        long k = nn_param_find(m, name);
        if (k >= 0) {
            const nn_param *p = &m->params[k];
            cr_assert_eq(p->ndim, ndim, "%s ndim", name);
            for (int i = 0; i < ndim; i++)
                cr_assert_eq(p->shape[i], d[i], "%s dim %d", name, i);
            body_params++;
            continue;
        }
        k = nn_stat_find(m, name);
        cr_assert(k >= 0, "torchvision tensor %s missing", name);
        cr_assert_eq(m->stats[k].numel, d[0], "%s", name);
        body_stats++;
    }
    fclose(fp);
    cr_assert_eq(body_params, 36 + 2 * 36);
    cr_assert_eq(body_stats, 2 * 36);
    cr_assert_eq(nbt, 36);
    cr_assert_eq(m->nparams, body_params + 8, "head adds 8 tensors");
    cr_assert_eq(m->nstats, body_stats + 4);
    cr_assert(nn_param_find(m, "head.fc1.weight") >= 0);
    cr_assert(nn_param_find(m, "head.bn2.bias") >= 0);
    cr_assert(nn_stat_find(m, "head.bn1.running_var") >= 0);
    cr_assert_eq(nn_param_find(m, "fc.weight"), -1);
    fx_free(&arenas);
}

Test(nn_model, fastai_group_counts_and_freeze)
{
    nn_model *m = small_model(37);
    /* fastai-v1-semantics.md section 3: non-BN / BN per layer group */
    static const size_t expect[NN_PG_COUNT] = {1344704, 3200, 19922944,
                                                13824, 543781, 3072};
    size_t got[NN_PG_COUNT] = {0};
    for (size_t i = 0; i < m->nparams; i++)
        got[m->params[i].pgroup] += m->params[i].numel;
    for (int g = 0; g < NN_PG_COUNT; g++)
        cr_assert_eq(got[g], expect[g], "group %d: %zu", g, got[g]);
    cr_assert(m->frozen, "create_cnn starts frozen");
    cr_assert_eq(nn_trainable_count(m), 563877);
    nn_unfreeze(m);
    cr_assert_eq(nn_trainable_count(m), 21831525);
    nn_freeze(m);
    cr_assert_eq(nn_trainable_count(m), 563877);
    /* groups are contiguous, ordered ranges of the arena */
    for (int g = 0; g < NN_PG_COUNT; g++) {
        cr_assert_leq(m->pg_begin[g], m->pg_begin[g + 1]);
        for (size_t i = 0; i < m->nparams; i++)
            if (m->params[i].pgroup == g)
                cr_assert(m->params[i].offset >= m->pg_begin[g] &&
                          m->params[i].offset + m->params[i].numel <=
                              m->pg_begin[g + 1], "%s", m->params[i].name);
    }
    fx_free(&arenas);
}

Test(nn_model, unfreeze_resets_optimizer)
{
    nn_model *m = small_model(10);
    for (size_t i = 0; i < m->param_floats; i++)
        m->m[i] = m->v[i] = 1.0f;
    m->opt_steps[NN_PG_G2] = 7;
    nn_unfreeze(m);
    cr_assert_not(m->frozen);
    cr_assert_eq(m->opt_steps[NN_PG_G2], 0);
    for (size_t i = 0; i < m->param_floats; i++)
        cr_assert(m->m[i] == 0.0f && m->v[i] == 0.0f, "moment %zu", i);
    for (int g = 0; g < NN_PG_COUNT; g++)
        cr_assert(nn_pg_trainable(m, g));
    nn_freeze(m);
    cr_assert_not(nn_pg_trainable(m, NN_PG_G0));
    cr_assert_not(nn_pg_trainable(m, NN_PG_G1));
    cr_assert(nn_pg_trainable(m, NN_PG_G0_BN));
    cr_assert(nn_pg_trainable(m, NN_PG_G1_BN));
    cr_assert(nn_pg_trainable(m, NN_PG_G2));
    fx_free(&arenas);
}

Test(nn_model, summary_like_print_learn_model)
{
    nn_model *m = small_model(37);
    static nn_summary s;
    nn_summary_build(m, 64, &s);
    /* fastai leaves: 41 in group 0, 49 in group 1; our head lists 9 rows
     * (AdaptiveConcatPool2d as one) */
    size_t per_group[3] = {0};
    for (size_t i = 0; i < s.nrows; i++)
        per_group[s.rows[i].layer_group]++;
    cr_assert_eq(per_group[0], 41);
    cr_assert_eq(per_group[1], 49);
    cr_assert_eq(per_group[2], 9);
    cr_assert_eq(s.total_params, 21831525);
    cr_assert_eq(s.trainable_params, 563877);
    cr_assert_str_eq(s.rows[0].name, "conv1");
    cr_assert_str_eq(s.rows[0].type, "Conv2d");
    cr_assert_eq(s.rows[0].params, 9408);
    cr_assert_eq(s.rows[0].shape[0], 64);
    cr_assert_eq(s.rows[0].shape[1], 64);
    cr_assert_eq(s.rows[0].shape[2], 32); /* 64x64 input */
    cr_assert_not(s.rows[0].trainable);
    cr_assert(s.rows[1].trainable, "bn1 trains while frozen");
    const nn_summary_row *last = &s.rows[s.nrows - 1];
    cr_assert_str_eq(last->name, "head.fc2");
    cr_assert_eq(last->params, 512 * 37 + 37);
    cr_assert_eq(last->shape[1], 37);
    nn_unfreeze(m);
    nn_summary_build(m, 64, &s);
    cr_assert_eq(s.trainable_params, 21831525);
    fx_free(&arenas);
}

static bool inside(const void *p, size_t bytes, const void *base,
                   size_t arena)
{
    return (const char *)p >= (const char *)base &&
           (const char *)p + bytes <= (const char *)base + arena;
}

Test(nn_model, plan_carves_inside_arenas)
{
    nn_model *m = small_model(37);
    const void *acts = arenas.a[NN_ARENA_ACTS];
    size_t bytes = arenas.plan.bytes[NN_ARENA_ACTS], n = m->batch;
    for (size_t k = 0; k < NN_BLOCKS; k++) {
        const nn_block *b = &m->blocks[k];
        size_t e = n * b->conv1.oc * b->conv1.oh * b->conv1.ow * 4;
        cr_assert(inside(b->a1, e, acts, bytes) && inside(b->a2, e, acts, bytes)
                  && inside(b->out, e, acts, bytes), "block %zu", k);
        cr_assert((uintptr_t)b->out % KERN_ALIGN == 0);
        /* saved tensors of a block are disjoint and in carve order */
        cr_assert((const char *)b->a1 + e <= (const char *)b->a2);
    }
    cr_assert(inside(m->big1, n * 64 * 32 * 32 * 4, acts, bytes));
    cr_assert(inside(m->hg1, n * 1024 * 4, acts, bytes));
    cr_assert(inside(m->w2, n * 64 * 16 * 16 * 4, m->big0,
                     n * 64 * 32 * 32 * 4 + 64 * 4 * 3));
    /* parameters then statistics fit the parameter arena */
    const nn_stat *st = &m->stats[m->nstats - 1];
    cr_assert(inside(m->param + st->offset, st->numel * 4,
                     arenas.a[NN_ARENA_PARAMS],
                     arenas.plan.bytes[NN_ARENA_PARAMS]));
    cr_assert(inside(m->v + m->param_floats - 1, 4, arenas.a[NN_ARENA_MOMENTS],
                     arenas.plan.bytes[NN_ARENA_MOMENTS]));
    cr_assert_eq(arenas.plan.param_count, 21831525);
    /* running mean + var: 8,512 body channels, 1,536 head channels */
    cr_assert_eq(arenas.plan.stat_count, 2 * 8512 + 2 * 1536);
    fx_free(&arenas);
}

Test(nn_model, plan_at_224)
{
    size_t prev = 0;
    for (size_t batch = 16; batch <= 64; batch *= 2) {
        nn_plan_sizes p = nn_plan(batch, 224, 37, 2);
        cr_assert_gt(p.total, 0);
        cr_log_info("plan 224x224 batch %zu: params %zu grads %zu moments %zu "
                    "acts %zu scratch %zu total %zu bytes", batch,
                    p.bytes[0], p.bytes[1], p.bytes[2], p.bytes[3], p.bytes[4],
                    p.total);
        /* parameters + stats: 21,831,525 + 2 x (8,512 + 1,536) floats,
         * padding per tensor < 64 bytes + 64 extra */
        size_t floats = 21831525 + 2 * (8512 + 1536);
        cr_assert(p.bytes[NN_ARENA_PARAMS] >= floats * 4 &&
                  p.bytes[NN_ARENA_PARAMS] < floats * 4 + 200 * 128);
        cr_assert_eq(p.bytes[NN_ARENA_MOMENTS], 2 * p.bytes[NN_ARENA_GRADS]);
        /* activations grow linearly with the batch */
        if (prev)
            cr_assert(p.bytes[NN_ARENA_ACTS] > 19 * prev / 10 &&
                      p.bytes[NN_ARENA_ACTS] < 2 * prev);
        prev = p.bytes[NN_ARENA_ACTS];
    }
    cr_assert_eq(nn_plan(0, 224, 37, 2).total, 0);
    cr_assert_eq(nn_plan(16, 8, 37, 2).total, 0);
}
