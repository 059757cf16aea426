/*
 * tests/support/jpeg-write.h: test images written with tjCompress2, and the
 * small file helpers the harness and data tests share. Header-only (static)
 * so the AArch64 test build, which has no TurboJPEG, never links it.
 */
#ifndef RESIN_TESTS_JPEG_WRITE_H
#define RESIN_TESTS_JPEG_WRITE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

/* A smooth colour pattern with some texture, varied by seed. */
static inline void tj_test_pattern(uint8_t *rgb, int w, int h, int seed)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(x * 255 / (w > 1 ? w - 1 : 1));
            p[1] = (uint8_t)(y * 255 / (h > 1 ? h - 1 : 1));
            p[2] = (uint8_t)((x * 7 + y * 13 + seed * 31 + (x ^ y) * 3) & 255);
        }
}

/* Compresses rgb (h, w, 3) with subsampling samp (TJSAMP_*; TJSAMP_GRAY
 * keeps luma only) and writes it to path. Returns the byte count, 0 on
 * failure. */
static inline size_t tj_test_write(const char *path, const uint8_t *rgb, int w,
                                   int h, int samp, int quality)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long size = 0;
    size_t ret = 0;
    if (tj && tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &jpg, &size, samp,
                          quality, 0) == 0) {
        FILE *f = fopen(path, "wb");
        if (f && fwrite(jpg, 1, size, f) == size)
            ret = size;
        if (f)
            fclose(f);
    }
    tjFree(jpg);
    if (tj)
        tjDestroy(tj);
    return ret;
}

/* Writes a pattern JPEG of w x h to path; returns its size (0 on failure). */
static inline size_t tj_test_make(const char *path, int w, int h, int samp,
                                  int seed)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    tj_test_pattern(rgb, w, h, seed);
    size_t n = tj_test_write(path, rgb, w, h, samp, 90);
    free(rgb);
    return n;
}

static inline uint8_t *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    *size = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    *size = fread(buf, 1, (size_t)(n > 0 ? n : 0), f);
    fclose(f);
    return buf;
}

static inline int tu_write_file(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(buf, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

#endif /* RESIN_TESTS_JPEG_WRITE_H */
