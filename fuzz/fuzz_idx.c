/* fuzz_idx.c — an IDX file (MNIST's format), plain or gzip: the reader
 * tells them apart by the gzip magic, so one harness covers both. */
#include "nerve/core.h"
#include "support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int gzipped = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    nerve_array a;
    nerve_dtype stored;
    if (nerve_idx_read(&a, &stored, fuzz_file(data, size, gzipped ? "-ubyte.gz" : "-ubyte"), NERVE_F32) == 0)
        nerve_array_free(&a);
    return 0;
}
