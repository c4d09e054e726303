/*
 * support.c — the harnesses' scratch files, one set per process so that
 * parallel fuzzers (-jobs=N) do not overwrite each other's inputs.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nerve/core.h"
#include "nerve/nn.h"
#include "support.h"

static char scratch[256];

static const char *scratch_root(void)
{
    if (!scratch[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/nerve-fuzz-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
        mkdir(scratch, 0700);
    }
    return scratch;
}

/* Removes the scratch folder when the fuzzer exits normally. */
static void remove_scratch(void)
{
    if (!scratch[0])
        return;
    fuzz_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/dir", scratch);
    rmdir(path);
    DIR *d = opendir(scratch);
    for (struct dirent *e; d && (e = readdir(d));) {
        snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
        if (e->d_name[0] != '.')
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(scratch);
}

void fuzz_init(void)
{
    nerve_threads_init(1);
    nerve_set_quiet(1);
    nerve_nn_set_tensor_limit((size_t)16 << 20);
    atexit(remove_scratch);
}

const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/input%s", scratch_root(), suffix);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(path);
        abort();   /* the harness cannot work: stop rather than fuzz nothing */
    }
    return path;
}

const char *fuzz_dir(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/dir", scratch_root());
    DIR *d = opendir(path);
    char file[1024];
    for (struct dirent *e; d && (e = readdir(d));) {
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(file);
    }
    if (d)
        closedir(d);
    else
        mkdir(path, 0700);
    return path;
}

char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = 0;
    }
    return s;
}
