/*
 * featvis.c — `nerve featvis -m MODEL --layer L --channel C | --class K |
 * --direction v.npy -o DIR`: images that excite a channel, a neuron, a
 * class logit or a direction, as PNGs and .npy inputs, with each image's
 * objective (and cosine, for a direction) printed.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/featvis.h"
#include "cli.h"
#include "options.h"

typedef struct featvis_settings {
    const char           *model, *layer, *channels, *classes, *direction, *out, *neuron;
    int64_t               images, steps, batch, width_override;
    double                lr, cossim_pow, jitter, rotate, scale, tv, l2, diversity;
    uint64_t              seed;
    int                   pixels, no_decorrelate, no_transforms, raw_255, json;
    cli_channels          mean, std;
} featvis_settings;

#define AT(field) CLI_AT(featvis_settings, field)
static const cli_option options[] = {
    { CLI_OPT("model", 'm', CLI_STRING, "MODEL", "the .onnx model", AT(model)), .section = "what to show" },
    { CLI_OPT("layer", 'l', CLI_STRING, "NAME", "the layer (a name `nerve layers` shows)", AT(layer)),
      .default_text = "with --class, the model's output" },
    { CLI_OPT("channel", 'c', CLI_STRING, "LIST", "channels: 3, 0,5,9 or 0-15", AT(channels)) },
    { CLI_OPT("neuron", 0, CLI_STRING, "Y,X", "at this position only (c: the centre)", AT(neuron)) },
    { CLI_OPT("class", 'k', CLI_STRING, "LIST", "class logits: 7, 0-9", AT(classes)) },
    { CLI_OPT("direction", 'd', CLI_STRING, "V.npy", "directions in the layer: (C) or (K, C) float32",
              AT(direction)) },
    { CLI_OPT("cossim-pow", 0, CLI_REAL, "K", "a direction's objective is dot x cos^K", AT(cossim_pow)),
      CLI_RANGE(0, 16) },
    { CLI_OPT("images", 'n', CLI_INT, "N", "images per objective (kept apart by --diversity)", AT(images)),
      CLI_RANGE(1, 64) },
    { CLI_OPT("out", 'o', CLI_STRING, "DIR", "where the PNGs and .npy files go", AT(out)) },
    { CLI_OPT("steps", 0, CLI_INT, "N", "Adam steps", AT(steps)), CLI_RANGE(1, 1000000), .section = "optimisation" },
    { CLI_OPT("lr", 0, CLI_REAL, "R", "Adam's learning rate", AT(lr)), CLI_ABOVE(0) },
    { CLI_OPT("batch", 'b', CLI_INT, "N", "images per pass through the model", AT(batch)), CLI_RANGE(1, 4096) },
    { CLI_OPT("seed", 0, CLI_SEED, "S", "the images' start and transforms", AT(seed)) },
    { CLI_OPT("pixels", 0, CLI_FLAG, NULL, "optimise pixels, not Fourier coefficients", AT(pixels)) },
    { CLI_OPT("no-decorrelate", 0, CLI_FLAG, NULL, "no colour decorrelation (3 channels)", AT(no_decorrelate)) },
    { CLI_OPT("no-transforms", 0, CLI_FLAG, NULL, "no random jitter, scale and rotation", AT(no_transforms)) },
    { CLI_OPT("jitter", 0, CLI_REAL, "PX", "random shift, pixels", AT(jitter)), CLI_RANGE(0, 1000),
      .default_text = "width / 28" },
    { CLI_OPT("rotate", 0, CLI_REAL, "DEG", "random rotation up to this", AT(rotate)), CLI_RANGE(0, 180) },
    { CLI_OPT("scale", 0, CLI_REAL, "S", "random scale in [1 - S, 1 + S]", AT(scale)), CLI_RANGE_OPEN(0, 1) },
    { CLI_OPT("tv", 0, CLI_REAL, "W", "total-variation penalty", AT(tv)), CLI_MIN(0) },
    { CLI_OPT("l2", 0, CLI_REAL, "W", "L2 penalty on pixels away from grey", AT(l2)), CLI_MIN(0) },
    { CLI_OPT("diversity", 0, CLI_REAL, "W", "Lucid's diversity between one objective's images",
              AT(diversity)), CLI_MIN(0) },
    { CLI_OPT("size", 's', CLI_INT, "PX", "image height and width", AT(width_override)), CLI_RANGE(0, 4096),
      .default_text = "as the model declares", .section = "the model's input" },
    { CLI_OPT("mean", 0, CLI_CUSTOM, "A,B,C", "subtract per channel (Normalize)", AT(mean)), .parse = cli_parse_mean },
    { CLI_OPT("std", 0, CLI_CUSTOM, "A,B,C", "divide per channel", AT(std)), .parse = cli_parse_std },
    { CLI_OPT("no-scale", 0, CLI_FLAG, NULL, "the model takes 0..255, not [0, 1]", AT(raw_255)) },
    { CLI_OPT("json", 'j', CLI_FLAG, NULL, "one JSON object on stdout", AT(json)) },
    { 0 },
};
#undef AT

static featvis_settings defaults(void)
{
    nerve_featvis_options o;
    nerve_featvis_defaults(&o, 1, 28, 28);
    return (featvis_settings){ .images = 1, .steps = o.steps, .batch = o.batch, .lr = o.lr, .cossim_pow = 1,
                               .jitter = -1, .rotate = o.rotate, .scale = o.scale, .tv = o.tv, .l2 = o.l2 };
}

static void featvis_help(void)
{
    printf("usage: nerve featvis -m MODEL [--layer L] -o DIR\n"
           "           (--channel C | --class K | --direction V.npy)\n"
           "\n"
           "Feature visualisation (Olah et al. 2017): images made by gradient ascent\n"
           "through the model so that a channel (its mean over positions), a neuron,\n"
           "a class logit or a direction in a layer responds strongly. Lucid's recipe:\n"
           "Fourier parameterisation with frequency scaling, colour decorrelation,\n"
           "random jitter, scale and rotation each step, Adam. Writes DIR/<name>.png\n"
           "and DIR/<name>.npy (the model's input) per image and prints each image's\n"
           "objective, and for a direction the cosine between the image's activation\n"
           "(mean over positions, or at --neuron) and the direction. Same seed, same\n"
           "PNGs at any thread count.\n"
           "\n");
    featvis_settings d = defaults();
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve featvis -m model.onnx --class 0-9 -o classes\n"
           "  nerve featvis -m model.onnx --layer relu3 --channel 0-15 -o relu3\n"
           "  nerve featvis -m resnet18.onnx --layer /layer4/layer4.1/relu_1/Relu_output_0 \\\n"
           "      --channel 7 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 -o r18\n");
}

/* "3", "0,5,9", "0-15" -> indices (at most cap). */
static int parse_list(const char *s, int64_t *out, int64_t cap, int64_t *n)
{
    *n = 0;
    while (*s) {
        char *end;
        long long a = strtoll(s, &end, 10), b = a;
        if (end == s || a < 0)
            return -1;
        if (*end == '-') {
            const char *t = end + 1;
            b = strtoll(t, &end, 10);
            if (end == t || b < a)
                return -1;
        }
        for (long long v = a; v <= b; v++) {
            if (*n >= cap)
                return -1;
            out[(*n)++] = v;
        }
        if (*end != ',' && *end != '\0')
            return -1;
        s = *end ? end + 1 : end;
    }
    return *n > 0 ? 0 : -1;
}

/* The model's image size: declared (N, C, H, W), H and W from --size. */
static int input_size(const nerve_model *m, const featvis_settings *s, int64_t chw[3])
{
    const nerve_value *in = &m->values[m->inputs[0]];
    if (in->ndim != 4 || in->shape[1] < 1)
        return nerve_error_set(NERVE_EINPUT, "%s: its input '%s' is not a declared (N, C, H, W) image", m->path,
                               in->name);
    for (int d = 0; d < 3; d++)
        chw[d] = d > 0 && s->width_override > 0 ? s->width_override : in->shape[d + 1];
    if (chw[1] < 1 || chw[2] < 1)
        return nerve_error_set(NERVE_EINPUT, "%s: its input '%s' has no fixed height and width: give --size",
                               m->path, in->name);
    return 0;
}

typedef struct plan {
    nerve_featvis_objective *obj;
    char                   (*names)[64];
    int64_t                  n;
    nerve_array              directions;
} plan;

static void plan_free(plan *p)
{
    free(p->obj);
    free(p->names);
    nerve_array_free(&p->directions);
}

/* One objective per index (channel, class, direction row), s->images each. */
static int make_plan(plan *p, const nerve_model *m, const featvis_settings *s, int value)
{
    enum { MOST = 4096 };
    static int64_t index[MOST];
    int64_t count = 0, y = -1, x = -1;
    nerve_featvis_kind kind = s->neuron ? NERVE_FEATVIS_NEURON : NERVE_FEATVIS_CHANNEL;
    const char *prefix = s->classes ? "class" : s->neuron ? "neuron" : "channel";
    memset(p, 0, sizeof *p);
    if (s->direction) {
        int rc = nerve_npy_read(&p->directions, NULL, s->direction, NERVE_F32);
        if (rc < 0)
            return rc;
        if (p->directions.ndim < 1 || p->directions.ndim > 2)
            return nerve_error_set(NERVE_EINPUT, "%s: a direction is (C) or (K, C), not %d-D", s->direction,
                                   p->directions.ndim);
        count = p->directions.ndim == 2 ? p->directions.shape[0] : 1;
        if (count > MOST)
            return nerve_error_set(NERVE_EINPUT, "%s: more than %d directions", s->direction, MOST);
        kind = s->neuron ? NERVE_FEATVIS_DIRECTION_AT : NERVE_FEATVIS_DIRECTION;
        prefix = "direction";
    } else if (parse_list(s->classes ? s->classes : s->channels, index, MOST, &count) < 0) {
        return nerve_error_set(NERVE_EUSAGE, "featvis: %s wants indices like 3, 0,5,9 or 0-15 (at most %d)",
                               s->classes ? "--class" : "--channel", MOST);
    }
    if (s->neuron && strcmp(s->neuron, "c") != 0 && sscanf(s->neuron, "%" SCNd64 ",%" SCNd64, &y, &x) != 2)
        return nerve_error_set(NERVE_EUSAGE, "featvis: --neuron wants Y,X or c");
    p->n = count * s->images;
    p->obj = calloc((size_t)p->n, sizeof *p->obj);
    p->names = calloc((size_t)p->n, sizeof *p->names);
    if (!p->obj || !p->names)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for %lld objectives", (long long)p->n);
    int64_t C = p->directions.ndim ? p->directions.shape[p->directions.ndim - 1] : 0;
    for (int64_t k = 0; k < count; k++)
        for (int64_t j = 0; j < s->images; j++) {
            nerve_featvis_objective *o = &p->obj[k * s->images + j];
            *o = (nerve_featvis_objective){ .kind = kind, .value = value, .channel = s->direction ? 0 : index[k],
                                            .y = y, .x = x, .cossim_pow = s->cossim_pow,
                                            .group = s->images > 1 ? (int)k : -1 };
            if (s->direction) {
                o->direction = (const float *)p->directions.data + k * C;
                o->length = C;
            }
            snprintf(p->names[k * s->images + j], sizeof p->names[0], s->images > 1 ? "%s_%lld.%lld" : "%s_%lld",
                     prefix, (long long)(s->direction ? k : index[k]), (long long)j);
        }
    (void)m;
    return 0;
}

static void print_results(const plan *p, const nerve_featvis_result *r, const featvis_settings *s, double seconds)
{
    if (!s->json) {
        for (int64_t i = 0; i < p->n; i++) {
            printf("%s/%s.png  objective %.4f", s->out, p->names[i], r->value[i]);
            if (!isnan(r->cosine[i]))
                printf("  cosine %.4f", r->cosine[i]);
            printf("\n");
        }
        printf("%lld images, %lld steps, %.2f s\n", (long long)p->n, (long long)s->steps, seconds);
        return;
    }
    json_t *list = json_array();
    for (int64_t i = 0; i < p->n; i++) {
        json_t *one = json_pack("{s:s, s:f}", "name", p->names[i], "objective", r->value[i]);
        if (!isnan(r->cosine[i]))
            json_object_set_new(one, "cosine", json_real(r->cosine[i]));
        json_array_append_new(list, one);
    }
    json_t *root = json_pack("{s:s, s:I, s:f, s:o}", "out", s->out, "steps", (json_int_t)s->steps, "seconds",
                             seconds, "images", list);
    json_dumpf(root, stdout, JSON_INDENT(2));
    printf("\n");
    json_decref(root);
}

static void to_options(nerve_featvis_options *o, const featvis_settings *s, const int64_t chw[3])
{
    nerve_featvis_defaults(o, chw[0], chw[1], chw[2]);
    o->steps = s->steps;
    o->lr = s->lr;
    o->batch = s->batch;
    o->seed = s->seed;
    o->pixels = s->pixels;
    o->no_decorrelate = s->no_decorrelate;
    o->no_transforms = s->no_transforms;
    if (s->jitter >= 0)
        o->jitter = s->jitter;
    o->rotate = s->rotate;
    o->scale = s->scale;
    o->tv = s->tv;
    o->l2 = s->l2;
    o->diversity = s->diversity;
    o->range = s->raw_255 ? 255 : 1;
    cli_copy_channels(o->mean, &o->n_mean, &s->mean);
    int n_std = 0;
    cli_copy_channels(o->std, &n_std, &s->std);
}

static int featvis_main(const featvis_settings *s)
{
    nerve_model m;
    int rc = nerve_onnx_load(&m, s->model), value = -1;
    if (rc < 0)
        return cli_fail(rc);
    int64_t chw[3] = { 0, 0, 0 };
    plan p = { 0 };
    nerve_featvis_result r = { 0 };
    nerve_featvis_options o;
    if ((rc = input_size(&m, s, chw)) == 0)
        rc = s->layer ? nerve_featvis_find_layer(&m, s->layer, &value) : (value = m.outputs[0], 0);
    if (rc == 0)
        rc = make_plan(&p, &m, s, value);
    if (rc == 0 && s->mean.n != s->std.n)
        rc = nerve_error_set(NERVE_EUSAGE, "featvis: --mean and --std give %d and %d values", s->mean.n, s->std.n);
    if (rc == 0 && s->mean.n && s->mean.n != chw[0])
        rc = nerve_error_set(NERVE_EUSAGE, "featvis: --mean gives %d values for %lld channels", s->mean.n,
                             (long long)chw[0]);
    double t0 = nerve_now();
    if (rc == 0) {
        to_options(&o, s, chw);
        rc = nerve_featvis_render(&r, &m, p.obj, p.n, &o);
    }
    if (rc == 0)
        rc = nerve_dir_create(s->out);
    for (int64_t i = 0; rc == 0 && i < p.n; i++)
        rc = nerve_featvis_write(&r, i, s->out, p.names[i]);
    if (rc == 0)
        print_results(&p, &r, s, nerve_now() - t0);
    nerve_featvis_result_free(&r);
    plan_free(&p);
    nerve_model_free(&m);
    return rc < 0 ? cli_fail(rc) : 0;
}

static int featvis_run(int argc, char **argv)
{
    featvis_settings s = defaults();
    int first, status;
    if (cli_parse(&cli_featvis, options, &s, argc, argv, &first, &status) < 0)
        return status;
    if (first != argc)
        return cli_usage_error("featvis", "unexpected argument '%s'", argv[first]);
    if (!s.model || !s.out)
        return cli_usage_error("featvis", "give the model (-m) and the output folder (-o)");
    if ((s.channels != NULL) + (s.classes != NULL) + (s.direction != NULL) != 1)
        return cli_usage_error("featvis", "give one of --channel, --class and --direction");
    if (!s.classes && !s.layer)
        return cli_usage_error("featvis", "--channel and --direction need --layer");
    if (s.neuron && s.classes)
        return cli_usage_error("featvis", "--neuron goes with --channel or --direction");
    return featvis_main(&s);
}

const cli_command cli_featvis = {
    .name = "featvis",
    .summary = "feature visualisation: images that excite a channel, class or direction",
    .run = featvis_run,
    .help = featvis_help,
};
