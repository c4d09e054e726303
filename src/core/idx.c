/*
 * idx.c — the IDX format of MNIST and Fashion-MNIST (LeCun's), plain or
 * gzip, and the Fashion-MNIST files of Debian's dataset-fashion-mnist.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nerve/core.h"
#include "core_internal.h"
#include "nerve/internal/alloc.h"
#include "nerve/internal/path.h"

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

/* Deflate's best ratio is 1032:1 (zlib's technical notes), so a gzip
 * file of n bytes can hold at most about 1032 n bytes: a header promising
 * more is lying, and is refused before anything is allocated. */
#define GZIP_MAX_RATIO 1032
#define GZIP_SLACK 4096
/* Payload is inflated and converted this many bytes at a time (a multiple
 * of every element size), so only the output array is ever whole. */
#define IDX_CHUNK (1 << 20)

/* An IDX stream: the file through zlib, which reads plain files as they are. */
typedef struct idx_stream {
    gzFile      gz;
    const char *path;
    size_t      file_size;   /* bytes on disk */
} idx_stream;

/* Reads up to n bytes; the count read, or a negative code on corrupt gzip. */
static int64_t stream_read(idx_stream *s, void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        size_t want = n - done > IDX_CHUNK ? IDX_CHUNK : n - done;
        int got = gzread(s->gz, (unsigned char *)buf + done, (unsigned)want);
        if (got < 0) {
            int zerr;
            return nerve_error_set(NERVE_EINPUT, "%s: corrupt or truncated gzip data (%s)",
                                   s->path, gzerror(s->gz, &zerr));
        }
        if (got == 0) {
            /* zlib reports a gzip stream cut short only through gzerror. */
            int zerr;
            const char *msg = gzerror(s->gz, &zerr);
            if (zerr != Z_OK)
                return nerve_error_set(NERVE_EINPUT, "%s: truncated gzip data (%s)", s->path, msg);
            break;
        }
        done += (size_t)got;
    }
    return (int64_t)done;
}

/* The magic and dimensions: element type, shape, header length. */
static int read_header(idx_stream *s, nerve_dtype *t, int *ndim, int64_t *shape, size_t *header)
{
    unsigned char b[4 + 4 * NERVE_MAX_DIMS];
    int64_t got = stream_read(s, b, 4);
    if (got < 0)
        return (int)got;
    if (got < 4)
        return nerve_error_set(NERVE_EINPUT, "%s: truncated: %lld bytes is shorter than an IDX "
                               "header", s->path, (long long)got);
    if (b[0] != 0 || b[1] != 0 || idx_type(b[2], t) < 0)
        return nerve_error_set(NERVE_EINPUT, "%s: not an IDX file (wrong magic bytes %02x %02x %02x)",
                               s->path, b[0], b[1], b[2]);
    *ndim = b[3];
    if (*ndim < 1 || *ndim > NERVE_MAX_DIMS)
        return nerve_error_set(NERVE_EINPUT, "%s: IDX header gives %d dimensions (1 to %d expected)",
                               s->path, *ndim, NERVE_MAX_DIMS);
    *header = 4 + 4 * (size_t)*ndim;
    got = stream_read(s, b + 4, *header - 4);
    if (got < 0)
        return (int)got;
    if ((size_t)got < *header - 4)
        return nerve_error_set(NERVE_EINPUT, "%s: truncated IDX header", s->path);
    for (int i = 0; i < *ndim; i++) {
        const unsigned char *d = b + 4 + 4 * i;
        shape[i] = (int64_t)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
    }
    return 0;
}

/* The payload the header promises, overflow-checked and bounded by what
 * the file can hold: its size on disk, or that times deflate's best ratio. */
static int payload_size(idx_stream *s, nerve_dtype t, int ndim, const int64_t *shape,
                        size_t header, size_t *bytes)
{
    int64_t count;
    char dims[256];
    nerve_shape_format(dims, sizeof dims, ndim, shape);
    if (nerve_shape_count(ndim, shape, &count) < 0 ||
        nerve_mul_size((size_t)count, (size_t)nerve_dtype_size(t), bytes) < 0)
        return nerve_error_set(NERVE_EINPUT, "%s: IDX shape %s is too large", s->path, dims);
    int gzipped = !gzdirect(s->gz);
    size_t bound = s->file_size > header ? s->file_size - header : 0;
    if (gzipped && (__builtin_mul_overflow(s->file_size, (size_t)GZIP_MAX_RATIO, &bound) ||
                    __builtin_add_overflow(bound, (size_t)GZIP_SLACK, &bound)))
        bound = SIZE_MAX;
    if (*bytes > bound)
        return nerve_error_set(NERVE_EINPUT, "%s: IDX shape %s needs %zu bytes of data but the "
                               "%s file of %zu bytes %s (truncated?)", s->path, dims, *bytes,
                               gzipped ? "gzip" : "plain", s->file_size,
                               gzipped ? "cannot hold that much" : "is shorter");
    return 0;
}

/* Inflates exactly `bytes` of payload into out, converting as it goes, then
 * checks the stream ends there. An IDX file is its header and payload and
 * nothing else: a longer stream means the header does not describe the
 * file (a corrupted count, two files concatenated), so it is an error, not
 * silently dropped; and only one byte past the payload is inflated to find
 * out, never the rest of the stream. */
static int read_payload(idx_stream *s, nerve_array *out, nerve_dtype t, size_t bytes)
{
    size_t elem = (size_t)nerve_dtype_size(t), out_elem = (size_t)nerve_dtype_size(out->dtype);
    unsigned char *chunk = nerve_alloc_array(bytes < IDX_CHUNK ? bytes : IDX_CHUNK, 1, "IDX payload");
    if (!chunk)
        return NERVE_ENOMEM;
    int rc = 0;
    for (size_t done = 0; done < bytes && rc == 0;) {
        size_t n = bytes - done < IDX_CHUNK ? bytes - done : IDX_CHUNK;
        int64_t got = stream_read(s, chunk, n);
        if (got < 0)
            rc = (int)got;
        else if ((size_t)got < n)
            rc = nerve_error_set(NERVE_EINPUT, "%s: IDX data needs %zu bytes but the file has %zu "
                                 "(truncated?)", s->path, bytes, done + (size_t)got);
        else if (out->dtype == NERVE_U8)   /* bytes kept as stored */
            memcpy((unsigned char *)out->data + done, chunk, n);
        else
            nerve_convert((unsigned char *)out->data + done / elem * out_elem, out->dtype, chunk,
                          t, 1, (int64_t)(n / elem));   /* IDX is big-endian */
        done += n;
    }
    unsigned char extra;
    int64_t more = rc == 0 ? stream_read(s, &extra, 1) : 0;
    if (more < 0)
        rc = (int)more;
    else if (more > 0)
        rc = nerve_error_set(NERVE_EINPUT, "%s: more data than the IDX header's shape holds "
                             "(%zu bytes after the header); the header does not describe the file",
                             s->path, bytes);
    free(chunk);
    return rc;
}

static int stream_open(idx_stream *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return nerve_error_set(NERVE_EINPUT, "%s: not a regular file", path);
    }
    s->file_size = (size_t)sb.st_size;
    s->gz = gzdopen(fd, "rb");
    if (!s->gz) {
        close(fd);
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", path);
    }
    gzbuffer(s->gz, 1 << 17);
    return 0;
}

int nerve_idx_read(nerve_array *out, nerve_dtype *stored, const char *path, nerve_dtype want)
{
    memset(out, 0, sizeof *out);
    if (want != NERVE_F32 && want != NERVE_I64 && want != NERVE_U8)
        return nerve_error_set(NERVE_EINTERNAL, "%s: arrays are read as float32, int64 or their bytes", path);
    idx_stream s;
    nerve_dtype t = NERVE_U8;
    int ndim = 0;
    int64_t shape[NERVE_MAX_DIMS];
    size_t header = 0, bytes = 0;
    /* Header first, then exactly the payload it promises: a small gzip
     * file cannot make nerve inflate gigabytes it will not use. */
    int rc = stream_open(&s, path);
    if (rc < 0)
        return rc;
    rc = read_header(&s, &t, &ndim, shape, &header);
    if (rc == 0)
        rc = payload_size(&s, t, ndim, shape, header, &bytes);
    if (rc == 0 && want == NERVE_U8 && t != NERVE_U8)
        rc = nerve_error_set(NERVE_EINPUT, "%s: holds %s, not bytes", path, nerve_dtype_name(t));
    if (rc == 0)
        rc = nerve_array_alloc_raw(out, want, ndim, shape);
    if (rc == 0 && (rc = read_payload(&s, out, t, bytes)) < 0)
        nerve_array_free(out);
    gzclose(s.gz);
    if (rc == 0 && stored)
        *stored = t;
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
    return nerve_path(out, cap, "%s/%s-%s-idx%d-ubyte.gz", nerve_fashion_mnist_dir(), prefix, part, ndim);
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

/* a's rows then b's, into out (same dtype and row shape, as both splits
 * of Fashion-MNIST are). */
static int concat_rows(nerve_array *out, const nerve_array *a, const nerve_array *b)
{
    int64_t shape[NERVE_MAX_DIMS];
    memcpy(shape, a->shape, (size_t)a->ndim * sizeof *shape);
    shape[0] = a->shape[0] + b->shape[0];
    int rc = nerve_array_alloc_raw(out, a->dtype, a->ndim, shape);
    if (rc == 0) {
        size_t bytes_a = (size_t)nerve_array_count(a) * nerve_dtype_size(a->dtype);
        memcpy(out->data, a->data, bytes_a);
        memcpy((char *)out->data + bytes_a, b->data, (size_t)nerve_array_count(b) * nerve_dtype_size(b->dtype));
    }
    return rc;
}

/* One part of one split, or for "all" the training images then the test
 * images (70,000). */
static int load_split_part(nerve_array *out, const char *split, const char *part, nerve_dtype want, int ndim)
{
    if (strcmp(split, "all") != 0)
        return load_part(out, split, part, want, ndim);
    nerve_array train = { 0 }, test = { 0 };
    int rc = load_part(&train, "train", part, want, ndim);
    if (rc == 0)
        rc = load_part(&test, "test", part, want, ndim);
    if (rc == 0)
        rc = concat_rows(out, &train, &test);
    nerve_array_free(&train);
    nerve_array_free(&test);
    return rc;
}

int nerve_fashion_mnist_load(nerve_array *images, nerve_array *labels, const char *split)
{
    return nerve_fashion_mnist_read(images, labels, split, NERVE_F32);
}

int nerve_fashion_mnist_read(nerve_array *images, nerve_array *labels, const char *split, nerve_dtype images_as)
{
    nerve_array im = { 0 }, lb = { 0 };
    int rc = 0;
    if (images)
        rc = load_split_part(&im, split, "images", images_as, 3);
    if (rc == 0 && labels)
        rc = load_split_part(&lb, split, "labels", NERVE_I64, 1);
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
