/*
 * file.c — files in and out: outputs written under a temporary name, made
 * durable and renamed into place, whole-file memory maps, and whole-file
 * reads that undo gzip on the way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nerve/core.h"
#include "core_internal.h"

/* A missing directory or a permission problem is the user's to fix (exit 2);
 * a full disk or a failing device is not. */
static int errno_code(int e)
{
    switch (e) {
    case ENOENT: case EACCES: case EPERM: case ENOTDIR: case EISDIR:
    case EROFS: case ENAMETOOLONG: case ELOOP:
        return NERVE_EINPUT;
    case ENOMEM:
        return NERVE_ENOMEM;
    default:
        return NERVE_EIO;
    }
}

/* ---- the temporary files of this process ------------------------------------ */

/* Every open `*.tmp.<pid>` file, so that an exit by any path (a return
 * from main, the exit function, a signal) can remove them. A signal handler reads
 * the table, so paths live in fixed slots (no pointer to free under it) and
 * a slot is marked used only once its path is written. A process with more
 * temporary files open at once than slots leaves the excess to the abort
 * paths. Files kept for a resume (nerve_outfile_resume) are never listed. */
enum { TEMP_SLOTS = 128, TEMP_PATH_MAX = 4352 };

static char temp_path_slot[TEMP_SLOTS][TEMP_PATH_MAX];
static volatile sig_atomic_t temp_used[TEMP_SLOTS];
static pthread_mutex_t temp_lock = PTHREAD_MUTEX_INITIALIZER;

static void temp_register(const char *tmp)
{
    pthread_mutex_lock(&temp_lock);
    for (int i = 0; i < TEMP_SLOTS; i++)
        if (!temp_used[i] && strlen(tmp) < TEMP_PATH_MAX) {
            strcpy(temp_path_slot[i], tmp);
            temp_used[i] = 1;
            break;
        }
    pthread_mutex_unlock(&temp_lock);
}

static void temp_forget(const char *tmp)
{
    pthread_mutex_lock(&temp_lock);
    for (int i = 0; i < TEMP_SLOTS; i++)
        if (temp_used[i] && strcmp(temp_path_slot[i], tmp) == 0) {
            temp_used[i] = 0;
            break;
        }
    pthread_mutex_unlock(&temp_lock);
}

void nerve_temporaries_remove(void)
{
    /* No lock: this runs in signal handlers; unlink is async-signal-safe. */
    for (int i = 0; i < TEMP_SLOTS; i++)
        if (temp_used[i]) {
            unlink(temp_path_slot[i]);
            temp_used[i] = 0;
        }
}

/* At every normal end of the process (a return from main or the exit
 * function), for a library user's program as for nerve's commands. */
__attribute__((destructor)) static void remove_temporaries_at_the_end(void)
{
    nerve_temporaries_remove();
}

/* ---- outputs ----------------------------------------------------------------- */

static int make_parent_dir(const char *path);

int nerve_outfile_open(nerve_outfile *o, const char *path)
{
    memset(o, 0, sizeof *o);
    int rc = make_parent_dir(path);
    if (rc < 0)
        return rc;
    if (asprintf(&o->tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        o->tmp = NULL;
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    o->path = strdup(path);
    if (!o->path) {
        free(o->tmp);
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    o->f = fopen(o->tmp, "wb");
    if (!o->f) {
        int e = errno;
        free(o->tmp);
        free(o->path);
        memset(o, 0, sizeof *o);
        return nerve_error_set(errno_code(e), "%s: cannot create: %s", path, strerror(e));
    }
    temp_register(o->tmp);
    return 0;
}

int nerve_outfile_resume(nerve_outfile *o, const char *path, const char *tmp, size_t keep)
{
    memset(o, 0, sizeof *o);
    o->path = strdup(path);
    o->tmp = strdup(tmp);
    if (!o->path || !o->tmp) {
        free(o->path);
        free(o->tmp);
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    struct stat sb;
    int ok = keep == 0 || (stat(tmp, &sb) == 0 && (size_t)sb.st_size >= keep && truncate(tmp, (off_t)keep) == 0);
    o->f = ok ? fopen(tmp, keep ? "r+b" : "wb") : NULL;
    if (o->f && keep && fseek(o->f, 0, SEEK_END) != 0) {
        fclose(o->f);
        o->f = NULL;
    }
    if (!o->f) {
        int e = errno;
        free(o->tmp);
        free(o->path);
        memset(o, 0, sizeof *o);
        return nerve_error_set(ok ? errno_code(e) : NERVE_EINPUT, "%s: cannot %s: %s", tmp,
                               keep ? "resume" : "create", ok ? strerror(e) : "shorter than recorded");
    }
    return 0;
}

static void outfile_release(nerve_outfile *o)
{
    if (o->tmp)
        temp_forget(o->tmp);
    free(o->tmp);
    free(o->path);
    memset(o, 0, sizeof *o);
}

/* fsync of a file by name, for a temporary file another library wrote. */
static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    /* Some file systems cannot sync a folder; that is no write failure. */
    if (rc != 0 && (flags & O_DIRECTORY) && (errno == EINVAL || errno == EBADF))
        rc = 0;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* The folder holding path, synced so that a rename into it survives a crash. */
static int sync_parent(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int rc = sync_path(dirname(copy), O_RDONLY | O_DIRECTORY);
    int e = errno;
    free(copy);
    errno = e;
    return rc;
}

/* Flushes, syncs and closes the temporary file: 0, or -1 with errno. */
static int finish_temporary(nerve_outfile *o)
{
    if (!o->f)
        return sync_path(o->tmp, O_RDONLY);
    int e = ferror(o->f) ? EIO : 0;
    if (!e && fflush(o->f) != 0)
        e = errno;
    if (!e && fsync(fileno(o->f)) != 0)
        e = errno;
    if (fclose(o->f) != 0 && !e)
        e = errno;
    o->f = NULL;
    errno = e;
    return e ? -1 : 0;
}

int nerve_outfile_commit(nerve_outfile *o)
{
    /* The data reach the disk before the name does, and the name before
     * the caller records the file as done: a crash leaves the old file or
     * the new one, never an empty one under the new name. */
    int failed = finish_temporary(o) != 0 || rename(o->tmp, o->path) != 0 || sync_parent(o->path) != 0;
    if (failed) {
        int e = errno ? errno : EIO;
        int code = nerve_error_set(errno_code(e), "%s: cannot write: %s", o->path, strerror(e));
        unlink(o->tmp);
        outfile_release(o);
        return code;
    }
    outfile_release(o);
    return 0;
}

void nerve_outfile_abort(nerve_outfile *o)
{
    if (o->f)
        fclose(o->f);
    if (o->tmp)
        unlink(o->tmp);
    outfile_release(o);
}

int nerve_json_write(const char *path, const struct json_t *root, size_t flags)
{
    if (!root)
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory making the JSON", path);
    nerve_outfile f;
    int rc = nerve_outfile_open(&f, path);
    if (rc < 0)
        return rc;
    /* json_dumpf fails without writing for reasons of its own (memory, a
     * value JSON cannot hold); committing then would leave an empty file. */
    if (json_dumpf(root, f.f, flags) != 0 || fputc('\n', f.f) == EOF) {
        nerve_outfile_abort(&f);
        return nerve_error_set(NERVE_EIO, "%s: cannot write the JSON", path);
    }
    return nerve_outfile_commit(&f);
}

/* mkdir of one folder; an existing folder is fine, an existing file is not. */
static int make_one_dir(const char *path, const char *asked)
{
    struct stat sb;
    if (mkdir(path, 0777) == 0)
        return 0;
    int e = errno;
    if (e == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return 0;
    if (e == EEXIST)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot create folder: %s is a file", asked, path);
    return nerve_error_set(errno_code(e), "%s: cannot create folder %s: %s", asked, path, strerror(e));
}

int nerve_dir_create(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    int rc = 0;
    /* Each parent in turn, as mkdir -p: "a/b/c" makes a, a/b, a/b/c. */
    for (char *p = copy + 1; rc == 0 && *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        rc = make_one_dir(copy, path);
        *p = '/';
    }
    if (rc == 0)
        rc = make_one_dir(copy, path);
    free(copy);
    return rc;
}

/* The folder a file is to be written in, made when missing. */
static int make_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    int rc = nerve_dir_create(dir);
    free(dir);
    return rc;
}

/* Opens a regular file for reading; a negative NERVE_E* code on failure. */
static int open_regular(const char *path, struct stat *sb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nerve_error_set(errno_code(errno), "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(fd);
        return nerve_error_set(NERVE_EINPUT, "%s: not a regular file", path);
    }
    return fd;
}

void nerve_outfile_suspend(nerve_outfile *o)
{
    if (o->f)
        fclose(o->f);
    outfile_release(o);
}

int nerve_file_map(nerve_storage *st, const char *path)
{
    memset(st, 0, sizeof *st);
    struct stat sb;
    int fd = open_regular(path, &sb);
    if (fd < 0)
        return fd;
    if (sb.st_size > 0) {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return nerve_error_set(errno_code(e), "%s: cannot map: %s", path, strerror(e));
        }
        madvise(p, (size_t)sb.st_size, MADV_SEQUENTIAL);
        st->base = p;
        st->len = (size_t)sb.st_size;
        st->kind = STORAGE_MAP;
    }
    close(fd);
    return 0;
}

int nerve_file_sniff(nerve_format *format, int *gzipped, const char *path)
{
    *format = NERVE_FORMAT_UNKNOWN;
    struct stat sb;
    int fd = open_regular(path, &sb);
    if (fd < 0)
        return fd;
    unsigned char raw[4] = { 0 };
    ssize_t got = pread(fd, raw, sizeof raw, 0);
    int gz = got >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
    unsigned char head[6] = { 0 };
    gzFile g = gzdopen(fd, "rb");
    int n = g ? gzread(g, head, sizeof head) : -1;
    if (g)
        gzclose(g);
    else
        close(fd);
    if (gzipped)
        *gzipped = gz;
    /* A file cut inside the magic still counts as its format, so the
     * reader can say it is truncated rather than unknown. */
    if (!gz && n > 0 && memcmp(head, "\x93NUMPY", (size_t)(n < 6 ? n : 6)) == 0)
        *format = NERVE_FORMAT_NPY;
    else if (!gz && got >= 4 && (memcmp(raw, "PK\x03\x04", 4) == 0 || memcmp(raw, "PK\x05\x06", 4) == 0))
        *format = NERVE_FORMAT_NPZ;
    else if (n >= 2 && head[0] == 0 && head[1] == 0)
        *format = NERVE_FORMAT_IDX;
    if (*format == NERVE_FORMAT_UNKNOWN)
        return nerve_error_set(NERVE_EINPUT, "%s: not a .npy, .npz or IDX file%s", path,
                               sb.st_size == 0 ? " (it is empty)" : "");
    return 0;
}
