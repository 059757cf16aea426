/*
 * tests/harness/test-plot.c: every figure is a valid PNG (signature, cairo
 * reads it back at the expected size) and shows what it must: the red
 * suggestion dot only when asked, dark cells for large counts.
 */
#include <criterion/criterion.h>
#include <cairo/cairo.h> /* no pkg-config --cflags in the build */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/plot.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/resin-plot-XXXXXX");
    cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

static const char *file(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void expect_png(const char *path, int w, int h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a,
                                         0x1a, 0x0a};
    unsigned char got[8] = {0};
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s missing", path);
    cr_expect_eq(fread(got, 1, 8, f), 8);
    fclose(f);
    cr_expect_eq(memcmp(got, sig, 8), 0, "%s: not a PNG signature", path);
    int gw = 0, gh = 0;
    cr_assert_eq(harness_plot_read_png_size(path, &gw, &gh), PLOT_OK);
    if (w > 0)
        cr_expect(gw == w && gh == h, "%s: %dx%d, want %dx%d", path, gw, gh,
                  w, h);
}

/* Pixels that are clearly red (the suggestion dot is #d62728). */
static size_t red_pixels(const char *path)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    int w = cairo_image_surface_get_width(s);
    int h = cairo_image_surface_get_height(s);
    int st = cairo_image_surface_get_stride(s);
    const unsigned char *d = cairo_image_surface_get_data(s);
    size_t n = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t p = *(const uint32_t *)(d + (size_t)y * st + 4 * x);
            int r = p >> 16 & 255, g = p >> 8 & 255, b = p & 255;
            n += r > 180 && g < 80 && b < 80;
        }
    cairo_surface_destroy(s);
    return n;
}

static uint32_t pixel(const char *path, int x, int y)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    int st = cairo_image_surface_get_stride(s);
    const unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t p = *(const uint32_t *)(d + (size_t)y * st + 4 * x) & 0xffffff;
    cairo_surface_destroy(s);
    return p;
}

TestSuite(plot, .init = setup, .fini = teardown);

Test(plot, lr_find_png_and_suggestion_dot)
{
    float lr[100], loss[100];
    for (int i = 0; i < 100; i++) {
        lr[i] = 1e-7f * powf(10, 8 * i / 100.f);
        loss[i] = 2.5f - expf(-powf((i - 70) / 15.f, 2));
    }
    cr_assert_eq(harness_plot_lr_find(file("a.png"), lr, loss, 100, 10, 5,
                                      60), PLOT_OK);
    cr_assert_eq(harness_plot_lr_find(file("b.png"), lr, loss, 100, 10, 5,
                                      SIZE_MAX), PLOT_OK);
    expect_png(file("a.png"), 640, 480);
    expect_png(file("b.png"), 640, 480);
    cr_expect_gt(red_pixels(file("a.png")), 50);
    cr_expect_eq(red_pixels(file("b.png")), 0);
    /* too few points after skipping: all are drawn instead */
    cr_expect_eq(harness_plot_lr_find(file("c.png"), lr, loss, 3, 10, 5,
                                      SIZE_MAX), PLOT_OK);
    expect_png(file("c.png"), 640, 480);
    cr_expect_eq(harness_plot_lr_find(file("d.png"), lr, loss, 0, 10, 5,
                                      SIZE_MAX), PLOT_ERR_ARG);
}

Test(plot, lr_mom_png)
{
    float lr[50], mom[50];
    for (int i = 0; i < 50; i++) {
        lr[i] = 1e-3f * sinf(i * 0.06f);
        mom[i] = 0.95f - 0.1f * sinf(i * 0.06f);
    }
    cr_assert_eq(harness_plot_lr_mom(file("m.png"), lr, mom, 50), PLOT_OK);
    expect_png(file("m.png"), 1200, 400);
}

Test(plot, confusion_png_dark_where_counts_are_high)
{
    const char *names[3] = {"cat", "dog", "Abyssinian"};
    const int64_t cm[9] = {50, 1, 0, 2, 40, 3, 0, 0, 45};
    cr_assert_eq(harness_plot_confusion(file("c.png"), cm, 3, names), PLOT_OK);
    expect_png(file("c.png"), 0, 0);
    int w, h;
    harness_plot_read_png_size(file("c.png"), &w, &h);
    cr_expect(w > 200 && h > 200);
    /* cell (0,0) holds the maximum: its corner is the darkest Blue
     * (8,48,107); cell (0,2) is 0: near white. The grid starts at
     * x0 = name width + 50, y0 = 50, cell 60 px for 3 classes. */
    int x0 = w - 30 - 3 * 60, y0 = 50;
    cr_expect_eq(pixel(file("c.png"), x0 + 3, y0 + 3), 0x08306b,
                 "got %06x", pixel(file("c.png"), x0 + 3, y0 + 3));
    cr_expect_eq(pixel(file("c.png"), x0 + 123, y0 + 3), 0xf7fbff,
                 "got %06x", pixel(file("c.png"), x0 + 123, y0 + 3));
}

Test(plot, image_grid_png)
{
    static uint8_t px[5][12 * 20 * 3];
    plot_image im[5];
    for (int k = 0; k < 5; k++) {
        memset(px[k], 40 * k, sizeof px[k]);
        im[k] = (plot_image){px[k], 12, 20, "Trouser/Bag\n2.31 / 0.08"};
    }
    cr_assert_eq(harness_plot_image_grid(file("g.png"), im, 5,
                 "prediction/actual/loss/probability"), PLOT_OK);
    /* 3 columns x 2 rows of 200 px cells with 16 px gaps */
    expect_png(file("g.png"), 0, 0);
    int w, h;
    harness_plot_read_png_size(file("g.png"), &w, &h);
    cr_expect_eq(w, 3 * 216 + 16);
    cr_expect(h > 2 * 200 && h < 2 * 300, "height %d", h);
    im[1].rgb = NULL;
    cr_expect_eq(harness_plot_image_grid(file("h.png"), im, 5, NULL),
                 PLOT_ERR_ARG);
    cr_expect_eq(access(file("h.png"), F_OK), -1, "failed grid left a file");
}
