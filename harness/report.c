/*
 * harness/report.c: epoch table, progress line, history.csv (report.h).
 */
#include "harness/report.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

void harness_format_mmss(char buf[16], double seconds)
{
    if (!(seconds >= 0) || seconds > 6e6) {
        snprintf(buf, 16, "--:--");
        return;
    }
    unsigned s = (unsigned)lround(seconds);
    snprintf(buf, 16, "%02u:%02u", s / 60 % 100000u, s % 60);
}

// --- the table ---------------------------------------------------------------

/* Column widths: each name plus two spaces, as fastprogress pads them. */
static const char *const table_cols[] = {"epoch", "train_loss", "valid_loss",
                                         "error_rate", "time"};

void harness_table_header(FILE *f)
{
    for (size_t i = 0; i < 4; i++)
        fprintf(f, "%-*s", (int)strlen(table_cols[i]) + 2, table_cols[i]);
    fprintf(f, "%s\n", table_cols[4]);
    fflush(f);
}

void harness_table_row(FILE *f, int epoch, double train_loss,
                       double valid_loss, double error_rate, double seconds)
{
    char t[16];
    harness_format_mmss(t, seconds);
    fprintf(f, "%-7d%-12.6f%-12.6f%-12.6f%s\n", epoch, train_loss, valid_loss,
            error_rate, t);
    fflush(f);
}

// --- progress ----------------------------------------------------------------

double harness_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void harness_progress_start(harness_progress *p, FILE *f, bool tty,
                            const char *label, size_t total)
{
    *p = (harness_progress){.f = f, .tty = tty, .total = total,
                            .t0 = harness_now(), .label = label};
    p->next_plain = total >= 10 ? total / 10 : 1;
}

void harness_progress_update(harness_progress *p, size_t done, double loss,
                             double images)
{
    if (!p->tty && done < p->next_plain && done != p->total)
        return;
    double dt = harness_now() - p->t0;
    double ips = dt > 0 ? images / dt : 0;
    double left = done ? dt * (double)(p->total - done) / done : NAN;
    char tl[16], te[16];
    harness_format_mmss(tl, left);
    harness_format_mmss(te, dt);
    if (p->tty) {
        char bar[21];
        size_t fill = p->total ? done * 20 / p->total : 0;
        for (size_t i = 0; i < 20; i++)
            bar[i] = i < fill ? '#' : '-';
        bar[20] = 0;
        int w = fprintf(p->f, "\r%s [%s] %zu/%zu loss %.4f  %.1f img/s  "
                        "%s<%s ", p->label, bar, done, p->total, loss, ips,
                        te, tl);
        for (int i = w; i < p->width; i++)
            fputc(' ', p->f);
        p->width = w;
    } else {
        fprintf(p->f, "%s %zu/%zu loss %.4f  %.1f img/s  %s elapsed, %s "
                "left\n", p->label, done, p->total, loss, ips, te, tl);
        while (p->next_plain <= done)
            p->next_plain += p->total >= 10 ? p->total / 10 : 1;
    }
    fflush(p->f);
}

void harness_progress_end(harness_progress *p)
{
    if (p->tty && p->width) {
        fprintf(p->f, "\r%*s\r", p->width, "");
        fflush(p->f);
    }
    p->width = 0;
}

// --- history.csv -------------------------------------------------------------

bool harness_history_open(harness_history *h, const char *path, bool append)
{
    h->f = fopen(path, append ? "a" : "w");
    if (!h->f) {
        fprintf(stderr, "history: %s: cannot open: %s\n", path,
                strerror(errno));
        return false;
    }
    if (ftell(h->f) == 0)
        fprintf(h->f, "%s\n", HARNESS_HISTORY_HEADER);
    fflush(h->f);
    return true;
}

void harness_history_iter(harness_history *h, int stage, const char *phase,
                          size_t iteration, double lr, double mom,
                          double smooth_loss)
{
    if (!h->f)
        return;
    fprintf(h->f, "iter,%d,%s,%zu,,%.9g,%.9g,%.9g,,,,\n", stage, phase,
            iteration, lr, mom, smooth_loss);
}

void harness_history_epoch(harness_history *h, int stage, int epoch,
                           double train_loss, double valid_loss,
                           double error_rate, double seconds)
{
    if (!h->f)
        return;
    fprintf(h->f, "epoch,%d,fit,,%d,,,,%.9g,%.9g,%.9g,%.3f\n", stage, epoch,
            train_loss, valid_loss, error_rate, seconds);
    fflush(h->f);
}

void harness_history_close(harness_history *h)
{
    if (h->f)
        fclose(h->f);
    h->f = NULL;
}
