/*
 * harness/ckpt.h: model checkpoints as safetensors files.
 *
 * A checkpoint holds every parameter and BN running statistic under the
 * model's names (the body's are torchvision's resnet34 state-dict names, so
 * an ImageNet file loads as it is), optionally the Adam state
 * ("opt.exp_avg.<name>", "opt.exp_avg_sq.<name>"), all float32
 * little-endian, and string metadata (__metadata__): the class names, image
 * size, and for resuming the position in the workflow. The format is
 * nn/safetensors.h; files are written with harness_file_write_atomic, so a
 * crash leaves the old checkpoint or the new one, never half of one.
 */
#ifndef RESIN_HARNESS_CKPT_H
#define RESIN_HARNESS_CKPT_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/checkpoint.h"

#define CKPT_META_MAX NN_CKPT_META_MAX

typedef struct {
    const char *key, *value;
} ckpt_kv;

/* Writes the model (and, with_opt, its optimizer state) plus nkv metadata
 * pairs to path atomically. Logs one line and returns false on error. */
bool harness_ckpt_save(const char *path, const nn_model *m, bool with_opt,
                       const ckpt_kv *kv, size_t nkv);

/* A parsed file: the raw bytes plus the tensor index and metadata. */
typedef struct ckpt_file ckpt_file;

ckpt_file *harness_ckpt_open(const char *path); /* NULL + one line on error */
void harness_ckpt_close(ckpt_file *f);
/* Metadata value, or NULL. */
const char *harness_ckpt_meta(const ckpt_file *f, const char *key);

typedef struct {
    size_t loaded;      /* tensors copied into the model */
    size_t missing;     /* model parameters/statistics not in the file */
    size_t ignored;     /* file tensors the model has no use for (fc.*) */
    bool has_optimizer; /* the Adam state and step counts were loaded */
    char text[4096];    /* "missing a; unknown b; ..." (nn_ckpt_report) */
} ckpt_load_report;

/* Loads the file into the model through nn/checkpoint.h: every tensor whose
 * name, dtype and shape match, the freeze state of a project checkpoint and,
 * when present, the optimizer state. A matching name with another dtype or
 * shape, or (with_opt) a file without the optimizer state, is an error
 * (false + one line); missing and unused names are only reported (an
 * ImageNet file's fc.* and the new head). */
bool harness_ckpt_load(const ckpt_file *f, nn_model *m, bool with_opt,
                       ckpt_load_report *rep);

#endif /* RESIN_HARNESS_CKPT_H */
