/*
 * test_help.c — every command's --help and its parser agree: each option
 * the help lists is one the command accepts (with a value where the help
 * shows one), and `nerve help CMD` prints the same text as `CMD --help`.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/support.h"

enum { MAX_COMMANDS = 32, MAX_NAME = 64 };

/* The command names `nerve --help` lists under "commands:". */
static int list_commands(char names[][MAX_NAME])
{
    const char *args[] = { "--help", NULL }, *out, *err;
    cr_assert_eq(run_nerve(args, &out, &err), 0);
    const char *p = strstr(out, "commands:\n");
    cr_assert(p, "nerve --help lists no commands:\n%s", out);
    int n = 0;
    for (p = strchr(p, '\n') + 1; p[0] == ' ' && p[1] == ' ' && n < MAX_COMMANDS; p = strchr(p, '\n') + 1) {
        sscanf(p, " %63s", names[n]);
        n++;
    }
    return n;
}

static char *copy(const char *s)
{
    char *c = strdup(s);
    cr_assert(c);
    return c;
}

/* Runs `nerve CMD OPTION[=VALUE] --no-such-option-xyz`: the command must get
 * past OPTION (accepting it, or refusing only its value) and stop at the
 * unknown option that follows, before doing any work. */
static void check_option_is_known(const char *cmd, const char *option, int takes_value)
{
    char arg[128];
    snprintf(arg, sizeof arg, takes_value ? "%s=1" : "%s", option);
    const char *args[] = { cmd, arg, "--no-such-option-xyz", NULL }, *out, *err;
    int status = run_nerve(args, &out, &err);
    /* 0 for an option that acts at once (layers --ops prints and stops). */
    cr_expect(status == 2 || status == 0, "nerve %s %s: status %d", cmd, arg, status);
    char unknown[160];
    snprintf(unknown, sizeof unknown, "unknown option '%s", arg);   /* as getopt saw it, value and all */
    cr_expect(strstr(err, unknown) == NULL, "nerve %s --help lists %s, which its parser does not know: %s", cmd,
              option, err);
}

/* Every "--name" at the start of an option line of CMD's help, with
 * whether a value name follows it. */
static int check_help_options(const char *cmd)
{
    const char *args[] = { cmd, "--help", NULL }, *out, *err;
    cr_assert_eq(run_nerve(args, &out, &err), 0, "nerve %s --help: %s", cmd, err);
    char *help = copy(out);
    int checked = 0;
    for (char *line = strtok(help, "\n"); line; line = strtok(NULL, "\n")) {
        char *dashes = strstr(line, "--");
        if (strncmp(line, "  -", 3) != 0 && strncmp(line, "      --", 8) != 0)
            continue;
        if (!dashes || dashes > line + 10)
            continue;
        char option[MAX_NAME] = "", value[MAX_NAME] = "";
        int fields = sscanf(dashes, "%63[-a-z0-9] %63s", option, value);
        int takes_value = fields == 2 && value[0] >= 'A' && value[0] <= 'Z';
        if (strcmp(option, "--help") == 0)
            continue;
        check_option_is_known(cmd, option, takes_value);
        checked++;
    }
    free(help);
    return checked;
}

Test(cli_help, every_option_in_help_is_one_the_parser_knows, .timeout = 120)
{
    char names[MAX_COMMANDS][MAX_NAME];
    int n = list_commands(names);
    cr_assert_gt(n, 10);
    for (int i = 0; i < n; i++)
        cr_expect_gt(check_help_options(names[i]), 0, "nerve %s --help lists no options", names[i]);
}

Test(cli_help, help_command_and_help_option_print_the_same)
{
    char names[MAX_COMMANDS][MAX_NAME];
    int n = list_commands(names);
    for (int i = 0; i < n; i++) {
        const char *by_option[] = { names[i], "--help", NULL }, *by_command[] = { "help", names[i], NULL };
        const char *out, *err;
        cr_assert_eq(run_nerve(by_option, &out, &err), 0);
        char *first = copy(out);
        cr_assert_eq(run_nerve(by_command, &out, &err), 0);
        cr_expect_str_eq(first, out, "nerve help %s differs from nerve %s --help", names[i], names[i]);
        free(first);
    }
}
