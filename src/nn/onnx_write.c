/*
 * onnx_write.c — a model written as ONNX (protobuf-c, IR version 8): its
 * nodes with their attributes, float and int64 initializers as raw data,
 * the graph inputs with their declared shapes (a symbolic batch) and the
 * outputs. Everything the writer allocates lives in one arena, freed at the
 * end; the file is written under a temporary name and renamed.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "nerve/nn.h"
#include "nerve/internal/alloc.h"
#include "nn_internal.h"

/* An arena: the proto's pieces, each its own zeroed block, listed so they
 * are freed together. */
typedef struct arena {
    nerve_vec blocks;   /* void * */
    int       failed;
} arena;

static void arena_init(arena *a)
{
    nerve_vec_init(&a->blocks, sizeof(void *), "ONNX writer blocks");
    a->failed = 0;
}

static void *take(arena *a, size_t size)
{
    void *p = a->failed ? NULL : nerve_zalloc_array(1, size, "an ONNX proto piece");
    void **slot = p ? nerve_vec_push(&a->blocks) : NULL;
    if (!slot) {
        free(p);
        a->failed = 1;
        return NULL;
    }
    return *slot = p;
}

static void arena_free(arena *a)
{
    void **blocks = a->blocks.data;
    for (size_t i = 0; i < a->blocks.len; i++)
        free(blocks[i]);
    nerve_vec_free(&a->blocks);
}

static Onnx__AttributeProto *attribute(arena *ar, const nerve_attr *src)
{
    Onnx__AttributeProto *a = take(ar, sizeof *a);
    if (!a)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = src->name;
    a->has_type = 1;
    switch (src->type) {
    case NERVE_ATTR_FLOAT:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->has_f = 1;
        a->f = src->f;
        break;
    case NERVE_ATTR_INT:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = src->i;
        break;
    case NERVE_ATTR_INTS:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        a->n_ints = (size_t)src->count;
        a->ints = src->ints;
        break;
    case NERVE_ATTR_FLOATS:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        a->n_floats = (size_t)src->count;
        a->floats = src->floats;
        break;
    case NERVE_ATTR_STRING:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
        a->has_s = 1;
        a->s.data = (uint8_t *)src->s;
        a->s.len = strlen(src->s);
        break;
    default:
        return NULL;   /* tensors and graphs: not written */
    }
    return a;
}

static Onnx__NodeProto *node_proto(arena *ar, const nerve_model *m, const nerve_node *n)
{
    Onnx__NodeProto *p = take(ar, sizeof *p);
    char **in = take(ar, (size_t)n->n_in * sizeof *in), **out = take(ar, (size_t)n->n_out * sizeof *out);
    Onnx__AttributeProto **attrs = take(ar, (size_t)n->n_attr * sizeof *attrs);
    if (!p || !in || !out || !attrs)
        return NULL;
    onnx__node_proto__init(p);
    p->name = n->name;
    p->op_type = n->op;
    p->n_input = (size_t)n->n_in;
    p->input = in;
    for (int i = 0; i < n->n_in; i++)
        in[i] = n->in[i] >= 0 ? m->values[n->in[i]].name : (char *)"";
    p->n_output = (size_t)n->n_out;
    p->output = out;
    for (int i = 0; i < n->n_out; i++)
        out[i] = n->out[i] >= 0 ? m->values[n->out[i]].name : (char *)"";
    p->n_attribute = (size_t)n->n_attr;
    p->attribute = attrs;
    for (int i = 0; i < n->n_attr; i++)
        if (!(attrs[i] = attribute(ar, &n->attr[i])))
            return NULL;
    return p;
}

static Onnx__TensorProto *initializer(arena *ar, const nerve_value *v)
{
    Onnx__TensorProto *t = take(ar, sizeof *t);
    if (!t)
        return NULL;
    onnx__tensor_proto__init(t);
    t->name = v->name;
    t->n_dims = (size_t)v->data.ndim;
    t->dims = (int64_t *)v->data.shape;
    t->has_data_type = 1;
    t->data_type = v->data.dtype == NERVE_I64 ? ONNX__TENSOR_PROTO__DATA_TYPE__INT64 : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->has_raw_data = 1;
    t->raw_data.data = v->data.data;
    t->raw_data.len = (size_t)nerve_array_count(&v->data) * (size_t)nerve_dtype_size(v->data.dtype);
    return t;
}

/* A float tensor's type with the value's declared shape (-1: "batch"; an
 * undeclared rank writes an empty shape, which ONNX's checker requires). */
static Onnx__ValueInfoProto *value_info(arena *ar, const nerve_value *v)
{
    Onnx__ValueInfoProto *info = take(ar, sizeof *info);
    Onnx__TypeProto *type = take(ar, sizeof *type);
    Onnx__TypeProto__Tensor *tensor = take(ar, sizeof *tensor);
    Onnx__TensorShapeProto *shape = take(ar, sizeof *shape);
    int ndim = v->ndim > 0 ? v->ndim : 0;
    Onnx__TensorShapeProto__Dimension **dims = take(ar, (size_t)ndim * sizeof *dims);
    if (!info || !type || !tensor || !shape || !dims)
        return NULL;
    onnx__value_info_proto__init(info);
    onnx__type_proto__init(type);
    onnx__type_proto__tensor__init(tensor);
    onnx__tensor_shape_proto__init(shape);
    for (int i = 0; i < ndim; i++) {
        if (!(dims[i] = take(ar, sizeof *dims[i])))
            return NULL;
        onnx__tensor_shape_proto__dimension__init(dims[i]);
        if (v->shape[i] >= 0) {
            dims[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dims[i]->dim_value = v->shape[i];
        } else {
            dims[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dims[i]->dim_param = (char *)"batch";
        }
    }
    shape->n_dim = (size_t)ndim;
    shape->dim = dims;
    tensor->has_elem_type = 1;
    tensor->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tensor->shape = shape;
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tensor;
    info->name = v->name;
    info->type = type;
    return info;
}

static Onnx__ModelProto *model_proto(arena *ar, const nerve_model *m, const char *graph_name)
{
    Onnx__ModelProto *p = take(ar, sizeof *p);
    Onnx__GraphProto *g = take(ar, sizeof *g);
    Onnx__OperatorSetIdProto *opset = take(ar, sizeof *opset), **opsets = take(ar, sizeof *opsets);
    int n_init = 0;
    for (int v = 0; v < m->n_values; v++)
        n_init += m->values[v].constant;
    Onnx__NodeProto **nodes = take(ar, (size_t)m->n_nodes * sizeof *nodes);
    Onnx__TensorProto **inits = take(ar, (size_t)n_init * sizeof *inits);
    Onnx__ValueInfoProto **ins = take(ar, (size_t)m->n_inputs * sizeof *ins);
    Onnx__ValueInfoProto **outs = take(ar, (size_t)m->n_outputs * sizeof *outs);
    if (!p || !g || !opset || !opsets || !nodes || !inits || !ins || !outs)
        return NULL;
    onnx__model_proto__init(p);
    onnx__graph_proto__init(g);
    onnx__operator_set_id_proto__init(opset);
    opset->domain = (char *)"";
    opset->has_version = 1;
    opset->version = m->opset;
    opsets[0] = opset;
    for (int k = 0; k < m->n_nodes; k++)
        if (!(nodes[k] = node_proto(ar, m, &m->nodes[k])))
            return NULL;
    for (int v = 0, i = 0; v < m->n_values; v++)
        if (m->values[v].constant && !(inits[i++] = initializer(ar, &m->values[v])))
            return NULL;
    for (int i = 0; i < m->n_inputs; i++)
        if (!(ins[i] = value_info(ar, &m->values[m->inputs[i]])))
            return NULL;
    for (int i = 0; i < m->n_outputs; i++)
        if (!(outs[i] = value_info(ar, &m->values[m->outputs[i]])))
            return NULL;
    g->name = (char *)graph_name;
    g->n_node = (size_t)m->n_nodes;
    g->node = nodes;
    g->n_initializer = (size_t)n_init;
    g->initializer = inits;
    g->n_input = (size_t)m->n_inputs;
    g->input = ins;
    g->n_output = (size_t)m->n_outputs;
    g->output = outs;
    p->has_ir_version = 1;
    p->ir_version = 8;
    p->n_opset_import = 1;
    p->opset_import = opsets;
    p->producer_name = (char *)"nerve";
    p->producer_version = (char *)NERVE_VERSION_STRING;
    p->graph = g;
    return p;
}

int nerve_onnx_write(const nerve_model *m, const char *path, const char *graph_name)
{
    arena ar;
    arena_init(&ar);
    Onnx__ModelProto *p = model_proto(&ar, m, graph_name ? graph_name : "nerve");
    size_t len = p ? onnx__model_proto__get_packed_size(p) : 0;
    uint8_t *buf = p ? malloc(len + 1) : NULL;
    int rc = buf ? 0 : nerve_error_set(NERVE_ENOMEM, "%s: out of memory writing the model", path);
    if (rc == 0) {
        onnx__model_proto__pack(p, buf);
        nerve_outfile f;
        if ((rc = nerve_outfile_open(&f, path)) == 0) {
            if (fwrite(buf, 1, len, f.f) != len) {
                nerve_outfile_abort(&f);
                rc = nerve_error_set(NERVE_EIO, "%s: cannot write", path);
            } else {
                rc = nerve_outfile_commit(&f);
            }
        }
    }
    free(buf);
    arena_free(&ar);
    return rc;
}
