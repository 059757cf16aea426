/*
 * tests/harness/test-dataset-loader.c: the data set over real JPEG files
 * feeding the loader: a truncated-but-decodable JPEG is used with one
 * warning, a file that turns bad after the header scan is replaced by zeros
 * and reported once however often it is loaded, and batches carry the
 * dataset's labels.
 */
#include <criterion/criterion.h>
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
