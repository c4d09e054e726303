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

int study_skip_layer(json_t *skipped, const char *stage, const char *layer)
{
    if (!nerve_quiet())
        fprintf(stderr, "nerve: warning: %s: %s skipped: %s\n", stage, layer, nerve_error());
    if (json_array_append_new(skipped, json_pack("{s:s, s:s}", "layer", layer, "reason", nerve_error())) < 0)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    return 0;
}
