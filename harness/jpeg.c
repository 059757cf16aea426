/*
 * harness/jpeg.c: see jpeg.h. Error behaviour of TurboJPEG 2.1.5 as seen on
 * this platform (reference platform.md section 3): an empty buffer fails in
 * tjDecompressHeader3; "FF D8 FF" passes it with 0x0; truncated data decodes
 * with TJERR_WARNING.
 */
#include "harness/jpeg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

/* Enough for the headers of nearly every camera JPEG (EXIF <= 64 KiB is
 * rare at pet sizes); the whole file is read when the header lies beyond. */
#define PROBE_PREFIX ((size_t)32 << 10)

static void set_why(char why[HARNESS_JPEG_WHY], const char *fmt, const char *s)
{
    snprintf(why, HARNESS_JPEG_WHY, fmt, s);
}

bool harness_jpeg_decoder_init(harness_jpeg_decoder *d, size_t file_cap)
{
    *d = (harness_jpeg_decoder){0};
    d->tj = tjInitDecompress();
    d->file = malloc(file_cap ? file_cap : 1);
    d->file_cap = file_cap;
    if (!d->tj || !d->file) {
        harness_jpeg_decoder_free(d);
        return false;
    }
    return true;
}

void harness_jpeg_decoder_free(harness_jpeg_decoder *d)
{
    if (d->tj)
        tjDestroy(d->tj);
    free(d->file);
    *d = (harness_jpeg_decoder){0};
}

/* Reads up to cap bytes of an open file; false with errno on failure. */
static bool read_all(int fd, uint8_t *buf, size_t cap, size_t *got)
{
    *got = 0;
    while (*got < cap) {
        ssize_t r = read(fd, buf + *got, cap - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return false;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return true;
}

/* Names what the first bytes are when they are not a JPEG. */
static bool sniff_jpeg(const uint8_t *b, size_t n, char why[HARNESS_JPEG_WHY])
{
    if (n == 0) {
        set_why(why, "%sempty file", "");
        return false;
    }
    if (n >= 2 && b[0] == 0xFF && b[1] == 0xD8)
        return true;
    if (n >= 4 && memcmp(b, "GIF8", 4) == 0)
        set_why(why, "%sGIF image, not JPEG", "");
    else if (n >= 4 && memcmp(b, "\x89PNG", 4) == 0)
        set_why(why, "%sPNG image, not JPEG", "");
    else if (n >= 2 && b[0] == 'B' && b[1] == 'M')
        set_why(why, "%sBMP image, not JPEG", "");
    else if (n >= 5 && memcmp(b, "MATLA", 5) == 0)
        set_why(why, "%sMATLAB file, not JPEG", "");
    else
        snprintf(why, HARNESS_JPEG_WHY, "not a JPEG (starts with %02x %02x)",
                 b[0], n > 1 ? b[1] : 0);
    return false;
}

static harness_jpeg_status header(void *tj, const uint8_t *buf, size_t n,
                                  size_t max_pixels, int *w, int *h,
                                  char why[HARNESS_JPEG_WHY])
{
    int sub, cs;
    *w = *h = 0;
    if (!sniff_jpeg(buf, n, why))
        return HARNESS_JPEG_BAD;
    if (tjDecompressHeader3(tj, buf, (unsigned long)n, w, h, &sub, &cs) != 0) {
        set_why(why, "bad JPEG header: %s", tjGetErrorStr2(tj));
        return HARNESS_JPEG_BAD;
    }
    if (*w <= 0 || *h <= 0) {
        snprintf(why, HARNESS_JPEG_WHY, "JPEG header holds no image (%dx%d)",
                 *w, *h);
        return HARNESS_JPEG_BAD;
    }
    if ((size_t)*w * (size_t)*h > max_pixels) {
        snprintf(why, HARNESS_JPEG_WHY, "image too large: %dx%d pixels (cap "
                 "%zu)", *w, *h, max_pixels);
        return HARNESS_JPEG_BAD;
    }
    return HARNESS_JPEG_OK;
}

/* Opens path, checks it is a non-empty regular-size file. */
static int open_file(const char *path, size_t *size, char why[HARNESS_JPEG_WHY])
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        set_why(why, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    int err = fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (err) {
        set_why(why, "cannot read: %s", strerror(err));
        close(fd);
        return -1;
    }
    if ((size_t)st.st_size > HARNESS_JPEG_MAX_FILE_BYTES) {
        snprintf(why, HARNESS_JPEG_WHY, "file too large (%lld bytes)",
                 (long long)st.st_size);
        close(fd);
        return -1;
    }
    *size = (size_t)st.st_size;
    return fd;
}

harness_jpeg_status harness_jpeg_probe(void *tj, const char *path,
                                       size_t max_pixels,
                                       harness_jpeg_info *info,
                                       char why[HARNESS_JPEG_WHY])
{
    *info = (harness_jpeg_info){0};
    void *own = tj ? NULL : tjInitDecompress();
    tj = tj ? tj : own;
    uint8_t *buf = NULL;
    harness_jpeg_status st = HARNESS_JPEG_BAD;
    size_t size, got;
    int fd = open_file(path, &size, why);
    if (fd < 0 || !tj)
        goto done;
    size_t want = size < PROBE_PREFIX ? size : PROBE_PREFIX;
    buf = malloc(size ? size : 1);
    if (!buf || !read_all(fd, buf, want, &got)) {
        set_why(why, "cannot read: %s", buf ? strerror(errno) : "no memory");
        goto done;
    }
    st = header(tj, buf, got, max_pixels, &info->width, &info->height, why);
    if (st != HARNESS_JPEG_OK && got == want && want < size &&
        sniff_jpeg(buf, got, why)) {
        /* the header may lie beyond the prefix: read the rest and retry */
        size_t more;
        if (!read_all(fd, buf + got, size - got, &more)) {
            set_why(why, "cannot read: %s", strerror(errno));
            goto done;
        }
        st = header(tj, buf, got + more, max_pixels, &info->width,
                    &info->height, why);
    }
    info->file_bytes = size;
done:
    if (fd >= 0)
        close(fd);
    free(buf);
    if (own)
        tjDestroy(own);
    return st;
}

int harness_jpeg_scaled(int dim, int num, int den)
{
    return (int)(((long)dim * num + den - 1) / den);
}

void harness_jpeg_pick_scale(int w, int h, int need, int *num, int *den)
{
    /* Only 1/2, 1/4, 1/8: libjpeg-turbo 2.1.5's 7/8..5/8 and 3/8 IDCTs are
     * plain C and, measured on a 500x375 JPEG here, decode slower (2.1-2.7
     * ms) than the SIMD full-size path (1.65 ms); 1/2 and 1/4 are faster. */
    *num = 1, *den = 1;
    if (need <= 0)
        return;
    int short_side = w < h ? w : h;
    for (int d = 2; d <= 8; d *= 2)
        if (harness_jpeg_scaled(short_side, 1, d) >= need)
            *den = d;
}

harness_jpeg_status harness_jpeg_decode_mem(void *tj, const uint8_t *buf,
                                            size_t size, int num, int den,
                                            uint8_t *rgb, size_t cap, int *w,
                                            int *h, char why[HARNESS_JPEG_WHY])
{
    int fw, fh;
    harness_jpeg_status st = header(tj, buf, size, (size_t)-1, &fw, &fh, why);
    if (st != HARNESS_JPEG_OK)
        return st;
    *w = harness_jpeg_scaled(fw, num, den);
    *h = harness_jpeg_scaled(fh, num, den);
    if ((size_t)*w * *h * 3 > cap) {
        snprintf(why, HARNESS_JPEG_WHY, "decoded %dx%d does not fit the "
                 "buffer (%zu bytes)", *w, *h, cap);
        return HARNESS_JPEG_BAD;
    }
    if (tjDecompress2(tj, buf, (unsigned long)size, rgb, *w, 0, *h, TJPF_RGB,
                      0) == 0)
        return HARNESS_JPEG_OK;
    if (tjGetErrorCode(tj) == TJERR_WARNING) {
        set_why(why, "corrupt JPEG data: %s", tjGetErrorStr2(tj));
        return HARNESS_JPEG_WARNING;
    }
    set_why(why, "decode failed: %s", tjGetErrorStr2(tj));
    return HARNESS_JPEG_BAD;
}

harness_jpeg_status harness_jpeg_decode_file(harness_jpeg_decoder *d,
                                             const char *path, int need,
                                             size_t max_pixels, uint8_t *rgb,
                                             size_t cap, int *w, int *h,
                                             int *orig_w, int *orig_h,
                                             char why[HARNESS_JPEG_WHY])
{
    size_t size, got;
    int fd = open_file(path, &size, why);
    if (fd < 0)
        return HARNESS_JPEG_BAD;
    if (size > d->file_cap) {
        snprintf(why, HARNESS_JPEG_WHY, "file grew to %zu bytes since the "
                 "data set was read", size);
        close(fd);
        return HARNESS_JPEG_BAD;
    }
    bool ok = read_all(fd, d->file, size, &got);
    int err = errno;
    close(fd);
    if (!ok) {
        set_why(why, "cannot read: %s", strerror(err));
        return HARNESS_JPEG_BAD;
    }
    harness_jpeg_status st = header(d->tj, d->file, got, max_pixels, orig_w,
                                    orig_h, why);
    if (st != HARNESS_JPEG_OK)
        return st;
    int num, den;
    harness_jpeg_pick_scale(*orig_w, *orig_h, need, &num, &den);
    return harness_jpeg_decode_mem(d->tj, d->file, got, num, den, rgb, cap, w,
                                   h, why);
}
