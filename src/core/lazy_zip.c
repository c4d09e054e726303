/*
 * lazy_zip.c — libzip, loaded by the first call into it (nerve/internal/library.h): the functions npz.c uses, forwarded. libzip
 * brings OpenSSL's libcrypto, 2 MB at start-up for every command.
 */
#include <pthread.h>
#include <zip.h>

#include "nerve/core.h"
#include "nerve/internal/library.h"

#define LIBZIP "libzip.so.4"

#define FIND(f) NERVE_LIBRARY_FIND(&libzip_lib, libzip, f)

static struct {
    __typeof__(zip_open) *zip_open;
    __typeof__(zip_close) *zip_close;
    __typeof__(zip_discard) *zip_discard;
    __typeof__(zip_strerror) *zip_strerror;
    __typeof__(zip_error_init_with_code) *zip_error_init_with_code;
    __typeof__(zip_error_strerror) *zip_error_strerror;
    __typeof__(zip_error_fini) *zip_error_fini;
    __typeof__(zip_get_num_entries) *zip_get_num_entries;
    __typeof__(zip_get_name) *zip_get_name;
    __typeof__(zip_stat_init) *zip_stat_init;
    __typeof__(zip_stat_index) *zip_stat_index;
    __typeof__(zip_fopen_index) *zip_fopen_index;
    __typeof__(zip_fread) *zip_fread;
    __typeof__(zip_fclose) *zip_fclose;
    __typeof__(zip_file_strerror) *zip_file_strerror;
    __typeof__(zip_source_buffer) *zip_source_buffer;
    __typeof__(zip_source_free) *zip_source_free;
    __typeof__(zip_file_add) *zip_file_add;
    __typeof__(zip_set_file_compression) *zip_set_file_compression;
} libzip;

static nerve_library libzip_lib = { .soname = LIBZIP };
static pthread_once_t libzip_once = PTHREAD_ONCE_INIT;

static void load_libzip(void)
{
    FIND(zip_open);
    FIND(zip_close);
    FIND(zip_discard);
    FIND(zip_strerror);
    FIND(zip_error_init_with_code);
    FIND(zip_error_strerror);
    FIND(zip_error_fini);
    FIND(zip_get_num_entries);
    FIND(zip_get_name);
    FIND(zip_stat_init);
    FIND(zip_stat_index);
    FIND(zip_fopen_index);
    FIND(zip_fread);
    FIND(zip_fclose);
    FIND(zip_file_strerror);
    FIND(zip_source_buffer);
    FIND(zip_source_free);
    FIND(zip_file_add);
    FIND(zip_set_file_compression);
}

int nerve_zip_require(void)
{
    return nerve_library_load(&libzip_lib, &libzip_once, load_libzip);
}

#define ZIP (NERVE_LIBRARY_USE(nerve_zip_require, &libzip_lib), libzip)

zip_t *zip_open(const char *path, int flags, int *error)
{
    return ZIP.zip_open(path, flags, error);
}

int zip_close(zip_t *z)
{
    return ZIP.zip_close(z);
}

void zip_discard(zip_t *z)
{
    ZIP.zip_discard(z);
}

const char *zip_strerror(zip_t *z)
{
    return ZIP.zip_strerror(z);
}

void zip_error_init_with_code(zip_error_t *e, int code)
{
    ZIP.zip_error_init_with_code(e, code);
}

const char *zip_error_strerror(zip_error_t *e)
{
    return ZIP.zip_error_strerror(e);
}

void zip_error_fini(zip_error_t *e)
{
    ZIP.zip_error_fini(e);
}

zip_int64_t zip_get_num_entries(zip_t *z, zip_flags_t flags)
{
    return ZIP.zip_get_num_entries(z, flags);
}

const char *zip_get_name(zip_t *z, zip_uint64_t index, zip_flags_t flags)
{
    return ZIP.zip_get_name(z, index, flags);
}

void zip_stat_init(zip_stat_t *st)
{
    ZIP.zip_stat_init(st);
}

int zip_stat_index(zip_t *z, zip_uint64_t index, zip_flags_t flags, zip_stat_t *st)
{
    return ZIP.zip_stat_index(z, index, flags, st);
}

zip_file_t *zip_fopen_index(zip_t *z, zip_uint64_t index, zip_flags_t flags)
{
    return ZIP.zip_fopen_index(z, index, flags);
}

zip_int64_t zip_fread(zip_file_t *f, void *buf, zip_uint64_t n)
{
    return ZIP.zip_fread(f, buf, n);
}

int zip_fclose(zip_file_t *f)
{
    return ZIP.zip_fclose(f);
}

const char *zip_file_strerror(zip_file_t *f)
{
    return ZIP.zip_file_strerror(f);
}

zip_source_t *zip_source_buffer(zip_t *z, const void *data, zip_uint64_t len, int freep)
{
    return ZIP.zip_source_buffer(z, data, len, freep);
}

void zip_source_free(zip_source_t *s)
{
    ZIP.zip_source_free(s);
}

zip_int64_t zip_file_add(zip_t *z, const char *name, zip_source_t *s, zip_flags_t flags)
{
    return ZIP.zip_file_add(z, name, s, flags);
}

int zip_set_file_compression(zip_t *z, zip_uint64_t index, zip_int32_t method, zip_uint32_t flags)
{
    return ZIP.zip_set_file_compression(z, index, method, flags);
}
