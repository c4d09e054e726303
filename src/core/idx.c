/*
 * idx.c — the IDX format of MNIST and Fashion-MNIST (LeCun's), plain or
 * gzip, and the Fashion-MNIST files of Debian's dataset-fashion-mnist.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "core_internal.h"

static int idx_type(unsigned code, nerve_dtype *t)
{
    switch (code) {
    case 0x08: *t = NERVE_U8;  return 0;
    case 0x09: *t = NERVE_I8;  return 0;
    case 0x0B: *t = NERVE_I16; return 0;
    case 0x0C: *t = NERVE_I32; return 0;
    case 0x0D: *t = NERVE_F32; return 0;
    case 0x0E: *t = NERVE_F64; return 0;
    }
    return -1;
}

static int parse_idx(nerve_array *out, nerve_dtype *stored, const unsigned char *b, size_t len,
                     const char *path, nerve_dtype want)
{
    if (len < 4)
        return nerve_error_set(NERVE_EINPUT, "%s: truncated: %zu bytes is shorter than an IDX header",
                               path, len);
    nerve_dtype t;
    if (b[0] != 0 || b[1] != 0 || idx_type(b[2], &t) < 0)
        return nerve_error_set(NERVE_EINPUT, "%s: not an IDX file (wrong magic bytes %02x %02x %02x)",
                               path, b[0], b[1], b[2]);
    int ndim = b[3];
    if (ndim < 1 || ndim > NERVE_MAX_DIMS)
        return nerve_error_set(NERVE_EINPUT, "%s: IDX header gives %d dimensions (1 to %d expected)",
                               path, ndim, NERVE_MAX_DIMS);
    size_t header = 4 + 4 * (size_t)ndim;
    if (len < header)
        return nerve_error_set(NERVE_EINPUT, "%s: truncated IDX header", path);
    int64_t shape[NERVE_MAX_DIMS];
    for (int i = 0; i < ndim; i++) {
        const unsigned char *d = b + 4 + 4 * i;
        shape[i] = (int64_t)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
    }
    int64_t count;
    size_t bytes;
    if (nerve_shape_count(ndim, shape, &count) < 0 ||
        nerve_mul_size((size_t)count, (size_t)nerve_dtype_size(t), &bytes) < 0)
        return nerve_error_set(NERVE_EINPUT, "%s: IDX shape is too large", path);
    if (bytes > len - header)
        return nerve_error_set(NERVE_EINPUT, "%s: IDX data needs %zu bytes but the file has %zu "
                               "(truncated?)", path, bytes, len - header);
    int rc = nerve_array_alloc(out, want, ndim, shape);
    if (rc < 0)
        return rc;
    nerve_convert(out->data, want, b + header, t, 1, count);   /* IDX is big-endian */
    if (stored)
        *stored = t;
    return 0;
}

int nerve_idx_read(nerve_array *out, nerve_dtype *stored, const char *path, nerve_dtype want)
{
    memset(out, 0, sizeof *out);
    if (want != NERVE_F32 && want != NERVE_I64)
        return nerve_error_set(NERVE_EINTERNAL, "%s: arrays are read as float32 or int64", path);
    nerve_storage raw;
    int rc = nerve_file_read_all(&raw, path);
    if (rc < 0)
        return rc;
    rc = parse_idx(out, stored, raw.base, raw.len, path, want);
    nerve_storage_free(&raw);
    return rc;
}

const char *nerve_fashion_mnist_dir(void)
{
    const char *dir = getenv("NERVE_FASHION_MNIST");
    return dir && *dir ? dir : "/usr/share/datasets/fashion-mnist";
}

int nerve_fashion_mnist_path(char *out, size_t cap, const char *split, const char *part)
{
    const char *prefix = strcmp(split, "train") == 0 ? "train" : strcmp(split, "test") == 0 ? "t10k" : NULL;
    if (!prefix)
        return nerve_error_set(NERVE_EINPUT, "fashion-mnist:%s: unknown split (train, test)", split);
    int ndim = strcmp(part, "images") == 0 ? 3 : 1;
    if ((size_t)snprintf(out, cap, "%s/%s-%s-idx%d-ubyte.gz", nerve_fashion_mnist_dir(), prefix,
                         part, ndim) >= cap)
        return nerve_error_set(NERVE_EINPUT, "fashion-mnist: path too long");
    return 0;
}

static int load_part(nerve_array *out, const char *split, const char *part, nerve_dtype want,
                     int ndim)
{
    char path[4096];
    int rc = nerve_fashion_mnist_path(path, sizeof path, split, part);
    if (rc < 0)
        return rc;
    rc = nerve_idx_read(out, NULL, path, want);
    if (rc == NERVE_EINPUT && strstr(nerve_error(), "cannot open")) {
        char why[1024];
        snprintf(why, sizeof why, "%s", nerve_error());
        rc = nerve_error_set(NERVE_EINPUT, "%s; install Debian's dataset-fashion-mnist "
                             "(make deps) or set NERVE_FASHION_MNIST", why);
    }
    if (rc == 0 && out->ndim != ndim) {
        rc = nerve_error_set(NERVE_EINPUT, "%s: %d dimensions, Fashion-MNIST %s have %d", path,
                             out->ndim, part, ndim);
        nerve_array_free(out);
    }
    return rc;
}

int nerve_fashion_mnist_load(nerve_array *images, nerve_array *labels, const char *split)
{
    nerve_array im = { 0 }, lb = { 0 };
    int rc = 0;
    if (images)
        rc = load_part(&im, split, "images", NERVE_F32, 3);
    if (rc == 0 && labels)
        rc = load_part(&lb, split, "labels", NERVE_I64, 1);
    if (rc == 0 && images && labels && im.shape[0] != lb.shape[0])
        rc = nerve_error_set(NERVE_EINPUT, "fashion-mnist:%s: %lld images but %lld labels", split,
                             (long long)im.shape[0], (long long)lb.shape[0]);
    if (rc < 0) {
        nerve_array_free(&im);
        nerve_array_free(&lb);
        return rc;
    }
    if (images)
        *images = im;
    if (labels)
        *labels = lb;
    return 0;
}
