/*
 * harness/dataset.h: ImageDataBunch.from_name_re(path, fnames, pat,
 * valid_pct=0.2) with np.random.seed(2): a folder of JPEGs -> items, labels,
 * classes and the train/valid split, plus the data_source the loaders read.
 *
 * Order of work, as fastai: list the image files (sorted here, directory
 * order in fastai) -> split over that list (numpy MT19937 permutation,
 * data/split.h) -> label by regex (a name that does not match is reported
 * once and left out) -> read every file's JPEG header (a bad file is
 * reported once, with the reason, and left out) -> classes = sorted unique
 * training labels; a valid item whose label is not a class is dropped.
 * Splitting the full listing keeps fastai's N and cut (7390, 1478 on Pets).
 */
#ifndef RESIN_HARNESS_DATASET_H
#define RESIN_HARNESS_DATASET_H

#include <stdatomic.h>
#include <stdio.h>

#include "data/loader.h"
#include "harness/images.h"

typedef struct harness_dataset_opts {
    const char *dir;
    const char *pattern;   /* NULL: HARNESS_DEFAULT_PATTERN */
    double valid_pct;      /* 0.2 */
    uint32_t split_seed;   /* 2 */
    int size;              /* 224: the short side the decode keeps */
    bool full_decode;      /* decode at full size (parity with PIL) */
    size_t max_pixels;     /* 0: HARNESS_JPEG_MAX_PIXELS_DEFAULT */
    FILE *log;             /* NULL: stderr */
} harness_dataset_opts;

typedef struct harness_dataset {
    size_t n;                 /* usable items */
    char **paths;             /* (n) */
    int32_t *labels;          /* (n) class index */
    int *height, *width;      /* (n) in the file */
    size_t nclasses;
    char **classes;           /* (nclasses) sorted by code point */
    size_t ntrain, nvalid;
    size_t *train;            /* (ntrain) item indices, listing order */
    size_t *valid;            /* (nvalid) item indices, permutation order */
    /* counts for the report */
    size_t listed, unlabelled, bad, dropped_valid;
    size_t max_file_bytes;
    data_source source;       /* for data_loader_create */
    /* private */
    harness_dataset_opts opts;
    atomic_uchar *reported;   /* (n) decode warning/failure logged once */
} harness_dataset;

harness_data_status harness_dataset_open(const harness_dataset_opts *o,
                                         harness_dataset *ds);
void harness_dataset_free(harness_dataset *ds);

/* predict: one JPEG file -> out (3, size, size) through the valid
 * transforms. Allocates per call; false (with a line in log) on a bad file. */
bool harness_image_to_input(const char *path, int size, bool full_decode,
                            float *out, FILE *log);

#endif /* RESIN_HARNESS_DATASET_H */
