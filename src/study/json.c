/*
 * json.c — the study's JSON files (manifest, index), written whole under a
 * temporary name like every other output.
 */
#include <jansson.h>
#include <stdio.h>

#include "nerve/study.h"
#include "study_internal.h"

int study_write_json(const char *path, json_t *root)
{
    nerve_outfile f;
    int rc = nerve_outfile_open(&f, path);
    if (rc == 0) {
        json_dumpf(root, f.f, JSON_INDENT(2));
        fputc('\n', f.f);
        rc = nerve_outfile_commit(&f);
    }
    json_decref(root);
    return rc;
}
