/*
 * tests/nn/test-alloc.c: nothing allocates during training steps, not even
 * the first.
 *
 * The test binary interposes malloc/calloc/realloc/aligned_alloc/
 * posix_memalign/memalign (forwarding to glibc's __libc_* entry points) and
 * counts calls while a flag is set. After set-up (plan, arenas, init, the
 * thread pool) it runs training steps (frozen and unfrozen), an eval forward
 * and freeze/unfreeze with the counter armed: the count must stay 0. The
 * interposer is checked to be live first (a counted malloc must register),
 * so a build where it silently does nothing fails instead of passing.
 * Skipped under AddressSanitizer, which owns malloc.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>

#include "harness/pool.h"
#include "tests/nn/nnfix.h"

#if defined(__SANITIZE_ADDRESS__)
#define ALLOC_HOOKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOC_HOOKS 0
#endif
#endif
#ifndef ALLOC_HOOKS
#define ALLOC_HOOKS 1
#endif

static atomic_bool counting;
static atomic_size_t allocations;

#if ALLOC_HOOKS
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);

static void note(void)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add(&allocations, 1);
}

void *malloc(size_t n) { note(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { note(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { note(); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { note(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { note(); return __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n)
{
    note();
    *p = __libc_memalign(a, n);
    return *p ? 0 : 12; /* ENOMEM */
}
#endif

#ifdef __aarch64__
#define B 2
#define S 32
#define STEPS 1
#else
#define B 2
#define S 48
#define STEPS 3
#endif
#define NC 5

Test(nn_alloc, no_allocation_in_steps, .timeout = 600)
{
#if !ALLOC_HOOKS
    cr_skip_test("AddressSanitizer owns malloc; the plain builds run this");
#endif
    atomic_store(&allocations, 0);
    atomic_store(&counting, true);
    void *probe = malloc(16);
    atomic_store(&counting, false);
    free(probe);
    cr_assert_eq(atomic_load(&allocations), 1, "malloc interposer not live");

    fx_arenas a;
    cr_assert(fx_alloc(&a, B, S, NC, 2));
    static nn_model m;
    cr_assert(nn_model_init(&m, B, S, NC, 2, a.a));
    nn_model_init_weights(&m, 42);
    float *x = tu_alloc(sizeof(float) * B * 3 * S * S);
    tu_rng rng = tu_rng_seed(7);
    tu_fill(&rng, x, B * 3 * S * S, -1.0f, 1.0f);
    int32_t labels[B] = {1, 4};
    float logits[B * NC];
    kern_pool *pool = harness_pool_create(2);
    cr_assert_not_null(pool);
    nn_hparams hp = {{1e-3f, 1e-3f, 1e-2f}, 0.9f, 1e-2f};

    atomic_store(&allocations, 0);
    atomic_store(&counting, true);
    float first = 0, last = 0;
    for (int s = 0; s < STEPS; s++) {
        if (s == STEPS - 1)
            nn_unfreeze(&m);
        last = nn_train_step(&m, x, labels, B, (uint64_t)s, &hp, pool);
        if (s == 0)
            first = last;
    }
    nn_forward_eval(&m, x, labels, B, logits, NULL, NULL, pool);
    nn_freeze(&m);
    atomic_store(&counting, false);

    cr_assert_eq(atomic_load(&allocations), 0,
                 "%zu heap allocations during the steps",
                 atomic_load(&allocations));
    cr_assert(isfinite(first) && isfinite(last));
    for (int i = 0; i < B * NC; i++)
        cr_assert(isfinite(logits[i]));
    harness_pool_free(pool);
    tu_free(x);
    fx_free(&a);
}

/* Set-up refuses arenas it cannot carve (missing or not 64-byte aligned),
 * so a step can never run on memory the plan did not provide. */
Test(nn_alloc, init_rejects_bad_arenas)
{
    static nn_model m;
    static _Alignas(64) unsigned char tiny[NN_ARENA_COUNT][128];
    void *arenas[NN_ARENA_COUNT];
    for (int i = 0; i < NN_ARENA_COUNT; i++)
        arenas[i] = tiny[i];
    arenas[NN_ARENA_ACTS] = NULL;
    cr_assert_not(nn_model_init(&m, 2, 32, 5, 1, arenas));
    arenas[NN_ARENA_ACTS] = tiny[NN_ARENA_ACTS] + 4;
    cr_assert_not(nn_model_init(&m, 2, 32, 5, 1, arenas));
    arenas[NN_ARENA_ACTS] = tiny[NN_ARENA_ACTS];
    cr_assert_not(nn_model_init(&m, 0, 32, 5, 1, arenas), "batch 0");
    cr_assert_not(nn_model_init(&m, 2, 16, 5, 1, arenas), "size < 32");
}
