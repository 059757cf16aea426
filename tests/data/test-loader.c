/*
 * tests/data/test-loader.c: the batch loader over a synthetic source: every
 * training image once per epoch, drop_last, valid order with the last
 * partial batch, the same seeds -> identical batches for 1 and 2 threads,
 * decode failures replaced by zeros, and an epoch restarted mid-way.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "data/loader.h"

#define SIZE 16

/* Item i: an (h, w) image whose pixels encode i; label = i. fail_item makes
 * one item undecodable. */
typedef struct synth {
    size_t n;
    int32_t *labels;
    long fail_item;
    atomic_int decodes;
} synth;

static void dims(size_t i, int *h, int *w)
{
    *h = 20 + (int)(i % 7) * 3;
    *w = 18 + (int)(i % 5) * 5;
}

static data_decode_status synth_decode(void *ctx, void *state, size_t i,
                                       uint8_t *rgb, size_t cap, int *h,
                                       int *w, int *oh, int *ow)
{
    synth *s = ctx;
    atomic_fetch_add(&s->decodes, 1);
    if ((long)i == s->fail_item)
        return DATA_DECODE_FAILED;
    dims(i, h, w);
    *oh = *h, *ow = *w;
    if ((size_t)*h * *w * 3 > cap) /* no cr_assert on loader threads */
        return DATA_DECODE_FAILED;
    for (int y = 0; y < *h; y++)
        for (int x = 0; x < *w; x++)
            for (int k = 0; k < 3; k++)
                rgb[((size_t)y * *w + x) * 3 + k] =
                    (uint8_t)(i * 37 + x * 3 + y * 5 + k * 50);
    return DATA_DECODE_OK;
}

static data_source make_source(synth *s, size_t n)
{
    s->n = n;
    s->labels = malloc(n * sizeof *s->labels);
    for (size_t i = 0; i < n; i++)
        s->labels[i] = (int32_t)i;
    s->fail_item = -1;
    atomic_init(&s->decodes, 0);
    return (data_source){.n = n, .labels = s->labels,
                         .max_rgb_bytes = (20 + 18) * (18 + 20) * 3,
                         .need = SIZE, .ctx = s, .decode = synth_decode};
}

static data_loader *make_loader(const data_source *src, const size_t *items,
                                size_t n, int bs, int threads, bool train,
                                uint64_t seed)
{
    data_loader_opts o = {.src = src, .items = items, .n = n, .bs = bs,
                          .size = SIZE, .threads = threads, .train = train,
                          .seed = seed};
    data_loader *l = data_loader_create(&o);
    cr_assert(l);
    return l;
}

static size_t *iota(size_t n)
{
    size_t *a = malloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = i;
    return a;
}

Test(loader, train_epoch_covers_each_image_once_and_drops_last)
{
    synth s;
    data_source src = make_source(&s, 103);
    size_t *items = iota(103);
    data_loader *l = make_loader(&src, items, 103, 10, 2, true, 5);
    cr_assert_eq(data_loader_batches(l), 10);
    for (uint64_t e = 0; e < 3; e++) {
        int seen[103] = {0};
        data_loader_start_epoch(l, e);
        const float *x;
        const int32_t *y;
        int n, batches = 0;
        while (data_loader_next(l, &x, &y, &n)) {
            cr_assert_eq(n, 10);
            for (int i = 0; i < n; i++)
                seen[y[i]]++;
            for (int i = 0; i < n * 3 * SIZE * SIZE; i++)
                cr_assert(x[i] == x[i] && fabsf(x[i]) < 3, "bad value");
            data_loader_release(l);
            batches++;
        }
        cr_assert_eq(batches, 10);
        int once = 0;
        for (int i = 0; i < 103; i++) {
            cr_assert_leq(seen[i], 1, "epoch %d: item %d seen %d times",
                          (int)e, i, seen[i]);
            once += seen[i];
        }
        cr_assert_eq(once, 100);
    }
    data_loader_free(l);
    free(items), free(s.labels);
}

static void run_epochs(int threads, float **out, int32_t **labels,
                       size_t *floats)
{
    synth s;
    data_source src = make_source(&s, 50);
    size_t *items = iota(50);
    data_loader *l = make_loader(&src, items, 50, 8, threads, true, 77);
    size_t per = 8 * 3 * SIZE * SIZE, k = 0, kl = 0;
    *out = malloc(2 * 6 * per * sizeof(float));
    *labels = malloc(2 * 6 * 8 * sizeof(int32_t));
    for (uint64_t e = 0; e < 2; e++) {
        data_loader_start_epoch(l, e);
        const float *x;
        const int32_t *y;
        int n;
        while (data_loader_next(l, &x, &y, &n)) {
            memcpy(*out + k, x, per * sizeof(float));
            memcpy(*labels + kl, y, 8 * sizeof(int32_t));
            k += per, kl += 8;
            data_loader_release(l);
        }
    }
    *floats = k;
    data_loader_free(l);
    free(items), free(s.labels);
}

Test(loader, same_seeds_same_batches_for_1_and_2_threads)
{
    float *a, *b;
    int32_t *la, *lb;
    size_t na, nb;
    run_epochs(1, &a, &la, &na);
    run_epochs(2, &b, &lb, &nb);
    cr_assert_eq(na, nb);
    cr_assert_eq(na, 2 * 6 * 8 * 3 * SIZE * SIZE);
    cr_assert(memcmp(la, lb, 2 * 6 * 8 * sizeof(int32_t)) == 0);
    cr_assert(memcmp(a, b, na * sizeof(float)) == 0);
    /* two epochs differ in order */
    cr_assert(memcmp(la, la + 48, 48 * sizeof(int32_t)) != 0);
    free(a), free(b), free(la), free(lb);
}

Test(loader, valid_in_order_keeps_last_batch_and_matches_render)
{
    synth s;
    data_source src = make_source(&s, 30);
    size_t items[13];
    for (int i = 0; i < 13; i++)
        items[i] = (size_t)(29 - 2 * i); /* any order: kept as given */
    data_loader *l = make_loader(&src, items, 13, 5, 2, false, 1);
    cr_assert_eq(data_loader_batches(l), 3);
    data_loader_start_epoch(l, 0);
    const float *x;
    const int32_t *y;
    int n, b = 0;
    uint8_t rgb[38 * 38 * 3];
    float scratch[2 * 38 * 38 * 3], want[3 * SIZE * SIZE];
    while (data_loader_next(l, &x, &y, &n)) {
        cr_assert_eq(n, b < 2 ? 5 : 3);
        for (int i = 0; i < n; i++) {
            size_t item = items[b * 5 + i];
            cr_assert_eq(y[i], (int32_t)item);
            int h, w, oh, ow;
            synth_decode(&s, NULL, item, rgb, sizeof rgb, &h, &w, &oh, &ow);
            cr_assert(data_render_valid(rgb, h, w, oh, ow, SIZE, scratch,
                                        want));
            cr_assert(memcmp(x + (size_t)i * 3 * SIZE * SIZE, want,
                             sizeof want) == 0, "batch %d slot %d", b, i);
        }
        data_loader_release(l);
        b++;
    }
    cr_assert_eq(b, 3);
    data_loader_free(l);
    free(s.labels);
}

Test(loader, failed_decode_gives_zeros_and_is_counted)
{
    synth s;
    data_source src = make_source(&s, 12);
    s.fail_item = 7;
    size_t *items = iota(12);
    data_loader *l = make_loader(&src, items, 12, 4, 2, false, 1);
    data_loader_start_epoch(l, 0);
    const float *x;
    const int32_t *y;
    int n, found = 0;
    while (data_loader_next(l, &x, &y, &n)) {
        for (int i = 0; i < n; i++)
            if (y[i] == 7) {
                found = 1;
                for (int k = 0; k < 3 * SIZE * SIZE; k++)
                    cr_assert_eq(x[(size_t)i * 3 * SIZE * SIZE + k], 0.0f);
            }
        data_loader_release(l);
    }
    cr_assert(found);
    data_loader_stats st;
    data_loader_get_stats(l, &st);
    cr_assert_eq(st.failed, 1);
    cr_assert_eq(st.images, 12);
    data_loader_free(l);
    free(items), free(s.labels);
}

Test(loader, restart_mid_epoch)
{
    synth s;
    data_source src = make_source(&s, 64);
    size_t *items = iota(64);
    data_loader *l = make_loader(&src, items, 64, 4, 2, true, 3);
    const float *x;
    const int32_t *y;
    int n;
    data_loader_start_epoch(l, 0);
    cr_assert(data_loader_next(l, &x, &y, &n));
    data_loader_release(l);
    cr_assert(data_loader_next(l, &x, &y, &n));
    /* abandon the epoch with a batch held (lr_find stops early) */
    data_loader_start_epoch(l, 1);
    int batches = 0, seen[64] = {0};
    while (data_loader_next(l, &x, &y, &n)) {
        for (int i = 0; i < n; i++)
            seen[y[i]]++;
        data_loader_release(l);
        batches++;
    }
    cr_assert_eq(batches, 16);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(seen[i], 1);
    data_loader_free(l);
    free(items), free(s.labels);
}

Test(loader, idle_loader_frees_and_rejects_bad_options)
{
    synth s;
    data_source src = make_source(&s, 4);
    size_t *items = iota(4);
    data_loader_opts o = {.src = &src, .items = items, .n = 4, .bs = 0,
                          .size = SIZE, .threads = 1};
    cr_assert_null(data_loader_create(&o));
    data_loader *l = make_loader(&src, items, 4, 8, 2, true, 1);
    cr_assert_eq(data_loader_batches(l), 0); /* 4 < bs: drop_last leaves 0 */
    data_loader_start_epoch(l, 0);
    const float *x;
    const int32_t *y;
    int n;
    cr_assert_not(data_loader_next(l, &x, &y, &n));
    data_loader_free(l);
    free(items), free(s.labels);
}
