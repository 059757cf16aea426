/*
 * nn/checkpoint.c: see nn/checkpoint.h. The tensor list is built on the
 * stack (about 70 KB: descriptors plus the opt.* names), so nothing is
 * allocated; file data may be unaligned and is copied bytewise.
 */
#include "nn/checkpoint.h"

#define NAME_CAP 72

typedef struct ckpt_list {
    nn_st_tensor t[NN_CKPT_MAX_TENSORS];
    size_t n;
    char names[2 * NN_PARAMS + NN_BNS][NAME_CAP]; /* opt.* and batch counts */
    size_t nnames;
    int64_t nbt;
    int64_t steps[NN_PG_COUNT];
    char classes[24];
} ckpt_list;

// --- small string helpers (no libc) ----------------------------------------------

static size_t s_len(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static bool s_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static bool s_prefix(const char *s, const char *p)
{
    while (*p)
        if (*s++ != *p++)
            return false;
    return true;
}

static bool s_suffix(const char *s, const char *suffix)
{
    size_t a = s_len(s), b = s_len(suffix);
    return a >= b && s_eq(s + a - b, suffix);
}

static void s_cat(char *dst, size_t cap, const char *a, const char *b)
{
    size_t n = 0;
    for (; *a && n + 1 < cap; a++)
        dst[n++] = *a;
    for (; *b && n + 1 < cap; b++)
        dst[n++] = *b;
    dst[n] = 0;
}

static void s_uint(char *dst, size_t cap, size_t v)
{
    char tmp[24];
    size_t n = 0, k = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && k + 1 < cap)
        dst[k++] = tmp[--n];
    dst[k] = 0;
}

/* Appends "text" to the report, with "..." once it is full. */
static void note(nn_ckpt_report *r, const char *kind, const char *name)
{
    size_t n = s_len(r->text), cap = sizeof r->text;
    if (n + 5 >= cap)
        return;
    const char *parts[3] = {kind, name, "; "};
    for (int p = 0; p < 3; p++)
        for (const char *s = parts[p]; *s; s++) {
            if (n + 4 >= cap) {
                r->text[n++] = '.', r->text[n++] = '.', r->text[n++] = '.';
                r->text[n] = 0;
                return;
            }
            r->text[n++] = *s;
        }
    r->text[n] = 0;
}

// --- the tensor list ------------------------------------------------------------------

static void add(ckpt_list *l, const char *name, nn_st_dtype dt, size_t ndim,
                const size_t *shape, const void *data)
{
    nn_st_tensor *t = &l->t[l->n++];
    t->name = name;
    t->dtype = dt;
    t->ndim = ndim;
    for (size_t i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->data = data;
    t->nbytes = 0;
}

static void build(const nn_model *m, bool with_opt, ckpt_list *l)
{
    l->n = l->nnames = 0;
    l->nbt = m->bn_batches;
    for (size_t i = 0; i < m->nparams; i++) {
        const nn_param *p = &m->params[i];
        add(l, p->name, NN_ST_F32, (size_t)p->ndim, p->shape,
            m->param + p->offset);
    }
    for (size_t i = 0; i < m->nstats; i++) {
        const nn_stat *s = &m->stats[i];
        add(l, s->name, NN_ST_F32, 1, &s->numel, m->param + s->offset);
        if (s_suffix(s->name, ".running_var")) {
            char *nm = l->names[l->nnames++];
            size_t base = s_len(s->name) - s_len(".running_var");
            for (size_t k = 0; k < base; k++)
                nm[k] = s->name[k];
            nm[base] = 0;
            s_cat(nm, NAME_CAP, nm, ".num_batches_tracked");
            add(l, nm, NN_ST_I64, 0, NULL, &l->nbt);
        }
    }
    if (!with_opt)
        return;
    static const char *const kinds[2] = {"opt.exp_avg.", "opt.exp_avg_sq."};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < m->nparams; i++) {
            const nn_param *p = &m->params[i];
            char *nm = l->names[l->nnames++];
            s_cat(nm, NAME_CAP, kinds[k], p->name);
            add(l, nm, NN_ST_F32, (size_t)p->ndim, p->shape,
                (k ? m->v : m->m) + p->offset);
        }
    for (int g = 0; g < NN_PG_COUNT; g++)
        l->steps[g] = m->opt_steps[g];
    size_t six = NN_PG_COUNT;
    add(l, "opt.step", NN_ST_I64, 1, &six, l->steps);
}

static nn_st_status write_any(const nn_model *m, bool with_opt,
                              const nn_st_meta *extra, size_t nextra,
                              void *buf, size_t cap, size_t *bytes, char *msg,
                              size_t msg_cap)
{
    if (nextra > NN_CKPT_META_MAX) {
        if (msg_cap) {
            s_cat(msg, msg_cap, "too many metadata pairs (at most ", "");
            size_t n = s_len(msg);
            s_uint(msg + n, msg_cap - n, NN_CKPT_META_MAX);
            s_cat(msg, msg_cap, msg, ")");
        }
        return NN_ST_EARG;
    }
    ckpt_list l;
    build(m, with_opt, &l);
    s_uint(l.classes, sizeof l.classes, m->classes);
    nn_st_meta meta[4 + NN_CKPT_META_MAX] = {
        {"format", "pt"},
        {"resin.model", "resnet34-fastai-head"},
        {"resin.classes", l.classes},
        {"resin.frozen", m->frozen ? "1" : "0"},
    };
    for (size_t i = 0; i < nextra; i++)
        meta[4 + i] = extra[i];
    size_t nmeta = 4 + nextra;
    if (!buf)
        return nn_st_write_size(l.t, l.n, meta, nmeta, bytes, msg, msg_cap);
    return nn_st_write(buf, cap, l.t, l.n, meta, nmeta, bytes, msg, msg_cap);
}

nn_st_status nn_ckpt_size(const nn_model *m, bool with_opt,
                          const nn_st_meta *extra, size_t nextra,
                          size_t *bytes, char *msg, size_t msg_cap)
{
    return write_any(m, with_opt, extra, nextra, NULL, 0, bytes, msg, msg_cap);
}

nn_st_status nn_ckpt_write(const nn_model *m, bool with_opt,
                           const nn_st_meta *extra, size_t nextra, void *buf,
                           size_t cap, size_t *bytes, char *msg,
                           size_t msg_cap)
{
    return write_any(m, with_opt, extra, nextra, buf, cap, bytes, msg,
                     msg_cap);
}

// --- loading ----------------------------------------------------------------------------

static bool same_shape(const nn_st_tensor *a, const nn_st_tensor *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim)
        return false;
    for (size_t i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    return true;
}

static void copy_bytes(void *dst, const void *src, uint64_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (uint64_t i = 0; i < n; i++)
        d[i] = s[i];
}

/* Copies every model tensor found with the right dtype and shape. */
static void load_list(nn_model *m, const nn_st_file *f, const ckpt_list *l,
                      nn_ckpt_report *r, bool *opt_seen)
{
    *opt_seen = false;
    for (size_t i = 0; i < l->n; i++) {
        const nn_st_tensor *want = &l->t[i];
        const nn_st_tensor *got = nn_st_find(f, want->name);
        bool opt = s_prefix(want->name, "opt.");
        if (!got) {
            if (!opt) {
                r->missing++;
                note(r, "missing ", want->name);
            }
            continue;
        }
        if (!same_shape(want, got)) {
            r->mismatched++;
            note(r, "mis-shaped ", want->name);
            continue;
        }
        if (s_suffix(want->name, ".num_batches_tracked")) {
            int64_t v;
            copy_bytes(&v, got->data, sizeof v);
            m->bn_batches = v > m->bn_batches ? v : m->bn_batches;
        } else if (s_eq(want->name, "opt.step")) {
            copy_bytes(m->opt_steps, got->data, sizeof m->opt_steps);
        } else {
            copy_bytes((void *)want->data, got->data, got->nbytes);
        }
        *opt_seen |= opt;
        r->loaded++;
    }
}

static bool in_list(const ckpt_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (s_eq(l->t[i].name, name))
            return true;
    return false;
}

nn_st_status nn_ckpt_load(nn_model *m, const void *file, size_t size,
                          void *scratch, size_t scratch_bytes,
                          nn_ckpt_report *report, char *msg, size_t msg_cap)
{
    nn_ckpt_report empty = {0};
    *report = empty;
    nn_st_file f;
    nn_st_status st = nn_st_read(&f, file, size, scratch, scratch_bytes, msg,
                                 msg_cap);
    if (st != NN_ST_OK)
        return st;
    const char *frozen = nn_st_meta_get(&f, "resin.frozen");
    if (frozen) /* sets the freeze state, zeroing moments the file may lack */
        *frozen == '1' ? nn_freeze(m) : nn_unfreeze(m);
    ckpt_list l;
    build(m, true, &l);
    m->bn_batches = 0;
    bool opt_seen;
    load_list(m, &f, &l, report, &opt_seen);
    report->has_optimizer = opt_seen;
    for (size_t i = 0; i < f.ntensors; i++) {
        const char *name = f.tensors[i].name;
        if (s_prefix(name, "fc.")) {
            report->ignored++;
        } else if (!in_list(&l, name)) {
            report->unknown++;
            note(report, "unknown ", name);
        }
    }
    return NN_ST_OK;
}
