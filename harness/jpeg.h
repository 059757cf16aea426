/*
 * harness/jpeg.h: JPEG header probe and decode through TurboJPEG 2.x
 * (tjDecompressHeader3 + tjDecompress2; libjpeg-turbo 2.1.5 has no tj3 API).
 *
 * Output is RGB8 (H, W, 3); greyscale JPEGs come out with the grey value
 * replicated (libjpeg's gray->RGB conversion). Flags 0: accurate integer
 * DCT and fancy chroma upsampling, libjpeg's defaults, which is what PIL
 * (fastai) and `djpeg` use, so the full-size path is bit-exact with djpeg.
 *
 * DCT-scaled decode: libjpeg-turbo can run the inverse DCT at N/8 of the
 * size, cheaper than a full decode followed by a resize, but not
 * bit-identical to it. harness_jpeg_pick_scale picks the smallest of 1/2,
 * 1/4, 1/8 whose short side stays >= the size needed (the other N/8 are
 * slower than the full-size SIMD path), else the full size.
 *
 * Nothing here exits or crashes on a bad file: every failure comes back as a
 * one-line reason in the caller's buffer.
 */
#ifndef RESIN_HARNESS_JPEG_H
#define RESIN_HARNESS_JPEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum harness_jpeg_status {
    HARNESS_JPEG_OK = 0,
    HARNESS_JPEG_WARNING, /* corrupt data, but an image was produced */
    HARNESS_JPEG_BAD,     /* no usable image */
} harness_jpeg_status;

#define HARNESS_JPEG_MAX_PIXELS_DEFAULT ((size_t)100 * 1000 * 1000)
#define HARNESS_JPEG_MAX_FILE_BYTES ((size_t)256 << 20)
#define HARNESS_JPEG_WHY 192

typedef struct harness_jpeg_info {
    int width, height;   /* in the file */
    size_t file_bytes;
} harness_jpeg_info;

/* One per thread: a TurboJPEG handle and a file buffer of file_cap bytes. */
typedef struct harness_jpeg_decoder {
    void *tj;
    uint8_t *file;
    size_t file_cap;
} harness_jpeg_decoder;

bool harness_jpeg_decoder_init(harness_jpeg_decoder *d, size_t file_cap);
void harness_jpeg_decoder_free(harness_jpeg_decoder *d);

/* Reads the header of path (a prefix of the file; the whole file only when
 * the header lies beyond it). Rejects empty files, GIF/PNG/other bytes, 0x0
 * headers and images above max_pixels. tj may be NULL (a handle is made). */
harness_jpeg_status harness_jpeg_probe(void *tj, const char *path,
                                       size_t max_pixels,
                                       harness_jpeg_info *info,
                                       char why[HARNESS_JPEG_WHY]);

/* Scale num/den (1/1, 1/2, 1/4 or 1/8) for a w x h image so that the short
 * side is >= need; need <= 0 means full size. */
void harness_jpeg_pick_scale(int w, int h, int need, int *num, int *den);
/* Size of the image scaled by num/den, as libjpeg computes it (ceil). */
int harness_jpeg_scaled(int dim, int num, int den);

/* Decodes a JPEG held in memory at scale num/den into rgb (cap bytes). */
harness_jpeg_status harness_jpeg_decode_mem(void *tj, const uint8_t *buf,
                                            size_t size, int num, int den,
                                            uint8_t *rgb, size_t cap, int *w,
                                            int *h, char why[HARNESS_JPEG_WHY]);

/* Reads path into d->file and decodes it so the short side is >= need
 * (need <= 0: full size). orig_w/orig_h receive the size in the file. */
harness_jpeg_status harness_jpeg_decode_file(harness_jpeg_decoder *d,
                                             const char *path, int need,
                                             size_t max_pixels, uint8_t *rgb,
                                             size_t cap, int *w, int *h,
                                             int *orig_w, int *orig_h,
                                             char why[HARNESS_JPEG_WHY]);

#endif /* RESIN_HARNESS_JPEG_H */
