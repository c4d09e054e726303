/*
 * main.c — `nerve <command> [options]`: finds the command and hands it the
 * rest of the command line.
 */
#include <stdio.h>
#include <string.h>

#include "nerve/core.h"
#include "nerve/study.h"
#include "cli.h"
#include "options.h"

/* Each command, and whether it computes with OpenBLAS/LAPACKE (loaded
 * for it before it starts: see cli_require_blas). */
static const struct command {
    const cli_command *cmd;
    int                uses_blas;
} commands[] = {
    { &cli_run, 1 },
    { &cli_serve, 1 },
    { &cli_report, 1 },
    { &cli_info, 0 },
    { &cli_layers, 1 },
    { &cli_extract, 1 },
    { &cli_compare, 1 },
    { &cli_embed, 1 },
    { &cli_featvis, 1 },
    { &cli_mapper, 1 },
    { &cli_findings, 1 },
    { &cli_train, 1 },
    { &cli_ph, 0 },
    { &cli_ph_distance, 0 },
};
enum { COMMAND_COUNT = sizeof commands / sizeof commands[0] };

static void print_usage(FILE *out)
{
    fprintf(out,
            "nerve %s — the shape of what a neural network has learned\n"
            "\n"
            "usage: nerve <command> [options]\n"
            "       nerve help <command>\n"
            "       nerve --version\n"
            "\n"
            "commands:\n", NERVE_VERSION_STRING);
    for (int i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-10s %s\n", commands[i].cmd->name, commands[i].cmd->summary);
    fprintf(out, "\nRun 'nerve <command> --help' for a command's options.\n");
}

static const struct command *find_command(const char *name)
{
    for (int i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].cmd->name, name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    fprintf(stderr, "nerve: error: unknown command '%s' (see 'nerve --help')\n", name);
    return 2;
}

static int help_command(int argc, char **argv)
{
    if (argc < 3) {
        print_usage(stdout);
        return 0;
    }
    const struct command *c = find_command(argv[2]);
    if (!c)
        return unknown_command(argv[2]);
    c->cmd->help();
    return 0;
}

static int run_command(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
        printf("nerve %s\n", NERVE_VERSION_STRING);
        return 0;
    }
    if (strcmp(name, "help") == 0)
        return help_command(argc, argv);
    if (name[0] == '-') {
        fprintf(stderr, "nerve: error: unknown option '%s' (see 'nerve --help')\n", name);
        return 2;
    }
    const struct command *c = find_command(name);
    if (!c)
        return unknown_command(name);
    nerve_signals_install();   /* no command leaves `*.tmp.<pid>` files behind */
    cli_require_blas(c->uses_blas);
    return c->cmd->run(argc - 1, argv + 1);
}

/* nerve-mpi's ranks start and end together (nerve_study_dist_finish ends
 * the whole job when one of them failed); for nerve both are nothing. */
int main(int argc, char **argv)
{
    if (nerve_study_dist_init(&argc, &argv) < 0) {
        fprintf(stderr, "nerve: error: %s\n", nerve_error());
        return 1;
    }
    return nerve_study_dist_finish(run_command(argc, argv));
}
