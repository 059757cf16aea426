/*
 * data/augment.h: fastai v1 get_transforms() defaults, size 224, resize
 * method CROP, reflection padding, bilinear sampling, imagenet normalisation
 * (reference fastai-v1-semantics.md section 2), for one image at a time.
 *
 * Pipeline: draw parameters (data_aug_draw / data_aug_valid) -> geometry
 * (data_aug_geom_make: resize target, crop window, projective warp, one
 * composed affine, anti-alias decision) -> data_aug_render: sample only the
 * size x size crop window of the grid, light, normalise, write one
 * (3, size, size) slot of an NCHW float32 batch.
 *
 * Coordinates follow fastai/PyTorch: x = column, y = row, both in [-1, 1];
 * grid_sample with align_corners=True (x = -1 is the centre of column 0) and
 * reflection about the first and last pixel centres.
 */
#ifndef RESIN_DATA_AUGMENT_H
#define RESIN_DATA_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// --- counter-based random numbers --------------------------------------------
/* splitmix64 stream whose start is a hash of (seed, a, b): each image access
 * (run seed, epoch, item) gets its own stream, so results do not depend on
 * which thread renders which image. */
typedef struct data_rng { uint64_t s; } data_rng;
data_rng data_rng_key(uint64_t seed, uint64_t a, uint64_t b);
uint64_t data_rng_next(data_rng *r);
double data_rng_uniform(data_rng *r); /* [0, 1), 53 bits */

// --- parameters --------------------------------------------------------------
typedef struct data_aug_params {
    bool flip;                 /* p 0.5 */
    bool warp;                 /* p 0.75, m0..m3 ~ U(-0.2, 0.2) */
    double warp_m[4];
    bool rotate;               /* p 0.75, deg ~ U(-10, 10) */
    double rotate_deg;
    bool zoom;                 /* p 0.75, s ~ U(1, 1.1), pcts ~ U(0, 1) */
    double zoom_scale, zoom_row, zoom_col;
    bool brightness;           /* p 0.75, b ~ U(0.4, 0.6) */
    double brightness_b;
    bool contrast;             /* p 0.75, c log-uniform on [0.8, 1.25] */
    double contrast_c;
    double crop_row, crop_col; /* U(0, 1) train, 0.5 valid */
} data_aug_params;

/* Training transforms: every coin and parameter drawn from r, in a fixed
 * order (all are drawn even when a coin fails, so the stream never shifts). */
void data_aug_draw(data_rng *r, data_aug_params *p);
/* Validation transforms: nothing fires, centre crop. */
void data_aug_valid(data_aug_params *p);

// --- geometry ----------------------------------------------------------------
typedef struct data_aug_geom {
    int size;            /* output side */
    int ht, wt;          /* resize target = grid size, shorter side = size */
    int row0, col0;      /* crop window origin in the grid */
    bool warp;
    double hw[8];        /* projective a..h: x' = (ax+by+c)/(gx+hy+1) ... */
    double m[6];         /* affine after the warp, rows (m00 m01 m02 m10 ..) */
    int in_h, in_w;      /* decoded image */
    bool box;            /* box-average the decoded image first ... */
    int src_h, src_w;    /* ... to this size (= in_h, in_w when !box) */
} data_aug_geom;

/* oh, ow: the image's size in its file (sets the resize target, as fastai
 * sees the full image); in_h, in_w: what was decoded (smaller after a DCT-
 * scaled decode). Returns false if the warp system is singular (cannot happen
 * for |m| <= 0.2) or a size is invalid. */
bool data_aug_geom_make(const data_aug_params *p, int oh, int ow, int in_h,
                        int in_w, int size, data_aug_geom *g);

/* Python round(h / min(h/size, w/size)), half to even. */
void data_aug_resize_target(int h, int w, int size, int *ht, int *wt);
/* Solves the 8x8 system of the symmetric warp with magnitudes m0..m3. */
bool data_aug_warp_coeffs(const double m[4], double hw[8]);
/* M = F R Z with the aspect fix for a ht x wt grid (identity factors for
 * coins that failed). */
void data_aug_affine(const data_aug_params *p, int ht, int wt, double m[6]);
/* Grid point (row gy, column gx) of an ht x wt grid -> source coordinates. */
void data_aug_grid_point(const data_aug_geom *g, int gy, int gx, double *x,
                         double *y);

// --- pixels ------------------------------------------------------------------
/* Floats of scratch data_aug_render needs for a decoded in_h x in_w image
 * (the box pre-filter's output; the decoded image is sampled directly). */
size_t data_aug_scratch_floats(int in_h, int in_w);

/* rgb: (in_h, in_w, 3) uint8; out: (3, size, size) float32, normalised by
 * (x - mean[c]) / std[c]. scratch: data_aug_scratch_floats floats. */
void data_aug_render(const data_aug_geom *g, const data_aug_params *p,
                     const uint8_t *rgb, float *scratch, const float mean[3],
                     const float std[3], float *out);

/* Adaptive average pooling of u8 HWC RGB to floats in [0, 1]: output bin i
 * covers source rows [floor(i*h/oh), ceil((i+1)*h/oh)), the same for
 * columns. */
void data_aug_box(const uint8_t *src, int h, int w, int oh, int ow,
                  float *dst);
/* grid_sample of one point of an (h, w, 3) float image, bilinear,
 * align_corners=True, padding reflection; x, y in [-1, 1] (or beyond). */
void data_aug_sample(const float *src, int h, int w, double x, double y,
                     float out[3]);
/* sigmoid((logit(clamp(v, 1e-7, 1 - 1e-7)) + logit(b)) * c) for the lighting
 * ops that fired; v unchanged if none did. */
float data_aug_lighting(const data_aug_params *p, float v);

extern const float data_imagenet_mean[3]; /* 0.485 0.456 0.406 */
extern const float data_imagenet_std[3];  /* 0.229 0.224 0.225 */

#endif /* RESIN_DATA_AUGMENT_H */
