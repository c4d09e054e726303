/*
 * diagram_json.c — persistence diagrams as nerve writes them: a JSON list
 * of dimensions ({dim, count, entropy, total_persistence, pairs: [[birth,
 * death], ...]}, null death for classes that never die), and one .npy per
 * dimension beside a JSON file.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nerve/ph.h"

json_t *nerve_ph_diagrams_json(const nerve_ph *ph)
{
    json_t *all = json_array();
    for (int d = 0; d <= ph->max_dim; d++) {
        const nerve_diagram *g = &ph->dgm[d];
        json_t *pairs = json_array();
        for (int64_t i = 0; i < g->n; i++)
            json_array_append_new(pairs, json_pack("[f, o]", g->birth[i],
                                                   isinf(g->death[i]) ? json_null() : json_real(g->death[i])));
        json_array_append_new(all, json_pack("{s:i, s:I, s:f, s:f, s:o}", "dim", d, "count", (json_int_t)g->n,
                                             "entropy", nerve_diagram_entropy(g), "total_persistence",
                                             nerve_diagram_total_persistence(g, 1), "pairs", pairs));
    }
    return all;
}

int nerve_ph_write_npys(const char *json_path, const nerve_ph *ph)
{
    size_t n = strlen(json_path);
    int stem = (int)(n > 5 && strcmp(json_path + n - 5, ".json") == 0 ? n - 5 : n);
    for (int d = 0; d <= ph->max_dim; d++) {
        char path[4200];
        snprintf(path, sizeof path, "%.*s.dim%d.npy", stem, json_path, d);
        nerve_mat m;
        int rc = nerve_mat_alloc(&m, ph->dgm[d].n, 2);
        for (int64_t i = 0; rc == 0 && i < ph->dgm[d].n; i++) {
            m.data[2 * i] = (float)ph->dgm[d].birth[i];
            m.data[2 * i + 1] = (float)ph->dgm[d].death[i];
        }
        if (rc == 0)
            rc = nerve_mat_write_npy(path, &m);
        nerve_mat_free(&m);
        if (rc < 0)
            return rc;
    }
    return 0;
}
