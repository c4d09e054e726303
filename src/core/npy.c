/*
 * npy.c — reading and writing .npy arrays: whole files (memory-mapped when
 * the bytes are already float32 little-endian C order), bytes in memory, and
 * a streaming writer for arrays larger than memory.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nerve/core.h"
#include "core_internal.h"

int npy_data_size(const nerve_npy_header *h, const char *label, size_t *bytes)
{
    int64_t count;
    if (nerve_shape_count(h->ndim, h->shape, &count) < 0 ||
        nerve_mul_size((size_t)count, (size_t)nerve_dtype_size(h->dtype), bytes) < 0) {
        char shape[256];
        nerve_shape_format(shape, sizeof shape, h->ndim, h->shape);
        return nerve_error_set(NERVE_EINPUT, "%s: shape %s is too large (its size overflows)",
                               label, shape);
    }
    return 0;
}

/* Checks that the data the header promises is there; gives its byte size. */
static int check_data_size(const nerve_npy_header *h, size_t len, const char *label, size_t *bytes)
{
    int rc = npy_data_size(h, label, bytes);
    if (rc < 0)
        return rc;
    if (*bytes > len - h->data_offset) {
        char shape[256];
        nerve_shape_format(shape, sizeof shape, h->ndim, h->shape);
        return nerve_error_set(NERVE_EINPUT, "%s: shape %s of %s needs %zu bytes of data but "
                               "the file has %zu after the header (truncated?)", label, shape,
                               h->descr, *bytes, len - h->data_offset);
    }
    return 0;
}

static int check_want(nerve_dtype want, const char *label)
{
    if (want != NERVE_F32 && want != NERVE_I64)
        return nerve_error_set(NERVE_EINTERNAL, "%s: arrays are read as float32 or int64", label);
    return 0;
}

/* Converts the header's data at `base` into a fresh array in C order. */
static int decode_copy(nerve_array *out, const nerve_npy_header *h, const unsigned char *base,
                       nerve_dtype want)
{
    int rc = nerve_array_alloc(out, want, h->ndim, h->shape);
    if (rc < 0)
        return rc;
    int64_t count = nerve_array_count(out);
    const unsigned char *data = base + h->data_offset;
    if (!h->fortran_order || h->ndim < 2) {
        nerve_convert(out->data, want, data, h->dtype, h->big_endian, count);
        return 0;
    }
    nerve_storage tmp;
    size_t elem = (size_t)nerve_dtype_size(want);
    rc = storage_alloc(&tmp, (size_t)count * elem);
    if (rc < 0) {
        nerve_array_free(out);
        return rc;
    }
    nerve_convert(tmp.base, want, data, h->dtype, h->big_endian, count);
    fortran_to_c(out->data, tmp.base, h->ndim, h->shape, elem);
    nerve_storage_free(&tmp);
    return 0;
}

int nerve_npy_read_mem(nerve_array *out, nerve_npy_header *h_out, const void *buf, size_t len,
                       const char *label, nerve_dtype want)
{
    nerve_npy_header h;
    size_t bytes;
    memset(out, 0, sizeof *out);
    int rc = check_want(want, label);
    if (rc == 0)
        rc = nerve_npy_parse_header(&h, buf, len, label);
    if (rc == 0)
        rc = check_data_size(&h, len, label, &bytes);
    if (rc == 0)
        rc = decode_copy(out, &h, buf, want);
    if (rc == 0 && h_out)
        *h_out = h;
    return rc;
}

static int can_map_directly(const nerve_npy_header *h, nerve_dtype want)
{
    return want == NERVE_F32 && h->dtype == NERVE_F32 && !h->big_endian &&
           (!h->fortran_order || h->ndim < 2) && h->data_offset % sizeof(float) == 0;
}

int nerve_npy_read(nerve_array *out, nerve_npy_header *h_out, const char *path, nerve_dtype want)
{
    nerve_storage map;
    nerve_npy_header h;
    size_t bytes;
    memset(out, 0, sizeof *out);
    int rc = check_want(want, path);
    if (rc < 0)
        return rc;
    if ((rc = nerve_file_map(&map, path)) < 0)
        return rc;
    rc = nerve_npy_parse_header(&h, map.base, map.len, path);
    if (rc == 0)
        rc = check_data_size(&h, map.len, path, &bytes);
    if (rc == 0 && can_map_directly(&h, want)) {
        out->dtype = NERVE_F32;
        out->ndim = h.ndim;
        memcpy(out->shape, h.shape, sizeof h.shape);
        out->data = (unsigned char *)map.base + h.data_offset;
        out->storage = map;
    } else {
        if (rc == 0)
            rc = decode_copy(out, &h, map.base, want);
        nerve_storage_free(&map);
    }
    if (rc == 0 && h_out)
        *h_out = h;
    return rc;
}

int nerve_npy_read_header(nerve_npy_header *h, const char *path)
{
    nerve_storage map;
    size_t bytes;
    int rc = nerve_file_map(&map, path);
    if (rc < 0)
        return rc;
    rc = nerve_npy_parse_header(h, map.base, map.len, path);
    if (rc == 0)
        rc = check_data_size(h, map.len, path, &bytes);
    nerve_storage_free(&map);
    return rc;
}

/* The header of an in-memory array; enough room for 32 dimensions. */
static int array_header(char *header, size_t cap, const nerve_array *a, size_t *len, size_t *bytes)
{
    int64_t count;
    *len = 0;
    if (a->dtype != NERVE_F32 && a->dtype != NERVE_I64)
        return nerve_error_set(NERVE_EINTERNAL, "only float32 and int64 arrays are written");
    if (a->ndim < 0 || a->ndim > NERVE_MAX_DIMS || nerve_shape_count(a->ndim, a->shape, &count) < 0 ||
        nerve_mul_size((size_t)count, (size_t)nerve_dtype_size(a->dtype), bytes) < 0)
        return nerve_error_set(NERVE_EINTERNAL, "array to write has a bad shape");
    *len = npy_format_header(header, cap, a->dtype, a->ndim, a->shape, 0);
    return 0;
}

int nerve_npy_encode(void **buf, size_t *len, const nerve_array *a)
{
    char header[1024];
    size_t hlen, bytes;
    *buf = NULL;
    *len = 0;
    int rc = array_header(header, sizeof header, a, &hlen, &bytes);
    if (rc < 0)
        return rc;
    unsigned char *out = malloc(hlen + bytes + 1);
    if (!out)
        return nerve_error_set(NERVE_ENOMEM, "out of memory encoding a %zu-byte array", bytes);
    memcpy(out, header, hlen);
    if (bytes)
        memcpy(out + hlen, a->data, bytes);
    *buf = out;
    *len = hlen + bytes;
    return 0;
}

int nerve_npy_write(const char *path, const nerve_array *a)
{
    char header[1024];
    size_t hlen, bytes;
    nerve_outfile o;
    int rc = array_header(header, sizeof header, a, &hlen, &bytes);
    if (rc < 0 || (rc = nerve_outfile_open(&o, path)) < 0)
        return rc;
    fwrite(header, 1, hlen, o.f);
    if (bytes)
        fwrite(a->data, 1, bytes, o.f);
    return nerve_outfile_commit(&o);
}

/* The streaming writer reserves a header long enough for any row count, so
 * the final header always fits in the same bytes. */
/* Fills in the writer's fields; the header is reserved long enough for any
 * row count, so the final header always fits in the same bytes. */
static int writer_init(nerve_npy_writer *w, const char *path, nerve_dtype dtype, int row_ndim,
                       const int64_t *row_shape, char *header, size_t cap)
{
    memset(w, 0, sizeof *w);
    if (dtype != NERVE_F32 && dtype != NERVE_I64)
        return nerve_error_set(NERVE_EINTERNAL, "%s: rows are float32 or int64", path);
    if (row_ndim < 0 || row_ndim + 1 > NERVE_MAX_DIMS ||
        nerve_shape_count(row_ndim, row_shape, &w->row_count) < 0)
        return nerve_error_set(NERVE_EINTERNAL, "%s: bad row shape", path);
    w->dtype = dtype;
    w->ndim = row_ndim + 1;
    w->shape[0] = INT64_MAX;
    if (row_ndim > 0)
        memcpy(w->shape + 1, row_shape, (size_t)row_ndim * sizeof *row_shape);
    w->header_len = npy_format_header(header, cap, dtype, w->ndim, w->shape, 0);
    w->shape[0] = 0;
    return 0;
}

int nerve_npy_writer_open(nerve_npy_writer *w, const char *path, nerve_dtype dtype,
                          int row_ndim, const int64_t *row_shape)
{
    char header[1024];
    int rc = writer_init(w, path, dtype, row_ndim, row_shape, header, sizeof header);
    if (rc == 0)
        rc = nerve_outfile_open(&w->out, path);
    if (rc == 0)
        fwrite(header, 1, w->header_len, w->out.f);
    return rc;
}

int nerve_npy_writer_resume(nerve_npy_writer *w, const char *path, const char *partial, nerve_dtype dtype,
                            int row_ndim, const int64_t *row_shape, int64_t rows)
{
    char header[1024];
    int rc = writer_init(w, path, dtype, row_ndim, row_shape, header, sizeof header);
    /* rows comes from a resume record on disk: checked like any size read
     * from a file, and bounded by the partial file's real length below. */
    size_t keep = 0, data;
    int64_t count;
    if (rc == 0 && (rows < 0 || __builtin_mul_overflow(rows, w->row_count, &count) ||
                    nerve_mul_size((size_t)count, (size_t)nerve_dtype_size(dtype), &data) < 0 ||
                    __builtin_add_overflow(data, w->header_len, &keep)))
        rc = nerve_error_set(NERVE_EINPUT, "%s: cannot resume from %lld rows (the record is "
                             "corrupt)", partial, (long long)rows);
    if (rc == 0 && rows == 0)
        keep = 0;
    if (rc == 0)
        rc = nerve_outfile_resume(&w->out, path, partial, keep);
    if (rc == 0 && rows == 0)
        fwrite(header, 1, w->header_len, w->out.f);
    w->shape[0] = rows;
    return rc;
}

int nerve_npy_writer_flush(nerve_npy_writer *w)
{
    if (fflush(w->out.f) != 0)
        return nerve_error_set(NERVE_EIO, "%s: cannot write rows", w->out.path);
    return 0;
}

int nerve_npy_writer_append(nerve_npy_writer *w, const void *rows, int64_t nrows)
{
    size_t n = (size_t)(nrows * w->row_count);
    if (n && fwrite(rows, (size_t)nerve_dtype_size(w->dtype), n, w->out.f) != n)
        return nerve_error_set(NERVE_EIO, "%s: cannot write rows", w->out.path);
    w->shape[0] += nrows;
    return 0;
}

int nerve_npy_writer_close(nerve_npy_writer *w)
{
    char header[1024];
    size_t len = npy_format_header(header, sizeof header, w->dtype, w->ndim, w->shape,
                                   w->header_len);
    if (len != w->header_len || fseek(w->out.f, 0, SEEK_SET) != 0 ||
        fwrite(header, 1, len, w->out.f) != len) {
        int rc = nerve_error_set(NERVE_EIO, "%s: cannot finish the header", w->out.path);
        nerve_outfile_abort(&w->out);
        return rc;
    }
    return nerve_outfile_commit(&w->out);
}

int nerve_npy_writer_layout(nerve_npy_writer *w, int64_t rows)
{
    char header[1024];
    int64_t count;
    size_t data, total;
    w->shape[0] = rows;
    size_t len = npy_format_header(header, sizeof header, w->dtype, w->ndim, w->shape, w->header_len);
    if (rows < 0 || __builtin_mul_overflow(rows, w->row_count, &count) ||
        nerve_mul_size((size_t)count, (size_t)nerve_dtype_size(w->dtype), &data) < 0 ||
        __builtin_add_overflow(data, w->header_len, &total))
        return nerve_error_set(NERVE_EINPUT, "%s: %lld rows do not fit a file", w->out.path, (long long)rows);
    if (len != w->header_len || fflush(w->out.f) != 0 || fseek(w->out.f, 0, SEEK_SET) != 0 ||
        fwrite(header, 1, len, w->out.f) != len || fflush(w->out.f) != 0 ||
        ftruncate(fileno(w->out.f), (off_t)total) != 0 || fsync(fileno(w->out.f)) != 0)
        return nerve_error_set(NERVE_EIO, "%s: cannot lay out %lld rows", w->out.tmp, (long long)rows);
    return 0;
}

int nerve_npy_writer_join(nerve_npy_writer *w, const char *path, const char *partial, nerve_dtype dtype,
                          int row_ndim, const int64_t *row_shape, int64_t rows, int64_t at)
{
    char header[1024];
    struct stat sb;
    int rc = writer_init(w, path, dtype, row_ndim, row_shape, header, sizeof header);
    size_t row_bytes = (size_t)w->row_count * (size_t)nerve_dtype_size(dtype), want = 0;
    if (rc == 0 && (rows < 0 || at < 0 || at > rows || __builtin_mul_overflow((size_t)rows, row_bytes, &want) ||
                    __builtin_add_overflow(want, w->header_len, &want) || stat(partial, &sb) != 0 ||
                    (size_t)sb.st_size != want))
        rc = nerve_error_set(NERVE_EINPUT, "%s: not laid out for %lld rows", partial, (long long)rows);
    if (rc == 0)
        rc = nerve_outfile_resume(&w->out, path, partial, want);
    if (rc == 0 && fseek(w->out.f, (long)(w->header_len + (size_t)at * row_bytes), SEEK_SET) != 0) {
        rc = nerve_error_set(NERVE_EIO, "%s: cannot seek to row %lld", partial, (long long)at);
        nerve_outfile_suspend(&w->out);
    }
    w->shape[0] = at;
    return rc;
}

int nerve_npy_writer_sync(nerve_npy_writer *w)
{
    if (fflush(w->out.f) != 0 || fsync(fileno(w->out.f)) != 0)
        return nerve_error_set(NERVE_EIO, "%s: cannot write rows", w->out.tmp ? w->out.tmp : w->out.path);
    return 0;
}

void nerve_npy_writer_abort(nerve_npy_writer *w)
{
    nerve_outfile_abort(&w->out);
}

void nerve_npy_writer_suspend(nerve_npy_writer *w)
{
    nerve_outfile_suspend(&w->out);
}
