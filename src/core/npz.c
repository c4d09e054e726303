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
#include "nerve/internal/alloc.h"

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
    if (nerve_zip_require() < 0)
        return nerve_error_set(NERVE_EUNSUPPORTED, "%s: %s", path, nerve_error());
    int zerr = 0;
    zip_t *zip = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!zip)
        return zip_open_error(path, zerr);
    z->zip = zip;
    z->path = strdup(path);
    zip_int64_t n = zip_get_num_entries(zip, 0);
    /* libzip counted the entries in the central directory it read, so n
     * is bounded by the file's size. */
    z->names = nerve_zalloc_array(n > 0 ? (size_t)n : 0, sizeof *z->names, "member names");
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

/* Deflate turns at most 258 bytes into 2 bits (zlib's technical notes
 * give 1032:1 as its limit), so a member that declares more than this much
 * from its compressed bytes is lying. */
#define DEFLATE_MAX_RATIO 1032
#define DEFLATE_SLACK 4096

/* The member's size as its zip entry declares it, checked against what its
 * compressed bytes can hold, so that no size read from the archive is
 * believed beyond what the file on disk can really deliver. */
static int member_size(nerve_npz *z, int64_t index, const char *label, size_t *size)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z->zip, (zip_uint64_t)index, 0, &st) != 0 ||
        (st.valid & (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD)) !=
            (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD))
        return nerve_error_set(NERVE_EINPUT, "%s: cannot read the member's size", label);
    uint64_t bound = st.comp_size;
    if (st.comp_method != ZIP_CM_STORE &&
        (__builtin_mul_overflow(st.comp_size, (uint64_t)DEFLATE_MAX_RATIO, &bound) ||
         __builtin_add_overflow(bound, (uint64_t)DEFLATE_SLACK, &bound)))
        bound = UINT64_MAX;
    if (st.size > bound || st.size > SIZE_MAX / 2)
        return nerve_error_set(NERVE_EINPUT, "%s: member declares %llu bytes from %llu %s bytes, "
                               "more than they can hold (corrupt or hostile archive)", label,
                               (unsigned long long)st.size, (unsigned long long)st.comp_size,
                               st.comp_method == ZIP_CM_STORE ? "stored" : "compressed");
    *size = (size_t)st.size;
    return 0;
}

/* Reads exactly n bytes of the member into buf; a shorter member or a
 * stream libzip finds corrupt is NERVE_EINPUT. */
static int read_exact(zip_file_t *f, void *buf, size_t n, const char *label)
{
    size_t done = 0;
    while (done < n) {
        zip_int64_t got = zip_fread(f, (unsigned char *)buf + done, n - done);
        if (got < 0)
            return nerve_error_set(NERVE_EINPUT, "%s: corrupt member (%s)", label,
                                   zip_file_strerror(f));
        if (got == 0)
            return nerve_error_set(NERVE_EINPUT, "%s: member ends after %zu bytes, %zu expected "
                                   "(truncated or corrupt)", label, done, n);
        done += (size_t)got;
    }
    return 0;
}

/* An open member and what is known of it: size as declared, and the
 * bytes read so far (the preamble and header, then the data). */
typedef struct member {
    zip_file_t    *f;
    const char    *label;
    size_t         size;   /* declared, bounded by member_size */
    unsigned char *buf;    /* malloc'd, len bytes read */
    size_t         len;
} member;

static int member_open(member *m, nerve_npz *z, int64_t index, const char *label)
{
    memset(m, 0, sizeof *m);
    m->label = label;
    int rc = member_size(z, index, label, &m->size);
    if (rc < 0)
        return rc;
    m->f = zip_fopen_index(z->zip, (zip_uint64_t)index, 0);
    if (!m->f)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot open the member (%s)", label,
                               zip_strerror(z->zip));
    return 0;
}

static void member_close(member *m)
{
    if (m->f)
        zip_fclose(m->f);
    free(m->buf);
    memset(m, 0, sizeof *m);
}

/* Grows m's buffer to `total` bytes (never past the declared size) and
 * reads the member up to there. */
static int member_read_to(member *m, size_t total, const char *what)
{
    if (total > m->size)
        return nerve_error_set(NERVE_EINPUT, "%s: %s needs %zu bytes but the member holds %zu "
                               "(truncated?)", m->label, what, total, m->size);
    unsigned char *grown = nerve_realloc_array(m->buf, total, 1, what);
    if (!grown)
        return NERVE_ENOMEM;
    m->buf = grown;
    int rc = read_exact(m->f, m->buf + m->len, total - m->len, m->label);
    if (rc == 0)
        m->len = total;
    return rc;
}

/* Reads and parses the member's .npy header, no further. */
static int member_read_header(member *m, nerve_npy_header *h)
{
    /* The preamble is 10 bytes in version 1, 12 after; a member of 10 or
     * 11 bytes is read whole and the preamble parser says what is missing. */
    size_t first = m->size < 12 ? m->size : 12;
    npy_preamble pre;
    int rc = member_read_to(m, first, "the .npy preamble");
    if (rc == 0)
        rc = npy_parse_preamble(&pre, m->buf, m->len, m->label);
    if (rc == 0)
        rc = member_read_to(m, pre.start + pre.header_len, "the .npy header");
    if (rc == 0)
        rc = nerve_npy_parse_header(h, m->buf, m->len, m->label);
    return rc;
}

int nerve_npz_read(nerve_npz *z, const char *name, nerve_dtype want, nerve_array *out,
                   nerve_npy_header *h)
{
    memset(out, 0, sizeof *out);
    char *label;
    int64_t index;
    member m = { 0 };
    nerve_npy_header head;
    size_t bytes;
    /* The header first: the data is read (and its buffer sized) only as
     * far as the header promises and the member's declared size allows. */
    int rc = find_npy_member(z, name, &index, &label);
    if (rc == 0)
        rc = member_open(&m, z, index, label);
    if (rc == 0)
        rc = member_read_header(&m, &head);
    if (rc == 0)
        rc = npy_data_size(&head, label, &bytes);
    if (rc == 0)
        rc = member_read_to(&m, head.data_offset + bytes, "the .npy data");
    if (rc == 0)
        rc = nerve_npy_read_mem(out, h, m.buf, m.len, label, want);
    member_close(&m);
    free(label);
    return rc;
}

int nerve_npz_read_header(nerve_npz *z, const char *name, nerve_npy_header *h)
{
    char *label;
    int64_t index;
    member m = { 0 };
    int rc = find_npy_member(z, name, &index, &label);
    if (rc == 0)
        rc = member_open(&m, z, index, label);
    if (rc == 0)
        rc = member_read_header(&m, h);
    member_close(&m);
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
    if (nerve_zip_require() < 0)
        return nerve_error_set(NERVE_EUNSUPPORTED, "%s: %s", path, nerve_error());
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
