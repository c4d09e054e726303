/*
 * extract_shard.c — one extraction shared by nerve-mpi's ranks. Each rank
 * takes a contiguous shard of the inputs, in whole batches so that every
 * batch is the one a single process runs, and writes its rows straight
 * into the final files at their places: rank 0 first lays each file out
 * (header and full length, as DIR/<file>.partial), each rank joins it at
 * its first row, and when all are done rank 0 renames them into place. No
 * second pass over the data, and the bytes are those one process writes.
 *
 * Resuming: DIR/.extract-layout records the run the partial files were
 * laid out for, and each shard's DIR/.extract-shard-<first>-<last> how far
 * it got (written after its rows are synced). A rerun with the same
 * settings keeps the files and each rank continues its shard; with other
 * settings, or files that do not match, rank 0 lays them out afresh.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve/internal/path.h"
#include "dist.h"
#include "extract_internal.h"

enum { KEY_CAP = 8192 };

static int layout_path(char *out, size_t cap, const extraction *x)
{
    return nerve_path(out, cap, "%s/.extract-layout", x->o->out);
}

static int shard_path(char *out, size_t cap, const extraction *x)
{
    return nerve_path(out, cap, "%s/.extract-shard-%lld-%lld", x->o->out, (long long)x->first, (long long)x->last);
}

/* The key of the layout: the run's and its number of inputs. */
static void layout_key(char *out, size_t cap, const extraction *x)
{
    char run[KEY_CAP];
    extract_run_key(run, sizeof run, x->o);
    snprintf(out, cap, "%s|count %lld", run, (long long)x->count);
}

/* Whether path holds `key` as its first line; reads the numbers after it. */
static int record_matches(const char *path, const char *key, long long *a, long long *b)
{
    char line[KEY_CAP + 64];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fgets(line, sizeof line, f) != NULL;
    line[strcspn(line, "\n")] = '\0';
    ok = ok && strcmp(line, key) == 0 && (!a || fscanf(f, "%lld %lld", a, b) == 2);
    fclose(f);
    return ok;
}

static int write_record(const char *path, const char *key, const char *numbers)
{
    nerve_outfile f;
    int rc = nerve_outfile_open(&f, path);
    if (rc == 0) {
        fprintf(f.f, "%s\n%s\n", key, numbers);
        rc = nerve_outfile_commit(&f);
    }
    return rc;
}

void shard_forget(const extraction *x)
{
    char path[PATH_MAX];
    if (layout_path(path, sizeof path, x) == 0)
        unlink(path);
    DIR *d = opendir(x->o->out);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strncmp(e->d_name, ".extract-shard-", 15) == 0 &&
            nerve_path(path, sizeof path, "%s/%s", x->o->out, e->d_name) == 0)
            unlink(path);
    if (d)
        closedir(d);
}

/* Rank 0: the partial files as an earlier run with this key laid them
 * out, or laid out afresh (its shards' records gone with them). */
static int lay_out(extraction *x)
{
    char path[PATH_MAX], key[KEY_CAP + 64];
    int rc = layout_path(path, sizeof path, x);
    if (rc < 0)
        return rc;
    layout_key(key, sizeof key, x);
    if (record_matches(path, key, NULL, NULL)) {
        x->phase = WRITERS_CHECK;
        if (extract_open_writers(x) == 0)
            return 0;
        if (!nerve_quiet())
            fprintf(stderr, "nerve: extract: the partial files do not match their record; starting afresh\n");
    }
    shard_forget(x);
    x->phase = WRITERS_LAYOUT;
    if ((rc = extract_open_writers(x)) == 0)
        rc = write_record(path, key, "0 0");
    return rc;
}

/* Where this rank's shard resumes: its record's count of inputs done, or
 * its first input. */
static int64_t shard_resumable(extraction *x)
{
    char path[PATH_MAX], key[KEY_CAP];
    long long done = 0, predicted = 0;
    extract_run_key(key, sizeof key, x->o);
    if (shard_path(path, sizeof path, x) < 0 || !record_matches(path, key, &done, &predicted) || done < x->first ||
        done > x->last)
        return x->first;
    x->predicted = predicted != 0;
    return done;
}

int shard_open(extraction *x)
{
    int rank = study_dist_rank(), size = study_dist_size();
    study_dist_share(x->count, x->o->batch, rank, size, &x->first, &x->last);
    x->sharded = 1;
    int rc = rank == 0 ? lay_out(x) : 0;
    if (rc < 0)
        return rc;
    study_dist_barrier();   /* the files are laid out */
    x->done = shard_resumable(x);
    if (x->done > x->first && !nerve_quiet())
        fprintf(stderr, "nerve: extract: rank %d resuming its inputs %lld to %lld after %lld\n", rank,
                (long long)x->first, (long long)x->last, (long long)x->done);
    x->phase = WRITERS_JOIN;
    return extract_open_writers(x);
}

int shard_test_kill_due(const extraction *x, int64_t done)
{
    const char *at = getenv("NERVE_TEST_KILL_RANK");
    int rank = -1;
    long long after = 0;
    return x->sharded && at && sscanf(at, "%d:%lld", &rank, &after) == 2 && rank == study_dist_rank() &&
           done - x->first >= after;
}

int shard_save(extraction *x, int64_t done)
{
    char path[PATH_MAX], key[KEY_CAP], numbers[64];
    int rc = extract_each_writer(x, nerve_npy_writer_sync);
    if (rc == 0)
        rc = shard_path(path, sizeof path, x);
    extract_run_key(key, sizeof key, x->o);
    snprintf(numbers, sizeof numbers, "%lld %lld", (long long)done, (long long)x->predicted);
    if (rc == 0 && (rc = write_record(path, key, numbers)) == 0 && shard_test_kill_due(x, done))
        kill(getpid(), SIGKILL);
    return rc;
}

static int suspend_one(nerve_npy_writer *w)
{
    nerve_npy_writer_suspend(w);
    return 0;
}

int shard_close(extraction *x)
{
    int rc = shard_save(x, x->last);
    if (rc < 0)
        return rc;
    if (study_dist_rank() != 0)
        extract_each_writer(x, suspend_one);
    /* Whether the model is a classifier: a rank with no inputs, or one
     * that had finished before a rerun, has not seen it itself. Being a
     * collective, this is also where all ranks' rows are on disk. */
    study_dist_max(&x->predicted, 1);
    return 0;
}
