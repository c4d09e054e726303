/*
 * test_dft.c — nerve_sim_svcca_dft against the CCA of the flattened maps
 * on a translation-invariant set of inputs (each present with all its
 * circular shifts), where the DFT method is exact; and bad maps.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "nerve/sim.h"

enum { BASE = 30, H = 4, W = 4, CA = 3, CB = 4 };

static float at(const float *m, int c, int y, int x)
{
    return m[(c * H + (y + H) % H) * W + (x + W) % W];
}

/* Every circular shift of BASE random maps a (CA channels) and b, a
 * shift-equivariant function of a (CB channels) plus noise. */
static void translation_invariant(nerve_array *a, nerve_array *b)
{
    int64_t sa[4] = { BASE * H * W, CA, H, W }, sb[4] = { BASE * H * W, CB, H, W };
    cr_assert_eq(nerve_array_alloc(a, NERVE_F32, 4, sa), 0);
    cr_assert_eq(nerve_array_alloc(b, NERVE_F32, 4, sb), 0);
    nerve_rng r;
    nerve_rng_seed(&r, 18);
    double mix[CB][CA], next[CB][CA];
    for (int i = 0; i < CB; i++)
        for (int j = 0; j < CA; j++) {
            mix[i][j] = nerve_rng_normal(&r);
            next[i][j] = nerve_rng_normal(&r);
        }
    float base_a[CA * H * W], base_b[CB * H * W];
    float *da = a->data, *db = b->data;
    for (int s = 0; s < BASE; s++) {
        for (int i = 0; i < CA * H * W; i++)
            base_a[i] = (float)nerve_rng_normal(&r);
        for (int c = 0; c < CB; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double v = 0;
                    for (int j = 0; j < CA; j++)
                        v += mix[c][j] * at(base_a, j, y, x) + next[c][j] * at(base_a, j, y, x + 1);
                    base_b[(c * H + y) * W + x] = (float)(tanh(v) + 0.3 * nerve_rng_normal(&r));
                }
        for (int dy = 0; dy < H; dy++)
            for (int dx = 0; dx < W; dx++) {
                int64_t n = (s * H + dy) * W + dx;
                for (int c = 0; c < CB; c++)
                    for (int y = 0; y < H; y++)
                        for (int x = 0; x < W; x++) {
                            if (c < CA)
                                da[((n * CA + c) * H + y) * W + x] = at(base_a, c, y + dy, x + dx);
                            db[((n * CB + c) * H + y) * W + x] = at(base_b, c, y + dy, x + dx);
                        }
            }
    }
}

static nerve_mat flattened(const nerve_array *a)
{
    return (nerve_mat){ .rows = a->shape[0], .cols = a->shape[1] * a->shape[2] * a->shape[3], .data = a->data };
}

Test(svcca_dft, equals_the_flattened_cca_on_translation_invariant_inputs)
{
    nerve_array a, b;
    translation_invariant(&a, &b);
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    nerve_cca dft, direct;
    cr_assert_eq(nerve_sim_svcca_dft(&dft, &a, &b, &o), 0, "%s", nerve_error());
    nerve_mat fa = flattened(&a), fb = flattened(&b);
    cr_assert_eq(nerve_sim_cca(&direct, &fa, &fb, o.epsilon), 0, "%s", nerve_error());
    cr_assert_eq(dft.k, direct.k, "%lld coefficients against %lld", (long long)dft.k, (long long)direct.k);
    cr_assert(fabs(dft.mean - direct.mean) <= 1e-6, "mean %.10f, flattened %.10f", dft.mean, direct.mean);
    cr_assert(direct.mean > 0.2 && direct.mean < 0.95 && direct.rho[0] - direct.rho[direct.k - 1] > 0.1, "a telling case: %g, %g",
              direct.mean, direct.rho[direct.k - 1]);
    for (int64_t i = 0; i < dft.k; i++)
        cr_assert(fabs(dft.rho[i] - direct.rho[i]) <= 1e-6, "coefficient %lld: %.10f, flattened %.10f", (long long)i,
                  dft.rho[i], direct.rho[i]);
    cr_assert_eq(dft.dims_a, CA * H * W);
    nerve_cca_free(&dft);
    nerve_cca_free(&direct);
    nerve_array_free(&a);
    nerve_array_free(&b);
}

Test(svcca_dft, maps_of_different_sizes_keep_the_shared_frequencies)
{
    nerve_array a, b, small;
    translation_invariant(&a, &b);
    /* b's 2 x 2 average pooling: its DFT keeps frequencies -1 and 0 a side */
    int64_t shape[4] = { b.shape[0], CB, H / 2, W / 2 };
    cr_assert_eq(nerve_array_alloc(&small, NERVE_F32, 4, shape), 0);
    const float *src = b.data;
    float *dst = small.data;
    for (int64_t i = 0; i < b.shape[0] * CB; i++)
        for (int y = 0; y < H / 2; y++)
            for (int x = 0; x < W / 2; x++)
                dst[(i * (H / 2) + y) * (W / 2) + x] = 0.25f * (src[(i * H + 2 * y) * W + 2 * x] +
                    src[(i * H + 2 * y) * W + 2 * x + 1] + src[(i * H + 2 * y + 1) * W + 2 * x] +
                    src[(i * H + 2 * y + 1) * W + 2 * x + 1]);
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    nerve_cca c;
    cr_assert_eq(nerve_sim_svcca_dft(&c, &a, &small, &o), 0, "%s", nerve_error());
    cr_assert_eq(c.k, 4 * CA, "4 frequencies of min(%d, %d) coefficients: %lld", CA, CB, (long long)c.k);
    cr_assert(c.mean > 0 && c.mean <= 1, "%g", c.mean);
    nerve_cca_free(&c);
    nerve_array_free(&a);
    nerve_array_free(&b);
    nerve_array_free(&small);
}

/* The frequencies run on the threads: one thread or two, the same bits. */
Test(svcca_dft, the_same_coefficients_at_any_thread_count)
{
    nerve_array a, b;
    translation_invariant(&a, &b);
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    nerve_cca one, two;
    omp_set_num_threads(1);
    cr_assert_eq(nerve_sim_svcca_dft(&one, &a, &b, &o), 0, "%s", nerve_error());
    omp_set_num_threads(2);
    cr_assert_eq(nerve_sim_svcca_dft(&two, &a, &b, &o), 0, "%s", nerve_error());
    cr_assert(one.k == two.k && one.dims_a == two.dims_a && one.dims_b == two.dims_b);
    cr_assert_eq(memcmp(one.rho, two.rho, (size_t)one.k * sizeof *one.rho), 0, "the coefficients differ");
    cr_assert_eq(memcmp(&one.mean, &two.mean, sizeof one.mean), 0, "mean %.17g and %.17g", one.mean, two.mean);
    nerve_cca_free(&one);
    nerve_cca_free(&two);
    nerve_array_free(&a);
    nerve_array_free(&b);
}

Test(svcca_dft, bad_maps)
{
    nerve_array a, b, flat;
    translation_invariant(&a, &b);
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    nerve_cca c;
    int64_t two[2] = { a.shape[0], 48 }, fewer[4] = { a.shape[0] - 1, CA, H, W };
    nerve_array m;
    cr_assert_eq(nerve_array_alloc(&m, NERVE_F32, 2, two), 0);
    cr_assert_eq(nerve_sim_svcca_dft(&c, &m, &b, &o), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "(N, C, H, W)"), "%s", nerve_error());
    nerve_array_free(&m);
    cr_assert_eq(nerve_array_alloc(&m, NERVE_F32, 4, fewer), 0);
    cr_assert_eq(nerve_sim_svcca_dft(&c, &m, &b, &o), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "inputs"), "%s", nerve_error());
    nerve_array_free(&m);
    cr_assert_eq(nerve_array_alloc(&flat, NERVE_F32, 4, a.shape), 0);   /* all zeros */
    cr_assert_eq(nerve_sim_svcca_dft(&c, &a, &flat, &o), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "constant"), "%s", nerve_error());
    ((float *)a.data)[5] = NAN;
    cr_assert_eq(nerve_sim_svcca_dft(&c, &a, &b, &o), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "NaN"), "%s", nerve_error());
    nerve_array_free(&flat);
    nerve_array_free(&a);
    nerve_array_free(&b);
}
