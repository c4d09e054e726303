/*
 * test_numeric.c — statistics against NumPy, the random generator, the
 * progress bar and the thread count.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "../support/support.h"

Test(stats, match_numpy_in_float64)
{
    nerve_array a;
    cr_assert_eq(nerve_npy_read(&a, NULL, fixture("npy/stats.npy"), NERVE_F32), 0);
    char txt[4096];
    snprintf(txt, sizeof txt, "%s.stats.txt", fixture("npy/stats.npy"));
    FILE *f = fopen(txt, "r");
    cr_assert(f != NULL);
    double want[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(fscanf(f, "%lf", &want[i]), 1);
    fclose(f);
    nerve_stats s;
    nerve_stats_f32(&s, a.data, nerve_array_count(&a));
    double got[4] = { s.min, s.max, s.mean, s.std };
    for (int i = 0; i < 4; i++)
        cr_assert(fabs(got[i] - want[i]) <= 1e-6 * fabs(want[i]) + 1e-9,
                  "figure %d: %.12g, NumPy %.12g", i, got[i], want[i]);
    cr_assert_eq(s.nan, 0);
    nerve_array_free(&a);
}

Test(stats, nan_and_inf_counted_apart)
{
    nerve_array a;
    cr_assert_eq(nerve_npy_read(&a, NULL, fixture("npy/nonfinite.npy"), NERVE_F32), 0);
    nerve_stats s;
    nerve_stats_f32(&s, a.data, nerve_array_count(&a));
    cr_assert_eq(s.count, 7);
    cr_assert_eq(s.nan, 1);
    cr_assert_eq(s.inf, 2);
    cr_assert_float_eq(s.min, -2.0, 1e-12);
    cr_assert_float_eq(s.max, 3.0, 1e-12);
    cr_assert_float_eq(s.mean, 0.625, 1e-12);
    nerve_array_free(&a);
}

Test(stats, same_result_at_any_thread_count_and_accurate_on_large_input)
{
    int64_t n = 3000001;
    float *x = malloc((size_t)n * sizeof *x);
    nerve_rng r;
    nerve_rng_seed(&r, 5);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(1000.0 + nerve_rng_normal(&r));
    x[12345] = NAN;
    nerve_stats one, two;
    nerve_threads_init(1);
    nerve_stats_f32(&one, x, n);
    nerve_threads_init(2);
    nerve_stats_f32(&two, x, n);
    cr_assert(memcmp(&one, &two, sizeof one) == 0, "thread count changed the result");
    cr_assert(fabs(one.mean - 1000.0) < 0.01, "mean %f", one.mean);
    cr_assert(fabs(one.std - 1.0) < 0.01, "std %f (cancellation?)", one.std);
    cr_assert_eq(one.nan, 1);
    free(x);
}

Test(stats, empty_array)
{
    nerve_stats s;
    nerve_stats_f32(&s, NULL, 0);
    cr_assert_eq(s.count, 0);
    cr_assert(isnan(s.mean));
}

Test(rng, seeded_streams_repeat_and_differ)
{
    nerve_rng a, b, c;
    nerve_rng_seed(&a, 42);
    nerve_rng_seed(&b, 42);
    nerve_rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = nerve_rng_next(&a);
        cr_assert_eq(x, nerve_rng_next(&b));
        differ += x != nerve_rng_next(&c);
    }
    cr_assert_gt(differ, 95);
    nerve_rng_stream(&a, 42, 0);
    nerve_rng_stream(&b, 42, 1);
    cr_assert_neq(nerve_rng_next(&a), nerve_rng_next(&b));
}

Test(rng, distributions)
{
    nerve_rng r;
    nerve_rng_seed(&r, 0);
    enum { N = 200000 };
    double sum = 0, sq = 0;
    int64_t counts[7] = { 0 };
    for (int i = 0; i < N; i++) {
        double u = nerve_rng_uniform(&r);
        cr_assert(u >= 0 && u < 1);
        double z = nerve_rng_normal(&r);
        sum += z;
        sq += z * z;
        uint64_t k = nerve_rng_below(&r, 7);
        cr_assert_lt(k, 7);
        counts[k]++;
    }
    cr_assert(fabs(sum / N) < 0.01, "normal mean %f", sum / N);
    cr_assert(fabs(sq / N - 1) < 0.02, "normal variance %f", sq / N);
    for (int k = 0; k < 7; k++)
        cr_assert(fabs((double)counts[k] / N - 1.0 / 7) < 0.005, "bucket %d: %lld", k, (long long)counts[k]);
}

Test(progress, silent_when_not_a_terminal_drawn_when_forced)
{
    nerve_progress p;
    nerve_progress_begin(&p, "work", 10);   /* stderr is a file under the test runner */
    cr_assert_null(p.out);
    nerve_progress_update(&p, 5);
    nerve_progress_end(&p);

    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    nerve_progress_begin_to(&p, mem, "rows", 200);
    nerve_progress_update(&p, 200);
    nerve_progress_end(&p);
    fclose(mem);
    cr_assert(strstr(text, "rows [") && strstr(text, "200/200") && strstr(text, "ETA"), "%s", text);
    free(text);
}

Test(threads, flag_beats_environment_and_bad_environment_is_an_error)
{
    setenv("OMP_NUM_THREADS", "3", 1);
    cr_assert_eq(nerve_threads_init(0), 3);
    cr_assert_eq(nerve_threads_init(1), 1);
    cr_assert_eq(nerve_threads(), 1);
    setenv("OMP_NUM_THREADS", "lots", 1);
    cr_assert_eq(nerve_threads_init(0), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "OMP_NUM_THREADS"));
    unsetenv("OMP_NUM_THREADS");
    cr_assert_geq(nerve_threads_init(0), 1);
}

Test(sizes, overflow_checks)
{
    size_t out;
    cr_assert_eq(nerve_mul_size(SIZE_MAX / 2, 3, &out), -1);
    cr_assert_eq(nerve_mul_size(1000, 1000, &out), 0);
    int64_t n, big[3] = { INT64_MAX / 2, 2, 2 }, neg[2] = { 3, -1 };
    cr_assert_eq(nerve_shape_count(3, big, &n), -1);
    cr_assert_eq(nerve_shape_count(2, neg, &n), -1);
}
