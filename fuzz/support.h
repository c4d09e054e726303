/*
 * support.h — what the libFuzzer harnesses share: a quiet single-threaded
 * library, and the fuzzer's bytes as a file for APIs that take a path.
 */
#ifndef NERVE_FUZZ_SUPPORT_H
#define NERVE_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* One thread (a run's cost is then the input's, not the scheduler's), no
 * progress bars, and the model tensor limit lowered to 16 MiB: a hostile
 * size is refused far below libFuzzer's 2 GB RSS limit, and a legal but
 * large tensor does not spend the 10 s timeout on instrumented loops, so
 * an input that still exhausts memory or time is a real finding. Call
 * from every harness's LLVMFuzzerInitialize. */
void fuzz_init(void);

/* Writes data to this process's scratch file whose name ends in suffix
 * (".npz", ".gz", ...) and returns its path (valid until the next call). */
const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix);

/* A fresh empty scratch folder of this process (its old files removed);
 * the harness writes what it needs inside. */
const char *fuzz_dir(void);

/* data as a NUL-terminated string (free it); NULL when out of memory. */
char *fuzz_string(const uint8_t *data, size_t size);

#endif
