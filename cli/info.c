/*
 * info.c — `nerve info FILE...`: what is in .npy, .npz and IDX files
 * (shape, type, order, value statistics), as text or JSON.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nerve/core.h"
#include "cli.h"
#include "options.h"

typedef struct info_settings {
    int json;
} info_settings;

static const cli_option options[] = {
    { CLI_OPT("json", 'j', CLI_FLAG, NULL, "one JSON array on stdout, an object per array",
              CLI_AT(info_settings, json)) },
    { 0 },
};

static void info_help(void)
{
    printf("usage: nerve info [options] FILE...\n"
           "\n"
           "Describes .npy, .npz and IDX files (plain or .gz): format, shape, element\n"
           "type, memory order, and min/max/mean/std over the finite values, with NaN\n"
           "and infinities counted apart. Every member of an .npz is described.\n"
           "FILE may also be fashion-mnist:train or fashion-mnist:test, the images and\n"
           "labels of Debian's dataset-fashion-mnist.\n"
           "\n");
    cli_print_options(options, NULL);
    printf("\n"
           "Float data is summarised in float32, integer and bool data in int64.\n"
           "\n"
           "examples:\n"
           "  nerve info acts/conv1.npy\n"
           "  nerve info --json model_outputs.npz | jq '.[].shape'\n"
           "  nerve info fashion-mnist:test\n");
}

/* What one array is, and its figures. */
typedef struct entry {
    const char *label;          /* the file, or file:member */
    const char *format;         /* "npy", "npz", "idx" */
    char        version[8];     /* .npy format version, "" for IDX */
    int         gzipped;
    nerve_dtype stored;
    char        descr[16];      /* the .npy descr, "" for IDX */
    int         fortran;
    int         ndim;
    int64_t     shape[NERVE_MAX_DIMS];
    nerve_stats stats;
} entry;

static nerve_dtype summary_type(nerve_dtype stored)
{
    return nerve_dtype_is_float(stored) ? NERVE_F32 : NERVE_I64;
}

static int compute_stats(entry *e, const nerve_array *a)
{
    e->ndim = a->ndim;
    memcpy(e->shape, a->shape, sizeof a->shape);
    if (a->dtype == NERVE_F32)
        return nerve_stats_f32(&e->stats, a->data, nerve_array_count(a));
    return nerve_stats_i64(&e->stats, a->data, nerve_array_count(a));
}

static void entry_from_header(entry *e, const nerve_npy_header *h)
{
    snprintf(e->version, sizeof e->version, "%d.%d", h->major, h->minor);
    snprintf(e->descr, sizeof e->descr, "%s", h->descr);
    e->stored = h->dtype;
    e->fortran = h->fortran_order;
}

static void print_number(double v, int integer)
{
    if (isnan(v))
        printf("-");
    else if (integer)
        printf("%.0f", v);
    else
        printf("%.6g", v);
}

static void print_text(const entry *e)
{
    printf("%s\n", e->label);
    if (strcmp(e->format, "idx") == 0)
        printf("  format   IDX%s\n", e->gzipped ? " (gzip)" : "");
    else
        printf("  format   .npy %s%s\n", e->version, strcmp(e->format, "npz") == 0 ? " in .npz" : "");
    printf("  shape    ");
    if (e->ndim == 0)
        printf("scalar");
    for (int i = 0; i < e->ndim; i++)
        printf("%s%lld", i ? " x " : "", (long long)e->shape[i]);
    printf("  (%lld elements)\n", (long long)e->stats.count);
    printf("  dtype    %s", nerve_dtype_name(e->stored));
    if (e->descr[0])
        printf(" ('%s')", e->descr);
    printf("\n  order    %s\n", e->fortran ? "Fortran" : "C");
    int integer = !nerve_dtype_is_float(e->stored);
    const char *names[] = { "min", "max", "mean", "std" };
    double values[] = { e->stats.min, e->stats.max, e->stats.mean, e->stats.std };
    for (int i = 0; i < 4; i++) {
        printf("  %-8s ", names[i]);
        print_number(values[i], integer && i < 2);
        printf("\n");
    }
    printf("  nan      %lld\n  inf      %lld\n", (long long)e->stats.nan, (long long)e->stats.inf);
}

static json_t *json_number(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static json_t *entry_json(const entry *e)
{
    json_t *shape = json_array();
    for (int i = 0; i < e->ndim; i++)
        json_array_append_new(shape, json_integer(e->shape[i]));
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(e->label));
    json_object_set_new(o, "format", json_string(e->format));
    if (e->version[0])
        json_object_set_new(o, "version", json_string(e->version));
    json_object_set_new(o, "gzip", json_boolean(e->gzipped));
    json_object_set_new(o, "shape", shape);
    json_object_set_new(o, "dtype", json_string(nerve_dtype_name(e->stored)));
    if (e->descr[0])
        json_object_set_new(o, "descr", json_string(e->descr));
    json_object_set_new(o, "order", json_string(e->fortran ? "F" : "C"));
    json_object_set_new(o, "count", json_integer(e->stats.count));
    json_object_set_new(o, "min", json_number(e->stats.min));
    json_object_set_new(o, "max", json_number(e->stats.max));
    json_object_set_new(o, "mean", json_number(e->stats.mean));
    json_object_set_new(o, "std", json_number(e->stats.std));
    json_object_set_new(o, "nan", json_integer(e->stats.nan));
    json_object_set_new(o, "inf", json_integer(e->stats.inf));
    return o;
}

/* Where entries go: printed at once as text, or gathered for JSON. */
typedef struct sink {
    json_t *json;               /* NULL for text */
} sink;

static void emit(sink *s, const entry *e)
{
    if (s->json)
        json_array_append_new(s->json, entry_json(e));
    else
        print_text(e);
}

static int describe_npy(sink *s, const char *path)
{
    nerve_npy_header h;
    int rc = nerve_npy_read_header(&h, path);
    if (rc < 0)
        return rc;
    nerve_array a;
    if ((rc = nerve_npy_read(&a, &h, path, summary_type(h.dtype))) < 0)
        return rc;
    entry e = { .label = path, .format = "npy" };
    entry_from_header(&e, &h);
    rc = compute_stats(&e, &a);
    nerve_array_free(&a);
    if (rc < 0)
        return rc;
    emit(s, &e);
    return 0;
}

/* Describes every member it can; reports the others itself and returns the
 * worst exit status rather than an error code. */
static int describe_npz(sink *s, const char *path)
{
    nerve_npz z;
    int rc = nerve_npz_open(&z, path), worst = 0;
    if (rc < 0)
        return cli_fail(rc);   /* an exit status, as for each member below */
    for (int64_t i = 0; i < z.count; i++) {
        char label[4096];
        snprintf(label, sizeof label, "%s:%s", path, z.names[i]);
        nerve_npy_header h;
        nerve_array a;
        rc = nerve_npz_read_header(&z, z.names[i], &h);
        if (rc == 0)
            rc = nerve_npz_read(&z, z.names[i], summary_type(h.dtype), &a, &h);
        if (rc < 0) {
            int status = cli_fail(rc);
            worst = status > worst ? status : worst;
            continue;
        }
        entry e = { .label = label, .format = "npz" };
        entry_from_header(&e, &h);
        rc = compute_stats(&e, &a);
        nerve_array_free(&a);
        if (rc < 0) {
            int status = cli_fail(rc);
            worst = status > worst ? status : worst;
            continue;
        }
        emit(s, &e);
    }
    nerve_npz_close(&z);
    return worst;
}

/* IDX holds at most 32-bit integers and images are bytes, so one float32
 * read serves every type. */
static int describe_idx(sink *s, const char *path, int gzipped)
{
    nerve_array a;
    nerve_dtype stored;
    int rc = nerve_idx_read(&a, &stored, path, NERVE_F32);
    if (rc < 0)
        return rc;
    entry e = { .label = path, .format = "idx", .gzipped = gzipped, .stored = stored };
    rc = compute_stats(&e, &a);
    nerve_array_free(&a);
    if (rc < 0)
        return rc;
    emit(s, &e);
    return 0;
}

/* Describes one file; returns the exit status, errors already printed. */
static int describe_file(sink *s, const char *path)
{
    nerve_format format;
    int gzipped;
    int rc = nerve_file_sniff(&format, &gzipped, path);
    if (rc == 0) {
        switch (format) {
        case NERVE_FORMAT_NPZ: return describe_npz(s, path);
        case NERVE_FORMAT_NPY: rc = describe_npy(s, path); break;
        case NERVE_FORMAT_IDX: rc = describe_idx(s, path, gzipped); break;
        default: rc = nerve_error_set(NERVE_EINTERNAL, "%s: unhandled format", path);
        }
    }
    return rc < 0 ? cli_fail(rc) : 0;
}

/* A FILE argument: a path, or fashion-mnist:SPLIT for both of its files.
 * Returns the exit status. */
static int describe_argument(sink *s, const char *arg)
{
    const char *prefix = "fashion-mnist:";
    if (strncmp(arg, prefix, strlen(prefix)) != 0)
        return describe_file(s, arg);
    const char *split = arg + strlen(prefix);
    const char *parts[] = { "images", "labels" };
    int worst = 0;
    for (int i = 0; i < 2; i++) {
        char path[4096];
        int rc = nerve_fashion_mnist_path(path, sizeof path, split, parts[i]);
        if (rc < 0)
            return cli_fail(rc);
        if (!s->json && i > 0)
            printf("\n");
        int status = describe_file(s, path);
        worst = status > worst ? status : worst;
    }
    return worst;
}

static int info_run(int argc, char **argv)
{
    info_settings set = { 0 };
    int first, status;
    if (cli_parse(&cli_info, options, &set, argc, argv, &first, &status) < 0)
        return status;
    if (first >= argc)
        return cli_usage_error("info", "no FILE given");
    int json = set.json;

    sink s = { json ? json_array() : NULL };
    int worst = 0;
    for (int i = first; i < argc; i++) {
        if (!json && i > first)
            printf("\n");
        int status = describe_argument(&s, argv[i]);
        worst = status > worst ? status : worst;
    }
    if (json) {
        json_dumpf(s.json, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
        printf("\n");
        json_decref(s.json);
    }
    return worst;
}

const cli_command cli_info = {
    .name = "info",
    .summary = "describe .npy, .npz and IDX files: shape, type, order, statistics",
    .run = info_run,
    .help = info_help,
};
