/*
 * tests/nn/nnfix.h: shared helpers of the nn tests: the deterministic weight
 * formula of tests/nn/fixtures/gen-step.py, arenas from the plan, and the
 * fixture reader ("kind name index value" per line).
 */
#ifndef RESIN_TESTS_NN_NNFIX_H
#define RESIN_TESTS_NN_NNFIX_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "tests/support/testutil.h"

static inline uint64_t fx_mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t fx_fnv1a(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h;
}

static inline double fx_uniform(uint64_t h, size_t i)
{
    return (double)(fx_mix64(h ^ (uint64_t)i) >> 11) / 9007199254740992.0;
}

static inline bool fx_ends(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The BN closing a residual branch (gen-step.py starts it near 0.2). */
static inline bool residual_bn(const char *name)
{
    return strncmp(name, "layer", 5) == 0 &&
           (strstr(name, "bn2") || strstr(name, "downsample.1"));
}

/* gen-step.py fill_value: parameters and running statistics. */
static inline void fx_fill_model(nn_model *m)
{
    for (size_t k = 0; k < m->nparams; k++) {
        const nn_param *p = &m->params[k];
        float *x = nn_param_data(m, k);
        uint64_t h = fx_fnv1a(p->name);
        size_t fan = p->ndim > 1 ? p->numel / p->shape[0] : 0;
        bool bn = nn_pg_is_bn(p->pgroup);
        for (size_t i = 0; i < p->numel; i++) {
            double u = fx_uniform(h, i), v;
            if (fan)
                v = sqrt(6.0 / (double)fan) * (2 * u - 1);
            else if (bn && fx_ends(p->name, "weight"))
                v = (residual_bn(p->name) ? 0.2 : 1.0) + 0.2 * (2 * u - 1);
            else
                v = 0.1 * (2 * u - 1);
            x[i] = (float)v;
        }
    }
    for (size_t k = 0; k < m->nstats; k++) {
        const nn_stat *s = &m->stats[k];
        float *x = m->param + s->offset;
        uint64_t h = fx_fnv1a(s->name);
        bool mean = fx_ends(s->name, "running_mean");
        for (size_t i = 0; i < s->numel; i++) {
            double u = fx_uniform(h, i);
            x[i] = (float)(mean ? 0.1 * (2 * u - 1) : 1.0 + 0.5 * u);
        }
    }
}

static inline void fx_fill_input(float *x, size_t count)
{
    uint64_t h = fx_fnv1a("input.images");
    for (size_t i = 0; i < count; i++)
        x[i] = (float)(2 * fx_uniform(h, i) - 1);
}

typedef struct fx_arenas {
    void *a[NN_ARENA_COUNT];
    nn_plan_sizes plan;
} fx_arenas;

static inline bool fx_alloc(fx_arenas *f, size_t batch, size_t size,
                            size_t classes, size_t threads)
{
    f->plan = nn_plan(batch, size, classes, threads);
    if (!f->plan.total)
        return false;
    for (int i = 0; i < NN_ARENA_COUNT; i++) {
        f->a[i] = tu_alloc(f->plan.bytes[i]);
        tu_poison_bytes(f->a[i], f->plan.bytes[i]);
    }
    return true;
}

static inline void fx_free(fx_arenas *f)
{
    for (int i = 0; i < NN_ARENA_COUNT; i++)
        tu_free(f->a[i]);
}

// --- fixture records --------------------------------------------------------------

typedef struct fx_rec {
    char kind[16];
    char name[64];
    long index;
    double value;
    double f32dist; /* |torch float32 - value| */
} fx_rec;

typedef struct fx_file {
    fx_rec *r;
    size_t n;
} fx_file;

static inline bool fx_load(fx_file *f, const char *path)
{
    FILE *fp = fopen(path, "r");
    f->r = NULL;
    f->n = 0;
    if (!fp)
        return false;
    size_t cap = 0;
    fx_rec rec;
    while (fscanf(fp, "%15s %63s %ld %lf %lf", rec.kind, rec.name, &rec.index,
                  &rec.value, &rec.f32dist) == 5) {
        if (f->n == cap) {
            cap = cap ? 2 * cap : 1024;
            f->r = realloc(f->r, cap * sizeof *f->r);
        }
        f->r[f->n++] = rec;
    }
    fclose(fp);
    return f->n > 0;
}

static inline const fx_rec *fx_find(const fx_file *f, const char *kind,
                                    const char *name, long index)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->r[i].index == index && strcmp(f->r[i].kind, kind) == 0 &&
            strcmp(f->r[i].name, name) == 0)
            return &f->r[i];
    return NULL;
}

#endif /* RESIN_TESTS_NN_NNFIX_H */
