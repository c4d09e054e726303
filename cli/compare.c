/*
 * compare.c — `nerve compare A.npy B.npy`: how similar two layers'
 * representations of the same inputs are, as JSON.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "nerve/study.h"
#include "cli.h"
#include "options.h"

/* The metrics of two files, then "all". src/sim/matrix.c has a table of
 * its own for whole studies (without cka-rbf). */
static const char *const metrics[] = { "cka", "cka-debiased", "cka-rbf", "cca", "svcca", "pwcca", "procrustes", "all",
                                       NULL };
enum { METRIC_COUNT = sizeof metrics / sizeof metrics[0] - 2, ALL = METRIC_COUNT, UNSET = -1 };

typedef struct settings {
    double      keep, epsilon, fraction;
    int         metric;                  /* index into metrics[], UNSET: by mode */
    cli_strings studies;                 /* --study DIR [--study DIR2] */
} settings;

#define AT(field) CLI_AT(settings, field)
static const cli_option options[] = {
    { CLI_OPT("metric", 'M', CLI_CHOICE, "M", "the metric", AT(metric)), .choices = metrics,
      .default_text = "cka; all with --study" },
    { CLI_OPT("study", 's', CLI_STRINGS, "DIR", "layer x layer matrices of a study directory; given\n"
              "twice, the first study's layers against the second's", AT(studies)), CLI_RANGE(0, 2) },
    { CLI_OPT("keep", 0, CLI_REAL, "F", "SVCCA's share of variance kept", AT(keep)), CLI_RANGE_ABOVE(0, 1) },
    { CLI_OPT("epsilon", 0, CLI_REAL, "E", "CCA/PWCCA ridge (needs N > d when 0)", AT(epsilon)), CLI_MIN(0) },
    { CLI_OPT("rbf-fraction", 0, CLI_REAL, "F", "RBF bandwidth as a fraction of the median distance\n"
              "(1 as in Kornblith et al.'s code)", AT(fraction)), CLI_ABOVE(0) },
    { 0 },
};
#undef AT

static settings defaults(void)
{
    return (settings){ .keep = 0.99, .epsilon = 0, .fraction = 1.0, .metric = UNSET };
}

static void compare_help(void)
{
    printf("usage: nerve compare [options] A.npy B.npy\n"
           "       nerve compare --study DIR [--study DIR2] [--metric M]\n"
           "\n"
           "Compares two layers' activations over the same N inputs (N x d1 and N x d2,\n"
           "rows are inputs; higher-rank arrays are flattened per row) and prints JSON:\n"
           "  {\"metric\": \"cka\", \"value\": 0.83, ...}\n"
           "With --metric all, a JSON array of every metric.\n"
           "\n"
           "With --study DIR, every layer of the study that holds one vector per input\n"
           "against every other: DIR/sim/<metric>.npy (float32, L x L) and\n"
           "DIR/sim/index.json naming the layers. Default metrics there: cka,\n"
           "cka-debiased, svcca, pwcca, procrustes (cca with --metric cca; cka-rbf is\n"
           "not offered for whole studies, its N x N Grams do not scale).\n"
           "With a second --study DIR2 (another model, or another checkpoint of the same\n"
           "model, extracted from the same inputs), DIR's layers against DIR2's, inputs\n"
           "matched by id (their place in those inputs; the first min(N, N2)):\n"
           "DIR/sim/vs_<DIR2's name>/<metric>.npy (L x L2) and index.json there.\n"
           "\n"
           "metrics:\n"
           "  cka            linear CKA (Kornblith et al. 2019)\n"
           "  cka-debiased   linear CKA with the unbiased HSIC estimator\n"
           "  cka-rbf        RBF-kernel CKA, bandwidth --rbf-fraction x median distance\n"
           "                 (builds N x N Gram matrices)\n"
           "  cca            mean canonical correlation (as Google's cca_core.py)\n"
           "  svcca          CCA on the top singular directions holding --keep of the\n"
           "                 variance (Raghu et al. 2017)\n"
           "  pwcca          projection-weighted CCA (Morcos et al. 2018)\n"
           "  procrustes     orthogonal Procrustes distance of the centred, unit-norm\n"
           "                 layers, and the angular shape metric\n"
           "\n");
    settings d = defaults();
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve compare study/acts/relu1.npy study/acts/relu2.npy\n"
           "  nerve compare --metric all a.npy b.npy | jq '.[] | [.metric, .value]'\n"
           "  nerve compare --study study\n"
           "  nerve compare --study final --study epoch1 --metric svcca\n");
}

static json_t *doubles(const double *v, int64_t n)
{
    json_t *a = json_array();
    for (int64_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

/* One metric as a JSON object, or NULL with nerve_error() set. */
static json_t *measure(const char *metric, const nerve_mat *a, const nerve_mat *b, const settings *s, int *rc)
{
    double value = 0, angular = 0;
    nerve_cca c = { 0 };
    json_t *o = json_object();
    json_object_set_new(o, "metric", json_string(metric));
    if (strcmp(metric, "cka") == 0 || strcmp(metric, "cka-debiased") == 0) {
        *rc = nerve_sim_cka_linear(&value, a, b, metric[3] != '\0');
    } else if (strcmp(metric, "cka-rbf") == 0) {
        *rc = nerve_sim_cka_rbf(&value, a, b, s->fraction);
        json_object_set_new(o, "rbf_fraction", json_real(s->fraction));
    } else if (strcmp(metric, "cca") == 0 || strcmp(metric, "svcca") == 0) {
        *rc = metric[0] == 'c' ? nerve_sim_cca(&c, a, b, s->epsilon) : nerve_sim_svcca(&c, a, b, s->keep);
        value = c.mean;
    } else if (strcmp(metric, "pwcca") == 0) {
        *rc = nerve_sim_pwcca(&value, &c, a, b, s->epsilon);
    } else {
        *rc = nerve_sim_procrustes(&value, &angular, a, b);
        json_object_set_new(o, "angular", json_real(angular));
    }
    if (*rc < 0) {
        json_decref(o);
        nerve_cca_free(&c);
        return NULL;
    }
    json_object_set_new(o, "value", json_real(value));
    if (c.rho) {
        json_object_set_new(o, "dims", json_pack("[I, I]", (json_int_t)c.dims_a, (json_int_t)c.dims_b));
        json_object_set_new(o, "coefficients", doubles(c.rho, c.k));
    }
    nerve_cca_free(&c);
    return o;
}

/* --study: the matrices of a whole study, or of two against each other. */
static int compare_study(const char *dir, const char *other, const char *metric, const settings *s)
{
    nerve_sim_metric chosen[NERVE_SIM_METRIC_COUNT];
    int n = 0;
    if (strcmp(metric, "all") == 0) {
        const nerve_sim_metric defaults[] = { NERVE_SIM_CKA, NERVE_SIM_CKA_DEBIASED, NERVE_SIM_SVCCA,
                                              NERVE_SIM_PWCCA, NERVE_SIM_PROCRUSTES };
        for (n = 0; n < (int)(sizeof defaults / sizeof *defaults); n++)
            chosen[n] = defaults[n];
    } else if (nerve_sim_metric_parse(metric, &chosen[0]) == 0) {
        n = 1;
    } else {
        return cli_usage_error("compare", "--metric '%s' is not offered with --study (cka, cka-debiased, cca, "
                               "svcca, pwcca, procrustes, all)", metric);
    }
    nerve_sim_options o = { s->keep, s->epsilon };
    int skipped = 0;
    int rc = other ? nerve_study_similarity_between(dir, other, chosen, n, &o, &skipped)
                   : nerve_study_similarity(dir, chosen, n, &o, &skipped);
    if (rc < 0)
        return cli_fail(rc);
    if (skipped && !nerve_quiet())
        fprintf(stderr, "nerve: compare: %d layers with several rows per input left out\n", skipped);
    if (!nerve_quiet() && !other)
        fprintf(stderr, "nerve: compare: wrote %s/sim/index.json\n", dir);
    if (!nerve_quiet() && other)
        fprintf(stderr, "nerve: compare: wrote the matrices against %s under %s/sim/\n", other, dir);
    return 0;
}

static int compare_run(int argc, char **argv)
{
    settings s = defaults();
    int first, status;
    if (cli_parse(&cli_compare, options, &s, argc, argv, &first, &status) < 0)
        return status;
    if (s.studies.n) {
        if (first != argc)
            return cli_usage_error("compare", "--study takes no files");
        return compare_study(s.studies.item[0], s.studies.n > 1 ? s.studies.item[1] : NULL,
                             metrics[s.metric == UNSET ? ALL : s.metric], &s);
    }
    if (s.metric == UNSET)
        s.metric = 0;   /* cka */
    if (argc - first != 2)
        return cli_usage_error("compare", "wants two files, A.npy and B.npy");
    nerve_mat a, b;
    int rc = nerve_mat_read_npy(&a, argv[first]);
    if (rc < 0)
        return cli_fail(rc);
    if ((rc = nerve_mat_read_npy(&b, argv[first + 1])) < 0) {
        nerve_mat_free(&a);
        return cli_fail(rc);
    }
    if (a.rows != b.rows) {
        rc = nerve_error_set(NERVE_EINPUT, "%s has %lld inputs (rows) but %s has %lld: both must describe the "
                             "same inputs", argv[first], (long long)a.rows, argv[first + 1], (long long)b.rows);
    }
    int all = s.metric == ALL;
    json_t *out = all ? json_array() : NULL;
    for (int i = 0; rc == 0 && i < METRIC_COUNT; i++) {
        if (!all && s.metric != i)
            continue;
        json_t *o = measure(metrics[i], &a, &b, &s, &rc);
        if (o && all)
            json_array_append_new(out, o);
        else if (o)
            out = o;
    }
    if (rc == 0) {
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
        printf("\n");
    }
    json_decref(out);
    nerve_mat_free(&a);
    nerve_mat_free(&b);
    return rc < 0 ? cli_fail(rc) : 0;
}

const cli_command cli_compare = {
    .name = "compare",
    .summary = "similarity of two layers: CKA, SVCCA, PWCCA, CCA, Procrustes",
    .run = compare_run,
    .help = compare_help,
};
