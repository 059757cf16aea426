/*
 * tests/harness/test-dataset-loader.c: the data set over real JPEG files
 * feeding the loader: a truncated-but-decodable JPEG is used with one
 * warning, a file that turns bad after the header scan is replaced by zeros
 * and reported once however often it is loaded, and batches carry the
 * dataset's labels.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/loader.h"
#include "harness/dataset.h"
#include "tests/support/jpeg-write.h"

static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/resin-dsl-XXXXXX");
    cr_assert(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

Test(dataset_loader, bad_at_load_time_reported_once, .init = make_dir,
     .fini = remove_dir)
{
    const char *cls[3] = {"Birman", "boxer", "pug"};
    char path[256];
    for (int i = 0; i < 15; i++) {
        snprintf(path, sizeof path, "%s/%s_%d.jpg", dir, cls[i % 3], i);
        cr_assert(tj_test_make(path, 60 + i, 45 + 2 * i, TJSAMP_420, i));
    }
    /* cut in the scan data: the header is fine, decoding warns */
    snprintf(path, sizeof path, "%s/boxer_4.jpg", dir);
    size_t size;
    uint8_t *b = tu_read_file(path, &size);
    cr_assert_eq(tu_write_file(path, b, size * 2 / 3), 0);
    free(b);

    FILE *log = tmpfile();
    harness_dataset ds;
    harness_dataset_opts o = {.dir = dir, .valid_pct = 0.2, .split_seed = 2,
                              .size = 32, .log = log};
    cr_assert_eq(harness_dataset_open(&o, &ds), HARNESS_DATA_OK);
    cr_assert_eq(ds.n, 15);
    /* turns bad after the scan: GIF bytes where a JPEG was */
    snprintf(path, sizeof path, "%s/pug_8.jpg", dir);
    cr_assert_eq(tu_write_file(path, "GIF89a....", 10), 0);

    size_t all[15];
    for (size_t i = 0; i < 15; i++)
        all[i] = i;
    data_loader_opts lo = {.src = &ds.source, .items = all, .n = 15, .bs = 4,
                           .size = 32, .threads = 2, .train = false};
    data_loader *l = data_loader_create(&lo);
    cr_assert(l);
    for (int e = 0; e < 2; e++) {
        data_loader_start_epoch(l, (uint64_t)e);
        const float *x;
        const int32_t *y;
        int n, seen = 0;
        while (data_loader_next(l, &x, &y, &n)) {
            for (int i = 0; i < n; i++) {
                size_t item = all[seen + i];
                cr_assert_eq(y[i], ds.labels[item]);
                const char *base = strrchr(ds.paths[item], '/') + 1;
                float s = 0;
                for (int k = 0; k < 3 * 32 * 32; k++)
                    s += x[(size_t)i * 3 * 32 * 32 + k] *
                         x[(size_t)i * 3 * 32 * 32 + k];
                if (strcmp(base, "pug_8.jpg") == 0)
                    cr_assert_eq(s, 0.0f, "a bad image should be zeros");
                else
                    cr_assert_gt(s, 0.0f, "%s is all zeros", base);
            }
            seen += n;
            data_loader_release(l);
        }
        cr_assert_eq(seen, 15);
    }
    data_loader_stats st;
    data_loader_get_stats(l, &st);
    cr_assert_eq(st.failed, 2);
    data_loader_free(l);

    fflush(log);
    long len = ftell(log);
    char *text = calloc((size_t)len + 1, 1);
    rewind(log);
    cr_assert_eq(fread(text, 1, (size_t)len, log), (size_t)len);
    cr_assert_eq(count(text, "warning: "), 1, "%s", text);
    cr_assert_eq(count(text, "boxer_4.jpg: corrupt JPEG data: Premature end"),
                 1, "%s", text);
    cr_assert_eq(count(text, "pug_8.jpg: GIF image, not JPEG (zeros used"), 1,
                 "%s", text);
    free(text);
    fclose(log);
    harness_dataset_free(&ds);
}

/* Smooth content, so a DCT-scaled decode and a full decode + box filter
 * (two different low-pass resizes) must agree closely. */
static void smooth_jpeg(const char *path, int w, int h, int seed)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < 3; k++)
                rgb[((size_t)y * w + x) * 3 + k] = (uint8_t)(127.5 + 100 *
                    sin(0.05 * (x + 2 * k + seed) + 0.04 * y * (k + 1)));
    cr_assert(tj_test_write(path, rgb, w, h, TJSAMP_444, 98));
    free(rgb);
}

static float *valid_batch(bool full, int *n)
{
    harness_dataset ds;
    harness_dataset_opts o = {.dir = dir, .valid_pct = 0.5, .split_seed = 2,
                              .size = 32, .full_decode = full,
                              .log = fopen("/dev/null", "w")};
    cr_assert_eq(harness_dataset_open(&o, &ds), HARNESS_DATA_OK);
    /* 96x72 needs 32: 1/2 keeps a 36-pixel short side */
    cr_assert_eq(ds.source.max_rgb_bytes, full ? 96 * 72 * 3 : 48 * 36 * 3);
    data_loader_opts lo = {.src = &ds.source, .items = ds.valid,
                           .n = ds.nvalid, .bs = 8, .size = 32, .threads = 1};
    data_loader *l = data_loader_create(&lo);
    cr_assert(l);
    data_loader_start_epoch(l, 0);
    const float *x;
    const int32_t *y;
    cr_assert(data_loader_next(l, &x, &y, n));
    float *copy = malloc((size_t)*n * 3 * 32 * 32 * sizeof(float));
    memcpy(copy, x, (size_t)*n * 3 * 32 * 32 * sizeof(float));
    data_loader_release(l);
    data_loader_free(l);
    fclose(ds.opts.log);
    harness_dataset_free(&ds);
    return copy;
}

Test(dataset_loader, scaled_decode_close_to_full_decode, .init = make_dir,
     .fini = remove_dir)
{
    char path[256];
    for (int i = 0; i < 8; i++) {
        snprintf(path, sizeof path, "%s/%s_%d.jpg", dir, i % 2 ? "a" : "b", i);
        smooth_jpeg(path, 96, 72, i * 5);
    }
    int na, nb;
    float *scaled = valid_batch(false, &na), *full = valid_batch(true, &nb);
    cr_assert_eq(na, 4);
    cr_assert_eq(nb, 4);
    double sum = 0, worst = 0;
    size_t n = (size_t)na * 3 * 32 * 32;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(scaled[i] - full[i]);
        sum += d;
        worst = d > worst ? d : worst;
    }
    /* normalised units (1 ~ 0.23 of [0, 1]): measured 0.03 mean, 0.2 max */
    cr_assert_lt(sum / n, 0.06, "mean |scaled - full| = %g", sum / n);
    cr_assert_lt(worst, 0.3, "max |scaled - full| = %g", worst);
    cr_assert_gt(sum, 0.0, "the scaled path was not taken");
    free(scaled), free(full);
}
