/*
 * harness/file.c: see file.h. POSIX: open/read/write/fsync/rename.
 */
#include "harness/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// --- errors ------------------------------------------------------------------
/* "<op> <path>: <strerror(errnum)>" into err, or stderr when err is NULL. */
static harness_file_status fail(harness_file_status st, char *err,
                                size_t err_cap, int errnum, const char *op,
                                const char *path)
{
    if (err) {
        if (err_cap)
            snprintf(err, err_cap, "%s %s: %s", op, path, strerror(errnum));
    } else {
        fprintf(stderr, "%s %s: %s\n", op, path, strerror(errnum));
    }
    return st;
}

// --- read --------------------------------------------------------------------
/* Reads until EOF, growing the buffer: st_size may be 0 or stale for
 * special files (/proc, pipes). */
static harness_file_status read_fd(int fd, size_t hint, char **out,
                                   size_t *size, char *err, size_t err_cap,
                                   const char *path)
{
    size_t cap = hint + 1, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return fail(HARNESS_FILE_ENOMEM, err, err_cap, ENOMEM, "read", path);
    for (;;) {
        if (len == cap) {
            size_t ncap = cap * 2;
            char *nbuf = realloc(buf, ncap + 1);
            if (!nbuf) {
                free(buf);
                return fail(HARNESS_FILE_ENOMEM, err, err_cap, ENOMEM, "read",
                            path);
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            return fail(HARNESS_FILE_EIO, err, err_cap, e, "read", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    *size = len;
    return HARNESS_FILE_OK;
}

harness_file_status harness_file_read(const char *path, void **data,
                                      size_t *size, char *err,
                                      size_t err_cap)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(HARNESS_FILE_EOPEN, err, err_cap, errno, "open", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return fail(HARNESS_FILE_EOPEN, err, err_cap, e, "stat", path);
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return fail(HARNESS_FILE_EOPEN, err, err_cap, EISDIR, "read", path);
    }
    size_t hint = S_ISREG(sb.st_mode) ? (size_t)sb.st_size : 4096;
    char *buf = NULL;
    harness_file_status st = read_fd(fd, hint, &buf, size, err, err_cap,
                                     path);
    close(fd);
    *data = buf;
    return st;
}

// --- atomic write ------------------------------------------------------------
static bool write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* fsync of the folder holding path, so that a rename into it is durable. */
static harness_file_status sync_parent(const char *path, char *err,
                                       size_t err_cap)
{
    char *dir = strdup(path);
    if (!dir)
        return fail(HARNESS_FILE_ENOMEM, err, err_cap, ENOMEM, "fsync", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    harness_file_status st = HARNESS_FILE_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        st = fail(HARNESS_FILE_EOPEN, err, err_cap, errno, "open folder", dir);
    else if (fsync(fd) != 0 && errno != EINVAL)
        st = fail(HARNESS_FILE_EIO, err, err_cap, errno, "fsync folder", dir);
    if (fd >= 0)
        close(fd);
    free(dir);
    return st;
}

harness_file_status harness_file_write_atomic(const char *path,
                                              const void *data, size_t size,
                                              char *err, size_t err_cap)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);
    if (!tmp)
        return fail(HARNESS_FILE_ENOMEM, err, err_cap, ENOMEM, "write", path);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);

    harness_file_status st;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        st = fail(HARNESS_FILE_EOPEN, err, err_cap, errno, "create", tmp);
        goto fail_free;
    }
    if (!write_all(fd, data, size)) {
        st = fail(HARNESS_FILE_EIO, err, err_cap, errno, "write", tmp);
        goto fail_close;
    }
    if (fsync(fd) != 0) {
        st = fail(HARNESS_FILE_EIO, err, err_cap, errno, "fsync", tmp);
        goto fail_close;
    }
    if (close(fd) != 0) {
        st = fail(HARNESS_FILE_EIO, err, err_cap, errno, "close", tmp);
        goto fail_unlink;
    }
    if (rename(tmp, path) != 0) {
        st = fail(HARNESS_FILE_EIO, err, err_cap, errno, "rename to", path);
        goto fail_unlink;
    }
    free(tmp);
    return sync_parent(path, err, err_cap);

fail_close:
    close(fd);
fail_unlink:
    unlink(tmp);
fail_free:
    free(tmp);
    return st;
}

// --- mkdir -p ----------------------------------------------------------------
static bool is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

harness_file_status harness_mkdir_p(const char *path, char *err,
                                    size_t err_cap)
{
    if (!*path)
        return fail(HARNESS_FILE_EOPEN, err, err_cap, ENOENT, "mkdir", path);
    char *p = strdup(path);
    if (!p)
        return fail(HARNESS_FILE_ENOMEM, err, err_cap, ENOMEM, "mkdir", path);
    harness_file_status st = HARNESS_FILE_OK;
    /* Each prefix ending before a '/' (skipping the root), then the whole. */
    for (char *s = p + 1;; s++) {
        bool end = *s == '\0';
        if (*s != '/' && !end)
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && !(errno == EEXIST && is_dir(p))) {
            int e = errno == EEXIST ? ENOTDIR : errno;
            st = fail(HARNESS_FILE_EOPEN, err, err_cap, e, "mkdir", p);
            break;
        }
        if (end)
            break;
        *s = '/';
    }
    free(p);
    return st;
}
