/*
 * bench/kernels/layers/bench-f32-layers.c: the memory-bound layer kernels on
 * ResNet-34 activation sizes at batch 16, in GB/s of compulsory traffic
 * (every input read once, every output written once), against a streaming
 * copy measured in the same run (the anchor: what the machine streams).
 *
 *   build/bench/layers [--suite FILE.json] [--threads N] [--quick]
 *
 * Fused versus unfused pairs (batch-norm + ReLU, add + ReLU) are timed side
 * by side so the table shows whether each fusion pays. The batch-norm
 * forward over all 36 of the network's BN2d shapes, training (statistics
 * pass + apply) against eval (apply only), bounds what computing the
 * statistics in the convolution's epilogue could save per step. Timer and
 * JSON from bench/support; run under `flock /tmp/resin-bench.lock`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/support/bench.h"
#include "harness/pool.h"
#include "kernels/layers.h"

// --- buffers and kernels under test ------------------------------------------

typedef struct bctx {
    const kern_pool *pool;
    size_t n, c, h, w, len;
    float *x, *y, *dy, *dx, *z;           /* activations */
    float *gamma, *beta, *mean, *invstd, *rm, *rv, *dg, *db;
    float *p, *m, *v, *g;                 /* Adam */
} bctx;

static float *alloc_floats(size_t n, float value)
{
    float *p = aligned_alloc(64, kern_align_up(n * sizeof(float) + 64));
    if (!p) {
        fprintf(stderr, "bench-layers: out of memory (%zu floats)\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = value * (float)((i * 2654435761u) % 1000 - 500) / 500.0f;
    return p;
}

static void run_copy(void *vc, size_t rep)
{
    bctx *b = vc; /* the anchor: y = x + 0 would add a read; use fill+add */
    kern_f32_add(b->pool, b->len, b->y, b->x, b->z);
}
static void run_bn_fwd_relu(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_batchnorm2d_forward_train(b->pool, b->n, b->c, b->h * b->w,
                                       b->y, b->mean, b->invstd, b->rm,
                                       b->rv, b->x, b->gamma, b->beta, 0.1f,
                                       1e-5f, true);
}
static void run_bn_fwd_then_relu(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_batchnorm2d_forward_train(b->pool, b->n, b->c, b->h * b->w,
                                       b->y, b->mean, b->invstd, b->rm,
                                       b->rv, b->x, b->gamma, b->beta, 0.1f,
                                       1e-5f, false);
    kern_f32_relu(b->pool, b->len, b->y, b->y);
}
static void run_bn_bwd_relu(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_batchnorm2d_backward(b->pool, b->n, b->c, b->h * b->w, b->dx,
                                  b->dg, b->db, b->dy, b->x, b->y, b->gamma,
                                  b->mean, b->invstd);
}
static void run_relu_then_bn_bwd(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_relu_backward(b->pool, b->len, b->dx, b->dy, b->y);
    kern_f32_batchnorm2d_backward(b->pool, b->n, b->c, b->h * b->w, b->dx,
                                  b->dg, b->db, b->dx, b->x, NULL, b->gamma,
                                  b->mean, b->invstd);
}
static void run_bn_eval(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_batchnorm2d_forward_eval(b->pool, b->n, b->c, b->h * b->w,
                                      b->y, b->x, b->gamma, b->beta, b->rm,
                                      b->rv, 1e-5f, true);
}
/* ResNet-34's BN2d layers at 224x224: (channels, side, how many). */
static const size_t net_bn[][3] = {
    {64, 112, 1}, {64, 56, 6}, {128, 28, 8}, {256, 14, 12}, {512, 7, 7},
};

static void run_bn_net(bctx *b, bool train)
{
    for (size_t k = 0; k < sizeof net_bn / sizeof net_bn[0]; k++) {
        size_t c = net_bn[k][0], hw = net_bn[k][1] * net_bn[k][1];
        for (size_t i = 0; i < net_bn[k][2]; i++)
            if (train)
                kern_f32_batchnorm2d_forward_train(
                    b->pool, b->n, c, hw, b->y, b->mean, b->invstd, b->rm,
                    b->rv, b->x, b->gamma, b->beta, 0.1f, 1e-5f, true);
            else
                kern_f32_batchnorm2d_forward_eval(b->pool, b->n, c, hw, b->y,
                                                  b->x, b->gamma, b->beta,
                                                  b->rm, b->rv, 1e-5f, true);
    }
}
static void run_bn_net_train(void *vc, size_t rep)
{
    run_bn_net(vc, true);
}
static void run_bn_net_eval(void *vc, size_t rep)
{
    run_bn_net(vc, false);
}
static void run_relu(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_relu(b->pool, b->len, b->y, b->x);
}
static void run_relu_bwd(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_relu_backward(b->pool, b->len, b->dx, b->dy, b->y);
}
static void run_add_relu(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_add_relu(b->pool, b->len, b->y, b->x, b->z);
}
static void run_add_then_relu(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_add(b->pool, b->len, b->y, b->x, b->z);
    kern_f32_relu(b->pool, b->len, b->y, b->y);
}
static void run_add_relu_bwd(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_add_relu_backward(b->pool, b->len, b->dx, b->z, b->dy, b->y);
}
static void run_maxpool_fwd(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_maxpool_3x3s2p1_forward(b->pool, b->n, b->c, b->h, b->w, b->y,
                                     b->x);
}
static void run_maxpool_bwd(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_maxpool_3x3s2p1_backward(b->pool, b->n, b->c, b->h, b->w, b->dx,
                                      b->dy, b->x, b->y);
}
static void run_cpool_fwd(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_f32_concat_pool_forward(b->pool, b->n, b->c, b->h * b->w, b->y,
                                 b->x);
}
static void run_adam(void *vc, size_t rep)
{
    bctx *b = vc;
    kern_adam_hparams hp = {.lr = 1e-3f, .wd = 1e-2f, .beta1 = 0.9f,
                            .beta2 = 0.99f, .eps = 1e-8f,
                            .bias_correction1 = 0.1,
                            .bias_correction2 = 0.01};
    kern_f32_adam(b->pool, b->len, b->p, b->m, b->v, b->g, &hp);
}

// --- table and JSON ----------------------------------------------------------

typedef struct row {
    const char *kernel, *isa;
    char shape[48];
    double bytes, seconds, best;
} row;

static row rows[64];
static size_t nrows;
static double anchor_gbs;

/* Times fn, prints and records its row; returns the median seconds. */
static double measure(const char *kernel, const char *shape, double bytes,
                      bench_fn fn, bctx *b, double min_s)
{
    row *r = &rows[nrows++];
    r->kernel = kernel;
    r->isa = kern_isa_name(kern_isa_active());
    snprintf(r->shape, sizeof r->shape, "%s", shape);
    r->bytes = bytes;
    bench_stats st = bench_time(fn, b, 5, 200, min_s);
    r->seconds = st.median;
    r->best = st.best;
    double gbs = bytes / r->seconds * 1e-9;
    printf("%-24s %-6s %-12s %8.3f ms %8.3f ms %6.2f GB/s %5.2f\n", kernel,
           r->isa, shape, r->seconds * 1e3, r->best * 1e3, gbs,
           anchor_gbs > 0 ? gbs / anchor_gbs : 1.0);
    fflush(stdout);
    return r->seconds;
}

static bool write_json(const char *path, size_t threads)
{
    bench_json j;
    if (!bench_json_open(&j, path, "layers"))
        return false;
    bench_json_num(&j, "batch", 16);
    bench_json_num(&j, "threads", (double)threads);
    bench_json_str(&j, "anchor", "stream add (kern_f32_add, 3 x 51 MB)");
    bench_json_num(&j, "anchor_gbs", anchor_gbs);
    for (size_t i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        double gbs = r->bytes / r->seconds * 1e-9;
        bench_json_row(&j);
        bench_json_str(&j, "kernel", r->kernel);
        bench_json_str(&j, "isa", r->isa);
        bench_json_str(&j, "shape", r->shape);
        bench_json_num(&j, "bytes", r->bytes);
        bench_json_num(&j, "median_ms", r->seconds * 1e3);
        bench_json_num(&j, "min_ms", r->best * 1e3);
        bench_json_num(&j, "gbs", gbs);
        bench_json_num(&j, "vs_anchor", gbs / anchor_gbs);
    }
    return bench_json_close(&j);
}

// --- suite -------------------------------------------------------------------

static void set_shape(bctx *b, size_t c, size_t h, size_t w)
{
    b->c = c, b->h = h, b->w = w, b->len = b->n * c * h * w;
}

int main(int argc, char **argv)
{
    const char *json = NULL;
    size_t threads = 2;
    double min_s = 0.25;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--suite") && i + 1 < argc)
            json = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--quick"))
            min_s = 0.05;
        else {
            fprintf(stderr, "usage: %s [--suite FILE.json] [--threads N] "
                            "[--quick]\n", argv[0]);
            return 2;
        }
    }
    kern_pool *pool = harness_pool_create(threads);
    if (!pool)
        return 1;
    kern_isa best = kern_init(KERN_ISA_BEST);
    size_t big = 16 * 64 * 112 * 112;
    bctx b = {.pool = pool, .n = 16};
    b.x = alloc_floats(big, 2.0f), b.y = alloc_floats(big, 1.0f);
    b.dy = alloc_floats(big, 1.0f), b.dx = alloc_floats(big, 1.0f);
    b.z = alloc_floats(big, 1.0f);
    float **par[] = {&b.gamma, &b.beta, &b.mean, &b.invstd, &b.rm, &b.rv,
                     &b.dg, &b.db};
    for (size_t i = 0; i < 8; i++)
        *par[i] = alloc_floats(512, 1.0f);
    for (size_t i = 0; i < 512; i++)
        b.rv[i] = 1.0f, b.gamma[i] = 1.0f;
    printf("layers bench: batch 16, %zu threads, isa %s\n", threads,
           kern_isa_name(best));
    printf("%-24s %-6s %-12s %11s %11s %11s %5s\n", "kernel", "isa", "shape",
           "median", "min", "GB/s(med)", "/anch");

    set_shape(&b, 64, 112, 112);
    double s = (double)b.len * 4;
    anchor_gbs = 0.0; /* measured first, then rows are relative to it */
    measure("stream add (anchor)", "64x112x112", 3 * s, run_copy, &b, min_s);
    anchor_gbs = rows[0].bytes / rows[0].seconds * 1e-9;

    static const size_t shapes[][3] = {{64, 112, 112}, {64, 56, 56},
                                       {512, 7, 7}};
    for (size_t k = 0; k < 3; k++) {
        set_shape(&b, shapes[k][0], shapes[k][1], shapes[k][2]);
        char sh[48];
        snprintf(sh, sizeof sh, "%zux%zux%zu", b.c, b.h, b.w);
        s = (double)b.len * 4;
        measure("bn fwd train+relu", sh, 2 * s, run_bn_fwd_relu, &b, min_s);
        measure("bn fwd train, then relu", sh, 2 * s, run_bn_fwd_then_relu,
                &b, min_s);
        measure("bn bwd (relu mask)", sh, 4 * s, run_bn_bwd_relu, &b, min_s);
        measure("relu bwd, then bn bwd", sh, 4 * s, run_relu_then_bn_bwd, &b,
                min_s);
    }
    set_shape(&b, 64, 56, 56);
    s = (double)b.len * 4;
    measure("bn fwd eval+relu", "64x56x56", 2 * s, run_bn_eval, &b, min_s);
    double net = 0.0; /* compulsory bytes of the 36 layers, read + write */
    for (size_t k = 0; k < sizeof net_bn / sizeof net_bn[0]; k++)
        net += 2.0 * 4 * (double)(b.n * net_bn[k][0] * net_bn[k][1] *
                                  net_bn[k][1] * net_bn[k][2]);
    double train = measure("bn fwd train+relu", "36 BN2d", net,
                           run_bn_net_train, &b, min_s);
    double eval = measure("bn fwd eval+relu", "36 BN2d", net,
                          run_bn_net_eval, &b, min_s);
    printf("  statistics pass, whole network: %.1f ms per step\n",
           (train - eval) * 1e3);
    set_shape(&b, 64, 112, 112);
    s = (double)b.len * 4;
    measure("relu", "64x112x112", 2 * s, run_relu, &b, min_s);
    measure("relu bwd", "64x112x112", 3 * s, run_relu_bwd, &b, min_s);
    set_shape(&b, 64, 56, 56);
    s = (double)b.len * 4;
    measure("add+relu", "64x56x56", 3 * s, run_add_relu, &b, min_s);
    measure("add, then relu", "64x56x56", 3 * s, run_add_then_relu, &b,
            min_s);
    measure("add+relu bwd (acc)", "64x56x56", 5 * s, run_add_relu_bwd, &b,
            min_s);
    set_shape(&b, 64, 112, 112);
    s = (double)b.len * 4;
    measure("maxpool 3x3/2 fwd", "64x112x112", s * 1.25, run_maxpool_fwd, &b,
            min_s);
    measure("maxpool 3x3/2 bwd", "64x112x112", s * 2.5, run_maxpool_bwd, &b,
            min_s);
    set_shape(&b, 512, 7, 7);
    s = (double)b.len * 4;
    measure("concat pool fwd", "512x7x7", s, run_cpool_fwd, &b, min_s);

    /* Adam over ResNet-34 + head: 21.8M parameters, 7 streams of 4 bytes. */
    size_t np = 21800000;
    b.p = alloc_floats(np, 1.0f), b.m = alloc_floats(np, 0.01f);
    b.v = alloc_floats(np, 0.0f), b.g = alloc_floats(np, 0.01f);
    for (size_t i = 0; i < np; i++)
        b.v[i] = 1e-4f;
    b.len = np;
    measure("adam+wd", "21.8M params", 28.0 * np, run_adam, &b, min_s);
    kern_init(KERN_ISA_SCALAR);
    measure("adam+wd", "21.8M params", 28.0 * np, run_adam, &b, min_s);
    set_shape(&b, 64, 56, 56);
    s = (double)b.len * 4;
    measure("bn fwd train+relu", "64x56x56", 2 * s, run_bn_fwd_relu, &b,
            min_s);
    kern_init(best);

    bool ok = !json || write_json(json, threads);
    harness_pool_free(pool);
    return ok ? 0 : 1;
}
