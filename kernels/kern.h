/*
 * kernels/kern.h: what every kernel file shares.
 *
 * The kernels are freestanding: no libc, no allocation, no threads, no files.
 * This header therefore includes only compiler-provided headers.
 *
 * - KERN_ASSERT(x): precondition check. Active unless NDEBUG is defined (the
 *   release build defines it; the test and sanitizer builds do not). It traps
 *   instead of calling libc.
 * - KERN_EXTRA_BYTES: a kernel may READ up to this many bytes past the end of
 *   an input buffer (never write). Arena blocks carry that padding.
 * - KERN_ALIGN: alignment of every arena block and every packed buffer.
 * - kern_pool: parallelism enters only as a callback supplied by the caller
 *   (the harness gives a pthread pool; a board can give a plain loop). A NULL
 *   pool means serial.
 */
#ifndef RESIN_KERNELS_KERN_H
#define RESIN_KERNELS_KERN_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef NDEBUG
#define KERN_ASSERT(x) ((void)0)
#else
#define KERN_ASSERT(x) do { if (!(x)) __builtin_trap(); } while (0)
#endif

#define KERN_EXTRA_BYTES 64
#define KERN_ALIGN 64

#define KERN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define KERN_MAX(a, b) ((a) > (b) ? (a) : (b))
#define KERN_DIV_UP(a, b) (((a) + (b) - 1) / (b))
#define KERN_ROUND_UP(a, b) (KERN_DIV_UP(a, b) * (b))

/* One unit of parallel work: task index in [0, n), thread index in
 * [0, pool->nthreads). The thread index lets a task use per-thread scratch. */
typedef void (*kern_task_fn)(void *ctx, size_t task, size_t thread);

typedef struct kern_pool {
    /* Runs fn(ctx, i, thread) for every i in [0, n) and returns when all are
     * done. Tasks may run in any order on any thread. */
    void (*parallel_for)(const struct kern_pool *pool, kern_task_fn fn,
                         void *ctx, size_t n);
    size_t nthreads; /* >= 1 */
    void *impl;      /* owned by whoever built the pool */
} kern_pool;

static inline size_t kern_pool_threads(const kern_pool *pool)
{
    return pool ? pool->nthreads : 1;
}

/* Runs the tasks on the pool, or in a plain loop on thread 0 if pool is NULL. */
static inline void kern_parallel_for(const kern_pool *pool, kern_task_fn fn,
                                     void *ctx, size_t n)
{
    if (pool && pool->nthreads > 1 && n > 1) {
        pool->parallel_for(pool, fn, ctx, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        fn(ctx, i, 0);
}

/* Byte offset rounded up to KERN_ALIGN, for carving aligned scratch. */
static inline size_t kern_align_up(size_t bytes)
{
    return KERN_ROUND_UP(bytes, (size_t)KERN_ALIGN);
}

#endif /* RESIN_KERNELS_KERN_H */
