/*
 * fuzz_ph_text.c — ripser's text inputs: the same bytes read as a point
 * cloud and as a lower-triangular distance matrix; a small one read either
 * way then goes through the persistence computation, which meets the NaNs,
 * infinities and duplicates the text can hold.
 */
#include <stdlib.h>

#include "nerve/ph.h"
#include "support.h"

enum { PH_MAX_POINTS = 40 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

static nerve_ph_options small_options(void)
{
    nerve_ph_options o;
    nerve_ph_defaults(&o);
    o.max_dim = 1;
    return o;
}

static void points(const char *path)
{
    nerve_mat x;
    if (nerve_ph_read_points_text(&x, path) < 0)
        return;
    nerve_ph_options o = small_options();
    nerve_ph ph;
    if (x.rows <= PH_MAX_POINTS && x.cols <= 16 && nerve_ph_points(&ph, &x, &o) == 0)
        nerve_ph_free(&ph);
    nerve_mat_free(&x);
}

static void lower_distance(const char *path)
{
    double *dist;
    int64_t n;
    if (nerve_ph_read_lower_distance(&dist, &n, path) < 0)
        return;
    nerve_ph_options o = small_options();
    nerve_ph ph;
    if (n <= PH_MAX_POINTS && nerve_ph_distances(&ph, dist, n, &o) == 0)
        nerve_ph_free(&ph);
    free(dist);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size, ".txt");
    points(path);
    lower_distance(path);
    return 0;
}
