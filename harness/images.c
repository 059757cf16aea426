/*
 * harness/images.c: see images.h.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "harness/images.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

static FILE *log_or_stderr(FILE *log) { return log ? log : stderr; }

/* Python 3.11 mimetypes types_map entries whose type starts with image/. */
static const char *const image_exts[] = {
    "avif", "bmp", "gif", "heic", "heif", "ico", "ief", "jpe", "jpeg", "jpg",
    "pbm", "pgm", "png", "pnm", "ppm", "ras", "rgb", "svg", "tif", "tiff",
    "webp", "xbm", "xpm", "xwd"};

bool harness_is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.')
        return false;
    char ext[8];
    size_t n = strlen(dot + 1);
    if (n == 0 || n >= sizeof ext)
        return false;
    for (size_t i = 0; i <= n; i++)
        ext[i] = (char)tolower((unsigned char)dot[1 + i]);
    for (size_t i = 0; i < sizeof image_exts / sizeof *image_exts; i++)
        if (strcmp(ext, image_exts[i]) == 0)
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

harness_data_status harness_list_images(const char *dir,
                                        harness_image_list *out, FILE *log)
{
    *out = (harness_image_list){0};
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(log_or_stderr(log), "resin: cannot list %s: %s\n", dir,
                strerror(errno));
        return HARNESS_DATA_ERR_IO;
    }
    size_t cap = 0, dlen = strlen(dir);
    bool slash = dlen > 0 && dir[dlen - 1] == '/';
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!harness_is_image_name(e->d_name))
            continue;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 256;
            char **p = realloc(out->paths, cap * sizeof *p);
            if (!p)
                goto nomem;
            out->paths = p;
        }
        size_t len = dlen + 1 + strlen(e->d_name) + 1;
        char *path = malloc(len);
        if (!path)
            goto nomem;
        snprintf(path, len, "%s%s%s", dir, slash ? "" : "/", e->d_name);
        out->paths[out->n++] = path;
    }
    closedir(d);
    /* names share the dir prefix, so sorting paths sorts names */
    qsort(out->paths, out->n, sizeof *out->paths, cmp_str);
    return HARNESS_DATA_OK;
nomem:
    closedir(d);
    harness_image_list_free(out);
    fprintf(log_or_stderr(log), "resin: listing %s: out of memory\n", dir);
    return HARNESS_DATA_ERR_NOMEM;
}

void harness_image_list_free(harness_image_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    *l = (harness_image_list){0};
}

// --- labels ------------------------------------------------------------------

struct harness_labeler {
    pcre2_code *code;
};

harness_labeler *harness_labeler_create(const char *pattern, FILE *log)
{
    int err;
    PCRE2_SIZE off;
    /* UTF so [^/] takes a whole character; paths that are not valid UTF-8
     * still match instead of failing */
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err,
                                     &off, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        fprintf(log_or_stderr(log), "resin: label pattern '%s': at offset %zu: "
                "%s\n", pattern, (size_t)off, (char *)msg);
        return NULL;
    }
    uint32_t groups = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
    if (groups < 1) {
        fprintf(log_or_stderr(log), "resin: label pattern '%s': needs a capture"
                " group, e.g. '/([^/]+)_\\d+.jpg$'\n", pattern);
        pcre2_code_free(code);
        return NULL;
    }
    harness_labeler *lb = malloc(sizeof *lb);
    if (!lb) {
        pcre2_code_free(code);
        return NULL;
    }
    lb->code = code;
    return lb;
}

int harness_labeler_apply(const harness_labeler *lb, const char *path,
                          char *buf, size_t cap)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(lb->code, NULL);
    if (!md)
        return -1;
    int rc = pcre2_match(lb->code, (PCRE2_SPTR)path, PCRE2_ZERO_TERMINATED, 0,
                         0, md, NULL);
    int len = -1;
    if (rc >= 2) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[2] != PCRE2_UNSET) {
            size_t n = ov[3] - ov[2];
            if (n + 1 > cap) {
                len = -2;
            } else {
                memcpy(buf, path + ov[2], n);
                buf[n] = '\0';
                len = (int)n;
            }
        }
    }
    pcre2_match_data_free(md);
    return len;
}

void harness_labeler_free(harness_labeler *lb)
{
    if (!lb)
        return;
    pcre2_code_free(lb->code);
    free(lb);
}
