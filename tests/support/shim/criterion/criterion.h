/*
 * tests/support/shim/criterion/criterion.h: a single-process stand-in for the
 * subset of Criterion that resin's tests use, for the AArch64 test binaries run
 * under qemu-user.
 *
 * Why: Criterion runs each test in a re-exec'd child (BoxFort), which under
 * qemu-user needs binfmt_misc and an arm64 Criterion that conflicts with the
 * native package (see platform notes). The same test sources compiled against
 * this header run in one process, print one line per failure and close with
 * "N passed, N failed, N skipped". A crash ends the binary with a non-zero
 * status, which the runner counts as a failure.
 *
 * Supported: Test(suite, name[, .disabled = ..]), cr_assert*, cr_expect*,
 * cr_fail, cr_skip_test, cr_log_*, cr_assert_float_eq, comparison asserts.
 */
#ifndef RESIN_TESTS_CRSHIM_H
#define RESIN_TESTS_CRSHIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct crshim_opts { bool disabled; int timeout; const char *description; };

struct crshim_test {
    const char *suite, *name;
    void (*fn)(void);
    struct crshim_opts opts;
    struct crshim_test *next;
};

void crshim_register(struct crshim_test *t);
_Noreturn void crshim_fail(const char *file, int line, const char *expr,
                           const char *fmt, ...);
void crshim_expect_fail(const char *file, int line, const char *expr,
                        const char *fmt, ...);
_Noreturn void crshim_skip(const char *fmt, ...);
void crshim_log(const char *level, const char *fmt, ...);

#define Test(suite, name, ...)                                               \
    static void crshim_fn_##suite##_##name(void);                            \
    static struct crshim_test crshim_t_##suite##_##name = {                  \
        #suite, #name, crshim_fn_##suite##_##name,                           \
        { __VA_ARGS__ }, NULL };                                             \
    __attribute__((constructor)) static void crshim_reg_##suite##_##name(    \
        void) { crshim_register(&crshim_t_##suite##_##name); }               \
    static void crshim_fn_##suite##_##name(void)

#define crshim_check(kind, cond, text, ...)                                  \
    do { if (!(cond)) kind(__FILE__, __LINE__, text, "" __VA_ARGS__); }     \
    while (0)

#define cr_assert(cond, ...) crshim_check(crshim_fail, cond, #cond, __VA_ARGS__)
#define cr_expect(cond, ...)                                                 \
    crshim_check(crshim_expect_fail, cond, #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) cr_assert(!(cond), __VA_ARGS__)
#define cr_expect_not(cond, ...) cr_expect(!(cond), __VA_ARGS__)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
#define cr_expect_eq(a, b, ...) cr_expect((a) == (b), __VA_ARGS__)
#define cr_expect_lt(a, b, ...) cr_expect((a) < (b), __VA_ARGS__)
#define cr_expect_leq(a, b, ...) cr_expect((a) <= (b), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0, __VA_ARGS__)
#define cr_assert_float_eq(a, b, eps, ...)                                   \
    cr_assert(((a) - (b) <= (eps)) && ((b) - (a) <= (eps)), __VA_ARGS__)
#define cr_expect_float_eq(a, b, eps, ...)                                   \
    cr_expect(((a) - (b) <= (eps)) && ((b) - (a) <= (eps)), __VA_ARGS__)
#define cr_fail(...) crshim_expect_fail(__FILE__, __LINE__, "cr_fail", "" __VA_ARGS__)
#define cr_assert_fail(...) crshim_fail(__FILE__, __LINE__, "cr_assert_fail", "" __VA_ARGS__)
#define cr_skip_test(...) crshim_skip("" __VA_ARGS__)
#define cr_log_info(...) crshim_log("info", __VA_ARGS__)
#define cr_log_warn(...) crshim_log("warn", __VA_ARGS__)
#define cr_log_error(...) crshim_log("error", __VA_ARGS__)

#endif /* RESIN_TESTS_CRSHIM_H */
