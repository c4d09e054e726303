/*
 * onnx.c — loading an .onnx file into a nerve_model: the protobuf is
 * decoded with protobuf-c (code generated at build time from Debian's
 * onnx.proto), and everything nerve needs is copied out of it, so the model
 * owns plain C data and the protobuf is freed at once.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int onnx_tensor_from_proto(nerve_array *out, const Onnx__TensorProto *t, const char *label)
{
    memset(out, 0, sizeof *out);
    const char *name = t->name && *t->name ? t->name : "(unnamed)";
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return nerve_error_set(NERVE_EUNSUPPORTED, "%s: tensor '%s' keeps its data in an external "
                               "file, which nerve does not read; save the model with the weights "
                               "inside (onnx.save(model, path, save_as_external_data=False))",
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
    if (t->has_raw_data) {
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
    if (t->has_raw_data)
        nerve_convert(out->data, want, t->raw_data.data, src, 0, count);
    else
        typed_field_values(t, src, out, count);
    return 0;
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
        rc = onnx_tensor_from_proto(out, t, path);
    if (t)
        onnx__tensor_proto__free_unpacked(t, NULL);
    nerve_storage_free(&map);
    return rc;
}
