/*
 * data/loader.h: batches for training and evaluation, made on loader
 * threads while the model computes (fastai DataBunch.create semantics).
 *
 * Train loader: shuffled every epoch, augmented (get_transforms defaults),
 * last partial batch dropped. Valid loader: dataset order, centre crop only,
 * last partial batch kept. Output: images (n, 3, size, size) float32 NCHW,
 * imagenet-normalised; labels (n) int32.
 *
 * Determinism: the epoch order is a function of (seed, epoch), and each
 * image's augmentation of (seed, epoch, item), so the same seeds give the
 * same batches whatever the thread count.
 *
 * Memory: everything (depth batch buffers, per-thread file/decode/scratch
 * buffers, source thread state) is allocated by data_loader_create; nothing
 * is allocated per batch.
 *
 * Protocol: start_epoch(e); while (next(&x, &y, &n)) { use; release(); }.
 * start_epoch may also be called before an epoch is finished (lr_find stops
 * early): batches in flight are discarded.
 */
#ifndef RESIN_DATA_LOADER_H
#define RESIN_DATA_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/augment.h"

typedef enum data_decode_status {
    DATA_DECODE_OK = 0,
    DATA_DECODE_WARNING, /* used; the source logged why */
    DATA_DECODE_FAILED,  /* unusable; the source logged why */
} data_decode_status;

/* Where images come from (the harness supplies JPEG files; tests supply
 * synthetic images). decode must be thread-safe given distinct states. */
typedef struct data_source {
    size_t n;                 /* items */
    const int32_t *labels;    /* (n) */
    size_t max_rgb_bytes;     /* largest decoded image, h * w * 3 */
    int need;                 /* short side the decode should keep (size) */
    void *ctx;
    void *(*thread_create)(void *ctx);   /* per-thread state, or NULL */
    void (*thread_destroy)(void *ctx, void *state);
    /* item i into rgb (h, w, 3); orig_h, orig_w: size in the file (the
     * resize target is computed from it, as fastai sees the full image). */
    data_decode_status (*decode)(void *ctx, void *state, size_t i,
                                 uint8_t *rgb, size_t cap, int *h, int *w,
                                 int *orig_h, int *orig_w);
} data_source;

typedef struct data_loader_opts {
    const data_source *src;
    const size_t *items;  /* (n) indices into src */
    size_t n;
    int bs, size;
    int threads;          /* loader threads, >= 1 */
    int depth;            /* batch buffers; 0 -> threads + 1 */
    bool train;           /* shuffle + augment + drop_last */
    uint64_t seed;        /* run seed (shuffle, augmentation) */
} data_loader_opts;

typedef struct data_loader data_loader;

/* NULL (and one line on stderr saying why) on failure. */
data_loader *data_loader_create(const data_loader_opts *o);
void data_loader_free(data_loader *l);

size_t data_loader_batches(const data_loader *l); /* per epoch */
void data_loader_start_epoch(data_loader *l, uint64_t epoch);
/* Waits for the next batch; false at the end of the epoch. The pointers stay
 * valid until data_loader_release. */
bool data_loader_next(data_loader *l, const float **images,
                      const int32_t **labels, int *n);
void data_loader_release(data_loader *l);

typedef struct data_loader_stats {
    uint64_t images;      /* rendered so far */
    uint64_t decode_ns;   /* thread CPU time, summed over threads */
    uint64_t augment_ns;
    uint64_t failed;      /* images replaced by zeros (mean colour) */
} data_loader_stats;
void data_loader_get_stats(const data_loader *l, data_loader_stats *s);

/* One image through the valid transforms (predict): decoded rgb (h, w, 3)
 * of a file image orig_h x orig_w -> out (3, size, size), normalised.
 * scratch: data_aug_scratch_floats(h, w). */
bool data_render_valid(const uint8_t *rgb, int h, int w, int orig_h,
                       int orig_w, int size, float *scratch, float *out);

#endif /* RESIN_DATA_LOADER_H */
