/*
 * ops_einsum.c — Einsum on float tensors. Two operands whose letters each
 * appear once per operand (batched products such as MaxViT's attention,
 * "bghij,bghjd->bghid") run as permutations around one batched GEMM;
 * everything else (diagonals, sums of one operand, three operands) runs on
 * the naive loop over every letter, which is also the GEMM path's twin.
 */
#include <cblas.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

enum { LETTERS = 52, MAX_OPERANDS = 8 };

/* A parsed equation: each operand's and the output's letters as indices
 * 0..51 (a-z, A-Z), with "..." expanded to letters of its own. */
typedef struct equation {
    int     n_in, rank[MAX_OPERANDS], out_rank;
    int     term[MAX_OPERANDS][NERVE_MAX_DIMS], out[NERVE_MAX_DIMS];
    int64_t size[LETTERS];
    int     used[LETTERS];
} equation;

static int letter(char ch)
{
    return ch >= 'a' && ch <= 'z' ? ch - 'a' : ch >= 'A' && ch <= 'Z' ? ch - 'A' + 26 : -1;
}

/* Reads one term (up to ',' or '-' or the end) into letters; an ellipsis
 * takes the `ell` letters reserved for it (counted from the operand's rank
 * when rank >= 0). */
static int parse_term(const op_context *c, const char **p, int *term, int *n, int rank, int *ell, const int *ell_letters)
{
    int count = 0, seen_ellipsis = 0;
    for (; **p && **p != ',' && **p != '-'; (*p)++) {
        if (isspace((unsigned char)**p))
            continue;
        if (strncmp(*p, "...", 3) == 0) {
            if (seen_ellipsis++)
                return node_error(c, NERVE_EINPUT, "two ellipses in one term of the equation");
            *p += 2;
            int explicit_letters = 0;
            for (const char *q = *p + 1; *q && *q != ',' && *q != '-'; q++)
                explicit_letters += letter(*q) >= 0;
            if (rank >= 0) {
                int k = rank - count - explicit_letters;
                if (k < 0 || (*ell >= 0 && *ell != k))
                    return node_error(c, NERVE_EINPUT, "the ellipsis stands for different ranks");
                *ell = k;
            }
            for (int i = 0; i < *ell; i++) {
                if (count >= NERVE_MAX_DIMS)
                    return node_error(c, NERVE_EINPUT, "a term of the equation has too many letters");
                term[count++] = ell_letters[i];
            }
            continue;
        }
        int l = letter(**p);
        if (l < 0 || count >= NERVE_MAX_DIMS)
            return node_error(c, NERVE_EINPUT, "the equation has '%c' where a letter belongs", **p);
        term[count++] = l;
    }
    *n = count;
    return 0;
}

/* The letters no term uses, for an ellipsis. */
static void free_letters(const char *eq, int *ell_letters)
{
    int taken[LETTERS] = { 0 }, k = 0;
    for (const char *q = eq; *q; q++)
        if (letter(*q) >= 0)
            taken[letter(*q)] = 1;
    for (int l = LETTERS - 1; l >= 0 && k < NERVE_MAX_DIMS; l--)
        if (!taken[l])
            ell_letters[k++] = l;
    for (; k < NERVE_MAX_DIMS; k++)
        ell_letters[k] = 0;
}

static int parse(const op_context *c, const nerve_array *const *in, int n_in, equation *e)
{
    const char *eq = attr_string(c->node, "equation", ""), *p = eq;
    int ell_letters[NERVE_MAX_DIMS], ell = -1, rc;
    memset(e, 0, sizeof *e);
    if (n_in > MAX_OPERANDS)
        return node_error(c, NERVE_EUNSUPPORTED, "has %d operands (nerve's Einsum takes %d)", n_in, MAX_OPERANDS);
    free_letters(eq, ell_letters);
    e->n_in = n_in;
    for (int k = 0; k < n_in; k++) {
        if ((rc = parse_term(c, &p, e->term[k], &e->rank[k], in[k]->ndim, &ell, ell_letters)) < 0)
            return rc;
        if (e->rank[k] != in[k]->ndim)
            return node_error(c, NERVE_EINPUT, "term %d has %d letters for a rank-%d operand", k + 1, e->rank[k], in[k]->ndim);
        if (*p == ',')
            p++;
        else if (k + 1 < n_in)
            return node_error(c, NERVE_EINPUT, "the equation has fewer terms than the %d operands", n_in);
    }
    if (*p && *p != '-')
        return node_error(c, NERVE_EINPUT, "the equation has more terms than the %d operands", n_in);
    for (int k = 0; k < n_in; k++)
        for (int i = 0; i < e->rank[k]; i++) {
            int l = e->term[k][i];
            int64_t dim = in[k]->shape[i];
            if (e->used[l] && e->size[l] != dim)
                return node_error(c, NERVE_EINPUT, "letter sizes differ (%lld and %lld)", (long long)e->size[l], (long long)dim);
            e->used[l]++;
            e->size[l] = dim;
        }
    if (strncmp(p, "->", 2) == 0) {
        p += 2;
        if ((rc = parse_term(c, &p, e->out, &e->out_rank, -1, &ell, ell_letters)) < 0)
            return rc;
        if (*p)
            return node_error(c, NERVE_EINPUT, "the equation has text after its output");
        for (int i = 0; i < e->out_rank; i++)
            if (!e->used[e->out[i]])
                return node_error(c, NERVE_EINPUT, "the output names a letter no operand has");
    } else {
        /* Implicit output: the ellipsis, then letters used once, in order. */
        for (int i = 0; i < (ell > 0 ? ell : 0); i++)
            e->out[e->out_rank++] = ell_letters[i];
        for (int l = 0; l < LETTERS; l++)
            if (e->used[l] == 1 && e->out_rank < NERVE_MAX_DIMS) {
                int in_ell = 0;
                for (int i = 0; i < (ell > 0 ? ell : 0); i++)
                    in_ell |= ell_letters[i] == l;
                if (!in_ell)
                    e->out[e->out_rank++] = l;
            }
    }
    return 0;
}

/* ---- naive: one loop over every letter --------------------------------- */

static int einsum_naive(const op_context *c, const nerve_array *const *in, const equation *e, nerve_array *out)
{
    int letters[LETTERS], n = 0;
    int64_t shape[NERVE_MAX_DIMS], total = 1;
    for (int l = 0; l < LETTERS; l++)
        if (e->used[l])
            letters[n++] = l;
    for (int i = 0; i < e->out_rank; i++)
        shape[i] = e->size[e->out[i]];
    for (int i = 0; i < n; i++)
        if (__builtin_mul_overflow(total, e->size[letters[i]], &total) || total > (int64_t)1 << 32)
            return node_error(c, NERVE_EUNSUPPORTED, "this equation's loop over every letter is too long "
                              "for nerve's general Einsum");
    int rc = nn_alloc(c, out, NERVE_F32, e->out_rank, shape);
    if (rc < 0)
        return rc;
    int64_t value[LETTERS] = { 0 };
    for (int64_t t = 0; t < total; t++) {
        double prod = 1;
        for (int k = 0; k < e->n_in; k++) {
            int64_t off = 0;
            for (int i = 0; i < e->rank[k]; i++)
                off = off * in[k]->shape[i] + value[e->term[k][i]];
            prod *= ((const float *)in[k]->data)[off];
        }
        int64_t o = 0;
        for (int i = 0; i < e->out_rank; i++)
            o = o * shape[i] + value[e->out[i]];
        ((float *)out->data)[o] += (float)prod;
        for (int i = n - 1; i >= 0 && ++value[letters[i]] == e->size[letters[i]]; i--)
            value[letters[i]] = 0;
    }
    return 0;
}

/* ---- two operands: permute, batched GEMM, permute ---------------------- */

/* x permuted so that its axis perm[i] becomes axis i (a fresh buffer). */
static float *permuted(const float *x, int ndim, const int64_t *shape, const int *perm)
{
    int64_t stride[NERVE_MAX_DIMS], s = 1, index[NERVE_MAX_DIMS] = { 0 }, n = 1, off = 0;
    for (int d = ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= shape[d];
    }
    for (int d = 0; d < ndim; d++)
        n *= shape[perm[d]];
    float *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    for (int64_t k = 0; y && k < n; k++) {
        y[k] = x[off];
        for (int d = ndim - 1; d >= 0; d--) {
            off += stride[perm[d]];
            if (++index[d] < shape[perm[d]])
                break;
            off -= stride[perm[d]] * shape[perm[d]];
            index[d] = 0;
        }
    }
    return y;
}

static int position(const int *term, int rank, int l)
{
    for (int i = 0; i < rank; i++)
        if (term[i] == l)
            return i;
    return -1;
}

/* Whether the GEMM path applies: two operands, no letter twice in a term,
 * every letter in the output or in both operands. */
static int gemm_applies(const equation *e)
{
    if (e->n_in != 2)
        return 0;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < e->rank[k]; i++) {
            int l = e->term[k][i];
            if (position(e->term[k], i, l) >= 0)
                return 0;
            if (position(e->out, e->out_rank, l) < 0 && position(e->term[1 - k], e->rank[1 - k], l) < 0)
                return 0;
        }
    for (int i = 0; i < e->out_rank; i++)
        if (position(e->out, i, e->out[i]) >= 0)
            return 0;
    return 1;
}

static int einsum_gemm(const op_context *c, const nerve_array *const *in, const equation *e, nerve_array *out)
{
    /* Letters by role: batch (both operands and output), m (A and output),
     * n (B and output), k (both operands, summed). */
    int batch[NERVE_MAX_DIMS], ms[NERVE_MAX_DIMS], ns[NERVE_MAX_DIMS], ks[NERVE_MAX_DIMS];
    int nb = 0, nm = 0, nn = 0, nk = 0;
    int64_t B = 1, M = 1, N = 1, K = 1;
    for (int i = 0; i < e->out_rank; i++) {
        int l = e->out[i], a = position(e->term[0], e->rank[0], l) >= 0, b = position(e->term[1], e->rank[1], l) >= 0;
        if (a && b)
            B *= e->size[batch[nb++] = l];
        else if (a)
            M *= e->size[ms[nm++] = l];
        else
            N *= e->size[ns[nn++] = l];
    }
    for (int i = 0; i < e->rank[0]; i++)
        if (position(e->out, e->out_rank, e->term[0][i]) < 0)
            K *= e->size[ks[nk++] = e->term[0][i]];
    /* A as (batch, m, k), B as (batch, k, n), C as (batch, m, n). */
    int pa[NERVE_MAX_DIMS], pb[NERVE_MAX_DIMS], pc[NERVE_MAX_DIMS], order[3 * NERVE_MAX_DIMS], no = 0;
    for (int i = 0; i < nb; i++) order[no++] = batch[i];
    for (int i = 0; i < nm; i++) order[no++] = ms[i];
    for (int i = 0; i < nk; i++) pa[nb + nm + i] = position(e->term[0], e->rank[0], ks[i]);
    for (int i = 0; i < nb + nm; i++) pa[i] = position(e->term[0], e->rank[0], order[i]);
    for (int i = 0; i < nb; i++) pb[i] = position(e->term[1], e->rank[1], batch[i]);
    for (int i = 0; i < nk; i++) pb[nb + i] = position(e->term[1], e->rank[1], ks[i]);
    for (int i = 0; i < nn; i++) pb[nb + nk + i] = position(e->term[1], e->rank[1], ns[i]);
    for (int i = 0; i < nn; i++) order[no++] = ns[i];
    int64_t shape[NERVE_MAX_DIMS], cshape[NERVE_MAX_DIMS];
    for (int i = 0; i < e->out_rank; i++) {
        shape[i] = e->size[e->out[i]];
        cshape[i] = e->size[order[i]];
        pc[i] = position(order, no, e->out[i]);   /* output axis i is axis pc[i] of C */
    }
    int rc = nn_alloc(c, out, NERVE_F32, e->out_rank, shape);
    if (rc < 0)
        return rc;
    float *a = permuted(in[0]->data, e->rank[0], in[0]->shape, pa);
    float *b = permuted(in[1]->data, e->rank[1], in[1]->shape, pb);
    int64_t count = B * M * N;
    float *y = malloc((size_t)(count > 0 ? count : 1) * sizeof *y);
    if (!a || !b || !y) {
        free(a); free(b); free(y);
        nerve_array_free(out);
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    for (int64_t t = 0; t < B && M && N; t++) {
        if (K == 0)
            memset(y + t * M * N, 0, (size_t)(M * N) * sizeof *y);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, a + t * M * K,
                        (int)K, b + t * K * N, (int)N, 0.0f, y + t * M * N, (int)N);
    }
    float *z = permuted(y, no, cshape, pc);
    if (z && nerve_array_count(out))
        memcpy(out->data, z, (size_t)nerve_array_count(out) * sizeof *z);
    rc = z ? 0 : nerve_error_set(NERVE_ENOMEM, "out of memory");
    free(a); free(b); free(y); free(z);
    if (rc < 0)
        nerve_array_free(out);
    return rc;
}

static int op_einsum(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    equation e;
    for (int k = 0; k < n_in; k++)
        if (in[k]->dtype != NERVE_F32)
            return node_error(c, NERVE_EUNSUPPORTED, "runs on float tensors only");
    int rc = parse(c, in, n_in, &e);
    if (rc < 0)
        return rc;
    return gemm_applies(&e) ? einsum_gemm(c, in, &e, out) : einsum_naive(c, in, &e, out);
}

/* For the tests: the naive loop whatever the equation. */
int nn_einsum_naive(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out)
{
    equation e;
    int rc = parse(c, in, n_in, &e);
    return rc < 0 ? rc : einsum_naive(c, in, &e, out);
}

const op_def nn_ops_einsum[] = {
    /* name, run, inputs: min, max, since opset; outputs; load-time check */
    { "Einsum", op_einsum, 1, NN_MAX_INPUTS, 0, 1, NULL },
    { NULL, NULL, 0, 0, 0, 0, NULL },
};
