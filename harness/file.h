/*
 * harness/file.h: whole files in and out of memory.
 *
 * - harness_file_read: the whole file into one malloc'd buffer (plus a
 *   trailing NUL that is not counted, so text can be parsed in place).
 * - harness_file_write_atomic: the file appears complete or not at all:
 *   the bytes go to PATH.tmp in the same folder, are fsync'd, renamed over
 *   PATH, and the folder is fsync'd so the rename itself is durable. On any
 *   failure PATH keeps its old content and PATH.tmp is removed.
 * - harness_mkdir_p: mkdir -p (existing folders are fine).
 *
 * Every failure returns a status other than HARNESS_FILE_OK and describes
 * itself in one line, "<operation> <path>: <strerror>", written to err
 * (truncated to err_cap, NUL-terminated) or, when err is NULL, to stderr.
 */
#ifndef RESIN_HARNESS_FILE_H
#define RESIN_HARNESS_FILE_H

#include <stddef.h>

typedef enum harness_file_status {
    HARNESS_FILE_OK = 0,
    HARNESS_FILE_EOPEN,  /* could not open, create or stat */
    HARNESS_FILE_EIO,    /* read, write, fsync, close or rename failed */
    HARNESS_FILE_ENOMEM, /* the buffer could not be allocated */
} harness_file_status;

/* On success *data (free() it) holds *size bytes followed by a NUL. On
 * failure *data is NULL and *size 0. */
harness_file_status harness_file_read(const char *path, void **data,
                                      size_t *size, char *err,
                                      size_t err_cap);

/* Replaces (or creates) path with size bytes of data, atomically. */
harness_file_status harness_file_write_atomic(const char *path,
                                              const void *data, size_t size,
                                              char *err, size_t err_cap);

/* Creates path and its missing parents (mode 0777 before umask). */
harness_file_status harness_mkdir_p(const char *path, char *err,
                                    size_t err_cap);

#endif /* RESIN_HARNESS_FILE_H */
