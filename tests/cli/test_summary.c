/*
 * test_summary.c — the table `nerve run` ends with (nerve_study_summary)
 * names each layer by its readable display name, as the viewer does, in a
 * column as wide as the longest.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/study.h"
#include "../support/support.h"

static const char *const taps[] = { "/features/features.0/conv/Conv_output_0", "/classifier/fc/Gemm_output_0" };
enum { LAYERS = 2 };

/* A study with the two layers above, 4 rows of 3 each, and nothing else. */
static const char *make_study(void)
{
    static char dir_path[4096];
    snprintf(dir_path, sizeof dir_path, "%s", temp_path("manifest.json"));
    *strrchr(dir_path, '/') = '\0';   /* the test's own folder is the study */
    const char *dir = dir_path;
    json_t *layers = json_array();
    for (int i = 0; i < LAYERS; i++) {
        char file[64];
        snprintf(file, sizeof file, "layer%d.npy", i);
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, file);
        write_npy_raw(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", 4 * 3 * 4);
        json_array_append_new(layers, json_pack("{s:s, s:s, s:i, s:i}", "name", taps[i], "file", file, "rows", 4,
                                                "dim", 3));
    }
    json_t *manifest = json_pack("{s:{s:i, s:s}, s:o}", "inputs", "count", 4, "spec", "x.npy", "layers", layers);
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    cr_assert_eq(json_dump_file(manifest, path, 0), 0);
    json_decref(manifest);
    return dir;
}

/* The display names nerve gives the taps (the room's own rule). */
static void display_names(const char *dir, char names[LAYERS][256])
{
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *manifest = json_load_file(path, 0, NULL);
    cr_assert(manifest);
    cr_assert_geq(nerve_study_display_names(manifest), 0, "%s", nerve_error());
    for (int i = 0; i < LAYERS; i++) {
        json_t *layer = json_array_get(json_object_get(manifest, "layers"), (size_t)i);
        const char *d = json_string_value(json_object_get(layer, "display"));
        cr_assert(d && strcmp(d, taps[i]) != 0, "no shorter display name for %s", taps[i]);
        snprintf(names[i], 256, "%s", d);
    }
    json_decref(manifest);
}

Test(cli_summary, the_table_shows_display_names)
{
    const char *dir = make_study();
    char names[LAYERS][256];
    display_names(dir, names);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    cr_assert(out);
    cr_assert_geq(nerve_study_summary(dir, out), 0, "%s", nerve_error());
    fclose(out);
    int width = 5;
    for (int i = 0; i < LAYERS; i++)
        width = (int)strlen(names[i]) > width ? (int)strlen(names[i]) : width;
    char header[64];
    snprintf(header, sizeof header, "%-*s    points", width, "layer");
    cr_expect(strncmp(text, header, strlen(header)) == 0, "the name column is not %d wide:\n%s", width, text);
    for (int i = 0; i < LAYERS; i++) {
        char line[320];
        snprintf(line, sizeof line, "\n%-*s         4      3", width, names[i]);
        cr_expect(strstr(text, line), "no line for %s:\n%s", names[i], text);
        cr_expect(!strstr(text, taps[i]), "the tap name %s is shown:\n%s", taps[i], text);
    }
    free(text);
}
