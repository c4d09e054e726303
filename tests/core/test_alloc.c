/*
 * test_alloc.c — the checked allocation helpers, the growable array and
 * the bounded heap (nerve/internal/alloc.h).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "nerve/internal/alloc.h"

Test(alloc, overflowing_count_times_size_is_a_clean_error_naming_what)
{
    size_t out = 7;
    cr_assert_eq(nerve_size_mul(&out, SIZE_MAX / 2 + 1, 2, "test rows"), NERVE_ENOMEM);
    cr_assert(strstr(nerve_error(), "test rows"), "%s", nerve_error());
    cr_assert_null(nerve_alloc_array(SIZE_MAX / 4, 8, "Mapper edges"));
    cr_assert(strstr(nerve_error(), "Mapper edges"), "%s", nerve_error());
    cr_assert_null(nerve_zalloc_array((size_t)1 << 62, 16, "kNN distances"));
    cr_assert(strstr(nerve_error(), "kNN distances"), "%s", nerve_error());
    cr_assert_eq(nerve_size_mul(&out, 3, 5, "x"), 0);
    cr_assert_eq(out, 15);
}

Test(alloc, realloc_failure_keeps_the_block)
{
    int *p = nerve_alloc_array(4, sizeof *p, "ints");
    cr_assert_not_null(p);
    p[3] = 42;
    cr_assert_null(nerve_realloc_array(p, SIZE_MAX / 2, sizeof *p, "ints"));
    cr_assert(strstr(nerve_error(), "ints"));
    cr_assert_eq(p[3], 42);   /* still ours, still valid */
    int *z = nerve_zalloc_array(0, sizeof *z, "nothing");
    cr_assert_not_null(z, "a 0-element array is a freeable pointer");
    free(z);
    free(p);
}

Test(vec, push_append_reserve_detach)
{
    nerve_vec v;
    nerve_vec_init(&v, sizeof(int64_t), "numbers");
    for (int64_t i = 0; i < 1000; i++) {
        int64_t *slot = nerve_vec_push(&v);
        cr_assert_not_null(slot);
        cr_assert_eq(*slot, 0, "pushed elements start zeroed");
        *slot = i * i;
    }
    int64_t more[3] = { -1, -2, -3 };
    cr_assert_eq(nerve_vec_append(&v, more, 3), 0);
    cr_assert_eq(v.len, 1003);
    cr_assert_geq(v.cap, v.len);
    const int64_t *x = v.data;
    cr_assert_eq(x[999], 999 * 999);
    cr_assert_eq(x[1002], -3);
    size_t len;
    int64_t *owned = nerve_vec_detach(&v, &len);
    cr_assert_eq(len, 1003);
    cr_assert_null(v.data);
    cr_assert_eq(v.len, 0);
    free(owned);
    nerve_vec_free(&v);
}

Test(vec, reserving_more_than_memory_names_the_elements)
{
    nerve_vec v;
    nerve_vec_init(&v, 1024, "cover elements");
    cr_assert_eq(nerve_vec_reserve(&v, SIZE_MAX / 8), NERVE_ENOMEM);
    cr_assert(strstr(nerve_error(), "cover elements"), "%s", nerve_error());
    cr_assert_eq(v.cap, 0);
    cr_assert_eq(nerve_vec_append(&v, NULL, 0), 0);
    nerve_vec_free(&v);
}

Test(topk, keeps_the_k_smallest_ties_by_smaller_id)
{
    enum { K = 4 };
    float key[K];
    int64_t id[K];
    nerve_topk h;
    nerve_topk_init(&h, key, id, K);
    cr_assert(isinf(nerve_topk_bound(&h)));
    float keys[] = { 5, 1, 9, 1, 3, 7, 1, 0.5f, 3 };
    int n = (int)(sizeof keys / sizeof keys[0]);
    for (int i = n - 1; i >= 0; i--)   /* pushed backwards: order must not matter */
        nerve_topk_push(&h, keys[i], i);
    cr_assert_eq(h.size, K);
    cr_assert_float_eq(nerve_topk_bound(&h), 1.0f, 0);
    cr_assert_eq(nerve_topk_push(&h, 2.0f, 100), 0);
    nerve_topk_sort(&h);
    float want_key[K] = { 0.5f, 1, 1, 1 };
    int64_t want_id[K] = { 7, 1, 3, 6 };
    for (int i = 0; i < K; i++) {
        cr_assert_float_eq(key[i], want_key[i], 0);
        cr_assert_eq(id[i], want_id[i], "slot %d: id %lld", i, (long long)id[i]);
    }
}

Test(topk, nan_ranks_last_and_k_zero_keeps_nothing)
{
    float key[2];
    int64_t id[2];
    nerve_topk h;
    nerve_topk_init(&h, key, id, 2);
    nerve_topk_push(&h, NAN, 0);
    nerve_topk_push(&h, 4, 1);
    cr_assert(isinf(nerve_topk_bound(&h)), "a NaN on top is beaten by any number");
    cr_assert_eq(nerve_topk_push(&h, 3, 2), 1);
    nerve_topk_sort(&h);
    cr_assert_eq(id[0], 2);
    cr_assert_eq(id[1], 1);
    nerve_topk_init(&h, key, id, 0);
    cr_assert_eq(nerve_topk_push(&h, 1, 1), 0);
}
