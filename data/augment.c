/*
 * data/augment.c: see augment.h. Formulas from fastai 1.0.42
 * fastai/vision/transform.py and image.py as restated in the reference,
 * section 2; grid_sample conventions of PyTorch (align_corners=True,
 * reflection).
 */
#include "data/augment.h"

#include <math.h>

#include "data/lighting.h"

const float data_imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
const float data_imagenet_std[3] = {0.229f, 0.224f, 0.225f};

// --- random numbers ----------------------------------------------------------

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

data_rng data_rng_key(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t k = mix64(seed + 0x9E3779B97F4A7C15ull);
    k = mix64(k ^ (a + 0x632BE59BD9B4E019ull));
    k = mix64(k ^ (b + 0x8CB92BA72F3D8DD7ull));
    return (data_rng){k};
}

uint64_t data_rng_next(data_rng *r)
{
    return mix64(r->s += 0x9E3779B97F4A7C15ull);
}

double data_rng_uniform(data_rng *r)
{
    return (double)(data_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double uniform(data_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * data_rng_uniform(r);
}

// --- parameters --------------------------------------------------------------

void data_aug_draw(data_rng *r, data_aug_params *p)
{
    p->flip = data_rng_uniform(r) < 0.5;
    p->warp = data_rng_uniform(r) < 0.75;
    for (int i = 0; i < 4; i++)
        p->warp_m[i] = uniform(r, -0.2, 0.2);
    p->rotate = data_rng_uniform(r) < 0.75;
    p->rotate_deg = uniform(r, -10.0, 10.0);
    p->zoom = data_rng_uniform(r) < 0.75;
    p->zoom_scale = uniform(r, 1.0, 1.1);
    p->zoom_row = data_rng_uniform(r);
    p->zoom_col = data_rng_uniform(r);
    p->brightness = data_rng_uniform(r) < 0.75;
    p->brightness_b = uniform(r, 0.4, 0.6);
    p->contrast = data_rng_uniform(r) < 0.75;
    p->contrast_c = exp(uniform(r, log(0.8), log(1.25)));
    p->crop_row = data_rng_uniform(r);
    p->crop_col = data_rng_uniform(r);
}

void data_aug_valid(data_aug_params *p)
{
    *p = (data_aug_params){.crop_row = 0.5, .crop_col = 0.5};
}

// --- geometry ----------------------------------------------------------------

void data_aug_resize_target(int h, int w, int size, int *ht, int *wt)
{
    double ratio = fmin((double)h / size, (double)w / size);
    /* rint rounds half to even in the default mode, as Python's round. */
    *ht = (int)rint(h / ratio);
    *wt = (int)rint(w / ratio);
}

/* Gaussian elimination with partial pivoting on an 8x9 augmented matrix. */
static bool solve8(double a[8][9], double x[8])
{
    for (int c = 0; c < 8; c++) {
        int piv = c;
        for (int r = c + 1; r < 8; r++)
            if (fabs(a[r][c]) > fabs(a[piv][c]))
                piv = r;
        if (fabs(a[piv][c]) < 1e-12)
            return false;
        for (int k = 0; k < 9; k++) {
            double t = a[c][k];
            a[c][k] = a[piv][k];
            a[piv][k] = t;
        }
        for (int r = c + 1; r < 8; r++) {
            double f = a[r][c] / a[c][c];
            for (int k = c; k < 9; k++)
                a[r][k] -= f * a[c][k];
        }
    }
    for (int r = 7; r >= 0; r--) {
        double s = a[r][8];
        for (int k = r + 1; k < 8; k++)
            s -= a[r][k] * x[k];
        x[r] = s / a[r][r];
    }
    return true;
}

bool data_aug_warp_coeffs(const double m[4], double hw[8])
{
    /* target points p (TL, BL, TR, BR) go to the canonical corners q */
    const double p[4][2] = {{-1 - m[3], -1 - m[1]}, {-1 - m[2], 1 + m[1]},
                            {1 + m[3], -1 - m[0]}, {1 + m[2], 1 + m[0]}};
    const double q[4][2] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
    double a[8][9] = {{0}};
    for (int i = 0; i < 4; i++) {
        double px = p[i][0], py = p[i][1], qx = q[i][0], qy = q[i][1];
        double rx[9] = {px, py, 1, 0, 0, 0, -qx * px, -qx * py, qx};
        double ry[9] = {0, 0, 0, px, py, 1, -qy * px, -qy * py, qy};
        for (int k = 0; k < 9; k++) {
            a[2 * i][k] = rx[k];
            a[2 * i + 1][k] = ry[k];
        }
    }
    return solve8(a, hw);
}

static void mat3_mul(const double a[3][3], const double b[3][3],
                     double c[3][3])
{
    double t[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            t[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] +
                      a[i][2] * b[2][j];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            c[i][j] = t[i][j];
}

void data_aug_affine(const data_aug_params *p, int ht, int wt, double m[6])
{
    double acc[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    if (p->flip) {
        const double f[3][3] = {{-1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
        mat3_mul(acc, f, acc);
    }
    if (p->rotate) {
        double t = p->rotate_deg * M_PI / 180.0, c = cos(t), s = sin(t);
        const double r[3][3] = {{c, -s, 0}, {s, c, 0}, {0, 0, 1}};
        mat3_mul(acc, r, acc);
    }
    if (p->zoom) {
        double inv = 1.0 / p->zoom_scale, sh = 1.0 - inv;
        const double z[3][3] = {{inv, 0, sh * (2 * p->zoom_col - 1)},
                                {0, inv, sh * (2 * p->zoom_row - 1)},
                                {0, 0, 1}};
        mat3_mul(acc, z, acc);
    }
    /* aspect fix: rotations stay rotations in pixels on a non-square grid */
    m[0] = acc[0][0];
    m[1] = acc[0][1] * ht / wt;
    m[2] = acc[0][2];
    m[3] = acc[1][0] * wt / ht;
    m[4] = acc[1][1];
    m[5] = acc[1][2];
}

static void warp_point(const double hw[8], double x, double y, double *ox,
                       double *oy)
{
    double den = hw[6] * x + hw[7] * y + 1.0;
    *ox = (hw[0] * x + hw[1] * y + hw[2]) / den;
    *oy = (hw[3] * x + hw[4] * y + hw[5]) / den;
}

void data_aug_grid_point(const data_aug_geom *g, int gy, int gx, double *x,
                         double *y)
{
    double u = -1.0 + 2.0 * gx / (g->wt - 1);
    double v = -1.0 + 2.0 * gy / (g->ht - 1);
    if (g->warp)
        warp_point(g->hw, u, v, &u, &v);
    *x = g->m[0] * u + g->m[1] * v + g->m[2];
    *y = g->m[3] * u + g->m[4] * v + g->m[5];
}

static int crop_origin(int full, int size, double pct)
{
    if (pct >= 1.0)
        pct = 1.0 - 1e-7;
    return (int)floor((full - size + 1) * pct);
}

/* fastai's anti-alias rule: z from the spread of the grid (extremes of an
 * affine-of-projective map over a rectangle are at its corners). */
static void antialias(data_aug_geom *g)
{
    double mn = INFINITY, mx = -INFINITY;
    const int cy[2] = {0, g->ht - 1}, cx[2] = {0, g->wt - 1};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double x, y;
            data_aug_grid_point(g, cy[i], cx[j], &x, &y);
            mn = fmin(mn, fmin(x, y));
            mx = fmax(mx, fmax(x, y));
        }
    double z = 2.0 / (mx - mn);
    double d = fmin((double)g->in_h / g->ht, (double)g->in_w / g->wt) / 2;
    g->box = d > 1.0 && d > z;
    g->src_h = g->box ? (int)floor(g->in_h * (1.0 / d)) : g->in_h;
    g->src_w = g->box ? (int)floor(g->in_w * (1.0 / d)) : g->in_w;
}

bool data_aug_geom_make(const data_aug_params *p, int oh, int ow, int in_h,
                        int in_w, int size, data_aug_geom *g)
{
    if (oh < 1 || ow < 1 || in_h < 1 || in_w < 1 || size < 2)
        return false;
    *g = (data_aug_geom){.size = size, .in_h = in_h, .in_w = in_w};
    data_aug_resize_target(oh, ow, size, &g->ht, &g->wt);
    if (g->ht < size || g->wt < size)
        return false;
    g->row0 = crop_origin(g->ht, size, p->crop_row);
    g->col0 = crop_origin(g->wt, size, p->crop_col);
    g->warp = p->warp;
    if (p->warp && !data_aug_warp_coeffs(p->warp_m, g->hw))
        return false;
    data_aug_affine(p, g->ht, g->wt, g->m);
    antialias(g);
    return true;
}

// --- pixels ------------------------------------------------------------------

size_t data_aug_scratch_floats(int in_h, int in_w)
{
    /* only the box pre-filter's output, always smaller than its input */
    return (size_t)in_h * in_w * 3;
}

void data_aug_box(const uint8_t *src, int h, int w, int oh, int ow,
                  float *dst)
{
    for (int i = 0; i < oh; i++) {
        int r0 = (int)((long)i * h / oh);
        int r1 = (int)(((long)(i + 1) * h + oh - 1) / oh);
        for (int j = 0; j < ow; j++) {
            int c0 = (int)((long)j * w / ow);
            int c1 = (int)(((long)(j + 1) * w + ow - 1) / ow);
            uint32_t acc[3] = {0, 0, 0}; /* u8 sums: no overflow */
            for (int r = r0; r < r1; r++)
                for (int c = c0; c < c1; c++)
                    for (int k = 0; k < 3; k++)
                        acc[k] += src[((size_t)r * w + c) * 3 + k];
            float inv = 1.0f / (255.0f * (float)((r1 - r0) * (c1 - c0)));
            for (int k = 0; k < 3; k++)
                dst[((size_t)i * ow + j) * 3 + k] = (float)acc[k] * inv;
        }
    }
}

/* PyTorch reflect_coordinates + clip_coordinates for align_corners=True. */
static double reflect(double v, int n)
{
    double hi = n - 1;
    if (v >= 0.0 && v <= hi)
        return v;
    if (n == 1)
        return 0.0;
    v = fabs(v);
    double extra = fmod(v, hi);
    long flips = (long)floor(v / hi);
    v = (flips % 2 == 0) ? extra : hi - extra;
    return fmin(fmax(v, 0.0), hi);
}

void data_aug_sample(const float *src, int h, int w, double x, double y,
                     float out[3])
{
    double ix = reflect((x + 1.0) * 0.5 * (w - 1), w);
    double iy = reflect((y + 1.0) * 0.5 * (h - 1), h);
    int x0 = (int)ix, y0 = (int)iy; /* non-negative: truncation = floor */
    float fx = (float)(ix - x0), fy = (float)(iy - y0);
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    const float *a = src + ((size_t)y0 * w + x0) * 3;
    const float *b = src + ((size_t)y0 * w + x1) * 3;
    const float *c = src + ((size_t)y1 * w + x0) * 3;
    const float *d = src + ((size_t)y1 * w + x1) * 3;
    for (int k = 0; k < 3; k++) {
        float top = a[k] + fx * (b[k] - a[k]);
        float bot = c[k] + fx * (d[k] - c[k]);
        out[k] = top + fy * (bot - top);
    }
}

float data_aug_lighting(const data_aug_params *p, float v)
{
    if (!p->brightness && !p->contrast)
        return v;
    const float eps = 1e-7f;
    v = fminf(fmaxf(v, eps), 1.0f - eps);
    float q = logf(v / (1.0f - v));
    if (p->brightness)
        q += (float)log(p->brightness_b / (1.0 - p->brightness_b));
    if (p->contrast)
        q *= (float)p->contrast_c;
    return 1.0f / (1.0f + expf(-q));
}

/* Bilinear taps of one pixel coordinate (already reflected into range), from
 * the decoded image (u8, scaled by 1/255 after interpolating) or from the
 * box-filtered float image. */
static inline void sample_u8(const uint8_t *src, int h, int w, double ix,
                             double iy, float *v0, float *v1, float *v2)
{
    int x0 = (int)ix, y0 = (int)iy;
    float fx = (float)(ix - x0), fy = (float)(iy - y0);
    int dx = x0 + 1 < w ? 3 : 0;
    size_t dy = y0 + 1 < h ? (size_t)w * 3 : 0;
    const uint8_t *a = src + ((size_t)y0 * w + x0) * 3, *c = a + dy;
    float v[3];
    for (int k = 0; k < 3; k++) {
        float top = a[k] + fx * (float)(a[k + dx] - a[k]);
        float bot = c[k] + fx * (float)(c[k + dx] - c[k]);
        v[k] = (top + fy * (bot - top)) * (1.0f / 255.0f);
    }
    *v0 = v[0], *v1 = v[1], *v2 = v[2];
}

static inline void sample_f32(const float *src, int h, int w, double ix,
                              double iy, float *v0, float *v1, float *v2)
{
    int x0 = (int)ix, y0 = (int)iy;
    float fx = (float)(ix - x0), fy = (float)(iy - y0);
    int dx = x0 + 1 < w ? 3 : 0;
    size_t dy = y0 + 1 < h ? (size_t)w * 3 : 0;
    const float *a = src + ((size_t)y0 * w + x0) * 3, *c = a + dy;
    float v[3];
    for (int k = 0; k < 3; k++) {
        float top = a[k] + fx * (a[k + dx] - a[k]);
        float bot = c[k] + fx * (c[k + dx] - c[k]);
        v[k] = top + fy * (bot - top);
    }
    *v0 = v[0], *v1 = v[1], *v2 = v[2];
}

/* Samples columns [j0, j0 + n) of crop row i into row (3, n). */
static void sample_row(const data_aug_geom *g, const uint8_t *src8,
                       const float *srcf, int i, int j0, int n, float *row,
                       int stride)
{
    const double hx = 0.5 * (g->src_w - 1), hy = 0.5 * (g->src_h - 1);
    const double sx = 2.0 / (g->wt - 1), sy = 2.0 / (g->ht - 1);
    const double v = -1.0 + sy * (g->row0 + i);
    const double *m = g->m, *hw = g->hw;
    for (int j = 0; j < n; j++) {
        double x = -1.0 + sx * (g->col0 + j0 + j), y = v;
        if (g->warp) {
            double den = 1.0 / (hw[6] * x + hw[7] * y + 1.0);
            double xw = (hw[0] * x + hw[1] * y + hw[2]) * den;
            y = (hw[3] * x + hw[4] * y + hw[5]) * den;
            x = xw;
        }
        double ix = (m[0] * x + m[1] * y + m[2] + 1.0) * hx;
        double iy = (m[3] * x + m[4] * y + m[5] + 1.0) * hy;
        ix = reflect(ix, g->src_w);
        iy = reflect(iy, g->src_h);
        if (srcf)
            sample_f32(srcf, g->src_h, g->src_w, ix, iy, &row[j],
                       &row[stride + j], &row[2 * stride + j]);
        else
            sample_u8(src8, g->src_h, g->src_w, ix, iy, &row[j],
                      &row[stride + j], &row[2 * stride + j]);
    }
}

#define RENDER_CHUNK 256

void data_aug_render(const data_aug_geom *g, const data_aug_params *p,
                     const uint8_t *rgb, float *scratch, const float mean[3],
                     const float std[3], float *out)
{
    const float *srcf = NULL;
    if (g->box) {
        data_aug_box(rgb, g->in_h, g->in_w, g->src_h, g->src_w, scratch);
        srcf = scratch;
    }
    const bool light = p->brightness || p->contrast;
    const float add = p->brightness ? (float)log(p->brightness_b /
                                                 (1.0 - p->brightness_b))
                                    : 0.0f;
    const float mul = p->contrast ? (float)p->contrast_c : 1.0f;
    const data_lighting_fn light_fn = data_lighting_select();
    const int size = g->size;
    const size_t plane = (size_t)size * size;
    float scale[3], shift[3], row[3 * RENDER_CHUNK];
    for (int k = 0; k < 3; k++) {
        scale[k] = 1.0f / std[k];
        shift[k] = -mean[k] / std[k];
    }
    for (int i = 0; i < size; i++)
        for (int j0 = 0; j0 < size; j0 += RENDER_CHUNK) {
            int n = size - j0 < RENDER_CHUNK ? size - j0 : RENDER_CHUNK;
            sample_row(g, rgb, srcf, i, j0, n, row, RENDER_CHUNK);
            for (int k = 0; k < 3; k++) {
                float *r = row + k * RENDER_CHUNK;
                if (light)
                    light_fn(r, (size_t)n, add, mul);
                float *o = out + k * plane + (size_t)i * size + j0;
                for (int j = 0; j < n; j++)
                    o[j] = r[j] * scale[k] + shift[k];
            }
        }
}
