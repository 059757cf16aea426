/*
 * nn/checkpoint.h: the model <-> safetensors (nn/safetensors.h), in caller
 * memory. Freestanding.
 *
 * What a checkpoint holds (fastai's save('stage-1') with the optimizer):
 *   <name>                         F32, every parameter (torchvision names for
 *                                  the body, head.* for the head; model.h)
 *   <bn>.running_mean/_var         F32
 *   <bn>.num_batches_tracked       I64 scalar (the same count for every BN)
 *   opt.exp_avg.<name>             F32 Adam first moment (with_opt)
 *   opt.exp_avg_sq.<name>          F32 Adam second moment (with_opt)
 *   opt.step                       I64 (6): step count per optimizer group
 *   metadata resin.model = "resnet34-fastai-head", resin.classes = C,
 *            resin.frozen = "0" / "1", format = "pt", then the caller's own
 *            keys (at most NN_CKPT_META_MAX: class names, resume position).
 *
 * Loading accepts the project's own files and torchvision resnet34 state
 * dicts saved as safetensors: fc.* is ignored, every other unknown tensor,
 * every model tensor the file lacks, and every tensor whose dtype or shape
 * differs is reported by name (and left untouched). A torchvision file thus
 * loads the body and reports the head as missing: the caller keeps the fresh
 * head (create_cnn) and treats missing body tensors as the error.
 */
#ifndef RESIN_NN_CHECKPOINT_H
#define RESIN_NN_CHECKPOINT_H

#include "nn/model.h"
#include "nn/safetensors.h"

#define NN_CKPT_MAX_TENSORS (3 * NN_PARAMS + 2 * NN_BNS * 2 + 8)
#define NN_CKPT_META_MAX 32 /* caller metadata pairs per checkpoint */

typedef struct nn_ckpt_report {
    size_t loaded;                /* tensors copied into the model */
    size_t missing;               /* model tensors the file lacks */
    size_t unknown;               /* file tensors the model lacks (not fc.*) */
    size_t mismatched;            /* wrong dtype or shape */
    size_t ignored;               /* fc.* */
    bool has_optimizer;           /* moments and step counts were loaded */
    char text[4096];              /* "missing: a, b; unknown: c; ..." */
} nn_ckpt_report;

/* Exact bytes of the checkpoint nn_ckpt_write would produce with the same
 * arguments. */
nn_st_status nn_ckpt_size(const nn_model *m, bool with_opt,
                          const nn_st_meta *extra, size_t nextra,
                          size_t *bytes, char *msg, size_t msg_cap);

/* Serialises the model (and, with_opt, the optimizer) into buf, with the
 * nextra caller metadata pairs after the project's own (NN_ST_EARG beyond
 * NN_CKPT_META_MAX). */
nn_st_status nn_ckpt_write(const nn_model *m, bool with_opt,
                           const nn_st_meta *extra, size_t nextra, void *buf,
                           size_t cap, size_t *bytes, char *msg,
                           size_t msg_cap);

/* Loads what matches by name, dtype and shape (see above). scratch: at least
 * what nn_st_read_scratch reports for the file. Returns NN_ST_EFORMAT for a
 * file that is not valid safetensors (msg says why), NN_ST_OK otherwise;
 * the report says what was loaded. A project checkpoint also restores the
 * freeze state, moments and step counts (has_optimizer). */
nn_st_status nn_ckpt_load(nn_model *m, const void *file, size_t size,
                          void *scratch, size_t scratch_bytes,
                          nn_ckpt_report *report, char *msg, size_t msg_cap);

#endif /* RESIN_NN_CHECKPOINT_H */
