/*
 * probe.c — the linear probe of a layer (Alain and Bengio 2016): a
 * multinomial logistic regression with scikit-learn's LogisticRegression
 * objective (L2 penalty 0.5 |W|^2, C times the summed cross-entropy, the
 * intercepts not penalised), minimised by L-BFGS (Nocedal and Wright,
 * algorithm 7.4) with a backtracking Armijo line search, and scored on a
 * held-out share of the rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/findings.h"
#include "nerve/internal/alloc.h"
#include "nerve/internal/linalg.h"

enum { LBFGS_MEMORY = 10 };

void nerve_probe_defaults(nerve_probe_options *o)
{
    memset(o, 0, sizeof *o);
    o->c = 1.0;
    o->tol = 1e-4;
    o->max_iter = 200;
    o->test_share = 0.25;
    o->max_rows = 6000;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void nerve_findings_split(int64_t *train, int64_t *ntrain, int64_t *test, int64_t *ntest, int64_t n,
                          double test_share, int64_t max_rows, uint64_t seed)
{
    /* A Fisher-Yates shuffle of 0..n-1 in train; its first ntest are the test rows. */
    nerve_rng rng;
    nerve_rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++)
        train[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)nerve_rng_below(&rng, (uint64_t)i + 1), t = train[i];
        train[i] = train[j];
        train[j] = t;
    }
    int64_t used = max_rows > 0 && max_rows < n ? max_rows : n;
    *ntest = (int64_t)llround((double)used * test_share);
    memcpy(test, train, (size_t)*ntest * sizeof *test);
    memmove(train, train + *ntest, (size_t)(used - *ntest) * sizeof *train);
    *ntrain = used - *ntest;
    qsort(test, (size_t)*ntest, sizeof *test, compare_i64);
    qsort(train, (size_t)*ntrain, sizeof *train, compare_i64);
}

/* The problem: rows xa (n x (d + 1), a last column of ones), labels y,
 * parameters w ((d + 1) x k, the last row the intercepts).
 *
 * The features are standardised (xa = (x - mean) / s) and the penalty of
 * feature j weighted by pen[j] = 1 / s_j^2: the objective is then the same
 * function of the original weights (w_j / s_j; the shift moves only the
 * intercepts, which are not penalised), so the optimum is scikit-learn's,
 * but L-BFGS, which is not scale-invariant, needs far fewer steps. */
typedef struct problem {
    int64_t n, d1, k;
    const double *xa;
    const double *pen;   /* d1: 1 / s_j^2, 0 for the intercept */
    const int64_t *y;
    double c;
    double *z;     /* n x k scratch */
    double *row;   /* n: each row's loss, summed in order (the same at any thread count) */
} problem;

/* The objective at w and its gradient into g. */
static double objective(const problem *p, const double *w, double *g)
{
    int64_t n = p->n, k = p->k, d1 = p->d1;
    nerve_linalg_matmul(p->z, p->xa, w, n, d1, k);
    /* One thread: n k exponentials are cheap, and an OpenMP team here
     * would spin against BLAS's threads between the two GEMMs. */
    for (int64_t i = 0; i < n; i++) {
        double *z = p->z + i * k, top = z[0], sum = 0;
        for (int64_t c = 1; c < k; c++)
            top = fmax(top, z[c]);
        for (int64_t c = 0; c < k; c++)
            sum += exp(z[c] - top);
        p->row[i] = top + log(sum) - z[p->y[i]];
        for (int64_t c = 0; c < k; c++)   /* z becomes C (softmax - onehot) */
            z[c] = p->c * (exp(z[c] - top) / sum - (c == p->y[i]));
    }
    nerve_linalg_gram(g, p->xa, p->z, n, d1, k);
    double loss = 0, penalty = 0;
    for (int64_t i = 0; i < n; i++)
        loss += p->row[i];
    for (int64_t j = 0; j < d1 * k; j++) {
        penalty += 0.5 * p->pen[j / k] * w[j] * w[j];
        g[j] += p->pen[j / k] * w[j];
    }
    return p->c * loss + penalty;
}

static double dot(const double *a, const double *b, int64_t m)
{
    double s = 0;
    for (int64_t i = 0; i < m; i++)
        s += a[i] * b[i];
    return s;
}

/* The L-BFGS direction -H g from the stored pairs (s, y), into q. */
static void direction(double *q, const double *g, const double *s, const double *y, const double *rho,
                      double *alpha, int used, int newest, int64_t m)
{
    for (int64_t i = 0; i < m; i++)
        q[i] = -g[i];
    for (int t = 0; t < used; t++) {
        int j = (newest - t + LBFGS_MEMORY) % LBFGS_MEMORY;
        alpha[j] = rho[j] * dot(s + j * m, q, m);
        for (int64_t i = 0; i < m; i++)
            q[i] -= alpha[j] * y[j * m + i];
    }
    if (used > 0) {
        double gamma = dot(s + newest * m, y + newest * m, m) / dot(y + newest * m, y + newest * m, m);
        for (int64_t i = 0; i < m; i++)
            q[i] *= gamma;
    }
    for (int t = used - 1; t >= 0; t--) {
        int j = (newest - t + LBFGS_MEMORY) % LBFGS_MEMORY;
        double beta = rho[j] * dot(y + j * m, q, m);
        for (int64_t i = 0; i < m; i++)
            q[i] += (alpha[j] - beta) * s[j * m + i];
    }
}

/* Minimises the objective from w = 0; *loss the value reached. work
 * holds 2 (LBFGS_MEMORY + 2) m + 2 m doubles. */
static void lbfgs(double *w, double *loss, const problem *p, const nerve_probe_options *o, double *work)
{
    int64_t m = p->d1 * p->k;
    double *g = work, *q = g + m, *wn = q + m, *gn = wn + m, *s = gn + m, *y = s + LBFGS_MEMORY * m;
    double rho[LBFGS_MEMORY], alpha[LBFGS_MEMORY];
    memset(w, 0, (size_t)m * sizeof *w);
    double f = objective(p, w, g), g0 = sqrt(dot(g, g, m));
    int used = 0, newest = LBFGS_MEMORY - 1;
    for (int it = 0; it < o->max_iter && sqrt(dot(g, g, m)) > o->tol * fmax(g0, 1e-300); it++) {
        direction(q, g, s, y, rho, alpha, used, newest, m);
        double slope = dot(g, q, m), step = used == 0 ? 1 / fmax(sqrt(dot(g, g, m)), 1e-300) : 1, fn = f;
        if (slope >= 0)
            break;   /* not a descent direction: only rounding is left */
        for (int tries = 0; tries < 40; tries++, step *= 0.5) {
            for (int64_t i = 0; i < m; i++)
                wn[i] = w[i] + step * q[i];
            if ((fn = objective(p, wn, gn)) <= f + 1e-4 * step * slope)
                break;
        }
        if (!(fn < f))
            break;
        newest = (newest + 1) % LBFGS_MEMORY;
        for (int64_t i = 0; i < m; i++) {
            s[newest * m + i] = wn[i] - w[i];
            y[newest * m + i] = gn[i] - g[i];
        }
        double sy = dot(s + newest * m, y + newest * m, m);
        rho[newest] = sy > 0 ? 1 / sy : 0;
        used += used < LBFGS_MEMORY;
        memcpy(w, wn, (size_t)m * sizeof *w);
        memcpy(g, gn, (size_t)m * sizeof *g);
        f = fn;
    }
    *loss = f;
}

/* The mean and scale of each feature over the rows, and the penalty
 * weights 1 / scale^2 (0 for the intercept): mean, scale and pen hold
 * d + 1. The scale is floored at 1 / sqrt(C n): below it the penalty's
 * curvature would outgrow the data's (about C n for a standardised
 * feature) and the problem be as ill-conditioned as before. */
static void standardise(double *mean, double *scale, double *pen, const nerve_mat *x, const int64_t *rows, int64_t n,
                        double c)
{
    int64_t d = x->cols;
    for (int64_t j = 0; j < d; j++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < n; i++)
            m += x->data[rows[i] * d + j];
        m /= (double)n;
        for (int64_t i = 0; i < n; i++) {
            double t = x->data[rows[i] * d + j] - m;
            v += t * t;
        }
        double sd = sqrt(v / (double)n);
        mean[j] = m;
        scale[j] = fmax(sd, 1 / sqrt(c * (double)n));
        pen[j] = 1 / (scale[j] * scale[j]);
    }
    mean[d] = 0;
    scale[d] = 1;
    pen[d] = 0;
}

/* Rows `rows` of x standardised, with a column of ones, as doubles. */
static double *augmented(const nerve_mat *x, const int64_t *rows, int64_t n, const double *mean, const double *scale)
{
    int64_t d = x->cols;
    double *a = nerve_alloc_array((size_t)(n * (d + 1)), sizeof *a, "probe rows");
    for (int64_t i = 0; a && i < n; i++) {
        for (int64_t j = 0; j < d; j++)
            a[i * (d + 1) + j] = (x->data[rows[i] * d + j] - mean[j]) / scale[j];
        a[i * (d + 1) + d] = 1;
    }
    return a;
}

static double accuracy_of(const double *w, const nerve_mat *x, const int64_t *labels, const int64_t *rows,
                          int64_t n, int64_t k, const double *mean, const double *scale)
{
    int64_t d = x->cols, right = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *v = x->data + rows[i] * d;
        int64_t best = 0;
        double top = -INFINITY;
        for (int64_t c = 0; c < k; c++) {
            double z = w[d * k + c];
            for (int64_t j = 0; j < d; j++)
                z += (v[j] - mean[j]) / scale[j] * w[j * k + c];
            if (z > top) {
                top = z;
                best = c;
            }
        }
        right += best == labels[rows[i]];
    }
    return n > 0 ? (double)right / (double)n : NAN;
}

int nerve_findings_probe_split(double *accuracy, double *loss, const nerve_mat *x, const int64_t *labels,
                               int n_classes, const int64_t *train, int64_t ntrain, const int64_t *test,
                               int64_t ntest, const nerve_probe_options *o)
{
    *accuracy = NAN;
    if (ntrain < 1 || n_classes < 2)
        return nerve_error_set(NERVE_EINPUT, "linear probe: %lld training rows, %d classes", (long long)ntrain,
                               n_classes);
    int64_t d1 = x->cols + 1, k = n_classes, m = d1 * k;
    int64_t *y = nerve_alloc_array((size_t)ntrain, sizeof *y, "probe labels");
    double *mean = nerve_alloc_array((size_t)(3 * d1), sizeof *mean, "feature scales");
    if (mean)
        standardise(mean, mean + d1, mean + 2 * d1, x, train, ntrain, o->c);
    double *xa = mean ? augmented(x, train, ntrain, mean, mean + d1) : NULL;
    double *z = nerve_alloc_array((size_t)(ntrain * (k + 1)), sizeof *z, "probe logits");
    double *w = nerve_alloc_array((size_t)m, sizeof *w, "probe weights");
    double *work = nerve_alloc_array((size_t)(2 * (LBFGS_MEMORY + 2) * m + 2 * m), sizeof *work, "L-BFGS memory");
    int rc = y && mean && xa && z && w && work ? 0 : NERVE_ENOMEM;
    if (rc == 0) {
        for (int64_t i = 0; i < ntrain; i++)
            y[i] = labels[train[i]];
        problem p = { .n = ntrain, .d1 = d1, .k = k, .xa = xa, .y = y, .c = o->c, .z = z,
                       .row = z + ntrain * k, .pen = mean + 2 * d1 };
        double f;
        lbfgs(w, &f, &p, o, work);
        if (loss)
            *loss = f;
        *accuracy = accuracy_of(w, x, labels, test, ntest, k, mean, mean + d1);
    }
    free(mean);
    free(y);
    free(xa);
    free(z);
    free(w);
    free(work);
    return rc;
}

int nerve_findings_probe(double *accuracy, const nerve_mat *x, const int64_t *labels, int n_classes,
                         const nerve_probe_options *o)
{
    int64_t n = x->rows, ntrain, ntest;
    int64_t *train = nerve_alloc_array((size_t)n, sizeof *train, "probe split");
    int64_t *test = nerve_alloc_array((size_t)n, sizeof *test, "probe split");
    int rc = train && test ? 0 : NERVE_ENOMEM;
    if (rc == 0) {
        nerve_findings_split(train, &ntrain, test, &ntest, n, o->test_share, o->max_rows, o->seed);
        rc = nerve_findings_probe_split(accuracy, NULL, x, labels, n_classes, train, ntrain, test, ntest, o);
    }
    free(train);
    free(test);
    return rc;
}
