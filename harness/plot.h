/*
 * harness/plot.h: the training figures, drawn with cairo and written as PNG.
 *
 * Each function draws one figure the way fastai v1's recorder and
 * ClassificationInterpretation draw it with matplotlib (axis labels, log
 * ticks formatted like "1e-04", a red dot at the suggested lr, counts in the
 * confusion cells, white text above max/2) and writes it atomically (a
 * temporary file renamed over the target). cairo gives anti-aliased lines and
 * text without a hand-written rasteriser.
 *
 * Every function returns PLOT_OK or logs one line "plot: <path>: <reason>"
 * on stderr and returns an error status. Nothing here keeps state.
 */
#ifndef RESIN_HARNESS_PLOT_H
#define RESIN_HARNESS_PLOT_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    PLOT_OK = 0,
    PLOT_ERR_ARG,   /* empty series, bad sizes */
    PLOT_ERR_CAIRO, /* surface or drawing failed (out of memory) */
    PLOT_ERR_IO,    /* could not write the file */
} plot_status;

/* recorder.plot(): smoothed loss (y) against lr (x, log axis), labels
 * "Learning Rate" / "Loss". Plots points [skip_start, n - skip_end) as
 * fastai does (it uses 10 and 5); if that leaves fewer than 2 points all
 * points are drawn. suggest_idx (an index into lrs, or SIZE_MAX for none)
 * gets a red dot. */
plot_status harness_plot_lr_find(const char *path, const float *lrs,
                                 const float *losses, size_t n,
                                 size_t skip_start, size_t skip_end,
                                 size_t suggest_idx);

/* recorder.plot_lr(show_moms=True): 1x2 panels, lr per iteration and
 * momentum per iteration, x label "Iterations". */
plot_status harness_plot_lr_mom(const char *path, const float *lrs,
                                const float *moms, size_t n);

/* plot_confusion_matrix(): counts cm[a * nc + p] (rows = actual), class
 * names on both axes (x rotated 90 degrees), "Predicted" / "Actual", each
 * cell annotated, text white where count > max / 2, 'Blues' colour map. */
plot_status harness_plot_confusion(const char *path, const int64_t *cm,
                                   size_t nc, const char *const *names);

/* A grid of RGB8 images, each (h, w, 3) row-major, ceil(sqrt(n)) columns,
 * one title per image (may contain '\n'), an optional suptitle (NULL for
 * none). show_batch and plot_top_losses both use it. */
typedef struct {
    const uint8_t *rgb; /* (h, w, 3) */
    int h, w;
    const char *title;
} plot_image;

plot_status harness_plot_image_grid(const char *path, const plot_image *imgs,
                                    size_t n, const char *suptitle);

/* Checks that path is a PNG cairo can read and returns its size in
 * *width, *height (for tests and the harness's own self-checks). */
plot_status harness_plot_read_png_size(const char *path, int *width,
                                       int *height);

#endif /* RESIN_HARNESS_PLOT_H */
