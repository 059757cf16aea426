/*
 * harness/ckpt.c: nn_model checkpoints as files: the tensors, the format and
 * the loading rules are nn/checkpoint.h's (one writer, one reader for the
 * project); this file adds the caller's metadata and the file I/O through
 * harness/file (whole-file read, atomic write); see ckpt.h.
 */
#include "harness/ckpt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/file.h"
#include "nn/checkpoint.h"

// --- writing -----------------------------------------------------------------

bool harness_ckpt_save(const char *path, const nn_model *m, bool with_opt,
                       const ckpt_kv *kv, size_t nkv)
{
    nn_st_meta meta[CKPT_META_MAX];
    char msg[256] = "too many metadata pairs";
    size_t bytes = 0;
    void *buf = NULL;
    bool ok = nkv <= CKPT_META_MAX;
    for (size_t i = 0; ok && i < nkv; i++)
        meta[i] = (nn_st_meta){kv[i].key, kv[i].value};
    if (ok) {
        ok = nn_ckpt_size(m, with_opt, meta, nkv, &bytes, msg, sizeof msg) ==
             NN_ST_OK;
        if (ok && !(buf = malloc(bytes))) {
            snprintf(msg, sizeof msg, "out of memory (%zu bytes)", bytes);
            ok = false;
        }
        ok = ok && nn_ckpt_write(m, with_opt, meta, nkv, buf, bytes, &bytes,
                                 msg, sizeof msg) == NN_ST_OK;
    }
    if (!ok)
        fprintf(stderr, "checkpoint: %s: %s\n", path, msg);
    else
        ok = harness_file_write_atomic(path, buf, bytes, NULL, 0) ==
             HARNESS_FILE_OK;
    free(buf);
    return ok;
}

// --- reading -----------------------------------------------------------------

struct ckpt_file {
    char *path;
    void *bytes;
    size_t size;
    void *scratch;
    size_t scratch_bytes;
    nn_st_file st;
};

ckpt_file *harness_ckpt_open(const char *path)
{
    ckpt_file *f = calloc(1, sizeof *f);
    size_t size = 0, sb = 0;
    char msg[256] = "out of memory";
    if (!f || !(f->path = strdup(path)))
        goto fail;
    if (harness_file_read(path, &f->bytes, &size, msg, sizeof msg) !=
        HARNESS_FILE_OK)
        goto fail_quiet;
    if (nn_st_read_scratch(f->bytes, size, &sb, msg, sizeof msg) != NN_ST_OK)
        goto fail;
    if (!(f->scratch = malloc(sb ? sb : 1))) {
        snprintf(msg, sizeof msg, "out of memory");
        goto fail;
    }
    if (nn_st_read(&f->st, f->bytes, size, f->scratch, sb, msg, sizeof msg) !=
        NN_ST_OK)
        goto fail;
    f->size = size;
    f->scratch_bytes = sb;
    return f;
fail:
    fprintf(stderr, "checkpoint: %s: %s\n", path, msg);
    harness_ckpt_close(f);
    return NULL;
fail_quiet:
    fprintf(stderr, "checkpoint: %s\n", msg);
    harness_ckpt_close(f);
    return NULL;
}

void harness_ckpt_close(ckpt_file *f)
{
    if (!f)
        return;
    free(f->path);
    free(f->bytes);
    free(f->scratch);
    free(f);
}

const char *harness_ckpt_meta(const ckpt_file *f, const char *key)
{
    return nn_st_meta_get(&f->st, key);
}

bool harness_ckpt_load(const ckpt_file *f, nn_model *m, bool with_opt,
                       ckpt_load_report *r)
{
    static nn_ckpt_report nr; /* 4 KB of text: not on the stack */
    char msg[256];
    if (nn_ckpt_load(m, f->bytes, f->size, f->scratch, f->scratch_bytes, &nr,
                     msg, sizeof msg) != NN_ST_OK) {
        fprintf(stderr, "checkpoint: %s: %s\n", f->path, msg);
        return false;
    }
    *r = (ckpt_load_report){
        .loaded = nr.loaded, .missing = nr.missing,
        .ignored = nr.ignored + nr.unknown,
        .has_optimizer = nr.has_optimizer,
    };
    snprintf(r->text, sizeof r->text, "%s", nr.text);
    if (nr.mismatched) {
        fprintf(stderr, "checkpoint: %s: %zu tensors have another dtype or "
                "shape than the model's: %s\n", f->path, nr.mismatched,
                nr.text);
        return false;
    }
    if (with_opt && !nr.has_optimizer) {
        fprintf(stderr, "checkpoint: %s: no optimizer state\n", f->path);
        return false;
    }
    return true;
}
