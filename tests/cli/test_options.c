/*
 * test_options.c — the option tables (cli/options.c) as the commands use
 * them: bounds, a room's enum names, repeatable options, options that only
 * go with another, and --help lines that fit 80 columns with each default
 * read from the settings the command starts from.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../support/support.h"

/* Runs nerve with args; asserts the status and that stderr holds want. */
static void expect_refusal(const char **args, const char *want)
{
    const char *out, *err;
    int status = run_nerve(args, &out, &err);
    cr_expect_eq(status, 2, "nerve %s %s: status %d (%s)", args[0], args[1], status, err);
    cr_expect(strstr(err, want), "nerve %s %s: wanted '%s' in: %s", args[0], args[1], want, err);
}

Test(cli_options, values_outside_an_option_s_bounds_are_refused)
{
    const char *dim[] = { "ph", "--dim", "4", "x.npy", NULL };
    expect_refusal(dim, "--dim wants a whole number from 0 to 3, not '4'");
    const char *overlap[] = { "mapper", "-p", "1", "x.npy", NULL };
    expect_refusal(overlap, "--overlap wants a number in [0, 1), not '1'");
    const char *lr[] = { "train", "--lr", "0", NULL };
    expect_refusal(lr, "--lr wants a number in (0, 10], not '0'");
    const char *keep[] = { "compare", "--keep", "nan", "a.npy", "b.npy", NULL };
    expect_refusal(keep, "--keep wants a number in (0, 1], not 'nan'");
    const char *port[] = { "run", "--serve", "--port", "65536", NULL };
    expect_refusal(port, "--port wants a whole number from 0 to 65535");
}

Test(cli_options, enum_names_come_from_their_room)
{
    const char *cover[] = { "mapper", "--cover", "cubes", "x.npy", NULL };
    expect_refusal(cover, "unknown --cover 'cubes' (kmapper, giotto, balanced)");
    const char *format[] = { "ph", "--format", "csv", "x.npy", NULL };
    expect_refusal(format, "unknown --format 'csv' (auto, npy-points, npy-distance, point-cloud, lower-distance)");
    const char *arch[] = { "train", "--arch", "vgg", NULL };
    expect_refusal(arch, "unknown --arch 'vgg'");
    const char *metric[] = { "ph-distance", "-m", "hausdorff", "a.json", "b.json", NULL };
    expect_refusal(metric, "unknown --metric 'hausdorff' (bottleneck, wasserstein, sliced, all)");
}

Test(cli_options, repeatable_options_have_a_limit)
{
    const char *studies[] = { "compare", "-s", "a", "-s", "b", "-s", "c", NULL };
    expect_refusal(studies, "--study at most 2 times");
    const char *checkpoints[] = { "run", "--checkpoint", "a.onnx", NULL };
    expect_refusal(checkpoints, "--checkpoint goes with --model");
    const char *host[] = { "run", "--host", "127.0.0.1", NULL };
    expect_refusal(host, "--host and --port go with --serve");
}

Test(cli_options, ops_lists_the_operators_without_a_model)
{
    const char *args[] = { "layers", "--ops", NULL }, *out, *err;
    cr_assert_eq(run_nerve(args, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "Conv"), "%s", out);
}

/* Every line a table prints fits 80 columns, and the defaults are the
 * ones the commands start from. */
Test(cli_options, help_shows_the_defaults_in_80_columns)
{
    const char *commands[] = { "info", "layers", "compare", "embed", "mapper", "train", "ph", "ph-distance", "run",
                               "extract", "serve", "report", "findings", "featvis" };
    for (size_t c = 0; c < sizeof commands / sizeof *commands; c++) {
        const char *args[] = { commands[c], "--help", NULL }, *out, *err;
        cr_assert_eq(run_nerve(args, &out, &err), 0, "%s", err);
        const char *options = strstr(out, "options:\n");
        cr_assert(options, "nerve %s --help has no options", commands[c]);
        const char *end = strstr(options, "\n\n");
        for (const char *line = options; line && (!end || line < end); line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
            int len = (int)strcspn(line, "\n");
            cr_expect(len <= 80, "nerve %s --help: a line of %d columns: %.*s", commands[c], len, len, line);
        }
    }
    const char *ph[] = { "ph", "--help", NULL }, *out, *err;
    cr_assert_eq(run_nerve(ph, &out, &err), 0);
    cr_expect(strstr(out, "homology up to dimension K, 0 to 3 (default 1)"), "%s", out);
    cr_expect(strstr(out, "(default 1000)"), "%s", out);
    cr_expect(strstr(out, "(default diameter)"), "%s", out);
    const char *mapper[] = { "mapper", "--help", NULL };
    cr_assert_eq(run_nerve(mapper, &out, &err), 0);
    cr_expect(strstr(out, "intervals per lens dimension (default 15)"), "%s", out);
    cr_expect(strstr(out, "(default kmapper)"), "%s", out);
    const char *extract[] = { "extract", "--help", NULL };
    cr_assert_eq(run_nerve(extract, &out, &err), 0);
    cr_expect(strstr(out, "inputs per forward pass (default 64)"), "%s", out);
    cr_expect(strstr(out, "(default random-position)"), "%s", out);
    const char *serve[] = { "serve", "--help", NULL };
    cr_assert_eq(run_nerve(serve, &out, &err), 0);
    cr_expect(strstr(out, "(default 8800)"), "%s", out);
    const char *report[] = { "report", "--help", NULL };
    cr_assert_eq(run_nerve(report, &out, &err), 0);
    cr_expect(strstr(out, "(default 16)"), "%s", out);
}

/* extract, serve and report read their options from tables too: a refused
 * value names its option (extract once named the value instead: "option
 * '0' wants a positive count"). */
Test(cli_options, extract_serve_report_values_are_checked_by_their_tables)
{
    const char *batch[] = { "extract", "-b", "0", "-m", "m.onnx", "-d", "x.npy", NULL };
    expect_refusal(batch, "--batch wants a whole number >= 1, not '0'");
    const char *limit[] = { "extract", "--limit", "-1", "-m", "m.onnx", "-d", "x.npy", NULL };
    expect_refusal(limit, "--limit wants a whole number >= 0, not '-1'");
    const char *mode[] = { "extract", "--mode", "median", "-m", "m.onnx", "-d", "x.npy", NULL };
    /* (the message wraps at 80 columns after "cls,") */
    expect_refusal(mode, "unknown --mode 'median' (random-position, foreground-position, max-norm, mean, max, flatten, "
                         "center, all, tokens, cls,");
    const char *mean[] = { "extract", "--mean", "1,2,3,4,5", "-m", "m.onnx", "-d", "x.npy", NULL };
    expect_refusal(mean, "--mean wants 1 to 4 numbers like 0.5,0.5,0.5, not '1,2,3,4,5'");
    const char *std[] = { "extract", "--std", "0.5,0", "-m", "m.onnx", "-d", "x.npy", NULL };
    expect_refusal(std, "--std wants 1 to 4 positive numbers");
    const char *port[] = { "serve", "--port", "70000", NULL };
    expect_refusal(port, "--port wants a whole number from 0 to 65535, not '70000'");
    const char *empty_host[] = { "serve", "--allow-host", "", NULL };
    expect_refusal(empty_host, "--allow-host wants a host name");
    const char *activations[] = { "report", "--activations", "-1", NULL };
    expect_refusal(activations, "--activations wants a whole number >= 0, not '-1'");
}

/* ph's --threshold takes inf (no threshold, the default) as it always did. */
Test(cli_options, ph_threshold_inf_is_no_threshold)
{
    const char *inf[] = { "ph", "--threshold", "inf", fixture("ph/circle.npy"), NULL }, *out, *err;
    cr_assert_eq(run_nerve(inf, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "\"threshold\":null"), "%s", out);
    const char *zero[] = { "ph", "--threshold", "0", "x.npy", NULL };
    expect_refusal(zero, "--threshold wants a number > 0");
}
