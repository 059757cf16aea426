/*
 * tests/nn/test-checkpoint.c: nn/checkpoint against itself (round trip of
 * parameters, statistics, moments, step counts, freeze state) and against a
 * torchvision-shaped file: every key and shape of torchvision's resnet34
 * state dict (fixtures/resnet34-keys.txt), fc.* included, one tensor
 * mis-shaped and one unknown on purpose; the report must name exactly those.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "nn/checkpoint.h"
#include "tests/nn/nnfix.h"

#define KEYS_PATH "tests/nn/fixtures/resnet34-keys.txt"

static nn_model ma, mb;

static void fill_pattern(float *x, size_t n, float base)
{
    for (size_t i = 0; i < n; i++)
        x[i] = base + 1e-3f * (float)(i % 997);
}

static void *read_back(const void *file, size_t size, size_t *scratch_bytes)
{
    char msg[256];
    cr_assert_eq(nn_st_read_scratch(file, size, scratch_bytes, msg, sizeof msg),
                 NN_ST_OK, "%s", msg);
    return malloc(*scratch_bytes);
}

Test(nn_checkpoint, too_much_metadata_is_refused)
{
    fx_arenas a;
    cr_assert(fx_alloc(&a, 1, 32, 10, 1));
    cr_assert(nn_model_init(&ma, 1, 32, 10, 1, a.a));
    static nn_st_meta extra[NN_CKPT_META_MAX + 1];
    for (size_t i = 0; i <= NN_CKPT_META_MAX; i++)
        extra[i] = (nn_st_meta){"k", "v"};
    size_t bytes = 0;
    char msg[256] = "";
    cr_expect_eq(nn_ckpt_size(&ma, false, extra, NN_CKPT_META_MAX + 1, &bytes,
                              msg, sizeof msg), NN_ST_EARG);
    cr_expect(strstr(msg, "metadata") != NULL, "%s", msg);
}

Test(nn_checkpoint, round_trip_with_optimizer)
{
    fx_arenas a, b;
    cr_assert(fx_alloc(&a, 1, 32, 10, 1) && fx_alloc(&b, 1, 32, 10, 1));
    cr_assert(nn_model_init(&ma, 1, 32, 10, 1, a.a));
    cr_assert(nn_model_init(&mb, 1, 32, 10, 1, b.a));
    nn_model_init_weights(&ma, 1);
    nn_model_init_weights(&mb, 2);
    nn_unfreeze(&ma);
    fill_pattern(ma.m, ma.param_floats, 0.5f);
    fill_pattern(ma.v, ma.param_floats, 0.25f);
    for (int g = 0; g < NN_PG_COUNT; g++)
        ma.opt_steps[g] = 10 + g;
    ma.bn_batches = 77;
    fill_pattern(ma.param + ma.stats[3].offset, ma.stats[3].numel, 2.0f);

    size_t bytes = 0, written = 0;
    char msg[256];
    const nn_st_meta extra[2] = {{"resin.size", "32"},
                                 {"resin.class_names", "a\nb"}};
    cr_assert_eq(nn_ckpt_size(&ma, true, extra, 2, &bytes, msg, sizeof msg),
                 NN_ST_OK, "%s", msg);
    unsigned char *buf = malloc(bytes);
    cr_assert_eq(nn_ckpt_write(&ma, true, extra, 2, buf, bytes, &written, msg,
                               sizeof msg), NN_ST_OK, "%s", msg);
    cr_assert_eq(written, bytes);

    size_t sb;
    void *scratch = read_back(buf, bytes, &sb);
    nn_st_file st;
    cr_assert_eq(nn_st_read(&st, buf, bytes, scratch, sb, msg, sizeof msg),
                 NN_ST_OK, "%s", msg);
    cr_assert_str_eq(nn_st_meta_get(&st, "resin.size"), "32");
    cr_assert_str_eq(nn_st_meta_get(&st, "resin.class_names"), "a\nb");
    cr_assert_str_eq(nn_st_meta_get(&st, "resin.frozen"), "0");
    static nn_ckpt_report r;
    cr_assert(mb.frozen);
    cr_assert_eq(nn_ckpt_load(&mb, buf, bytes, scratch, sb, &r, msg,
                              sizeof msg), NN_ST_OK, "%s", msg);
    cr_assert_eq(r.missing + r.unknown + r.mismatched + r.ignored, 0, "%s",
                 r.text);
    cr_assert(r.has_optimizer);
    cr_assert_not(mb.frozen, "freeze state restored");
    cr_assert_eq(mb.bn_batches, 77);
    for (int g = 0; g < NN_PG_COUNT; g++)
        cr_assert_eq(mb.opt_steps[g], 10 + g);
    for (size_t k = 0; k < ma.nparams; k++) {
        const nn_param *p = &ma.params[k];
        for (size_t i = 0; i < p->numel; i++) {
            size_t o = p->offset + i;
            cr_assert(ma.param[o] == mb.param[o] && ma.m[o] == mb.m[o] &&
                      ma.v[o] == mb.v[o], "%s[%zu]", p->name, i);
        }
    }
    for (size_t k = 0; k < ma.nstats; k++)
        for (size_t i = 0; i < ma.stats[k].numel; i++) {
            size_t o = ma.stats[k].offset + i;
            cr_assert(ma.param[o] == mb.param[o], "%s", ma.stats[k].name);
        }
    free(scratch);
    free(buf);
    fx_free(&a);
    fx_free(&b);
}

/* Up to 240 tensors with their data, described like torchvision's file. */
typedef struct tv_file {
    nn_st_tensor t[240];
    char names[240][80];
    float *data[240];
    int64_t nbt;
    size_t n;
} tv_file;

static void tv_build(tv_file *f)
{
    FILE *fp = fopen(KEYS_PATH, "r");
    cr_assert_not_null(fp, "cannot read %s", KEYS_PATH);
    int ndim;
    size_t d[4];
    f->n = 0;
    f->nbt = 5;
    while (fscanf(fp, "%79s %d %zu %zu %zu %zu", f->names[f->n], &ndim, &d[0],
                  &d[1], &d[2], &d[3]) == 6) {
        nn_st_tensor *t = &f->t[f->n];
        t->name = f->names[f->n];
        t->ndim = (size_t)ndim;
        size_t numel = 1;
        for (int i = 0; i < ndim; i++)
            numel *= (t->shape[i] = d[i]);
        if (fx_ends(t->name, "num_batches_tracked")) {
            t->dtype = NN_ST_I64;
            t->data = &f->nbt;
            f->data[f->n] = NULL;
        } else {
            t->dtype = NN_ST_F32;
            f->data[f->n] = malloc(numel * sizeof(float));
            uint64_t h = fx_fnv1a(t->name);
            for (size_t i = 0; i < numel; i++)
                f->data[f->n][i] = (float)fx_uniform(h, i);
            t->data = f->data[f->n];
        }
        f->n++;
    }
    fclose(fp);
    cr_assert_eq(f->n, 218);
}

Test(nn_checkpoint, loads_torchvision_names)
{
    static tv_file f;
    tv_build(&f);
    /* one mis-shaped tensor, one unknown */
    for (size_t i = 0; i < f.n; i++)
        if (strcmp(f.t[i].name, "layer3.1.bn1.bias") == 0)
            f.t[i].shape[0] = 128;
    float extra[3] = {1, 2, 3};
    f.t[f.n] = (nn_st_tensor){.name = "layer9.0.conv1.weight",
                              .dtype = NN_ST_F32, .ndim = 1, .shape = {3},
                              .data = extra};
    f.n++;
    char msg[256];
    size_t bytes, written;
    cr_assert_eq(nn_st_write_size(f.t, f.n, NULL, 0, &bytes, msg, sizeof msg),
                 NN_ST_OK, "%s", msg);
    unsigned char *buf = malloc(bytes);
    cr_assert_eq(nn_st_write(buf, bytes, f.t, f.n, NULL, 0, &written, msg,
                             sizeof msg), NN_ST_OK, "%s", msg);

    fx_arenas a;
    cr_assert(fx_alloc(&a, 1, 32, 37, 1));
    cr_assert(nn_model_init(&ma, 1, 32, 37, 1, a.a));
    nn_model_init_weights(&ma, 3);
    size_t sb;
    void *scratch = read_back(buf, bytes, &sb);
    static nn_ckpt_report r;
    cr_assert_eq(nn_ckpt_load(&ma, buf, bytes, scratch, sb, &r, msg,
                              sizeof msg), NN_ST_OK, "%s", msg);
    cr_log_info("%s", r.text);
    cr_assert_eq(r.ignored, 2, "fc.weight, fc.bias");
    cr_assert_eq(r.unknown, 1);
    cr_assert_eq(r.mismatched, 1);
    /* the head: 4 Linear + 4 BN tensors, 4 statistics, 2 batch counts */
    cr_assert_eq(r.missing, 14, "%s", r.text);
    cr_assert_eq(r.loaded, 218 - 2 - 1);
    cr_assert(strstr(r.text, "mis-shaped layer3.1.bn1.bias"), "%s", r.text);
    cr_assert(strstr(r.text, "unknown layer9.0.conv1.weight"), "%s", r.text);
    cr_assert(strstr(r.text, "missing head.fc1.weight"), "%s", r.text);
    cr_assert_not(r.has_optimizer);
    cr_assert(ma.frozen, "no freeze state in the file: unchanged");
    cr_assert_eq(ma.bn_batches, 5);
    for (size_t i = 0; i < f.n - 1; i++) {
        if (!f.data[i] || strncmp(f.t[i].name, "fc.", 3) == 0 ||
            strcmp(f.t[i].name, "layer3.1.bn1.bias") == 0)
            continue;
        long k = nn_param_find(&ma, f.t[i].name);
        const float *x = k >= 0 ? nn_param_data(&ma, (size_t)k)
                                : ma.param +
                                      ma.stats[nn_stat_find(&ma, f.t[i].name)]
                                          .offset;
        cr_assert(x[0] == f.data[i][0] && x[7] == f.data[i][7], "%s",
                  f.t[i].name);
    }
    for (size_t i = 0; i < f.n - 1; i++)
        free(f.data[i]);
    free(scratch);
    free(buf);
    fx_free(&a);
}
