/*
 * compare.c — `nerve compare A.npy B.npy`: how similar two layers'
 * representations of the same inputs are, as JSON.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve/sim.h"
#include "nerve/study.h"
#include "nerve/internal/path.h"
#include "cli.h"
#include "options.h"

/* --metric's choices: every metric of the sim room's table (in enum
 * order, so choice i is metric i), then svcca-dft (two 4-D files), then
 * "all". Filled from the table before parsing or help. */
enum { DFT = NERVE_SIM_METRIC_COUNT, ALL, UNSET = -1 };
static const char *metrics[NERVE_SIM_METRIC_COUNT + 3];

static void fill_metrics(void)
{
    for (int i = 0; i < NERVE_SIM_METRIC_COUNT; i++)
        metrics[i] = nerve_sim_metrics[i].name;
    metrics[DFT] = "svcca-dft";
    metrics[ALL] = "all";
}

typedef struct settings {
    nerve_sim_options sim;
    int         metric;                  /* index into metrics[], UNSET: by mode */
    int64_t     significance;            /* permutations and bootstrap resamples */
    uint64_t    seed;
    cli_strings studies;                 /* --study DIR [--study DIR2] */
    cli_strings stacked;                 /* --studies DIR (repeated) */
} settings;

#define AT(field) CLI_AT(settings, field)
static const cli_option options[] = {
    { CLI_OPT("metric", 'M', CLI_CHOICE, "M", "the metric (see metrics above)", AT(metric)), .choices = metrics,
      .default_text = "cka; the study's default set with --study" },
    { CLI_OPT("study", 's', CLI_STRINGS, "DIR", "layer x layer matrices of a study directory; given\n"
              "twice, the first study's layers against the second's", AT(studies)), CLI_RANGE(0, 2) },
    { CLI_OPT("studies", 0, CLI_STRINGS, "DIR", "persistence distances of every layer of every\n"
              "study given (repeated) to every other, stacked:\nthe first DIR's studies/", AT(stacked)),
      CLI_RANGE(0, CLI_STRINGS_MAX) },
    { CLI_OPT("keep", 0, CLI_REAL, "F", "SVCCA's share of variance kept", AT(sim.keep)), CLI_RANGE_ABOVE(0, 1) },
    { CLI_OPT("epsilon", 0, CLI_REAL, "E", "CCA/PWCCA cutoff and ridge: dead units dropped,\n"
              "as in cca_core's tutorials; 0 keeps them\n(cca_core's own default)", AT(sim.epsilon)),
      CLI_RANGE_OPEN(0, 1) },
    { CLI_OPT("rbf-fraction", 0, CLI_REAL, "F", "RBF bandwidth as a fraction of the median distance\n"
              "(1 as in Kornblith et al.'s code)", AT(sim.rbf_fraction)), CLI_ABOVE(0) },
    { CLI_OPT("knn-k", 0, CLI_INT, "K", "mutual-knn's neighbours per input (Huh et al.'s 10)", AT(sim.knn_k)),
      CLI_MIN(1) },
    { CLI_OPT("significance", 0, CLI_INT, "N", "a permutation test and a bootstrap interval of N\n"
              "resamples each (two files only)", AT(significance)), CLI_MIN(0) },
    { CLI_OPT("seed", 0, CLI_SEED, "S", "the seed of --significance's resamples", AT(seed)) },
    { 0 },
};
#undef AT

static settings defaults(void)
{
    settings s = { .metric = UNSET, .seed = 1 };
    nerve_sim_defaults(&s.sim);
    return s;
}

static void compare_help(void)
{
    fill_metrics();
    printf("usage: nerve compare [options] A.npy B.npy\n"
           "       nerve compare --study DIR [--study DIR2] [--metric M]\n"
           "       nerve compare --studies DIR1 --studies DIR2 [--studies DIR3 ...]\n"
           "\n"
           "Compares two layers' activations over the same N inputs (N x d1 and N x d2,\n"
           "rows are inputs; higher-rank arrays are flattened per row) and prints JSON:\n"
           "  {\"metric\": \"cka\", \"value\": 0.83, ...}\n"
           "With --metric all, a JSON array of every metric for two files. With\n"
           "--significance N, each also has a permutation p-value and a bootstrap interval.\n"
           "--metric svcca-dft takes two (N, C, H, W) files: SVCCA of whole conv maps\n"
           "through the 2-D DFT over positions (Raghu et al. 2017).\n"
           "\n"
           "With --study DIR, every layer of the study that holds one vector per input\n"
           "against every other: DIR/sim/<metric>.npy (float32, L x L) and\n"
           "DIR/sim/index.json naming the layers. Default metrics there:");
    nerve_sim_metric set[NERVE_SIM_METRIC_COUNT];
    int n = nerve_sim_study_defaults(set);
    for (int i = 0; i < n; i++)
        printf("%s %s", i ? "," : "", nerve_sim_metric_name(set[i]));
    printf(".\n"
           "With a second --study DIR2 (another model, or another checkpoint of the same\n"
           "model, extracted from the same inputs), DIR's layers against DIR2's, inputs\n"
           "matched by id (their place in those inputs; the first min(N, N2)):\n"
           "DIR/sim/vs_<DIR2's name>/<metric>.npy (L x L2) and index.json there; when\n"
           "both studies have persistence diagrams, the bottleneck, Wasserstein and\n"
           "sliced Wasserstein distances of DIR's layers to DIR2's in DIR/ph/vs_<name>/.\n"
           "With --studies (two or more: models, seeds), those distances between every\n"
           "layer of every study, one stacked matrix per metric and dimension, in\n"
           "DIR1/studies/ph/ with DIR1/studies/index.json (Purvine et al.'s cross-model\n"
           "view).\n"
           "\n"
           "metrics:\n");
    for (int i = 0; i < NERVE_SIM_METRIC_COUNT; i++)
        printf("  %-14s %s%s\n", nerve_sim_metrics[i].name, nerve_sim_metrics[i].summary,
               nerve_sim_metrics[i].uses & NERVE_SIM_FOR_STUDY ? "" : " (two files only)");
    printf("  %-14s %s\n\n", "svcca-dft", "SVCCA of two (N, C, H, W) conv maps through the DFT (two files only)");
    settings d = defaults();
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve compare study/acts/relu1.npy study/acts/relu2.npy\n"
           "  nerve compare --metric all a.npy b.npy | jq '.[] | [.metric, .value]'\n"
           "  nerve compare --metric rsa --significance 1000 --seed 7 a.npy b.npy\n"
           "  nerve compare --study study\n"
           "  nerve compare --study final --study epoch1 --metric svcca\n"
           "  nerve compare --studies seed0 --studies seed1 --studies seed2\n");
}

/* --significance: the permutation p-value and the bootstrap interval. */
static json_t *significance(nerve_sim_metric m, const nerve_mat *a, const nerve_mat *b, const settings *s, int *rc)
{
    nerve_sim_test r;
    nerve_sim_test_options t = { .permutations = s->significance, .bootstrap = s->significance, .seed = s->seed,
                                 .level = 0.95 };
    if ((*rc = nerve_sim_significance(&r, m, a, b, &s->sim, &t)) < 0)
        return NULL;
    return json_pack("{s:f, s:f, s:I, s:[f, f], s:f, s:I, s:I, s:I}", "p_value", r.p_value, "null_mean", r.null_mean,
                     "permutations", (json_int_t)r.permutations, "interval", r.low, r.high, "level", t.level,
                     "bootstrap", (json_int_t)r.bootstrap, "skipped", (json_int_t)r.skipped, "seed",
                     (json_int_t)s->seed);
}

/* The CCA family's canonical correlations and the dimensions they ran on
 * (the value itself comes from nerve_sim_measure, as for every metric). */
static int cca_details(json_t *o, nerve_sim_metric m, const nerve_mat *a, const nerve_mat *b, const settings *s)
{
    nerve_cca c = { 0 };
    double pwcca;
    int rc = m == NERVE_SIM_CCA     ? nerve_sim_cca(&c, a, b, s->sim.epsilon)
           : m == NERVE_SIM_SVCCA   ? nerve_sim_svcca(&c, a, b, s->sim.keep)
           : m == NERVE_SIM_PWCCA   ? nerve_sim_pwcca(&pwcca, &c, a, b, s->sim.epsilon)
                                    : 0;
    if (rc == 0 && c.rho) {
        json_t *rho = json_array();
        for (int64_t i = 0; i < c.k; i++)
            json_array_append_new(rho, json_real(c.rho[i]));
        json_object_set_new(o, "dims", json_pack("[I, I]", (json_int_t)c.dims_a, (json_int_t)c.dims_b));
        json_object_set_new(o, "coefficients", rho);
    }
    nerve_cca_free(&c);
    return rc;
}

/* One metric as a JSON object, or NULL with nerve_error() set. */
static json_t *measure(nerve_sim_metric m, const nerve_mat *a, const nerve_mat *b, const settings *s, int *rc)
{
    double value = 0;
    if ((*rc = nerve_sim_measure(&value, m, a, b, &s->sim)) < 0)
        return NULL;
    json_t *o = json_pack("{s:s, s:f}", "metric", nerve_sim_metric_name(m), "value", value);
    if (m == NERVE_SIM_CKA_RBF)
        json_object_set_new(o, "rbf_fraction", json_real(s->sim.rbf_fraction));
    if (m == NERVE_SIM_MUTUAL_KNN)
        json_object_set_new(o, "k", json_integer((json_int_t)s->sim.knn_k));
    if (m == NERVE_SIM_CCA || m == NERVE_SIM_PWCCA)
        json_object_set_new(o, "epsilon", json_real(s->sim.epsilon));
    if ((*rc = cca_details(o, m, a, b, s)) < 0) {
        json_decref(o);
        return NULL;
    }
    if (s->significance > 0) {
        json_t *sig = significance(m, a, b, s, rc);
        if (!sig) {
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "significance", sig);
    }
    return o;
}

/* --metric svcca-dft: two (N, C, H, W) files. */
static int compare_dft(const char *pa, const char *pb, const settings *s)
{
    nerve_array a = { 0 }, b = { 0 };
    nerve_cca c = { 0 };
    int rc = nerve_npy_read(&a, NULL, pa, NERVE_F32);
    if (rc == 0)
        rc = nerve_npy_read(&b, NULL, pb, NERVE_F32);
    if (rc == 0)
        rc = nerve_sim_svcca_dft(&c, &a, &b, &s->sim);
    if (rc == 0) {
        json_t *o = json_pack("{s:s, s:f, s:I, s:f}", "metric", "svcca-dft", "value", c.mean, "coefficients",
                              (json_int_t)c.k, "epsilon", s->sim.epsilon);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
        printf("\n");
        json_decref(o);
    }
    nerve_cca_free(&c);
    nerve_array_free(&a);
    nerve_array_free(&b);
    return rc < 0 ? cli_fail(rc) : 0;
}

/* With two studies, their layers' persistence distances too, when both
 * have diagrams. */
static int ph_between(const char *dir, const char *other)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (nerve_path(a, sizeof a, "%s/ph/index.json", dir) < 0 || nerve_path(b, sizeof b, "%s/ph/index.json", other) < 0 ||
        access(a, R_OK) != 0 || access(b, R_OK) != 0)
        return 0;
    int rc = nerve_study_ph_between(dir, other);
    if (rc == 0 && !nerve_quiet())
        fprintf(stderr, "nerve: compare: wrote the persistence distances against %s under %s/ph/\n", other, dir);
    return rc;
}

/* --study: the matrices of a whole study, or of two against each other. */
static int compare_study(const char *dir, const char *other, const settings *s)
{
    nerve_sim_metric chosen[NERVE_SIM_METRIC_COUNT];
    int n = 0;
    if (s->metric == UNSET || s->metric == ALL)
        n = nerve_sim_study_defaults(chosen);
    else if (s->metric < NERVE_SIM_METRIC_COUNT && (nerve_sim_metrics[s->metric].uses & NERVE_SIM_FOR_STUDY))
        chosen[n++] = (nerve_sim_metric)s->metric;
    else
        return cli_usage_error("compare", "--metric '%s' is for two files, not --study", metrics[s->metric]);
    if (s->significance)
        return cli_usage_error("compare", "--significance is for two files, not --study");
    int skipped = 0;
    int rc = other ? nerve_study_similarity_between(dir, other, chosen, n, &s->sim, &skipped)
                   : nerve_study_similarity(dir, chosen, n, &s->sim, &skipped);
    if (rc < 0)
        return cli_fail(rc);
    if (skipped && !nerve_quiet())
        fprintf(stderr, "nerve: compare: %d layers with several rows per input left out\n", skipped);
    if (!nerve_quiet() && !other)
        fprintf(stderr, "nerve: compare: wrote %s/sim/index.json\n", dir);
    if (!nerve_quiet() && other)
        fprintf(stderr, "nerve: compare: wrote the matrices against %s under %s/sim/\n", other, dir);
    if (other && (rc = ph_between(dir, other)) < 0)
        return cli_fail(rc);
    return 0;
}

static int compare_run(int argc, char **argv)
{
    fill_metrics();
    settings s = defaults();
    int first, status;
    if (cli_parse(&cli_compare, options, &s, argc, argv, &first, &status) < 0)
        return status;
    if (s.stacked.n) {
        if (first != argc || s.studies.n)
            return cli_usage_error("compare", "--studies takes no files and no --study");
        int rc = nerve_study_ph_stacked((const char *const *)s.stacked.item, s.stacked.n);
        if (rc == 0 && !nerve_quiet())
            fprintf(stderr, "nerve: compare: wrote %s/studies/index.json\n", s.stacked.item[0]);
        return rc < 0 ? cli_fail(rc) : 0;
    }
    if (s.studies.n) {
        if (first != argc)
            return cli_usage_error("compare", "--study takes no files");
        return compare_study(s.studies.item[0], s.studies.n > 1 ? s.studies.item[1] : NULL, &s);
    }
    if (s.metric == UNSET)
        s.metric = NERVE_SIM_CKA;
    if (argc - first != 2)
        return cli_usage_error("compare", "wants two files, A.npy and B.npy");
    if (s.metric == DFT)
        return compare_dft(argv[first], argv[first + 1], &s);
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
    for (int i = 0; rc == 0 && i < NERVE_SIM_METRIC_COUNT; i++) {
        if (all ? !(nerve_sim_metrics[i].uses & NERVE_SIM_FOR_PAIR) : s.metric != i)
            continue;
        json_t *o = measure((nerve_sim_metric)i, &a, &b, &s, &rc);
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
    .summary = "similarity of two layers: CKA, SVCCA, PWCCA, CCA, Procrustes, RSA, mutual kNN",
    .run = compare_run,
    .help = compare_help,
};
