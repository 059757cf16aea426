/*
 * tests/harness/test-pool.c: the pthread pool behind kern_pool.
 *
 * Each call must run every task index exactly once, on thread ids below the
 * pool's size, whether the workers are still spinning from the call before
 * (calls back to back), asleep (calls more than the 0.1 ms spin apart), or
 * late (a worker's task outlasting the caller's spin, so the caller sleeps
 * until the worker wakes it). A lost wake-up shows as a hang, which the
 * 10 s alarm (and Criterion's timeout) turns into a failure.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness/pool.h"

#define MAX_TASKS 257

typedef struct count_ctx {
    atomic_int runs[MAX_TASKS];
    atomic_int bad_thread;
    size_t nthreads;
    long worker_sleep_us; /* a task on a worker thread sleeps this long */
} count_ctx;

static void count_task(void *vctx, size_t i, size_t thread)
{
    count_ctx *c = vctx;
    atomic_fetch_add(&c->runs[i], 1);
    if (thread >= c->nthreads)
        atomic_fetch_add(&c->bad_thread, 1);
    if (thread != 0 && c->worker_sleep_us > 0)
        usleep((useconds_t)c->worker_sleep_us);
}

/* One call of n tasks; every index must have run exactly once. */
static void check_call(const kern_pool *pool, count_ctx *c, size_t n)
{
    for (size_t i = 0; i < MAX_TASKS; i++)
        atomic_store(&c->runs[i], 0);
    kern_parallel_for(pool, count_task, c, n);
    for (size_t i = 0; i < MAX_TASKS; i++)
        cr_assert_eq(atomic_load(&c->runs[i]), i < n ? 1 : 0,
                     "n = %zu: task %zu ran %d times", n, i,
                     atomic_load(&c->runs[i]));
    cr_assert_eq(atomic_load(&c->bad_thread), 0);
}

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static const size_t sizes[] = {0, 1, 2, 3, 7, 64, MAX_TASKS};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static count_ctx ctx;

/* A pool of `threads` and a cleared ctx; arms the 10 s hang alarm. */
static kern_pool *setup(size_t threads, long worker_sleep_us)
{
    alarm(10);
    memset(&ctx, 0, sizeof ctx);
    ctx.nthreads = threads;
    ctx.worker_sleep_us = worker_sleep_us;
    kern_pool *pool = harness_pool_create(threads);
    cr_assert_not_null(pool);
    cr_assert_eq(kern_pool_threads(pool), threads);
    return pool;
}

Test(pool, back_to_back_calls_run_every_task_once, .timeout = 20)
{
    for (size_t threads = 1; threads <= 3; threads++) {
        kern_pool *pool = setup(threads, 0);
        for (int rep = 0; rep < 300; rep++)
            check_call(pool, &ctx, sizes[rep % NSIZES]);
        harness_pool_free(pool);
    }
}

Test(pool, calls_after_the_workers_sleep, .timeout = 20)
{
    kern_pool *pool = setup(2, 0);
    for (int rep = 0; rep < 40; rep++) {
        sleep_us(rep % 2 ? 2000 : 150); /* past the 0.1 ms spin */
        check_call(pool, &ctx, sizes[rep % NSIZES]);
    }
    harness_pool_free(pool);
}

Test(pool, caller_waits_for_a_slow_worker, .timeout = 20)
{
    /* a worker's task sleeps 1 ms: the caller's spin gives up first */
    kern_pool *pool = setup(2, 1000);
    for (int rep = 0; rep < 30; rep++)
        check_call(pool, &ctx, 2 + rep % 3);
    harness_pool_free(pool);
}

Test(pool, freed_while_workers_spin_or_sleep, .timeout = 20)
{
    for (int rep = 0; rep < 20; rep++) {
        kern_pool *pool = setup(4, 0);
        check_call(pool, &ctx, 5);
        if (rep % 2)
            sleep_us(500);
        harness_pool_free(pool);
    }
}
