/*
 * options.h — one table of options per command. From the table come the
 * getopt_long tables, the parsing and checking of every value, and the
 * options part of `--help` with each default read from the same settings
 * struct the command starts from, so help and behaviour cannot drift.
 *
 *     typedef struct embed_settings { int64_t dims; double perplexity; ... } embed_settings;
 *     static const cli_option options[] = {
 *         { CLI_OPT("dims", 'k', CLI_INT, "K", "PCA dimensions", CLI_AT(embed_settings, dims)), CLI_MIN(1) },
 *         { CLI_OPT("perplexity", 0, CLI_REAL, "P", "t-SNE's perplexity", CLI_AT(embed_settings, perplexity)),
 *           CLI_ABOVE(0) },
 *         { 0 },
 *     };
 *     embed_settings s = defaults;
 *     int first, status;
 *     if (cli_parse(&cli_embed, options, &s, argc, argv, &first, &status) < 0)
 *         return status;      // --help printed (0), or a usage error (2)
 *
 * Every command also takes the common options (-h, -q, -t), which
 * cli_parse handles itself.
 */
#ifndef NERVE_CLI_OPTIONS_H
#define NERVE_CLI_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

struct cli_command;

typedef enum cli_kind {
    CLI_FLAG,     /* no value; int field set to 1 */
    CLI_STRING,   /* const char * field (points into argv) */
    CLI_INT,      /* int64_t field, a whole number within [lo, hi] */
    CLI_SEED,     /* uint64_t field, any whole number >= 0 */
    CLI_REAL,     /* double field, a finite number within [lo, hi] */
    CLI_CHOICE,   /* int field: the index of the value in `choices` */
    CLI_CUSTOM,   /* parse() stores the value; it returns 0, or -1 with *why saying
                     what the option wants ("auto, exact, barnes-hut or fft") */
    CLI_ENUM,     /* a room's enum, read and shown by its own parse and name
                     functions (see CLI_ENUM_TYPE) */
    CLI_STRINGS,  /* cli_strings field: the option may be repeated, up to
                     CLI_STRINGS_MAX times or the bound set with CLI_RANGE */
} cli_kind;

/* The values of a repeatable string option, in the order given. */
enum { CLI_STRINGS_MAX = 16 };
typedef struct cli_strings {
    const char *item[CLI_STRINGS_MAX];
    int         n;
} cli_strings;

/* How a room's enum is read and named: the room keeps the names, the
 * command only points at them. Made by CLI_ENUM_TYPE. */
typedef struct cli_enum {
    int         (*parse)(const char *arg, void *field);   /* 0, or -1 if unknown */
    const char *(*name)(const void *field);
    const char  *values;                                /* "diameter, median-nn, none" */
} cli_enum;

/* Defines `storage const cli_enum id` for an enum type from the room's
 * nerve_X_parse(const char *, type *) and nerve_X_name(type):
 *     CLI_ENUM_TYPE(static, scale_enum, nerve_scale, nerve_scale_parse, nerve_scale_name, "diameter, median-nn, none");
 *     { CLI_OPT("scale", 0, CLI_ENUM, "S", "...", AT(scale)), .enumeration = &scale_enum }
 * (storage empty: one every command may use, declared below). */
#define CLI_ENUM_TYPE(storage, id, type, parse_fn, name_fn, value_list)                         \
    static int id##_parse(const char *arg, void *field) { return parse_fn(arg, (type *)field) < 0 ? -1 : 0; } \
    static const char *id##_name(const void *field) { return name_fn(*(const type *)field); } \
    storage const cli_enum id = { id##_parse, id##_name, value_list }

/* The enums more than one command reads (common.c). */
extern const cli_enum cli_metric;   /* nerve_metric: euclidean, cosine */
extern const cli_enum cli_vector_mode, cli_cover, cli_cluster, cli_scale;

/* --mean and --std (CLI_CUSTOM with cli_parse_mean, cli_parse_std): up to
 * four per-channel values, copied into the preprocessing after parsing by
 * cli_copy_channels when given (its values and their count lie apart). */
typedef struct cli_channels {
    float v[4];
    int   n;
} cli_channels;
int  cli_parse_mean(void *field, const char *arg, const char **why);
int  cli_parse_std(void *field, const char *arg, const char **why);
void cli_copy_channels(float *values, int *n, const cli_channels *c);

/* The value of --NAME VALUE or --NAME=VALUE in argv, before parsing (for
 * an option that decides the defaults the others apply to); NULL if absent. */
const char *cli_peek_option(int argc, char **argv, const char *name);

/* The values a number may take: unbounded where not set. */
typedef struct cli_bounds {
    double        lo, hi;
    unsigned char lo_set, hi_set, lo_open, hi_open;
} cli_bounds;

#define CLI_MIN(x)         .bounds = { .lo = (x), .lo_set = 1 }                  /* >= x */
#define CLI_ABOVE(x)       .bounds = { .lo = (x), .lo_set = 1, .lo_open = 1 }    /* > x */
#define CLI_RANGE(a, b)    .bounds = { .lo = (a), .hi = (b), .lo_set = 1, .hi_set = 1 }   /* [a, b] */
#define CLI_RANGE_ABOVE(a, b) .bounds = { .lo = (a), .hi = (b), .lo_set = 1, .hi_set = 1, .lo_open = 1 } /* (a, b] */
#define CLI_RANGE_OPEN(a, b) .bounds = { .lo = (a), .hi = (b), .lo_set = 1, .hi_set = 1, .hi_open = 1 } /* [a, b) */

typedef struct cli_option {
    const char *name;          /* the long name, without "--"; NULL ends a table */
    char        short_name;    /* 0: none */
    cli_kind    kind;
    const char *value_name;    /* "N", "FILE" (NULL for a flag) */
    const char *help;          /* one line; more lines start with '\n' */
    size_t      offset;        /* of the field in the settings struct (CLI_AT) */
    cli_bounds  bounds;        /* CLI_INT and CLI_REAL: CLI_MIN, CLI_ABOVE, CLI_RANGE;
                                  CLI_STRINGS: CLI_RANGE(0, most times) */
    const char *const *choices;            /* CLI_CHOICE, NULL-terminated */
    int (*parse)(void *field, const char *arg, const char **why);   /* CLI_CUSTOM */
    const cli_enum *enumeration;           /* CLI_ENUM */
    size_t      seen;          /* CLI_SEEN: an int field set to 1 when the option is given */
    const char *default_text;  /* shown as the default instead of the field's value;
                                  "" shows none */
    const char *section;       /* a heading printed before this option in --help */
} cli_option;

#define CLI_AT(type, field) offsetof(type, field)

/* For options whose mere presence matters (`--host goes with --serve`):
 *     { CLI_OPT("host", 0, CLI_STRING, ...), CLI_SEEN(run_settings, host_given) }
 * Stored as offset + 1 so that 0 means none. */
#define CLI_SEEN(type, field) .seen = offsetof(type, field) + 1

/* The fields every option has, by name; the rest follow designated:
 *     { CLI_OPT("dims", 'k', CLI_INT, "K", "PCA dimensions", CLI_AT(s, dims)), CLI_MIN(1) } */
#define CLI_OPT(long_name, short_letter, kind_, value, help_text, at) \
    .name = (long_name), .short_name = (short_letter), .kind = (kind_), .value_name = (value), .help = (help_text), \
    .offset = (at)

/* Parses argv against the command's table (plus the common options) into
 * settings. Returns 0 with *first the index of the first positional
 * argument, or -1 with *status the exit status: 0 after --help, 2 after a
 * usage error (already printed), or the status of a missing OpenBLAS
 * (see cli_require_blas). Thread settings are applied. */
int cli_parse(const struct cli_command *cmd, const cli_option *table, void *settings, int argc, char **argv,
              int *first, int *status);

/* For a command that computes with OpenBLAS/LAPACKE (main knows which):
 * cli_parse then opens them once the options are read, so a missing
 * library is an error before any work starts, since their functions
 * return nothing to report it later. Commands that never compute with
 * them (ph, ph-distance, info) do not load them at all, which keeps
 * their start-up small. */
void cli_require_blas(int yes);

/* Prints the options part of --help: one line per option with its value
 * name, its help, its choices or bounds and its default (read from
 * defaults, the settings struct a command starts from), then the common
 * options. */
void cli_print_options(const cli_option *table, const void *defaults);

#endif
