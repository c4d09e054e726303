/*
 * tape.c — reverse-mode gradients on a model's graph. The forward pass runs
 * the nodes in order like nerve_nn_run but keeps every tensor (the tape);
 * in training mode BatchNormalization uses the batch's statistics (and
 * updates the running ones in the model) and Dropout drops, seeded. The
 * backward pass walks the nodes in reverse, hands each operator's backward
 * step the gradient of its output, and adds up the gradients of its
 * inputs; parameters (float initializers) end with theirs in grad[].
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "grad_internal.h"

void nerve_tape_clear(nerve_tape *t)
{
    for (int v = 0; t->m && v < t->m->n_values; v++) {
        nerve_array_free(&t->owned[v]);
        nerve_array_free(&t->grad[v]);
        t->val[v] = NULL;
    }
    for (int k = 0; t->m && k < t->m->n_nodes; k++)
        nerve_array_free(&t->saved[k]);
}

void nerve_tape_free(nerve_tape *t)
{
    nerve_tape_clear(t);
    free(t->val);
    free(t->owned);
    free(t->grad);
    free(t->saved);
    memset(t, 0, sizeof *t);
}

int nerve_tape_init(nerve_tape *t, nerve_model *m, int training, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->m = m;
    t->training = training;
    t->seed = seed;
    t->val = calloc((size_t)m->n_values + 1, sizeof *t->val);
    t->owned = calloc((size_t)m->n_values + 1, sizeof *t->owned);
    t->grad = calloc((size_t)m->n_values + 1, sizeof *t->grad);
    t->saved = calloc((size_t)m->n_nodes + 1, sizeof *t->saved);
    if (!t->val || !t->owned || !t->grad || !t->saved) {
        nerve_tape_free(t);
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", m->path);
    }
    return 0;
}

/* ---- training-mode forward steps ---------------------------------------- */

/* BatchNormalization on the batch's statistics; saves mean and 1/std per
 * channel for the backward step and moves the running statistics
 * (momentum as ONNX: running = running * momentum + batch * (1 - momentum);
 * the running variance takes the unbiased batch variance, as PyTorch). */
static int batch_norm_train(nerve_tape *t, const nerve_node *n, const nerve_array *const *in, nerve_array *out,
                            nerve_array *saved)
{
    const nerve_array *x = in[0];
    int64_t N = x->shape[0], C = x->shape[1], inner = nerve_array_count(x) / (N * C), two_c = 2 * C;
    float eps = attr_float(n, "epsilon", 1e-5f), momentum = attr_float(n, "momentum", 0.9f);
    int rc = nerve_array_alloc_raw(out, NERVE_F32, x->ndim, x->shape);
    if (rc == 0)
        rc = nerve_array_alloc(saved, NERVE_F32, 1, &two_c);
    if (rc < 0)
        return rc;
    const float *xd = x->data, *scale = in[1]->data, *bias = in[2]->data;
    float *rmean = t->m->values[n->in[3]].data.data, *rvar = t->m->values[n->in[4]].data.data;
    float *y = out->data, *s = saved->data;
    double count = (double)(N * inner);
    #pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < C; ch++) {
        double sum = 0, sq = 0;
        for (int64_t b = 0; b < N; b++) {   /* float sums per row, double across rows */
            const float *row = xd + (b * C + ch) * inner;
            float s = 0;
            for (int64_t i = 0; i < inner; i++)
                s += row[i];
            sum += s;
        }
        double mean = sum / count;
        for (int64_t b = 0; b < N; b++) {
            const float *row = xd + (b * C + ch) * inner;
            float s = 0, m = (float)mean;
            for (int64_t i = 0; i < inner; i++)
                s += (row[i] - m) * (row[i] - m);
            sq += s;
        }
        double var = sq / count, invstd = 1 / sqrt(var + eps);
        s[ch] = (float)mean;
        s[C + ch] = (float)invstd;
        float a = (float)(scale[ch] * invstd), c0 = (float)(bias[ch] - mean * scale[ch] * invstd);
        for (int64_t b = 0; b < N; b++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = (b * C + ch) * inner + i;
                y[at] = xd[at] * a + c0;
            }
        rmean[ch] = (float)(rmean[ch] * momentum + mean * (1 - momentum));
        rvar[ch] = (float)(rvar[ch] * momentum + (count > 1 ? sq / (count - 1) : var) * (1 - momentum));
    }
    return 0;
}

/* Dropout: each element kept with probability 1 - ratio and scaled by
 * 1 / (1 - ratio); the scaled mask is saved. The stream is (seed, step,
 * node), so a rerun draws the same masks. */
static int dropout_train(nerve_tape *t, int k, const nerve_array *x, nerve_array *out, nerve_array *saved)
{
    float ratio = attr_float(&t->m->nodes[k], "ratio", 0.5f);
    int rc = nerve_array_alloc(out, NERVE_F32, x->ndim, x->shape);
    if (rc == 0)
        rc = nerve_array_alloc(saved, NERVE_F32, x->ndim, x->shape);
    if (rc < 0)
        return rc;
    nerve_rng r;
    nerve_rng_stream(&r, t->seed, t->step * (uint64_t)t->m->n_nodes + (uint64_t)k);
    float keep = ratio < 1 ? 1 / (1 - ratio) : 0;
    float *mask = saved->data, *y = out->data;
    const float *xd = x->data;
    for (int64_t i = 0; i < nerve_array_count(x); i++) {
        mask[i] = nerve_rng_uniform(&r) >= ratio ? keep : 0;
        y[i] = xd[i] * mask[i];
    }
    return 0;
}

/* ---- forward ------------------------------------------------------------ */

static int forward_node(nerve_tape *t, int k)
{
    nerve_model *m = t->m;
    const nerve_node *n = &m->nodes[k];
    const nerve_array *in[NN_MAX_INPUTS];
    nerve_array out[NN_MAX_OUTPUTS];
    int rc = nn_node_arity(m, n);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n->n_in; i++)
        in[i] = n->in[i] >= 0 ? t->val[n->in[i]] : NULL;
    memset(out, 0, sizeof out);
    op_context c = { m, n, m->opset, NULL };
    if (t->training && strcmp(n->op, "BatchNormalization") == 0 && n->n_in >= 5)
        rc = batch_norm_train(t, n, in, &out[0], &t->saved[k]);
    else if (t->training && strcmp(n->op, "Dropout") == 0)
        rc = dropout_train(t, k, in[0], &out[0], &t->saved[k]);
    else
        rc = nn_op(n->op_index)->run(&c, in, n->n_in, out, n->n_out);
    if (rc == 0 && !(t->training && strcmp(n->op, "BatchNormalization") == 0))
        rc = nn_outputs_made(&c, out);
    for (int i = 0; i < n->n_out; i++) {
        int v = n->out[i];
        if (rc < 0 || v < 0 || !out[i].data || (t->training && i > 0 && strcmp(n->op, "BatchNormalization") == 0)) {
            nerve_array_free(&out[i]);
            continue;
        }
        t->owned[v] = out[i];
        t->val[v] = &t->owned[v];
    }
    return rc;
}

int nerve_tape_forward(nerve_tape *t, const nerve_array *inputs, int n_inputs)
{
    nerve_model *m = t->m;
    nerve_tape_clear(t);
    if (n_inputs != m->n_inputs)
        return nerve_error_set(NERVE_EINPUT, "%s: the model takes %d inputs, %d given", m->path, m->n_inputs,
                               n_inputs);
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].constant)
            t->val[v] = &m->values[v].data;
    for (int i = 0; i < n_inputs; i++)
        t->val[m->inputs[i]] = &inputs[i];
    int rc = 0;
    int end = t->last_node > 0 && t->last_node < m->n_nodes ? t->last_node + 1 : m->n_nodes;
    for (int k = 0; k < end && rc == 0; k++)
        rc = forward_node(t, k);
    t->step++;
    return rc;
}

/* ---- backward ----------------------------------------------------------- */

static int accumulate(nerve_array *into, nerve_array *add)
{
    if (!into->data) {
        *into = *add;
        memset(add, 0, sizeof *add);
        return 0;
    }
    float *d = into->data;
    const float *s = add->data;
    for (int64_t i = 0; i < nerve_array_count(into); i++)
        d[i] += s[i];
    nerve_array_free(add);
    return 0;
}

/* Lucid's redirected ReLU gradient (lucid/misc/redirected_relu_grad.py):
 * for an input whose every ReLU gradient is zero (all units off where the
 * objective looks), the gradient passes where it would raise a negative
 * input too, so an optimisation that starts dead can start at all. */
static int redirected_relu(const grad_args *a)
{
    const nerve_array *x = a->in[0];
    if (!a->need[0] || x->ndim < 1)
        return 0;
    int64_t N = x->shape[0], per = N > 0 ? nerve_array_count(x) / N : 0;
    int rc = nerve_array_alloc_raw(&a->din[0], NERVE_F32, x->ndim, x->shape);   /* every element is written */
    if (rc < 0)
        return rc;
    const float *xd = x->data, *g = a->dout->data;
    float *d = a->din[0].data;
    #pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        int through = 0;
        for (int64_t i = n * per; i < (n + 1) * per; i++) {
            d[i] = xd[i] > 0 ? g[i] : 0;
            through |= d[i] != 0;
        }
        for (int64_t i = n * per; !through && i < (n + 1) * per; i++)
            d[i] = xd[i] > 0 || g[i] < 0 ? g[i] : 0;   /* descent on g raises x where g < 0 */
    }
    return 0;
}

/* The gradient of each output of node n (NULL where nothing downstream
 * needs it); output 0's is made zero when only a later output has one, so
 * that every backward step has a dout. 1, 0 when no output has a
 * gradient, or an error. */
static int output_grads(nerve_tape *t, const nerve_node *n, const nerve_array **douts)
{
    int any = 0, n_out = n->n_out < NN_MAX_OUTPUTS ? n->n_out : NN_MAX_OUTPUTS;
    for (int i = 0; i < n_out; i++) {
        douts[i] = n->out[i] >= 0 && t->grad[n->out[i]].data ? &t->grad[n->out[i]] : NULL;
        any |= douts[i] != NULL;
    }
    if (!any || douts[0])
        return any;
    const nerve_array *y = n->out[0] >= 0 ? t->val[n->out[0]] : NULL;
    if (!y)
        return nerve_error_set(NERVE_EUNSUPPORTED, "%s: node '%s': gradients through a later output of %s "
                               "whose first output is not kept", t->m->path, n->name, n->op);
    int rc = nerve_array_alloc(&t->grad[n->out[0]], NERVE_F32, y->ndim, y->shape);
    douts[0] = &t->grad[n->out[0]];
    return rc < 0 ? rc : 1;
}

/* The node's backward step: only the element movers (Split) take the
 * gradients of outputs after the first. */
static int step_of(const nerve_tape *t, const nerve_node *n, const nerve_array *const *douts, grad_fn *fn)
{
    *fn = t->redirect_relu && strcmp(n->op, "Relu") == 0 ? redirected_relu : nn_grad_find(n->op);
    if (!*fn)
        return nerve_error_set(NERVE_EUNSUPPORTED, "%s: node '%s': no gradient for %s", t->m->path, n->name, n->op);
    for (int i = 1; i < n->n_out && i < NN_MAX_OUTPUTS; i++)
        if (douts[i] && *fn != nn_grad_by_index)
            return nerve_error_set(NERVE_EUNSUPPORTED, "%s: node '%s': no gradient through output %d of %s",
                                   t->m->path, n->name, i, n->op);
    return 0;
}

static int is_float_value(const nerve_tape *t, int v)
{
    return v >= 0 && t->val[v] && t->val[v]->dtype == NERVE_F32;
}

/* Which values a gradient is wanted for: the float graph inputs when the
 * tape asks for them, the float initializers unless frozen, and the float
 * outputs of a node that reads such a value (integers carry none: a
 * Shape's output does not). A constant subgraph (a Constant node, an
 * attention mask built from shapes, a position table) has none. */
static char *wanted_values(const nerve_tape *t)
{
    const nerve_model *m = t->m;
    char *wants = calloc((size_t)m->n_values + 1, 1);
    if (!wants)
        return NULL;
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].producer < 0)
            wants[v] = is_float_value(t, v) && (m->values[v].constant ? !t->frozen : t->input_grads);
    for (int k = 0; k < m->n_nodes; k++) {
        const nerve_node *n = &m->nodes[k];
        int any = 0;
        for (int i = 0; i < n->n_in; i++)
            any |= n->in[i] >= 0 && wants[n->in[i]];
        for (int i = 0; i < n->n_out; i++)
            if (n->out[i] >= 0)
                wants[n->out[i]] = (char)(any && is_float_value(t, n->out[i]));
    }
    return wants;
}

static int backward_node(nerve_tape *t, int k, const char *wants)
{
    nerve_model *m = t->m;
    const nerve_node *n = &m->nodes[k];
    const nerve_array *douts[NN_MAX_OUTPUTS];
    const nerve_array *in[NN_MAX_INPUTS];
    nerve_array din[NN_MAX_INPUTS];
    int need[NN_MAX_INPUTS], any = 0;
    memset(din, 0, sizeof din);
    for (int i = 0; i < n->n_in && i < NN_MAX_INPUTS; i++) {
        in[i] = n->in[i] >= 0 ? t->val[n->in[i]] : NULL;
        need[i] = in[i] && in[i]->dtype == NERVE_F32 && wants[n->in[i]];
        any |= need[i];
    }
    int has = n->n_out < 1 || !any ? 0 : output_grads(t, n, douts);
    if (has <= 0)
        return has;   /* an error, or no gradient to pass: none wanted upstream or none arriving */
    grad_fn fn;
    int rc = step_of(t, n, douts, &fn);
    if (rc < 0)
        return rc;
    nerve_array outs[NN_MAX_OUTPUTS];
    for (int i = 0; i < n->n_out && i < NN_MAX_OUTPUTS; i++)
        outs[i] = n->out[i] >= 0 && t->val[n->out[i]] ? *t->val[n->out[i]] : (nerve_array){ 0 };
    op_context c = { m, n, m->opset, NULL };
    grad_args a = { &c, in, n->n_in, outs, douts[0], need, din, t->saved[k].data ? &t->saved[k] : NULL,
                    n->n_out < NN_MAX_OUTPUTS ? n->n_out : NN_MAX_OUTPUTS, douts };
    rc = fn(&a);
    for (int i = 0; i < n->n_in; i++) {
        if (rc == 0 && din[i].data)
            rc = accumulate(&t->grad[n->in[i]], &din[i]);
        nerve_array_free(&din[i]);
    }
    for (int i = 0; i < a.n_out; i++)
        if (n->out[i] >= 0 && m->values[n->out[i]].producer >= 0 && !m->values[n->out[i]].constant)
            nerve_array_free(&t->grad[n->out[i]]);   /* used up */
    return rc;
}

int nerve_tape_backward(nerve_tape *t, int value, const nerve_array *dvalue)
{
    const nerve_array *y = t->val[value];
    if (!y || dvalue->ndim != y->ndim || nerve_array_count(dvalue) != nerve_array_count(y))
        return nerve_error_set(NERVE_EINPUT, "%s: the gradient of '%s' does not match its shape", t->m->path,
                               t->m->values[value].name);
    int rc = nerve_array_alloc(&t->grad[value], NERVE_F32, y->ndim, y->shape);
    if (rc < 0)
        return rc;
    memcpy(t->grad[value].data, dvalue->data, (size_t)nerve_array_count(y) * sizeof(float));
    char *wants = wanted_values(t);
    if (!wants)
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", t->m->path);
    for (int k = t->m->n_nodes - 1; k >= 0 && rc == 0; k--)
        rc = backward_node(t, k, wants);
    free(wants);
    return rc;
}

/* ---- the loss ----------------------------------------------------------- */

int nerve_nn_cross_entropy(double *loss, nerve_array *dlogits, int64_t *correct, const nerve_array *logits,
                           const int64_t *labels)
{
    if (logits->ndim != 2 || logits->dtype != NERVE_F32)
        return nerve_error_set(NERVE_EINPUT, "cross-entropy: logits must be an (N, classes) float matrix");
    int64_t N = logits->shape[0], K = logits->shape[1];
    int rc = dlogits ? nerve_array_alloc(dlogits, NERVE_F32, 2, logits->shape) : 0;
    if (rc < 0)
        return rc;
    const float *z = logits->data;
    double total = 0;
    int64_t right = 0;
    for (int64_t i = 0; i < N; i++) {
        if (labels[i] < 0 || labels[i] >= K) {
            if (dlogits)
                nerve_array_free(dlogits);
            return nerve_error_set(NERVE_EINPUT, "cross-entropy: label %lld of row %lld is outside 0..%lld",
                                   (long long)labels[i], (long long)i, (long long)K - 1);
        }
        const float *row = z + i * K;
        int64_t best = 0;
        float top = row[0];
        for (int64_t k = 1; k < K; k++)
            if (row[k] > top) {
                top = row[k];
                best = k;
            }
        double sum = 0;
        for (int64_t k = 0; k < K; k++)
            sum += exp((double)row[k] - top);
        total += log(sum) - ((double)row[labels[i]] - top);
        right += best == labels[i];
        for (int64_t k = 0; dlogits && k < K; k++)
            ((float *)dlogits->data)[i * K + k] =
                (float)((exp((double)row[k] - top) / sum - (k == labels[i])) / (double)N);
    }
    *loss = total / (double)N;
    if (correct)
        *correct = right;
    return 0;
}
