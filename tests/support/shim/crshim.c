/*
 * tests/support/shim/crshim.c: the runner behind the Criterion stand-in (see
 * criterion/criterion.h beside it). Usage: BINARY [--filter SUBSTRING].
 */
#include "criterion/criterion.h"

static struct crshim_test *tests_head;
static jmp_buf test_exit;
static int test_failed;

void crshim_register(struct crshim_test *t)
{
    /* Append so tests run in file order. */
    struct crshim_test **p = &tests_head;
    while (*p)
        p = &(*p)->next;
    *p = t;
}

static void report(const char *file, int line, const char *expr,
                   const char *fmt, va_list ap)
{
    fprintf(stderr, "[----] %s:%d: Assertion failed: %s", file, line, expr);
    if (fmt && *fmt) {
        fputs(": ", stderr);
        vfprintf(stderr, fmt, ap);
    }
    fputc('\n', stderr);
}

void crshim_fail(const char *file, int line, const char *expr,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(file, line, expr, fmt, ap);
    va_end(ap);
    longjmp(test_exit, 1);
}

void crshim_expect_fail(const char *file, int line, const char *expr,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(file, line, expr, fmt, ap);
    va_end(ap);
    test_failed = 1;
}

void crshim_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("[SKIP] ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    longjmp(test_exit, 2);
}

void crshim_log(const char *level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%s] ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int main(int argc, char **argv)
{
    const char *filter = argc > 2 && !strcmp(argv[1], "--filter") ? argv[2] : NULL;
    int passed = 0, failed = 0, skipped = 0;
    for (struct crshim_test *t = tests_head; t; t = t->next) {
        char full[256];
        snprintf(full, sizeof full, "%s::%s", t->suite, t->name);
        if (t->opts.disabled || (filter && !strstr(full, filter))) {
            skipped++;
            continue;
        }
        test_failed = 0;
        int r = setjmp(test_exit);
        if (r == 0)
            t->fn();
        if (r == 2) {
            skipped++;
        } else if (r == 1 || test_failed) {
            fprintf(stderr, "[FAIL] %s\n", full);
            failed++;
        } else {
            passed++;
        }
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
