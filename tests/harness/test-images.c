/*
 * tests/harness/test-images.c: listing, regex labels on real Pets names,
 * and the data set build: split, sorted classes, and every kind of bad file
 * reported once while the run goes on.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/dataset.h"
#include "harness/images.h"
#include "harness/jpeg.h"
#include "tests/support/jpeg-write.h"

static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/resin-images-XXXXXX");
    cr_assert(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static void touch(const char *name, const void *bytes, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(tu_write_file(path, bytes, n), 0, "%s", path);
}

static void jpeg(const char *name, int w, int h)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert(tj_test_make(path, w, h, TJSAMP_420, (int)strlen(name)));
}

Test(images, image_extensions)
{
    cr_assert(harness_is_image_name("a_1.jpg"));
    cr_assert(harness_is_image_name("a_1.JPG"));
    cr_assert(harness_is_image_name("a_1.Jpeg"));
    cr_assert(harness_is_image_name("x.png"));
    cr_assert(harness_is_image_name("x.tiff"));
    cr_assert_not(harness_is_image_name("Abyssinian_100.mat"));
    cr_assert_not(harness_is_image_name(".hidden.jpg"));
    cr_assert_not(harness_is_image_name("README"));
    cr_assert_not(harness_is_image_name("x.jpg.txt"));
}

static void expect_label(harness_labeler *lb, const char *path,
                         const char *want)
{
    char buf[128];
    int n = harness_labeler_apply(lb, path, buf, sizeof buf);
    if (!want) {
        cr_assert_eq(n, -1, "%s: matched '%s'", path, n >= 0 ? buf : "");
        return;
    }
    cr_assert_geq(n, 0, "%s: no match", path);
    cr_assert_str_eq(buf, want, "%s", path);
}

Test(images, fastai_pattern_on_pets_names)
{
    harness_labeler *lb = harness_labeler_create(HARNESS_DEFAULT_PATTERN, NULL);
    cr_assert(lb);
    expect_label(lb, "data/pets/images/american_pit_bull_terrier_69.jpg",
                 "american_pit_bull_terrier");
    expect_label(lb, "/p/images/Abyssinian_100.jpg", "Abyssinian");
    expect_label(lb, "/p/images/British_Shorthair_2.jpg", "British_Shorthair");
    expect_label(lb, "/p/images/great_pyrenees_173.jpg", "great_pyrenees");
    expect_label(lb, "/p/images/Abyssinian_100.mat", NULL);
    /* fastai matches the full path: a bare name has no leading '/' */
    expect_label(lb, "Abyssinian_1.jpg", NULL);
    /* the unescaped '.' matches any character, as in Python */
    expect_label(lb, "images/x_12Xjpg", "x");
    expect_label(lb, "/p/images/notes.jpg", NULL);
    char small[4];
    cr_assert_eq(harness_labeler_apply(lb, "/p/boxer_1.jpg", small,
                                       sizeof small), -2);
    harness_labeler_free(lb);
}

Test(images, bad_patterns_are_reported)
{
    char *text = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&text, &len);
    cr_assert_null(harness_labeler_create("/([^/]+_\\d+.jpg$", log));
    cr_assert_null(harness_labeler_create("/[^/]+_\\d+.jpg$", log));
    fclose(log);
    cr_assert(strstr(text, "'/([^/]+_\\d+.jpg$': at offset"), "%s", text);
    cr_assert(strstr(text, "needs a capture group"), "%s", text);
    free(text);
}

Test(images, listing_filtered_and_sorted, .init = make_dir, .fini = remove_dir)
{
    const char *names[] = {"b_2.jpg", "a_10.JPG", ".a_1.jpg", "c_1.png",
                           "Abyssinian_100.mat", "A_3.jpeg", "notes.txt"};
    for (int i = 0; i < 7; i++)
        touch(names[i], "x", 1);
    harness_image_list l;
    cr_assert_eq(harness_list_images(dir, &l, NULL), HARNESS_DATA_OK);
    const char *want[] = {"A_3.jpeg", "a_10.JPG", "b_2.jpg", "c_1.png"};
    cr_assert_eq(l.n, 4);
    for (int i = 0; i < 4; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, want[i]);
        cr_assert_str_eq(l.paths[i], path);
    }
    harness_image_list_free(&l);
    FILE *null = fopen("/dev/null", "w");
    cr_assert_eq(harness_list_images("/nonexistent-resin", &l, null),
                 HARNESS_DATA_ERR_IO);
    fclose(null);
}

static harness_data_status open_ds(harness_dataset *ds, char **text)
{
    size_t len;
    FILE *log = open_memstream(text, &len);
    harness_dataset_opts o = {.dir = dir, .valid_pct = 0.2, .split_seed = 2,
                              .size = 32, .max_pixels = 1000000, .log = log};
    harness_data_status st = harness_dataset_open(&o, ds);
    fclose(log);
    if (st == HARNESS_DATA_OK)
        ds->opts.log = stderr; /* the memstream is closed */
    return st;
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

Test(images, dataset_classes_split_and_bad_files, .init = make_dir,
     .fini = remove_dir)
{
    const char *breeds[] = {"beagle", "Bengal", "american_bulldog",
                            "Abyssinian", "pug"};
    char name[128];
    for (int b = 0; b < 5; b++)
        for (int i = 1; i <= 8; i++) {
            snprintf(name, sizeof name, "%s_%d.jpg", breeds[b], i);
            jpeg(name, 40 + i, 36 + b);
        }
    static const uint8_t gif[] = "GIF89a\x10\x00\x10\x00\x80\x00\x00";
    static const uint8_t png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    static const uint8_t soi[] = {0xFF, 0xD8, 0xFF};
    touch("Abyssinian_34.jpg", gif, sizeof gif - 1);
    touch("Abyssinian_50.jpg", png, sizeof png - 1);
    touch("beagle_0.jpg", "", 0);
    touch("pug_0.jpg", soi, sizeof soi);
    touch("Abyssinian_100.mat", "MATLAB", 6);
    touch("notes.jpg", "x", 1);
    char link[256];
    snprintf(link, sizeof link, "%s/Bengal_0.jpg", dir);
    cr_assert_eq(symlink("/nonexistent-resin/x.jpg", link), 0);

    harness_dataset ds;
    char *text = NULL;
    cr_assert_eq(open_ds(&ds, &text), HARNESS_DATA_OK, "%s", text);
    /* 40 good + 6 bad + notes.jpg listed (the .mat is not an image name) */
    cr_assert_eq(ds.listed, 46, "%s", text);
    cr_assert_eq(ds.unlabelled, 1);
    cr_assert_eq(ds.bad, 5, "%s", text);
    cr_assert_eq(ds.n, 40);
    cr_assert_eq(count(text, "notes.jpg: name does not match"), 1, "%s", text);
    cr_assert_eq(count(text, "Abyssinian_34.jpg: GIF image, not JPEG"), 1);
    cr_assert_eq(count(text, "Abyssinian_50.jpg: PNG image, not JPEG"), 1);
    cr_assert_eq(count(text, "beagle_0.jpg: empty file"), 1);
    cr_assert_eq(count(text, "pug_0.jpg: JPEG header holds no image (0x0)"), 1);
    cr_assert_eq(count(text, "Bengal_0.jpg: cannot open: No such file"), 1);
    cr_assert_eq(count(text, "Abyssinian_100.mat"), 0);
    cr_assert_eq(count(text, "46 image files ->"), 1, "%s", text);

    /* split over the 46 listed files: cut = int(0.2 * 46) = 9, bad ones
     * then drop out of whichever side they fell on */
    cr_assert_eq(ds.ntrain + ds.nvalid, 40);
    cr_assert_leq(ds.nvalid, 9);
    for (size_t i = 1; i < ds.ntrain; i++)
        cr_assert_lt(ds.train[i - 1], ds.train[i]);
    /* classes: sorted by code point, capitalised cat breeds first */
    const char *want[] = {"Abyssinian", "Bengal", "american_bulldog", "beagle",
                          "pug"};
    cr_assert_eq(ds.nclasses, 5);
    for (int c = 0; c < 5; c++)
        cr_assert_str_eq(ds.classes[c], want[c]);
    for (size_t i = 0; i < ds.n; i++) {
        const char *base = strrchr(ds.paths[i], '/') + 1;
        const char *cls = ds.classes[ds.labels[i]];
        cr_assert(strncmp(base, cls, strlen(cls)) == 0 &&
                  base[strlen(cls)] == '_', "%s labelled %s", base, cls);
    }
    harness_dataset_free(&ds);
    free(text);
}

Test(images, dataset_split_matches_numpy_indices, .init = make_dir,
     .fini = remove_dir)
{
    /* 20 good files, all listed and labelled: valid = perm[0..3] */
    char name[64];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "cat_%02d.jpg", i);
        jpeg(name, 24, 24);
    }
    harness_dataset ds;
    char *text = NULL;
    cr_assert_eq(open_ds(&ds, &text), HARNESS_DATA_OK, "%s", text);
    cr_assert_eq(ds.nvalid, 4);
    /* numpy: np.random.seed(2); np.random.permutation(20)[:4] */
    const size_t want[4] = {12, 4, 18, 0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(ds.valid[i], want[i], "valid[%d] = %zu", i, ds.valid[i]);
    harness_dataset_free(&ds);
    free(text);
}

Test(images, zero_matches_is_an_error, .init = make_dir, .fini = remove_dir)
{
    jpeg("IMG0001.jpg", 20, 20);
    jpeg("IMG0002.jpg", 20, 20);
    harness_dataset ds;
    char *text = NULL;
    cr_assert_eq(open_ds(&ds, &text), HARNESS_DATA_ERR_NO_MATCH);
    cr_assert(strstr(text, "label pattern '/([^/]+)_\\d+.jpg$' matches none of"
                           " the 2 image files"), "%s", text);
    cr_assert(strstr(text, "example name: "), "%s", text);
    cr_assert(strstr(text, "IMG0001.jpg"), "%s", text);
    free(text);
}

Test(images, predict_input_is_the_valid_transform, .init = make_dir,
     .fini = remove_dir)
{
    jpeg("dog_1.jpg", 50, 40);
    char path[256];
    snprintf(path, sizeof path, "%s/dog_1.jpg", dir);
    float *out = malloc(3 * 32 * 32 * sizeof(float));
    cr_assert(harness_image_to_input(path, 32, true, out, NULL));
    /* the same by hand: full decode, valid geometry, render */
    size_t size;
    uint8_t *buf = tu_read_file(path, &size);
    uint8_t rgb[50 * 40 * 3];
    int w, h;
    char why[HARNESS_JPEG_WHY];
    void *tj = tjInitDecompress();
    cr_assert_eq(harness_jpeg_decode_mem(tj, buf, size, 1, 1, rgb, sizeof rgb,
                                         &w, &h, why), HARNESS_JPEG_OK);
    float scratch[2 * 50 * 40 * 3], want[3 * 32 * 32];
    cr_assert(data_render_valid(rgb, h, w, h, w, 32, scratch, want));
    cr_assert(memcmp(out, want, sizeof want) == 0);
    snprintf(path, sizeof path, "%s/missing_1.jpg", dir);
    FILE *null = fopen("/dev/null", "w");
    cr_assert_not(harness_image_to_input(path, 32, true, out, null));
    fclose(null);
    tjDestroy(tj);
    free(buf), free(out);
}
