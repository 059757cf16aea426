/*
 * bench/support/bench.h: what every bench shares: a monotonic clock, a
 * median-of-repeats timer, the measured FMA peak, a pool, a small JSON writer
 * and cold-buffer rotation.
 *
 * Timing rule of the project: run benches under `flock /tmp/resin-bench.lock`
 * and quote ratios only against an anchor measured in the same run.
 */
#ifndef RESIN_BENCH_BENCH_H
#define RESIN_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "kernels/kern.h"

/* Seconds from a monotonic clock. */
double bench_now(void);

/* Median of x[0:n] (sorts x in place); 0 for n == 0. */
double bench_median(double *x, size_t n);

/* Times fn(ctx, rep) once to warm up, then repeatedly: at least min_reps
 * times and until min_seconds have passed (at most max_reps times, capped at
 * 1000). rep counts every call from 0, so fn can rotate buffers. The median
 * is the number to quote; the best (fastest) call is what the code does when
 * nothing else runs, worth printing beside it on a shared machine. */
typedef void (*bench_fn)(void *ctx, size_t rep);
typedef struct bench_stats {
    double median, best; /* seconds per call */
    size_t reps;
} bench_stats;
bench_stats bench_time(bench_fn fn, void *ctx, size_t min_reps,
                       size_t max_reps, double min_seconds);
/* bench_time(...).median */
double bench_time_median(bench_fn fn, void *ctx, size_t min_reps,
                         size_t max_reps, double min_seconds);

/* Times side[i].fn(side[i].ctx, rep) for i < n (at most BENCH_MAX_SIDES)
 * in alternating rounds (0 1 2, then 2 1 0, ...), each side at least
 * min_reps calls and min_seconds in all, so a drift in the machine's speed
 * during the measurement moves every side alike and their ratios hold.
 * Each side is called once to warm up first. After each of its runs of
 * calls a side leaves the machine idle for `settle` seconds (untimed): a
 * library whose worker threads spin after a call (OpenBLAS yields in a loop
 * for about 0.1 s) would otherwise take a core from the next side.
 * bench_time_pair: two sides, no settling. */
#define BENCH_MAX_SIDES 4
typedef struct bench_side {
    bench_fn fn;
    void *ctx;
    double settle;
} bench_side;
void bench_time_rounds(size_t n, const bench_side *side, size_t min_reps,
                       double min_seconds, bench_stats *out);
void bench_time_pair(bench_fn fa, void *ca, bench_fn fb, void *cb,
                     size_t min_reps, double min_seconds, bench_stats *sa,
                     bench_stats *sb);

/* The fp32 FMA throughput of this machine in GFLOP/s on `threads` threads:
 * 12 independent chains of 8-lane FMAs per thread (16-lane when the active
 * ISA is avx512: the peak of the widest kernels in use), run on a harness
 * pool, best of a few runs. 0 when the CPU lacks AVX2+FMA. */
double bench_fma_peak_gflops(size_t threads);

/* The same probe's inner loop (bench/support/fma-peak-avx2.c, -avx512.c):
 * iters steps of 12 FMAs, returns a value that depends on all of them. */
float bench_fma_chains__avx2(size_t iters);
float bench_fma_chains__avx512(size_t iters);

/* The probe as a short bench_fn (about 2 ms a call) to time in rounds
 * beside a kernel: the peak of the same minutes, which on this drifting VM
 * is the fair denominator of a % of peak. init returns false without
 * AVX2+FMA or a pool. */
typedef struct bench_probe {
    kern_pool *pool;
    size_t threads;
    size_t lanes; // 8 (ymm) or 16 (zmm)
} bench_probe;
bool bench_probe_init(bench_probe *p, size_t threads);
void bench_probe_call(void *ctx, size_t rep);
double bench_probe_gflops(const bench_probe *p, double seconds);
void bench_probe_free(bench_probe *p);

/* Last-level cache size in bytes (sysfs; 32 MiB if unknown). */
size_t bench_llc_bytes(void);

// --- JSON ------------------------------------------------------------------------
/* {"bench": NAME, <fields>..., "rows": [{...}, ...]}: call bench_json_open,
 * then top-level bench_json_num/str, then per row bench_json_row + fields,
 * then bench_json_close. */
typedef struct bench_json {
    FILE *f;
    bool in_rows, first_field;
} bench_json;

bool bench_json_open(bench_json *j, const char *path, const char *name);
void bench_json_row(bench_json *j);
void bench_json_num(bench_json *j, const char *key, double value);
void bench_json_str(bench_json *j, const char *key, const char *value);
bool bench_json_close(bench_json *j);

#endif /* RESIN_BENCH_BENCH_H */
