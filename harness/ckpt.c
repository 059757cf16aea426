/*
 * harness/ckpt.c: nn_model checkpoints through nn/safetensors (format) and
 * harness/file (whole-file read, atomic write); see ckpt.h.
 */
#include "harness/ckpt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/file.h"
#include "nn/safetensors.h"

// --- writing -----------------------------------------------------------------

typedef struct {
    nn_st_tensor *t;
    char (*names)[NN_NAME_MAX + 24];
    size_t n;
    int64_t nbt;                 /* num_batches_tracked, as torch stores it */
    int64_t steps[NN_PG_COUNT];  /* opt.step */
    char classes[24];
} tlist;

static void add(tlist *l, const char *prefix, const char *name,
                const float *data, const size_t *shape, int ndim)
{
    nn_st_tensor *t = &l->t[l->n];
    snprintf(l->names[l->n], sizeof *l->names, "%s%s", prefix, name);
    *t = (nn_st_tensor){.name = l->names[l->n], .dtype = NN_ST_F32,
                        .ndim = (size_t)ndim, .data = data};
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    l->n++;
}

/* <bn>.num_batches_tracked beside <bn>.running_var: I64 scalars */
static void add_nbt(tlist *l, const char *running_var)
{
    static const char suffix[] = ".running_var";
    size_t len = strlen(running_var), sl = sizeof suffix - 1;
    if (len < sl || strcmp(running_var + len - sl, suffix))
        return;
    nn_st_tensor *t = &l->t[l->n];
    snprintf(l->names[l->n], sizeof *l->names, "%.*s.num_batches_tracked",
             (int)(len - sl), running_var);
    *t = (nn_st_tensor){.name = l->names[l->n], .dtype = NN_ST_I64,
                        .ndim = 0, .data = &l->nbt};
    l->n++;
}

/* The tensor set of nn/checkpoint.h, so either side reads the other's. */
static void list_tensors(const nn_model *m, bool with_opt, tlist *l)
{
    l->nbt = m->bn_batches;
    for (size_t i = 0; i < m->nparams; i++) {
        const nn_param *p = &m->params[i];
        add(l, "", p->name, m->param + p->offset, p->shape, p->ndim);
    }
    for (size_t i = 0; i < m->nstats; i++) {
        const nn_stat *s = &m->stats[i];
        add(l, "", s->name, m->param + s->offset, &s->numel, 1);
        add_nbt(l, s->name);
    }
    for (size_t i = 0; with_opt && i < m->nparams; i++) {
        const nn_param *p = &m->params[i];
        add(l, "opt.exp_avg.", p->name, m->m + p->offset, p->shape, p->ndim);
        add(l, "opt.exp_avg_sq.", p->name, m->v + p->offset, p->shape,
            p->ndim);
    }
    if (with_opt) {
        size_t six = NN_PG_COUNT;
        memcpy(l->steps, m->opt_steps, sizeof l->steps);
        nn_st_tensor *t = &l->t[l->n];
        snprintf(l->names[l->n], sizeof *l->names, "opt.step");
        *t = (nn_st_tensor){.name = l->names[l->n], .dtype = NN_ST_I64,
                            .ndim = 1, .shape = {six}, .data = l->steps};
        l->n++;
    }
}

bool harness_ckpt_save(const char *path, const nn_model *m, bool with_opt,
                       const ckpt_kv *kv, size_t nkv)
{
    size_t cap = 3 * NN_PARAMS + 3 * NN_BNS + 8, bytes = 0;
    tlist l = {calloc(cap, sizeof *l.t), calloc(cap, sizeof *l.names), 0};
    nn_st_meta meta[CKPT_META_MAX + 4];
    char msg[256] = "out of memory";
    void *buf = NULL;
    bool ok = l.t && l.names && nkv <= CKPT_META_MAX;
    if (ok) {
        list_tensors(m, with_opt, &l);
        /* nn/checkpoint.h's keys first, then the caller's */
        snprintf(l.classes, sizeof l.classes, "%zu", m->classes);
        meta[0] = (nn_st_meta){"format", "pt"};
        meta[1] = (nn_st_meta){"resin.model", "resnet34-fastai-head"};
        meta[2] = (nn_st_meta){"resin.classes", l.classes};
        meta[3] = (nn_st_meta){"resin.frozen", m->frozen ? "1" : "0"};
        for (size_t i = 0; i < nkv; i++)
            meta[4 + i] = (nn_st_meta){kv[i].key, kv[i].value};
        nkv += 4;
        ok = nn_st_write_size(l.t, l.n, meta, nkv, &bytes, msg,
                              sizeof msg) == NN_ST_OK &&
             (buf = malloc(bytes)) != NULL &&
             nn_st_write(buf, bytes, l.t, l.n, meta, nkv, &bytes, msg,
                         sizeof msg) == NN_ST_OK;
    }
    if (!ok)
        fprintf(stderr, "checkpoint: %s: %s\n", path, msg);
    else
        ok = harness_file_write_atomic(path, buf, bytes, NULL, 0) ==
             HARNESS_FILE_OK;
    free(buf);
    free(l.t);
    free(l.names);
    return ok;
}

// --- reading -----------------------------------------------------------------

struct ckpt_file {
    void *bytes;
    void *scratch;
    nn_st_file st;
};

ckpt_file *harness_ckpt_open(const char *path)
{
    ckpt_file *f = calloc(1, sizeof *f);
    size_t size = 0, sb = 0;
    char msg[256] = "out of memory";
    if (!f)
        goto fail;
    if (harness_file_read(path, &f->bytes, &size, msg, sizeof msg) !=
        HARNESS_FILE_OK)
        goto fail_quiet;
    if (nn_st_read_scratch(f->bytes, size, &sb, msg, sizeof msg) != NN_ST_OK)
        goto fail;
    if (!(f->scratch = malloc(sb ? sb : 1))) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    if (nn_st_read(&f->st, f->bytes, size, f->scratch, sb, msg, sizeof msg) !=
        NN_ST_OK)
        goto fail;
    return f;
fail:
    fprintf(stderr, "checkpoint: %s: %s\n", path, msg);
    harness_ckpt_close(f);
    return NULL;
fail_quiet:
    fprintf(stderr, "checkpoint: %s\n", msg);
    harness_ckpt_close(f);
    return NULL;
}

void harness_ckpt_close(ckpt_file *f)
{
    if (!f)
        return;
    free(f->bytes);
    free(f->scratch);
    free(f);
}

const char *harness_ckpt_meta(const ckpt_file *f, const char *key)
{
    return nn_st_meta_get(&f->st, key);
}

/* Copies tensor name into dst if present; false + log on a shape clash. */
static bool take(const ckpt_file *f, const char *name, const size_t *shape,
                 int ndim, size_t numel, float *dst, ckpt_load_report *r)
{
    const nn_st_tensor *t = nn_st_find(&f->st, name);
    if (!t) {
        if (!r->missing++)
            snprintf(r->first_missing, sizeof r->first_missing, "%s", name);
        return true;
    }
    bool same = t->ndim == (size_t)ndim && t->dtype == NN_ST_F32;
    for (size_t d = 0; same && d < t->ndim; d++)
        same = t->shape[d] == shape[d];
    if (!same || t->nbytes != 4 * (uint64_t)numel) {
        fprintf(stderr, "checkpoint: tensor %s: %s with %zu dimensions; the "
                "model wants F32 with %d\n", name,
                nn_st_dtype_name(t->dtype), t->ndim, ndim);
        return false;
    }
    memcpy(dst, t->data, 4 * numel);
    r->loaded++;
    return true;
}

/* num_batches_tracked (the same for every BN here: the first one found) and,
 * with_opt, the Adam step counts; returns how many tensors were used. */
static size_t take_counts(const ckpt_file *f, nn_model *m, bool with_opt)
{
    size_t used = 0;
    m->bn_batches = 0;
    for (size_t i = 0; i < f->st.ntensors; i++) {
        const nn_st_tensor *t = &f->st.tensors[i];
        size_t len = strlen(t->name), sl = strlen(".num_batches_tracked");
        if (len > sl && !strcmp(t->name + len - sl, ".num_batches_tracked") &&
            t->dtype == NN_ST_I64 && t->nbytes == 8) {
            if (!used++)
                memcpy(&m->bn_batches, t->data, 8);
        }
    }
    const nn_st_tensor *t = nn_st_find(&f->st, "opt.step");
    if (with_opt && t && t->dtype == NN_ST_I64 &&
        t->nbytes == sizeof m->opt_steps) {
        memcpy(m->opt_steps, t->data, sizeof m->opt_steps);
        used++;
    }
    return used;
}

bool harness_ckpt_load(const ckpt_file *f, nn_model *m, bool with_opt,
                       ckpt_load_report *r)
{
    memset(r, 0, sizeof *r);
    char name[NN_NAME_MAX + 16];
    for (size_t i = 0; i < m->nparams; i++) {
        nn_param *p = &m->params[i];
        if (!take(f, p->name, p->shape, p->ndim, p->numel,
                  m->param + p->offset, r))
            return false;
        if (!with_opt)
            continue;
        snprintf(name, sizeof name, "opt.exp_avg.%s", p->name);
        if (!take(f, name, p->shape, p->ndim, p->numel, m->m + p->offset, r))
            return false;
        snprintf(name, sizeof name, "opt.exp_avg_sq.%s", p->name);
        if (!take(f, name, p->shape, p->ndim, p->numel, m->v + p->offset, r))
            return false;
    }
    for (size_t i = 0; i < m->nstats; i++) {
        nn_stat *s = &m->stats[i];
        if (!take(f, s->name, &s->numel, 1, s->numel, m->param + s->offset,
                  r))
            return false;
    }
    size_t extra = take_counts(f, m, with_opt);
    r->ignored = f->st.ntensors - r->loaded - extra;
    return true;
}
