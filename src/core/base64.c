/*
 * base64.c — RFC 4648 base64, for binary data inside JSON and HTML (the
 * viewer's activation maps, the one-file report).
 */
#include <stdlib.h>

#include "nerve/core.h"

char *nerve_base64(const void *data, size_t n, size_t *out_len)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    size_t len = 4 * ((n + 2) / 3);
    if (n > (SIZE_MAX - 3) / 4 * 3)
        return NULL;
    char *out = malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = digits[v >> 18];
        *o++ = digits[(v >> 12) & 63];
        *o++ = digits[(v >> 6) & 63];
        *o++ = digits[v & 63];
    }
    if (i < n) {   /* one or two bytes left: pad with '=' */
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        *o++ = digits[v >> 18];
        *o++ = digits[(v >> 12) & 63];
        *o++ = i + 1 < n ? digits[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = 0;
    if (out_len)
        *out_len = len;
    return out;
}
