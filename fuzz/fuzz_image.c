/* fuzz_image.c — a PNG or JPEG through nerve's image reader, with the
 * file's channels and converted to 3 (what a study's inputs ask for). */
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
    int jpeg = size >= 2 && data[0] == 0xff && data[1] == 0xd8;
    const char *path = fuzz_file(data, size, jpeg ? ".jpg" : ".png");
    const int channels[] = { 0, 3 };
    for (int i = 0; i < 2; i++) {
        nerve_image img;
        if (nerve_image_read(&img, path, channels[i]) == 0)
            nerve_image_free(&img);
    }
    return 0;
}
