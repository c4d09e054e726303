/*
 * train.c — `nerve train`: trains a built-in architecture on Fashion-MNIST
 * and writes it as ONNX, by default into nerve's model cache, where a
 * second run with the same settings finds it instead of training again.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nerve/study.h"
#include "cli.h"
#include "options.h"

typedef struct fractions {
    double v[32];
    int    n;
} fractions;

typedef struct train_cli {
    nerve_train_options o;
    fractions           checkpoints;
    const char         *out;
    int                 force;
} train_cli;

/* "0,0.35,0.75,1": up to 32 fractions of training in [0, 1]. */
static int parse_fractions(void *field, const char *arg, const char **why)
{
    fractions *f = field;
    *why = "fractions in [0, 1] like 0,0.35,0.75,1";
    char *copy = strdup(arg), *save = NULL;
    if (!copy)
        return -1;
    int n = 0, rc = 0;
    for (char *t = strtok_r(copy, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
        char *end;
        double v = strtod(t, &end);
        if (n == 32 || end == t || *end || !(v >= 0 && v <= 1))
            rc = -1;
        else
            f->v[n++] = v;
    }
    free(copy);
    f->n = n;
    return rc == 0 && n > 0 ? 0 : -1;
}

/* The one dataset nerve trains on, kept as the name given. */
static int parse_dataset(void *field, const char *arg, const char **why)
{
    *why = NERVE_DATASET_NAMES;
    if (strcmp(arg, "fashion-mnist") != 0)
        return -1;
    *(const char **)field = arg;
    return 0;
}

CLI_ENUM_TYPE(static, arch_enum, nerve_arch, nerve_arch_parse, nerve_arch_name, NERVE_ARCH_NAMES);

/* In the order of nerve_optimizer and nerve_schedule. */
static const char *const optimizers[] = { "adam", "sgd", NULL };
static const char *const schedules[] = { "cosine", "constant", NULL };
_Static_assert(NERVE_OPT_SGD == 1 && NERVE_SCHEDULE_CONSTANT == 1, "optimizers[] and schedules[] follow the enums");

#define AT(field) CLI_AT(train_cli, field)
static const cli_option options[] = {
    { CLI_OPT("arch", 'a', CLI_ENUM, "A", NERVE_ARCH_NAMES, AT(o.arch)), .enumeration = &arch_enum },
    { CLI_OPT("data", 'd', CLI_CUSTOM, "D", NERVE_DATASET_NAMES, AT(o.dataset)), .parse = parse_dataset,
      .default_text = "fashion-mnist" },
    { CLI_OPT("optimizer", 0, CLI_CHOICE, "O", "the optimizer (sgd with momentum)", AT(o.optimizer)),
      .choices = optimizers },
    { CLI_OPT("epochs", 'e', CLI_INT, "N", "passes over the training images", AT(o.epochs)),
      CLI_RANGE(1, NERVE_TRAIN_MAX_EPOCHS) },
    { CLI_OPT("batch", 'b', CLI_INT, "N", "images per step", AT(o.batch)), CLI_RANGE(1, 60000) },
    { CLI_OPT("lr", 0, CLI_REAL, "L", "peak learning rate, at most 10", AT(o.lr)), CLI_RANGE_ABOVE(0, 10),
      .default_text = "0.003 for adam, 0.03 for sgd" },
    { CLI_OPT("schedule", 0, CLI_CHOICE, "S", "the learning rate's schedule (cosine: down to 0)", AT(o.schedule)),
      .choices = schedules },
    { CLI_OPT("momentum", 0, CLI_REAL, "M", "for sgd, in [0, 1)", AT(o.momentum)), CLI_RANGE_OPEN(0, 1) },
    { CLI_OPT("seed", 0, CLI_SEED, "S", "initial weights, shuffling, dropout", AT(o.seed)) },
    { CLI_OPT("limit", 0, CLI_INT, "N", "train on the first N images only (quick trials)", AT(o.limit)),
      CLI_MIN(1), .default_text = "" },
    { CLI_OPT("checkpoints", 0, CLI_CUSTOM, "F,F", "save the model at these fractions of training too,\n"
              "as <out>.ckpt<percent>.onnx (e.g. 0,0.35,0.75,1)", AT(checkpoints)), .parse = parse_fractions },
    { CLI_OPT("out", 'o', CLI_STRING, "FILE", "where to write the model", AT(out)), .default_text = "the cache" },
    { CLI_OPT("force", 0, CLI_FLAG, NULL, "train even if the cache has the model", AT(force)) },
    { 0 },
};
#undef AT

static train_cli defaults(void)
{
    train_cli t = { 0 };
    nerve_train_defaults(&t.o);
    return t;
}

static void train_help(void)
{
    printf("usage: nerve train [options]\n"
           "\n"
           "Trains a built-in network on Fashion-MNIST (the Debian package's 60,000\n"
           "training images, scaled to [0, 1]), reports the loss and the accuracy on the\n"
           "10,000 test images after every epoch, and writes the model as ONNX. Without\n"
           "--out the model goes to nerve's cache ($NERVE_CACHE, else\n"
           "$XDG_CACHE_HOME/nerve, else ~/.cache/nerve), named after its settings; a\n"
           "cached model with the same settings is reused (--force trains again).\n"
           "Prints JSON: the file, the settings, and per epoch loss, accuracy, seconds.\n"
           "\n");
    train_cli d = defaults();
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve train                                  # cnn-small, 3 epochs, cached\n"
           "  nerve train --arch resnet-mini --epochs 5 -o resnet.onnx --checkpoints 0,0.35,0.75,1\n");
}

static void report_epoch(void *ctx, int e, const nerve_train_result *r)
{
    (void)ctx;
    if (!nerve_quiet())
        fprintf(stderr, "nerve: train: epoch %d: loss %.4f, train accuracy %.4f, test accuracy %.4f (%.1f s)\n", e + 1,
                r->loss[e], r->train_accuracy[e], r->test_accuracy[e], r->seconds[e]);
}

static int train_run(int argc, char **argv)
{
    train_cli t = defaults();
    int first, status;
    if (cli_parse(&cli_train, options, &t, argc, argv, &first, &status) < 0)
        return status;
    if (first != argc)
        return cli_usage_error("train", "takes no file arguments (the model goes to --out)");
    if (t.checkpoints.n) {
        t.o.checkpoints = t.checkpoints.v;
        t.o.n_checkpoints = t.checkpoints.n;
    }
    char path[4200];
    int rc = 0;
    if (!t.out && (rc = nerve_train_cache_path(path, sizeof path, &t.o)) < 0)
        return cli_fail(rc);
    t.o.out = t.out ? t.out : path;
    t.o.on_epoch = report_epoch;
    nerve_catch_interrupts();
    json_t *j = NULL;
    if (t.out) {   /* a file of the user's: always trained, never cached */
        nerve_train_result r;
        if ((rc = nerve_train(&t.o, &r)) == 0)
            j = nerve_train_record(&t.o, &r);
    } else {
        rc = nerve_train_cached(&t.o, t.force, &j);
    }
    if (rc < 0)
        return cli_fail(rc);
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    printf("\n");
    json_decref(j);
    return 0;
}

const cli_command cli_train = {
    .name = "train",
    .summary = "train a built-in network on Fashion-MNIST and write it as ONNX",
    .run = train_run,
    .help = train_help,
};
