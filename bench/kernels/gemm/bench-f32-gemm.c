/*
 * bench/kernels/gemm/bench-f32-gemm.c: build/bench/gemm, SGEMM speed.
 *
 *   build/bench/gemm M N K [--threads T] [--trans NN|NT|TN|TT] [--isa ISA]
 *       (the ISA also from RESIN_ISA, as elsewhere in resin; --isa wins)
 *       one line of key=value pairs: median seconds, GFLOP/s, % of the
 *       measured FMA peak, max error vs a double-precision reference on a
 *       sample of C, and OpenBLAS on the same shape when built with it.
 *   build/bench/gemm --suite FILE.json
 *       what `make bench` runs: square 256..2048 and the ResNet-34 shapes
 *       (forward, weight and data gradients, the head's linear layers) at 1
 *       and 2 threads; a table on stdout and the same rows in FILE.json.
 *
 * GFLOP/s = 2 M N K / median seconds. resin, OpenBLAS and a short FMA probe
 * run in alternating rounds, so the ratio and the % of peak beside the probe
 * of the same minutes hold while this VM's speed drifts. Operands are
 * rotated through enough copies to exceed the last-level cache, so every
 * call starts cold (as XNNPACK's gemm benchmark does); both libraries get
 * the same buffers.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/support/bench.h"
#include "harness/isa.h"
#include "harness/pool.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"

#ifdef RESIN_HAVE_OPENBLAS
#include <cblas.h>
#endif

typedef struct shape {
    size_t m, n, k;
    kern_trans ta, tb;
    const char *what;
} shape;

typedef struct gemm_bench {
    shape s;
    size_t sets;           /* rotated operand copies */
    float **a, **b, **c;   /* stored A, B, C per set */
    size_t lda, ldb, ldc;
    void *ws;
    kern_pool *pool;
    size_t threads;
} gemm_bench;

static void *xalloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 127) / 64 * 64);
    if (!p) {
        fprintf(stderr, "gemm: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static size_t a_floats(const shape *s) { return s->m * s->k; }
static size_t b_floats(const shape *s) { return s->k * s->n; }

static void setup(gemm_bench *g, shape s, size_t threads)
{
    *g = (gemm_bench){.s = s, .threads = threads};
    g->lda = s.ta == KERN_NOTRANS ? s.k : s.m;
    g->ldb = s.tb == KERN_NOTRANS ? s.n : s.k;
    g->ldc = s.n;
    size_t set_bytes = (a_floats(&s) + b_floats(&s) + s.m * s.n) * 4;
    size_t want = 3 * bench_llc_bytes() / 2;
    g->sets = (want + set_bytes - 1) / set_bytes;
    g->sets = g->sets < 1 ? 1 : g->sets > 512 ? 512 : g->sets;
    g->a = calloc(g->sets, sizeof *g->a);
    g->b = calloc(g->sets, sizeof *g->b);
    g->c = calloc(g->sets, sizeof *g->c);
    uint64_t x = 12345;
    for (size_t i = 0; i < g->sets; i++) {
        g->a[i] = xalloc(a_floats(&s) * 4);
        g->b[i] = xalloc(b_floats(&s) * 4);
        g->c[i] = xalloc(s.m * s.n * 4);
        for (size_t j = 0; j < a_floats(&s); j++)
            g->a[i][j] = (float)((x = x * 6364136223846793005u + 1) >> 40) /
                         (1 << 24) - 0.5f;
        for (size_t j = 0; j < b_floats(&s); j++)
            g->b[i][j] = (float)((x = x * 6364136223846793005u + 1) >> 40) /
                         (1 << 24) - 0.5f;
        memset(g->c[i], 0, s.m * s.n * 4);
    }
    g->pool = threads > 1 ? harness_pool_create(threads) : NULL;
    g->ws = xalloc(kern_f32_gemm_workspace_size(s.m, s.n, s.k, threads) + 64);
}

static void teardown(gemm_bench *g)
{
    for (size_t i = 0; i < g->sets; i++)
        free(g->a[i]), free(g->b[i]), free(g->c[i]);
    free(g->a), free(g->b), free(g->c), free(g->ws);
    harness_pool_free(g->pool);
}

static void run_resin(void *ctx, size_t rep)
{
    gemm_bench *g = ctx;
    size_t i = rep % g->sets;
    kern_f32_gemm(g->s.ta, g->s.tb, g->s.m, g->s.n, g->s.k, 1.0f, g->a[i],
                  g->lda, g->b[i], g->ldb, 0.0f, g->c[i], g->ldc, g->ws,
                  g->pool);
}

#ifdef RESIN_HAVE_OPENBLAS
static void run_openblas(void *ctx, size_t rep)
{
    gemm_bench *g = ctx;
    size_t i = rep % g->sets;
    cblas_sgemm(CblasRowMajor,
                g->s.ta == KERN_NOTRANS ? CblasNoTrans : CblasTrans,
                g->s.tb == KERN_NOTRANS ? CblasNoTrans : CblasTrans,
                (int)g->s.m, (int)g->s.n, (int)g->s.k, 1.0f, g->a[i],
                (int)g->lda, g->b[i], (int)g->ldb, 0.0f, g->c[i],
                (int)g->ldc);
}
#endif

/* Largest |C - ref| / sum |products| over a sample of set 0's C (after
 * run_resin wrote it with rep 0). */
static double sample_error(const gemm_bench *g)
{
    const shape *s = &g->s;
    double worst = 0.0;
    uint64_t x = 99;
    for (int t = 0; t < 64; t++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        size_t i = (x >> 33) % s->m, j = (x >> 13) % s->n;
        double sum = 0.0, mag = 0.0;
        for (size_t p = 0; p < s->k; p++) {
            double av = s->ta == KERN_NOTRANS ? g->a[0][i * g->lda + p]
                                              : g->a[0][p * g->lda + i];
            double bv = s->tb == KERN_NOTRANS ? g->b[0][p * g->ldb + j]
                                              : g->b[0][j * g->ldb + p];
            sum += av * bv, mag += fabs(av * bv);
        }
        double err = fabs(g->c[0][i * g->ldc + j] - sum) / (mag + 1e-30);
        if (!(err <= worst))
            worst = err;
    }
    return worst;
}

typedef struct result {
    double sec, gflops, best_gflops, err;
    double blas_sec, blas_gflops, blas_best_gflops;
    double probe_gflops; /* the FMA probe timed in rounds beside the shape */
} result;

/* resin, OpenBLAS and the FMA probe in alternating rounds (bench_time_rounds),
 * so their ratios hold while this VM's speed drifts; OpenBLAS's threads
 * spin for about 0.1 s after a call, so on two threads its runs are
 * followed by an idle 0.15 s. */
static result measure(shape s, size_t threads, double min_seconds)
{
    gemm_bench g;
    setup(&g, s, threads);
    double flop = 2.0 * s.m * s.n * s.k;
    result r = {0};
    run_resin(&g, 0);
    r.err = sample_error(&g);
    bench_side side[3] = {{run_resin, &g, 0.0}};
    size_t n = 1, blas = 0, probe = 0;
#ifdef RESIN_HAVE_OPENBLAS
    openblas_set_num_threads((int)threads);
    side[n] = (bench_side){run_openblas, &g, threads > 1 ? 0.15 : 0.0};
    blas = n++;
#endif
    bench_probe p;
    if (bench_probe_init(&p, threads))
        side[n] = (bench_side){bench_probe_call, &p, 0.0}, probe = n++;
    bench_stats st[3];
    bench_time_rounds(n, side, 6, n * min_seconds, st);
    r.sec = st[0].median;
    r.gflops = 1e-9 * flop / st[0].median;
    r.best_gflops = 1e-9 * flop / st[0].best;
    if (blas) {
        r.blas_sec = st[blas].median;
        r.blas_gflops = 1e-9 * flop / st[blas].median;
        r.blas_best_gflops = 1e-9 * flop / st[blas].best;
    }
    if (probe)
        r.probe_gflops = bench_probe_gflops(&p, st[probe].median);
    bench_probe_free(&p);
    teardown(&g);
    return r;
}

/* Two threads over one thread on the same shape, the two timed in
 * alternating rounds: the scaling without the drift between two rows. */
static double scaling(shape s, double min_seconds)
{
    gemm_bench g1, g2;
    setup(&g1, s, 1);
    setup(&g2, s, 2);
    bench_stats a, b;
    bench_time_pair(run_resin, &g1, run_resin, &g2, 6, 2 * min_seconds, &a,
                    &b);
    teardown(&g2);
    teardown(&g1);
    return b.median > 0 ? a.median / b.median : 0.0;
}

static const char *trans_name(const shape *s)
{
    static const char *names[2][2] = {{"NN", "NT"}, {"TN", "TT"}};
    return names[s->ta][s->tb];
}

// --- suite -------------------------------------------------------------------------

#define N KERN_NOTRANS
#define T KERN_TRANS
static const shape suite[] = {
    {256, 256, 256, N, N, "square"},
    {512, 512, 512, N, N, "square"},
    {1024, 1024, 1024, N, N, "square"},
    {2048, 2048, 2048, N, N, "square"},
    {64, 12544, 147, N, N, "conv1 as GEMM"},
    {64, 3136, 576, N, N, "layer1 3x3"},
    {128, 784, 1152, N, N, "layer2 3x3"},
    {256, 196, 2304, N, N, "layer3 3x3"},
    {512, 49, 4608, N, N, "layer4 3x3"},
    {64, 576, 3136, N, T, "layer1 dweight"},
    {512, 4608, 49, N, T, "layer4 dweight"},
    {576, 3136, 64, T, N, "layer1 dinput"},
    {4608, 49, 512, T, N, "layer4 dinput"},
    {64, 50176, 576, N, N, "layer1 3x3 batch 16"},
    {64, 512, 1024, N, T, "head fc1 fwd"},
    {64, 1024, 512, N, N, "head fc1 dinput"},
    {512, 1024, 64, T, N, "head fc1 dweight"},
    {64, 37, 512, N, T, "head fc2 fwd"},
    {64, 512, 37, N, N, "head fc2 dinput"},
    {37, 512, 64, T, N, "head fc2 dweight"},
};
#undef N
#undef T

static int run_suite(const char *path)
{
    kern_isa isa = kern_isa_active();
    double peak[3] = {0, bench_fma_peak_gflops(1), bench_fma_peak_gflops(2)};
    const kern_f32_gemm_config *cfg = kern_f32_gemm_active_config();
    printf("resin sgemm, isa %s, tile %zux%zu, MC %zu KC %zu NC %zu; "
           "FMA peak %.1f GFLOP/s (1 thr), %.1f (2 thr); operands rotated "
           "past the %zu MiB LLC (cold)\n",
           kern_isa_name(isa), cfg->mr, cfg->nr, cfg->mc, cfg->kc, cfg->nc,
           peak[1], peak[2], bench_llc_bytes() >> 20);
    printf("GFLOP/s from the median call; (best) from the fastest call. "
           "ratio = resin / OpenBLAS, medians (bests).\n"
           "%%peak: of the start-up probe; %%adj: of the probe timed in "
           "rounds with resin and OpenBLAS on the row's shape.\n");
    printf("%-20s %-15s %2s %3s %9s %7s %7s %6s %6s %8s %7s %6s %6s %7s\n",
           "what", "M x N x K", "tr", "thr", "median ms", "GFLOP/s", "(best)",
           "%peak", "%adj", "OpenBLAS", "(best)", "ratio", "(best)",
           "max err");
    bench_json j;
    bool json = bench_json_open(&j, path, "gemm");
    if (json) {
        bench_json_str(&j, "isa", kern_isa_name(isa));
        bench_json_num(&j, "fma_peak_gflops_1", peak[1]);
        bench_json_num(&j, "fma_peak_gflops_2", peak[2]);
    }
    for (size_t i = 0; i < sizeof suite / sizeof suite[0]; i++) {
        const shape *s = &suite[i];
        for (size_t t = 1; t <= 2; t++) {
            result r = measure(*s, t, 0.25);
            char dims[32];
            snprintf(dims, sizeof dims, "%zux%zux%zu", s->m, s->n, s->k);
            double pct = peak[t] > 0 ? 100.0 * r.gflops / peak[t] : 0.0;
            double adj = r.probe_gflops > 0
                             ? 100.0 * r.gflops / r.probe_gflops
                             : 0.0;
            double ratio = r.blas_gflops > 0 ? r.gflops / r.blas_gflops : 0.0;
            double ratio_best = r.blas_best_gflops > 0
                                    ? r.best_gflops / r.blas_best_gflops
                                    : 0.0;
            printf("%-20s %-15s %2s %3zu %9.3f %7.1f %7.1f %5.0f%% %5.0f%% "
                   "%8.1f %7.1f %5.2fx %5.2fx %7.1e\n", s->what, dims,
                   trans_name(s), t, 1e3 * r.sec, r.gflops, r.best_gflops,
                   pct, adj, r.blas_gflops, r.blas_best_gflops, ratio,
                   ratio_best, r.err);
            fflush(stdout);
            bench_json_row(&j);
            bench_json_str(&j, "what", s->what);
            bench_json_num(&j, "m", (double)s->m);
            bench_json_num(&j, "n", (double)s->n);
            bench_json_num(&j, "k", (double)s->k);
            bench_json_str(&j, "trans", trans_name(s));
            bench_json_num(&j, "threads", (double)t);
            bench_json_num(&j, "median_s", r.sec);
            bench_json_num(&j, "gflops", r.gflops);
            bench_json_num(&j, "best_gflops", r.best_gflops);
            bench_json_num(&j, "pct_peak", pct);
            bench_json_num(&j, "probe_gflops", r.probe_gflops);
            bench_json_num(&j, "pct_peak_adjacent", adj);
            bench_json_num(&j, "openblas_gflops", r.blas_gflops);
            bench_json_num(&j, "openblas_best_gflops", r.blas_best_gflops);
            bench_json_num(&j, "ratio_openblas", ratio);
            bench_json_num(&j, "ratio_openblas_best", ratio_best);
            bench_json_num(&j, "max_rel_err", r.err);
        }
    }
    for (size_t i = 0; i < sizeof suite / sizeof suite[0]; i++) {
        const shape *s = &suite[i];
        if (strcmp(s->what, "square") || s->m < 1024)
            continue;
        double x = scaling(*s, 0.25);
        printf("scaling %zux%zux%zu: 2 threads / 1 thread = %.2fx (the two "
               "timed in alternating rounds)\n", s->m, s->n, s->k, x);
        bench_json_row(&j);
        bench_json_str(&j, "what", "scaling");
        bench_json_num(&j, "m", (double)s->m);
        bench_json_num(&j, "n", (double)s->n);
        bench_json_num(&j, "k", (double)s->k);
        bench_json_num(&j, "speedup_2_over_1", x);
    }
    if (json && !bench_json_close(&j)) {
        fprintf(stderr, "gemm: error writing %s\n", path);
        return 1;
    }
    return 0;
}

// --- one shape ----------------------------------------------------------------------

static int usage(void)
{
    fprintf(stderr, "usage: gemm M N K [--threads T] [--trans NN|NT|TN|TT] "
                    "[--isa ref|scalar|avx2|avx512|neon]\n"
                    "       gemm --suite FILE.json\n");
    return 2;
}

static bool parse_size(const char *s, size_t *v)
{
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    *v = (size_t)x;
    return *s && !*end;
}

int main(int argc, char **argv)
{
    kern_isa isa; // RESIN_ISA, as harness/train; --isa below overrides it
    if (!harness_isa_init(&isa))
        return 2;
    if (argc == 3 && !strcmp(argv[1], "--suite"))
        return run_suite(argv[2]);
    if (argc < 4)
        return usage();
    shape s = {.ta = KERN_NOTRANS, .tb = KERN_NOTRANS, .what = "cli"};
    size_t threads = 1;
    if (!parse_size(argv[1], &s.m) || !parse_size(argv[2], &s.n) ||
        !parse_size(argv[3], &s.k) || !s.m || !s.n || !s.k)
        return usage();
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (!parse_size(argv[++i], &threads) || threads == 0)
                return usage();
        } else if (!strcmp(argv[i], "--trans") && i + 1 < argc) {
            const char *t = argv[++i];
            if (strlen(t) != 2 || !strchr("NT", t[0]) || !strchr("NT", t[1]))
                return usage();
            s.ta = t[0] == 'T' ? KERN_TRANS : KERN_NOTRANS;
            s.tb = t[1] == 'T' ? KERN_TRANS : KERN_NOTRANS;
        } else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            if (!kern_isa_parse(argv[++i], &isa))
                return usage();
        } else {
            return usage();
        }
    }
    isa = kern_init(isa);
    double peak = bench_fma_peak_gflops(threads);
    result r = measure(s, threads, 0.5);
    printf("m=%zu n=%zu k=%zu trans=%s threads=%zu isa=%s median_s=%.6g "
           "gflops=%.2f best_gflops=%.2f pct_peak=%.1f pct_peak_adj=%.1f "
           "max_rel_err=%.2e "
           "openblas_gflops=%.2f openblas_best_gflops=%.2f ratio=%.3f\n",
           s.m, s.n, s.k, trans_name(&s), threads, kern_isa_name(isa), r.sec,
           r.gflops, r.best_gflops, peak > 0 ? 100.0 * r.gflops / peak : 0.0,
           r.probe_gflops > 0 ? 100.0 * r.gflops / r.probe_gflops : 0.0,
           r.err, r.blas_gflops, r.blas_best_gflops,
           r.blas_gflops > 0 ? r.gflops / r.blas_gflops : 0.0);
    return 0;
}
