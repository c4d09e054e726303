/*
 * options.c — a command's option table made into getopt_long's tables, the
 * parsing and checking of each value, and the options part of --help.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "cli.h"
#include "options.h"

enum { MAX_OPTIONS = 64, FIRST_LONG_ONLY = 256 };

static int option_count(const cli_option *table)
{
    int n = 0;
    while (table[n].name)
        n++;
    return n;
}

static void *field(void *settings, const cli_option *o)
{
    return (char *)settings + o->offset;
}

static const void *const_field(const void *settings, const cli_option *o)
{
    return (const char *)settings + o->offset;
}

/* ---- values ---------------------------------------------------------------- */

static int inside(const cli_bounds *b, double v)
{
    if (b->lo_set && (b->lo_open ? v <= b->lo : v < b->lo))
        return 0;
    if (b->hi_set && (b->hi_open ? v >= b->hi : v > b->hi))
        return 0;
    return 1;
}

/* "a number > 0", "a whole number from 1 to 4096", "a number in [0, 1)". */
static void describe_bounds(char *out, size_t size, const cli_bounds *b, int whole)
{
    const char *what = whole ? "a whole number" : "a number";
    if (b->lo_set && b->hi_set && whole)
        snprintf(out, size, "%s from %g to %g", what, b->lo, b->hi);
    else if (b->lo_set && b->hi_set)
        snprintf(out, size, "%s in %c%g, %g%c", what, b->lo_open ? '(' : '[', b->lo, b->hi, b->hi_open ? ')' : ']');
    else if (b->lo_set)
        snprintf(out, size, "%s %s %g", what, b->lo_open ? ">" : ">=", b->lo);
    else
        snprintf(out, size, "%s", what);
}

static int parse_int(int64_t *out, const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

static int parse_number(double *out, const char *s)
{
    char *end;
    *out = strtod(s, &end);
    return end != s && !*end && isfinite(*out) ? 0 : -1;
}

static int choice_index(const char *const *choices, const char *arg)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], arg) == 0)
            return i;
    return -1;
}

static void list_choices(char *out, size_t size, const char *const *choices)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; choices[i] && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "", choices[i]);
}

/* Appends arg to a repeatable option's values, at most its bound's times. */
static int add_string(const struct cli_command *cmd, const cli_option *o, cli_strings *list, const char *arg)
{
    int most = o->bounds.hi_set && o->bounds.hi < CLI_STRINGS_MAX ? (int)o->bounds.hi : CLI_STRINGS_MAX;
    if (list->n >= most)
        return cli_usage_error(cmd->name, "--%s at most %d times", o->name, most);
    list->item[list->n++] = arg;
    return 0;
}

/* Stores arg into the option's field; a usage error (status 2) if it is
 * not a value the option takes. */
static int set_value(const struct cli_command *cmd, const cli_option *o, void *settings, const char *arg)
{
    void *f = field(settings, o);
    char want[256];
    int64_t i;
    double d;
    const char *why = NULL;
    switch (o->kind) {
    case CLI_FLAG: *(int *)f = 1; return 0;
    case CLI_STRING: *(const char **)f = arg; return 0;
    case CLI_INT:
        if (parse_int(&i, arg) == 0 && inside(&o->bounds, (double)i)) {
            *(int64_t *)f = i;
            return 0;
        }
        describe_bounds(want, sizeof want, &o->bounds, 1);
        return cli_usage_error(cmd->name, "--%s wants %s, not '%s'", o->name, want, arg);
    case CLI_SEED:
        if (parse_int(&i, arg) == 0 && i >= 0) {
            *(uint64_t *)f = (uint64_t)i;
            return 0;
        }
        return cli_usage_error(cmd->name, "--%s wants a whole number >= 0, not '%s'", o->name, arg);
    case CLI_REAL:
        if (parse_number(&d, arg) == 0 && inside(&o->bounds, d)) {
            *(double *)f = d;
            return 0;
        }
        describe_bounds(want, sizeof want, &o->bounds, 0);
        return cli_usage_error(cmd->name, "--%s wants %s, not '%s'", o->name, want, arg);
    case CLI_CHOICE:
        if ((i = choice_index(o->choices, arg)) >= 0) {
            *(int *)f = (int)i;
            return 0;
        }
        list_choices(want, sizeof want, o->choices);
        return cli_usage_error(cmd->name, "unknown --%s '%s' (%s)", o->name, arg, want);
    case CLI_CUSTOM:
        if (o->parse(f, arg, &why) == 0)
            return 0;
        return cli_usage_error(cmd->name, "--%s wants %s, not '%s'", o->name, why ? why : "another value", arg);
    case CLI_ENUM:
        if (o->enumeration->parse(arg, f) == 0)
            return 0;
        return cli_usage_error(cmd->name, "unknown --%s '%s' (%s)", o->name, arg, o->enumeration->values);
    case CLI_STRINGS: return add_string(cmd, o, f, arg);
    }
    return cli_usage_error(cmd->name, "--%s: an option nerve does not know how to read", o->name);
}

/* ---- the common options ------------------------------------------------------ */

enum { MAX_THREADS = 4096 };
static int threads_requested;   /* 0: $OMP_NUM_THREADS, else all cores */

/* Handles a common option, or getopt's '?' and ':'. Returns 1 if it was
 * one and parsing goes on, 0 if opt is the command's own, -1 if the
 * command must stop now with *status (after --help or a usage error). */
static int common_option(const struct cli_command *cmd, int opt, const char *arg, char **argv, int *status)
{
    int64_t n;
    switch (opt) {
    case 'h':
        cmd->help();
        *status = 0;
        return -1;
    case 'q':
        nerve_set_quiet(1);
        return 1;
    case 't':
        if (parse_int(&n, arg) == 0 && n >= 1 && n <= MAX_THREADS) {
            threads_requested = (int)n;
            return 1;
        }
        *status = cli_usage_error(cmd->name, "--threads wants a count from 1 to %d, not '%s'", MAX_THREADS, arg);
        return -1;
    case ':':
        *status = cli_usage_error(cmd->name, "option '%s' needs a value", argv[optind - 1]);
        return -1;
    case '?':
        if (optopt)
            *status = cli_usage_error(cmd->name, "unknown option '-%c'", optopt);
        else
            *status = cli_usage_error(cmd->name, "unknown option '%s'", argv[optind - 1]);
        return -1;
    }
    return 0;
}

/* Applies the common options once parsing is done. */
static int common_finish(void)
{
    int rc = nerve_threads_init(threads_requested);
    return rc < 0 ? cli_fail(rc) : 0;
}

/* ---- parsing --------------------------------------------------------------- */

static int blas_required;

void cli_require_blas(int yes)
{
    blas_required = yes;
}

/* The getopt tables: long options (the command's, then the common ones)
 * and the short option string. Options without a short name get values
 * from FIRST_LONG_ONLY up, so none collides with a character. */
static int build_tables(struct option *longs, char *shorts, size_t shorts_size, const cli_option *table)
{
    static const struct option common[] = {
        { "help", no_argument, 0, 'h' },
        { "quiet", no_argument, 0, 'q' },
        { "threads", required_argument, 0, 't' },
    };
    int n = option_count(table);
    if (n + 4 > MAX_OPTIONS)
        return -1;
    size_t used = (size_t)snprintf(shorts, shorts_size, ":hqt:");
    for (int i = 0; i < n; i++) {
        const cli_option *o = &table[i];
        int has_arg = o->kind == CLI_FLAG ? no_argument : required_argument;
        longs[i] = (struct option){ o->name, has_arg, 0, o->short_name ? o->short_name : FIRST_LONG_ONLY + i };
        if (o->short_name && used + 3 < shorts_size) {
            shorts[used++] = o->short_name;
            if (has_arg == required_argument)
                shorts[used++] = ':';
            shorts[used] = '\0';
        }
    }
    for (size_t c = 0; c < sizeof common / sizeof common[0]; c++)
        longs[n++] = common[c];
    longs[n] = (struct option){ 0, 0, 0, 0 };
    return 0;
}

static const cli_option *find_option(const cli_option *table, int opt)
{
    int n = option_count(table);
    if (opt >= FIRST_LONG_ONLY && opt < FIRST_LONG_ONLY + n)
        return &table[opt - FIRST_LONG_ONLY];
    for (int i = 0; i < n; i++)
        if (table[i].short_name && table[i].short_name == opt)
            return &table[i];
    return NULL;
}

int cli_parse(const struct cli_command *cmd, const cli_option *table, void *settings, int argc, char **argv,
              int *first, int *status)
{
    struct option longs[MAX_OPTIONS + 1];
    char shorts[3 * MAX_OPTIONS + 8];
    if (build_tables(longs, shorts, sizeof shorts, table) < 0) {
        *status = cli_usage_error(cmd->name, "too many options for the parser (a bug in nerve)");
        return -1;
    }
    int opt;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        int common = common_option(cmd, opt, optarg, argv, status);
        if (common < 0)
            return -1;
        if (common)
            continue;
        const cli_option *o = find_option(table, opt);
        *status = o ? set_value(cmd, o, settings, optarg) : cli_usage_error(cmd->name, "unexpected option");
        if (*status != 0)
            return -1;
        if (o->seen)
            *(int *)((char *)settings + o->seen - 1) = 1;
    }
    if ((*status = common_finish()) != 0)
        return -1;
    int rc = blas_required ? nerve_blas_require() : 0;
    if (rc < 0) {
        *status = cli_fail(rc);
        return -1;
    }
    *first = optind;
    return 0;
}

/* ---- help ------------------------------------------------------------------ */

/* The default of an option as --help shows it, or "" for none. */
static void default_value(char *out, size_t size, const cli_option *o, const void *defaults)
{
    out[0] = '\0';
    if (o->default_text) {
        snprintf(out, size, "%s", o->default_text);
        return;
    }
    if (!defaults)
        return;
    const void *f = const_field(defaults, o);
    switch (o->kind) {
    case CLI_STRING:
        if (*(const char *const *)f)
            snprintf(out, size, "%s", *(const char *const *)f);
        break;
    case CLI_INT: snprintf(out, size, "%" PRId64, *(const int64_t *)f); break;
    case CLI_SEED: snprintf(out, size, "%" PRIu64, *(const uint64_t *)f); break;
    case CLI_REAL: snprintf(out, size, "%g", *(const double *)f); break;
    case CLI_CHOICE: snprintf(out, size, "%s", o->choices[*(const int *)f]); break;
    case CLI_ENUM: snprintf(out, size, "%s", o->enumeration->name(f)); break;
    case CLI_FLAG:
    case CLI_CUSTOM:
    case CLI_STRINGS: break;
    }
}

enum { HELP_COLUMN = 26, HELP_WIDTH = 80 };

/* Prints text from column *col, breaking lines at '\n' and, when wrap is
 * set, before a word that would pass HELP_WIDTH; further lines start at
 * the help column. */
static void print_wrapped(const char *text, int *col, int wrap)
{
    for (const char *p = text; *p;) {
        if (*p == '\n') {
            printf("\n%*s", HELP_COLUMN, "");
            *col = HELP_COLUMN;
            p++;
            continue;
        }
        size_t word = strcspn(p + 1, " \n") + 1;   /* a leading space belongs to its word */
        if (wrap && *p == ' ' && *col > HELP_COLUMN && *col + (int)word > HELP_WIDTH) {
            printf("\n%*s", HELP_COLUMN, "");
            *col = HELP_COLUMN;
            p++;
            word--;
        }
        printf("%.*s", (int)word, p);
        *col += (int)word;
        p += word;
    }
}

static void print_option(const cli_option *o, const void *defaults)
{
    char head[128], def[256], tail[512];
    int used = o->short_name ? snprintf(head, sizeof head, "  -%c, --%s", o->short_name, o->name)
                             : snprintf(head, sizeof head, "      --%s", o->name);
    if (o->value_name)
        snprintf(head + used, sizeof head - (size_t)used, " %s", o->value_name);
    printf("%-*s", HELP_COLUMN - 1, head);
    if (strlen(head) >= HELP_COLUMN - 1)
        printf("\n%*s", HELP_COLUMN - 1, "");
    putchar(' ');
    int col = HELP_COLUMN;
    print_wrapped(o->help, &col, 0);   /* the help's own lines are laid out by hand */
    if (o->kind == CLI_INT && o->bounds.lo_set && o->bounds.hi_set) {
        snprintf(tail, sizeof tail, ", %g to %g", o->bounds.lo, o->bounds.hi);
        print_wrapped(tail, &col, 1);
    }
    if (o->kind == CLI_CHOICE) {
        char choices[400];
        list_choices(choices, sizeof choices, o->choices);
        snprintf(tail, sizeof tail, ": %s", choices);
        print_wrapped(tail, &col, 1);
    }
    default_value(def, sizeof def, o, defaults);
    if (def[0]) {
        /* "(default X)" kept on one line where it fits on one */
        snprintf(tail, sizeof tail, " (default %s)", def);
        int len = (int)strlen(tail);
        if (col > HELP_COLUMN && col + len > HELP_WIDTH && HELP_COLUMN + len - 1 <= HELP_WIDTH) {
            printf("\n%*s", HELP_COLUMN, "");
            col = HELP_COLUMN;
            print_wrapped(tail + 1, &col, 1);
        } else {
            print_wrapped(tail, &col, 1);
        }
    }
    putchar('\n');
}

/* The options every command takes, as common_option reads them. */
static const cli_option common_options[] = {
    { CLI_OPT("threads", 't', CLI_FLAG, "N", "threads to use", 0), .default_text = "$OMP_NUM_THREADS, else all cores" },
    { CLI_OPT("quiet", 'q', CLI_FLAG, NULL, "no progress bars", 0) },
    { CLI_OPT("help", 'h', CLI_FLAG, NULL, "this help", 0) },
    { 0 },
};

void cli_print_options(const cli_option *table, const void *defaults)
{
    printf("options:\n");
    for (const cli_option *o = table; o->name; o++) {
        if (o->section)
            printf("%s\n", o->section);
        print_option(o, defaults);
    }
    for (const cli_option *o = common_options; o->name; o++)
        print_option(o, NULL);
}
