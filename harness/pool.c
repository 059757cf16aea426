/*
 * harness/pool.c: persistent pthread pool implementing kern_pool.
 */
#include "harness/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pool_impl {
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    pthread_t *threads;
    size_t nworkers;        /* threads besides the caller */
    unsigned long epoch;    /* bumped for every parallel_for */
    size_t running;         /* workers still inside the current call */
    bool quit;
    /* the current call */
    kern_task_fn fn;
    void *ctx;
    size_t n;
    atomic_size_t next;
};

struct worker_arg {
    struct pool_impl *impl;
    size_t thread;
};

static void run_tasks(struct pool_impl *p, size_t thread)
{
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= p->n)
            return;
        p->fn(p->ctx, i, thread);
    }
}

static void *worker_main(void *varg)
{
    struct worker_arg arg = *(struct worker_arg *)varg;
    free(varg);
    struct pool_impl *p = arg.impl;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->epoch == seen && !p->quit)
            pthread_cond_wait(&p->start, &p->lock);
        if (p->quit)
            break;
        seen = p->epoch;
        pthread_mutex_unlock(&p->lock);
        run_tasks(p, arg.thread);
        pthread_mutex_lock(&p->lock);
        if (--p->running == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void pool_parallel_for(const kern_pool *pool, kern_task_fn fn,
                              void *ctx, size_t n)
{
    struct pool_impl *p = pool->impl;
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->next, 0);
    p->running = p->nworkers;
    p->epoch++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);

    run_tasks(p, 0);

    pthread_mutex_lock(&p->lock);
    while (p->running > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

kern_pool *harness_pool_create(size_t nthreads)
{
    if (nthreads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (size_t)n : 1;
    }
    kern_pool *pool = calloc(1, sizeof *pool);
    struct pool_impl *p = calloc(1, sizeof *p);
    if (!pool || !p)
        goto fail;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = calloc(nthreads, sizeof *p->threads);
    if (!p->threads)
        goto fail;
    pool->parallel_for = pool_parallel_for;
    pool->nthreads = nthreads;
    pool->impl = p;
    for (size_t t = 1; t < nthreads; t++) {
        struct worker_arg *arg = malloc(sizeof *arg);
        if (!arg)
            goto fail_threads;
        *arg = (struct worker_arg){p, t};
        int err = pthread_create(&p->threads[t - 1], NULL, worker_main, arg);
        if (err) {
            free(arg);
            fprintf(stderr, "pool: pthread_create: %s\n", strerror(err));
            goto fail_threads;
        }
        p->nworkers++;
    }
    return pool;

fail_threads:
    harness_pool_free(pool);
    return NULL;
fail:
    fprintf(stderr, "pool: out of memory creating %zu threads\n", nthreads);
    if (p)
        free(p->threads);
    free(p);
    free(pool);
    return NULL;
}

void harness_pool_free(kern_pool *pool)
{
    if (!pool)
        return;
    struct pool_impl *p = pool->impl;
    pthread_mutex_lock(&p->lock);
    p->quit = true;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    for (size_t t = 0; t < p->nworkers; t++)
        pthread_join(p->threads[t], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
    free(pool);
}
