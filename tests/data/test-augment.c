/*
 * tests/data/test-augment.c: every augmentation step against a plain double
 * reference of the same formula written here, and the whole pipeline against
 * PyTorch numbers (augment-fixture.h, from gen-augment-fixture.py beside it).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"
#include "data/lighting.h"
#include "tests/data/augment-fixture.h"
#include "tests/support/testutil.h"

// --- plain double references -------------------------------------------------

/* PyTorch reflect_coordinates(align_corners=True) then clip, as written in
 * aten GridSampler.h, in double. */
static double ref_reflect(double in, int size)
{
    double twice_high = 2.0 * (size - 1);
    if (twice_high <= 0)
        return 0;
    double span = twice_high / 2;
    in = fabs(in);
    double extra = fmod(in, span);
    int flips = (int)floor(in / span);
    in = flips % 2 == 0 ? extra : span - extra;
    return fmin(size - 1.0, fmax(in, 0.0));
}

/* grid_sample bilinear with PyTorch's four-corner weights and bound checks */
static double ref_sample(const double *src, int h, int w, double x, double y,
                         int k)
{
    double ix = ref_reflect((x + 1) / 2 * (w - 1), w);
    double iy = ref_reflect((y + 1) / 2 * (h - 1), h);
    int xw = (int)floor(ix), yn = (int)floor(iy), xe = xw + 1, ys = yn + 1;
    double nw = (xe - ix) * (ys - iy), ne = (ix - xw) * (ys - iy);
    double sw = (xe - ix) * (iy - yn), se = (ix - xw) * (iy - yn);
    double v = 0;
    int px[4] = {xw, xe, xw, xe}, py[4] = {yn, yn, ys, ys};
    double wt[4] = {nw, ne, sw, se};
    for (int t = 0; t < 4; t++)
        if (px[t] >= 0 && px[t] < w && py[t] >= 0 && py[t] < h)
            v += wt[t] * src[((size_t)py[t] * w + px[t]) * 3 + k];
    return v;
}

static void ref_box(const double *src, int h, int w, int oh, int ow,
                    double *dst)
{
    for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++) {
            int r0 = (int)floor((double)i * h / oh);
            int r1 = (int)ceil((double)(i + 1) * h / oh);
            int c0 = (int)floor((double)j * w / ow);
            int c1 = (int)ceil((double)(j + 1) * w / ow);
            for (int k = 0; k < 3; k++) {
                double s = 0;
                for (int r = r0; r < r1; r++)
                    for (int c = c0; c < c1; c++)
                        s += src[((size_t)r * w + c) * 3 + k];
                dst[((size_t)i * ow + j) * 3 + k] =
                    s / ((r1 - r0) * (c1 - c0));
            }
        }
}

static double ref_lighting(const data_aug_params *p, double v)
{
    if (!p->brightness && !p->contrast)
        return v;
    v = fmin(fmax(v, 1e-7), 1 - 1e-7);
    double q = log(v / (1 - v));
    if (p->brightness)
        q += log(p->brightness_b / (1 - p->brightness_b));
    if (p->contrast)
        q *= p->contrast_c;
    return 1 / (1 + exp(-q));
}

/* The whole pipeline in double from the parameters, written from the
 * reference text independently of data/augment.c's structure: 3x3 matrices
 * applied right to left to the grid point. */
static void ref_render(const data_aug_params *p, const uint8_t *rgb, int h,
                       int w, int size, double *out)
{
    double ratio = fmin((double)h / size, (double)w / size);
    int ht = (int)nearbyint(h / ratio), wt = (int)nearbyint(w / ratio);
    double hw[8] = {0};
    if (p->warp)
        cr_assert(data_aug_warp_coeffs(p->warp_m, hw));
    double t = p->rotate_deg * M_PI / 180, s = 1 / p->zoom_scale;
    double F[3][3] = {{p->flip ? -1 : 1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    double R[3][3] = {{cos(t), -sin(t), 0}, {sin(t), cos(t), 0}, {0, 0, 1}};
    double Z[3][3] = {{s, 0, (1 - s) * (2 * p->zoom_col - 1)},
                      {0, s, (1 - s) * (2 * p->zoom_row - 1)}, {0, 0, 1}};
    double I[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    double (*fs[3])[3] = {F, p->rotate ? R : I, p->zoom ? Z : I};
    double M[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    for (int f = 0; f < 3; f++) {
        double T[3][3] = {{0}};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 3; k++)
                    T[i][j] += M[i][k] * fs[f][k][j];
        memcpy(M, T, sizeof M);
    }
    M[0][1] *= (double)ht / wt;
    M[1][0] *= (double)wt / ht;
    double *src = malloc(sizeof(double) * h * w * 3);
    for (int i = 0; i < h * w * 3; i++)
        src[i] = rgb[i] / 255.0;
    /* anti-alias: scan the whole grid for min/max (not just corners) */
    double mn = INFINITY, mx = -INFINITY;
    double *gx = malloc(sizeof(double) * ht * wt * 2);
    for (int i = 0; i < ht; i++)
        for (int j = 0; j < wt; j++) {
            double x = -1 + 2.0 * j / (wt - 1), y = -1 + 2.0 * i / (ht - 1);
            if (p->warp) {
                double d = hw[6] * x + hw[7] * y + 1;
                double x1 = (hw[0] * x + hw[1] * y + hw[2]) / d;
                double y1 = (hw[3] * x + hw[4] * y + hw[5]) / d;
                x = x1, y = y1;
            }
            double x2 = M[0][0] * x + M[0][1] * y + M[0][2];
            double y2 = M[1][0] * x + M[1][1] * y + M[1][2];
            gx[(i * wt + j) * 2] = x2, gx[(i * wt + j) * 2 + 1] = y2;
            mn = fmin(mn, fmin(x2, y2)), mx = fmax(mx, fmax(x2, y2));
        }
    double z = 2 / (mx - mn), d = fmin((double)h / ht, (double)w / wt) / 2;
    int sh = h, sw = w;
    if (d > 1 && d > z) {
        sh = (int)floor(h * (1 / d)), sw = (int)floor(w * (1 / d));
        double *small = malloc(sizeof(double) * sh * sw * 3);
        ref_box(src, h, w, sh, sw, small);
        free(src);
        src = small;
    }
    double rp = fmin(p->crop_row, 1 - 1e-7), cp = fmin(p->crop_col, 1 - 1e-7);
    int r0 = (int)floor((ht - size + 1) * rp);
    int c0 = (int)floor((wt - size + 1) * cp);
    const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++) {
                const double *g = gx + ((size_t)(r0 + i) * wt + c0 + j) * 2;
                double v = ref_sample(src, sh, sw, g[0], g[1], k);
                v = ref_lighting(p, v);
                out[((size_t)k * size + i) * size + j] = (v - mean[k]) / sd[k];
            }
    free(src);
    free(gx);
}

// --- steps -------------------------------------------------------------------

Test(augment, resize_target_round_half_even)
{
    int ht, wt;
    data_aug_resize_target(375, 500, 224, &ht, &wt);
    cr_assert(ht == 224 && wt == 299, "375x500 -> %dx%d", ht, wt);
    data_aug_resize_target(500, 375, 224, &ht, &wt);
    cr_assert(ht == 299 && wt == 224, "500x375 -> %dx%d", ht, wt);
    data_aug_resize_target(448, 451, 224, &ht, &wt); /* 225.5 -> 226 */
    cr_assert(ht == 224 && wt == 226, "448x451 -> %dx%d", ht, wt);
    data_aug_resize_target(448, 453, 224, &ht, &wt); /* 226.5 -> 226 */
    cr_assert(ht == 224 && wt == 226, "448x453 -> %dx%d", ht, wt);
    data_aug_resize_target(224, 224, 224, &ht, &wt);
    cr_assert(ht == 224 && wt == 224);
}

Test(augment, valid_centre_crop)
{
    data_aug_params p;
    data_aug_valid(&p);
    data_aug_geom g;
    cr_assert(data_aug_geom_make(&p, 375, 500, 375, 500, 224, &g));
    cr_assert_eq(g.col0, 38, "col0 %d", g.col0); /* floor((299-223)/2) */
    cr_assert_eq(g.row0, 0);
    cr_assert_not(g.box);
    p.crop_row = 1.0; /* pct 1 -> 1 - 1e-7: the last valid origin */
    p.crop_col = 1.0;
    cr_assert(data_aug_geom_make(&p, 375, 500, 375, 500, 224, &g));
    cr_assert(g.col0 == 75 && g.row0 == 0, "%d %d", g.row0, g.col0);
}

Test(augment, warp_maps_targets_to_corners)
{
    tu_rng r = tu_rng_seed(11);
    for (int t = 0; t < 50; t++) {
        double m[4], hw[8];
        for (int i = 0; i < 4; i++)
            m[i] = tu_uniform(&r, -0.2f, 0.2f);
        cr_assert(data_aug_warp_coeffs(m, hw));
        double p[4][2] = {{-1 - m[3], -1 - m[1]}, {-1 - m[2], 1 + m[1]},
                          {1 + m[3], -1 - m[0]}, {1 + m[2], 1 + m[0]}};
        double q[4][2] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
        for (int i = 0; i < 4; i++) {
            double d = hw[6] * p[i][0] + hw[7] * p[i][1] + 1;
            double x = (hw[0] * p[i][0] + hw[1] * p[i][1] + hw[2]) / d;
            double y = (hw[3] * p[i][0] + hw[4] * p[i][1] + hw[5]) / d;
            cr_assert(fabs(x - q[i][0]) < 1e-12 && fabs(y - q[i][1]) < 1e-12,
                      "seed 11 trial %d corner %d: (%g, %g)", t, i, x, y);
        }
    }
    double zero[4] = {0, 0, 0, 0}, hw[8];
    cr_assert(data_aug_warp_coeffs(zero, hw));
    const double id[8] = {1, 0, 0, 0, 1, 0, 0, 0};
    for (int i = 0; i < 8; i++)
        cr_assert(fabs(hw[i] - id[i]) < 1e-14);
}

Test(augment, affine_composition_and_aspect)
{
    data_aug_params p = {.flip = true, .rotate = true, .rotate_deg = 30,
                         .zoom = true, .zoom_scale = 1.05, .zoom_row = 0.2,
                         .zoom_col = 0.9};
    double m[6];
    data_aug_affine(&p, 224, 299, m);
    /* F R Z by hand: F R = [[-c, s], [s, c]]; times Z (s', t) */
    double c = cos(M_PI / 6), s = sin(M_PI / 6), z = 1 / 1.05;
    double tx = (1 - z) * (2 * 0.9 - 1), ty = (1 - z) * (2 * 0.2 - 1);
    double want[6] = {-c * z, s * z * 224 / 299, -c * tx + s * ty,
                      s * z * 299 / 224, c * z, s * tx + c * ty};
    for (int i = 0; i < 6; i++)
        cr_assert(fabs(m[i] - want[i]) < 1e-12, "m[%d] %g want %g", i, m[i],
                  want[i]);
    data_aug_params none = {0};
    data_aug_affine(&none, 224, 299, m);
    const double id[6] = {1, 0, 0, 0, 1, 0};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(m[i], id[i]);
}

Test(augment, box_filter_vs_reference)
{
    tu_rng r = tu_rng_seed(5);
    const int sizes[][4] = {{60, 44, 44, 32}, {17, 23, 5, 7}, {9, 9, 9, 9},
                            {31, 13, 10, 4}};
    for (int t = 0; t < 4; t++) {
        int h = sizes[t][0], w = sizes[t][1];
        int oh = sizes[t][2], ow = sizes[t][3];
        uint8_t *src = malloc((size_t)h * w * 3);
        double *srcd = malloc(sizeof(double) * h * w * 3);
        float *got = malloc(sizeof(float) * oh * ow * 3);
        double *want = malloc(sizeof(double) * oh * ow * 3);
        for (int i = 0; i < h * w * 3; i++) {
            src[i] = (uint8_t)(tu_next(&r) >> 56);
            srcd[i] = src[i] / 255.0;
        }
        tu_poison_nan(got, (size_t)oh * ow * 3);
        data_aug_box(src, h, w, oh, ow, got);
        ref_box(srcd, h, w, oh, ow, want);
        size_t worst;
        cr_assert(tu_close(got, want, NULL, (size_t)oh * ow * 3, 1e-6, 1e-6,
                           &worst), "%dx%d -> %dx%d: [%zu] %g want %g", h, w,
                  oh, ow, worst, got[worst], want[worst]);
        free(src), free(srcd), free(got), free(want);
    }
}

Test(augment, lighting_vs_reference)
{
    data_aug_params p = {.brightness = true, .brightness_b = 0.43,
                         .contrast = true, .contrast_c = 1.21};
    const float vs[] = {0, 1e-9f, 0.01f, 0.25f, 0.5f, 0.77f, 0.999f, 1};
    for (int t = 0; t < 3; t++) {
        p.brightness = t != 1;
        p.contrast = t != 2;
        for (size_t i = 0; i < sizeof vs / sizeof *vs; i++) {
            float got = data_aug_lighting(&p, vs[i]);
            double want = ref_lighting(&p, vs[i]);
            cr_assert(fabs(got - want) < 2e-6, "v %g: %g want %g", vs[i], got,
                      want);
        }
    }
    data_aug_params off = {0};
    cr_assert_eq(data_aug_lighting(&off, 0.0f), 0.0f); /* no clamp if none */
}

Test(augment, lighting_rows_every_isa)
{
    tu_rng r = tu_rng_seed(13);
    float v[203], got[203];
    tu_fill(&r, v, 203, 0, 1);
    v[0] = 0, v[1] = 1, v[2] = 1e-9f;
    const float adds[3] = {0, -0.3f, 0.4f}, muls[3] = {1.2f, 1, 0.81f};
    data_lighting_fn fns[2] = {data_lighting__scalar, NULL};
#if defined(__x86_64__)
    if (kern_isa_available(KERN_ISA_AVX2))
        fns[1] = data_lighting__avx2;
#endif
    for (int f = 0; f < 2 && fns[f]; f++)
        for (int t = 0; t < 3; t++) {
            memcpy(got, v, sizeof v);
            fns[f](got, 203, adds[t], muls[t]);
            for (int i = 0; i < 203; i++) {
                double x = fmin(fmax(v[i], 1e-7), 1 - 1e-7);
                double want = 1 / (1 + exp(-(log(x / (1 - x)) + adds[t]) *
                                           muls[t]));
                cr_assert(fabs(got[i] - want) < 2e-6, "fn %d case %d v %g: "
                          "%g want %g", f, t, v[i], got[i], want);
            }
        }
}

Test(augment, sample_vs_reference)
{
    tu_rng r = tu_rng_seed(8);
    int h = 6, w = 9;
    float src[6 * 9 * 3];
    double srcd[6 * 9 * 3];
    tu_fill(&r, src, sizeof src / sizeof *src, 0, 1);
    for (size_t i = 0; i < sizeof src / sizeof *src; i++)
        srcd[i] = src[i];
    for (int t = 0; t < 500; t++) {
        double x = tu_uniform(&r, -4.5f, 4.5f), y = tu_uniform(&r, -4.5f, 4.5f);
        float got[3];
        data_aug_sample(src, h, w, x, y, got);
        for (int k = 0; k < 3; k++) {
            double want = ref_sample(srcd, h, w, x, y, k);
            cr_assert(fabs(got[k] - want) < 1e-6, "(%g, %g) ch %d: %g want %g",
                      x, y, k, got[k], want);
        }
    }
}

/* 40 random parameter draws on four image shapes, under the active ISA */
static void render_trials(const char *isa)
{
    tu_rng r = tu_rng_seed(21);
    const int dims[][3] = {{37, 50, 24}, {50, 37, 24}, {100, 70, 24},
                           {24, 24, 24}};
    int boxes = 0;
    for (int t = 0; t < 40; t++) {
        int h = dims[t % 4][0], w = dims[t % 4][1], size = dims[t % 4][2];
        uint8_t *rgb = malloc((size_t)h * w * 3);
        for (int i = 0; i < h * w * 3; i++)
            rgb[i] = (uint8_t)(tu_next(&r) >> 56);
        data_rng dr = data_rng_key(99, 1, (uint64_t)t);
        data_aug_params p;
        data_aug_draw(&dr, &p);
        data_aug_geom g;
        cr_assert(data_aug_geom_make(&p, h, w, h, w, size, &g));
        boxes += g.box;
        float *scratch = malloc(sizeof(float) * data_aug_scratch_floats(h, w));
        size_t n = 3 * (size_t)size * size;
        float *got = malloc(sizeof(float) * n);
        double *want = malloc(sizeof(double) * n);
        tu_poison_nan(got, n);
        data_aug_render(&g, &p, rgb, scratch, data_imagenet_mean,
                        data_imagenet_std, got);
        ref_render(&p, rgb, h, w, size, want);
        size_t worst;
        cr_assert(tu_close(got, want, NULL, n, 1e-5, 2e-5, &worst),
                  "trial %d %dx%d: [%zu] %g want %g (flip %d warp %d rot %d "
                  "zoom %d box %d) isa %s", t, h, w, worst, got[worst],
                  want[worst], p.flip, p.warp, p.rotate, p.zoom, g.box, isa);
        free(rgb), free(scratch), free(got), free(want);
    }
    cr_assert_gt(boxes, 0, "no trial exercised the box pre-filter");
}

Test(augment, render_vs_double_reference)
{
    kern_isa isas[KERN_ISA_COUNT];
    size_t nisa = tu_isas(isas);
    for (size_t v = 0; v < nisa; v++) {
        kern_init(isas[v]);
        render_trials(kern_isa_name(isas[v]));
    }
}

// --- PyTorch fixture ---------------------------------------------------------

Test(augment, grid_sample_vs_torch)
{
    float src[5 * 7 * 3];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 7; j++)
            for (int k = 0; k < 3; k++)
                src[(i * 7 + j) * 3 + k] =
                    fx_img0[(i * FX_IMG0_W + j) * 3 + k] / 255.0f;
    for (int t = 0; t < 64; t++) {
        float got[3];
        data_aug_sample(src, 5, 7, fx_gs_pts[2 * t], fx_gs_pts[2 * t + 1], got);
        for (int k = 0; k < 3; k++)
            cr_assert(fabsf(got[k] - fx_gs_out[3 * t + k]) < 2e-6,
                      "point %d (%g, %g) ch %d: %g torch %g", t,
                      fx_gs_pts[2 * t], fx_gs_pts[2 * t + 1], k, got[k],
                      fx_gs_out[3 * t + k]);
    }
}

static void fixture_case(const struct fx_case *c, const char *isa)
{
    const uint8_t *img = c->img ? fx_img1 : fx_img0;
    int h = c->img ? FX_IMG1_H : FX_IMG0_H, w = c->img ? FX_IMG1_W : FX_IMG0_W;
    data_aug_params p = {
        .flip = c->flip, .warp = c->warp, .rotate = c->rotate,
        .rotate_deg = c->deg, .zoom = c->zoom, .zoom_scale = c->zs,
        .zoom_row = c->zr, .zoom_col = c->zc, .brightness = c->bright,
        .brightness_b = c->b, .contrast = c->contrast, .contrast_c = c->c,
        .crop_row = c->crop_row, .crop_col = c->crop_col};
    memcpy(p.warp_m, c->warp_m, sizeof p.warp_m);
    data_aug_geom g;
    cr_assert(data_aug_geom_make(&p, h, w, h, w, FX_SIZE, &g));
    if (c->img == 1)
        cr_assert(g.box, "%s: the box pre-filter should fire", c->name);
    size_t n = 3 * FX_SIZE * FX_SIZE;
    float *scratch = malloc(sizeof(float) * data_aug_scratch_floats(h, w));
    float got[3 * FX_SIZE * FX_SIZE];
    double want[3 * FX_SIZE * FX_SIZE];
    tu_poison_nan(got, n);
    data_aug_render(&g, &p, img, scratch, data_imagenet_mean,
                    data_imagenet_std, got);
    for (size_t i = 0; i < n; i++)
        want[i] = c->out[i];
    size_t worst;
    cr_assert(tu_close(got, want, NULL, n, 1e-5, 2e-5, &worst),
              "%s isa %s: [%zu] %g torch %g", c->name, isa, worst,
              got[worst], want[worst]);
    free(scratch);
}

Test(augment, pipeline_vs_torch)
{
    kern_isa isas[KERN_ISA_COUNT];
    size_t nisa = tu_isas(isas);
    for (size_t v = 0; v < nisa; v++) {
        kern_init(isas[v]);
        for (size_t t = 0; t < sizeof fx_cases / sizeof *fx_cases; t++)
            fixture_case(&fx_cases[t], kern_isa_name(isas[v]));
    }
}

// --- random parameters -------------------------------------------------------

Test(augment, draw_ranges_and_coins)
{
    int flips = 0, warps = 0, rots = 0, zooms = 0, br = 0, co = 0, n = 8000;
    for (int t = 0; t < n; t++) {
        data_rng r = data_rng_key(3, 0, (uint64_t)t);
        data_aug_params p;
        data_aug_draw(&r, &p);
        flips += p.flip, warps += p.warp, rots += p.rotate, zooms += p.zoom;
        br += p.brightness, co += p.contrast;
        for (int i = 0; i < 4; i++)
            cr_assert(p.warp_m[i] >= -0.2 && p.warp_m[i] < 0.2);
        cr_assert(p.rotate_deg >= -10 && p.rotate_deg < 10);
        cr_assert(p.zoom_scale >= 1 && p.zoom_scale < 1.1);
        cr_assert(p.brightness_b >= 0.4 && p.brightness_b < 0.6);
        cr_assert(p.contrast_c >= 0.8 - 1e-12 && p.contrast_c < 1.25);
        cr_assert(p.crop_row >= 0 && p.crop_row < 1);
    }
    /* binomial sd at n = 8000: ~45 for p 0.5, ~39 for 0.75; allow 5 sd */
    cr_assert(abs(flips - n / 2) < 225, "flips %d", flips);
    int c3[5] = {warps, rots, zooms, br, co};
    for (int i = 0; i < 5; i++)
        cr_assert(abs(c3[i] - 3 * n / 4) < 200, "coin %d fired %d", i, c3[i]);
}

Test(augment, keyed_streams)
{
    data_aug_params a, b;
    data_rng r1 = data_rng_key(1, 2, 3), r2 = data_rng_key(1, 2, 3);
    data_aug_draw(&r1, &a);
    data_aug_draw(&r2, &b);
    cr_assert(a.flip == b.flip && a.warp_m[3] == b.warp_m[3] &&
              a.contrast_c == b.contrast_c && a.crop_col == b.crop_col);
    data_rng r3 = data_rng_key(1, 3, 3);
    data_aug_draw(&r3, &b);
    cr_assert(a.rotate_deg != b.rotate_deg);
}
