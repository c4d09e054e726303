/*
 * npy_header.c — the .npy header: the magic, the version, and the Python dict
 * literal that gives dtype, order and shape (numpy's format.py is the
 * reference). Parsing is strict and never reads past the buffer.
 */
#include <stdio.h>
#include <string.h>

#include "nerve/core.h"
#include "core_internal.h"

static const char magic[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

/* A cursor over the header text. */
typedef struct cursor {
    const char *p, *end;
    const char *label;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int expect(cursor *c, char ch)
{
    skip_space(c);
    if (c->p >= c->end || *c->p != ch)
        return nerve_error_set(NERVE_EINPUT,
                               "%s: header is not a Python dict literal (expected '%c')",
                               c->label, ch);
    c->p++;
    return 0;
}

static int not_a_dict(cursor *c, const char *what)
{
    return nerve_error_set(NERVE_EINPUT, "%s: header is not a Python dict literal (%s)",
                           c->label, what);
}

/* A quoted string, either quote; copied into out (truncated to cap - 1). */
static int parse_string(cursor *c, char *out, size_t cap)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return not_a_dict(c, "expected a quoted string");
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (n + 1 < cap)
            out[n++] = *c->p;
        c->p++;
    }
    if (c->p >= c->end)
        return not_a_dict(c, "unterminated string");
    c->p++;
    out[n] = '\0';
    return 0;
}

static int parse_bool(cursor *c, int *out)
{
    skip_space(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
        c->p += 4;
        *out = 1;
        return 0;
    }
    if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
        c->p += 5;
        *out = 0;
        return 0;
    }
    return not_a_dict(c, "fortran_order must be True or False");
}

static int parse_dim(cursor *c, int64_t *out)
{
    skip_space(c);
    if (c->p < c->end && *c->p == '-')
        return nerve_error_set(NERVE_EINPUT, "%s: shape has a negative dimension", c->label);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return not_a_dict(c, "shape must be a tuple of integers");
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *c->p - '0', &v))
            return nerve_error_set(NERVE_EINPUT, "%s: shape dimension does not fit in 64 bits",
                                   c->label);
        c->p++;
    }
    if (c->p < c->end && *c->p == 'L')   /* Python 2 longs */
        c->p++;
    *out = v;
    return 0;
}

static int parse_shape(cursor *c, nerve_npy_header *h)
{
    int rc = expect(c, '(');
    if (rc < 0)
        return rc;
    h->ndim = 0;
    for (;;) {
        skip_space(c);
        if (c->p < c->end && *c->p == ')') {
            c->p++;
            return 0;
        }
        if (h->ndim == NERVE_MAX_DIMS)
            return nerve_error_set(NERVE_EINPUT, "%s: shape has more than %d dimensions",
                                   c->label, NERVE_MAX_DIMS);
        rc = parse_dim(c, &h->shape[h->ndim++]);
        if (rc < 0)
            return rc;
        skip_space(c);
        if (c->p < c->end && *c->p == ',')
            c->p++;
        else if (c->p >= c->end || *c->p != ')')
            return not_a_dict(c, "shape tuple is not closed");
    }
}

/* Parses a .npy "descr" string ("<f4", "|u1", ...) into a type and byte
 * order; label names the data in the error. */
static int npy_parse_descr(const char *descr, nerve_dtype *dtype, int *big_endian, const char *label)
{
    const char *d = descr;
    char order = '=';
    if (*d == '<' || *d == '>' || *d == '|' || *d == '=')
        order = *d++;
    char kind = *d ? *d++ : '\0';
    int size = 0;
    while (*d >= '0' && *d <= '9' && size < 1000)
        size = size * 10 + (*d++ - '0');
    int ok = *d == '\0';
    nerve_dtype t = NERVE_F32;
    if (ok && kind == 'f' && size == 2) t = NERVE_F16;
    else if (ok && kind == 'f' && size == 4) t = NERVE_F32;
    else if (ok && kind == 'f' && size == 8) t = NERVE_F64;
    else if (ok && kind == 'i' && size == 1) t = NERVE_I8;
    else if (ok && kind == 'i' && size == 2) t = NERVE_I16;
    else if (ok && kind == 'i' && size == 4) t = NERVE_I32;
    else if (ok && kind == 'i' && size == 8) t = NERVE_I64;
    else if (ok && kind == 'u' && size == 1) t = NERVE_U8;
    else if (ok && kind == 'u' && size == 2) t = NERVE_U16;
    else if (ok && kind == 'u' && size == 4) t = NERVE_U32;
    else if (ok && kind == 'u' && size == 8) t = NERVE_U64;
    else if (ok && kind == 'b' && size == 1) t = NERVE_BOOL;
    else {
        const char *what = kind == 'c' ? "complex" : kind == 'O' ? "Python objects"
                         : kind == 'U' ? "unicode strings" : kind == 'S' || kind == 'a' ? "byte strings"
                         : kind == 'V' ? "raw or structured records"
                         : kind == 'M' || kind == 'm' ? "dates and times" : "unknown";
        return nerve_error_set(NERVE_EINPUT,
                               "%s: dtype '%s' (%s) is not supported; nerve reads bool, "
                               "(u)int8/16/32/64 and float16/32/64", label, descr, what);
    }
    *dtype = t;
    *big_endian = order == '>';
    return 0;
}

static int parse_dict(cursor *c, nerve_npy_header *h)
{
    int have_descr = 0, have_order = 0, have_shape = 0;
    int rc = expect(c, '{');
    while (rc == 0) {
        skip_space(c);
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            break;
        }
        char key[32];
        if ((rc = parse_string(c, key, sizeof key)) < 0 || (rc = expect(c, ':')) < 0)
            return rc;
        if (strcmp(key, "descr") == 0) {
            skip_space(c);
            if (c->p < c->end && *c->p == '[')
                return nerve_error_set(NERVE_EINPUT, "%s: structured dtypes are not supported; "
                                       "nerve reads plain numeric arrays", c->label);
            rc = parse_string(c, h->descr, sizeof h->descr);
            if (rc == 0)
                rc = npy_parse_descr(h->descr, &h->dtype, &h->big_endian, c->label);
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            rc = parse_bool(c, &h->fortran_order);
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            rc = parse_shape(c, h);
            have_shape = 1;
        } else {
            return nerve_error_set(NERVE_EINPUT, "%s: header has an unknown key '%s'", c->label, key);
        }
        if (rc < 0)
            return rc;
        skip_space(c);
        if (c->p < c->end && *c->p == ',')
            c->p++;
        else if (c->p >= c->end || *c->p != '}')
            return not_a_dict(c, "expected ',' or '}' after a value");
    }
    if (rc < 0)
        return rc;
    skip_space(c);
    if (c->p != c->end)
        return not_a_dict(c, "text after the closing '}'");
    if (!have_descr || !have_order || !have_shape)
        return nerve_error_set(NERVE_EINPUT, "%s: header lacks '%s'", c->label,
                               !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return 0;
}

int npy_parse_preamble(npy_preamble *pre, const void *buf, size_t len, const char *label)
{
    const unsigned char *b = buf;
    memset(pre, 0, sizeof *pre);
    if (len < 10)
        return nerve_error_set(NERVE_EINPUT, "%s: truncated: %zu bytes is shorter than a .npy header",
                               label, len);
    if (memcmp(b, magic, sizeof magic) != 0)
        return nerve_error_set(NERVE_EINPUT, "%s: not a .npy file (wrong magic bytes)", label);
    pre->major = b[6];
    pre->minor = b[7];
    if (pre->major == 1) {
        pre->header_len = (size_t)b[8] | (size_t)b[9] << 8;
        pre->start = 10;
    } else if (pre->major == 2 || pre->major == 3) {
        /* The 4-byte length is read only once all of it is there. */
        if (len < 12)
            return nerve_error_set(NERVE_EINPUT, "%s: truncated: %zu bytes is shorter than a "
                                   "version %d .npy header", label, len, pre->major);
        pre->header_len = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 |
                          (size_t)b[11] << 24;
        pre->start = 12;
    } else {
        return nerve_error_set(NERVE_EINPUT, "%s: .npy format version %d.%d is not supported "
                               "(1.0, 2.0 and 3.0 are)", label, pre->major, pre->minor);
    }
    if (pre->header_len > NPY_MAX_HEADER_LEN)
        return nerve_error_set(NERVE_EINPUT, "%s: .npy header length %zu is implausible (an array "
                               "nerve reads has a header of at most %d bytes)", label,
                               pre->header_len, NPY_MAX_HEADER_LEN);
    return 0;
}

int nerve_npy_parse_header(nerve_npy_header *h, const void *buf, size_t len, const char *label)
{
    npy_preamble pre;
    memset(h, 0, sizeof *h);
    int rc = npy_parse_preamble(&pre, buf, len, label);
    if (rc < 0)
        return rc;
    h->major = pre.major;
    h->minor = pre.minor;
    if (pre.header_len > len - pre.start)
        return nerve_error_set(NERVE_EINPUT, "%s: header length %zu runs past the end of the "
                               "file (%zu bytes)", label, pre.header_len, len);
    const char *text = (const char *)buf + pre.start;
    cursor c = { text, text + pre.header_len, label };
    rc = parse_dict(&c, h);
    if (rc < 0)
        return rc;
    h->data_offset = pre.start + pre.header_len;
    return 0;
}

/* Formats the header (magic to '\n') for an array of the given type and
 * shape, padded with spaces so the data starts on a 64-byte boundary and the
 * whole is at least min_len bytes. Returns the length, or 0 if cap is too
 * small. */
size_t npy_format_header(char *out, size_t cap, nerve_dtype dtype, int ndim,
                         const int64_t *shape, size_t min_len)
{
    char dict[64 + 24 * NERVE_MAX_DIMS];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtype == NERVE_I64 ? "<i8" : "<f4");
    for (int i = 0; i < ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld,%s", (long long)shape[i],
                      i + 1 < ndim ? " " : "");
    if (ndim > 1)
        n--;   /* numpy writes (3,) but (3, 4) */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");

    size_t start = 10;
    size_t total = start + (size_t)n + 1;
    if (total - start > 65535) {
        start = 12;
        total += 2;
    }
    total = (total + 63) & ~(size_t)63;
    if (total < min_len)
        total = min_len;
    if (total > cap)
        return 0;
    size_t header_len = total - start;
    memcpy(out, magic, sizeof magic);
    out[6] = start == 10 ? 1 : 2;
    out[7] = 0;
    out[8] = (char)(header_len & 0xff);
    out[9] = (char)(header_len >> 8 & 0xff);
    if (start == 12) {
        out[10] = (char)(header_len >> 16 & 0xff);
        out[11] = (char)(header_len >> 24 & 0xff);
    }
    memcpy(out + start, dict, (size_t)n);
    memset(out + start + n, ' ', header_len - (size_t)n - 1);
    out[total - 1] = '\n';
    return total;
}
