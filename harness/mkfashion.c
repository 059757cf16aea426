/*
 * harness/mkfashion.c: writes Fashion-MNIST as named JPEG files, so the demo
 * runs the same file-name-labelled workflow as the pets data set.
 *
 *   harness/mkfashion [--per-class N] SRC_DIR OUT_DIR
 *
 * SRC_DIR holds the IDX files of the Debian package dataset-fashion-mnist
 * (/usr/share/datasets/fashion-mnist/train-{images-idx3,labels-idx1}-ubyte.gz,
 * gzip-compressed; read through `gzip -dc`). The first N images of each class
 * in file order (all if N is not given) are written as 28x28 greyscale JPEGs
 * OUT_DIR/<class>_<n>.jpg, n counting within the class from 1, so the fastai
 * pattern /([^/]+)_\d+.jpg$ recovers the class. Class names are those of the
 * data set's README with '/' and spaces made file-safe (T-shirt_top,
 * Ankle_boot). Exits 0 on success, 1 with one line naming file and reason.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

static const char *const class_names[10] = {
    "T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle_boot"};

/* Reads a whole gzip file through gzip -dc into a malloc'ed buffer. */
static uint8_t *read_gz(const char *path, size_t *len)
{
    char cmd[4200];
    if (snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path) >= (int)sizeof cmd)
        return NULL;
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, p)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    if (pclose(p) != 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static int fail(const char *file, const char *why)
{
    fprintf(stderr, "mkfashion: %s: %s\n", file, why);
    return 1;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != 0)
            continue;
        char c = *p;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return fail(buf, strerror(errno));
        if (!(*p = c))
            return 0;
    }
}

static int write_jpeg(tjhandle tj, const char *path, const uint8_t *px)
{
    unsigned char *jpg = NULL;
    unsigned long size = 0;
    if (tjCompress2(tj, px, 28, 28, 28, TJPF_GRAY, &jpg, &size, TJSAMP_GRAY,
                    95, TJFLAG_ACCURATEDCT) != 0)
        return fail(path, tjGetErrorStr2(tj));
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(jpg, 1, size, f) != size;
    if (f && fclose(f) != 0)
        bad = 1;
    tjFree(jpg);
    return bad ? fail(path, strerror(errno)) : 0;
}

int main(int argc, char **argv)
{
    long per_class = -1;
    int a = 1;
    if (a + 1 < argc && strcmp(argv[a], "--per-class") == 0) {
        per_class = strtol(argv[a + 1], NULL, 10);
        a += 2;
    }
    if (argc - a != 2 || per_class == 0) {
        fprintf(stderr, "usage: mkfashion [--per-class N] SRC_DIR OUT_DIR\n");
        return 2;
    }
    char ip[4096], lp[4096], out[4200];
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte.gz", argv[a]);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte.gz", argv[a]);
    size_t ni, nl;
    uint8_t *img = read_gz(ip, &ni), *lab = read_gz(lp, &nl);
    if (!img)
        return fail(ip, "cannot read (missing, or not gzip)");
    if (!lab)
        return fail(lp, "cannot read (missing, or not gzip)");
    if (ni < 16 || be32(img) != 0x803 || be32(img + 8) != 28 ||
        be32(img + 12) != 28 || ni < 16 + (size_t)be32(img + 4) * 784)
        return fail(ip, "not an IDX file of 28x28 images");
    if (nl < 8 || be32(lab) != 0x801 || be32(lab + 4) != be32(img + 4) ||
        nl < 8 + (size_t)be32(lab + 4))
        return fail(lp, "not an IDX label file matching the images");
    if (make_dirs(argv[a + 1]))
        return 1;
    tjhandle tj = tjInitCompress();
    long count[10] = {0};
    size_t n = be32(img + 4), written = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = lab[8 + i];
        if (c > 9)
            return fail(lp, "label outside 0..9");
        if (per_class > 0 && count[c] >= per_class)
            continue;
        snprintf(out, sizeof out, "%s/%s_%ld.jpg", argv[a + 1],
                 class_names[c], ++count[c]);
        if (write_jpeg(tj, out, img + 16 + i * 784))
            return 1;
        written++;
    }
    tjDestroy(tj);
    free(img);
    free(lab);
    printf("mkfashion: wrote %zu images (10 classes) to %s\n", written,
           argv[a + 1]);
    return 0;
}
