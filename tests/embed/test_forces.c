/*
 * test_forces.c — t-SNE's fast repulsive forces against their naive twin,
 * the exact O(n^2) sums: Barnes-Hut (exact at theta 0, close at the
 * default 0.5) and FFT-accelerated interpolation, on clustered positions
 * such as t-SNE produces.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "nerve/core.h"
#include "../../src/embed/embed_internal.h"

enum { N = 3000 };

/* n 2-D positions in 10 Gaussian clusters of different spreads, the shape
 * of a t-SNE embedding after its early iterations. */
static double *clustered_positions(int64_t n, uint64_t seed)
{
    double *y = malloc((size_t)(2 * n) * sizeof *y);
    cr_assert(y);
    nerve_rng rng;
    nerve_rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(i % 10);
        double cx = 12 * cos(c * 0.63), cy = 12 * sin(c * 0.63), spread = 0.5 + 0.3 * c;
        y[2 * i] = cx + spread * nerve_rng_normal(&rng);
        y[2 * i + 1] = cy + spread * nerve_rng_normal(&rng);
    }
    return y;
}

/* |a - b| / |b| over all entries. */
static double relative_error(const double *a, const double *b, int64_t n)
{
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < n; i++) {
        diff += (a[i] - b[i]) * (a[i] - b[i]);
        norm += b[i] * b[i];
    }
    return sqrt(diff / norm);
}

typedef struct forces {
    double *rep, *z;    /* (2n), (n) */
} forces;

static forces forces_alloc(int64_t n)
{
    forces f = { calloc((size_t)(2 * n), sizeof(double)), calloc((size_t)n, sizeof(double)) };
    cr_assert(f.rep && f.z);
    return f;
}

static void forces_free(forces *f)
{
    free(f->rep);
    free(f->z);
}

static void barnes_hut(forces *out, const double *y, int64_t n, double theta)
{
    tsne_tree tree = { 0 };
    cr_assert_eq(tsne_tree_build(&tree, y, n), 0);
    cr_assert_eq(tsne_repulsive_bh(out->rep, out->z, &tree, theta), 0, "%s", nerve_error());
    tsne_tree_free(&tree);
}

Test(tsne_forces, barnes_hut_equals_the_exact_sums_at_theta_0_and_is_close_at_0_5)
{
    double *y = clustered_positions(N, 1);
    forces exact = forces_alloc(N), bh = forces_alloc(N);
    tsne_repulsive_exact(exact.rep, exact.z, y, N);

    barnes_hut(&bh, y, N, 0);
    /* Every cell opened: the same sums, in float and in another order. */
    cr_expect_lt(relative_error(bh.rep, exact.rep, 2 * N), 1e-5);
    cr_expect_lt(relative_error(bh.z, exact.z, N), 1e-5);

    barnes_hut(&bh, y, N, 0.5);
    double rep_error = relative_error(bh.rep, exact.rep, 2 * N), z_error = relative_error(bh.z, exact.z, N);
    /* Measured: 0.13% for both; a wrong summary of a cell costs far more. */
    cr_expect_lt(rep_error, 0.005, "Barnes-Hut at theta 0.5: forces %g off", rep_error);
    cr_expect_lt(z_error, 0.005, "Barnes-Hut at theta 0.5: Z %g off", z_error);

    forces_free(&exact);
    forces_free(&bh);
    free(y);
}

Test(tsne_forces, fft_interpolation_is_close_to_the_exact_sums)
{
    double *y = clustered_positions(N, 2);
    forces exact = forces_alloc(N), fft = forces_alloc(N);
    tsne_repulsive_exact(exact.rep, exact.z, y, N);

    tsne_fft *state = NULL;
    cr_assert_eq(tsne_repulsive_fft(fft.rep, fft.z, &state, y, N), 0, "%s", nerve_error());
    double rep_error = relative_error(fft.rep, exact.rep, 2 * N), z_error = relative_error(fft.z, exact.z, N);
    /* Measured: 1.4% for the forces, 0.4% for Z. Three Lagrange nodes
     * per box of width 0.48 (FIt-SNE's settings) follow the squared Cauchy
     * kernel less closely near a point than far from it. */
    cr_expect_lt(rep_error, 0.03, "FFT interpolation: forces %g off", rep_error);
    cr_expect_lt(z_error, 0.01, "FFT interpolation: Z %g off", z_error);

    /* The plans and grid kept in state serve the next iteration too. */
    for (int64_t i = 0; i < 2 * N; i++)
        y[i] *= 1.5;
    tsne_repulsive_exact(exact.rep, exact.z, y, N);
    cr_assert_eq(tsne_repulsive_fft(fft.rep, fft.z, &state, y, N), 0, "%s", nerve_error());
    cr_expect_lt(relative_error(fft.rep, exact.rep, 2 * N), 0.03);

    tsne_fft_free(state);
    forces_free(&exact);
    forces_free(&fft);
    free(y);
}
