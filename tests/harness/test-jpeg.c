/*
 * tests/harness/test-jpeg.c: TurboJPEG decode against djpeg (libjpeg-turbo-
 * progs) on JPEGs written here with tjCompress2: full size bit-exact (both
 * use the accurate integer DCT and fancy upsampling), DCT-scaled bit-exact
 * with `djpeg -scale N/8`; every kind of bad file gives its reason.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/jpeg.h"
#include "tests/support/jpeg-write.h"

static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/resin-jpeg-XXXXXX");
    cr_assert(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Runs djpeg on path (with -scale if num/den != 1) and reads the PNM into
 * (h, w, 3) RGB, replicating PGM grey. */
static uint8_t *djpeg(const char *path, int num, int den, int *w, int *h)
{
    char out[128], cmd[384];
    snprintf(out, sizeof out, "%s/djpeg.pnm", dir);
    snprintf(cmd, sizeof cmd, "djpeg -pnm %s%d/%d -outfile %s %s",
             num != den ? "-scale " : "# ", num, den, out, path);
    if (num == den)
        snprintf(cmd, sizeof cmd, "djpeg -pnm -outfile %s %s", out, path);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    FILE *f = fopen(out, "rb");
    cr_assert(f);
    char magic[3] = {0};
    int maxv;
    cr_assert_eq(fscanf(f, "%2s %d %d %d", magic, w, h, &maxv), 4);
    fgetc(f);
    int ch = strcmp(magic, "P6") == 0 ? 3 : 1;
    cr_assert(ch == 3 || strcmp(magic, "P5") == 0, "magic %s", magic);
    size_t n = (size_t)*w * *h;
    uint8_t *raw = malloc(n * ch), *rgb = malloc(n * 3);
    cr_assert_eq(fread(raw, 1, n * ch, f), n * ch);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++)
            rgb[i * 3 + k] = raw[i * ch + (ch == 3 ? k : 0)];
    free(raw);
    return rgb;
}

static void check_vs_djpeg(int w, int h, int samp, int num, int den)
{
    char path[128];
    snprintf(path, sizeof path, "%s/t.jpg", dir);
    cr_assert(tj_test_make(path, w, h, samp, w + h));
    size_t size;
    uint8_t *buf = tu_read_file(path, &size);
    int dw, dh, gw, gh;
    uint8_t *want = djpeg(path, num, den, &dw, &dh);
    size_t cap = (size_t)w * h * 3;
    uint8_t *got = malloc(cap);
    memset(got, 0xA5, cap);
    char why[HARNESS_JPEG_WHY];
    void *tj = tjInitDecompress();
    cr_assert_eq(harness_jpeg_decode_mem(tj, buf, size, num, den, got, cap,
                                         &gw, &gh, why), HARNESS_JPEG_OK,
                 "%s", why);
    cr_assert(gw == dw && gh == dh, "%dx%d samp %d %d/%d: got %dx%d, djpeg "
              "%dx%d", w, h, samp, num, den, gw, gh, dw, dh);
    for (size_t i = 0; i < (size_t)gw * gh * 3; i++)
        cr_assert_eq(got[i], want[i], "%dx%d samp %d scale %d/%d: byte %zu "
                     "(pixel %zu ch %zu) got %d djpeg %d", w, h, samp, num,
                     den, i, i / 3, i % 3, got[i], want[i]);
    tjDestroy(tj);
    free(buf), free(want), free(got);
}

Test(jpeg, full_decode_matches_djpeg, .init = make_dir, .fini = remove_dir)
{
    const int samps[] = {TJSAMP_420, TJSAMP_444, TJSAMP_422, TJSAMP_GRAY};
    for (int i = 0; i < 4; i++) {
        check_vs_djpeg(61, 47, samps[i], 1, 1);
        check_vs_djpeg(32, 32, samps[i], 1, 1);
    }
}

Test(jpeg, scaled_decode_matches_djpeg_scale, .init = make_dir,
     .fini = remove_dir)
{
    const int nums[] = {7, 5, 4, 3, 1};
    for (int i = 0; i < 5; i++) {
        check_vs_djpeg(125, 94, TJSAMP_420, nums[i], 8);
        check_vs_djpeg(94, 125, TJSAMP_GRAY, nums[i], 8);
    }
}

Test(jpeg, pick_scale)
{
    int num, den;
    harness_jpeg_pick_scale(500, 375, 224, &num, &den);
    cr_assert(num == 1 && den == 1, "500x375 -> %d/%d", num, den);
    harness_jpeg_pick_scale(1000, 750, 224, &num, &den);
    cr_assert(num == 1 && den == 2, "1000x750 -> %d/%d", num, den);
    harness_jpeg_pick_scale(750, 1000, 224, &num, &den);
    cr_assert(num == 1 && den == 2, "750x1000 -> %d/%d", num, den);
    harness_jpeg_pick_scale(1000, 896, 224, &num, &den);
    cr_assert(num == 1 && den == 4, "1000x896 -> %d/%d", num, den);
    harness_jpeg_pick_scale(200, 150, 224, &num, &den);
    cr_assert(num == 1 && den == 1);
    harness_jpeg_pick_scale(4000, 3000, 224, &num, &den);
    cr_assert(num == 1 && den == 8);
    harness_jpeg_pick_scale(500, 375, 0, &num, &den);
    cr_assert(num == 1 && den == 1);
    cr_assert_eq(harness_jpeg_scaled(375, 5, 8), 235);
}

// --- bad files ---------------------------------------------------------------

static void expect_probe(const char *name, const void *bytes, size_t n,
                         const char *reason)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (bytes)
        cr_assert_eq(tu_write_file(path, bytes, n), 0);
    harness_jpeg_info info;
    char why[HARNESS_JPEG_WHY] = "";
    harness_jpeg_status st = harness_jpeg_probe(NULL, path, 1000000, &info,
                                                why);
    cr_assert_eq(st, HARNESS_JPEG_BAD, "%s: probe accepted it", name);
    cr_assert(strstr(why, reason), "%s: reason '%s', want '%s'", name, why,
              reason);
}

/* A real JPEG with its SOF0 dimensions patched. */
static uint8_t *jpeg_with_size(int w, int h, size_t *n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/src.jpg", dir);
    cr_assert(tj_test_make(path, 16, 16, TJSAMP_444, 1));
    uint8_t *b = tu_read_file(path, n);
    for (size_t i = 2; i + 9 < *n; i++)
        if (b[i] == 0xFF && b[i + 1] == 0xC0) {
            b[i + 5] = (uint8_t)(h >> 8), b[i + 6] = (uint8_t)h;
            b[i + 7] = (uint8_t)(w >> 8), b[i + 8] = (uint8_t)w;
            return b;
        }
    cr_assert_fail("no SOF0 marker");
    return NULL;
}

Test(jpeg, bad_files_give_reasons, .init = make_dir, .fini = remove_dir)
{
    static const uint8_t gif[] = "GIF89a\x10\x00\x10\x00\x80\x00\x00";
    static const uint8_t png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    static const uint8_t soi[] = {0xFF, 0xD8, 0xFF};
    static const uint8_t mat[] = "MATLAB 5.0 MAT-file";
    expect_probe("Abyssinian_34.jpg", gif, sizeof gif - 1, "GIF image");
    expect_probe("Abyssinian_5.jpg", png, sizeof png - 1, "PNG image");
    expect_probe("empty_1.jpg", "", 0, "empty file");
    expect_probe("soi_1.jpg", soi, sizeof soi, "no image (0x0)");
    expect_probe("mat_1.jpg", mat, sizeof mat - 1, "MATLAB");
    size_t n = 0;
    uint8_t *big = jpeg_with_size(60000, 60000, &n);
    expect_probe("huge_1.jpg", big, n, "image too large: 60000x60000");
    /* cut inside the header tables: libjpeg sees an early end, no frame */
    expect_probe("cut_1.jpg", big, 40, "no image (0x0)");
    /* a Huffman table whose code counts are impossible */
    big = jpeg_with_size(16, 16, &n);
    for (size_t i = 2; i + 21 < n; i++)
        if (big[i] == 0xFF && big[i + 1] == 0xC4) {
            memset(big + i + 5, 0xFF, 16);
            break;
        }
    expect_probe("dht_1.jpg", big, n, "bad JPEG header: Bogus Huffman");
    free(big);
    char target[160], link[160];
    snprintf(target, sizeof target, "%s/nowhere.jpg", dir);
    snprintf(link, sizeof link, "%s/dangling_1.jpg", dir);
    cr_assert_eq(symlink(target, link), 0);
    expect_probe("dangling_1.jpg", NULL, 0, "cannot open: No such file");
    snprintf(link, sizeof link, "%s/folder_1.jpg", dir);
    cr_assert_eq(mkdir(link, 0755), 0);
    expect_probe("folder_1.jpg", NULL, 0, "cannot read: Is a directory");
}

Test(jpeg, truncated_jpeg_decodes_with_warning, .init = make_dir,
     .fini = remove_dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/full_1.jpg", dir);
    size_t n = tj_test_make(path, 120, 90, TJSAMP_420, 3);
    cr_assert(n > 0);
    size_t size;
    uint8_t *b = tu_read_file(path, &size);
    snprintf(path, sizeof path, "%s/half_1.jpg", dir);
    cr_assert_eq(tu_write_file(path, b, size / 2), 0);
    harness_jpeg_info info;
    char why[HARNESS_JPEG_WHY];
    cr_assert_eq(harness_jpeg_probe(NULL, path, 1000000, &info, why),
                 HARNESS_JPEG_OK, "%s", why);
    cr_assert(info.width == 120 && info.height == 90);
    harness_jpeg_decoder d;
    cr_assert(harness_jpeg_decoder_init(&d, info.file_bytes));
    uint8_t rgb[120 * 90 * 3];
    int w, h, ow, oh;
    harness_jpeg_status st = harness_jpeg_decode_file(
        &d, path, 0, 1000000, rgb, sizeof rgb, &w, &h, &ow, &oh, why);
    cr_assert_eq(st, HARNESS_JPEG_WARNING, "status %d: %s", st, why);
    cr_assert(strstr(why, "Premature end"), "%s", why);
    cr_assert(w == 120 && h == 90 && ow == 120 && oh == 90);
    /* a buffer too small is refused, not overrun */
    st = harness_jpeg_decode_file(&d, path, 0, 1000000, rgb, 100, &w, &h, &ow,
                                  &oh, why);
    cr_assert_eq(st, HARNESS_JPEG_BAD);
    harness_jpeg_decoder_free(&d);
    free(b);
}

Test(jpeg, probe_reads_header_past_the_prefix, .init = make_dir,
     .fini = remove_dir)
{
    /* a 40 KiB APP1 block pushes the frame header past the 32 KiB prefix */
    char path[128];
    snprintf(path, sizeof path, "%s/exif_1.jpg", dir);
    size_t n = tj_test_make(path, 40, 30, TJSAMP_420, 2);
    size_t size;
    uint8_t *b = tu_read_file(path, &size);
    cr_assert_eq(size, n);
    size_t total = size + 2 * (2 + 40002);
    uint8_t *c = calloc(total, 1), *p = c;
    memcpy(p, b, 2), p += 2;
    for (int k = 0; k < 2; k++) { /* two APP1 segments of 40000 bytes */
        p[0] = 0xFF, p[1] = 0xE1;
        p[2] = (40002 >> 8) & 0xFF, p[3] = 40002 & 0xFF;
        p += 2 + 40002;
    }
    memcpy(p, b + 2, size - 2), p += size - 2;
    cr_assert_eq(tu_write_file(path, c, (size_t)(p - c)), 0);
    harness_jpeg_info info;
    char why[HARNESS_JPEG_WHY];
    cr_assert_eq(harness_jpeg_probe(NULL, path, 1000000, &info, why),
                 HARNESS_JPEG_OK, "%s", why);
    cr_assert(info.width == 40 && info.height == 30);
    free(b), free(c);
}
