/*
 * support.c — see support.h.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

extern char **environ;

const char *fixture(const char *rel)
{
    static char paths[4][4096];
    static int slot;
    const char *root = getenv("NERVE_TESTDATA");
    char *p = paths[slot++ % 4];
    snprintf(p, 4096, "%s/%s", root && *root ? root : "tests/fixtures", rel);
    return p;
}

static char temp_root[64];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static void remove_temp_root(void)
{
    if (temp_root[0])
        nftw(temp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

nerve_extract_options fixture_study_options(const char *out, int64_t limit)
{
    static char model[4096];
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    nerve_extract_options o;
    nerve_extract_defaults(&o);
    o.model = model;
    o.data = "fashion-mnist:test";
    o.out = out;
    o.limit = limit;
    return o;
}

const char *temp_path(const char *name)
{
    static char paths[4][4096];
    static int slot;
    if (!temp_root[0]) {
        strcpy(temp_root, "/tmp/nerve-test-XXXXXX");
        cr_assert(mkdtemp(temp_root) != NULL, "cannot make a temporary folder");
        atexit(remove_temp_root);
    }
    char *p = paths[slot++ % 4];
    snprintf(p, 4096, "%s/%s", temp_root, name);
    return p;
}

void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f != NULL, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

void write_npy_raw(const char *path, int major, const char *header, size_t data_len)
{
    size_t hlen = strlen(header);
    size_t pre = major == 1 ? 10 : 12;
    size_t total = pre + hlen + data_len;
    unsigned char *buf = calloc(1, total);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[8] = hlen & 0xff;
    buf[9] = hlen >> 8 & 0xff;
    if (major != 1) {
        buf[10] = hlen >> 16 & 0xff;
        buf[11] = hlen >> 24 & 0xff;
    }
    memcpy(buf + pre, header, hlen);
    write_bytes(path, buf, total);
    free(buf);
}

void assert_same_as(const nerve_array *got, const char *expect_path, double tol)
{
    nerve_npy_header h;
    nerve_array want;
    cr_assert_eq(nerve_npy_read_header(&h, expect_path), 0, "%s", nerve_error());
    cr_assert_eq(nerve_npy_read(&want, NULL, expect_path, h.dtype == NERVE_I64 ? NERVE_I64 : NERVE_F32),
                 0, "%s", nerve_error());
    cr_assert_eq(got->dtype, want.dtype, "dtype %d, expected %d", got->dtype, want.dtype);
    cr_assert_eq(got->ndim, want.ndim, "ndim %d, expected %d", got->ndim, want.ndim);
    for (int i = 0; i < want.ndim; i++)
        cr_assert_eq(got->shape[i], want.shape[i], "shape[%d] %lld, expected %lld", i,
                     (long long)got->shape[i], (long long)want.shape[i]);
    int64_t n = nerve_array_count(&want);
    for (int64_t i = 0; i < n; i++) {
        if (want.dtype == NERVE_I64) {
            cr_assert_eq(((int64_t *)got->data)[i], ((int64_t *)want.data)[i], "element %lld",
                         (long long)i);
        } else {
            float g = ((float *)got->data)[i], w = ((float *)want.data)[i];
            if (isnan(w))
                cr_assert(isnan(g), "element %lld: %g, expected NaN", (long long)i, g);
            else if (isinf(w))
                cr_assert(g == w, "element %lld: %g, expected %g", (long long)i, g, w);
            else
                cr_assert(fabs(g - w) <= tol, "element %lld: %.9g, expected %.9g", (long long)i, g, w);
        }
    }
    nerve_array_free(&want);
}

static const char *slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

int run_nerve(const char **args, const char **out, const char **err)
{
    static char out_buf[1 << 16], err_buf[1 << 16];
    const char *bin = getenv("NERVE_BIN");
    if (!bin || !*bin)
        bin = "build/nerve";
    char out_path[4096], err_path[4096];
    snprintf(out_path, sizeof out_path, "%s", temp_path("stdout"));
    snprintf(err_path, sizeof err_path, "%s", temp_path("stderr"));
    const char *argv[64] = { bin };
    int argc = 1;
    for (; args[argc - 1] && argc < 63; argc++)
        argv[argc] = args[argc - 1];
    argv[argc] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char **)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot run %s", bin);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "%s %s died with signal %d", bin, argv[1] ? argv[1] : "",
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (out)
        *out = slurp(out_path, out_buf, sizeof out_buf);
    if (err)
        *err = slurp(err_path, err_buf, sizeof err_buf);
    return WEXITSTATUS(status);
}
