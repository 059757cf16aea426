/*
 * harness/plot.c: line plots, the confusion matrix and image grids with
 * cairo (see plot.h for the contract).
 *
 * Geometry is in pixels at 100 dots per inch, so a matplotlib figsize of
 * (12, 4) inches becomes 1200x400. Colours follow matplotlib's defaults:
 * line C0 = #1f77b4, 'Blues' colour map for the confusion matrix.
 */
#include "harness/plot.h"

#include <cairo/cairo.h> /* no pkg-config --cflags in the build */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT "DejaVu Sans"

// --- figure ------------------------------------------------------------------

typedef struct {
    cairo_surface_t *surf;
    cairo_t *cr;
} figure;

static plot_status fig_open(figure *f, int w, int h)
{
    f->surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    f->cr = cairo_create(f->surf);
    if (cairo_status(f->cr) != CAIRO_STATUS_SUCCESS)
        return PLOT_ERR_CAIRO;
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    cairo_select_font_face(f->cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_NORMAL);
    return PLOT_OK;
}

/* Writes beside the target and renames, so a reader never sees half a PNG. */
static plot_status fig_close(figure *f, const char *path, plot_status st)
{
    if (st == PLOT_OK && cairo_status(f->cr) != CAIRO_STATUS_SUCCESS)
        st = PLOT_ERR_CAIRO;
    if (st == PLOT_OK) {
        size_t len = strlen(path);
        char *tmp = malloc(len + 8);
        if (!tmp) {
            st = PLOT_ERR_CAIRO;
        } else {
            snprintf(tmp, len + 8, "%s.tmp", path);
            cairo_surface_flush(f->surf);
            if (cairo_surface_write_to_png(f->surf, tmp) !=
                    CAIRO_STATUS_SUCCESS || rename(tmp, path) != 0) {
                remove(tmp);
                st = PLOT_ERR_IO;
            }
            free(tmp);
        }
    }
    if (st == PLOT_ERR_IO)
        fprintf(stderr, "plot: %s: cannot write (%s)\n", path,
                errno ? strerror(errno) : "cairo error");
    else if (st == PLOT_ERR_CAIRO)
        fprintf(stderr, "plot: %s: cairo failed: %s\n", path,
                f->cr ? cairo_status_to_string(cairo_status(f->cr)) : "");
    cairo_destroy(f->cr);
    cairo_surface_destroy(f->surf);
    return st;
}

static void set_rgb8(cairo_t *cr, int r, int g, int b)
{
    cairo_set_source_rgb(cr, r / 255.0, g / 255.0, b / 255.0);
}

/* Draws text with its anchor at (x, y): ax, ay in {0, 0.5, 1} pick left /
 * centre / right and top / middle / bottom of the ink box. */
static void text_at(cairo_t *cr, double x, double y, double ax, double ay,
                    const char *s)
{
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, s, &te);
    cairo_font_extents(cr, &fe);
    double h = fe.ascent * 0.75; /* cap height, near enough */
    cairo_move_to(cr, x - ax * te.x_advance, y + h - ay * h);
    cairo_show_text(cr, s);
}

static double text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    return te.x_advance;
}

// --- axes --------------------------------------------------------------------

typedef struct {
    double x0, y0, w, h;        /* the plotting box in pixels */
    double xmin, xmax, ymin, ymax;
    bool xlog;
} axes;

static double ax_px(const axes *a, double x)
{
    if (a->xlog) {
        double l = log10(x), l0 = log10(a->xmin), l1 = log10(a->xmax);
        return a->x0 + (l - l0) / (l1 - l0) * a->w;
    }
    return a->x0 + (x - a->xmin) / (a->xmax - a->xmin) * a->w;
}

static double ax_py(const axes *a, double y)
{
    return a->y0 + a->h - (y - a->ymin) / (a->ymax - a->ymin) * a->h;
}

/* A 1-2-5 step giving about 5 intervals over span. */
static double nice_step(double span)
{
    double raw = span / 5, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Sets the data range from the series with a 5% margin, as matplotlib's
 * autoscale does; a flat series gets a unit range. */
static void ax_fit(axes *a, const float *x, const float *y, size_t n)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(x[i]) && (!a->xlog || x[i] > 0)) {
            x0 = fmin(x0, x[i]);
            x1 = fmax(x1, x[i]);
        }
        if (isfinite(y[i])) {
            y0 = fmin(y0, y[i]);
            y1 = fmax(y1, y[i]);
        }
    }
    if (!(x0 <= x1)) { x0 = a->xlog ? 1e-7 : 0; x1 = a->xlog ? 1 : 1; }
    if (!(y0 <= y1)) { y0 = 0; y1 = 1; }
    if (x1 - x0 <= 0) { x0 = a->xlog ? x0 / 2 : x0 - 0.5;
                        x1 = a->xlog ? x1 * 2 : x1 + 0.5; }
    if (y1 - y0 <= 0) {
        y0 -= fabs(y0) * 0.1 + 0.5;
        y1 += fabs(y1) * 0.1 + 0.5;
    }
    if (a->xlog) {
        double l0 = log10(x0), l1 = log10(x1), m = (l1 - l0) * 0.05;
        a->xmin = pow(10, l0 - m);
        a->xmax = pow(10, l1 + m);
    } else {
        double m = (x1 - x0) * 0.05;
        a->xmin = x0 - m;
        a->xmax = x1 + m;
    }
    double m = (y1 - y0) * 0.05;
    a->ymin = y0 - m;
    a->ymax = y1 + m;
}

static void tick_x(cairo_t *cr, const axes *a, double v, const char *label)
{
    double px = ax_px(a, v);
    cairo_move_to(cr, px, a->y0 + a->h);
    cairo_line_to(cr, px, a->y0 + a->h + 5);
    cairo_stroke(cr);
    text_at(cr, px, a->y0 + a->h + 9, 0.5, 0, label);
}

static void tick_y(cairo_t *cr, const axes *a, double v, const char *label)
{
    double py = ax_py(a, v);
    cairo_move_to(cr, a->x0, py);
    cairo_line_to(cr, a->x0 - 5, py);
    cairo_stroke(cr);
    text_at(cr, a->x0 - 8, py, 1, 0.5, label);
}

/* Frame, ticks with labels, and the two axis labels. Log ticks sit on
 * powers of ten and print as "%.0e" (1e-04), as fastai's recorder.plot sets
 * with FormatStrFormatter. */
static void ax_draw(cairo_t *cr, const axes *a, const char *xlabel,
                    const char *ylabel)
{
    char buf[32];
    set_rgb8(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 12);
    if (a->xlog) {
        int e0 = (int)ceil(log10(a->xmin) - 1e-9);
        int e1 = (int)floor(log10(a->xmax) + 1e-9);
        int every = (e1 - e0) / 8 + 1;
        for (int e = e0; e <= e1; e++) {
            if ((e - e0) % every)
                continue;
            snprintf(buf, sizeof buf, "%.0e", pow(10, e));
            tick_x(cr, a, pow(10, e), buf);
        }
    } else {
        double s = nice_step(a->xmax - a->xmin);
        for (double v = ceil(a->xmin / s) * s; v <= a->xmax; v += s) {
            snprintf(buf, sizeof buf, "%g", fabs(v) < s * 1e-6 ? 0 : v);
            tick_x(cr, a, v, buf);
        }
    }
    double s = nice_step(a->ymax - a->ymin);
    double wmax = 0;
    for (double v = ceil(a->ymin / s) * s; v <= a->ymax; v += s) {
        snprintf(buf, sizeof buf, "%.3g", fabs(v) < s * 1e-6 ? 0 : v);
        tick_y(cr, a, v, buf);
        wmax = fmax(wmax, text_width(cr, buf));
    }
    cairo_set_font_size(cr, 14);
    if (xlabel)
        text_at(cr, a->x0 + a->w / 2, a->y0 + a->h + 30, 0.5, 0, xlabel);
    if (ylabel) {
        cairo_save(cr);
        cairo_translate(cr, a->x0 - wmax - 20, a->y0 + a->h / 2);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, 0, 0, 0.5, 1, ylabel);
        cairo_restore(cr);
    }
}

static void ax_line(cairo_t *cr, const axes *a, const float *x, const float *y,
                    size_t n)
{
    bool pen = false;
    cairo_save(cr);
    cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
    cairo_clip(cr);
    set_rgb8(cr, 0x1f, 0x77, 0xb4);
    cairo_set_line_width(cr, 1.5);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (size_t i = 0; i < n; i++) {
        bool ok = isfinite(x[i]) && isfinite(y[i]) && (!a->xlog || x[i] > 0);
        if (!ok) {
            pen = false;
            continue;
        }
        if (pen)
            cairo_line_to(cr, ax_px(a, x[i]), ax_py(a, y[i]));
        else
            cairo_move_to(cr, ax_px(a, x[i]), ax_py(a, y[i]));
        pen = true;
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

// --- recorder plots ----------------------------------------------------------

plot_status harness_plot_lr_find(const char *path, const float *lrs,
                                 const float *losses, size_t n,
                                 size_t skip_start, size_t skip_end,
                                 size_t suggest_idx)
{
    if (n == 0) {
        fprintf(stderr, "plot: %s: no points to plot\n", path);
        return PLOT_ERR_ARG;
    }
    size_t lo = skip_start, hi = n > skip_end ? n - skip_end : 0;
    if (hi < lo + 2) {
        lo = 0;
        hi = n;
    }
    figure f;
    plot_status st = fig_open(&f, 640, 480);
    if (st == PLOT_OK) {
        axes a = {.x0 = 90, .y0 = 30, .w = 520, .h = 380, .xlog = true};
        ax_fit(&a, lrs + lo, losses + lo, hi - lo);
        ax_draw(f.cr, &a, "Learning Rate", "Loss");
        ax_line(f.cr, &a, lrs + lo, losses + lo, hi - lo);
        if (suggest_idx < n && lrs[suggest_idx] > 0 &&
            isfinite(losses[suggest_idx])) {
            set_rgb8(f.cr, 0xd6, 0x27, 0x28);
            cairo_arc(f.cr, ax_px(&a, lrs[suggest_idx]),
                      ax_py(&a, losses[suggest_idx]), 6, 0, 2 * M_PI);
            cairo_fill(f.cr);
        }
    }
    return fig_close(&f, path, st);
}

plot_status harness_plot_lr_mom(const char *path, const float *lrs,
                                const float *moms, size_t n)
{
    if (n == 0) {
        fprintf(stderr, "plot: %s: no points to plot\n", path);
        return PLOT_ERR_ARG;
    }
    float *it = malloc(n * sizeof *it);
    if (!it)
        return PLOT_ERR_CAIRO;
    for (size_t i = 0; i < n; i++)
        it[i] = (float)i;
    figure f;
    plot_status st = fig_open(&f, 1200, 400);
    if (st == PLOT_OK) {
        axes a = {.x0 = 100, .y0 = 25, .w = 460, .h = 310};
        ax_fit(&a, it, lrs, n);
        ax_draw(f.cr, &a, "Iterations", "Learning Rate");
        ax_line(f.cr, &a, it, lrs, n);
        axes b = {.x0 = 700, .y0 = 25, .w = 460, .h = 310};
        ax_fit(&b, it, moms, n);
        ax_draw(f.cr, &b, "Iterations", "Momentum");
        ax_line(f.cr, &b, it, moms, n);
    }
    free(it);
    return fig_close(&f, path, st);
}

// --- confusion matrix --------------------------------------------------------

/* matplotlib 'Blues' at t in [0, 1], from its nine anchor colours. */
static void blues(double t, double rgb[3])
{
    static const unsigned char c[9][3] = {
        {247, 251, 255}, {222, 235, 247}, {198, 219, 239},
        {158, 202, 225}, {107, 174, 214}, {66, 146, 198},
        {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};
    t = fmin(fmax(t, 0), 1) * 8;
    int i = (int)fmin(floor(t), 7);
    double u = t - i;
    for (int k = 0; k < 3; k++)
        rgb[k] = ((1 - u) * c[i][k] + u * c[i + 1][k]) / 255.0;
}

static void confusion_cells(cairo_t *cr, const int64_t *cm, size_t nc,
                            double x0, double y0, double cell)
{
    int64_t max = 0;
    for (size_t i = 0; i < nc * nc; i++)
        max = cm[i] > max ? cm[i] : max;
    cairo_set_font_size(cr, fmin(12, cell * 0.45));
    for (size_t r = 0; r < nc; r++) {
        for (size_t c = 0; c < nc; c++) {
            int64_t v = cm[r * nc + c];
            double rgb[3];
            blues(max ? (double)v / max : 0, rgb);
            cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
            cairo_rectangle(cr, x0 + c * cell, y0 + r * cell, cell, cell);
            cairo_fill(cr);
            char buf[24];
            snprintf(buf, sizeof buf, "%lld", (long long)v);
            /* plot_confusion_matrix: white if value > max/2 (thresh) */
            if (2 * v > max)
                cairo_set_source_rgb(cr, 1, 1, 1);
            else
                cairo_set_source_rgb(cr, 0, 0, 0);
            text_at(cr, x0 + (c + 0.5) * cell, y0 + (r + 0.5) * cell, 0.5,
                    0.5, buf);
        }
    }
}

plot_status harness_plot_confusion(const char *path, const int64_t *cm,
                                   size_t nc, const char *const *names)
{
    if (nc == 0) {
        fprintf(stderr, "plot: %s: no classes\n", path);
        return PLOT_ERR_ARG;
    }
    double cell = fmax(18, fmin(60, 640.0 / nc));
    /* measure the longest name to size the margins */
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *m = cairo_create(s);
    cairo_select_font_face(m, FONT, CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(m, 12);
    double tw = 0;
    for (size_t i = 0; i < nc; i++)
        tw = fmax(tw, text_width(m, names[i]));
    cairo_destroy(m);
    cairo_surface_destroy(s);
    double x0 = tw + 50, y0 = 50, side = cell * nc;
    figure f;
    plot_status st = fig_open(&f, (int)(x0 + side + 30),
                              (int)(y0 + side + tw + 50));
    if (st != PLOT_OK)
        return fig_close(&f, path, st);
    cairo_t *cr = f.cr;
    cairo_set_font_size(cr, 16);
    set_rgb8(cr, 0, 0, 0);
    text_at(cr, x0 + side / 2, 14, 0.5, 0, "Confusion matrix");
    confusion_cells(cr, cm, nc, x0, y0, cell);
    set_rgb8(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x0, y0, side, side);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 12);
    for (size_t i = 0; i < nc; i++) {
        double mid = (i + 0.5) * cell;
        text_at(cr, x0 - 6, y0 + mid, 1, 0.5, names[i]);
        cairo_save(cr);
        cairo_translate(cr, x0 + mid, y0 + side + 6);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, 0, 0, 1, 0.5, names[i]);
        cairo_restore(cr);
    }
    cairo_set_font_size(cr, 14);
    text_at(cr, x0 + side / 2, y0 + side + tw + 18, 0.5, 0, "Predicted");
    cairo_save(cr);
    cairo_translate(cr, 14, y0 + side / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, 0.5, 0, "Actual");
    cairo_restore(cr);
    return fig_close(&f, path, st);
}

// --- image grids -------------------------------------------------------------

static size_t count_lines(const char *s)
{
    size_t n = 1;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* Shows one RGB8 image scaled into a side x side box at (x, y). */
static plot_status draw_image(cairo_t *cr, const plot_image *im, double x,
                              double y, double side)
{
    cairo_surface_t *s =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, im->w, im->h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return PLOT_ERR_CAIRO;
    cairo_surface_flush(s);
    unsigned char *px = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int r = 0; r < im->h; r++) {
        uint32_t *row = (uint32_t *)(px + (size_t)r * stride);
        const uint8_t *src = im->rgb + (size_t)r * im->w * 3;
        for (int c = 0; c < im->w; c++)
            row[c] = (uint32_t)src[3 * c] << 16 |
                     (uint32_t)src[3 * c + 1] << 8 | src[3 * c + 2];
    }
    cairo_surface_mark_dirty(s);
    double k = side / (im->w > im->h ? im->w : im->h);
    cairo_save(cr);
    cairo_translate(cr, x + (side - k * im->w) / 2, y + (side - k * im->h) / 2);
    cairo_scale(cr, k, k);
    cairo_set_source_surface(cr, s, 0, 0);
    /* small images (Fashion-MNIST) stay crisp; big ones are smoothed */
    cairo_pattern_set_filter(cairo_get_source(cr),
                             k >= 2 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(s);
    return PLOT_OK;
}

static void draw_title(cairo_t *cr, const char *title, double cx, double y,
                       double line)
{
    char buf[256];
    const char *p = title;
    for (int i = 0; p; i++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        memcpy(buf, p, len);
        buf[len] = 0;
        text_at(cr, cx, y + i * line, 0.5, 0, buf);
        p = nl ? nl + 1 : NULL;
    }
}

plot_status harness_plot_image_grid(const char *path, const plot_image *imgs,
                                    size_t n, const char *suptitle)
{
    if (n == 0) {
        fprintf(stderr, "plot: %s: no images\n", path);
        return PLOT_ERR_ARG;
    }
    size_t cols = (size_t)ceil(sqrt((double)n)), rows = (n + cols - 1) / cols;
    size_t lines = 1;
    for (size_t i = 0; i < n; i++)
        if (imgs[i].title && count_lines(imgs[i].title) > lines)
            lines = count_lines(imgs[i].title);
    double side = 200, gap = 16, line = 16, head = lines * line + 6;
    double top = suptitle ? 40 : 10;
    figure f;
    plot_status st = fig_open(&f, (int)(cols * (side + gap) + gap),
                              (int)(top + rows * (side + head + gap)));
    for (size_t i = 0; st == PLOT_OK && i < n; i++) {
        double x = gap + (i % cols) * (side + gap);
        double y = top + (i / cols) * (side + head + gap);
        cairo_set_font_size(f.cr, 13);
        set_rgb8(f.cr, 0, 0, 0);
        if (imgs[i].title)
            draw_title(f.cr, imgs[i].title, x + side / 2, y, line);
        if (imgs[i].w <= 0 || imgs[i].h <= 0 || !imgs[i].rgb)
            st = PLOT_ERR_ARG;
        else
            st = draw_image(f.cr, &imgs[i], x, y + head, side);
    }
    if (st == PLOT_OK && suptitle) {
        cairo_set_font_size(f.cr, 18);
        set_rgb8(f.cr, 0, 0, 0);
        text_at(f.cr, (cols * (side + gap) + gap) / 2, 12, 0.5, 0, suptitle);
    }
    if (st == PLOT_ERR_ARG)
        fprintf(stderr, "plot: %s: image without pixels\n", path);
    return fig_close(&f, path, st);
}

plot_status harness_plot_read_png_size(const char *path, int *width,
                                       int *height)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    cairo_status_t cs = cairo_surface_status(s);
    if (cs != CAIRO_STATUS_SUCCESS) {
        fprintf(stderr, "plot: %s: not a readable PNG (%s)\n", path,
                cairo_status_to_string(cs));
        cairo_surface_destroy(s);
        return PLOT_ERR_IO;
    }
    *width = cairo_image_surface_get_width(s);
    *height = cairo_image_surface_get_height(s);
    cairo_surface_destroy(s);
    return PLOT_OK;
}
