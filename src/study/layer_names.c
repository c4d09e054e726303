/*
 * layer_names.c — the names a person reads for a model's layers. PyTorch's
 * exporter names a value after the module scopes it was computed in and
 * the op that made it ("/layer4/layer4.1/relu_1/Relu_output_0"); the reader
 * knows the module by its Python path ("layer4.1.relu_1"). The full tap
 * name stays what files and the manifest use; these are for display only.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/study.h"

/* How much of a tap name a display name keeps, least first. */
enum { LEVEL_MODULE, LEVEL_MODULE_OP, LEVEL_FULL, N_LEVELS };

/* A tap name taken apart: the module path and the op, each NULL when the
 * name has none. */
typedef struct parsed_name {
    char *module;   /* "layer4.1.relu_1" */
    char *op;       /* "Relu", "Split:1" for an op's second output */
} parsed_name;

/* "Relu_output_0" -> "Relu", "Split_output_1" -> "Split:1"; a component
 * without the exporter's suffix stays whole. */
static char *op_of(const char *last, size_t n)
{
    static const char suffix[] = "_output_";
    for (size_t i = n; i-- > 0;) {
        if (i + sizeof suffix - 1 > n || memcmp(last + i, suffix, sizeof suffix - 1) != 0)
            continue;
        const char *digits = last + i + sizeof suffix - 1;
        size_t n_digits = n - (size_t)(digits - last);
        if (i == 0 || n_digits == 0 || strspn(digits, "0123456789") < n_digits)
            break;
        if (n_digits == 1 && digits[0] == '0')
            return strndup(last, i);
        char *out;
        return asprintf(&out, "%.*s:%.*s", (int)i, last, (int)n_digits, digits) < 0 ? NULL : out;
    }
    return strndup(last, n);
}

/* The scopes joined by '.', each dropped when the next one repeats it as a
 * prefix (the exporter writes "/layer4/layer4.1/", the module is
 * "layer4.1"). NULL for no scopes. */
static char *module_of(const char *const *scope, const size_t *len, int n)
{
    size_t cap = 1;
    for (int i = 0; i < n; i++)
        cap += len[i] + 1;
    char *out = n ? malloc(cap) : NULL, *at = out;
    for (int i = 0; out && i < n; i++) {
        int repeated = i + 1 < n && len[i + 1] > len[i] && memcmp(scope[i + 1], scope[i], len[i]) == 0 &&
                       scope[i + 1][len[i]] == '.';
        if (repeated)
            continue;
        if (at != out)
            *at++ = '.';
        memcpy(at, scope[i], len[i]);
        at += len[i];
    }
    if (out)
        *at = '\0';
    return out;
}

enum { MAX_SCOPES = 64 };

static int parse_name(parsed_name *p, const char *tap)
{
    memset(p, 0, sizeof *p);
    if (!strchr(tap, '/')) {
        /* A name of the exporter's own ("onnx::Conv_123") or the model's ("relu1"). */
        const char *bare = strncmp(tap, "onnx::", 6) == 0 && tap[6] ? tap + 6 : tap;
        p->op = strdup(bare);
        return p->op ? 0 : NERVE_ENOMEM;
    }
    const char *scope[MAX_SCOPES];
    size_t len[MAX_SCOPES];
    int n = 0;
    for (const char *s = tap; *s;) {
        size_t k = strcspn(s, "/");
        if (k > 0) {
            if (n == MAX_SCOPES) {   /* deeper than any real model: keep the innermost */
                memmove(scope, scope + 1, (MAX_SCOPES - 1) * sizeof *scope);
                memmove(len, len + 1, (MAX_SCOPES - 1) * sizeof *len);
                n--;
            }
            scope[n] = s;
            len[n++] = k;
        }
        s += k + (s[k] == '/');
    }
    if (n == 0) {   /* "/" or "//": nothing to shorten */
        p->op = strdup(tap);
        return p->op ? 0 : NERVE_ENOMEM;
    }
    p->op = op_of(scope[n - 1], len[n - 1]);
    p->module = module_of(scope, len, n - 1);
    return p->op && (n == 1 || p->module) ? 0 : NERVE_ENOMEM;
}

static char *candidate(const parsed_name *p, const char *tap, int level)
{
    char *out = NULL;
    if (level == LEVEL_MODULE)
        return strdup(p->module ? p->module : p->op);
    if (level == LEVEL_MODULE_OP && p->module)
        return asprintf(&out, "%s.%s", p->module, p->op) < 0 ? NULL : out;
    return strdup(tap);
}

typedef struct ranked {
    const char *name;
    int         index;
} ranked;

static int by_name(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Sorts the names; rank[i].index runs through equal names in tap order. */
static ranked *sorted(char **names, int n)
{
    ranked *r = malloc((size_t)(n ? n : 1) * sizeof *r);
    for (int i = 0; r && i < n; i++)
        r[i] = (ranked){ names[i], i };
    if (r)
        qsort(r, (size_t)n, sizeof *r, by_name);
    return r;
}

/* Names still equal after every level get " #2", " #3" in tap order. */
static int number_duplicates(char **names, int n)
{
    ranked *r = sorted(names, n);
    if (!r)
        return NERVE_ENOMEM;
    int rc = 0;
    for (int i = 1, k = 1; i < n && rc == 0; i++) {
        k = strcmp(r[i].name, r[i - 1].name) == 0 ? k + 1 : 1;
        char *numbered;
        if (k > 1 && asprintf(&numbered, "%s #%d", names[r[i].index], k) < 0)
            rc = NERVE_ENOMEM;
        else if (k > 1) {
            free(names[r[i].index]);
            names[r[i].index] = numbered;
            r[i].name = r[i - 1].name;   /* the next one compares with the run's first name */
        }
    }
    free(r);
    return rc;
}

void nerve_layer_display_names_free(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

int nerve_layer_display_names(char ***out, const char *const *taps, int n)
{
    *out = NULL;
    parsed_name *p = calloc((size_t)(n ? n : 1), sizeof *p);
    int *level = calloc((size_t)(n ? n : 1), sizeof *level);
    char **names = calloc((size_t)(n ? n : 1), sizeof *names);
    int rc = p && level && names ? 0 : NERVE_ENOMEM;
    for (int i = 0; i < n && rc == 0; i++)
        if ((rc = parse_name(&p[i], taps[i])) == 0 && !(names[i] = candidate(&p[i], taps[i], LEVEL_MODULE)))
            rc = NERVE_ENOMEM;
    /* Two layers that would read the same both keep more of their names,
     * until they differ or are whole. */
    for (int pass = 0, bumped = 1; rc == 0 && bumped && pass < N_LEVELS; pass++) {
        ranked *r = sorted(names, n);
        if (!r) {
            rc = NERVE_ENOMEM;
            break;
        }
        int *bump = calloc((size_t)(n ? n : 1), sizeof *bump);
        bumped = 0;
        for (int i = 0; bump && i + 1 < n; i++)
            if (strcmp(r[i].name, r[i + 1].name) == 0)
                bump[r[i].index] = bump[r[i + 1].index] = 1;
        free(r);
        for (int i = 0; bump && i < n && rc == 0; i++) {
            if (!bump[i] || level[i] + 1 >= N_LEVELS)
                continue;
            char *more = candidate(&p[i], taps[i], ++level[i]);
            if (!more) {
                rc = NERVE_ENOMEM;
                break;
            }
            free(names[i]);
            names[i] = more;
            bumped = 1;
        }
        if (!bump)
            rc = NERVE_ENOMEM;
        free(bump);
    }
    if (rc == 0)
        rc = number_duplicates(names, n);
    for (int i = 0; p && i < n; i++) {
        free(p[i].module);
        free(p[i].op);
    }
    free(p);
    free(level);
    if (rc < 0) {
        nerve_layer_display_names_free(names, n);
        return nerve_error_set(NERVE_ENOMEM, "out of memory naming layers");
    }
    *out = names;
    return 0;
}

int nerve_study_display_names(json_t *manifest)
{
    json_t *layers = json_object_get(manifest, "layers");
    size_t n = json_array_size(layers);
    if (n > (size_t)INT32_MAX)
        return nerve_error_set(NERVE_EINPUT, "manifest: %zu layers", n);
    const char **taps = calloc(n ? n : 1, sizeof *taps);
    if (!taps)
        return nerve_error_set(NERVE_ENOMEM, "out of memory naming layers");
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(layers, i), "name"));
        taps[i] = name ? name : "";
    }
    char **names;
    int rc = nerve_layer_display_names(&names, taps, (int)n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *l = json_array_get(layers, i);
        /* A display name the manifest records (chosen over the whole model) wins. */
        if (json_is_object(l) && !json_is_string(json_object_get(l, "display")))
            json_object_set_new(l, "display", json_string(names[i]));
    }
    if (rc == 0)
        nerve_layer_display_names_free(names, (int)n);
    free(taps);
    return rc;
}
