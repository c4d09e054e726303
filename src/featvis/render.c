/*
 * render.c — the optimisation: images of a batch through parameterisation,
 * warp and preprocessing, the tape forward to the objective's layer and
 * back to the input, then Adam on the parameters (Lucid's defaults:
 * Adam at 0.05). Every per-image step runs on one thread for the whole
 * image, so the result does not depend on the thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/alloc.h"
#include "featvis_internal.h"

void nerve_featvis_defaults(nerve_featvis_options *o, int64_t channels, int64_t height, int64_t width)
{
    memset(o, 0, sizeof *o);
    o->channels = channels;
    o->height = height;
    o->width = width;
    o->range = 1;
    o->steps = 256;
    o->lr = 0.05;
    o->batch = 32;
    o->decay = 1;
    o->init_sd = 0.01;
    o->jitter = (double)width / 28;   /* Lucid's 8 pixels of 224, as a share of the width */
    o->rotate = 10;
    o->scale = 0.05;
}

void nerve_featvis_result_free(nerve_featvis_result *r)
{
    nerve_array_free(&r->images);
    nerve_array_free(&r->inputs);
    free(r->value);
    free(r->cosine);
    memset(r, 0, sizeof *r);
}

int nerve_featvis_find_layer(const nerve_model *m, const char *name, int *value)
{
    for (int v = 0; v < m->n_values; v++)
        if (strcmp(m->values[v].name, name) == 0 && m->values[v].producer >= 0) {
            *value = v;
            return 0;
        }
    for (int k = 0; k < m->n_nodes; k++)
        if (strcmp(m->nodes[k].name, name) == 0 && m->nodes[k].n_out > 0 && m->nodes[k].out[0] >= 0) {
            *value = m->nodes[k].out[0];
            return 0;
        }
    return nerve_error_set(NERVE_EINPUT, "%s: no layer '%s' (nerve layers %s lists them)", m->path, name, m->path);
}

static int check_options(const nerve_model *m, const nerve_featvis_options *o)
{
    if (o->channels < 1 || o->channels > 4 || o->height < 1 || o->width < 1 || o->height > 4096 ||
        o->width > 4096)
        return nerve_error_set(NERVE_EINPUT, "feature visualisation: an image of %lld x %lld x %lld is not possible",
                               (long long)o->channels, (long long)o->height, (long long)o->width);
    if (o->steps < 1 || o->steps > FEATVIS_MAX_STEPS || o->batch < 1 || !(o->lr > 0))
        return nerve_error_set(NERVE_EINPUT, "feature visualisation: steps must be 1..%d, batch >= 1, lr > 0",
                               FEATVIS_MAX_STEPS);
    if (o->n_mean != 0 && o->n_mean != o->channels)
        return nerve_error_set(NERVE_EINPUT, "feature visualisation: %d means and stds for %lld channels",
                               o->n_mean, (long long)o->channels);
    for (int c = 0; c < o->n_mean; c++)
        if (!(o->std[c] != 0))
            return nerve_error_set(NERVE_EINPUT, "feature visualisation: std %d is 0", c);
    if (m->n_inputs != 1)
        return nerve_error_set(NERVE_EUNSUPPORTED, "%s: feature visualisation needs a model of one input (%d)",
                               m->path, m->n_inputs);
    return 0;
}

/* The objective's layer as (C, P positions, width); NERVE_EINPUT when an
 * objective asks for what the layer does not have. */
static int layer_shape(const nerve_model *m, const nerve_array *a, const nerve_featvis_objective *obj, int64_t n,
                       int64_t *C, int64_t *P, int64_t *Wl)
{
    const char *name = m->values[obj[0].value].name;
    if (a->ndim < 2 || a->ndim > 4 || a->dtype != NERVE_F32)
        return nerve_error_set(NERVE_EINPUT, "%s: layer '%s' is not a (N, C[, H[, W]]) float tensor", m->path, name);
    *C = a->shape[1];
    *P = a->ndim == 2 ? 1 : nerve_array_count(a) / (a->shape[0] * *C);
    *Wl = a->ndim == 2 ? 1 : a->shape[a->ndim - 1];
    for (int64_t i = 0; i < n; i++) {
        const nerve_featvis_objective *o = &obj[i];
        int dir = o->kind == NERVE_FEATVIS_DIRECTION || o->kind == NERVE_FEATVIS_DIRECTION_AT;
        if (dir && (o->length != *C || !o->direction))
            return nerve_error_set(NERVE_EINPUT, "%s: layer '%s' has %lld channels, the direction %lld entries",
                                   m->path, name, (long long)*C, (long long)o->length);
        if (!dir && (o->channel < 0 || o->channel >= *C))
            return nerve_error_set(NERVE_EINPUT, "%s: layer '%s' has channels 0..%lld, not %lld", m->path, name,
                                   (long long)*C - 1, (long long)o->channel);
        if ((o->kind == NERVE_FEATVIS_NEURON || o->kind == NERVE_FEATVIS_DIRECTION_AT) &&
            (o->y >= *P / *Wl || o->x >= *Wl))
            return nerve_error_set(NERVE_EINPUT, "%s: layer '%s' is %lld x %lld, no position (%lld, %lld)", m->path,
                                   name, (long long)(*P / *Wl), (long long)*Wl, (long long)o->y, (long long)o->x);
    }
    return 0;
}

/* One batch's state: nb images' parameters, Adam's moments and buffers. */
typedef struct batch {
    int64_t     nb, np, npix;   /* images, parameters and pixels per image */
    uint64_t    first;          /* id of image 0 (its random stream) */
    float      *param, *m1, *m2, *grad, *image, *dimage;
    nerve_array x;              /* (nb, C, H, W): what the model takes */
    nerve_array dact;           /* the layer's gradient (channels first) */
    nerve_array maps, dtokens;  /* a layer of tokens (N, T, C) as (N, C, h, w) maps, and its gradient as tokens */
    int64_t     prefix;         /* the tokens before the grid (a class token), which the maps leave out */
    double     *gram, *norm;    /* diversity's scratch */
} batch;

static void batch_free(batch *b)
{
    free(b->param);
    nerve_array_free(&b->x);
    nerve_array_free(&b->dact);
    nerve_array_free(&b->maps);
    nerve_array_free(&b->dtokens);
    free(b->gram);
    memset(b, 0, sizeof *b);
}

static int batch_init(batch *b, int64_t first, int64_t nb, const nerve_featvis_options *o)
{
    memset(b, 0, sizeof *b);
    b->nb = nb;
    b->first = (uint64_t)first;
    b->np = nerve_featvis_param_count(o);
    b->npix = o->channels * o->height * o->width;
    size_t count = (size_t)(nb * (4 * b->np + 2 * b->npix));
    b->param = nerve_zalloc_array(count, sizeof(float), "feature visualisation's parameters");
    const int64_t shape[4] = { nb, o->channels, o->height, o->width };
    int rc = b->param ? nerve_array_alloc(&b->x, NERVE_F32, 4, shape) : NERVE_ENOMEM;
    if (rc < 0) {
        batch_free(b);
        return rc;
    }
    b->m1 = b->param + nb * b->np;
    b->m2 = b->m1 + nb * b->np;
    b->grad = b->m2 + nb * b->np;
    b->image = b->grad + nb * b->np;
    b->dimage = b->image + nb * b->npix;
    for (int64_t i = 0; i < nb; i++) {
        nerve_rng r;
        nerve_rng_stream(&r, o->seed, featvis_stream(b->first + (uint64_t)i, -1));
        for (int64_t k = 0; k < b->np; k++)
            b->param[i * b->np + k] = (float)(o->init_sd * nerve_rng_normal(&r));
    }
    return 0;
}

/* Image i into the model's input space: range, then (x - mean) / std. */
static void preprocess(float *x, const float *p, const nerve_featvis_options *o)
{
    int64_t HW = o->height * o->width;
    for (int64_t c = 0; c < o->channels; c++) {
        float mean = o->n_mean ? o->mean[c] : 0, k = o->range / (o->n_mean ? o->std[c] : 1);
        for (int64_t i = 0; i < HW; i++)
            x[c * HW + i] = p[c * HW + i] * k - mean / (o->n_mean ? o->std[c] : 1);
    }
}

/* Every image's parameters -> b->image, and through the warp of `step`
 * (none when step < 0) and the preprocessing -> b->x. */
static int make_inputs(batch *b, int64_t step, const nerve_featvis_options *o)
{
    int failed = 0;
    #pragma omp parallel for schedule(static) reduction(|:failed)
    for (int64_t i = 0; i < b->nb; i++) {
        float *img = b->image + i * b->npix, *x = (float *)b->x.data + i * b->npix;
        if (failed || nerve_featvis_image(img, b->param + i * b->np, o) < 0) {
            failed = 1;
            continue;
        }
        if (step >= 0)
            nerve_featvis_warp(b->dimage + i * b->npix, img, b->first + (uint64_t)i, step, o);
        preprocess(x, step >= 0 ? b->dimage + i * b->npix : img, o);
    }
    return failed ? nerve_error_set(NERVE_ENOMEM, "out of memory for feature visualisation's images") : 0;
}

/* The layer's gradient for the batch: minus each objective's (the tape
 * descends), plus the diversity of each group within the batch. */
static int layer_gradient(batch *b, const nerve_array *a, const nerve_featvis_objective *obj, int64_t C, int64_t P,
                          int64_t Wl, const nerve_featvis_options *o)
{
    int rc = b->dact.data ? 0 : nerve_array_alloc(&b->dact, NERVE_F32, a->ndim, a->shape);
    if (rc < 0)
        return rc;
    float *d = b->dact.data;
    const float *act = a->data;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < b->nb; i++)
        featvis_objective(d + i * C * P, act + i * C * P, C, P, Wl, &obj[i]);
    if (o->diversity > 0) {
        if (!b->gram) {
            b->gram = nerve_alloc_array((size_t)((b->nb + 1) * C * C + b->nb), sizeof(double), "diversity's Grams");
            if (!b->gram)
                return NERVE_ENOMEM;
            b->norm = b->gram + (b->nb + 1) * C * C;
        }
        for (int64_t i = 0; i < b->nb; i++) {   /* each group once, at its first image */
            int seen = obj[i].group < 0;
            for (int64_t j = 0; j < i && !seen; j++)
                seen = obj[j].group == obj[i].group;
            if (seen)
                continue;
            float *dk[b->nb];
            const float *ak[b->nb];
            int k = 0;
            for (int64_t j = i; j < b->nb; j++)
                if (obj[j].group == obj[i].group) {
                    dk[k] = d + j * C * P;
                    ak[k++] = act + j * C * P;
                }
            featvis_diversity(dk, ak, k, C, P, o->diversity, b->gram, b->norm);
        }
    }
    for (int64_t i = 0; i < b->nb * C * P; i++)
        d[i] = -d[i];
    return 0;
}

/* From the input's gradient to the parameters', then Adam (Kingma & Ba;
 * beta 0.9, 0.999, epsilon 1e-8) on each image's parameters. */
static int update(batch *b, const nerve_array *dx, int64_t step, const nerve_featvis_options *o)
{
    int64_t HW = o->height * o->width;
    double c1 = 1 - pow(0.9, (double)(step + 1)), c2 = 1 - pow(0.999, (double)(step + 1));
    int failed = 0;
    #pragma omp parallel for schedule(static) reduction(|:failed)
    for (int64_t i = 0; i < b->nb; i++) {
        float *dimg = b->dimage + i * b->npix, *g = b->grad + i * b->np;
        const float *gx = (const float *)dx->data + i * b->npix;
        float *scaled = g;   /* the parameters' gradient is written after this is used up */
        for (int64_t c = 0; c < o->channels; c++)
            for (int64_t k = 0; k < HW; k++)
                scaled[c * HW + k] = gx[c * HW + k] * o->range / (o->n_mean ? o->std[c] : 1);
        nerve_featvis_warp_backward(dimg, scaled, b->first + (uint64_t)i, step, o);
        featvis_penalties(dimg, b->image + i * b->npix, o);
        if (failed || nerve_featvis_image_backward(g, b->param + i * b->np, dimg, o) < 0) {
            failed = 1;
            continue;
        }
        float *p = b->param + i * b->np, *m1 = b->m1 + i * b->np, *m2 = b->m2 + i * b->np;
        for (int64_t k = 0; k < b->np; k++) {
            m1[k] = 0.9f * m1[k] + 0.1f * g[k];
            m2[k] = 0.999f * m2[k] + 0.001f * g[k] * g[k];
            p[k] -= (float)(o->lr * (m1[k] / c1) / (sqrt(m2[k] / c2) + 1e-8));
        }
    }
    return failed ? nerve_error_set(NERVE_ENOMEM, "out of memory for feature visualisation's gradients") : 0;
}

static int is_tokens(const nerve_model *m, const nerve_array *a)
{
    nerve_tap_info info = { .ndim = a->ndim };
    return a->ndim == 3 && nerve_nn_tap_is_tokens(m, &info);
}

/* A transformer's tokens (N, T, C) as channels over positions, as a conv
 * layer's maps are: the patch tokens on their grid (a ViT's class token
 * left out), or the sequence as a row. */
static int tokens_as_maps(batch *b, const nerve_array *tokens)
{
    int64_t N = tokens->shape[0], T = tokens->shape[1], C = tokens->shape[2], h, w;
    nerve_nn_token_grid(T, &b->prefix, &h, &w);
    const int64_t shape[4] = { N, C, h, w };
    int rc = b->maps.data ? 0 : nerve_array_alloc_raw(&b->maps, NERVE_F32, 4, shape);
    if (rc < 0)
        return rc;
    const float *x = tokens->data;
    float *y = b->maps.data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t p = 0; p < h * w; p++)
            for (int64_t c = 0; c < C; c++)
                y[(n * C + c) * h * w + p] = x[(n * T + b->prefix + p) * C + c];
    return 0;
}

/* The maps' gradient (b->dact) back onto the tokens: the class token's is 0. */
static int maps_gradient_to_tokens(batch *b, const nerve_array *tokens)
{
    int64_t N = tokens->shape[0], T = tokens->shape[1], C = tokens->shape[2], P = b->maps.shape[2] * b->maps.shape[3];
    int rc = b->dtokens.data ? 0 : nerve_array_alloc(&b->dtokens, NERVE_F32, 3, tokens->shape);
    if (rc < 0)
        return rc;
    const float *d = b->dact.data;
    float *g = b->dtokens.data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t p = 0; p < P; p++)
            for (int64_t c = 0; c < C; c++)
                g[(n * T + b->prefix + p) * C + c] = d[(n * C + c) * P + p];
    return 0;
}

/* The batch's inputs at a step (-1: no warp) through the model: the
 * objectives' layer *a (a layer of tokens as maps), with its channels,
 * positions and map width. */
static int forward(const nerve_array **a, int64_t *C, int64_t *P, int64_t *Wl, batch *b, nerve_tape *t, int value,
                   const nerve_featvis_objective *obj, int64_t step, const nerve_featvis_options *o)
{
    int rc = make_inputs(b, step, o);
    if (rc == 0)
        rc = nerve_tape_forward(t, &b->x, 1);
    if (rc < 0)
        return rc;
    *a = t->val[value];
    if (is_tokens(t->m, *a)) {
        if ((rc = tokens_as_maps(b, *a)) < 0)
            return rc;
        *a = &b->maps;
    }
    return layer_shape(t->m, *a, obj, b->nb, C, P, Wl);
}

/* The images as they are (no warp): their objective values and cosines. */
static int evaluate(nerve_featvis_result *r, int64_t first, batch *b, nerve_tape *t, int value,
                    const nerve_featvis_objective *obj, const nerve_featvis_options *o)
{
    const nerve_array *a;
    int64_t C, P, Wl;
    int rc = forward(&a, &C, &P, &Wl, b, t, value, obj, -1, o);
    if (rc < 0)
        return rc;
    float *scratch = nerve_alloc_array((size_t)(C * P), sizeof(float), "an objective's gradient");
    if (!scratch)
        return NERVE_ENOMEM;
    for (int64_t i = 0; i < b->nb; i++) {
        const float *act = (const float *)a->data + i * C * P;
        r->value[first + i] = featvis_objective(scratch, act, C, P, Wl, &obj[i]);
        int64_t at = obj[i].kind == NERVE_FEATVIS_DIRECTION_AT ? featvis_position(&obj[i], P, Wl) : -1;
        r->cosine[first + i] = obj[i].kind == NERVE_FEATVIS_DIRECTION || obj[i].kind == NERVE_FEATVIS_DIRECTION_AT
                                   ? featvis_cosine(act, C, P, at, obj[i].direction) : NAN;
    }
    free(scratch);
    memcpy((float *)r->images.data + first * b->npix, b->image, sizeof(float) * (size_t)(b->nb * b->npix));
    memcpy((float *)r->inputs.data + first * b->npix, b->x.data, sizeof(float) * (size_t)(b->nb * b->npix));
    return 0;
}

/* The tape's backward pass from the objective's layer. When that layer is
 * a ReLU, the gradient goes to its input as Lucid's redirected ReLU would
 * pass it, at every unit: also where the unit is off but the objective
 * wants it on. A unit the objective needs that is off at the start (a
 * channel of a node's mean vector at a map's centre) is otherwise never
 * reached: the true gradient only turns the units that are on. */
static int backward(nerve_tape *t, int value, nerve_array *dact, const nerve_featvis_options *o)
{
    const nerve_model *m = t->m;
    const nerve_node *n = &m->nodes[m->values[value].producer];
    if (o->plain_relu || strcmp(n->op, "Relu") != 0 || !t->val[n->in[0]])
        return nerve_tape_backward(t, value, dact);
    const float *x = t->val[n->in[0]]->data;
    float *d = dact->data;   /* the descent's gradient: d < 0 raises the unit */
    for (int64_t i = 0; i < nerve_array_count(dact); i++)
        if (!(x[i] > 0) && d[i] > 0)
            d[i] = 0;
    return nerve_tape_backward(t, n->in[0], dact);
}

static int one_step(batch *b, nerve_tape *t, int value, const nerve_featvis_objective *obj, int64_t step,
                    const nerve_featvis_options *o)
{
    const nerve_array *a;
    int64_t C, P, Wl;
    int rc = forward(&a, &C, &P, &Wl, b, t, value, obj, step, o);
    if (rc < 0 || (rc = layer_gradient(b, a, obj, C, P, Wl, o)) < 0)
        return rc;
    nerve_array *dlayer = &b->dact;
    if (a == &b->maps) {
        if ((rc = maps_gradient_to_tokens(b, t->val[value])) < 0)
            return rc;
        dlayer = &b->dtokens;
    }
    if ((rc = backward(t, value, dlayer, o)) < 0)
        return rc;
    const nerve_array *dx = &t->grad[t->m->inputs[0]];
    if (!dx->data)
        return nerve_error_set(NERVE_EINPUT, "%s: layer '%s' does not depend on the input", t->m->path,
                               t->m->values[value].name);
    return update(b, dx, step, o);
}

/* Objectives [first, first + nb), all reading one value; bar counts
 * image-steps. */
static int render_batch(nerve_featvis_result *r, nerve_model *m, const nerve_featvis_objective *obj, int64_t first,
                        int64_t nb, const nerve_featvis_options *o, nerve_progress *bar)
{
    int value = obj[0].value;
    if (value < 0 || value >= m->n_values || m->values[value].producer < 0)
        return nerve_error_set(NERVE_EINPUT, "%s: value %d is not a layer's output", m->path, value);
    batch b;
    nerve_tape t;
    int rc = batch_init(&b, first, nb, o);
    if (rc < 0)
        return rc;
    if ((rc = nerve_tape_init(&t, m, 0, o->seed)) < 0) {
        batch_free(&b);
        return rc;
    }
    t.input_grads = 1;
    t.frozen = 1;
    t.redirect_relu = !o->plain_relu;
    t.last_node = m->values[value].producer;
    for (int64_t step = 0; step < o->steps && rc == 0; step++) {
        rc = one_step(&b, &t, value, obj, step, o);
        #pragma omp critical(featvis_progress)
        nerve_progress_update(bar, bar->done + nb);
    }
    if (rc == 0)
        rc = evaluate(r, first, &b, &t, value, obj, o);
    nerve_tape_free(&t);
    batch_free(&b);
    return rc;
}

/* Splits the objectives into batches (consecutive objectives of one
 * value, at most o->batch, and no larger than an even share of the
 * threads) and renders the batches on the threads, one batch a thread
 * with its operators on that thread: a 28 x 28 map is too small for a
 * team of threads per operator, and each image's arithmetic is the same
 * in any batch, so the images do not depend on how they are shared. An
 * error's message is thread-local: the first batch's failure is kept and
 * set again here. */
static int render_batches(nerve_featvis_result *r, nerve_model *m, const nerve_featvis_objective *obj, int64_t n,
                          const nerve_featvis_options *o, int64_t *starts)
{
    int threads = nerve_threads();
    int64_t share = (n + threads - 1) / threads, most = o->batch < share ? o->batch : share, count = 0;
    for (int64_t start = 0, end; start < n; start = end) {
        for (end = start + 1; end < n && end - start < most && obj[end].value == obj[start].value; end++)
            ;
        starts[count++] = start;
    }
    starts[count] = n;
    nerve_progress bar;
    nerve_progress_begin(&bar, "featvis (image-steps)", n * o->steps);
    int first_failed = -1, failed_rc = 0;
    char why[2048] = "";
    #pragma omp parallel for schedule(dynamic, 1) num_threads(count < threads ? (int)count : threads)
    for (int64_t k = 0; k < count; k++) {
        int stop;
        #pragma omp critical(featvis_error)
        stop = first_failed;
        if (stop >= 0)
            continue;
        int rc = render_batch(r, m, obj + starts[k], starts[k], starts[k + 1] - starts[k], o, &bar);
        if (rc < 0) {
            #pragma omp critical(featvis_error)
            if (first_failed < 0 || k < first_failed) {
                first_failed = (int)k;
                failed_rc = rc;
                snprintf(why, sizeof why, "%s", nerve_error());
            }
        }
    }
    nerve_progress_end(&bar);
    return failed_rc < 0 ? nerve_error_set(failed_rc, "%s", why) : 0;
}

/* The options at a batch of 1 when the model cannot run at 2 (its input
 * declared with batch 1, or batch 1 baked into its reshapes). */
static int batch_the_model_takes(nerve_model *m, const nerve_featvis_options *given, nerve_featvis_options *o)
{
    *o = *given;
    if (o->batch < 2)
        return 0;
    const int64_t two[4] = { 2, o->channels, o->height, o->width };
    int rc = nerve_nn_runs_batched(m, 4, two);
    if (rc == 0)
        o->batch = 1;
    return rc < 0 ? rc : 0;
}

int nerve_featvis_render(nerve_featvis_result *r, nerve_model *m, const nerve_featvis_objective *obj, int64_t n,
                         const nerve_featvis_options *given)
{
    memset(r, 0, sizeof *r);
    nerve_featvis_options options;
    const nerve_featvis_options *o = &options;
    int rc = check_options(m, given);
    if (rc == 0)
        rc = batch_the_model_takes(m, given, &options);
    if (rc < 0)
        return rc;
    nerve_alloc_keep_heap(256u << 20);   /* every step re-allocates the same tensors, as training does */
    if (n < 1)
        return nerve_error_set(NERVE_EINPUT, "feature visualisation: no objective");
    const int64_t shape[4] = { n, o->channels, o->height, o->width };
    r->count = n;
    r->value = nerve_alloc_array((size_t)n, sizeof(double), "objective values");
    r->cosine = nerve_alloc_array((size_t)n, sizeof(double), "cosines");
    rc = r->value && r->cosine ? nerve_array_alloc(&r->images, NERVE_F32, 4, shape) : NERVE_ENOMEM;
    if (rc == 0)
        rc = nerve_array_alloc(&r->inputs, NERVE_F32, 4, shape);
    int64_t *starts = rc == 0 ? nerve_alloc_array((size_t)n + 1, sizeof *starts, "batches") : NULL;
    if (rc == 0 && !starts)
        rc = NERVE_ENOMEM;
    if (rc == 0)
        rc = render_batches(r, m, obj, n, o, starts);
    free(starts);
    if (rc < 0)
        nerve_featvis_result_free(r);
    return rc;
}
