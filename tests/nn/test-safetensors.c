/*
 * tests/nn/test-safetensors.c: the safetensors codec.
 *
 * - round trip through nn_st_write / nn_st_read, every dtype size, scalars,
 *   empty tensors, metadata, names needing JSON escapes;
 * - a file written by an independent stdlib-Python writer
 *   (fixtures/safetensors/gen-tiny.py -> tiny.safetensors);
 * - each malformed case gives its status and a message naming the tensor or
 *   the offset; every truncation and random byte flips of the fixture are
 *   rejected or parsed without crashing (run under ASan by make check).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/safetensors.h"
#include "tests/support/testutil.h"

#define FIXTURE "tests/nn/fixtures/safetensors/tiny.safetensors"

// --- helpers -----------------------------------------------------------------
typedef struct {
    nn_st_file f;
    void *scratch;
    nn_st_status st;
    char msg[256];
} reading;

/* Both calls of the reader; the scratch is poisoned first. */
static reading read_buf(const void *buf, size_t size)
{
    reading r;
    memset(&r, 0, sizeof r);
    memset(r.msg, 'X', sizeof r.msg - 1);
    size_t need = 0;
    r.st = nn_st_read_scratch(buf, size, &need, r.msg, sizeof r.msg);
    if (r.st)
        return r;
    r.scratch = malloc(need);
    tu_poison_bytes(r.scratch, need);
    r.st = nn_st_read(&r.f, buf, size, r.scratch, need, r.msg, sizeof r.msg);
    return r;
}

static void done(reading *r)
{
    free(r->scratch);
    r->scratch = NULL;
}

/* A file from header text and data bytes. Returns its size; *out is
 * malloc'd. */
static size_t make_file(const char *json, const void *data, size_t dlen,
                        unsigned char **out)
{
    size_t n = strlen(json);
    unsigned char *b = malloc(8 + n + dlen + 1);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    if (dlen)
        memcpy(b + 8 + n, data, dlen);
    *out = b;
    return 8 + n + dlen;
}

static void expect_error(const char *json, size_t dlen, nn_st_status want,
                         const char *needle)
{
    static const unsigned char zeros[256];
    unsigned char *file;
    size_t size = make_file(json, zeros, dlen, &file);
    reading r = read_buf(file, size);
    cr_expect_eq(r.st, want, "%s: status %d, want %d (%s)", json, r.st, want,
                 r.msg);
    cr_expect(strstr(r.msg, needle) != NULL,
              "%s: message \"%s\" lacks \"%s\"", json, r.msg, needle);
    done(&r);
    free(file);
}

static unsigned char *load_fixture(size_t *size)
{
    FILE *fp = fopen(FIXTURE, "rb");
    cr_assert_not_null(fp, "cannot open %s (tests run from the repo root)",
                       FIXTURE);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n);
    cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *size = (size_t)n;
    return buf;
}

// --- round trip --------------------------------------------------------------
Test(safetensors, round_trip)
{
    float w[2 * 3 * 2];
    for (int i = 0; i < 12; i++)
        w[i] = 0.25f * (float)i - 1.0f;
    int64_t steps = 987654321012;
    int64_t ids[3] = {-5, 0, INT64_MAX};
    double d[2] = {M_PI, -0.0};
    uint16_t h[3] = {0x3c00, 0xc000, 0x7bff};
    unsigned char b[5] = {1, 0, 1, 1, 0};
    const nn_st_tensor t[] = {
        {"0.0.weight", NN_ST_F32, 3, {2, 3, 2}, w},
        {"0.1.num_batches_tracked", NN_ST_I64, 0, {0}, &steps},
        {"ids", NN_ST_I64, 1, {3}, ids},
        {"empty", NN_ST_F32, 2, {0, 4}, NULL},
        {"d", NN_ST_F64, 1, {2}, d},
        {"h", NN_ST_F16, 1, {3}, h},
        {"quote\" back\\ tab\t caf\xc3\xa9", NN_ST_BOOL, 1, {5}, b},
    };
    const size_t nt = sizeof t / sizeof t[0];
    const nn_st_meta meta[] = {{"format", "pt"}, {"epoch", "4\n"}};
    char msg[200];
    size_t size = 0, written = 0;
    cr_assert_eq(nn_st_write_size(t, nt, meta, 2, &size, msg, sizeof msg),
                 NN_ST_OK, "%s", msg);
    unsigned char *buf = malloc(size + 16);
    memset(buf, 0xA5, size + 16);
    cr_assert_eq(nn_st_write(buf, size, t, nt, meta, 2, &written, msg,
                             sizeof msg), NN_ST_OK, "%s", msg);
    cr_assert_eq(written, size, "size query %zu, wrote %zu", size, written);
    cr_expect_eq(buf[size], 0xA5, "wrote past the end");

    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | buf[i];
    cr_expect_eq(hlen % 8, 0, "header length %llu not padded to 8",
                 (unsigned long long)hlen);
    cr_expect_eq(buf[8], '{');
    size_t last = 8 + hlen - 1;
    while (buf[last] == ' ')
        last--;
    cr_expect_eq(buf[last], '}', "the header is padded with spaces only");
    cr_expect_lt(8 + hlen - 1 - last, 8, "at most 7 padding bytes");

    reading r = read_buf(buf, size);
    cr_assert_eq(r.st, NN_ST_OK, "%s", r.msg);
    cr_assert_eq(r.f.ntensors, nt);
    cr_assert_eq(r.f.header_len, hlen);
    const unsigned char *data = buf + 8 + hlen;
    uint64_t offset = 0;
    for (size_t i = 0; i < nt; i++) {
        const nn_st_tensor *g = nn_st_find(&r.f, t[i].name);
        cr_assert_not_null(g, "tensor '%s' not found", t[i].name);
        cr_expect_eq(g, &r.f.tensors[i], "header order is the given order");
        cr_expect_eq(g->dtype, t[i].dtype);
        cr_expect_eq(g->ndim, t[i].ndim);
        for (size_t k = 0; k < t[i].ndim; k++)
            cr_expect_eq(g->shape[k], t[i].shape[k]);
        uint64_t nbytes;
        cr_assert(nn_st_tensor_bytes(&t[i], &nbytes));
        cr_expect_eq(g->nbytes, nbytes);
        cr_expect_eq((const unsigned char *)g->data, data + offset,
                     "'%s' stored in the given order", t[i].name);
        if (nbytes)
            cr_expect(memcmp(g->data, t[i].data, nbytes) == 0,
                      "'%s' bytes differ", t[i].name);
        offset += nbytes;
    }
    cr_expect_eq(r.f.data_len, offset);
    cr_expect(strcmp(nn_st_meta_get(&r.f, "format"), "pt") == 0);
    cr_expect(strcmp(nn_st_meta_get(&r.f, "epoch"), "4\n") == 0);
    cr_expect(nn_st_meta_get(&r.f, "nope") == NULL);
    cr_expect(nn_st_find(&r.f, "0.0.weigh") == NULL);
    cr_expect(nn_st_find(&r.f, "zzz") == NULL);
    done(&r);

    /* One byte short: ESPACE, nothing written. */
    memset(buf, 0xA5, size);
    cr_expect_eq(nn_st_write(buf, size - 1, t, nt, meta, 2, &written, msg,
                             sizeof msg), NN_ST_ESPACE);
    cr_expect(strstr(msg, "needs") != NULL, "%s", msg);
    cr_expect_eq(buf[0], 0xA5);
    free(buf);
}

Test(safetensors, empty_file_list)
{
    char msg[100];
    size_t size = 0, written = 0;
    cr_assert_eq(nn_st_write_size(NULL, 0, NULL, 0, &size, msg, sizeof msg),
                 NN_ST_OK);
    cr_expect_eq(size, 16, "8 + \"{}\" padded to 8");
    unsigned char buf[16];
    cr_assert_eq(nn_st_write(buf, sizeof buf, NULL, 0, NULL, 0, &written, msg,
                             sizeof msg), NN_ST_OK);
    cr_expect(memcmp(buf + 8, "{}      ", 8) == 0);
    reading r = read_buf(buf, sizeof buf);
    cr_assert_eq(r.st, NN_ST_OK, "%s", r.msg);
    cr_expect_eq(r.f.ntensors, 0);
    cr_expect(nn_st_find(&r.f, "a") == NULL);
    done(&r);
}

Test(safetensors, writer_rejects_bad_descriptions)
{
    static const float x[2] = {1, 2};
    char msg[200];
    size_t size;
    static const struct { nn_st_tensor t[2]; size_t n; const char *needle; }
        cases[] = {
        {{{"a", NN_ST_F32, 1, {2}, x}, {"a", NN_ST_F32, 1, {2}, x}}, 2,
         "tensor 'a': duplicate name"},
        {{{"__metadata__", NN_ST_F32, 1, {2}, x}}, 1, "reserved"},
        {{{"a", (nn_st_dtype)99, 1, {2}, x}}, 1, "tensor 'a': invalid dtype"},
        {{{"a", NN_ST_F32, 9, {2}, x}}, 1, "tensor 'a': 9 dimensions"},
        {{{"a", NN_ST_F32, 1, {2}, NULL}}, 1, "tensor 'a': data is NULL"},
        {{{"bad\xff", NN_ST_F32, 1, {2}, x}}, 1, "not valid UTF-8"},
        {{{"big", NN_ST_F32, 2, {1ull << 40, 1ull << 30}, x}}, 1,
         "tensor 'big': size overflows"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msg[0] = '\0';
        cr_expect_eq(nn_st_write_size(cases[i].t, cases[i].n, NULL, 0, &size,
                                      msg, sizeof msg), NN_ST_EARG,
                     "case %zu", i);
        cr_expect(strstr(msg, cases[i].needle) != NULL,
                  "case %zu: \"%s\" lacks \"%s\"", i, msg, cases[i].needle);
    }
    const nn_st_meta dup[2] = {{"k", "1"}, {"k", "2"}};
    cr_expect_eq(nn_st_write_size(NULL, 0, dup, 2, &size, msg, sizeof msg),
                 NN_ST_EARG);
    cr_expect(strstr(msg, "metadata 'k': duplicate key") != NULL, "%s", msg);
}

// --- the Python-written fixture ----------------------------------------------
Test(safetensors, reads_python_writer_fixture)
{
    size_t size;
    unsigned char *buf = load_fixture(&size);
    reading r = read_buf(buf, size);
    cr_assert_eq(r.st, NN_ST_OK, "%s", r.msg);
    cr_expect_eq(r.f.ntensors, 8);
    cr_expect_eq(r.f.header_len % 8, 0);
    cr_expect(strcmp(nn_st_meta_get(&r.f, "format"), "pt") == 0);
    cr_expect(strcmp(nn_st_meta_get(&r.f, "note"), "tab\there") == 0);

    /* The values gen-tiny.py packs. */
    const nn_st_tensor *t = nn_st_find(&r.f, "0.0.weight");
    cr_assert_not_null(t);
    cr_expect(t->dtype == NN_ST_F32 && t->ndim == 4 && t->shape[0] == 2 &&
              t->shape[1] == 3 && t->shape[2] == 1 && t->shape[3] == 1);
    for (int i = 0; i < 6; i++) {
        float v;
        memcpy(&v, (const char *)t->data + 4 * i, 4);
        cr_expect_eq(v, 0.5f * i - 1.0f, "0.0.weight[%d] = %g", i, v);
    }
    t = nn_st_find(&r.f, "0.1.num_batches_tracked");
    cr_assert_not_null(t);
    int64_t q;
    memcpy(&q, t->data, 8);
    cr_expect(t->dtype == NN_ST_I64 && t->ndim == 0 && q == 12345678901);

    t = nn_st_find(&r.f, "ids");
    cr_assert_not_null(t);
    static const int64_t ids[4] = {-1, 0, 1ll << 40, -(1ll << 62)};
    cr_expect(t->dtype == NN_ST_I64 && t->nbytes == 32 &&
              memcmp(t->data, ids, 32) == 0);

    t = nn_st_find(&r.f, "caf\xc3\xa9 \"q\""); /* "caf\u00e9 \"q\"" */
    cr_assert_not_null(t, "the \\u00e9 escape must decode to UTF-8");
    float f2[2];
    memcpy(f2, t->data, 8);
    cr_expect(f2[0] == 3.0f && f2[1] == 4.0f);

    t = nn_st_find(&r.f, "empty");
    cr_assert_not_null(t);
    cr_expect(t->ndim == 1 && t->shape[0] == 0 && t->nbytes == 0);

    t = nn_st_find(&r.f, "half");
    cr_assert_not_null(t);
    uint16_t h[2];
    memcpy(h, t->data, 4);
    cr_expect(t->dtype == NN_ST_F16 && h[0] == 0x3c00 && h[1] == 0xc100,
              "F16 1.0, -2.5 = 0x3c00, 0xc100");

    t = nn_st_find(&r.f, "pi");
    cr_assert_not_null(t);
    double pi;
    memcpy(&pi, t->data, 8);
    cr_expect(t->dtype == NN_ST_F64 && pi == M_PI);

    /* The official order: 8-byte dtypes first, then by name. */
    cr_expect(strcmp(r.f.tensors[0].name, "0.1.num_batches_tracked") == 0);
    cr_expect(strcmp(r.f.tensors[7].name, "half") == 0);

    /* Written again by the C writer in the same order, read back equal. */
    char msg[200];
    size_t out_size = 0;
    cr_assert_eq(nn_st_write_size(r.f.tensors, r.f.ntensors, r.f.meta,
                                  r.f.nmeta, &out_size, msg, sizeof msg),
                 NN_ST_OK, "%s", msg);
    unsigned char *out = malloc(out_size);
    cr_assert_eq(nn_st_write(out, out_size, r.f.tensors, r.f.ntensors,
                             r.f.meta, r.f.nmeta, &out_size, msg, sizeof msg),
                 NN_ST_OK, "%s", msg);
    cr_expect(memcmp(out + out_size - r.f.data_len, r.f.data,
                     r.f.data_len) == 0, "same data buffer");
    reading r2 = read_buf(out, out_size);
    cr_assert_eq(r2.st, NN_ST_OK, "%s", r2.msg);
    cr_expect_eq(r2.f.ntensors, r.f.ntensors);
    done(&r2);
    free(out);
    done(&r);
    free(buf);
}

// --- malformed files ---------------------------------------------------------
Test(safetensors, truncated)
{
    size_t size;
    unsigned char *buf = load_fixture(&size);
    reading r = read_buf(buf, 5);
    cr_expect_eq(r.st, NN_ST_EFORMAT);
    cr_expect(strstr(r.msg, "file is 5 bytes, too short") != NULL, "%s",
              r.msg);
    done(&r);
    r = read_buf(buf, 100);
    cr_expect_eq(r.st, NN_ST_EFORMAT);
    cr_expect(strstr(r.msg, "header length 560 runs past the end of the "
                            "100-byte file") != NULL, "%s", r.msg);
    done(&r);
    r = read_buf(buf, size - 1);
    cr_expect_eq(r.st, NN_ST_EFORMAT);
    cr_expect(strstr(r.msg, "tensor 'half': data ends at 96, past the "
                            "95-byte data buffer") != NULL, "%s", r.msg);
    done(&r);
    /* Every shorter length fails cleanly (no read past size: ASan). */
    for (size_t n = 0; n < size; n++) {
        unsigned char *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        r = read_buf(copy, n);
        cr_expect_eq(r.st, NN_ST_EFORMAT, "length %zu accepted", n);
        cr_expect(r.msg[0] != '\0' && r.msg[0] != 'X', "length %zu: no "
                  "message", n);
        done(&r);
        free(copy);
    }
    free(buf);
}

Test(safetensors, bad_json)
{
    static const struct { const char *json, *needle; } cases[] = {
        {"[]", "file offset 8: the header must be a JSON object"},
        {"{\"a\" {}}", "file offset 13: expected ':'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},}",
         "expected a string"},
        {"{\"a", "unterminated string"},
        {"{\"a\\q\":{}}", "invalid escape"},
        {"{\"\\ud800\":{}}", "unpaired high surrogate"},
        {"{} x", "file offset 11: unexpected bytes after the JSON object"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}",
         "leading zero"},
        {"{\"a\":{\"x\":[1,{\"y\":tru}],\"dtype\":\"F32\"}}", "invalid value"},
        {"{\"a\xff\":{}}", "header is not valid UTF-8 at file offset 11"},
        {"{\"a\":{\"dtype\":\"F32\"\"shape\":[]}}", "expected ',' or '}'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(cases[i].json, 0, NN_ST_EFORMAT, cases[i].needle);
}

Test(safetensors, bad_entries)
{
    static const struct { const char *json; size_t dlen; const char *needle; }
        cases[] = {
        {"{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'w': missing \"dtype\""},
        {"{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
         "tensor 'w': missing \"shape\""},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
         "tensor 'w': missing \"data_offsets\""},
        {"{\"w\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'w': unknown dtype 'F31'"},
        {"{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'w': \"dtype\" must be a string"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
         4, "tensor 'w': negative number"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}",
         4, "tensor 'w': shape and offsets must be integers"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}",
         8, "tensor 'w': \"data_offsets\" holds 3 numbers, not 2"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
         "\"data_offsets\":[0,4]}}", 4, "tensor 'w': 9 dimensions"},
        {"{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
         "\"data_offsets\":[0,4]}}", 4, "tensor 'w': duplicate field"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],"
         "\"data_offsets\":[0,4]}}", 4, "tensor 'w': integer does not fit"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
         "\"data_offsets\":[0,4]}}", 4, "tensor 'w': F32 shape "
         "[4294967296, 4294967296] overflows"},
        {"{\"__metadata__\":{\"k\":1}}", 0,
         "metadata 'k': value must be a string"},
        {"{\"w\\u0000\":{}}", 0, "name contains U+0000"},
        {"{\"w\":[]}", 0, "tensor 'w': entry must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(cases[i].json, cases[i].dlen, NN_ST_EFORMAT,
                     cases[i].needle);
}

Test(safetensors, bad_offsets)
{
#define F32_1(name, b, e) \
    "\"" name "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" #b \
    "," #e "]}"
    expect_error("{" F32_1("a", 0, 4) "," F32_1("b", 2, 6) "}", 6,
                 NN_ST_EFORMAT, "tensor 'b': data_offsets [2, 6] overlap "
                 "tensor 'a', which ends at 4");
    expect_error("{" F32_1("a", 0, 4) "," F32_1("b", 8, 12) "}", 12,
                 NN_ST_EFORMAT, "tensor 'b': data_offsets [8, 12] leave a "
                 "gap of 4 bytes after tensor 'a'");
    expect_error("{" F32_1("a", 4, 8) "}", 8, NN_ST_EFORMAT,
                 "tensor 'a': data_offsets [4, 8] leave a gap of 4 bytes "
                 "after the start");
    expect_error("{" F32_1("a", 0, 6) "}", 6, NN_ST_EFORMAT,
                 "tensor 'a': data_offsets [0, 6] span 6 bytes but F32 shape "
                 "[1] needs 4");
    expect_error("{" F32_1("a", 8, 4) "}", 8, NN_ST_EFORMAT,
                 "tensor 'a': data_offsets [8, 4] end before they begin");
    expect_error("{" F32_1("a", 0, 4) "}", 7, NN_ST_EFORMAT,
                 "tensors end at byte 4 of the 7-byte data buffer: 3 "
                 "trailing bytes");
    expect_error("{" F32_1("a", 0, 4) "," F32_1("a", 4, 8) "}", 8,
                 NN_ST_EFORMAT, "tensor 'a': duplicate name");
    /* The same name spelt with an escape is still a duplicate. */
    expect_error("{" F32_1("a", 0, 4) "," F32_1("\\u0061", 4, 8) "}", 8,
                 NN_ST_EFORMAT, "tensor 'a': duplicate name");
    expect_error("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0,
                 NN_ST_EFORMAT, "metadata 'k': duplicate key");
    expect_error("{\"__metadata__\":{},\"__metadata__\":{}}", 0,
                 NN_ST_EFORMAT, "duplicate \"__metadata__\"");
    /* Zero-size tensors may share an offset; the rest must still tile. */
    unsigned char *file;
    static const unsigned char zeros[8];
    size_t size = make_file("{\"z\":{\"dtype\":\"F32\",\"shape\":[0],"
                            "\"data_offsets\":[4,4]}," F32_1("a", 0, 4) ","
                            F32_1("b", 4, 8) ",\"y\":{\"dtype\":\"U8\","
                            "\"shape\":[2,0],\"data_offsets\":[4,4],"
                            "\"extra\":{\"ignored\":[true,null,-1.5e3]}}}",
                            zeros, 8, &file);
    reading r = read_buf(file, size);
    cr_expect_eq(r.st, NN_ST_OK, "%s", r.msg);
    done(&r);
    free(file);
#undef F32_1
}

Test(safetensors, header_too_long)
{
    unsigned char buf[16] = {0};
    uint64_t n = 100000001;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(n >> (8 * i));
    reading r = read_buf(buf, sizeof buf);
    cr_expect_eq(r.st, NN_ST_EFORMAT);
    cr_expect(strstr(r.msg, "header length 100000001 exceeds the limit of "
                            "100000000 bytes") != NULL, "%s", r.msg);
    done(&r);
    memset(buf, 0xff, 8); /* 2^64 - 1 must not wrap the bound check */
    r = read_buf(buf, sizeof buf);
    cr_expect_eq(r.st, NN_ST_EFORMAT);
    cr_expect(strstr(r.msg, "exceeds the limit") != NULL, "%s", r.msg);
    done(&r);
}

Test(safetensors, scratch_too_small)
{
    size_t size;
    unsigned char *buf = load_fixture(&size);
    size_t need = 0;
    char msg[200];
    cr_assert_eq(nn_st_read_scratch(buf, size, &need, msg, sizeof msg),
                 NN_ST_OK);
    void *scratch = malloc(need);
    nn_st_file f;
    cr_expect_eq(nn_st_read(&f, buf, size, scratch, need - 1, msg, sizeof msg),
                 NN_ST_ESPACE);
    cr_expect(strstr(msg, "needs") != NULL, "%s", msg);
    /* An odd scratch address is fine too. */
    void *big = malloc(need + 1);
    cr_expect_eq(nn_st_read(&f, buf, size, (char *)big + 1, need, msg,
                            sizeof msg), NN_ST_OK, "%s", msg);
    free(big);
    free(scratch);
    free(buf);
}

Test(safetensors, message_truncates_safely)
{
    char small[12];
    memset(small, 'X', sizeof small);
    size_t need;
    unsigned char buf[4] = {0};
    cr_expect_eq(nn_st_read_scratch(buf, 4, &need, small, sizeof small),
                 NN_ST_EFORMAT);
    cr_expect(strcmp(small, "file is 4 b") == 0, "got \"%s\"", small);
}

Test(safetensors, random_byte_flips)
{
    size_t size;
    unsigned char *buf = load_fixture(&size);
    tu_rng rng = tu_rng_seed(2024);
    int accepted = 0;
    for (int it = 0; it < 3000; it++) {
        unsigned char *copy = malloc(size);
        memcpy(copy, buf, size);
        int flips = 1 + (int)(tu_next(&rng) % 3);
        for (int k = 0; k < flips; k++)
            copy[tu_next(&rng) % size] ^= (unsigned char)(1 + tu_next(&rng)
                                                              % 255);
        reading r = read_buf(copy, size);
        if (r.st == NN_ST_OK)
            accepted++;
        else
            cr_expect(r.msg[0] != '\0' && r.msg[0] != 'X',
                      "iteration %d (seed 2024): no message", it);
        done(&r);
        free(copy);
    }
    cr_log_info("random flips: %d of 3000 still valid files", accepted);
    free(buf);
}

Test(safetensors, escapes_decode_to_utf8)
{
    /* "\ud83d\ude00" is U+1F600 = F0 9F 98 80; raw UTF-8 passes through. */
    unsigned char *file;
    static const unsigned char zeros[2];
    size_t size = make_file("{\"\\ud83d\\ude00\":{\"dtype\":\"U8\",\"shape\":"
                            "[1],\"data_offsets\":[0,1]},\"caf\xc3\xa9\":{"
                            "\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":"
                            "[1,2]}}", zeros, 2, &file);
    reading r = read_buf(file, size);
    cr_assert_eq(r.st, NN_ST_OK, "%s", r.msg);
    cr_expect(nn_st_find(&r.f, "\xf0\x9f\x98\x80") != NULL);
    cr_expect(nn_st_find(&r.f, "caf\xc3\xa9") != NULL);
    done(&r);
    free(file);
}

Test(safetensors, dtype_table)
{
    static const struct { nn_st_dtype d; const char *name; size_t size; }
        want[] = {{NN_ST_BOOL, "BOOL", 1}, {NN_ST_U8, "U8", 1},
                  {NN_ST_F16, "F16", 2},   {NN_ST_BF16, "BF16", 2},
                  {NN_ST_F32, "F32", 4},   {NN_ST_I32, "I32", 4},
                  {NN_ST_F64, "F64", 8},   {NN_ST_I64, "I64", 8}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cr_expect(strcmp(nn_st_dtype_name(want[i].d), want[i].name) == 0);
        cr_expect_eq(nn_st_dtype_size(want[i].d), want[i].size);
    }
    cr_expect(nn_st_dtype_name(NN_ST_DTYPE_COUNT) == NULL);
    cr_expect_eq(nn_st_dtype_size((nn_st_dtype)-1), 0);
}
