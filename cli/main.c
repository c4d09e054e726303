/*
 * main.c — `nerve <command> [options]`: finds the command and hands it the
 * rest of the command line.
 */
#include <stdio.h>
#include <string.h>

#include "nerve/core.h"
#include "cli.h"

static const cli_command *commands[] = {
    &cli_run,
    &cli_serve,
    &cli_report,
    &cli_info,
    &cli_layers,
    &cli_extract,
    &cli_compare,
    &cli_embed,
    &cli_mapper,
    &cli_train,
    &cli_ph,
    &cli_ph_distance,
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
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\nRun 'nerve <command> --help' for a command's options.\n");
}

static const cli_command *find_command(const char *name)
{
    for (int i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
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
    const cli_command *cmd = find_command(argv[2]);
    if (!cmd)
        return unknown_command(argv[2]);
    cmd->help();
    return 0;
}

int main(int argc, char **argv)
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
    const cli_command *cmd = find_command(name);
    if (!cmd)
        return unknown_command(name);
    nerve_signals_install();   /* no command leaves `*.tmp.<pid>` files behind */
    return cmd->run(argc - 1, argv + 1);
}
