/*
 * tests/harness/test-file.c: whole-file read, atomic write, mkdir -p.
 *
 * Each test works in its own fresh folder under /tmp. The failure cases are
 * made without relying on permissions (the tests may run as root): a
 * folder squatting on PATH.tmp makes the create fail, RLIMIT_FSIZE makes a
 * write fail half-way like a full disk.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/file.h"

static char *fresh_dir(void)
{
    static char tmpl[64];
    strcpy(tmpl, "/tmp/resin-test-file-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
    return tmpl;
}

static char *join(const char *dir, const char *name)
{
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void rm_rf(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

static void expect_content(const char *path, const void *want, size_t n)
{
    void *data = NULL;
    size_t size = 1;
    char err[256];
    cr_assert_eq(harness_file_read(path, &data, &size, err, sizeof err),
                 HARNESS_FILE_OK, "%s", err);
    cr_expect_eq(size, n, "%s: %zu bytes, want %zu", path, size, n);
    cr_expect(size == n && memcmp(data, want, n) == 0, "%s: content", path);
    cr_expect_eq(((char *)data)[size], '\0', "trailing NUL");
    free(data);
}

Test(file, write_then_read)
{
    char *dir = fresh_dir();
    char *path = join(dir, "a.bin");
    unsigned char bytes[3000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 7 + 1);
    char err[256];
    cr_assert_eq(harness_file_write_atomic(path, bytes, sizeof bytes, err,
                                           sizeof err), HARNESS_FILE_OK, "%s",
                 err);
    expect_content(path, bytes, sizeof bytes);
    cr_expect_neq(access(join(dir, "a.bin.tmp"), F_OK), 0, "tmp left over");
    /* Empty files are files too. */
    cr_assert_eq(harness_file_write_atomic(path, "", 0, err, sizeof err),
                 HARNESS_FILE_OK, "%s", err);
    expect_content(path, "", 0);
    rm_rf(dir);
}

Test(file, atomic_write_replaces)
{
    char *dir = fresh_dir();
    char *path = join(dir, "model.safetensors");
    char err[256];
    cr_assert_eq(harness_file_write_atomic(path, "old content, longer", 19,
                                           err, sizeof err), HARNESS_FILE_OK);
    struct stat before;
    cr_assert_eq(stat(path, &before), 0);
    cr_assert_eq(harness_file_write_atomic(path, "new", 3, err, sizeof err),
                 HARNESS_FILE_OK, "%s", err);
    expect_content(path, "new", 3);
    struct stat after;
    cr_assert_eq(stat(path, &after), 0);
    cr_expect_neq(before.st_ino, after.st_ino,
                  "replaced by rename, not rewritten in place");
    rm_rf(dir);
}

Test(file, failed_create_keeps_old_file)
{
    char *dir = fresh_dir();
    char *path = join(dir, "stage-1.safetensors");
    char err[256];
    cr_assert_eq(harness_file_write_atomic(path, "old", 3, err, sizeof err),
                 HARNESS_FILE_OK);
    /* A folder where PATH.tmp must go: the create fails (EISDIR). */
    cr_assert_eq(mkdir(join(dir, "stage-1.safetensors.tmp"), 0755), 0);
    memset(err, 0, sizeof err);
    cr_expect_eq(harness_file_write_atomic(path, "new!", 4, err, sizeof err),
                 HARNESS_FILE_EOPEN);
    cr_expect(strstr(err, path) != NULL, "message names the path: %s", err);
    cr_expect(strstr(err, strerror(EISDIR)) != NULL, "and why: %s", err);
    expect_content(path, "old", 3);
    rm_rf(dir);
}

Test(file, failed_write_keeps_old_file)
{
    char *dir = fresh_dir();
    char *path = join(dir, "ckpt.bin");
    char err[256];
    cr_assert_eq(harness_file_write_atomic(path, "old", 3, err, sizeof err),
                 HARNESS_FILE_OK);
    /* Files may not grow past 4 KiB in this test process: the write fails
     * half-way with EFBIG, as on a full disk. Criterion runs each test in
     * its own process, so the limit does not leak. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {4096, 4096};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    size_t n = 1 << 20;
    char *big = calloc(1, n);
    cr_expect_eq(harness_file_write_atomic(path, big, n, err, sizeof err),
                 HARNESS_FILE_EIO);
    cr_expect(strstr(err, "ckpt.bin.tmp") != NULL, "names the file: %s", err);
    cr_expect(strstr(err, strerror(EFBIG)) != NULL, "and why: %s", err);
    cr_expect_neq(access(join(dir, "ckpt.bin.tmp"), F_OK), 0,
                  "the partial tmp file is removed");
    free(big);
    expect_content(path, "old", 3);
    rm_rf(dir);
}

Test(file, read_errors_name_the_path)
{
    char *dir = fresh_dir();
    char *path = join(dir, "missing.jpg");
    void *data = (void *)1;
    size_t size = 7;
    char err[256];
    cr_expect_eq(harness_file_read(path, &data, &size, err, sizeof err),
                 HARNESS_FILE_EOPEN);
    cr_expect(data == NULL && size == 0);
    cr_expect(strstr(err, path) != NULL, "%s", err);
    cr_expect(strstr(err, strerror(ENOENT)) != NULL, "%s", err);
    cr_expect_eq(harness_file_read(dir, &data, &size, err, sizeof err),
                 HARNESS_FILE_EOPEN);
    cr_expect(strstr(err, dir) != NULL && strstr(err, strerror(EISDIR)),
              "%s", err);
    /* A truncated message is still NUL-terminated. */
    char small[8];
    memset(small, 'X', sizeof small);
    harness_file_read(path, &data, &size, small, sizeof small);
    cr_expect_eq(strlen(small), 7);
    rm_rf(dir);
}

Test(file, reads_special_files_to_eof)
{
    /* st_size is 0 for /proc files: the reader must not trust it. */
    void *data = NULL;
    size_t size = 0;
    char err[256];
    cr_assert_eq(harness_file_read("/proc/self/status", &data, &size, err,
                                   sizeof err), HARNESS_FILE_OK, "%s", err);
    cr_expect_gt(size, 100);
    cr_expect(strstr(data, "Name:") == data, "starts with Name:");
    free(data);
}

Test(file, mkdir_p)
{
    char *dir = fresh_dir();
    char err[256];
    char *deep = join(dir, "models/stage-1/x");
    cr_assert_eq(harness_mkdir_p(deep, err, sizeof err), HARNESS_FILE_OK,
                 "%s", err);
    struct stat sb;
    cr_expect(stat(deep, &sb) == 0 && S_ISDIR(sb.st_mode));
    cr_expect_eq(harness_mkdir_p(deep, err, sizeof err), HARNESS_FILE_OK,
                 "existing folders are fine");
    char *trailing = join(dir, "models/stage-2/");
    cr_expect_eq(harness_mkdir_p(trailing, err, sizeof err), HARNESS_FILE_OK,
                 "%s", err);
    /* A file in the way. */
    char *file = join(dir, "models/file");
    cr_assert_eq(harness_file_write_atomic(file, "x", 1, err, sizeof err),
                 HARNESS_FILE_OK);
    char *under = join(dir, "models/file/sub");
    cr_expect_eq(harness_mkdir_p(under, err, sizeof err), HARNESS_FILE_EOPEN);
    cr_expect(strstr(err, file) != NULL, "names the blocking path: %s", err);
    cr_expect_eq(harness_mkdir_p("", err, sizeof err), HARNESS_FILE_EOPEN);
    rm_rf(dir);
}
