/*
 * tests/harness/test-report.c: the epoch table format, mm:ss, history.csv
 * columns, the non-tty progress lines.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/report.h"

/* What fn prints, in a malloc'ed string (through a file, not a memstream,
 * so the buffer never aliases a stream's internals). */
static char *capture(void (*fn)(FILE *))
{
    FILE *f = tmpfile();
    cr_assert(f);
    fn(f);
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(f);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

static void header(FILE *f) { harness_table_header(f); }
static void row(FILE *f)
{
    harness_table_row(f, 1, 1.41, 0.358, 0.102165, 86.4);
}

Test(report, table_header_and_row)
{
    char *h = capture(header), *r = capture(row);
    cr_expect_str_eq(h, "epoch  train_loss  valid_loss  error_rate  time\n");
    cr_expect_str_eq(r, "1      1.410000    0.358000    0.102165    01:26\n");
    /* columns line up: each value starts where its header does */
    cr_expect_eq(strstr(r, "0.358") - r, strstr(h, "valid_loss") - h);
    cr_expect_eq(strstr(r, "01:26") - r, strstr(h, "time") - h);
    free(h);
    free(r);
}

Test(report, mmss)
{
    char b[16];
    harness_format_mmss(b, 0);
    cr_expect_str_eq(b, "00:00");
    harness_format_mmss(b, 59.6);
    cr_expect_str_eq(b, "01:00");
    harness_format_mmss(b, 3725);
    cr_expect_str_eq(b, "62:05");
    harness_format_mmss(b, NAN);
    cr_expect_str_eq(b, "--:--");
}

static size_t count_fields(const char *line)
{
    size_t n = 1;
    for (; *line && *line != '\n'; line++)
        n += *line == ',';
    return n;
}

Test(report, history_csv_columns)
{
    char path[] = "/tmp/resin-hist-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    harness_history h;
    cr_assert(harness_history_open(&h, path, false));
    harness_history_iter(&h, 1, "lr_find", 0, 1e-7, 0.9, 3.6);
    harness_history_iter(&h, 1, "fit", 7, 1.2e-4, 0.95, 2.5);
    harness_history_epoch(&h, 1, 1, 1.41, 0.358, 0.102, 26.5);
    harness_history_close(&h);
    cr_assert(harness_history_open(&h, path, true)); /* no second header */
    harness_history_epoch(&h, 2, 1, 0.2, 0.2, 0.06, 20);
    harness_history_close(&h);

    FILE *f = fopen(path, "r");
    char line[512];
    size_t n = 0, cols = count_fields(HARNESS_HISTORY_HEADER);
    cr_assert_eq(cols, 12);
    while (fgets(line, sizeof line, f)) {
        cr_expect_eq(count_fields(line), cols, "line %zu: %s", n, line);
        if (n == 0)
            cr_expect_eq(strncmp(line, HARNESS_HISTORY_HEADER,
                                 strlen(HARNESS_HISTORY_HEADER)), 0);
        n++;
    }
    fclose(f);
    cr_expect_eq(n, 5, "header + 4 rows, got %zu lines", n);
    f = fopen(path, "r");
    fgets(line, sizeof line, f);
    fgets(line, sizeof line, f);
    cr_expect_eq(strncmp(line, "iter,1,lr_find,0,,1e-07,0.9,3.6", 31), 0,
                 "%s", line);
    fclose(f);
    remove(path);
}

Test(report, plain_progress_prints_tenths)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    harness_progress p;
    harness_progress_start(&p, f, false, "epoch 1", 100);
    for (size_t i = 1; i <= 100; i++)
        harness_progress_update(&p, i, 1.0, i * 8.0);
    harness_progress_end(&p);
    fclose(f);
    size_t lines = 0;
    for (char *c = buf; *c; c++)
        lines += *c == '\n';
    cr_expect_eq(lines, 10, "got %zu lines:\n%s", lines, buf);
    cr_expect(strstr(buf, "epoch 1 100/100 loss 1.0000") != NULL, "%s", buf);
    free(buf);
}
