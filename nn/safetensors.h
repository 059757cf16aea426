/*
 * nn/safetensors.h: the safetensors file format, written into and parsed
 * from caller-owned memory. Freestanding: no allocation, no files, no libc.
 *
 * Layout (huggingface/safetensors README and src/tensor.rs):
 *   bytes 0..8      N, the header length, u64 little-endian
 *   bytes 8..8+N    a UTF-8 JSON object, padded with spaces (0x20):
 *                   {"__metadata__": {str: str},            (optional)
 *                    "name": {"dtype": "F32", "shape": [2, 3],
 *                             "data_offsets": [begin, end]}, ...}
 *   bytes 8+N..     the data buffer; offsets are relative to its start;
 *                   tensors are little-endian, C order, no strides.
 *
 * Writer: tensors are stored back to back in the order given, the header
 * lists __metadata__ first and then the tensors in that order, and N is
 * padded to a multiple of 8 so the data buffer starts 8-byte aligned in the
 * file. A tensor's data is aligned only as far as the sizes before it allow:
 * readers must treat data pointers as unaligned bytes.
 *
 * Reader, in two calls: nn_st_read_scratch checks the framing and JSON
 * syntax and says how many scratch bytes the parse needs; nn_st_read then
 * validates everything the reference implementation does:
 *   - N <= NN_ST_MAX_HEADER (100,000,000) and 8 + N <= file size;
 *   - the header is UTF-8 and one JSON object (surrounding whitespace ok);
 *   - every tensor entry has dtype (a known name), shape (non-negative
 *     integers) and data_offsets ([begin, end], integers); other keys are
 *     ignored, as serde does; __metadata__ maps strings to strings;
 *   - no duplicate tensor names (after JSON unescaping);
 *   - end - begin == numel * dtype size, without overflow;
 *   - the entries, sorted by offsets, tile [0, data size) with no gap or
 *     overlap, the last end being the data buffer's length.
 * Names are unescaped into the scratch (NUL-terminated; a name containing
 * U+0000 is rejected), and tensors are looked up by binary search.
 *
 * Every error writes one line into the caller's message buffer (truncated
 * to fit, always NUL-terminated when msg_cap > 0) naming the tensor, or the
 * file offset for framing and syntax errors, and the reason.
 * Little-endian hosts only (x86-64, AArch64), checked at compile time.
 */
#ifndef RESIN_NN_SAFETENSORS_H
#define RESIN_NN_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NN_ST_MAX_HEADER 100000000u
#define NN_ST_MAX_DIM 8 /* ours: a higher rank is rejected with a message */

typedef enum nn_st_dtype {
    NN_ST_BOOL,
    NN_ST_U8,
    NN_ST_I8,
    NN_ST_F8_E5M2,
    NN_ST_F8_E4M3,
    NN_ST_I16,
    NN_ST_U16,
    NN_ST_F16,
    NN_ST_BF16,
    NN_ST_I32,
    NN_ST_U32,
    NN_ST_F32,
    NN_ST_F64,
    NN_ST_I64,
    NN_ST_U64,
    NN_ST_DTYPE_COUNT
} nn_st_dtype;

/* Bytes per element; 0 for an invalid dtype. */
size_t nn_st_dtype_size(nn_st_dtype dtype);
/* "F32", "I64", ... as they appear in the header; NULL for an invalid dtype. */
const char *nn_st_dtype_name(nn_st_dtype dtype);

typedef struct nn_st_tensor {
    const char *name;             /* UTF-8, NUL-terminated */
    nn_st_dtype dtype;
    size_t ndim;                  /* 0 for a scalar */
    uint64_t shape[NN_ST_MAX_DIM];
    const void *data;   /* numel * dtype size bytes; may be unaligned, and
                           NULL when that is 0. Reader: points into the file */
    uint64_t nbytes;    /* reader: end - begin; ignored by the writer */
} nn_st_tensor;

typedef struct nn_st_meta {
    const char *key;   /* UTF-8, NUL-terminated */
    const char *value;
} nn_st_meta;

typedef enum nn_st_status {
    NN_ST_OK = 0,
    NN_ST_EARG,   /* writer: an invalid tensor or metadata description */
    NN_ST_ESPACE, /* the output buffer or the scratch is too small */
    NN_ST_EFORMAT /* reader: the file is not valid safetensors */
} nn_st_status;

// --- writer ------------------------------------------------------------------
/* Exact size of the file nn_st_write would produce. Checks the descriptions:
 * known dtype, ndim <= NN_ST_MAX_DIM, valid UTF-8 names and metadata, no
 * duplicate or "__metadata__" tensor name, data present, no size overflow.
 * Duplicates are found by comparing all pairs (checkpoints hold hundreds of
 * tensors, not millions). */
nn_st_status nn_st_write_size(const nn_st_tensor *tensors, size_t ntensors,
                              const nn_st_meta *meta, size_t nmeta,
                              size_t *bytes, char *msg, size_t msg_cap);

/* Writes the file into buf[0..cap) and its size into *bytes. Fails with
 * NN_ST_ESPACE, writing nothing, if cap is smaller than nn_st_write_size. */
nn_st_status nn_st_write(void *buf, size_t cap, const nn_st_tensor *tensors,
                         size_t ntensors, const nn_st_meta *meta, size_t nmeta,
                         size_t *bytes, char *msg, size_t msg_cap);

// --- reader ------------------------------------------------------------------
typedef struct nn_st_file {
    const unsigned char *file;  /* the whole file, as given */
    size_t size;
    uint64_t header_len;        /* N */
    const unsigned char *data;  /* file + 8 + N */
    uint64_t data_len;
    nn_st_tensor *tensors;      /* (ntensors) in header order, in scratch */
    size_t ntensors;
    nn_st_meta *meta;           /* (nmeta) in header order, in scratch */
    size_t nmeta;
    uint32_t *by_name;          /* (ntensors) indices sorted by name */
    uint32_t *meta_by_key;      /* (nmeta) indices sorted by key */
} nn_st_file;

/* Checks the framing and the JSON syntax of the header and sets
 * *scratch_bytes to what nn_st_read needs for this file. */
nn_st_status nn_st_read_scratch(const void *file, size_t size,
                                size_t *scratch_bytes, char *msg,
                                size_t msg_cap);

/* Parses and validates the whole file (see the top of this header). The
 * file and the scratch must outlive *f; the scratch needs no alignment. */
nn_st_status nn_st_read(nn_st_file *f, const void *file, size_t size,
                        void *scratch, size_t scratch_bytes, char *msg,
                        size_t msg_cap);

/* The tensor called name, or NULL. */
const nn_st_tensor *nn_st_find(const nn_st_file *f, const char *name);
/* The metadata value for key, or NULL. */
const char *nn_st_meta_get(const nn_st_file *f, const char *key);

/* numel * dtype size, false on overflow or an invalid dtype/ndim. */
bool nn_st_tensor_bytes(const nn_st_tensor *t, uint64_t *bytes);

#endif /* RESIN_NN_SAFETENSORS_H */
