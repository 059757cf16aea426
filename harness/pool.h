/*
 * harness/pool.h: the pthread pool behind kern_pool.
 *
 * Threads are created once; between calls they spin for 0.1 ms, then wait
 * on a condition variable (pool.c says why);
 * parallel_for hands out task indices through an atomic counter (the calling
 * thread works too, as thread 0) and returns when every task has finished.
 * Calls must not be nested or made concurrently from two threads.
 */
#ifndef RESIN_HARNESS_POOL_H
#define RESIN_HARNESS_POOL_H

#include "kernels/kern.h"

/* A pool of nthreads threads in all (the caller counts as one); nthreads == 0
 * means one per online CPU. Returns NULL (and logs why) on failure. */
kern_pool *harness_pool_create(size_t nthreads);
void harness_pool_free(kern_pool *pool);

#endif /* RESIN_HARNESS_POOL_H */
