/*
 * npz.c — .npz archives (numpy.savez / savez_compressed): a zip of .npy
 * members, stored or deflated, read and written through libzip.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "nerve/core.h"
#include "core_internal.h"

static int zip_open_error(const char *path, int zerr)
{
    zip_error_t e;
    zip_error_init_with_code(&e, zerr);
    int code = zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN || zerr == ZIP_ER_NOZIP ||
               zerr == ZIP_ER_INCONS || zerr == ZIP_ER_READ ? NERVE_EINPUT
               : zerr == ZIP_ER_MEMORY ? NERVE_ENOMEM : NERVE_EIO;
    nerve_error_set(code, "%s: cannot read as .npz: %s", path, zip_error_strerror(&e));
    zip_error_fini(&e);
    return code;
}

int nerve_npz_open(nerve_npz *z, const char *path)
{
    memset(z, 0, sizeof *z);
    int zerr = 0;
    zip_t *zip = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!zip)
        return zip_open_error(path, zerr);
    z->zip = zip;
    z->path = strdup(path);
    zip_int64_t n = zip_get_num_entries(zip, 0);
    z->names = calloc(n > 0 ? (size_t)n : 1, sizeof *z->names);
    if (!z->path || !z->names) {
        nerve_npz_close(z);
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", path);
    }
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(zip, (zip_uint64_t)i, 0);
        z->names[i] = strdup(name ? name : "");
        if (!z->names[i]) {
            nerve_npz_close(z);
            return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", path);
        }
        z->count = i + 1;
    }
    return 0;
}

void nerve_npz_close(nerve_npz *z)
{
    if (z->zip)
        zip_discard(z->zip);
    for (int64_t i = 0; i < z->count; i++)
        free(z->names[i]);
    free(z->names);
    free(z->path);
    memset(z, 0, sizeof *z);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The member called `name`, with or without its ".npy"; -1 if none. */
static int64_t find_member(const nerve_npz *z, const char *name)
{
    for (int64_t i = 0; i < z->count; i++)
        if (strcmp(z->names[i], name) == 0)
            return i;
    for (int64_t i = 0; i < z->count; i++) {
        size_t n = strlen(name);
        if (strncmp(z->names[i], name, n) == 0 && strcmp(z->names[i] + n, ".npy") == 0)
            return i;
    }
    return -1;
}

static int read_member_bytes(nerve_npz *z, int64_t index, const char *label,
                             unsigned char **buf, size_t *len)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z->zip, (zip_uint64_t)index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return nerve_error_set(NERVE_EINPUT, "%s: cannot read the member's size", label);
    if (st.size > SIZE_MAX - 1)
        return nerve_error_set(NERVE_EINPUT, "%s: member too large", label);
    *len = (size_t)st.size;
    *buf = malloc(*len + 1);
    if (!*buf)
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory for %zu bytes", label, *len);
    zip_file_t *f = zip_fopen_index(z->zip, (zip_uint64_t)index, 0);
    zip_int64_t got = f ? zip_fread(f, *buf, *len) : -1;
    const char *why = f ? zip_file_strerror(f) : zip_strerror(z->zip);
    int rc = 0;
    if (got < 0 || (size_t)got != *len)
        rc = nerve_error_set(NERVE_EINPUT, "%s: corrupt member (%s)", label, why);
    if (f)
        zip_fclose(f);
    if (rc < 0) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

/* The .npy member called name: its index and a "file:member" label for
 * errors (malloc'd, the caller frees it even on failure). */
static int find_npy_member(nerve_npz *z, const char *name, int64_t *index, char **label)
{
    *index = find_member(z, name);
    if (asprintf(label, "%s:%s", z->path, *index >= 0 ? z->names[*index] : name) < 0) {
        *label = NULL;
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    if (*index < 0)
        return nerve_error_set(NERVE_EINPUT, "%s: no such member", *label);
    if (!ends_with(z->names[*index], ".npy"))
        return nerve_error_set(NERVE_EINPUT, "%s: member is not a .npy array", *label);
    return 0;
}

int nerve_npz_read(nerve_npz *z, const char *name, nerve_dtype want, nerve_array *out,
                   nerve_npy_header *h)
{
    memset(out, 0, sizeof *out);
    char *label;
    int64_t index;
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = find_npy_member(z, name, &index, &label);
    if (rc == 0)
        rc = read_member_bytes(z, index, label, &buf, &len);
    if (rc == 0)
        rc = nerve_npy_read_mem(out, h, buf, len, label, want);
    free(buf);
    free(label);
    return rc;
}

int nerve_npz_read_header(nerve_npz *z, const char *name, nerve_npy_header *h)
{
    char *label;
    int64_t index;
    int rc = find_npy_member(z, name, &index, &label);
    zip_file_t *f = rc == 0 ? zip_fopen_index(z->zip, (zip_uint64_t)index, 0) : NULL;
    if (rc == 0 && !f)
        rc = nerve_error_set(NERVE_EINPUT, "%s: cannot open the member (%s)", label, zip_strerror(z->zip));
    /* The preamble gives the header's length; read just that much. */
    unsigned char pre[12], *buf = NULL;
    zip_int64_t got = f ? zip_fread(f, pre, sizeof pre) : 0;
    if (rc == 0 && got < 10)
        rc = nerve_error_set(NERVE_EINPUT, "%s: truncated: shorter than a .npy header", label);
    if (rc == 0) {
        size_t start = pre[6] == 1 ? 10 : 12;
        size_t hlen = start == 10 ? (size_t)pre[8] | (size_t)pre[9] << 8
                    : (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        size_t total = start + hlen;
        if (!(buf = malloc(total > sizeof pre ? total : sizeof pre)))
            rc = nerve_error_set(NERVE_ENOMEM, "%s: out of memory", label);
        if (rc == 0) {
            memcpy(buf, pre, (size_t)got);
            zip_int64_t more = total > (size_t)got ? zip_fread(f, buf + got, total - (size_t)got) : 0;
            rc = nerve_npy_parse_header(h, buf, (size_t)got + (size_t)(more > 0 ? more : 0), label);
        }
    }
    if (f)
        zip_fclose(f);
    free(buf);
    free(label);
    return rc;
}

static int add_member(zip_t *zip, const nerve_npz_member *m, int compress, const char *path)
{
    void *buf;
    size_t len;
    int rc = nerve_npy_encode(&buf, &len, m->array);
    if (rc < 0)
        return rc;
    zip_source_t *src = zip_source_buffer(zip, buf, len, 1);   /* libzip frees buf */
    if (!src) {
        free(buf);
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", path);
    }
    char name[512];
    snprintf(name, sizeof name, "%s.npy", m->name);
    zip_int64_t index = zip_file_add(zip, name, src, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
        zip_source_free(src);
        return nerve_error_set(NERVE_EINPUT, "%s: cannot add member '%s': %s", path, name,
                               zip_strerror(zip));
    }
    zip_set_file_compression(zip, (zip_uint64_t)index, compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    return 0;
}

int nerve_npz_write(const char *path, const nerve_npz_member *members, int64_t count, int compress)
{
    /* libzip writes through its own temporary file too, but into the final
     * name's directory; writing to ours keeps one rule for every output. */
    nerve_outfile o;
    int rc = nerve_outfile_open(&o, path);
    if (rc < 0)
        return rc;
    fclose(o.f);
    o.f = NULL;
    int zerr = 0;
    zip_t *zip = zip_open(o.tmp, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!zip) {
        nerve_outfile_abort(&o);
        return zip_open_error(path, zerr);
    }
    for (int64_t i = 0; i < count && rc == 0; i++)
        rc = add_member(zip, &members[i], compress, path);
    if (rc == 0 && zip_close(zip) != 0) {
        rc = nerve_error_set(NERVE_EIO, "%s: cannot write: %s", path, zip_strerror(zip));
        zip_discard(zip);
    } else if (rc < 0) {
        zip_discard(zip);
    }
    if (rc < 0) {
        nerve_outfile_abort(&o);
        return rc;
    }
    return nerve_outfile_commit(&o);
}
