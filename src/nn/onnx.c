/*
 * onnx.c — loading an .onnx file into a nerve_model: the protobuf is
 * decoded with protobuf-c (code generated at build time from Debian's
 * onnx.proto), and everything nerve needs is copied out of it, so the model
 * owns plain C data and the protobuf is freed at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx.pb-c.h"
#include "nerve/nn.h"
#include "nn_internal.h"


/* ONNX TensorProto.DataType to nerve's element types; -1 if unsupported. */
static int onnx_dtype(int32_t t, nerve_dtype *out)
{
    static const int map[] = {
        [1] = NERVE_F32, [2] = NERVE_U8,  [3] = NERVE_I8,   [4] = NERVE_U16, [5] = NERVE_I16,
        [6] = NERVE_I32, [7] = NERVE_I64, [9] = NERVE_BOOL, [10] = NERVE_F16, [11] = NERVE_F64,
        [12] = NERVE_U32, [13] = NERVE_U64,
    };
    if (t < 1 || t > 13 || t == 8 || (t != 1 && map[t] == 0))
        return -1;
    *out = (nerve_dtype)map[t];
    return 0;
}

/* Values from the typed repeated fields, as doubles or int64. */
static void typed_field_values(const Onnx__TensorProto *t, nerve_dtype src, nerve_array *out, int64_t n)
{
    float *f = out->data;
    int64_t *q = out->data;
    for (int64_t i = 0; i < n; i++) {
        double v = 0;
        int64_t iv = 0;
        switch (src) {
        case NERVE_F32: v = t->float_data[i]; break;
        case NERVE_F64: v = t->double_data[i]; break;
        case NERVE_I64: iv = t->int64_data[i]; v = (double)iv; break;
        case NERVE_U32: case NERVE_U64: iv = (int64_t)t->uint64_data[i]; v = (double)t->uint64_data[i]; break;
        case NERVE_F16: {
            uint16_t bits = (uint16_t)t->int32_data[i];
            float h;
            nerve_convert(&h, NERVE_F32, &bits, NERVE_F16, 0, 1);
            v = h;
            break;
        }
        default: iv = t->int32_data[i]; v = (double)iv; break;
        }
        if (out->dtype == NERVE_F32)
            f[i] = (float)v;
        else
            q[i] = nerve_dtype_is_float(src) ? (int64_t)v : iv;
    }
}

static size_t typed_field_count(const Onnx__TensorProto *t, nerve_dtype src)
{
    switch (src) {
    case NERVE_F32: return t->n_float_data;
    case NERVE_F64: return t->n_double_data;
    case NERVE_I64: return t->n_int64_data;
    case NERVE_U32: case NERVE_U64: return t->n_uint64_data;
    default: return t->n_int32_data;
    }
}

/* Where an external tensor's bytes are: ONNX's "location" (a path relative
 * to the model's folder, which may not leave it), "offset" and "length". */
typedef struct external_place {
    const char *location;
    long long   offset, length;   /* length -1: not given */
} external_place;

static int external_number(const char *text, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* A relative path that stays inside its folder: not absolute, no ".."
 * component, no backslash (a Windows separator a checker would miss). */
static int location_stays_inside(const char *location)
{
    if (!*location || location[0] == '/' || strchr(location, '\\'))
        return 0;
    for (const char *p = location; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        p += len + (p[len] == '/');
    }
    return 1;
}

static int external_place_of(external_place *at, const Onnx__TensorProto *t, const char *label,
                             const char *name)
{
    at->location = NULL;
    at->offset = 0;
    at->length = -1;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const char *key = t->external_data[i]->key ? t->external_data[i]->key : "";
        const char *value = t->external_data[i]->value ? t->external_data[i]->value : "";
        if (strcmp(key, "location") == 0)
            at->location = value;
        else if ((strcmp(key, "offset") == 0 && external_number(value, &at->offset) < 0) ||
                 (strcmp(key, "length") == 0 && external_number(value, &at->length) < 0))
            return nerve_error_set(NERVE_EINPUT, "%s: tensor '%s' gives its external data %s as '%s', "
                                   "not a byte count", label, name, key, value);
    }
    if (!at->location)
        return nerve_error_set(NERVE_EINPUT, "%s: tensor '%s' keeps its data in an external file "
                               "but names no location", label, name);
    if (!location_stays_inside(at->location))
        return nerve_error_set(NERVE_EINPUT, "%s: tensor '%s' keeps its data in '%s', which is not "
                               "a path inside the model's folder", label, name, at->location);
    return 0;
}

/* Reads need bytes of the tensor's external data into dst: the file is
 * found in dir (the model's folder), and the bytes must lie inside it. */
static int read_external(void *dst, size_t need, const Onnx__TensorProto *t, const char *label,
                         const char *dir, const char *name)
{
    external_place at;
    int rc = external_place_of(&at, t, label, name);
    if (rc < 0)
        return rc;
    if (at.length >= 0 && (unsigned long long)at.length != need)
        return nerve_error_set(NERVE_EINPUT, "%s: tensor '%s' has %lld bytes of external data in "
                               "'%s', its shape needs %zu", label, name, at.length, at.location, need);
    char *path;
    if (asprintf(&path, "%s/%s", dir, at.location) < 0)
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", label);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = nerve_error_set(NERVE_EINPUT, "%s: tensor '%s' keeps its data in %s, which cannot be "
                             "read (%s)", label, name, path, fd < 0 ? strerror(errno) : "not a file");
    } else if ((unsigned long long)at.offset > (unsigned long long)st.st_size ||
               need > (unsigned long long)st.st_size - (unsigned long long)at.offset) {
        rc = nerve_error_set(NERVE_EINPUT, "%s: tensor '%s' needs bytes %lld to %llu of %s, which "
                             "holds %lld (truncated data file?)", label, name, at.offset,
                             (unsigned long long)at.offset + need, path, (long long)st.st_size);
    } else {
        for (size_t done = 0; done < need && rc == 0;) {
            ssize_t got = pread(fd, (char *)dst + done, need - done, (off_t)(at.offset + (long long)done));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                rc = nerve_error_set(NERVE_EIO, "%s: reading tensor '%s' from %s: %s", label, name,
                                     path, got < 0 ? strerror(errno) : "file shrank while read");
            else
                done += (size_t)got;
        }
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* Fills out (allocated) from the external file: read in place when the
 * stored type is out's, else through a buffer and converted. */
static int external_values(nerve_array *out, const Onnx__TensorProto *t, const char *label,
                           const char *dir, const char *name, nerve_dtype src, size_t need)
{
    int64_t count = nerve_array_count(out);
    void *buf = src == out->dtype ? out->data : malloc(need ? need : 1);
    int rc = buf ? read_external(buf, need, t, label, dir, name)
                 : nerve_error_set(NERVE_ENOMEM, "%s: out of memory for tensor '%s'", label, name);
    if (rc == 0 && buf != out->data)
        nerve_convert(out->data, out->dtype, buf, src, 0, count);
    if (buf != out->data)
        free(buf);
    if (rc < 0)
        nerve_array_free(out);
    return rc;
}

/* The tensor's values into out (float32 or int64): from raw_data, the typed
 * fields, or (dir not NULL) an external data file in dir. */
int onnx_tensor_from_proto(nerve_array *out, const Onnx__TensorProto *t, const char *label, const char *dir)
{
    memset(out, 0, sizeof *out);
    const char *name = t->name && *t->name ? t->name : "(unnamed)";
    int external = t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (external && !dir)
        return nerve_error_set(NERVE_EUNSUPPORTED, "%s: tensor '%s' keeps its data in an external "
                               "file, which nerve reads only for a model loaded from a file",
                               label, name);
    nerve_dtype src;
    if (onnx_dtype(t->data_type, &src) < 0)
        return nerve_error_set(NERVE_EUNSUPPORTED, "%s: tensor '%s' has ONNX data type %d; nerve "
                               "reads float, double, float16, integers and bool", label, name,
                               t->data_type);
    if (t->n_dims > NERVE_MAX_DIMS)
        return nerve_error_set(NERVE_EINPUT, "%s: tensor '%s' has %zu dimensions", label, name, t->n_dims);
    int64_t shape[NERVE_MAX_DIMS], count;
    for (size_t i = 0; i < t->n_dims; i++)
        shape[i] = t->dims[i];
    char what[300];
    snprintf(what, sizeof what, "tensor '%s'", name);
    int rc = nn_tensor_check(label, what, nerve_dtype_is_float(src) ? NERVE_F32 : NERVE_I64, (int)t->n_dims, shape);
    if (rc < 0)
        return rc;
    nerve_shape_count((int)t->n_dims, shape, &count);   /* cannot fail after the check */
    nerve_dtype want = nerve_dtype_is_float(src) ? NERVE_F32 : NERVE_I64;
    size_t need;
    if (external) {
        if (nerve_mul_size((size_t)count, (size_t)nerve_dtype_size(src), &need) < 0)
            return nerve_error_set(NERVE_EINPUT, "%s: tensor '%s' is too large", label, name);
    } else if (t->has_raw_data) {
        if (nerve_mul_size((size_t)count, (size_t)nerve_dtype_size(src), &need) < 0 ||
            t->raw_data.len != need)
            return nerve_error_set(NERVE_EINPUT, "%s: tensor '%s' holds %zu bytes of raw data, its "
                                   "shape needs %lld elements of %s", label, name, t->raw_data.len,
                                   (long long)count, nerve_dtype_name(src));
    } else if (typed_field_count(t, src) != (size_t)count) {
        return nerve_error_set(NERVE_EINPUT, "%s: tensor '%s' holds %zu values, its shape needs %lld",
                               label, name, typed_field_count(t, src), (long long)count);
    }
    rc = nerve_array_alloc(out, want, (int)t->n_dims, shape);
    if (rc < 0)
        return rc;
    if (external)
        return external_values(out, t, label, dir, name, src, need);
    if (t->has_raw_data)
        nerve_convert(out->data, want, t->raw_data.data, src, 0, count);
    else
        typed_field_values(t, src, out, count);
    return 0;
}

char *onnx_folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash == path ? strdup("/") : slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
}

/* A tensor of the file at path, its external data looked for beside it. */
static int onnx_tensor_beside(nerve_array *out, const Onnx__TensorProto *t, const char *path)
{
    char *dir = onnx_folder_of(path);
    int rc = dir ? onnx_tensor_from_proto(out, t, path, dir)
                 : nerve_error_set(NERVE_ENOMEM, "%s: out of memory", path);
    free(dir);
    return rc;
}

int nerve_onnx_tensor_read(nerve_array *out, const char *path)
{
    nerve_storage map;
    memset(out, 0, sizeof *out);
    int rc = nerve_file_map(&map, path);
    if (rc < 0)
        return rc;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, map.len, map.base);
    if (!t)
        rc = nerve_error_set(NERVE_EINPUT, "%s: not a serialized ONNX tensor (malformed or truncated protobuf)", path);
    else
        rc = onnx_tensor_beside(out, t, path);
    if (t)
        onnx__tensor_proto__free_unpacked(t, NULL);
    nerve_storage_free(&map);
    return rc;
}
