/*
 * core_internal.h — pieces shared between the core room's files and not
 * part of the public API.
 */
#ifndef NERVE_CORE_INTERNAL_H
#define NERVE_CORE_INTERNAL_H

#include <stdio.h>

#include "nerve/core.h"

enum { STORAGE_NONE = 0, STORAGE_HEAP, STORAGE_MAP };

/* A zeroed, 64-byte aligned heap block of len bytes. */
int storage_alloc(nerve_storage *st, size_t len);

/* The fixed start of a .npy file: magic, version, header length. */
typedef struct npy_preamble {
    int    major, minor;
    size_t start;          /* where the header dict begins: 10, or 12 from version 2 */
    size_t header_len;     /* bytes of dict and padding after start */
} npy_preamble;

/* numpy refuses headers over 10,000 bytes by default (max_header_size);
 * a header nerve accepts (32 dimensions, plain dtype) needs under 1,000.
 * Padding may make it longer, so the bound is generous, but a length
 * field of gigabytes is never believed. */
#define NPY_MAX_HEADER_LEN (1 << 20)

/* Parses the preamble at the start of buf (len bytes, of which 10 are
 * needed, 12 for versions 2 and 3); never reads past len. */
int npy_parse_preamble(npy_preamble *pre, const void *buf, size_t len, const char *label);

/* The bytes of data a parsed header promises (shape x element size),
 * overflow-checked; NERVE_EINPUT naming the shape if it does not fit. */
int npy_data_size(const nerve_npy_header *h, const char *label, size_t *bytes);

/* Formats a .npy header (magic to '\n') for a little-endian C-order array,
 * padded so the data starts on a 64-byte boundary and the header is at least
 * min_len bytes. Returns its length, or 0 if cap is too small. */
size_t npy_format_header(char *out, size_t cap, nerve_dtype dtype, int ndim,
                         const int64_t *shape, size_t min_len);

/* Rearranges a Fortran-order array of `shape` into C order (elements of
 * elem_size bytes). */
void fortran_to_c(void *dst, const void *src, int ndim, const int64_t *shape, size_t elem_size);

/* ---- images (image.c, image_png.c, image_jpeg.c) ---- */

/* The decoded size nerve accepts: 256 MiB, an 8192 x 8192 RGBA image. A
 * decoder allocates from the dimensions in the header before it decodes a
 * pixel, so a 100-byte file claiming 20000 x 20000 would cost gigabytes; a
 * network's input images are far below this. */
#define IMAGE_MAX_BYTES ((int64_t)1 << 28)

/* 0 if an image of h x w x channels from a file of file_size bytes may be
 * decoded: under IMAGE_MAX_BYTES, and not claiming far more pixels than
 * the file could hold. NERVE_EINPUT naming path otherwise. */
int image_check_size(const char *path, int64_t h, int64_t w, int64_t channels, int64_t file_size);

/* Decoders from f at its start: the whole image in the file's own channels
 * (1 to 4, 8 bits each) into img, or with header_only its dimensions and
 * no pixels. NERVE_EINPUT naming path for a corrupt file. */
int image_png_decode(nerve_image *img, FILE *f, const char *path, int64_t file_size, int header_only);
int image_jpeg_decode(nerve_image *img, FILE *f, const char *path, int64_t file_size, int header_only);

/* libzip opened (lazy_zip.c): 0, or NERVE_EUNSUPPORTED naming it. */
int nerve_zip_require(void);

#endif
