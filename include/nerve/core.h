/*
 * nerve/core.h — the core room: errors, arrays and matrices, file formats
 * (.npy, .npz, IDX, PNG/JPEG), principal components, random numbers,
 * progress and threads.
 *
 * Every other room builds on these pieces. A short tour:
 *
 *     nerve_array a = { 0 };
 *     nerve_mat m = { 0 };
 *     nerve_pca p = { 0 };
 *     int rc = nerve_npy_read(&a, NULL, "acts.npy", NERVE_F32);   // any dtype, as float32
 *     if (rc == 0)
 *         rc = nerve_mat_from_array(&m, &a);   // (N, C...) viewed as N x prod(C...); a left empty
 *     if (rc == 0)
 *         rc = nerve_pca_fit(&p, &m, 2);       // p.scores: N x 2
 *     if (rc < 0) {
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *         return nerve_exit_status(rc);
 *     }
 *     printf("%lld x %lld; 2 components explain %.3f\n", (long long)m.rows, (long long)m.cols,
 *            p.explained_ratio[0] + p.explained_ratio[1]);
 *     nerve_pca_free(&p);
 *     nerve_mat_free(&m);
 *
 * Conventions (see DESIGN.md): functions that can fail return 0 or a negative
 * NERVE_E* code and leave a message for nerve_error() that names the file and
 * the problem. Outputs are written to a temporary file and renamed into place,
 * so a failure never leaves a half-written file. Types with heap memory have a
 * _free function; the caller owns the struct, the library what is inside.
 */
#ifndef NERVE_CORE_H
#define NERVE_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NERVE_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

enum {
    NERVE_OK        =  0,
    NERVE_EINPUT    = -1,  /* bad input: missing, malformed or unsupported data, bad value */
    NERVE_EUSAGE    = -2,  /* bad command line */
    NERVE_EIO       = -3,  /* the system failed to read or write (disk full, I/O error) */
    NERVE_ENOMEM    = -4,  /* out of memory */
    NERVE_EINTERNAL = -5,  /* a bug in nerve */
    NERVE_EUNSUPPORTED = -6, /* valid input nerve does not handle (an ONNX op, say) */
    NERVE_EINTERRUPTED = -7, /* stopped by SIGINT/SIGTERM; resumable work was kept */
};

/* The message of the last error on this thread ("" if none). */
const char *nerve_error(void);

/* Sets the message (printf-style) and returns code, so callers can write
 * `return nerve_error_set(NERVE_EINPUT, "%s: ...", path);`. */
int nerve_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A short name for a code ("bad input", "out of memory", ...). */
const char *nerve_strerror(int code);

/* The process exit status for a code: 0 ok, 2 bad input or usage, 130
 * interrupted, 1 else. */
int nerve_exit_status(int code);

/* ------------------------------------------------------------------------ */
/* Element types and storage                                                */
/* ------------------------------------------------------------------------ */

/* Append-only: the values may be stored by other rooms. */
typedef enum nerve_dtype {
    NERVE_F32 = 0, NERVE_I64, NERVE_F64, NERVE_F16,
    NERVE_I32, NERVE_I16, NERVE_I8,
    NERVE_U64, NERVE_U32, NERVE_U16, NERVE_U8,
    NERVE_BOOL,
} nerve_dtype;

const char *nerve_dtype_name(nerve_dtype t);   /* "float32", "int64", ... */
int         nerve_dtype_size(nerve_dtype t);   /* bytes per element */
int         nerve_dtype_is_float(nerve_dtype t);

/* Where an array's bytes live: nowhere, a 64-byte aligned heap block, or a
 * read-only memory map of a file. Private to the core room. */
typedef struct nerve_storage {
    void  *base;
    size_t len;
    int    kind;
} nerve_storage;


#define NERVE_MAX_DIMS 32          /* numpy's NPY_MAXDIMS before 2.0 */

/* An n-dimensional array in memory, C order, float32 or int64 (or uint8:
 * image bytes as read, which only nerve_idx_read makes and its reader
 * converts). */
typedef struct nerve_array {
    nerve_dtype   dtype;                  /* NERVE_F32 or NERVE_I64 (NERVE_U8) */
    int           ndim;
    int64_t       shape[NERVE_MAX_DIMS];
    void         *data;                   /* prod(shape) elements, row-major */
    nerve_storage storage;
} nerve_array;

/* Allocates a zeroed array; free with nerve_array_free. */
int     nerve_array_alloc(nerve_array *a, nerve_dtype dtype, int ndim, const int64_t *shape);
/* The same with undefined contents, for outputs a kernel overwrites whole. */
int     nerve_array_alloc_raw(nerve_array *a, nerve_dtype dtype, int ndim, const int64_t *shape);
void    nerve_array_free(nerve_array *a);
int64_t nerve_array_count(const nerve_array *a);  /* number of elements */

/* A float32 matrix, rows x cols, row-major, owned or memory-mapped. */
typedef struct nerve_mat {
    int64_t       rows, cols;
    float        *data;                   /* (rows, cols) */
    nerve_storage storage;
} nerve_mat;

int  nerve_mat_alloc(nerve_mat *m, int64_t rows, int64_t cols);   /* zeroed */
void nerve_mat_free(nerve_mat *m);
/* Moves a float32 array into a matrix: shape (N, d1, d2...) becomes
 * N x (d1*d2*...), a 1-D array N x 1, a 0-D array 1 x 1. `a` is left empty. */
int  nerve_mat_from_array(nerve_mat *m, nerve_array *a);
/* Reads a float32 matrix from .npy (any dtype, converted). */
int  nerve_mat_read_npy(nerve_mat *m, const char *path);
int  nerve_mat_write_npy(const char *path, const nerve_mat *m);

/* Converts n elements of type `from` (in the given byte order) into
 * float32 or int64 (`to`). Floats become int64 by truncation, NaN as 0. */
void nerve_convert(void *dst, nerve_dtype to, const void *src, nerve_dtype from,
                   int big_endian, int64_t n);

/* A shape as Python writes it, "(2, 3)", "(3,)", "()"; negative (symbolic)
 * dimensions print as "?". Truncated to cap. */
void nerve_shape_format(char *out, size_t cap, int ndim, const int64_t *shape);

/* A malloc'd double-precision copy of m with each column's mean removed;
 * means (may be NULL) receives the m->cols means. NULL if out of memory. */
double *nerve_mat_centered(const nerve_mat *m, double *means);

/* Overflow-checked size arithmetic: 0 on success, -1 on overflow. */
int nerve_mul_size(size_t a, size_t b, size_t *out);
/* Product of a shape; -1 on overflow or a negative dimension. */
int nerve_shape_count(int ndim, const int64_t *shape, int64_t *out);

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

/* An output file written under a temporary name and renamed into place on
 * commit, so readers never see half a file. */
typedef struct nerve_outfile {
    FILE *f;
    char *path;
    char *tmp;
} nerve_outfile;

int  nerve_outfile_open(nerve_outfile *o, const char *path);
/* The same under a temporary name the caller chooses and that survives the
 * process: keep > 0 keeps the file's first keep bytes (a resumed write),
 * failing if it is shorter. */
int  nerve_outfile_resume(nerve_outfile *o, const char *path, const char *tmp, size_t keep);
int  nerve_outfile_commit(nerve_outfile *o);   /* flush, close, rename */
void nerve_outfile_abort(nerve_outfile *o);    /* close and delete */
void nerve_outfile_suspend(nerve_outfile *o);  /* close, keep the temporary file for a resume */

/* Writes root and a newline to path through a temporary file, with
 * jansson's dump flags; every write, the sync and the rename checked. */
struct json_t;
int nerve_json_write(const char *path, const struct json_t *root, size_t flags);

/* Deletes the temporary files of the outputs this process has open (not
 * those kept for a resume). Async-signal-safe; runs at exit and on
 * SIGINT/SIGTERM/SIGHUP once nerve_signals_install was called. */
void nerve_temporaries_remove(void);

/* Creates a folder and its missing parents (mkdir -p); one that exists
 * already is fine. nerve_outfile_open makes a file's folder the same way. */
int nerve_dir_create(const char *path);

/* Maps a whole file read-only into st (a 0-byte file maps to nothing). */
int nerve_file_map(nerve_storage *st, const char *path);
void nerve_storage_free(nerve_storage *st);

typedef enum nerve_format {
    NERVE_FORMAT_UNKNOWN = 0, NERVE_FORMAT_NPY, NERVE_FORMAT_NPZ, NERVE_FORMAT_IDX,
} nerve_format;

/* Tells a file's format from its first bytes, looking through gzip;
 * *gzipped (may be NULL) says whether it was compressed. */
int nerve_file_sniff(nerve_format *format, int *gzipped, const char *path);

/* ------------------------------------------------------------------------ */
/* .npy                                                                     */
/* ------------------------------------------------------------------------ */

/* What a .npy header says. */
typedef struct nerve_npy_header {
    int         major, minor;              /* format version: 1.0, 2.0, 3.0 */
    char        descr[16];                 /* as written, e.g. "<f4" */
    nerve_dtype dtype;                     /* element type on disk */
    int         big_endian;
    int         fortran_order;
    int         ndim;
    int64_t     shape[NERVE_MAX_DIMS];
    size_t      data_offset;               /* bytes before the first element */
} nerve_npy_header;

/* Parses the header at the start of buf; label names the data in errors. */
int nerve_npy_parse_header(nerve_npy_header *h, const void *buf, size_t len, const char *label);

/* Reads a .npy file converted to `want` (NERVE_F32 or NERVE_I64) in C order.
 * A little-endian C-order float32 file read as float32 is memory-mapped, not
 * copied. h may be NULL. */
int nerve_npy_read(nerve_array *out, nerve_npy_header *h, const char *path, nerve_dtype want);
/* The same from bytes in memory (an .npz member, say); always copies. */
int nerve_npy_read_mem(nerve_array *out, nerve_npy_header *h, const void *buf, size_t len,
                       const char *label, nerve_dtype want);
/* Just the header of a file. */
int nerve_npy_read_header(nerve_npy_header *h, const char *path);

/* Writes a (float32 or int64) array as .npy format 1.0 (2.0 if the header
 * needs it). */
int nerve_npy_write(const char *path, const nerve_array *a);
/* The same into a malloc'd buffer the caller frees. */
int nerve_npy_encode(void **buf, size_t *len, const nerve_array *a);

/* A .npy writer that appends rows of a fixed shape and fixes the row count in
 * the header on close, so arrays larger than memory can be written. */
typedef struct nerve_npy_writer {
    nerve_outfile out;
    nerve_dtype   dtype;
    int           ndim;                    /* including the row dimension */
    int64_t       shape[NERVE_MAX_DIMS];   /* shape[0] counts rows so far */
    int64_t       row_count;               /* elements per row */
    size_t        header_len;
} nerve_npy_writer;

int  nerve_npy_writer_open(nerve_npy_writer *w, const char *path, nerve_dtype dtype,
                           int row_ndim, const int64_t *row_shape);
/* Opens a writer on the temporary file `partial` (kept if the process dies)
 * holding `rows` rows from an earlier run; rows = 0 starts afresh. */
int  nerve_npy_writer_resume(nerve_npy_writer *w, const char *path, const char *partial, nerve_dtype dtype,
                             int row_ndim, const int64_t *row_shape, int64_t rows);
int  nerve_npy_writer_append(nerve_npy_writer *w, const void *rows, int64_t nrows);
int  nerve_npy_writer_flush(nerve_npy_writer *w);
int  nerve_npy_writer_close(nerve_npy_writer *w);  /* fix header, rename into place */
void nerve_npy_writer_abort(nerve_npy_writer *w);  /* delete the partial file */
void nerve_npy_writer_suspend(nerve_npy_writer *w); /* close, keep the partial file */
/* Several processes filling one file (nerve-mpi's extraction): one opens
 * it afresh (nerve_npy_writer_resume, 0 rows) and lays it out, the header
 * for `rows` rows and the file that long, durably; then each joins it to
 * write its own rows from row `at` (shape[0] counts from there), syncs,
 * and suspends; the first, with shape[0] = rows, closes it into place. */
int  nerve_npy_writer_layout(nerve_npy_writer *w, int64_t rows);
int  nerve_npy_writer_join(nerve_npy_writer *w, const char *path, const char *partial, nerve_dtype dtype,
                           int row_ndim, const int64_t *row_shape, int64_t rows, int64_t at);
int  nerve_npy_writer_sync(nerve_npy_writer *w);   /* flush and fsync the rows so far */

/* ------------------------------------------------------------------------ */
/* .npz                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct nerve_npz {
    char    *path;
    void    *zip;          /* zip_t * */
    int64_t  count;        /* members */
    char   **names;        /* member names as stored, e.g. "x.npy" */
} nerve_npz;

int  nerve_npz_open(nerve_npz *z, const char *path);
/* Reads member `name` ("x" or "x.npy") converted to `want`. h may be NULL. */
int  nerve_npz_read(nerve_npz *z, const char *name, nerve_dtype want,
                    nerve_array *out, nerve_npy_header *h);
/* Only the header of member `name`: reads no more of it than that. */
int  nerve_npz_read_header(nerve_npz *z, const char *name, nerve_npy_header *h);
void nerve_npz_close(nerve_npz *z);

typedef struct nerve_npz_member {
    const char        *name;     /* without ".npy" */
    const nerve_array *array;
} nerve_npz_member;

/* Writes an .npz; compress = 0 stores members, 1 deflates them (savez_compressed). */
int nerve_npz_write(const char *path, const nerve_npz_member *members, int64_t count, int compress);

/* ------------------------------------------------------------------------ */
/* IDX (MNIST, Fashion-MNIST), plain or gzip                                */
/* ------------------------------------------------------------------------ */

/* Reads an IDX file converted to `want` (NERVE_F32, NERVE_I64, or NERVE_U8
 * for the bytes of a uint8 file as they are); stored (may be NULL)
 * receives the element type on disk. */
int nerve_idx_read(nerve_array *out, nerve_dtype *stored, const char *path, nerve_dtype want);

/* Fashion-MNIST from Debian's dataset-fashion-mnist (or $NERVE_FASHION_MNIST
 * if set). split is "train" or "test". images: float32 (N, 28, 28) with the
 * raw 0..255 values; labels: int64 (N). Either output may be NULL. */
const char *nerve_fashion_mnist_dir(void);
/* The path of one file: part is "images" or "labels"; an unknown split is
 * NERVE_EINPUT. */
int nerve_fashion_mnist_path(char *out, size_t cap, const char *split, const char *part);
int nerve_fashion_mnist_load(nerve_array *images, nerve_array *labels, const char *split);
/* The same with the images as images_as: NERVE_F32, or NERVE_U8 for the
 * stored bytes (a quarter of the memory; what a reader converts batch by
 * batch). */
int nerve_fashion_mnist_read(nerve_array *images, nerve_array *labels, const char *split, nerve_dtype images_as);

/* ------------------------------------------------------------------------ */
/* Images                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct nerve_image {
    int64_t  height, width, channels;
    uint8_t *pixels;            /* (height, width, channels) */
} nerve_image;

/* Reads PNG or JPEG; channels = 0 keeps the file's, 1..4 converts. */
int  nerve_image_read(nerve_image *img, const char *path, int channels);
/* An image's dimensions and channels from its header, without decoding. */
int  nerve_image_info(const char *path, int64_t *height, int64_t *width, int64_t *channels);
int  nerve_image_write_png(const char *path, const nerve_image *img);

/* A PNG written in bands of rows (png_bands.c): each band compressed on
 * its own, anywhere, then joined in order; the bytes depend on where the
 * bands start, not on who compressed them. */
typedef struct nerve_png_band {
    uint8_t *data;      /* raw deflate; all but the last band end on a byte boundary */
    size_t   bytes;
    size_t   raw;       /* the filtered bytes it holds */
    uint32_t adler;     /* their Adler-32 */
} nerve_png_band;
/* rows x width pixels of `channels` (1 or 3) bytes; last: the image's
 * bottom band. */
int  nerve_png_band_compress(nerve_png_band *b, const uint8_t *pixels, int64_t width, int64_t rows, int channels,
                             int last);
void nerve_png_band_free(nerve_png_band *b);
/* The bands, top to bottom, as one PNG of height x width (through a
 * temporary file). */
int  nerve_png_bands_write(const char *path, int64_t width, int64_t height, int channels,
                           const nerve_png_band *bands, int n);
void nerve_image_free(nerve_image *img);

/* ------------------------------------------------------------------------ */
/* Statistics of a float array                                              */
/* ------------------------------------------------------------------------ */

typedef struct nerve_stats {
    int64_t count;              /* all elements */
    int64_t nan, inf;           /* non-finite elements, excluded below */
    double  min, max, mean, std;/* over the finite elements (population std) */
} nerve_stats;

/* 0, or NERVE_ENOMEM (s then holds no figures). */
int nerve_stats_f32(nerve_stats *s, const float *x, int64_t n);
int nerve_stats_i64(nerve_stats *s, const int64_t *x, int64_t n);

/* qsort's comparison of two doubles, ascending. */
int  nerve_compare_doubles(const void *a, const void *b);

/* ------------------------------------------------------------------------ */
/* Base64                                                                   */
/* ------------------------------------------------------------------------ */

/* data as RFC 4648 base64, NUL-terminated (free it); *out_len (may be
 * NULL) its length. NULL when out of memory. */
char *nerve_base64(const void *data, size_t n, size_t *out_len);

/* ------------------------------------------------------------------------ */
/* Random numbers: xoshiro256** seeded through splitmix64                   */
/* ------------------------------------------------------------------------ */

typedef struct nerve_rng {
    uint64_t s[4];
} nerve_rng;

void     nerve_rng_seed(nerve_rng *r, uint64_t seed);
/* An independent stream for (seed, stream): gives each thread or each item
 * its own generator so results do not depend on the thread count. */
void     nerve_rng_stream(nerve_rng *r, uint64_t seed, uint64_t stream);
uint64_t nerve_rng_next(nerve_rng *r);
double   nerve_rng_uniform(nerve_rng *r);            /* [0, 1) */
uint64_t nerve_rng_below(nerve_rng *r, uint64_t n);  /* [0, n), unbiased */
double   nerve_rng_normal(nerve_rng *r);             /* N(0, 1) */

/* ------------------------------------------------------------------------ */
/* Libraries loaded on first use                                            */
/* ------------------------------------------------------------------------ */

/* The heavy dependencies (OpenBLAS with LAPACKE, FFTW, libzip,
 * libmicrohttpd with GnuTLS) are not linked: each is opened by the first
 * call into it, so a command pays only for what it uses (`nerve ph` on a
 * small cloud starts at 3 MB instead of 11). A library that cannot be
 * opened is an error naming it, never an exit. The functions that read
 * .npz files, compute t-SNE's FFT forces or serve check their library
 * themselves; for OpenBLAS and LAPACKE, whose functions return nothing, a
 * program calls this once before using nerve's numerical functions (the
 * nerve command does it for every command that computes): 0, or
 * NERVE_EUNSUPPORTED with a message naming the missing library. Without
 * it, a missing OpenBLAS stops the process at its first use. */
int nerve_blas_require(void);

/* ------------------------------------------------------------------------ */
/* Principal components (pca.c): the embed command, Mapper's lenses and    */
/* neighbourhoods use them                                                  */
/* ------------------------------------------------------------------------ */

typedef struct nerve_pca {
    int64_t   n, d, k;
    nerve_mat scores;            /* N x k: the centred data on the components */
    double   *components;        /* k x d, unit rows */
    double   *explained;         /* k variances (divided by N - 1, as scikit-learn) */
    double   *explained_ratio;   /* k shares of the total variance */
    double   *mean;              /* d column means */
} nerve_pca;

/* The first k principal components of points (N x d, k <= min(N, d)). Signs
 * follow scikit-learn's svd_flip: each score column's entry of largest
 * magnitude is positive. */
int  nerve_pca_fit(nerve_pca *p, const nerve_mat *points, int64_t k);
void nerve_pca_free(nerve_pca *p);

/* ------------------------------------------------------------------------ */
/* Progress and threads                                                     */
/* ------------------------------------------------------------------------ */

/* For every command (main calls it first): SIGINT, SIGTERM or SIGHUP end
 * the process after deleting its temporary files (a normal end of the
 * process deletes them whether or not this was called). */
void nerve_signals_install(void);
/* Then the first SIGINT or SIGTERM only sets a flag long loops check
 * between steps, so they can stop cleanly and keep what a rerun resumes
 * from; a second one ends the process at once. */
void nerve_catch_interrupts(void);
int  nerve_interrupted(void);

/* Quiet mode silences progress bars (--quiet). */
void nerve_set_quiet(int quiet);
int  nerve_quiet(void);

typedef struct nerve_progress {
    FILE       *out;            /* NULL when disabled */
    const char *label;
    int64_t     total, done;
    double      start, last_draw;
} nerve_progress;

/* A bar on stderr when it is a terminal and not quiet, silent otherwise. */
void nerve_progress_begin(nerve_progress *p, const char *label, int64_t total);
/* The same drawn to `out` unconditionally (for tests and logs). */
void nerve_progress_begin_to(nerve_progress *p, FILE *out, const char *label, int64_t total);
void nerve_progress_update(nerve_progress *p, int64_t done);
void nerve_progress_end(nerve_progress *p);

/* Sets the thread count: requested > 0 wins, then $OMP_NUM_THREADS, then
 * every core. Returns the count in force, or NERVE_EINPUT for a bad
 * $OMP_NUM_THREADS. */
int nerve_threads_init(int requested);
int nerve_threads(void);

/* Seconds on a monotonic clock. */
double nerve_now(void);

#endif /* NERVE_CORE_H */
