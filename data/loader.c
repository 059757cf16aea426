/*
 * data/loader.c: see loader.h.
 *
 * Work unit = one image. The epoch is a sequence of total = nbatches * bs
 * (train) or n (valid) images; image g goes to slot g % bs of batch g / bs,
 * held in buffer (g / bs) % depth. A worker takes the next g only when its
 * batch's buffer is free (batch < consumed + depth), renders it outside the
 * lock, and counts it done; the consumer waits until its batch is complete.
 */
#include "data/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct batch_buf {
    float *images;     /* (bs, 3, size, size) */
    int32_t *labels;   /* (bs) */
    int done;          /* images rendered so far */
} batch_buf;

typedef struct worker {
    struct data_loader *l;
    pthread_t thread;
    void *state;        /* source thread state */
    uint8_t *rgb;       /* (max_rgb_bytes) */
    float *scratch;     /* data_aug_scratch_floats of the largest image */
    bool started;
} worker;

struct data_loader {
    data_loader_opts o;
    size_t nbatches, total;
    size_t *order;       /* (total) item per image of the epoch */
    batch_buf *bufs;     /* (depth) */
    worker *workers;     /* (threads) */
    pthread_mutex_t lock;
    pthread_cond_t work, ready;
    uint64_t epoch;
    size_t next_g;       /* next image to hand out */
    size_t consumed;     /* batches released this epoch */
    size_t busy;         /* images being rendered outside the lock */
    bool quit;
    data_loader_stats stats;
};

/* CPU time of the calling thread: on a shared machine it measures the work,
 * not the wait for a core. */
static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static size_t batch_count(const data_loader *l, size_t b)
{
    size_t bs = (size_t)l->o.bs, left = l->total - b * bs;
    return left < bs ? left : bs;
}

// --- one image ---------------------------------------------------------------

bool data_render_valid(const uint8_t *rgb, int h, int w, int orig_h,
                       int orig_w, int size, float *scratch, float *out)
{
    data_aug_params p;
    data_aug_geom g;
    data_aug_valid(&p);
    if (!data_aug_geom_make(&p, orig_h, orig_w, h, w, size, &g))
        return false;
    data_aug_render(&g, &p, rgb, scratch, data_imagenet_mean,
                    data_imagenet_std, out);
    return true;
}

/* Renders image g of the current epoch into its slot; false if it failed
 * (the slot then holds zeros, the mean colour after normalisation). */
static bool render_one(data_loader *l, worker *w, uint64_t epoch, size_t g,
                       uint64_t *dec_ns, uint64_t *aug_ns)
{
    const data_source *src = l->o.src;
    size_t item = l->order[g], size = (size_t)l->o.size;
    batch_buf *b = &l->bufs[(g / l->o.bs) % l->o.depth];
    float *out = b->images + (g % l->o.bs) * 3 * size * size;
    b->labels[g % l->o.bs] = src->labels[item];

    uint64_t t0 = now_ns();
    int h, wd, oh, ow;
    data_decode_status st = src->decode(src->ctx, w->state, item, w->rgb,
                                        src->max_rgb_bytes, &h, &wd, &oh, &ow);
    uint64_t t1 = now_ns();
    bool ok = st != DATA_DECODE_FAILED;
    if (ok) {
        data_aug_params p;
        data_aug_geom geom;
        if (l->o.train) {
            data_rng r = data_rng_key(l->o.seed, epoch, item);
            data_aug_draw(&r, &p);
        } else {
            data_aug_valid(&p);
        }
        ok = data_aug_geom_make(&p, oh, ow, h, wd, (int)size, &geom);
        if (ok)
            data_aug_render(&geom, &p, w->rgb, w->scratch, data_imagenet_mean,
                            data_imagenet_std, out);
    }
    if (!ok)
        memset(out, 0, 3 * size * size * sizeof *out);
    *dec_ns += t1 - t0;
    *aug_ns += now_ns() - t1;
    return ok;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    data_loader *l = w->l;
    pthread_mutex_lock(&l->lock);
    for (;;) {
        while (!l->quit && (l->next_g >= l->total ||
                            l->next_g / l->o.bs >= l->consumed + l->o.depth))
            pthread_cond_wait(&l->work, &l->lock);
        if (l->quit)
            break;
        size_t g = l->next_g++;
        uint64_t epoch = l->epoch;
        l->busy++;
        pthread_mutex_unlock(&l->lock);

        uint64_t dec = 0, aug = 0;
        bool ok = render_one(l, w, epoch, g, &dec, &aug);

        pthread_mutex_lock(&l->lock);
        l->busy--;
        l->stats.images++;
        l->stats.decode_ns += dec;
        l->stats.augment_ns += aug;
        l->stats.failed += !ok;
        batch_buf *b = &l->bufs[(g / l->o.bs) % l->o.depth];
        if (++b->done == (int)batch_count(l, g / l->o.bs) || l->busy == 0)
            pthread_cond_broadcast(&l->ready);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

// --- epochs ------------------------------------------------------------------

/* Fisher-Yates from the (seed, epoch) stream; unbiased bounded draws by
 * rejection. */
static void shuffle(size_t *a, size_t n, uint64_t seed, uint64_t epoch)
{
    data_rng r = data_rng_key(seed, epoch, UINT64_MAX);
    for (size_t i = n; i-- > 1;) {
        uint64_t bound = (uint64_t)i + 1, lim = UINT64_MAX - UINT64_MAX % bound;
        uint64_t u;
        do
            u = data_rng_next(&r);
        while (u >= lim);
        size_t j = (size_t)(u % bound), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

void data_loader_start_epoch(data_loader *l, uint64_t epoch)
{
    pthread_mutex_lock(&l->lock);
    l->next_g = l->total; /* hand out nothing more of the old epoch */
    while (l->busy > 0)
        pthread_cond_wait(&l->ready, &l->lock);
    for (int i = 0; i < l->o.depth; i++)
        l->bufs[i].done = 0;
    for (size_t i = 0; i < l->o.n; i++)
        l->order[i] = l->o.items[i];
    if (l->o.train)
        shuffle(l->order, l->o.n, l->o.seed, epoch);
    l->epoch = epoch;
    l->consumed = 0;
    l->next_g = 0;
    pthread_cond_broadcast(&l->work);
    pthread_mutex_unlock(&l->lock);
}

size_t data_loader_batches(const data_loader *l) { return l->nbatches; }

bool data_loader_next(data_loader *l, const float **images,
                      const int32_t **labels, int *n)
{
    pthread_mutex_lock(&l->lock);
    size_t b = l->consumed;
    if (b >= l->nbatches) {
        pthread_mutex_unlock(&l->lock);
        *n = 0;
        return false;
    }
    batch_buf *buf = &l->bufs[b % l->o.depth];
    int want = (int)batch_count(l, b);
    while (buf->done < want)
        pthread_cond_wait(&l->ready, &l->lock);
    pthread_mutex_unlock(&l->lock);
    *images = buf->images;
    *labels = buf->labels;
    *n = want;
    return true;
}

void data_loader_release(data_loader *l)
{
    pthread_mutex_lock(&l->lock);
    if (l->consumed < l->nbatches) {
        l->bufs[l->consumed % l->o.depth].done = 0;
        l->consumed++;
        pthread_cond_broadcast(&l->work);
    }
    pthread_mutex_unlock(&l->lock);
}

void data_loader_get_stats(const data_loader *l, data_loader_stats *s)
{
    pthread_mutex_lock((pthread_mutex_t *)&l->lock);
    *s = l->stats;
    pthread_mutex_unlock((pthread_mutex_t *)&l->lock);
}

// --- life cycle --------------------------------------------------------------

static void *alloc64(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        return NULL;
    return p;
}

static bool workers_init(data_loader *l)
{
    const data_source *src = l->o.src;
    size_t pixels = src->max_rgb_bytes / 3;
    for (int t = 0; t < l->o.threads; t++) {
        worker *w = &l->workers[t];
        w->l = l;
        w->state = src->thread_create ? src->thread_create(src->ctx) : NULL;
        w->rgb = alloc64(src->max_rgb_bytes);
        /* scratch for the largest image: data_aug_scratch_floats */
        w->scratch = alloc64(pixels * 3 * sizeof(float));
        if ((src->thread_create && !w->state) || !w->rgb || !w->scratch)
            return false;
    }
    for (int t = 0; t < l->o.threads; t++) {
        if (pthread_create(&l->workers[t].thread, NULL, worker_main,
                           &l->workers[t]) != 0)
            return false;
        l->workers[t].started = true;
    }
    return true;
}

data_loader *data_loader_create(const data_loader_opts *o)
{
    if (!o->src || o->bs < 1 || o->size < 2 || o->threads < 1 ||
        o->depth < 0 || (o->n && !o->items)) {
        fprintf(stderr, "resin: loader: invalid options (bs %d, size %d, "
                "threads %d)\n", o->bs, o->size, o->threads);
        return NULL;
    }
    data_loader *l = calloc(1, sizeof *l);
    if (!l)
        goto nomem;
    l->o = *o;
    if (l->o.depth == 0)
        l->o.depth = o->threads + 1;
    size_t bs = (size_t)o->bs;
    l->nbatches = o->train ? o->n / bs : (o->n + bs - 1) / bs;
    l->total = o->train ? l->nbatches * bs : o->n;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->ready, NULL);
    l->next_g = l->total; /* idle until the first start_epoch */
    l->order = malloc((o->n ? o->n : 1) * sizeof *l->order);
    l->bufs = calloc((size_t)l->o.depth, sizeof *l->bufs);
    l->workers = calloc((size_t)o->threads, sizeof *l->workers);
    if (!l->order || !l->bufs || !l->workers)
        goto nomem;
    size_t img = 3 * (size_t)o->size * o->size;
    for (int i = 0; i < l->o.depth; i++) {
        l->bufs[i].images = alloc64(bs * img * sizeof(float));
        l->bufs[i].labels = alloc64(bs * sizeof(int32_t));
        if (!l->bufs[i].images || !l->bufs[i].labels)
            goto nomem;
    }
    if (!workers_init(l))
        goto nomem;
    return l;
nomem:
    fprintf(stderr, "resin: loader: out of memory or threads (bs %d, size %d,"
            " threads %d)\n", o->bs, o->size, o->threads);
    data_loader_free(l);
    return NULL;
}

void data_loader_free(data_loader *l)
{
    if (!l)
        return;
    if (l->workers) {
        pthread_mutex_lock(&l->lock);
        l->quit = true;
        pthread_cond_broadcast(&l->work);
        pthread_mutex_unlock(&l->lock);
        for (int t = 0; t < l->o.threads; t++) {
            worker *w = &l->workers[t];
            if (w->started)
                pthread_join(w->thread, NULL);
            if (w->state && l->o.src->thread_destroy)
                l->o.src->thread_destroy(l->o.src->ctx, w->state);
            free(w->rgb);
            free(w->scratch);
        }
    }
    if (l->bufs)
        for (int i = 0; i < l->o.depth; i++) {
            free(l->bufs[i].images);
            free(l->bufs[i].labels);
        }
    free(l->bufs);
    free(l->workers);
    free(l->order);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->work);
    pthread_cond_destroy(&l->ready);
    free(l);
}
