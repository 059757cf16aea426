/*
 * harness/report.h: what train prints and logs while it runs.
 *
 * - The per-epoch table of fastai 1.0.42 (+ the time column of 1.0.46):
 *   `epoch  train_loss  valid_loss  error_rate  time`, epoch numbered from
 *   1, floats with 6 decimals, time as mm:ss.
 * - A progress line: on a terminal one line redrawn in place with the
 *   smoothed loss, images/s and time left; otherwise a plain line at every
 *   tenth of the run, so logs stay readable.
 * - history.csv: one row per iteration (stage, phase, iteration, lr,
 *   momentum, smoothed loss) and one per epoch (train_loss, valid_loss,
 *   error_rate, seconds); the columns are fixed (HARNESS_HISTORY_HEADER),
 *   unused fields are empty. Rows are flushed as they are written.
 */
#ifndef RESIN_HARNESS_REPORT_H
#define RESIN_HARNESS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* "mm:ss" (minutes may exceed 59; negative or NaN prints "--:--"). */
void harness_format_mmss(char buf[16], double seconds);

void harness_table_header(FILE *f);
void harness_table_row(FILE *f, int epoch, double train_loss,
                       double valid_loss, double error_rate, double seconds);

typedef struct {
    FILE *f;
    bool tty;         /* redraw in place */
    size_t total;     /* iterations in this bar */
    size_t next_plain;/* next iteration that gets a plain line */
    double t0;        /* start, seconds */
    const char *label;
    int width;        /* columns of the last tty line, to clear it */
} harness_progress;

double harness_now(void); /* monotonic seconds */

void harness_progress_start(harness_progress *p, FILE *f, bool tty,
                            const char *label, size_t total);
/* done iterations of total, images seen so far in this bar. */
void harness_progress_update(harness_progress *p, size_t done, double loss,
                             double images);
/* Clears a tty line (the table row comes next). */
void harness_progress_end(harness_progress *p);

#define HARNESS_HISTORY_HEADER                                               \
    "kind,stage,phase,iteration,epoch,lr,momentum,smooth_loss,train_loss,"    \
    "valid_loss,error_rate,seconds"

typedef struct {
    FILE *f;
} harness_history;

/* Opens path for writing (append keeps the rows already there; the header is
 * written when the file is new or empty). Logs and returns false on error. */
bool harness_history_open(harness_history *h, const char *path, bool append);
void harness_history_iter(harness_history *h, int stage, const char *phase,
                          size_t iteration, double lr, double mom,
                          double smooth_loss);
void harness_history_epoch(harness_history *h, int stage, int epoch,
                           double train_loss, double valid_loss,
                           double error_rate, double seconds);
void harness_history_close(harness_history *h);

#endif /* RESIN_HARNESS_REPORT_H */
