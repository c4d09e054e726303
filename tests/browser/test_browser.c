/*
 * test_browser.c — the viewer in a real browser: a reduced study made by
 * `nerve run`, served by `nerve serve`, driven by viewer.mjs (Debian's
 * chromium through playwright-core, installed by scripts/run-tests.sh).
 * Screenshots of every view go to build/test-artifacts/browser/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "../support/support.h"

Test(browser, every_view_renders_and_views_are_linked, .timeout = 600)
{
    char study[4096], model[4096];
    snprintf(study, sizeof study, "%s", temp_path("browsed"));
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "run", "-q", "-m", model, "--checkpoint", model, "-n", "600", "-o",
                                             study, NULL },
                           &out, &err),
                 0, "%s", err);
    int port;
    pid_t server = serve_study(study, &port);
    const char *modules = getenv("NERVE_NODE_MODULES") ? getenv("NERVE_NODE_MODULES") : "build/browser/node_modules";
    char artifacts[] = "build/test-artifacts/browser", command[8192];
    nerve_dir_create("build/test-artifacts");
    nerve_dir_create(artifacts);
    snprintf(command, sizeof command,
             "NERVE_NODE_MODULES=%s node tests/browser/viewer.mjs http://127.0.0.1:%d/ %s 2>&1", modules, port,
             artifacts);
    FILE *p = popen(command, "r");
    cr_assert(p, "cannot run node");
    char report[16384] = { 0 };
    size_t n = fread(report, 1, sizeof report - 1, p);
    report[n] = 0;
    int status = pclose(p);
    int stopped = stop_serving(server);
    cr_log_info("%s", report);
    cr_assert_eq(status, 0, "the browser checks failed:\n%s", report);
    cr_assert(strstr(report, "ok no console errors"), "%s", report);
    cr_assert_eq(stopped, 0);
}
