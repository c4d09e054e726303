/*
 * cka.c — centred kernel alignment (Kornblith et al. 2019). Linear CKA,
 * |Y^T X|_F^2 / (|X^T X|_F |Y^T Y|_F), in feature space costs d x d
 * products; a layer with more neurons than inputs (a flattened conv map)
 * uses the N x N Gram instead, as |Y^T X|_F^2 = <X X^T, Y Y^T>_F. The
 * debiased form replaces each HSIC by the unbiased estimator (Song et al.
 * 2012), written in feature space as in the authors' code. RBF CKA needs
 * the N x N Grams.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "nerve/internal/linalg.h"
#include "sim_internal.h"

/* The feature-space form of Kornblith et al.'s code. */
double sim_debiased_hsic(double xty, const double *rows_x, const double *rows_y, double norm_x, double norm_y,
                         int64_t n)
{
    double dot = 0;
    for (int64_t i = 0; i < n; i++)
        dot += rows_x[i] * rows_y[i];
    return xty - (double)n / ((double)n - 2) * dot + norm_x * norm_y / (((double)n - 1) * ((double)n - 2));
}

void sim_cka_side_free(sim_cka_side *s)
{
    free(s->row_sq);
    free(s->rows_gram);
    memset(s, 0, sizeof *s);
}

int sim_cka_side_init(sim_cka_side *s, const double *x, int64_t n, int64_t d, int unbiased)
{
    memset(s, 0, sizeof *s);
    s->x = x;
    s->n = n;
    s->d = d;
    /* the smaller of the Grams X^T X (d x d) and X X^T (n x n); the
     * second is kept for the pairs */
    int64_t side = n < d ? n : d;
    double *g = malloc((size_t)(side * side) * sizeof *g);
    if (!g || (unbiased && !(s->row_sq = malloc((size_t)n * sizeof *s->row_sq)))) {
        free(g);
        free(s->row_sq);
        return nerve_error_set(NERVE_ENOMEM, "cka: out of memory");
    }
    if (n < d)
        nerve_linalg_gram_rows(g, x, n, d);
    else
        nerve_linalg_gram(g, x, x, n, d, d);
    s->self = nerve_linalg_frobenius_sq(g, side * side);
    if (n < d)
        s->rows_gram = g;
    else
        free(g);
    if (unbiased) {
        for (int64_t i = 0; i < n; i++)
            s->total_sq += s->row_sq[i] = nerve_linalg_frobenius_sq(x + i * d, d);
        s->self = sim_debiased_hsic(s->self, s->row_sq, s->row_sq, s->total_sq, s->total_sq, n);
    }
    return 0;
}

/* |Y^T X|_F^2: from the row Grams when both sides kept them, else from
 * the d_a x d_b feature products (no larger than the wider side's data). */
static int cross_hsic(double *cross, const sim_cka_side *a, const sim_cka_side *b)
{
    if (a->rows_gram && b->rows_gram) {
        double sum = 0;
        for (int64_t i = 0; i < a->n * a->n; i++)
            sum += a->rows_gram[i] * b->rows_gram[i];
        *cross = sum;
        return 0;
    }
    double *g = malloc((size_t)(a->d * b->d) * sizeof *g);
    if (!g)
        return nerve_error_set(NERVE_ENOMEM, "cka: out of memory");
    nerve_linalg_gram(g, a->x, b->x, a->n, a->d, b->d);
    *cross = nerve_linalg_frobenius_sq(g, a->d * b->d);
    free(g);
    return 0;
}

int sim_cka_pair(double *value, const sim_cka_side *a, const sim_cka_side *b)
{
    double cross = 0;
    int rc = cross_hsic(&cross, a, b);
    if (rc < 0)
        return rc;
    if (a->row_sq)
        cross = sim_debiased_hsic(cross, a->row_sq, b->row_sq, a->total_sq, b->total_sq, a->n);
    *value = a->self > 0 && b->self > 0 ? cross / sqrt(a->self * b->self) : NAN;
    return 0;
}

int nerve_sim_cka_linear(double *value, const nerve_mat *a, const nerve_mat *b, int unbiased)
{
    const char *metric = unbiased ? "cka-debiased" : "cka";
    int rc = sim_check_pair(a, b, metric);
    if (rc < 0)
        return rc;
    if (unbiased && a->rows < 4)
        return nerve_error_set(NERVE_EINPUT, "%s: needs at least 4 inputs", metric);
    double *x = nerve_mat_centered(a, NULL), *y = nerve_mat_centered(b, NULL);
    sim_cka_side sa = { 0 }, sb = { 0 };
    rc = x && y ? sim_cka_side_init(&sa, x, a->rows, a->cols, unbiased)
                : nerve_error_set(NERVE_ENOMEM, "%s: out of memory", metric);
    if (rc == 0)
        rc = sim_cka_side_init(&sb, y, b->rows, b->cols, unbiased);
    if (rc == 0)
        rc = sim_cka_pair(value, &sa, &sb);
    if (rc == 0 && isnan(*value))
        rc = nerve_error_set(NERVE_EINPUT, "%s: a layer is constant over all inputs", metric);
    sim_cka_side_free(&sa);
    sim_cka_side_free(&sb);
    free(x);
    free(y);
    return rc;
}

/* The centred RBF Gram of m: K_ij = exp(-|xi - xj|^2 / (2 f^2 median)),
 * then H K H. */
static double *rbf_gram(const nerve_mat *m, double fraction)
{
    int64_t n = m->rows, d = m->cols;
    double *x = nerve_mat_centered(m, NULL), *k = malloc((size_t)(n * n) * sizeof *k);
    double *sorted = malloc((size_t)(n * n) * sizeof *sorted), *sq = malloc((size_t)n * sizeof *sq);
    if (!x || !k || !sorted || !sq) {
        free(x); free(k); free(sorted); free(sq);
        return NULL;
    }
    nerve_linalg_gram_rows(k, x, n, d);
    for (int64_t i = 0; i < n; i++)
        sq[i] = k[i * n + i];
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            k[i * n + j] = fmax(sq[i] + sq[j] - 2 * k[i * n + j], 0);
    /* np.median over every entry, the zero diagonal included, as gram_rbf does. */
    memcpy(sorted, k, (size_t)(n * n) * sizeof *sorted);
    qsort(sorted, (size_t)(n * n), sizeof *sorted, nerve_compare_doubles);
    int64_t mid = n * n / 2;
    double median = n * n % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
    double scale = 2 * fraction * fraction * median;
    for (int64_t i = 0; i < n * n; i++)
        k[i] = scale > 0 ? exp(-k[i] / scale) : (k[i] == 0);
    /* Centring: subtract row and column means, add the grand mean. */
    double *mean = sq, grand = 0;
    for (int64_t j = 0; j < n; j++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++)
            s += k[i * n + j];
        mean[j] = s / (double)n;
        grand += mean[j];
    }
    grand /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            k[i * n + j] -= mean[i] + mean[j] - grand;
    free(x); free(sorted); free(sq);
    return k;
}

int nerve_sim_cka_rbf(double *value, const nerve_mat *a, const nerve_mat *b, double fraction)
{
    int rc = sim_check_pair(a, b, "cka-rbf");
    if (rc < 0)
        return rc;
    if (!(fraction > 0))
        return nerve_error_set(NERVE_EINPUT, "cka-rbf: the bandwidth fraction must be positive, not %g", fraction);
    int64_t n = a->rows;
    size_t bytes;
    if (nerve_mul_size((size_t)n, (size_t)n * 3 * sizeof(double), &bytes) < 0 || n > 60000)
        return nerve_error_set(NERVE_EINPUT, "cka-rbf: %lld inputs need %lld x %lld Gram matrices; use "
                               "at most 60000 inputs (or linear CKA)", (long long)n, (long long)n, (long long)n);
    double *k = rbf_gram(a, fraction), *l = k ? rbf_gram(b, fraction) : NULL;
    if (!k || !l) {
        free(k);
        free(l);
        return nerve_error_set(NERVE_ENOMEM, "cka-rbf: out of memory for %lld x %lld Grams", (long long)n,
                               (long long)n);
    }
    double kl = 0, kk = 0, ll = 0;
    for (int64_t i = 0; i < n * n; i++) {
        kl += k[i] * l[i];
        kk += k[i] * k[i];
        ll += l[i] * l[i];
    }
    free(k);
    free(l);
    if (!(kk > 0 && ll > 0))
        return nerve_error_set(NERVE_EINPUT, "cka-rbf: a layer is constant over all inputs");
    *value = kl / sqrt(kk * ll);
    return 0;
}
