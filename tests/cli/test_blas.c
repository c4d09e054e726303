/*
 * test_blas.c — OpenBLAS and LAPACKE are opened on first use and their
 * functions return nothing, so the nerve command opens them before a
 * command that computes with them starts (cli_require_blas): a missing
 * library is `nerve: error: ...` and status 2, not an abort halfway.
 * Commands that never compute with them (ph, ph-distance, info) must not
 * load them at all, which keeps their start-up small.
 *
 * A file named libopenblas.so.0 that is no library, found first through
 * LD_LIBRARY_PATH, stands for a missing one.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/support.h"

static void hide_openblas(void)
{
    const char *fake = temp_path("libopenblas.so.0");   /* alone with the test's other files */
    write_literal(fake, "not a library\n");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", fake);
    *strrchr(dir, '/') = '\0';
    cr_assert_eq(setenv("LD_LIBRARY_PATH", dir, 1), 0);
}

enum { PATH_MAX_ = 4096 };

/* temp_path's answer kept (it reuses four buffers, run_nerve among its users). */
static const char *keep(char out[PATH_MAX_], const char *name)
{
    snprintf(out, PATH_MAX_, "%s", temp_path(name));
    return out;
}

/* A 20 x 3 float32 point cloud of zeros. */
static const char *points(char out[PATH_MAX_])
{
    keep(out, "points.npy");
    write_npy_raw(out, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (20, 3), }", 20 * 3 * 4);
    return out;
}

static void expect_missing_blas(const char **args)
{
    const char *out, *err;
    int status = run_nerve(args, &out, &err);
    cr_expect_eq(status, 2, "nerve %s with OpenBLAS missing: status %d (%s)", args[0], status, err);
    cr_expect(strstr(err, "nerve: error: cannot load libopenblas.so.0"), "nerve %s: %s", args[0], err);
}

Test(cli_blas, a_missing_openblas_is_an_error_before_the_work)
{
    char paths[5][PATH_MAX_];
    const char *acts = points(paths[0]);
    hide_openblas();
    const char *out_npy = keep(paths[1], "out.npy"), *study = keep(paths[2], "study"),
               *model = keep(paths[3], "model.onnx"), *html = keep(paths[4], "r.html");
    const char *embed[] = { "embed", acts, "-o", out_npy, NULL };
    expect_missing_blas(embed);   /* aborted (status 134) before */
    const char *mapper[] = { "mapper", acts, "-o", out_npy, NULL };
    expect_missing_blas(mapper);
    const char *compare[] = { "compare", acts, acts, NULL };
    expect_missing_blas(compare);
    /* Each of these would fail on its missing file without the check. */
    const char *layers[] = { "layers", "/nonexistent/model.onnx", NULL };
    expect_missing_blas(layers);
    const char *extract[] = { "extract", "-m", "/nonexistent/model.onnx", "-d", acts, "-o", study, NULL };
    expect_missing_blas(extract);
    const char *run[] = { "run", "-m", "/nonexistent/model.onnx", "-d", acts, "-o", study, NULL };
    expect_missing_blas(run);
    const char *train[] = { "train", "--epochs", "1", "--limit", "1", "-o", model, NULL };
    expect_missing_blas(train);
    const char *serve[] = { "serve", "--port", "0", "/nonexistent/study", NULL };
    expect_missing_blas(serve);
    const char *report[] = { "report", "-o", html, "/nonexistent/study", NULL };
    expect_missing_blas(report);
}

Test(cli_blas, help_and_usage_errors_need_no_openblas)
{
    hide_openblas();
    const char *help[] = { "embed", "--help", NULL }, *out, *err;
    cr_expect_eq(run_nerve(help, &out, &err), 0, "%s", err);
    const char *usage[] = { "embed", "--dims", "0", "x.npy", NULL };
    cr_expect_eq(run_nerve(usage, &out, &err), 2);
    cr_expect(strstr(err, "--dims wants"), "%s", err);
}

Test(cli_blas, ph_and_info_never_load_openblas)
{
    char paths[2][PATH_MAX_];
    const char *acts = points(paths[0]);
    hide_openblas();
    const char *ph[] = { "ph", acts, NULL }, *out, *err;
    cr_expect_eq(run_nerve(ph, &out, &err), 0, "nerve ph loaded OpenBLAS: %s", err);
    const char *info[] = { "info", acts, NULL };
    cr_expect_eq(run_nerve(info, &out, &err), 0, "nerve info loaded OpenBLAS: %s", err);
    const char *diagram = keep(paths[1], "d.json");
    write_literal(diagram, "{\"diagrams\":[{\"dim\":0,\"pairs\":[[0,1],[0,2]]}]}");
    const char *distance[] = { "ph-distance", diagram, diagram, NULL };
    cr_expect_eq(run_nerve(distance, &out, &err), 0, "nerve ph-distance loaded OpenBLAS: %s", err);
}
