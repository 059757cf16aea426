/*
 * bench/support/bench.c: see bench.h.
 */
#include "bench/support/bench.h"

#include <stdatomic.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/pool.h"
#include "kernels/dispatch.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double bench_median(double *x, size_t n)
{
    if (n == 0)
        return 0.0;
    qsort(x, n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

#define BENCH_MAX_REPS 1000

/* Calls fn until it has run at least reps times and seconds have passed,
 * or *n reaches cap, appending each call's time to times[*n]. */
static void time_calls(bench_fn fn, void *ctx, size_t *rep, double *times,
                       size_t *n, size_t cap, size_t reps, double seconds)
{
    double start = bench_now();
    for (size_t i = 0;
         *n < cap && (i < reps || bench_now() - start < seconds); i++) {
        double t0 = bench_now();
        fn(ctx, (*rep)++);
        times[(*n)++] = bench_now() - t0;
    }
}

static bench_stats stats_of(double *times, size_t n)
{
    bench_stats s = {.reps = n};
    s.median = bench_median(times, n); /* sorts */
    s.best = n ? times[0] : 0.0;
    return s;
}

bench_stats bench_time(bench_fn fn, void *ctx, size_t min_reps,
                       size_t max_reps, double min_seconds)
{
    static double times[BENCH_MAX_REPS];
    size_t rep = 0, n = 0;
    fn(ctx, rep++);
    time_calls(fn, ctx, &rep, times, &n, KERN_MIN(max_reps, BENCH_MAX_REPS),
               min_reps, min_seconds);
    return stats_of(times, n);
}

double bench_time_median(bench_fn fn, void *ctx, size_t min_reps,
                         size_t max_reps, double min_seconds)
{
    return bench_time(fn, ctx, min_reps, max_reps, min_seconds).median;
}

enum { ROUNDS = 6 };

static void idle(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec ts = {(time_t)seconds,
                          (long)(1e9 * (seconds - (double)(time_t)seconds))};
    nanosleep(&ts, NULL);
}

void bench_time_rounds(size_t n, const bench_side *side, size_t min_reps,
                       double min_seconds, bench_stats *out)
{
    static double times[BENCH_MAX_SIDES][BENCH_MAX_REPS];
    size_t rep[BENCH_MAX_SIDES] = {0}, got[BENCH_MAX_SIDES] = {0};
    KERN_ASSERT(n <= BENCH_MAX_SIDES);
    for (size_t i = 0; i < n; i++) {
        side[i].fn(side[i].ctx, rep[i]++);
        idle(side[i].settle);
    }
    size_t reps = KERN_DIV_UP(min_reps, ROUNDS);
    double seconds = min_seconds / ROUNDS;
    for (int r = 0; r < ROUNDS; r++) /* 0 1 2, 2 1 0, 0 1 2, ... */
        for (size_t k = 0; k < n; k++) {
            size_t i = r % 2 ? n - 1 - k : k;
            time_calls(side[i].fn, side[i].ctx, &rep[i], times[i], &got[i],
                       BENCH_MAX_REPS, reps, seconds);
            idle(side[i].settle);
        }
    for (size_t i = 0; i < n; i++)
        out[i] = stats_of(times[i], got[i]);
}

void bench_time_pair(bench_fn fa, void *ca, bench_fn fb, void *cb,
                     size_t min_reps, double min_seconds, bench_stats *sa,
                     bench_stats *sb)
{
    bench_side side[2] = {{fa, ca, 0.0}, {fb, cb, 0.0}};
    bench_stats st[2];
    bench_time_rounds(2, side, min_reps, min_seconds, st);
    *sa = st[0];
    *sb = st[1];
}

// --- FMA peak ----------------------------------------------------------------------

#define FMA_ITERS ((size_t)20 << 20) /* 20M steps x 12 FMAs x 16-32 flop */

static volatile float fma_sink;

/* One task per thread, each waiting until every task has started: the pool
 * hands tasks out dynamically, so without the wait a caller that runs ahead
 * of a worker still waking up can take both tasks one after the other, and
 * the probe reads one core's peak as two cores'. */
typedef struct fma_start {
    atomic_size_t started;
    size_t threads, iters, lanes;
} fma_start;

static void fma_task(void *ctx, size_t task, size_t thread)
{
    fma_start *b = ctx;
    (void)task, (void)thread;
    atomic_fetch_add(&b->started, 1);
    while (atomic_load(&b->started) < b->threads)
        ;
    fma_sink = b->lanes == 16 ? bench_fma_chains__avx512(b->iters)
                              : bench_fma_chains__avx2(b->iters);
}

static double fma_flop(const bench_probe *p, size_t iters)
{
    return (double)p->threads * (double)iters * 12 * 2 * (double)p->lanes;
}

static void fma_run(const bench_probe *p, size_t iters)
{
    fma_start start = {0, p->threads, iters, p->lanes};
    kern_parallel_for(p->pool, fma_task, &start, p->threads);
}

bool bench_probe_init(bench_probe *p, size_t threads)
{
    *p = (bench_probe){
        .threads = threads ? threads : 1,
        .lanes = kern_isa_active() == KERN_ISA_AVX512 ? 16 : 8,
    };
    if (!kern_isa_available(KERN_ISA_AVX2))
        return false;
    if (p->threads > 1 && !(p->pool = harness_pool_create(p->threads)))
        return false;
    return true;
}

double bench_fma_peak_gflops(size_t threads)
{
    bench_probe p;
    double best = 0.0;
    if (bench_probe_init(&p, threads))
        for (int r = 0; r < 5; r++) {
            double t0 = bench_now();
            fma_run(&p, FMA_ITERS);
            double gflops = 1e-9 * fma_flop(&p, FMA_ITERS) /
                            (bench_now() - t0);
            if (gflops > best)
                best = gflops;
        }
    bench_probe_free(&p);
    return best;
}

/* 1M steps: about 2 ms per call at the peak, short enough to interleave. */
#define PROBE_ITERS ((size_t)1 << 20)

void bench_probe_call(void *ctx, size_t rep)
{
    bench_probe *p = ctx;
    (void)rep;
    fma_run(p, PROBE_ITERS);
}

double bench_probe_gflops(const bench_probe *p, double seconds)
{
    return seconds > 0 ? 1e-9 * fma_flop(p, PROBE_ITERS) / seconds
                       : 0.0;
}

void bench_probe_free(bench_probe *p)
{
    harness_pool_free(p->pool);
    p->pool = NULL;
}

size_t bench_llc_bytes(void)
{
    size_t best = 0;
    for (int i = 0; i < 8; i++) {
        char path[96];
        snprintf(path, sizeof path,
                 "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        FILE *f = fopen(path, "r");
        if (!f)
            break;
        unsigned long v = 0;
        char unit = 0;
        if (fscanf(f, "%lu%c", &v, &unit) >= 1) {
            size_t bytes = v * (unit == 'K' ? 1024 : unit == 'M' ? 1 << 20 : 1);
            if (bytes > best)
                best = bytes;
        }
        fclose(f);
    }
    return best ? best : (size_t)32 << 20;
}

// --- JSON ------------------------------------------------------------------------

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

bool bench_json_open(bench_json *j, const char *path, const char *name)
{
    *j = (bench_json){.f = fopen(path, "w"), .first_field = false};
    if (!j->f) {
        fprintf(stderr, "bench: cannot write %s\n", path);
        return false;
    }
    fputs("{\"bench\": ", j->f);
    json_string(j->f, name);
    return true;
}

static void json_key(bench_json *j, const char *key)
{
    if (!j->f)
        return;
    if (!j->first_field)
        fputs(", ", j->f);
    j->first_field = false;
    json_string(j->f, key);
    fputs(": ", j->f);
}

void bench_json_row(bench_json *j)
{
    if (!j->f)
        return;
    fputs(j->in_rows ? "},\n  {" : ",\n \"rows\": [\n  {", j->f);
    j->in_rows = true;
    j->first_field = true;
}

void bench_json_num(bench_json *j, const char *key, double value)
{
    if (!j->f)
        return;
    json_key(j, key);
    fprintf(j->f, "%.6g", value);
}

void bench_json_str(bench_json *j, const char *key, const char *value)
{
    if (!j->f)
        return;
    json_key(j, key);
    json_string(j->f, value);
}

bool bench_json_close(bench_json *j)
{
    if (!j->f)
        return false;
    fputs(j->in_rows ? "}\n ]}\n" : "}\n", j->f);
    bool ok = fclose(j->f) == 0;
    j->f = NULL;
    return ok;
}
