/* fuzz_npz.c — an .npz (zip) file: every member's header, then its data. */
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
    nerve_npz z;
    if (nerve_npz_open(&z, fuzz_file(data, size, ".npz")) < 0)
        return 0;
    for (int64_t i = 0; i < z.count; i++) {
        nerve_npy_header h;
        nerve_array a;
        if (nerve_npz_read_header(&z, z.names[i], &h) == 0 && nerve_npz_read(&z, z.names[i], NERVE_F32, &a, &h) == 0)
            nerve_array_free(&a);
    }
    nerve_npz_close(&z);
    return 0;
}
