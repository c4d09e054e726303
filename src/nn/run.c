/*
 * run.c — running a model: nodes in order, each operator reading its input
 * tensors and writing fresh outputs; taps reported as they appear; every
 * intermediate tensor freed right after its last reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

int nn_elem_type_is_int(int elem_type)
{
    int t = elem_type;
    return (t >= 2 && t <= 7) || t == 9 || t == 12 || t == 13;
}

/* Checks a given input against the graph's declaration (rank and fixed dims). */
static int check_input(const nerve_model *m, const nerve_value *v, const nerve_array *x)
{
    int t = v->elem_type, wants_int = nn_elem_type_is_int(t);
    if (t && t != 1 && !wants_int && t != 11 && t != 10 && t != 16)
        return nerve_error_set(NERVE_EUNSUPPORTED, "%s: input '%s' has ONNX type %d; nerve feeds "
                               "float, integer and boolean tensors", m->path, v->name, t);
    if (x->dtype != (wants_int ? NERVE_I64 : NERVE_F32))
        return nerve_error_set(NERVE_EINPUT, "%s: input '%s' wants %s data", m->path, v->name,
                               wants_int ? "int64" : "float32");
    char what[300];
    snprintf(what, sizeof what, "input '%s'", v->name);
    int rc = nn_tensor_check(m->path, what, x->dtype, x->ndim, x->shape);
    if (rc < 0 || v->ndim < 0)
        return rc;
    int fits = x->ndim == v->ndim;
    for (int i = 0; fits && i < v->ndim; i++)
        fits = v->shape[i] < 0 || v->shape[i] == x->shape[i];
    if (!fits) {
        char got[256], want[256];
        nerve_shape_format(got, sizeof got, x->ndim, x->shape);
        nerve_shape_format(want, sizeof want, v->ndim, v->shape);
        return nerve_error_set(NERVE_EINPUT, "%s: input '%s' has shape %s, the model expects %s",
                               m->path, v->name, got, want);
    }
    return 0;
}

typedef struct run_state {
    nerve_model         *m;
    const nerve_array  **val;       /* current tensor of each value, NULL if not live */
    nerve_array         *owned;     /* tensors this run computed */
    unsigned char       *tapped;
} run_state;

static void release(run_state *s, int v)
{
    if (s->m->values[v].producer >= 0 && s->val[v]) {
        nerve_array_free(&s->owned[v]);
        s->val[v] = NULL;
    }
}

static int run_node(run_state *s, int index, const nerve_run_options *opts)
{
    nerve_model *m = s->m;
    const nerve_node *n = &m->nodes[index];
    const nerve_array *in[NN_MAX_INPUTS];
    nerve_array out[NN_MAX_OUTPUTS];
    int rc = nn_node_arity(m, n);   /* again: a model may be built in memory, not loaded */
    if (rc < 0)
        return rc;
    for (int i = 0; i < n->n_in; i++) {
        in[i] = n->in[i] >= 0 ? s->val[n->in[i]] : NULL;
        if (n->in[i] >= 0 && !in[i])
            return nerve_error_set(NERVE_EINTERNAL, "%s: node '%s' input freed too early", m->path, n->name);
    }
    memset(out, 0, sizeof out);
    op_context c = { m, n, m->opset, NULL };
    if (n->n_in > 0 && n->in[0] >= 0 && m->values[n->in[0]].producer >= 0 &&
        m->values[n->in[0]].last_use == index) {
        int shared = 0;
        for (int i = 1; i < n->n_in; i++)
            shared |= n->in[i] == n->in[0];
        if (!shared)
            c.consumable = &s->owned[n->in[0]];
    }
    rc = nn_op(n->op_index)->run(&c, in, n->n_in, out, n->n_out);
    if (rc == 0)
        rc = nn_outputs_made(&c, out);
    for (int i = 0; i < n->n_out; i++) {
        int v = n->out[i];
        if (rc < 0 || v < 0 || !out[i].data) {   /* not computed: no one reads it */
            nerve_array_free(&out[i]);
            continue;
        }
        s->owned[v] = out[i];
        s->val[v] = &s->owned[v];
    }
    if (rc < 0)
        return rc;
    for (int i = 0; i < n->n_out && opts && opts->on_tap; i++) {
        int v = n->out[i];
        if (v >= 0 && s->tapped[v] && s->val[v] && (rc = opts->on_tap(opts->ctx, m, v, s->val[v])) < 0)
            return rc;
    }
    for (int i = 0; i < n->n_out; i++)
        if (n->out[i] >= 0 && m->values[n->out[i]].last_use < index)
            release(s, n->out[i]);          /* nobody reads it */
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && m->values[n->in[i]].last_use == index)
            release(s, n->in[i]);
    return 0;
}

static int take_output(run_state *s, int v, nerve_array *out)
{
    const nerve_array *t = s->val[v];
    if (!t)
        return nerve_error_set(NERVE_EINTERNAL, "%s: output '%s' was not computed", s->m->path,
                               s->m->values[v].name);
    if (s->m->values[v].producer >= 0) {
        *out = s->owned[v];
        memset(&s->owned[v], 0, sizeof s->owned[v]);
        s->val[v] = NULL;
        return 0;
    }
    int rc = nerve_array_alloc(out, t->dtype, t->ndim, t->shape);   /* an input or a constant */
    if (rc == 0)
        memcpy(out->data, t->data, (size_t)nerve_array_count(t) * (size_t)nerve_dtype_size(t->dtype));
    return rc;
}

int nerve_nn_run(nerve_model *m, const nerve_array *inputs, int n_inputs,
                 nerve_array *outputs, int n_outputs, const nerve_run_options *opts)
{
    for (int i = 0; i < n_outputs; i++)
        memset(&outputs[i], 0, sizeof outputs[i]);
    if (n_inputs != m->n_inputs)
        return nerve_error_set(NERVE_EINPUT, "%s: the model takes %d inputs, %d given", m->path,
                               m->n_inputs, n_inputs);
    if (n_outputs > m->n_outputs)
        return nerve_error_set(NERVE_EINPUT, "%s: the model has %d outputs, %d asked", m->path,
                               m->n_outputs, n_outputs);
    for (int i = 0; i < n_inputs; i++) {
        int rc = check_input(m, &m->values[m->inputs[i]], &inputs[i]);
        if (rc < 0)
            return rc;
    }
    run_state s = { m, calloc((size_t)m->n_values + 1, sizeof *s.val),
                    calloc((size_t)m->n_values + 1, sizeof *s.owned),
                    calloc((size_t)m->n_values + 1, 1) };
    if (!s.val || !s.owned || !s.tapped) {
        free(s.val);
        free(s.owned);
        free(s.tapped);
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", m->path);
    }
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].constant)
            s.val[v] = &m->values[v].data;
    for (int i = 0; i < n_inputs; i++)
        s.val[m->inputs[i]] = &inputs[i];
    for (int i = 0; opts && i < opts->n_taps; i++)
        if (opts->taps[i] >= 0 && opts->taps[i] < m->n_values)
            s.tapped[opts->taps[i]] = 1;

    int rc = 0;
    static int profile = -1;
    if (profile < 0)
        profile = getenv("NERVE_PROFILE") != NULL;
    for (int k = 0; k < m->n_nodes && rc == 0; k++) {
        double t0 = profile ? nerve_now() : 0;
        rc = run_node(&s, k, opts);
        if (profile)
            fprintf(stderr, "profile %s %s %.6f\n", m->nodes[k].op, m->nodes[k].name, nerve_now() - t0);
    }
    for (int i = 0; i < n_outputs && rc == 0; i++)
        rc = take_output(&s, m->outputs[i], &outputs[i]);
    for (int v = 0; v < m->n_values; v++)
        release(&s, v);
    if (rc < 0)
        for (int i = 0; i < n_outputs; i++)
            nerve_array_free(&outputs[i]);
    free(s.val);
    free(s.owned);
    free(s.tapped);
    return rc;
}
