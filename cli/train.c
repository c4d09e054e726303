/*
 * train.c — `nerve train`: trains a built-in architecture on Fashion-MNIST
 * and writes it as ONNX, by default into nerve's model cache, where a
 * second run with the same settings finds it instead of training again.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nerve/study.h"
#include "cli.h"

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
           "\n"
           "options:\n"
           "  -a, --arch A          %s (default cnn-small)\n"
           "  -d, --data D          %s (default)\n"
           "      --optimizer O     adam (default) or sgd (with momentum)\n"
           "  -e, --epochs N        (default 3)\n"
           "  -b, --batch N         (default 16)\n"
           "      --lr L            peak learning rate (default 0.003 for adam, 0.03 for sgd)\n"
           "      --schedule S      cosine (default: decays to 0 over training) or constant\n"
           "      --momentum M      for sgd (default 0.9)\n"
           "      --seed S          initial weights, shuffling, dropout (default 0)\n"
           "      --limit N         train on the first N images only (quick trials)\n"
           "      --checkpoints F,F save the model at these fractions of training too,\n"
           "                        as <out>.ckpt<percent>.onnx (e.g. 0,0.35,0.75,1)\n"
           "  -o, --out FILE        where to write the model (default: the cache)\n"
           "      --force           train even if the cache has the model\n"
           CLI_COMMON_HELP
           "\n"
           "examples:\n"
           "  nerve train                                  # cnn-small, 3 epochs, cached\n"
           "  nerve train --arch resnet-mini --epochs 5 -o resnet.onnx --checkpoints 0,0.35,0.75,1\n",
           NERVE_ARCH_NAMES, NERVE_DATASET_NAMES);
}

typedef struct train_cli {
    nerve_train_options o;
    double              fractions[32];
    const char         *out;
    int                 force;
} train_cli;

static int parse_fractions(train_cli *t, const char *s)
{
    char *copy = strdup(s), *save = NULL;
    int n = 0;
    for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        char *end;
        double v = strtod(f, &end);
        if (n == 32 || end == f || *end || !(v >= 0 && v <= 1)) {
            free(copy);
            return -1;
        }
        t->fractions[n++] = v;
    }
    free(copy);
    t->o.checkpoints = t->fractions;
    t->o.n_checkpoints = n;
    return n > 0 ? 0 : -1;
}

static int parse_number(double *out, const char *s)
{
    char *end;
    *out = strtod(s, &end);
    return end != s && !*end && isfinite(*out) ? 0 : -1;
}

static int train_option(train_cli *t, int opt, const char *arg)
{
    long v;
    switch (opt) {
    case 'a':
        return nerve_arch_parse(arg, &t->o.arch) < 0
                   ? cli_usage_error("train", "unknown architecture '%s' (valid: %s)", arg, NERVE_ARCH_NAMES) : 0;
    case 'd':
        if (strcmp(arg, "fashion-mnist") != 0)
            return cli_usage_error("train", "unknown dataset '%s' (valid: %s)", arg, NERVE_DATASET_NAMES);
        t->o.dataset = arg;
        return 0;
    case 'e':
        if ((v = cli_parse_count(arg)) < 1 || v > NERVE_TRAIN_MAX_EPOCHS)
            return cli_usage_error("train", "--epochs wants 1 to %d, not '%s'", NERVE_TRAIN_MAX_EPOCHS, arg);
        t->o.epochs = v;
        return 0;
    case 'b':
        if ((v = cli_parse_count(arg)) < 1 || v > 60000)
            return cli_usage_error("train", "--batch wants 1 to 60000, not '%s'", arg);
        t->o.batch = v;
        return 0;
    case 'o': t->out = arg; return 0;
    case 1:
        if (strcmp(arg, "adam") != 0 && strcmp(arg, "sgd") != 0)
            return cli_usage_error("train", "unknown --optimizer '%s' (adam, sgd)", arg);
        t->o.optimizer = strcmp(arg, "sgd") == 0 ? NERVE_OPT_SGD : NERVE_OPT_ADAM;
        return 0;
    case 2:
        if (parse_number(&t->o.lr, arg) < 0 || !(t->o.lr > 0 && t->o.lr <= 10))
            return cli_usage_error("train", "--lr wants a learning rate in (0, 10], not '%s'", arg);
        return 0;
    case 3:
        if (parse_number(&t->o.momentum, arg) < 0 || !(t->o.momentum >= 0 && t->o.momentum < 1))
            return cli_usage_error("train", "--momentum wants a number in [0, 1), not '%s'", arg);
        return 0;
    case 4:
        if ((v = cli_parse_count(arg)) < 0)
            return cli_usage_error("train", "--seed wants a whole number, not '%s'", arg);
        t->o.seed = (uint64_t)v;
        return 0;
    case 5:
        return parse_fractions(t, arg) < 0
                   ? cli_usage_error("train", "--checkpoints wants fractions in [0, 1] like 0,0.35,0.75,1, not '%s'", arg)
                   : 0;
    case 6: t->force = 1; return 0;
    case 7:
        if (strcmp(arg, "cosine") != 0 && strcmp(arg, "constant") != 0)
            return cli_usage_error("train", "unknown --schedule '%s' (cosine, constant)", arg);
        t->o.schedule = strcmp(arg, "constant") == 0 ? NERVE_SCHEDULE_CONSTANT : NERVE_SCHEDULE_COSINE;
        return 0;
    case 8:
        if ((v = cli_parse_count(arg)) < 1)
            return cli_usage_error("train", "--limit wants a positive count, not '%s'", arg);
        t->o.limit = v;
        return 0;
    }
    return cli_usage_error("train", "unexpected option");
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
    static const struct option options[] = {
        { "arch", required_argument, 0, 'a' },      { "data", required_argument, 0, 'd' },
        { "epochs", required_argument, 0, 'e' },    { "batch", required_argument, 0, 'b' },
        { "out", required_argument, 0, 'o' },       { "optimizer", required_argument, 0, 1 },
        { "lr", required_argument, 0, 2 },          { "momentum", required_argument, 0, 3 },
        { "seed", required_argument, 0, 4 },        { "checkpoints", required_argument, 0, 5 },
        { "force", no_argument, 0, 6 },        { "schedule", required_argument, 0, 7 },
        { "limit", required_argument, 0, 8 },
        CLI_COMMON_LONG,
        { 0, 0, 0, 0 },
    };
    train_cli t = { 0 };
    nerve_train_defaults(&t.o);
    int opt, status;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":a:d:e:b:o:" CLI_COMMON_SHORT, options, NULL)) != -1) {
        int common = cli_common_option(&cli_train, opt, optarg, argv, &status);
        if (common < 0)
            return status;
        if (!common && (status = train_option(&t, opt, optarg)) != 0)
            return status;
    }
    if (optind != argc)
        return cli_usage_error("train", "takes no file arguments (the model goes to --out)");
    if ((status = cli_common_finish()) != 0)
        return status;
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
