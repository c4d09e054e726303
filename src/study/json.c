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
    int rc = nerve_json_write(path, root, JSON_INDENT(2));
    json_decref(root);
    return rc;
}
