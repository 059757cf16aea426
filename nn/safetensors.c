/*
 * nn/safetensors.c: see safetensors.h for the format and the contract.
 *
 * Sections: messages (a tiny snprintf: %s %c %d %zu %llu), strings and
 * UTF-8, dtypes, the writer (one emitter that either counts or writes, so
 * the size query and the write cannot disagree), the JSON reader (one
 * recursive-descent pass that either counts or stores), the checks on the
 * parsed entries, lookup.
 */
#include "nn/safetensors.h"

#include <stdarg.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "safetensors data is little-endian; this host is not");

// --- messages ----------------------------------------------------------------
typedef struct strbuf {
    char *buf;
    size_t cap, len; /* len counts every byte offered, even past cap */
} strbuf;

static void sb_putc(strbuf *b, char c)
{
    if (b->buf && b->len + 1 < b->cap)
        b->buf[b->len] = c;
    b->len++;
}

/* Control bytes would break the one-line message: shown as '?'. */
static void sb_puts(strbuf *b, const char *s)
{
    for (; *s; s++)
        sb_putc(b, (unsigned char)*s < 0x20 ? '?' : *s);
}

/* The decimal digits of v, least significant first; returns the count. */
static int digits_of(unsigned long long v, char digits[24])
{
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return n;
}

static void sb_putu(strbuf *b, unsigned long long v)
{
    char digits[24];
    for (int n = digits_of(v, digits); n;)
        sb_putc(b, digits[--n]);
}

static void sb_finish(strbuf *b)
{
    if (!b->buf || b->cap == 0)
        return;
    b->buf[b->len < b->cap ? b->len : b->cap - 1] = '\0';
}

static void sb_vformat(strbuf *b, const char *fmt, va_list ap)
{
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            sb_putc(b, *p);
            continue;
        }
        p++;
        if (*p == 's') {
            const char *s = va_arg(ap, const char *);
            sb_puts(b, s ? s : "(null)");
        } else if (*p == 'c') {
            sb_putc(b, (char)va_arg(ap, int));
        } else if (*p == 'd') {
            int v = va_arg(ap, int);
            if (v < 0)
                sb_putc(b, '-');
            sb_putu(b, v < 0 ? 0ull - (unsigned long long)v
                             : (unsigned long long)v);
        } else if (p[0] == 'z' && p[1] == 'u') {
            sb_putu(b, va_arg(ap, size_t));
            p++;
        } else if (p[0] == 'l' && p[1] == 'l' && p[2] == 'u') {
            sb_putu(b, va_arg(ap, unsigned long long));
            p += 2;
        } else {
            sb_putc(b, '%');
            if (*p != '%' && *p)
                sb_putc(b, *p);
            if (!*p)
                break;
        }
    }
}

__attribute__((format(printf, 3, 4)))
static void msgf(char *msg, size_t cap, const char *fmt, ...)
{
    strbuf b = {msg, cap, 0};
    va_list ap;
    va_start(ap, fmt);
    sb_vformat(&b, fmt, ap);
    va_end(ap);
    sb_finish(&b);
}

#define ULL(x) ((unsigned long long)(x))

/* "[2, 3]" into a small buffer, for messages. */
static const char *shape_text(const nn_st_tensor *t, char *buf, size_t cap)
{
    strbuf b = {buf, cap, 0};
    sb_putc(&b, '[');
    for (size_t i = 0; i < t->ndim; i++) {
        if (i)
            sb_puts(&b, ", ");
        sb_putu(&b, t->shape[i]);
    }
    sb_putc(&b, ']');
    sb_finish(&b);
    return buf;
}

// --- strings and UTF-8 -------------------------------------------------------
static size_t st_strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static int st_strcmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    while (*x && *x == *y) {
        x++;
        y++;
    }
    return (int)*x - (int)*y;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF rejected). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || c > 0xF4 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
    if (c == 0xED && s[1] > 0x9F) return 0; /* surrogate */
    if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
    if (c == 0xF4 && s[1] > 0x8F) return 0; /* > U+10FFFF */
    return len;
}

/* Offset of the first invalid byte, or n if all of s[0..n) is UTF-8. */
static size_t utf8_check(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_seq(s + i, n - i);
        if (len == 0)
            return i;
        i += len;
    }
    return n;
}

// --- dtypes ------------------------------------------------------------------
static const struct { const char *name; unsigned char size; }
    DTYPES[NN_ST_DTYPE_COUNT] = {
    [NN_ST_BOOL] = {"BOOL", 1},       [NN_ST_U8] = {"U8", 1},
    [NN_ST_I8] = {"I8", 1},           [NN_ST_F8_E5M2] = {"F8_E5M2", 1},
    [NN_ST_F8_E4M3] = {"F8_E4M3", 1}, [NN_ST_I16] = {"I16", 2},
    [NN_ST_U16] = {"U16", 2},         [NN_ST_F16] = {"F16", 2},
    [NN_ST_BF16] = {"BF16", 2},       [NN_ST_I32] = {"I32", 4},
    [NN_ST_U32] = {"U32", 4},         [NN_ST_F32] = {"F32", 4},
    [NN_ST_F64] = {"F64", 8},         [NN_ST_I64] = {"I64", 8},
    [NN_ST_U64] = {"U64", 8},
};

size_t nn_st_dtype_size(nn_st_dtype dtype)
{
    return (unsigned)dtype < NN_ST_DTYPE_COUNT ? DTYPES[dtype].size : 0;
}

const char *nn_st_dtype_name(nn_st_dtype dtype)
{
    return (unsigned)dtype < NN_ST_DTYPE_COUNT ? DTYPES[dtype].name : 0;
}

static bool dtype_parse(const char *name, nn_st_dtype *dtype)
{
    for (int i = 0; i < NN_ST_DTYPE_COUNT; i++)
        if (st_strcmp(name, DTYPES[i].name) == 0) {
            *dtype = (nn_st_dtype)i;
            return true;
        }
    return false;
}

bool nn_st_tensor_bytes(const nn_st_tensor *t, uint64_t *bytes)
{
    uint64_t n = nn_st_dtype_size(t->dtype);
    if (n == 0 || t->ndim > NN_ST_MAX_DIM)
        return false;
    for (size_t i = 0; i < t->ndim; i++)
        if (__builtin_mul_overflow(n, t->shape[i], &n))
            return false;
    *bytes = n;
    return true;
}

// --- writer ------------------------------------------------------------------
/* Writes through out when it is not NULL; always counts. */
typedef struct emitter {
    unsigned char *out;
    size_t len;
} emitter;

static void emit_byte(emitter *e, unsigned char c)
{
    if (e->out)
        e->out[e->len] = c;
    e->len++;
}

static void emit_raw(emitter *e, const char *s)
{
    for (; *s; s++)
        emit_byte(e, (unsigned char)*s);
}

static void emit_u64(emitter *e, uint64_t v)
{
    char digits[24];
    for (int n = digits_of(v, digits); n;)
        emit_byte(e, (unsigned char)digits[--n]);
}

/* A JSON string: quote, backslash and control bytes escaped, the rest
 * (already checked to be UTF-8) copied. */
static void emit_string(emitter *e, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    emit_byte(e, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            emit_byte(e, '\\');
            emit_byte(e, *p);
        } else if (*p < 0x20) {
            emit_raw(e, "\\u00");
            emit_byte(e, (unsigned char)hex[*p >> 4]);
            emit_byte(e, (unsigned char)hex[*p & 15]);
        } else {
            emit_byte(e, *p);
        }
    }
    emit_byte(e, '"');
}

/* The header, padded with spaces to a multiple of 8 bytes. The tensors
 * have been validated, so nn_st_tensor_bytes cannot fail here. */
static void emit_header(emitter *e, const nn_st_tensor *tensors, size_t n,
                        const nn_st_meta *meta, size_t nmeta)
{
    emit_byte(e, '{');
    if (nmeta) {
        emit_raw(e, "\"__metadata__\":{");
        for (size_t i = 0; i < nmeta; i++) {
            if (i)
                emit_byte(e, ',');
            emit_string(e, meta[i].key);
            emit_byte(e, ':');
            emit_string(e, meta[i].value);
        }
        emit_byte(e, '}');
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        const nn_st_tensor *t = &tensors[i];
        uint64_t nbytes = 0;
        nn_st_tensor_bytes(t, &nbytes);
        if (i || nmeta)
            emit_byte(e, ',');
        emit_string(e, t->name);
        emit_raw(e, ":{\"dtype\":\"");
        emit_raw(e, DTYPES[t->dtype].name);
        emit_raw(e, "\",\"shape\":[");
        for (size_t d = 0; d < t->ndim; d++) {
            if (d)
                emit_byte(e, ',');
            emit_u64(e, t->shape[d]);
        }
        emit_raw(e, "],\"data_offsets\":[");
        emit_u64(e, offset);
        emit_byte(e, ',');
        offset += nbytes;
        emit_u64(e, offset);
        emit_raw(e, "]}");
    }
    emit_byte(e, '}');
    while (e->len % 8)
        emit_byte(e, ' ');
}

static bool utf8_string_ok(const char *s)
{
    size_t n = st_strlen(s);
    return utf8_check((const unsigned char *)s, n) == n;
}

static nn_st_status check_tensor(const nn_st_tensor *tensors, size_t i,
                                 uint64_t *nbytes, char *msg, size_t cap)
{
    const nn_st_tensor *t = &tensors[i];
    if (!t->name || !utf8_string_ok(t->name)) {
        msgf(msg, cap, "tensor %zu: name is %s", i,
             t->name ? "not valid UTF-8" : "NULL");
        return NN_ST_EARG;
    }
    if (st_strcmp(t->name, "__metadata__") == 0) {
        msgf(msg, cap, "tensor %zu: the name __metadata__ is reserved", i);
        return NN_ST_EARG;
    }
    if ((unsigned)t->dtype >= NN_ST_DTYPE_COUNT) {
        msgf(msg, cap, "tensor '%s': invalid dtype %d", t->name,
             (int)t->dtype);
        return NN_ST_EARG;
    }
    if (t->ndim > NN_ST_MAX_DIM) {
        msgf(msg, cap, "tensor '%s': %zu dimensions, more than %d", t->name,
             t->ndim, NN_ST_MAX_DIM);
        return NN_ST_EARG;
    }
    if (!nn_st_tensor_bytes(t, nbytes)) {
        msgf(msg, cap, "tensor '%s': size overflows 64 bits", t->name);
        return NN_ST_EARG;
    }
    if (*nbytes && !t->data) {
        msgf(msg, cap, "tensor '%s': data is NULL", t->name);
        return NN_ST_EARG;
    }
    for (size_t j = 0; j < i; j++)
        if (st_strcmp(tensors[j].name, t->name) == 0) {
            msgf(msg, cap, "tensor '%s': duplicate name (tensors %zu and %zu)",
                 t->name, j, i);
            return NN_ST_EARG;
        }
    return NN_ST_OK;
}

static nn_st_status check_meta(const nn_st_meta *meta, size_t nmeta, char *msg,
                               size_t cap)
{
    for (size_t i = 0; i < nmeta; i++) {
        if (!meta[i].key || !meta[i].value) {
            msgf(msg, cap, "metadata %zu: key or value is NULL", i);
            return NN_ST_EARG;
        }
        if (!utf8_string_ok(meta[i].key) || !utf8_string_ok(meta[i].value)) {
            msgf(msg, cap, "metadata %zu: not valid UTF-8", i);
            return NN_ST_EARG;
        }
        for (size_t j = 0; j < i; j++)
            if (st_strcmp(meta[j].key, meta[i].key) == 0) {
                msgf(msg, cap, "metadata '%s': duplicate key", meta[i].key);
                return NN_ST_EARG;
            }
    }
    return NN_ST_OK;
}

/* Validates the descriptions; sets the header length (padded) and the
 * file size. */
static nn_st_status write_plan(const nn_st_tensor *tensors, size_t n,
                               const nn_st_meta *meta, size_t nmeta,
                               size_t *header_len, size_t *bytes, char *msg,
                               size_t cap)
{
    nn_st_status st = check_meta(meta, nmeta, msg, cap);
    if (st)
        return st;
    uint64_t data = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t nbytes;
        if ((st = check_tensor(tensors, i, &nbytes, msg, cap)))
            return st;
        if (__builtin_add_overflow(data, nbytes, &data)) {
            msgf(msg, cap, "tensor '%s': total size overflows",
                 tensors[i].name);
            return NN_ST_EARG;
        }
    }
    emitter count = {0, 0};
    emit_header(&count, tensors, n, meta, nmeta);
    uint64_t total;
    if (__builtin_add_overflow(data, (uint64_t)count.len + 8, &total) ||
        total > (size_t)-1) {
        msgf(msg, cap, "file size overflows");
        return NN_ST_EARG;
    }
    *header_len = count.len;
    *bytes = (size_t)total;
    return NN_ST_OK;
}

nn_st_status nn_st_write_size(const nn_st_tensor *tensors, size_t ntensors,
                              const nn_st_meta *meta, size_t nmeta,
                              size_t *bytes, char *msg, size_t msg_cap)
{
    size_t header_len;
    return write_plan(tensors, ntensors, meta, nmeta, &header_len, bytes, msg,
                      msg_cap);
}

nn_st_status nn_st_write(void *buf, size_t cap, const nn_st_tensor *tensors,
                         size_t ntensors, const nn_st_meta *meta, size_t nmeta,
                         size_t *bytes, char *msg, size_t msg_cap)
{
    size_t header_len, total;
    nn_st_status st = write_plan(tensors, ntensors, meta, nmeta, &header_len,
                                 &total, msg, msg_cap);
    if (st)
        return st;
    if (total > cap) {
        msgf(msg, msg_cap, "output buffer of %zu bytes, the file needs %zu",
             cap, total);
        return NN_ST_ESPACE;
    }
    unsigned char *out = buf;
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)((uint64_t)header_len >> (8 * i));
    emitter e = {out + 8, 0};
    emit_header(&e, tensors, ntensors, meta, nmeta);
    unsigned char *data = out + 8 + header_len;
    for (size_t i = 0; i < ntensors; i++) {
        uint64_t nbytes = 0;
        nn_st_tensor_bytes(&tensors[i], &nbytes);
        if (nbytes)
            __builtin_memcpy(data, tensors[i].data, (size_t)nbytes);
        data += nbytes;
    }
    *bytes = total;
    if (msg_cap)
        msg[0] = '\0';
    return NN_ST_OK;
}

// --- reader: JSON ------------------------------------------------------------
#define JSON_MAX_DEPTH 64 /* nesting allowed inside ignored values */
#define LABEL_CAP 72      /* names are quoted in messages up to this length */

/* One pass over the header. With store false it only counts (tensors,
 * metadata pairs, string bytes); with store true it also fills the arrays,
 * which the counting pass sized. */
typedef struct parser {
    const unsigned char *s; /* (n) the header */
    size_t n, i;
    char *msg;
    size_t cap;
    bool store, seen_meta;
    size_t ntensors, nmeta, nstr;
    nn_st_tensor *tensors; /* (ntensors) */
    uint64_t *offsets;     /* (ntensors, 2) data_offsets */
    nn_st_meta *meta;      /* (nmeta) */
    char *str;             /* (nstr) decoded NUL-terminated strings */
    size_t str_used;
} parser;

static bool syntax(parser *p, const char *what)
{
    msgf(p->msg, p->cap, "header JSON at file offset %zu: %s", p->i + 8,
         what);
    return false;
}

static void skip_ws(parser *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
                           p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static bool peek(parser *p, unsigned char c)
{
    return p->i < p->n && p->s[p->i] == c;
}

static bool expect(parser *p, unsigned char c, const char *what)
{
    skip_ws(p);
    if (!peek(p, c))
        return syntax(p, what);
    p->i++;
    skip_ws(p);
    return true;
}

static int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits after "\u". */
static bool parse_hex4(parser *p, unsigned *cp)
{
    if (p->n - p->i < 4)
        return syntax(p, "truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int d = hex_digit(p->s[p->i + k]);
        if (d < 0)
            return syntax(p, "bad hex digit in a \\u escape");
        v = v * 16 + (unsigned)d;
    }
    p->i += 4;
    *cp = v;
    return true;
}

typedef struct decoded {
    char *out;   /* may be NULL: count only */
    size_t cap;  /* bytes out may receive */
    size_t len;  /* decoded length (even past cap) */
    bool nul;    /* contained U+0000 */
} decoded;

static void put_byte(decoded *d, unsigned b)
{
    if (d->out && d->len < d->cap)
        d->out[d->len] = (char)b;
    d->len++;
}

static void put_code_point(decoded *d, unsigned cp)
{
    if (cp == 0)
        d->nul = true;
    if (cp < 0x80) {
        put_byte(d, cp);
    } else if (cp < 0x800) {
        put_byte(d, 0xC0 | cp >> 6);
        put_byte(d, 0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        put_byte(d, 0xE0 | cp >> 12);
        put_byte(d, 0x80 | (cp >> 6 & 0x3F));
        put_byte(d, 0x80 | (cp & 0x3F));
    } else {
        put_byte(d, 0xF0 | cp >> 18);
        put_byte(d, 0x80 | (cp >> 12 & 0x3F));
        put_byte(d, 0x80 | (cp >> 6 & 0x3F));
        put_byte(d, 0x80 | (cp & 0x3F));
    }
}

/* The escape after a backslash (p->i on the letter). */
static bool parse_escape(parser *p, decoded *d)
{
    if (p->i >= p->n)
        return syntax(p, "unterminated string");
    unsigned char c = p->s[p->i++];
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    for (int k = 0; from[k]; k++)
        if (c == (unsigned char)from[k]) {
            put_byte(d, (unsigned char)to[k]);
            return true;
        }
    if (c != 'u') {
        p->i--;
        return syntax(p, "invalid escape in a string");
    }
    unsigned cp, lo;
    if (!parse_hex4(p, &cp))
        return false;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return syntax(p, "unpaired low surrogate in a \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
            return syntax(p, "unpaired high surrogate in a \\u escape");
        p->i += 2;
        if (!parse_hex4(p, &lo))
            return false;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return syntax(p, "unpaired high surrogate in a \\u escape");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    put_code_point(d, cp);
    return true;
}

/* A JSON string at p->i, decoded into d (the header is already known to be
 * UTF-8, so raw bytes are copied). */
static bool parse_string(parser *p, decoded *d)
{
    d->len = 0;
    d->nul = false;
    if (!peek(p, '"'))
        return syntax(p, "expected a string");
    p->i++;
    for (;;) {
        if (p->i >= p->n)
            return syntax(p, "unterminated string");
        unsigned char c = p->s[p->i];
        if (c == '"') {
            p->i++;
            return true;
        }
        if (c < 0x20)
            return syntax(p, "control character inside a string");
        p->i++;
        if (c == '\\') {
            if (!parse_escape(p, d))
                return false;
        } else {
            put_byte(d, c);
        }
    }
}

/* Decodes into a fixed buffer, NUL-terminated, marked "..." if cut. */
static bool parse_label(parser *p, char *buf, size_t cap, decoded *d)
{
    *d = (decoded){buf, cap - 1, 0, false};
    if (!parse_string(p, d))
        return false;
    if (d->len < cap) {
        buf[d->len] = '\0';
    } else {
        buf[cap - 4] = buf[cap - 3] = buf[cap - 2] = '.';
        buf[cap - 1] = '\0';
    }
    return true;
}

/* Pass 2: decodes the string at `at` again, into the string storage. */
static const char *store_string(parser *p, size_t at)
{
    size_t save = p->i;
    p->i = at;
    char *dst = p->str + p->str_used;
    decoded d = {dst, (size_t)-1, 0, false};
    parse_string(p, &d); /* cannot fail: it parsed before */
    dst[d.len] = '\0';
    p->str_used += d.len + 1;
    p->i = save;
    return dst;
}

static bool is_digit(parser *p)
{
    return p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9';
}

/* A JSON number of any form (for ignored values). */
static bool skip_number(parser *p)
{
    if (peek(p, '-'))
        p->i++;
    if (!is_digit(p))
        return syntax(p, "invalid number");
    if (peek(p, '0'))
        p->i++;
    else
        while (is_digit(p))
            p->i++;
    if (peek(p, '.')) {
        p->i++;
        if (!is_digit(p))
            return syntax(p, "invalid number");
        while (is_digit(p))
            p->i++;
    }
    if (peek(p, 'e') || peek(p, 'E')) {
        p->i++;
        if (peek(p, '+') || peek(p, '-'))
            p->i++;
        if (!is_digit(p))
            return syntax(p, "invalid number");
        while (is_digit(p))
            p->i++;
    }
    return true;
}

static bool skip_literal(parser *p, const char *word)
{
    size_t n = st_strlen(word);
    if (p->n - p->i < n)
        return syntax(p, "invalid value");
    for (size_t k = 0; k < n; k++)
        if (p->s[p->i + k] != (unsigned char)word[k])
            return syntax(p, "invalid value");
    p->i += n;
    return true;
}

/* Any JSON value, checked for syntax and discarded. */
static bool skip_value(parser *p, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return syntax(p, "nesting too deep");
    if (p->i >= p->n)
        return syntax(p, "expected a value");
    unsigned char c = p->s[p->i];
    decoded d = {0, 0, 0, false};
    if (c == '"')
        return parse_string(p, &d);
    if (c == 't') return skip_literal(p, "true");
    if (c == 'f') return skip_literal(p, "false");
    if (c == 'n') return skip_literal(p, "null");
    if (c != '[' && c != '{')
        return skip_number(p);
    unsigned char close = c == '[' ? ']' : '}';
    p->i++;
    skip_ws(p);
    if (peek(p, close)) {
        p->i++;
        return true;
    }
    for (;;) {
        if (close == '}') {
            if (!parse_string(p, &d) || !expect(p, ':', "expected ':'"))
                return false;
        }
        if (!skip_value(p, depth + 1))
            return false;
        skip_ws(p);
        if (peek(p, close)) {
            p->i++;
            return true;
        }
        if (!expect(p, ',', "expected ',' or the end of an array/object"))
            return false;
    }
}

// --- reader: entries ---------------------------------------------------------
static bool entry_error(parser *p, const char *name, const char *what)
{
    msgf(p->msg, p->cap, "tensor '%s': %s (file offset %zu)", name, what,
         p->i + 8);
    return false;
}

/* A non-negative integer that fits 64 bits, as serde reads a usize. */
static bool parse_uint(parser *p, const char *name, uint64_t *v)
{
    if (peek(p, '-'))
        return entry_error(p, name, "negative number in shape or offsets");
    if (!is_digit(p))
        return entry_error(p, name, "shape and offsets must be integers");
    size_t start = p->i;
    uint64_t x = 0;
    while (is_digit(p)) {
        uint64_t d = p->s[p->i] - '0';
        if (__builtin_mul_overflow(x, 10, &x) ||
            __builtin_add_overflow(x, d, &x))
            return entry_error(p, name, "integer does not fit 64 bits");
        p->i++;
    }
    if (p->s[start] == '0' && p->i - start > 1) {
        p->i = start;
        return syntax(p, "leading zero in a number");
    }
    if (peek(p, '.') || peek(p, 'e') || peek(p, 'E'))
        return entry_error(p, name, "shape and offsets must be integers");
    *v = x;
    return true;
}

/* [u, u, ...]: stores up to max values, counts all of them. */
static bool parse_uint_array(parser *p, const char *name, uint64_t *out,
                             size_t max, size_t *count)
{
    *count = 0;
    if (!peek(p, '['))
        return entry_error(p, name, "shape and offsets must be arrays");
    p->i++;
    skip_ws(p);
    if (peek(p, ']')) {
        p->i++;
        return true;
    }
    for (;;) {
        uint64_t v;
        if (!parse_uint(p, name, &v))
            return false;
        if (*count < max)
            out[*count] = v;
        (*count)++;
        skip_ws(p);
        if (peek(p, ']')) {
            p->i++;
            return true;
        }
        if (!expect(p, ',', "expected ',' or ']'"))
            return false;
    }
}

static bool key_is(const char *key, const decoded *d, const char *want)
{
    return d->len == st_strlen(want) && st_strcmp(key, want) == 0;
}

/* One field of a tensor entry; *seen has bit 0 dtype, 1 shape, 2 offsets. */
static bool parse_field(parser *p, const char *name, nn_st_tensor *t,
                        uint64_t off[2], unsigned *seen)
{
    char key[16], val[16];
    decoded dk, dv;
    if (!parse_label(p, key, sizeof key, &dk) ||
        !expect(p, ':', "expected ':'"))
        return false;
    unsigned bit = key_is(key, &dk, "dtype") ? 1u
                 : key_is(key, &dk, "shape") ? 2u
                 : key_is(key, &dk, "data_offsets") ? 4u : 0u;
    if (bit & *seen) {
        msgf(p->msg, p->cap, "tensor '%s': duplicate field \"%s\"", name, key);
        return false;
    }
    *seen |= bit;
    size_t count;
    switch (bit) {
    case 1:
        if (!peek(p, '"'))
            return entry_error(p, name, "\"dtype\" must be a string");
        if (!parse_label(p, val, sizeof val, &dv))
            return false;
        if (dv.len >= sizeof val || !dtype_parse(val, &t->dtype)) {
            msgf(p->msg, p->cap, "tensor '%s': unknown dtype '%s'", name, val);
            return false;
        }
        return true;
    case 2:
        if (!parse_uint_array(p, name, t->shape, NN_ST_MAX_DIM, &count))
            return false;
        if (count > NN_ST_MAX_DIM) {
            msgf(p->msg, p->cap, "tensor '%s': %zu dimensions, more than %d",
                 name, count, NN_ST_MAX_DIM);
            return false;
        }
        t->ndim = count;
        return true;
    case 4:
        if (!parse_uint_array(p, name, off, 2, &count))
            return false;
        if (count != 2) {
            msgf(p->msg, p->cap, "tensor '%s': \"data_offsets\" holds %zu "
                 "numbers, not 2", name, count);
            return false;
        }
        return true;
    default:
        return skip_value(p, 1);
    }
}

/* {"dtype": .., "shape": [..], "data_offsets": [b, e]} for the key at
 * key_at, whose decoded text (for messages) is name. */
static bool parse_tensor(parser *p, size_t key_at, const char *name,
                         const decoded *dn)
{
    if (dn->nul)
        return entry_error(p, name, "name contains U+0000");
    nn_st_tensor t = {0};
    uint64_t off[2] = {0, 0};
    unsigned seen = 0;
    if (!peek(p, '{'))
        return entry_error(p, name, "entry must be a JSON object");
    p->i++;
    skip_ws(p);
    if (!peek(p, '}')) {
        for (;;) {
            if (!parse_field(p, name, &t, off, &seen))
                return false;
            skip_ws(p);
            if (peek(p, '}'))
                break;
            if (!expect(p, ',', "expected ',' or '}'"))
                return false;
        }
    }
    p->i++;
    static const char *const field[3] = {"dtype", "shape", "data_offsets"};
    for (int k = 0; k < 3; k++)
        if (!(seen >> k & 1)) {
            msgf(p->msg, p->cap, "tensor '%s': missing \"%s\"", name,
                 field[k]);
            return false;
        }
    if (p->store) {
        t.name = store_string(p, key_at);
        p->tensors[p->ntensors] = t;
        p->offsets[2 * p->ntensors] = off[0];
        p->offsets[2 * p->ntensors + 1] = off[1];
    }
    p->ntensors++;
    p->nstr += dn->len + 1;
    return true;
}

/* "__metadata__": {"key": "value", ...} */
static bool parse_metadata(parser *p)
{
    if (p->seen_meta)
        return syntax(p, "duplicate \"__metadata__\"");
    p->seen_meta = true;
    if (!peek(p, '{'))
        return syntax(p, "\"__metadata__\" must be an object");
    p->i++;
    skip_ws(p);
    if (peek(p, '}')) {
        p->i++;
        return true;
    }
    for (;;) {
        char key[LABEL_CAP];
        decoded dk, dv = {0, 0, 0, false};
        size_t key_at = p->i;
        if (!parse_label(p, key, sizeof key, &dk) ||
            !expect(p, ':', "expected ':'"))
            return false;
        size_t value_at = p->i;
        if (!peek(p, '"')) {
            msgf(p->msg, p->cap, "metadata '%s': value must be a string "
                 "(file offset %zu)", key, p->i + 8);
            return false;
        }
        if (!parse_string(p, &dv))
            return false;
        if (dk.nul || dv.nul) {
            msgf(p->msg, p->cap, "metadata '%s': contains U+0000", key);
            return false;
        }
        if (p->store) {
            p->meta[p->nmeta].key = store_string(p, key_at);
            p->meta[p->nmeta].value = store_string(p, value_at);
        }
        p->nmeta++;
        p->nstr += dk.len + dv.len + 2;
        skip_ws(p);
        if (peek(p, '}')) {
            p->i++;
            return true;
        }
        if (!expect(p, ',', "expected ',' or '}'"))
            return false;
    }
}

static bool parse_header(parser *p)
{
    skip_ws(p);
    if (!peek(p, '{'))
        return syntax(p, "the header must be a JSON object");
    if (!expect(p, '{', "expected '{'"))
        return false;
    if (peek(p, '}')) {
        p->i++;
    } else {
        for (;;) {
            char name[LABEL_CAP];
            decoded dn;
            size_t key_at = p->i;
            if (!parse_label(p, name, sizeof name, &dn) ||
                !expect(p, ':', "expected ':'"))
                return false;
            bool meta = key_is(name, &dn, "__metadata__");
            if (!(meta ? parse_metadata(p)
                       : parse_tensor(p, key_at, name, &dn)))
                return false;
            skip_ws(p);
            if (peek(p, '}')) {
                p->i++;
                break;
            }
            if (!expect(p, ',', "expected ',' or '}'"))
                return false;
        }
    }
    skip_ws(p);
    if (p->i != p->n)
        return syntax(p, "unexpected bytes after the JSON object");
    return true;
}

// --- reader: framing, scratch, checks ----------------------------------------
/* The 8-byte length, its bounds and the header's UTF-8. */
static nn_st_status frame(const unsigned char *file, size_t size, uint64_t *n,
                          char *msg, size_t cap)
{
    if (size < 8) {
        msgf(msg, cap, "file is %zu bytes, too short for the 8-byte header "
             "length", size);
        return NN_ST_EFORMAT;
    }
    uint64_t len = 0;
    for (int k = 7; k >= 0; k--)
        len = len << 8 | file[k];
    if (len > NN_ST_MAX_HEADER) {
        msgf(msg, cap, "header length %llu exceeds the limit of %llu bytes",
             ULL(len), ULL(NN_ST_MAX_HEADER));
        return NN_ST_EFORMAT;
    }
    if (len > size - 8) {
        msgf(msg, cap, "header length %llu runs past the end of the "
             "%zu-byte file", ULL(len), size);
        return NN_ST_EFORMAT;
    }
    size_t bad = utf8_check(file + 8, (size_t)len);
    if (bad != len) {
        msgf(msg, cap, "header is not valid UTF-8 at file offset %zu",
             bad + 8);
        return NN_ST_EFORMAT;
    }
    *n = len;
    return NN_ST_OK;
}

/* Byte offsets of each array in the scratch, from the counts. */
typedef struct layout {
    size_t tensors, offsets, meta, by_name, by_offset, meta_idx, str, total;
} layout;

static size_t align8(size_t x) { return (x + 7) & ~(size_t)7; }

static layout plan_scratch(size_t nt, size_t nm, size_t nstr)
{
    layout l;
    l.tensors = 0;
    l.offsets = align8(l.tensors + nt * sizeof(nn_st_tensor));
    l.meta = align8(l.offsets + 2 * nt * sizeof(uint64_t));
    l.by_name = align8(l.meta + nm * sizeof(nn_st_meta));
    l.by_offset = l.by_name + nt * sizeof(uint32_t);
    l.meta_idx = l.by_offset + nt * sizeof(uint32_t);
    l.str = l.meta_idx + nm * sizeof(uint32_t);
    l.total = l.str + nstr + 8; /* + 8: the base may need aligning */
    return l;
}

/* Framing plus the counting pass. */
static nn_st_status count_pass(const unsigned char *file, size_t size,
                               parser *p, char *msg, size_t cap)
{
    uint64_t n;
    nn_st_status st = frame(file, size, &n, msg, cap);
    if (st)
        return st;
    *p = (parser){.s = file + 8, .n = (size_t)n, .msg = msg, .cap = cap};
    return parse_header(p) ? NN_ST_OK : NN_ST_EFORMAT;
}

nn_st_status nn_st_read_scratch(const void *file, size_t size,
                                size_t *scratch_bytes, char *msg,
                                size_t msg_cap)
{
    parser p;
    nn_st_status st = count_pass(file, size, &p, msg, msg_cap);
    if (st)
        return st;
    *scratch_bytes = plan_scratch(p.ntensors, p.nmeta, p.nstr).total;
    if (msg_cap)
        msg[0] = '\0';
    return NN_ST_OK;
}

// Heap sort of an index array (no libc qsort in the freestanding core).
typedef int (*index_cmp)(const void *ctx, uint32_t a, uint32_t b);

static void sift_down(uint32_t *idx, size_t root, size_t n, index_cmp cmp,
                      const void *ctx)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp(ctx, idx[child], idx[child + 1]) < 0)
            child++;
        if (cmp(ctx, idx[root], idx[child]) >= 0)
            return;
        uint32_t tmp = idx[root];
        idx[root] = idx[child];
        idx[child] = tmp;
        root = child;
    }
}

static void sort_index(uint32_t *idx, size_t n, index_cmp cmp, const void *ctx)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(idx, i, n, cmp, ctx);
    for (size_t end = n; end-- > 1;) {
        uint32_t tmp = idx[0];
        idx[0] = idx[end];
        idx[end] = tmp;
        sift_down(idx, 0, end, cmp, ctx);
    }
}

static int cmp_tensor_name(const void *ctx, uint32_t a, uint32_t b)
{
    const parser *p = ctx;
    return st_strcmp(p->tensors[a].name, p->tensors[b].name);
}

static int cmp_meta_key(const void *ctx, uint32_t a, uint32_t b)
{
    const parser *p = ctx;
    return st_strcmp(p->meta[a].key, p->meta[b].key);
}

/* By (begin, end), then header order so the sort is deterministic. */
static int cmp_offsets(const void *ctx, uint32_t a, uint32_t b)
{
    const uint64_t *o = ((const parser *)ctx)->offsets;
    if (o[2 * a] != o[2 * b])
        return o[2 * a] < o[2 * b] ? -1 : 1;
    if (o[2 * a + 1] != o[2 * b + 1])
        return o[2 * a + 1] < o[2 * b + 1] ? -1 : 1;
    return a < b ? -1 : a > b;
}

static nn_st_status check_names(parser *p, uint32_t *by_name,
                                uint32_t *meta_idx)
{
    sort_index(by_name, p->ntensors, cmp_tensor_name, p);
    for (size_t k = 1; k < p->ntensors; k++)
        if (cmp_tensor_name(p, by_name[k - 1], by_name[k]) == 0) {
            msgf(p->msg, p->cap, "tensor '%s': duplicate name",
                 p->tensors[by_name[k]].name);
            return NN_ST_EFORMAT;
        }
    sort_index(meta_idx, p->nmeta, cmp_meta_key, p);
    for (size_t k = 1; k < p->nmeta; k++)
        if (cmp_meta_key(p, meta_idx[k - 1], meta_idx[k]) == 0) {
            msgf(p->msg, p->cap, "metadata '%s': duplicate key",
                 p->meta[meta_idx[k]].key);
            return NN_ST_EFORMAT;
        }
    return NN_ST_OK;
}

/* end >= begin and end - begin == numel * dtype size, in header order. */
static nn_st_status check_sizes(parser *p)
{
    for (size_t i = 0; i < p->ntensors; i++) {
        nn_st_tensor *t = &p->tensors[i];
        uint64_t b = p->offsets[2 * i], e = p->offsets[2 * i + 1], need;
        char shape[128];
        if (e < b) {
            msgf(p->msg, p->cap, "tensor '%s': data_offsets [%llu, %llu] end "
                 "before they begin", t->name, ULL(b), ULL(e));
            return NN_ST_EFORMAT;
        }
        if (!nn_st_tensor_bytes(t, &need)) {
            msgf(p->msg, p->cap, "tensor '%s': %s shape %s overflows 64 bits",
                 t->name, DTYPES[t->dtype].name,
                 shape_text(t, shape, sizeof shape));
            return NN_ST_EFORMAT;
        }
        if (e - b != need) {
            msgf(p->msg, p->cap, "tensor '%s': data_offsets [%llu, %llu] span "
                 "%llu bytes but %s shape %s needs %llu", t->name, ULL(b),
                 ULL(e), ULL(e - b), DTYPES[t->dtype].name,
                 shape_text(t, shape, sizeof shape), ULL(need));
            return NN_ST_EFORMAT;
        }
        t->nbytes = need;
    }
    return NN_ST_OK;
}

/* Sorted by offsets, the tensors must tile [0, data_len) exactly. */
static nn_st_status check_tiling(parser *p, uint32_t *by_offset,
                                 uint64_t data_len)
{
    sort_index(by_offset, p->ntensors, cmp_offsets, p);
    uint64_t pos = 0;
    const char *prev = 0;
    for (size_t k = 0; k < p->ntensors; k++) {
        uint32_t i = by_offset[k];
        uint64_t b = p->offsets[2 * i], e = p->offsets[2 * i + 1];
        const char *name = p->tensors[i].name;
        if (b < pos) {
            msgf(p->msg, p->cap, "tensor '%s': data_offsets [%llu, %llu] "
                 "overlap tensor '%s', which ends at %llu", name, ULL(b),
                 ULL(e), prev, ULL(pos));
            return NN_ST_EFORMAT;
        }
        if (b > pos) {
            msgf(p->msg, p->cap, "tensor '%s': data_offsets [%llu, %llu] "
                 "leave a gap of %llu bytes after %s%s%s", name, ULL(b),
                 ULL(e), ULL(b - pos), prev ? "tensor '" : "the start",
                 prev ? prev : "", prev ? "'" : "");
            return NN_ST_EFORMAT;
        }
        pos = e;
        prev = name;
    }
    if (pos > data_len) {
        msgf(p->msg, p->cap, "tensor '%s': data ends at %llu, past the "
             "%llu-byte data buffer", prev, ULL(pos), ULL(data_len));
        return NN_ST_EFORMAT;
    }
    if (pos < data_len) {
        msgf(p->msg, p->cap, "tensors end at byte %llu of the %llu-byte data "
             "buffer: %llu trailing bytes", ULL(pos), ULL(data_len),
             ULL(data_len - pos));
        return NN_ST_EFORMAT;
    }
    return NN_ST_OK;
}

nn_st_status nn_st_read(nn_st_file *f, const void *file, size_t size,
                        void *scratch, size_t scratch_bytes, char *msg,
                        size_t msg_cap)
{
    parser p;
    nn_st_status st = count_pass(file, size, &p, msg, msg_cap);
    if (st)
        return st;
    layout l = plan_scratch(p.ntensors, p.nmeta, p.nstr);
    if (!scratch || scratch_bytes < l.total) {
        msgf(msg, msg_cap, "scratch of %zu bytes, reading this file needs %zu",
             scratch ? scratch_bytes : 0, l.total);
        return NN_ST_ESPACE;
    }
    unsigned char *base = scratch;
    base += (8 - (uintptr_t)base % 8) % 8;
    parser q = {.s = p.s, .n = p.n, .msg = msg, .cap = msg_cap, .store = true,
                .tensors = (nn_st_tensor *)(base + l.tensors),
                .offsets = (uint64_t *)(base + l.offsets),
                .meta = (nn_st_meta *)(base + l.meta),
                .str = (char *)(base + l.str)};
    if (!parse_header(&q))
        return NN_ST_EFORMAT; /* not reached: the counting pass parsed it */
    uint32_t *by_name = (uint32_t *)(base + l.by_name);
    uint32_t *by_offset = (uint32_t *)(base + l.by_offset);
    uint32_t *meta_idx = (uint32_t *)(base + l.meta_idx);
    const unsigned char *data = (const unsigned char *)file + 8 + p.n;
    uint64_t data_len = size - 8 - p.n;
    if ((st = check_names(&q, by_name, meta_idx)) ||
        (st = check_sizes(&q)) ||
        (st = check_tiling(&q, by_offset, data_len)))
        return st;
    for (size_t i = 0; i < q.ntensors; i++)
        q.tensors[i].data = data + q.offsets[2 * i];
    *f = (nn_st_file){.file = file, .size = size, .header_len = p.n,
                      .data = data, .data_len = data_len,
                      .tensors = q.tensors, .ntensors = q.ntensors,
                      .meta = q.meta, .nmeta = q.nmeta, .by_name = by_name,
                      .meta_by_key = meta_idx};
    if (msg_cap)
        msg[0] = '\0';
    return NN_ST_OK;
}

// --- lookup ------------------------------------------------------------------
/* Position in idx (sorted by name_of) of the entry called key, or -1. */
typedef const char *(*name_fn)(const nn_st_file *f, uint32_t i);

static long bsearch_name(const nn_st_file *f, const uint32_t *idx, size_t n,
                         name_fn name_of, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = st_strcmp(name_of(f, idx[mid]), key);
        if (c == 0)
            return (long)idx[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const char *tensor_name(const nn_st_file *f, uint32_t i)
{
    return f->tensors[i].name;
}

static const char *meta_key(const nn_st_file *f, uint32_t i)
{
    return f->meta[i].key;
}

const nn_st_tensor *nn_st_find(const nn_st_file *f, const char *name)
{
    long i = bsearch_name(f, f->by_name, f->ntensors, tensor_name, name);
    return i < 0 ? 0 : &f->tensors[i];
}

const char *nn_st_meta_get(const nn_st_file *f, const char *key)
{
    long i = bsearch_name(f, f->meta_by_key, f->nmeta, meta_key, key);
    return i < 0 ? 0 : f->meta[i].value;
}
