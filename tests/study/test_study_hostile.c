/*
 * test_study_hostile.c — a study directory nerve did not write itself, and
 * runs that are stopped at the worst moment (issue 15, point 6 and the
 * manifest checks): layer files that lead outside the study or disagree
 * with the manifest's rows are refused; a stage killed as it starts leaves
 * no "done" record behind; two runs cannot share a study; temporary files
 * go on every exit, and a second Ctrl-C ends the process at once.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nerve/study.h"
#include "../../src/study/study_internal.h"
#include "../support/support.h"

/* A fresh study folder (its own buffer: temp_path's are reused). */
static void make_dir(char *dir, size_t cap, const char *name)
{
    snprintf(dir, cap, "%s", temp_path(name));
    cr_assert_eq(mkdir(dir, 0777), 0);
}

static void write_matrix(const char *path, int64_t rows, int64_t cols)
{
    nerve_mat m;
    cr_assert_eq(nerve_mat_alloc(&m, rows, cols), 0);
    memset(m.data, 0, (size_t)(rows * cols) * sizeof *m.data);
    cr_assert_eq(nerve_mat_write_npy(path, &m), 0);
    nerve_mat_free(&m);
}

/* DIR/manifest.json with 10 inputs and one layer (file, rows). */
static void write_manifest(const char *dir, const char *file, int64_t rows)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *m = json_pack("{s:{s:i, s:s}, s:[{s:s, s:s, s:I}]}", "inputs", "count", 10, "spec", "x.npy", "layers",
                          "name", "a", "file", file, "rows", (json_int_t)rows);
    cr_assert_eq(json_dump_file(m, path, 0), 0);
    json_decref(m);
}

/* A study whose one layer, acts/a.npy, has 10 rows. */
static void make_study(char *dir, size_t cap, const char *name)
{
    make_dir(dir, cap, name);
    char path[4400];
    snprintf(path, sizeof path, "%s/acts", dir);
    cr_assert_eq(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/acts/a.npy", dir);
    write_matrix(path, 10, 3);
}

static void assert_layers_refused(const char *dir, const char *says)
{
    nerve_study_layer_list l;
    int rc = nerve_study_layers(&l, dir);
    if (rc == 0)
        nerve_study_layer_list_free(&l);
    cr_assert_eq(rc, NERVE_EINPUT, "accepted (%s)", says);
    cr_assert(strstr(nerve_error(), "manifest.json") && strstr(nerve_error(), says), "%s", nerve_error());
}

Test(study_hostile, manifest_rows_must_be_the_npy_rows)
{
    char dir[4200];
    make_study(dir, sizeof dir, "rows");
    write_manifest(dir, "acts/a.npy", 12);
    assert_layers_refused(dir, "12 rows");
    write_manifest(dir, "acts/a.npy", 10);
    nerve_study_layer_list l;
    cr_assert_eq(nerve_study_layers(&l, dir), 0, "%s", nerve_error());
    cr_assert_eq(l.rows[0], 10);
    nerve_study_layer_list_free(&l);
}

Test(study_hostile, layer_files_stay_inside_the_study)
{
    char dir[4200], outside[4400], link[4400];
    make_study(dir, sizeof dir, "confined");
    snprintf(outside, sizeof outside, "%s/../outside.npy", dir);
    write_matrix(outside, 10, 3);
    write_manifest(dir, "../outside.npy", 10);
    assert_layers_refused(dir, "not a path inside the study");
    write_manifest(dir, "acts/../../outside.npy", 10);
    assert_layers_refused(dir, "not a path inside the study");
    write_manifest(dir, outside, 10);
    assert_layers_refused(dir, "not a path inside the study");
    snprintf(link, sizeof link, "%s/acts/link.npy", dir);
    cr_assert_eq(symlink(outside, link), 0);
    write_manifest(dir, "acts/link.npy", 10);
    assert_layers_refused(dir, "leads outside the study");
    write_manifest(dir, "acts/missing.npy", 10);
    assert_layers_refused(dir, "cannot be read");
    /* A name that merely starts with two dots is a name. */
    snprintf(link, sizeof link, "%s/acts/..a.npy", dir);
    write_matrix(link, 10, 3);
    write_manifest(dir, "acts/..a.npy", 10);
    nerve_study_layer_list l;
    cr_assert_eq(nerve_study_layers(&l, dir), 0, "%s", nerve_error());
    nerve_study_layer_list_free(&l);
}

/* `nerve run` on dir with the fixture model, extra args appended. */
static int run_on(const char *dir, const char *extra, const char **err)
{
    char model[4096];
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    const char *out;
    return run_nerve((const char *[]){ "run", "-q", "-m", model, "-n", "200", "-o", dir, extra, NULL }, &out, err);
}

/* `nerve run --force` on dir with NERVE_TEST_KILL_STAGE=stage; its wait
 * status (run_nerve refuses a death by signal, which is the point here). */
static int run_killed_at(const char *dir, const char *stage)
{
    const char *bin = getenv("NERVE_BIN") ? getenv("NERVE_BIN") : "build/nerve";
    char model[4096], env[128];
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    snprintf(env, sizeof env, "NERVE_TEST_KILL_STAGE=%s", stage);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        putenv(env);
        execl(bin, bin, "run", "-q", "-m", model, "-n", "200", "-o", dir, "--force", (char *)NULL);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

Test(study_hostile, a_stage_killed_as_it_starts_is_not_recorded_done)
{
    /* A study whose manifest records extract as done; --force reruns it,
     * and the run is killed the moment the stage begins. */
    char dir[4200], path[4400];
    make_study(dir, sizeof dir, "killed");
    write_manifest(dir, "acts/a.npy", 10);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *m = json_load_file(path, 0, NULL);
    json_object_set_new(m, "run", json_pack("{s:{s:{s:s, s:s}}}", "stages", "extract", "key", "old", "output",
                                            "manifest.json"));
    cr_assert_eq(json_dump_file(m, path, 0), 0);
    json_decref(m);
    int status = run_killed_at(dir, "extract");
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %x: the hook did not kill", status);
    m = json_load_file(path, 0, NULL);
    cr_assert(m, "the manifest did not survive");
    cr_assert_null(json_object_get(json_object_get(json_object_get(m, "run"), "stages"), "extract"),
                   "a stage that never finished is still recorded done");
    json_decref(m);
}

Test(study_hostile, a_second_run_on_a_study_is_refused_naming_the_holder)
{
    char dir[4200], path[4400];
    make_dir(dir, sizeof dir, "locked");
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    cr_assert(fd >= 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    cr_assert_eq(write(fd, "4242\n", 5), 5);
    const char *err;
    int status = run_on(dir, NULL, &err);
    cr_assert_eq(status, 2, "status %d: %s", status, err);
    cr_assert(strstr(err, dir) && strstr(err, "pid 4242"), "%s", err);
    close(fd);
}

/* ---- temporary files on every exit path ------------------------------------- */

static int temporaries_in(const char *dir)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "ls -a %s | grep -q '\\.tmp\\.'", dir);
    return system(cmd) == 0;
}

/* A child that opens an output in dir, writes to it, then ends by `how`;
 * its wait status. */
static int child_with_open_output(const char *dir, int how)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        nerve_signals_install();
        if (how == 2)
            nerve_catch_interrupts();
        char path[4400];
        snprintf(path, sizeof path, "%s/out.json", dir);
        nerve_outfile o;
        if (nerve_outfile_open(&o, path) < 0)
            _exit(99);
        fputs("{\"half\": ", o.f);
        fflush(o.f);
        if (how == 0) {
            /* An error path that forgot to abort, then exit(): exit runs
             * this through atexit. (Not exit() itself here: the test
             * runner's own atexit handlers would run in the child.) */
            nerve_temporaries_remove();
            _exit(3);
        }
        if (how == 1)
            raise(SIGTERM);
        if (how == 2) {
            raise(SIGINT);   /* the first stops cleanly: still here */
            if (!nerve_interrupted() || !temporaries_in(dir))
                _exit(98);
            raise(SIGINT);   /* the second ends it */
        }
        _exit(97);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

Test(study_hostile, temporary_files_go_on_exit_on_a_signal_and_on_a_second_ctrl_c)
{
    char dir[4200];
    make_dir(dir, sizeof dir, "temps");
    int status = child_with_open_output(dir, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %x", status);
    cr_assert(!temporaries_in(dir), "the exit path left a temporary file");
    status = child_with_open_output(dir, 1);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %x", status);
    cr_assert(!temporaries_in(dir), "SIGTERM left a temporary file");
    status = child_with_open_output(dir, 2);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "status %x: the second Ctrl-C was ignored", status);
    cr_assert(!temporaries_in(dir), "the second Ctrl-C left a temporary file");
    char path[4400];
    snprintf(path, sizeof path, "%s/out.json", dir);
    cr_assert_neq(access(path, F_OK), 0, "a half-written output was committed");
}

/* ---- JSON writes are checked -------------------------------------------------- */

Test(study_hostile, a_json_write_that_fails_commits_nothing)
{
    /* jansson refuses to dump a bare string without JSON_ENCODE_ANY, and
     * writes nothing: an unchecked dump committed an empty file. */
    char dir[4200], path[4400];
    make_dir(dir, sizeof dir, "dump");
    snprintf(path, sizeof path, "%s/index.json", dir);
    cr_assert_lt(study_write_json(path, json_string("not an object")), 0);
    cr_assert_neq(access(path, F_OK), 0, "a failed dump was committed");
    cr_assert(!temporaries_in(dir));
}
