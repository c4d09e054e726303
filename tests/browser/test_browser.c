/*
 * test_browser.c — the viewer in a real browser: a reduced study made by
 * `nerve run`, served by `nerve serve` or written by `nerve report` and
 * opened from disk, driven by viewer.mjs (Debian's chromium through
 * playwright-core, installed by scripts/run-tests.sh). Screenshots of every
 * view go to build/test-artifacts/browser/ and .../report/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "../support/support.h"

/* A reduced study of the fixture model (600 inputs, one checkpoint). */
static void make_study(char *study, size_t cap, const char *name)
{
    char model[4096];
    snprintf(study, cap, "%s", temp_path(name));
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "run", "-q", "-m", model, "--checkpoint", model, "-n", "600", "-o",
                                             study, NULL },
                           &out, &err),
                 0, "%s", err);
}

/* Runs viewer.mjs on url; its exit status, with what it printed in report. */
static int browse(const char *url, const char *artifacts, char *report, size_t cap)
{
    const char *modules = getenv("NERVE_NODE_MODULES") ? getenv("NERVE_NODE_MODULES") : "build/browser/node_modules";
    char command[8192];
    nerve_dir_create("build/test-artifacts");
    nerve_dir_create(artifacts);
    snprintf(command, sizeof command, "NERVE_NODE_MODULES=%s node tests/browser/viewer.mjs '%s' %s 2>&1", modules,
             url, artifacts);
    FILE *p = popen(command, "r");
    cr_assert(p, "cannot run node");
    size_t n = fread(report, 1, cap - 1, p);
    report[n] = 0;
    int status = pclose(p);
    cr_log_info("%s", report);
    return status;
}

Test(browser, every_view_renders_and_views_are_linked, .timeout = 600)
{
    char study[4096], url[256], report[16384];
    make_study(study, sizeof study, "browsed");
    int port;
    pid_t server = serve_study(study, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    int status = browse(url, "build/test-artifacts/browser", report, sizeof report);
    int stopped = stop_serving(server);
    cr_assert_eq(status, 0, "the browser checks failed:\n%s", report);
    cr_assert(strstr(report, "ok no console errors"), "%s", report);
    cr_assert_eq(stopped, 0);
}

Test(browser, the_report_opens_from_disk_with_every_view, .timeout = 600)
{
    char study[4096], html[4096], url[4200], report[16384];
    make_study(study, sizeof study, "reported");
    snprintf(html, sizeof html, "%s", temp_path("report.html"));
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "report", "-q", "-o", html, study, NULL }, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "wrote"), "%s", out);
    snprintf(url, sizeof url, "file://%s", html);
    int status = browse(url, "build/test-artifacts/report", report, sizeof report);
    cr_assert_eq(status, 0, "the report's checks failed:\n%s", report);
    cr_assert(strstr(report, "ok no console errors"), "%s", report);
}
