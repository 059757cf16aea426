/*
 * bench/data/bench-loader.c -> build/bench/loader: the input pipeline's
 * throughput, JPEG file -> decoded -> augmented, normalised batch slot.
 *
 *   loader --images DIR [--size 224] [--threads T] [--bs 16] [--epochs 2]
 *          [--full-decode] [--pattern P]
 *   loader --suite FILE.json   (make bench): writes ~100 JPEGs at typical
 *          Pets sizes into build/bench/loader-images with tjCompress2, runs
 *          1 and 2 loader threads, prints the table, writes FILE.json.
 *
 * img_s = images through the train loader (decode + augment + normalise
 * into batches) per second of wall time, the consumer doing nothing else;
 * decode_ms / augment_ms = CPU time per image on a loader thread (medians
 * over epochs; CPU time, so other work on the machine does not inflate
 * it). Target: one loader thread >= 5x the training step (~6 img/s), i.e.
 * >= 30 img/s per thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <turbojpeg.h>

#include "data/loader.h"
#include "harness/dataset.h"
#include "harness/isa.h"

#define TARGET_PER_THREAD 30.0

typedef struct result {
    int threads;
    double img_s, decode_ms, augment_ms;
    size_t images;
} result;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Runs the train loader over every item (train + valid) for epochs + 1
 * (the first is warm-up: page cache, first touch of the buffers). */
static bool run(harness_dataset *ds, int size, int bs, int threads,
                int epochs, result *r)
{
    size_t n = ds->ntrain + ds->nvalid;
    size_t *items = malloc(n * sizeof *items);
    memcpy(items, ds->train, ds->ntrain * sizeof *items);
    memcpy(items + ds->ntrain, ds->valid, ds->nvalid * sizeof *items);
    data_loader_opts o = {.src = &ds->source, .items = items, .n = n,
                          .bs = bs, .size = size, .threads = threads,
                          .train = true, .seed = 1};
    data_loader *l = data_loader_create(&o);
    if (!l) {
        free(items);
        return false;
    }
    double rate[64], dec[64], aug[64];
    epochs = epochs > 63 ? 63 : epochs;
    for (int e = 0; e <= epochs; e++) {
        data_loader_stats s0, s1;
        data_loader_get_stats(l, &s0);
        double t0 = now_s();
        data_loader_start_epoch(l, (uint64_t)e);
        const float *x;
        const int32_t *y;
        int got, imgs = 0;
        while (data_loader_next(l, &x, &y, &got)) {
            imgs += got;
            data_loader_release(l);
        }
        double t = now_s() - t0;
        data_loader_get_stats(l, &s1);
        if (e == 0)
            continue;
        double k = (double)(s1.images - s0.images);
        rate[e - 1] = imgs / t;
        dec[e - 1] = 1e-6 * (double)(s1.decode_ns - s0.decode_ns) / k;
        aug[e - 1] = 1e-6 * (double)(s1.augment_ns - s0.augment_ns) / k;
        r->images = (size_t)imgs;
    }
    r->threads = threads;
    r->img_s = median(rate, epochs);
    r->decode_ms = median(dec, epochs);
    r->augment_ms = median(aug, epochs);
    data_loader_free(l);
    free(items);
    return true;
}

static void print_header(void)
{
    printf("%-8s %8s %10s %11s %12s %14s\n", "threads", "img_s",
           "decode_ms", "augment_ms", "img_s/thread", "vs 30/thread");
}

static void print_row(const result *r)
{
    double per = r->img_s / r->threads;
    printf("%-8d %8.1f %10.2f %11.2f %12.1f %13.1fx\n", r->threads, r->img_s,
           r->decode_ms, r->augment_ms, per, per / TARGET_PER_THREAD);
}

// --- suite -------------------------------------------------------------------

/* Photo-like content: smooth colour fields plus grain, so files and decode
 * cost land near real Pets JPEGs (tens of KB at 500x375). */
static void photo(uint8_t *rgb, int w, int h, unsigned seed)
{
    unsigned s = seed * 2654435761u + 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < 3; k++) {
                s = s * 1103515245u + 12345u;
                int base = (int)(128 + 90 * ((x * (k + 1) + y * (3 - k) +
                                              (int)seed * 17) % 97 - 48) / 48);
                int v = base + (int)((s >> 16) % 41) - 20;
                rgb[((size_t)y * w + x) * 3 + k] =
                    (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
}

static bool write_images(const char *dir, int count)
{
    static const int sizes[][2] = {{500, 375}, {375, 500}, {500, 333},
                                   {400, 300}, {500, 400}, {334, 500},
                                   {600, 450}, {500, 356}};
    static const char *const cls[] = {"Bengal", "beagle", "pug", "Persian"};
    mkdir("build", 0755);
    mkdir("build/bench", 0755);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "loader: cannot create %s: %s\n", dir, strerror(errno));
        return false;
    }
    tjhandle tj = tjInitCompress();
    uint8_t *rgb = malloc(600 * 500 * 3);
    bool ok = tj && rgb;
    for (int i = 0; ok && i < count; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s_%d.jpg", dir, cls[i % 4], i);
        struct stat st;
        if (stat(path, &st) == 0)
            continue;
        int w = sizes[i % 8][0], h = sizes[i % 8][1];
        photo(rgb, w, h, (unsigned)i);
        unsigned char *jpg = NULL;
        unsigned long size = 0;
        ok = tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &jpg, &size, TJSAMP_420,
                         85, 0) == 0;
        FILE *f = ok ? fopen(path, "wb") : NULL;
        ok = f && fwrite(jpg, 1, size, f) == size;
        if (f)
            fclose(f);
        tjFree(jpg);
    }
    if (!ok)
        fprintf(stderr, "loader: writing test JPEGs into %s failed\n", dir);
    free(rgb);
    if (tj)
        tjDestroy(tj);
    return ok;
}

static int suite(const char *json)
{
    const char *dir = "build/bench/loader-images";
    const int size = 224, bs = 16, epochs = 3;
    if (!write_images(dir, 100))
        return 1;
    harness_dataset ds;
    harness_dataset_opts o = {.dir = dir, .valid_pct = 0.2, .split_seed = 2,
                              .size = size};
    if (harness_dataset_open(&o, &ds) != HARNESS_DATA_OK)
        return 1;
    result r[2];
    print_header();
    for (int t = 0; t < 2; t++) {
        if (!run(&ds, size, bs, t + 1, epochs, &r[t]))
            return 1;
        print_row(&r[t]);
    }
    FILE *f = fopen(json, "w");
    if (!f) {
        fprintf(stderr, "loader: cannot write %s: %s\n", json, strerror(errno));
        return 1;
    }
    fprintf(f, "{\"bench\": \"loader\", \"size\": %d, \"bs\": %d, \"images\": "
            "%zu, \"target_img_s_per_thread\": %.1f, \"rows\": [", size, bs,
            r[0].images, TARGET_PER_THREAD);
    for (int t = 0; t < 2; t++)
        fprintf(f, "%s\n  {\"threads\": %d, \"img_s\": %.2f, \"decode_ms\": "
                "%.3f, \"augment_ms\": %.3f}", t ? "," : "", r[t].threads,
                r[t].img_s, r[t].decode_ms, r[t].augment_ms);
    fprintf(f, "\n]}\n");
    fclose(f);
    harness_dataset_free(&ds);
    return 0;
}

int main(int argc, char **argv)
{
    if (!harness_isa_init(NULL))
        return 2;
    const char *images = NULL, *json = NULL, *pattern = NULL;
    int size = 224, threads = 1, bs = 16, epochs = 2;
    bool full = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--full-decode")) {
            full = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "loader: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--images")) images = v;
        else if (!strcmp(a, "--suite")) json = v;
        else if (!strcmp(a, "--pattern")) pattern = v;
        else if (!strcmp(a, "--size")) size = atoi(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--bs")) bs = atoi(v);
        else if (!strcmp(a, "--epochs")) epochs = atoi(v);
        else {
            fprintf(stderr, "loader: unknown option %s\n", a);
            return 2;
        }
    }
    if (json)
        return suite(json);
    if (!images || size < 2 || threads < 1 || bs < 1 || epochs < 1) {
        fprintf(stderr, "usage: loader --images DIR [--size 224] [--threads T]"
                " [--bs 16] [--epochs 2] [--full-decode] [--pattern P]\n"
                "       loader --suite FILE.json\n");
        return 2;
    }
    harness_dataset ds;
    harness_dataset_opts o = {.dir = images, .pattern = pattern,
                              .valid_pct = 0.2, .split_seed = 2, .size = size,
                              .full_decode = full};
    if (harness_dataset_open(&o, &ds) != HARNESS_DATA_OK)
        return 1;
    result r;
    if (!run(&ds, size, bs, threads, epochs, &r))
        return 1;
    printf("img_s=%.1f decode_ms=%.2f augment_ms=%.2f threads=%d size=%d "
           "images=%zu%s\n", r.img_s, r.decode_ms, r.augment_ms, threads, size,
           r.images, full ? " full-decode" : "");
    harness_dataset_free(&ds);
    return 0;
}
