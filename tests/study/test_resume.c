/*
 * test_resume.c — an extraction stopped by SIGINT or killed outright is
 * resumed by running the same command again, and the files it ends with
 * are byte for byte those of a run that was never stopped.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nerve/core.h"
#include "../support/support.h"

extern char **environ;

static pid_t start_extract(const char *out)
{
    const char *bin = getenv("NERVE_BIN") ? getenv("NERVE_BIN") : "build/nerve";
    char model[4096];
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    char *argv[] = { (char *)bin, "extract", "-q", "-m", model, "-d", "fashion-mnist:test", "-b", "4",
                     "--mode", "max-norm", "-n", "2000", "-o", (char *)out, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static int wait_status(pid_t pid)
{
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits until the run has saved progress at least once, then signals it. */
static void interrupt_midway(pid_t pid, const char *out, int sig)
{
    char state[4096];
    snprintf(state, sizeof state, "%s/.extract-state", out);
    for (int i = 0; i < 2000 && access(state, F_OK) != 0; i++)
        nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
    cr_assert_eq(access(state, F_OK), 0, "the run never saved progress");
    kill(pid, sig);
}

static void assert_same_outputs(const char *a, const char *b)
{
    const char *files[] = { "acts/relu1_Relu_output_0.npy", "acts/relu1_Relu_output_0.positions.npy",
                            "acts/fc2_Gemm_output_0.npy", "inputs/predictions.npy", "inputs/confidence.npy",
                            "inputs/labels.npy" };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "cmp -s %s/%s %s/%s", a, files[i], b, files[i]);
        cr_assert_eq(system(cmd), 0, "%s differs from the uninterrupted run", files[i]);
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "ls %s/acts | grep -q partial", b);
    cr_assert_neq(system(cmd), 0, "partial files left behind");
}

static void check_resume(int sig, const char *name)
{
    char whole[4096], cut[4096];
    snprintf(whole, sizeof whole, "%s", temp_path("whole"));
    snprintf(cut, sizeof cut, "%s", temp_path(name));
    cr_assert_eq(wait_status(start_extract(whole)), 0);

    pid_t pid = start_extract(cut);
    interrupt_midway(pid, cut, sig);
    int status = wait_status(pid);
    cr_assert(status == (sig == SIGINT ? 130 : 128 + SIGKILL), "status %d after signal %d", status, sig);
    char manifest[4096];
    snprintf(manifest, sizeof manifest, "%s/manifest.json", cut);
    cr_assert_neq(access(manifest, F_OK), 0, "an interrupted run must not look finished");

    cr_assert_eq(wait_status(start_extract(cut)), 0);
    assert_same_outputs(whole, cut);
}

Test(resume, after_sigint_files_equal_an_uninterrupted_run, .timeout = 120)
{
    check_resume(SIGINT, "sigint");
}

Test(resume, after_sigkill_files_equal_an_uninterrupted_run, .timeout = 120)
{
    check_resume(SIGKILL, "sigkill");
}
