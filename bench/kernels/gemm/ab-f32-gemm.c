/*
 * bench/kernels/gemm/ab-f32-gemm.c: in-process A/B of two GEMM builds.
 *
 *   scripts/gemm-ab REV MxNxK [--trans NN|NT|TN|TT] [--threads T]
 *                   [--calls R]
 *
 * A is this tree's kern_f32_gemm; B is the same driver and kernels built
 * from git revision REV, every global symbol of theirs renamed with a _B
 * suffix (scripts/gemm-ab does the build, the renaming and the link). The
 * two are called alternately, R times each, on the same operand sets
 * rotated past the last-level cache, so the slow and the fast minutes of
 * this shared VM fall on both alike: out-of-process runs of one binary
 * and then the other differ by +-5% here, two builds of the same source in
 * this program by under 1% on large shapes (2-3% on the small two-thread
 * ones). Prints one line: the two medians, b_over_a = B's speed over A's
 * from the medians, the median of the per-pair ratios, and the largest
 * |C_A - C_B| (0 when the two sum in the same order).
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

/* The other build (renamed by scripts/gemm-ab). */
void kern_gemm_init_B(kern_isa isa);
void kern_f32_gemm_B(kern_trans ta, kern_trans tb, size_t m, size_t n,
                     size_t k, float alpha, const float *a, size_t lda,
                     const float *b, size_t ldb, float beta, float *c,
                     size_t ldc, void *workspace, const kern_pool *pool);

static void *xalloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 127) / 64 * 64);
    if (!p) {
        fprintf(stderr, "gemm-ab: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static int usage(void)
{
    fprintf(stderr, "usage: scripts/gemm-ab REV MxNxK [--trans NN|NT|TN|TT] "
                    "[--threads T] [--calls R]\n");
    return 2;
}

int main(int argc, char **argv)
{
    size_t m, n, k, threads = 1, calls = 0;
    const char *trans = "NN";
    if (argc < 2 || sscanf(argv[1], "%zux%zux%zu", &m, &n, &k) != 3)
        return usage();
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--trans") && i + 1 < argc)
            trans = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (size_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--calls") && i + 1 < argc)
            calls = (size_t)atoi(argv[++i]);
        else
            return usage();
    }
    if (strlen(trans) != 2 || !strchr("NT", trans[0]) ||
        !strchr("NT", trans[1]) || threads < 1 || m * n * k == 0)
        return usage();
    kern_isa isa;
    if (!harness_isa_init(&isa))
        return 2;
    kern_gemm_init_B(isa);

    kern_trans ta = trans[0] == 'T' ? KERN_TRANS : KERN_NOTRANS;
    kern_trans tb = trans[1] == 'T' ? KERN_TRANS : KERN_NOTRANS;
    size_t lda = ta == KERN_NOTRANS ? k : m, ldb = tb == KERN_NOTRANS ? n : k;
    double flop = 2.0 * (double)m * (double)n * (double)k;
    if (!calls) /* about 2 s of each at 200 GFLOP/s, 20 to 400 pairs */
        calls = (size_t)fmax(20.0, fmin(400.0, 4e11 / flop));

    /* Operand sets past the LLC, as build/bench/gemm does; B's call uses
     * the set half a rotation away from A's. */
    size_t set_bytes = (m * k + k * n + m * n) * sizeof(float);
    size_t sets = (3 * bench_llc_bytes() / 2 + set_bytes - 1) / set_bytes;
    sets = sets < 2 ? 2 : sets > 64 ? 64 : sets;
    float **a = calloc(sets, sizeof *a), **b = calloc(sets, sizeof *b);
    float **c = calloc(sets, sizeof *c);
    uint64_t x = 12345;
    for (size_t s = 0; s < sets; s++) {
        a[s] = xalloc(m * k * sizeof(float));
        b[s] = xalloc(k * n * sizeof(float));
        c[s] = xalloc(m * n * sizeof(float));
        for (size_t i = 0; i < m * k; i++)
            a[s][i] = (float)((x = x * 6364136223846793005u + 1) >> 40) /
                          (1 << 24) - 0.5f;
        for (size_t i = 0; i < k * n; i++)
            b[s][i] = (float)((x = x * 6364136223846793005u + 1) >> 40) /
                          (1 << 24) - 0.5f;
        memset(c[s], 0, m * n * sizeof(float));
    }
    kern_pool *pool = threads > 1 ? harness_pool_create(threads) : NULL;
    void *ws = xalloc(kern_f32_gemm_workspace_size(m, n, k, threads) + 64);
    double *ta_s = xalloc(calls * sizeof(double));
    double *tb_s = xalloc(calls * sizeof(double));
    double *pair = xalloc(calls * sizeof(double));
    for (size_t r = 0; r < calls; r++) {
        size_t s = r % sets, u = (r + sets / 2) % sets;
        double t0 = bench_now();
        kern_f32_gemm(ta, tb, m, n, k, 1.0f, a[s], lda, b[s], ldb, 0.0f, c[s],
                      n, ws, pool);
        double t1 = bench_now();
        kern_f32_gemm_B(ta, tb, m, n, k, 1.0f, a[u], lda, b[u], ldb, 0.0f,
                        c[u], n, ws, pool);
        double t2 = bench_now();
        ta_s[r] = t1 - t0, tb_s[r] = t2 - t1, pair[r] = ta_s[r] / tb_s[r];
    }
    kern_f32_gemm(ta, tb, m, n, k, 1.0f, a[0], lda, b[0], ldb, 0.0f, c[0], n,
                  ws, pool);
    kern_f32_gemm_B(ta, tb, m, n, k, 1.0f, a[0], lda, b[0], ldb, 0.0f, c[1],
                    n, ws, pool);
    double diff = 0.0;
    for (size_t i = 0; i < m * n; i++)
        diff = fmax(diff, fabs((double)c[0][i] - (double)c[1][i]));
    double ma = bench_median(ta_s, calls), mb = bench_median(tb_s, calls);
    printf("m=%zu n=%zu k=%zu trans=%s threads=%zu isa=%s calls=%zu "
           "a_gflops=%.1f b_gflops=%.1f b_over_a=%.3f pair_median=%.3f "
           "max_diff=%.3g\n",
           m, n, k, trans, threads, kern_isa_name(isa), calls,
           1e-9 * flop / ma, 1e-9 * flop / mb, ma / mb,
           bench_median(pair, calls), diff);
    for (size_t s = 0; s < sets; s++)
        free(a[s]), free(b[s]), free(c[s]);
    free(a), free(b), free(c), free(ws), free(ta_s), free(tb_s), free(pair);
    harness_pool_free(pool);
    return 0;
}
