/*
 * test_hostile_core.c — the core readers against files whose size fields
 * lie (issue 15, rows 6 and 7, point 2): every size read from a file is
 * checked against what the file can really hold before anything is
 * allocated, and compressed data is inflated only as far as its header
 * promises. The .npz files come from tests/fixtures/hostile/make_core.py;
 * the IDX and PNG files are built here.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <zlib.h>

#include "nerve/core.h"
#include "../support/support.h"

/* Caps this test's address space (Criterion runs each test in its own
 * process), so that a reader allocating gigabytes from a lying size field
 * fails with "out of memory" instead of a clean message about the file.
 * AddressSanitizer reserves terabytes of shadow memory up front, so there
 * the cap is left off and the test checks the messages alone. */
static void limit_memory(void)
{
#if !defined(__SANITIZE_ADDRESS__)
    struct rlimit r = { (rlim_t)1 << 30, (rlim_t)1 << 30 };
    cr_assert_eq(setrlimit(RLIMIT_AS, &r), 0);
#endif
}

#define assert_error(rc, want_code, part)                                                    \
    do {                                                                                     \
        cr_assert_eq((rc), (want_code), "rc %d: %s", (rc), nerve_error());                   \
        cr_assert(strstr(nerve_error(), (part)), "message lacks '%s': %s", (part), nerve_error()); \
    } while (0)

/* ---- .npz (row 6) ----------------------------------------------------------- */

static void read_member(const char *file, int *header_rc, int *read_rc)
{
    nerve_npz z;
    cr_assert_eq(nerve_npz_open(&z, fixture(file)), 0, "%s", nerve_error());
    nerve_npy_header h;
    nerve_array a;
    *header_rc = nerve_npz_read_header(&z, "x", &h);
    char first[1024];
    snprintf(first, sizeof first, "%s", nerve_error());
    *read_rc = nerve_npz_read(&z, "x", NERVE_F32, &a, NULL);
    char second[1024];
    snprintf(second, sizeof second, "%s", nerve_error());
    nerve_npz_close(&z);
    /* Both messages, the header's first, for the assertions that follow. */
    nerve_error_set(*header_rc, "%s | %s", first, second);
}

Test(hostile_npz, header_length_of_4gb_is_not_believed)
{
    limit_memory();
    int header_rc, read_rc;
    read_member("hostile/core/npz_header_len_4gb.npz", &header_rc, &read_rc);
    cr_assert_eq(read_rc, NERVE_EINPUT, "%s", nerve_error());
    assert_error(header_rc, NERVE_EINPUT, "header length 4294967280 is implausible");
    cr_assert(strstr(nerve_error(), "npz_header_len_4gb.npz:x.npy"), "%s", nerve_error());
}

Test(hostile_npz, entry_declaring_4gb_is_not_allocated)
{
    limit_memory();
    const char *files[] = { "hostile/core/npz_declares_4gb_deflated.npz",
                            "hostile/core/npz_declares_4gb_stored.npz" };
    for (int i = 0; i < 2; i++) {
        int header_rc, read_rc;
        read_member(files[i], &header_rc, &read_rc);
        cr_assert_eq(header_rc, NERVE_EINPUT, "%s", nerve_error());
        assert_error(read_rc, NERVE_EINPUT, "declares 4294967280 bytes");
    }
}

Test(hostile_npz, members_of_10_and_11_bytes_are_truncated_not_read_past)
{
    const char *files[] = { "hostile/core/npz_member_10_bytes.npz",
                            "hostile/core/npz_member_11_bytes.npz" };
    const char *sizes[] = { "10 bytes", "11 bytes" };
    for (int i = 0; i < 2; i++) {
        int header_rc, read_rc;
        read_member(files[i], &header_rc, &read_rc);
        cr_assert_eq(read_rc, NERVE_EINPUT, "%s", nerve_error());
        assert_error(header_rc, NERVE_EINPUT, "shorter than a version 2 .npy header");
        cr_assert(strstr(nerve_error(), sizes[i]), "%s", nerve_error());
    }
}

/* ---- IDX (row 7) ------------------------------------------------------------ */

/* An IDX of unsigned bytes whose header gives `dims` but whose payload is
 * payload_len zero bytes, gzip'd (level 1: fast) or plain. */
static const char *write_idx(const char *name, int gz, const uint32_t *dims, int ndim,
                             size_t payload_len)
{
    unsigned char header[4 + 4 * 8] = { 0, 0, 0x08, (unsigned char)ndim };
    for (int i = 0; i < ndim; i++)
        for (int b = 0; b < 4; b++)
            header[4 + 4 * i + b] = (unsigned char)(dims[i] >> (24 - 8 * b));
    const char *path = temp_path(name);
    gzFile f = gzopen(path, gz ? "wb1" : "wbT");
    cr_assert_not_null(f);
    gzwrite(f, header, 4 + 4 * (unsigned)ndim);
    static unsigned char zeros[1 << 16];
    for (size_t done = 0; done < payload_len;) {
        size_t n = payload_len - done < sizeof zeros ? payload_len - done : sizeof zeros;
        cr_assert_eq(gzwrite(f, zeros, (unsigned)n), (int)n);
        done += n;
    }
    cr_assert_eq(gzclose(f), Z_OK);
    return path;
}

Test(hostile_idx, gzip_stream_longer_than_its_header_is_refused_without_inflating_it)
{
    /* 10 images of 28 x 28, then 64 MB of zeros more: nerve inflated the
     * whole stream (the 2 GB case took 4.2 GB and 26 s) and then
     * kept the first 7,840 bytes without a word. */
    uint32_t dims[3] = { 10, 28, 28 };
    const char *path = write_idx("long.idx.gz", 1, dims, 3, 10 * 784 + ((size_t)64 << 20));
    limit_memory();
    nerve_array a;
    double start = nerve_now();
    int rc = nerve_idx_read(&a, NULL, path, NERVE_F32);
    assert_error(rc, NERVE_EINPUT, "more data than the IDX header's shape holds");
    cr_assert_lt(nerve_now() - start, 0.5, "inflated past the payload: %.2f s", nerve_now() - start);
}

Test(hostile_idx, plain_file_longer_than_its_header_is_refused)
{
    uint32_t dims[2] = { 10, 4 };
    const char *path = write_idx("long.idx", 0, dims, 2, 41);
    nerve_array a;
    assert_error(nerve_idx_read(&a, NULL, path, NERVE_F32), NERVE_EINPUT, "more data than");
}

Test(hostile_idx, header_promising_more_than_the_gzip_can_hold)
{
    /* 60000 x 60000 bytes (3.6 GB) from a gzip file of a few dozen bytes:
     * refused from the header, before any allocation. */
    uint32_t dims[3] = { 1, 60000, 60000 };
    const char *path = write_idx("huge.idx.gz", 1, dims, 3, 100);
    limit_memory();
    nerve_array a;
    assert_error(nerve_idx_read(&a, NULL, path, NERVE_F32), NERVE_EINPUT, "cannot hold that much");
    path = write_idx("huge.idx", 0, dims, 3, 100);
    assert_error(nerve_idx_read(&a, NULL, path, NERVE_F32), NERVE_EINPUT, "is shorter");
}

Test(hostile_idx, gzip_shorter_than_its_header_or_cut_before_its_trailer)
{
    uint32_t dims[2] = { 100, 100 };
    const char *path = write_idx("short.idx.gz", 1, dims, 2, 9999);
    nerve_array a;
    assert_error(nerve_idx_read(&a, NULL, path, NERVE_F32), NERVE_EINPUT, "needs 10000 bytes");
    /* The whole payload but not the gzip trailer (CRC and length). */
    path = write_idx("whole.idx.gz", 1, dims, 2, 10000);
    FILE *f = fopen(path, "rb");
    unsigned char buf[4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_gt(len, 8);
    write_bytes(path, buf, len - 8);
    cr_assert_eq(nerve_idx_read(&a, NULL, path, NERVE_F32), NERVE_EINPUT);
    /* And the same file whole still reads. */
    path = write_idx("whole2.idx.gz", 1, dims, 2, 10000);
    cr_assert_eq(nerve_idx_read(&a, NULL, path, NERVE_I64), 0, "%s", nerve_error());
    cr_assert_eq(a.shape[0], 100);
    nerve_array_free(&a);
}

/* ---- images (point 2) ---------------------------------------------------- */

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

Test(hostile_image, png_claiming_16000_by_16000_is_refused_before_decoding)
{
    /* A 60-byte PNG whose header claims 16000 x 16000 RGBA: stb_image
     * allocated 1 GB for the output and as much for the inflated rows
     * before finding the data missing (it does not check CRCs, so they are
     * left zero here). */
    unsigned char png[8 + 25 + 12 + 13 + 12] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    unsigned char *p = png + 8;
    put32(p, 13);
    memcpy(p + 4, "IHDR", 4);
    put32(p + 8, 16000);
    put32(p + 12, 16000);
    p[16] = 8;       /* bit depth */
    p[17] = 6;       /* RGBA */
    p += 25;
    put32(p, 1);
    memcpy(p + 4, "IDAT", 4);
    p[8] = 0x78;     /* a zlib stream cut after one byte */
    p += 13;
    put32(p, 0);
    memcpy(p + 4, "IEND", 4);
    const char *path = temp_path("huge.png");
    write_bytes(path, png, sizeof png);
    limit_memory();
    nerve_image img;
    assert_error(nerve_image_read(&img, path, 3), NERVE_EINPUT, "16000 x 16000 pixels");
    cr_assert(strstr(nerve_error(), "larger than nerve reads"), "%s", nerve_error());
}

/* ---- a resume record's row count (point 2) ------------------------------ */

Test(hostile_npy, writer_resume_from_a_corrupt_row_count)
{
    /* The row count comes from the extraction's state file: a negative
     * count started a file whose header said -5 rows, a huge one overflowed
     * rows x row size (UBSan). */
    const char *path = temp_path("acts.npy"), *partial = temp_path("acts.npy.partial");
    write_bytes(partial, "0123456789", 10);
    int64_t row[1] = { 4 };
    int64_t counts[2] = { -5, INT64_MAX / 2 };
    for (int i = 0; i < 2; i++) {
        nerve_npy_writer w;
        int rc = nerve_npy_writer_resume(&w, path, partial, NERVE_F32, 1, row, counts[i]);
        if (rc == 0)
            nerve_npy_writer_abort(&w);
        assert_error(rc, NERVE_EINPUT, "cannot resume from");
    }
}

/* ---- JPEG Huffman tables (found by fuzzing) ------------------------------ */

Test(hostile_image, jpeg_huffman_table_of_more_than_256_codes_is_refused)
{
    /* SOI, then a DHT segment whose one table claims 20 codes of each of
     * the 16 lengths (320 > 256), then EOI: Debian's stb_image, nerve's
     * decoder then, wrote past its 257-entry size table (UBSan: index 257
     * out of bounds). libjpeg must refuse it as a bogus table. */
    unsigned char jpeg[2 + 4 + 1 + 16 + 320 + 2] = { 0xFF, 0xD8, 0xFF, 0xC4 };
    int length = 2 + 1 + 16 + 320;
    jpeg[4] = (unsigned char)(length >> 8);
    jpeg[5] = (unsigned char)length;
    jpeg[6] = 0x00;   /* a DC table, number 0 */
    memset(jpeg + 7, 20, 16);
    for (int i = 0; i < 320; i++)
        jpeg[23 + i] = (unsigned char)i;
    jpeg[sizeof jpeg - 2] = 0xFF;
    jpeg[sizeof jpeg - 1] = 0xD9;
    const char *path = temp_path("huffman.jpg");
    write_bytes(path, jpeg, sizeof jpeg);
    nerve_image img;
    assert_error(nerve_image_read(&img, path, 3), NERVE_EINPUT, "Huffman table");
}

Test(hostile_image, real_jpegs_still_read)
{
    nerve_image img;
    cr_assert_eq(nerve_image_read(&img, fixture("image/rgb.jpg"), 3), 0, "%s", nerve_error());
    cr_assert_gt(img.width, 0);
    nerve_image_free(&img);
}

Test(hostile_image, other_formats_stb_knows_are_refused)
{
    /* An 18-byte TGA header claiming 8000 x 8000 run-length-encoded true
     * colour pixels: stb's TGA decoder looped over all 64 million at the
     * end of the file (found by fuzzing). nerve reads PNG and JPEG only. */
    unsigned char tga[18 + 4] = { 0, 0, 10 };
    tga[12] = 8000 & 0xFF;
    tga[13] = 8000 >> 8;
    tga[14] = 8000 & 0xFF;
    tga[15] = 8000 >> 8;
    tga[16] = 24;
    const char *path = temp_path("big.tga");
    write_bytes(path, tga, sizeof tga);
    nerve_image img;
    assert_error(nerve_image_read(&img, path, 3), NERVE_EINPUT, "not a PNG or JPEG image");
}

Test(hostile_image, a_small_file_claiming_millions_of_pixels_is_refused)
{
    /* 3000 x 3000 RGB (27 MB decoded, under the 256 MiB bound) from a
     * 70-byte PNG: refused by the decoded-to-file ratio before decoding. */
    unsigned char png[8 + 25 + 12 + 13 + 12] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    unsigned char *p = png + 8;
    put32(p, 13);
    memcpy(p + 4, "IHDR", 4);
    put32(p + 8, 3000);
    put32(p + 12, 3000);
    p[16] = 8;
    p[17] = 2;       /* RGB */
    p += 25;
    put32(p, 1);
    memcpy(p + 4, "IDAT", 4);
    p[8] = 0x78;
    p += 13;
    put32(p, 0);
    memcpy(p + 4, "IEND", 4);
    const char *path = temp_path("claims.png");
    write_bytes(path, png, sizeof png);
    nerve_image img;
    assert_error(nerve_image_read(&img, path, 3), NERVE_EINPUT, "truncated or corrupt");
}

Test(hostile_image, png_whose_first_idat_is_empty_is_refused)
{
    /* IHDR of 7 x 5 grey, then an IDAT of 0 bytes: stb_image, nerve's
     * decoder then, applied an offset to a buffer it had not allocated yet
     * (UBSan; found by fuzzing). Any decoder must refuse it cleanly. */
    unsigned char png[8 + 25 + 12 + 12] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    unsigned char *p = png + 8;
    put32(p, 13);
    memcpy(p + 4, "IHDR", 4);
    put32(p + 8, 7);
    put32(p + 12, 5);
    p[16] = 8;
    p[17] = 0;
    p += 25;
    put32(p, 0);
    memcpy(p + 4, "IDAT", 4);
    p += 12;
    put32(p, 0);
    memcpy(p + 4, "IEND", 4);
    const char *path = temp_path("empty-idat.png");
    write_bytes(path, png, sizeof png);
    nerve_image img;
    assert_error(nerve_image_read(&img, path, 3), NERVE_EINPUT, "Not enough image data");
}
