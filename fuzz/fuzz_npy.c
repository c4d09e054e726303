/* fuzz_npy.c — an .npy file's bytes, read from memory as float32 and as int64. */
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
    const nerve_dtype wants[] = { NERVE_F32, NERVE_I64 };
    for (int i = 0; i < 2; i++) {
        nerve_array a;
        nerve_npy_header h;
        if (nerve_npy_read_mem(&a, &h, data, size, "fuzz.npy", wants[i]) == 0)
            nerve_array_free(&a);
    }
    return 0;
}
