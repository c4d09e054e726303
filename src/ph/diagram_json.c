/*
 * diagram_json.c — persistence diagrams as nerve writes them: a JSON list
 * of dimensions ({dim, count, entropy, total_persistence, pairs: [[birth,
 * death], ...]}, null death for classes that never die), and one .npy per
 * dimension beside a JSON file.
 */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/path.h"
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
        char path[PATH_MAX];
        nerve_mat m = { 0 };
        int rc = nerve_path(path, sizeof path, "%.*s.dim%d.npy", stem, json_path, d);
        if (rc == 0)
            rc = nerve_mat_alloc(&m, ph->dgm[d].n, 2);
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

/* One dimension's pairs into g (g->n set, arrays allocated): each must be
 * [birth, death] numbers, null death for a class that never dies. */
static int read_pairs(nerve_diagram *g, const json_t *pairs, const char *path, int d)
{
    if (!json_is_array(pairs))
        return nerve_error_set(NERVE_EINPUT, "%s: dimension %d has no list of pairs", path, d);
    size_t n = json_array_size(pairs), bytes;
    /* jansson holds every pair in memory already, so n is bounded by the
     * file; the product is checked all the same. */
    if (nerve_mul_size(n + 1, sizeof *g->birth, &bytes) < 0)
        return nerve_error_set(NERVE_EINPUT, "%s: dimension %d: too many pairs", path, d);
    g->birth = malloc(bytes);
    g->death = malloc(bytes);
    if (!g->birth || !g->death)
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory for %zu pairs", path, n);
    g->n = (int64_t)n;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(pairs, i), *b = json_array_get(p, 0), *e = json_array_get(p, 1);
        if (!json_is_array(p) || json_array_size(p) != 2 || !json_is_number(b) ||
            !(json_is_number(e) || json_is_null(e)))
            return nerve_error_set(NERVE_EINPUT, "%s: dimension %d, point %zu is not [birth, death]", path, d, i);
        g->birth[i] = json_number_value(b);
        g->death[i] = json_is_null(e) ? INFINITY : json_number_value(e);
    }
    char label[4200];
    snprintf(label, sizeof label, "%s, dimension %d", path, d);
    return nerve_diagram_check(g, label);
}

int nerve_ph_read_diagrams(nerve_diagram out[NERVE_PH_MAX_DIM + 1], int *n_dims, const char *path)
{
    memset(out, 0, (NERVE_PH_MAX_DIM + 1) * sizeof *out);
    *n_dims = 0;
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return nerve_error_set(NERVE_EINPUT, "%s: not JSON (%s, line %d)", path, err.text, err.line);
    json_t *diagrams = json_object_get(root, "diagrams");
    int bare = json_is_array(root);
    size_t dims = bare ? 1 : json_array_size(diagrams);
    int rc = 0;
    if (dims < 1)
        rc = nerve_error_set(NERVE_EINPUT, "%s: no diagrams (nerve ph's JSON, or a list of [birth, death])", path);
    else if (dims > NERVE_PH_MAX_DIM + 1)
        rc = nerve_error_set(NERVE_EINPUT, "%s: %zu dimensions of diagrams; nerve computes at most %d (0 to %d)",
                             path, dims, NERVE_PH_MAX_DIM + 1, NERVE_PH_MAX_DIM);
    /* n_dims counts the diagrams holding memory, so a failure part-way
     * frees exactly those. */
    for (int d = 0; rc == 0 && d < (int)dims; d++) {
        *n_dims = d + 1;
        rc = read_pairs(&out[d], bare ? root : json_object_get(json_array_get(diagrams, (size_t)d), "pairs"), path, d);
    }
    json_decref(root);
    if (rc < 0) {
        nerve_ph_diagrams_free(out, *n_dims);
        *n_dims = 0;
    }
    return rc;
}

void nerve_ph_diagrams_free(nerve_diagram *g, int n_dims)
{
    for (int d = 0; d < n_dims && d <= NERVE_PH_MAX_DIM; d++) {
        free(g[d].birth);
        free(g[d].death);
        memset(&g[d], 0, sizeof g[d]);
    }
}
