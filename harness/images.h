/*
 * harness/images.h: the image files of a folder and their labels, as fastai
 * v1's get_image_files + from_name_re see them.
 *
 * Listing: non-recursive, names starting with '.' skipped, kept when the
 * last dot-suffix, lower-cased, is an image extension of Python's mimetypes
 * table (.jpg .jpeg .png .gif ...). Sorted by name (strcmp), where fastai
 * keeps the directory order, so a run is reproducible on any file system.
 *
 * Labels: the first capture group of a PCRE2 pattern (Python syntax, as
 * users write it for fastai) searched in the FULL path, e.g. the fastai
 * default "/([^/]+)_\d+.jpg$" gives "american_pit_bull_terrier" for
 * ".../american_pit_bull_terrier_69.jpg".
 */
#ifndef RESIN_HARNESS_IMAGES_H
#define RESIN_HARNESS_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum harness_data_status {
    HARNESS_DATA_OK = 0,
    HARNESS_DATA_ERR_IO,       /* folder cannot be listed */
    HARNESS_DATA_ERR_PATTERN,  /* regex does not compile / has no group */
    HARNESS_DATA_ERR_NO_MATCH, /* no file name matches the pattern */
    HARNESS_DATA_ERR_EMPTY,    /* nothing usable left */
    HARNESS_DATA_ERR_NOMEM,
} harness_data_status;

#define HARNESS_DEFAULT_PATTERN "/([^/]+)_\\d+.jpg$"

typedef struct harness_image_list {
    size_t n;
    char **paths; /* (n) "dir/name", sorted by name */
} harness_image_list;

bool harness_is_image_name(const char *name);
/* Lists dir; logs one line to log (stderr if NULL) on failure. */
harness_data_status harness_list_images(const char *dir,
                                        harness_image_list *out, FILE *log);
void harness_image_list_free(harness_image_list *l);

typedef struct harness_labeler harness_labeler;
/* Compiles pattern; NULL (with one line naming the pattern, the offset and
 * PCRE2's reason in log) if it does not compile or has no capture group. */
harness_labeler *harness_labeler_create(const char *pattern, FILE *log);
/* Copies group 1 of the first match in path into buf (NUL-terminated).
 * Returns its length, -1 if the pattern does not match (or group 1 did not
 * take part), -2 if buf is too small. */
int harness_labeler_apply(const harness_labeler *lb, const char *path,
                          char *buf, size_t cap);
void harness_labeler_free(harness_labeler *lb);

#endif /* RESIN_HARNESS_IMAGES_H */
