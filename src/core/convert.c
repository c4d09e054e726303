/*
 * convert.c — element conversion from any .npy/IDX type and byte order into
 * float32 or int64, and Fortran- to C-order rearrangement.
 */
#include <math.h>
#include <string.h>

#include "nerve/core.h"
#include "core_internal.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "nerve assumes a little-endian host");

static uint16_t load16(const unsigned char *p, int big)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return big ? __builtin_bswap16(v) : v;
}

static uint32_t load32(const unsigned char *p, int big)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return big ? __builtin_bswap32(v) : v;
}

static uint64_t load64(const unsigned char *p, int big)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return big ? __builtin_bswap64(v) : v;
}

/* IEEE 754 binary16 to binary32, subnormals, infinities and NaN included. */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = h >> 10 & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000 | man << 13;
    } else if (exp != 0) {
        bits = sign | (exp + 112) << 23 | man << 13;
    } else if (man == 0) {
        bits = sign;
    } else {
        float f = ldexpf((float)man, -24);
        return sign ? -f : f;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* One element as a double (exact for every type but 64-bit integers beyond
 * 2^53, which only the int64 path below needs). */
static double load_double(const unsigned char *p, nerve_dtype t, int big)
{
    switch (t) {
    case NERVE_F16: return half_to_float(load16(p, big));
    case NERVE_F32: { uint32_t b = load32(p, big); float f; memcpy(&f, &b, 4); return f; }
    case NERVE_F64: { uint64_t b = load64(p, big); double d; memcpy(&d, &b, 8); return d; }
    case NERVE_I8:  return (int8_t)p[0];
    case NERVE_U8:  return p[0];
    case NERVE_BOOL:return p[0] != 0;
    case NERVE_I16: return (int16_t)load16(p, big);
    case NERVE_U16: return load16(p, big);
    case NERVE_I32: return (int32_t)load32(p, big);
    case NERVE_U32: return load32(p, big);
    case NERVE_I64: return (double)(int64_t)load64(p, big);
    case NERVE_U64: return (double)load64(p, big);
    }
    return 0;
}

static int64_t double_to_i64(double d)
{
    if (isnan(d))
        return 0;
    if (d >= 9223372036854775807.0)
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

static int64_t load_i64(const unsigned char *p, nerve_dtype t, int big)
{
    if (t == NERVE_I64)
        return (int64_t)load64(p, big);
    if (t == NERVE_U64) {
        uint64_t v = load64(p, big);
        return v > INT64_MAX ? INT64_MAX : (int64_t)v;
    }
    return double_to_i64(load_double(p, t, big));
}

void nerve_convert(void *dst, nerve_dtype to, const void *src, nerve_dtype from,
                      int big_endian, int64_t n)
{
    const unsigned char *s = src;
    size_t size = (size_t)nerve_dtype_size(from);
    if (n == 0)
        return;
    if (to == from && (!big_endian || size == 1)) {
        memcpy(dst, src, (size_t)n * size);
        return;
    }
    if (to == NERVE_F32) {
        float *d = dst;
        if (from == NERVE_U8) {           /* images: the common case, kept tight */
            for (int64_t i = 0; i < n; i++)
                d[i] = s[i];
            return;
        }
        for (int64_t i = 0; i < n; i++)
            d[i] = (float)load_double(s + (size_t)i * size, from, big_endian);
    } else {
        int64_t *d = dst;
        for (int64_t i = 0; i < n; i++)
            d[i] = load_i64(s + (size_t)i * size, from, big_endian);
    }
}

void fortran_to_c(void *dst, const void *src, int ndim, const int64_t *shape, size_t elem_size)
{
    int64_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= shape[i];
    if (count == 0)
        return;
    /* Walk the C-order output with an odometer, keeping the Fortran offset
     * of the current index up to date. */
    int64_t stride[NERVE_MAX_DIMS], index[NERVE_MAX_DIMS] = { 0 };
    int64_t s = 1;
    for (int i = 0; i < ndim; i++) {
        stride[i] = s;
        s *= shape[i];
    }
    const unsigned char *in = src;
    unsigned char *out = dst;
    int64_t offset = 0;
    for (int64_t k = 0; k < count; k++) {
        memcpy(out + (size_t)k * elem_size, in + (size_t)offset * elem_size, elem_size);
        for (int d = ndim - 1; d >= 0; d--) {
            if (++index[d] < shape[d]) {
                offset += stride[d];
                break;
            }
            offset -= stride[d] * (shape[d] - 1);
            index[d] = 0;
        }
    }
}
