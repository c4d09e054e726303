/*
 * fuzz_manifest.c — a study's manifest.json, as the analyses read it (the
 * layer list) and as `nerve run` prints its summary.
 */
#include <stdio.h>

#include "nerve/study.h"
#include "support.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    devnull = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fuzz_dir();
    char path[1024];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    nerve_study_layer_list l;
    if (nerve_study_layers(&l, dir) == 0)
        nerve_study_layer_list_free(&l);
    nerve_study_summary(dir, devnull);
    return 0;
}
