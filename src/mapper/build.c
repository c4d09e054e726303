/*
 * build.c — the Mapper pipeline: cover the lens, cluster every cover
 * element, make each cluster a node (in KeplerMapper's order: element by
 * element, cluster label by label), then the nerve and the figures.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapper_internal.h"

/* Above this much pairwise work (sum over elements of n^2 d), automatic
 * neighbourhoods come from one kNN graph instead of every pair. */
static const double EXACT_WORK_LIMIT = 4e11;

const char *nerve_neighbours_name(nerve_neighbours n)
{
    return n == NERVE_NEIGHBOURS_EXACT ? "exact" : n == NERVE_NEIGHBOURS_KNN ? "knn" : "auto";
}

int nerve_neighbours_parse(const char *s, nerve_neighbours *n)
{
    for (int i = NERVE_NEIGHBOURS_AUTO; i <= NERVE_NEIGHBOURS_KNN; i++)
        if (strcmp(s, nerve_neighbours_name((nerve_neighbours)i)) == 0) {
            *n = (nerve_neighbours)i;
            return 0;
        }
    return -1;
}

void nerve_mapper_defaults(nerve_mapper_params *p)
{
    *p = (nerve_mapper_params){
        .cover = NERVE_COVER_KMAPPER,
        .intervals = 15,
        .overlap = 0.4,
        .cluster = NERVE_CLUSTER_DBSCAN,
        .eps = 0,
        .min_samples = 5,
        .distance = 0,
        .gap_bins = 10,
        .metric = NERVE_METRIC_EUCLIDEAN,
        .neighbours = NERVE_NEIGHBOURS_AUTO,
        .knn_k = 15,
        .min_intersection = 1,
        .seed = 0,
    };
}

static int check_params(const nerve_mapper_params *p, const nerve_mat *x, const nerve_lens *lens)
{
    if (x->rows < 2)
        return nerve_error_set(NERVE_EINPUT, "mapper: %lld point%s; a graph needs at least 2", (long long)x->rows,
                               x->rows == 1 ? "" : "s");
    if (lens->n != x->rows)
        return nerve_error_set(NERVE_EINPUT, "mapper: the lens has %lld rows, the points %lld", (long long)lens->n,
                               (long long)x->rows);
    if (p->intervals < 1)
        return nerve_error_set(NERVE_EINPUT, "mapper: intervals must be >= 1, not %lld", (long long)p->intervals);
    if (!(p->overlap >= 0 && p->overlap < 1))
        return nerve_error_set(NERVE_EINPUT, "mapper: overlap must be in [0, 1), not %g", p->overlap);
    if (p->cluster == NERVE_CLUSTER_DBSCAN && !(p->eps >= 0 && isfinite(p->eps)))
        return nerve_error_set(NERVE_EINPUT, "mapper: eps must be > 0 (or 0 for automatic), not %g", p->eps);
    if (p->min_samples < 1 || p->min_samples > x->rows)
        return nerve_error_set(NERVE_EINPUT, "mapper: min_samples = %lld, but there are %lld points",
                               (long long)p->min_samples, (long long)x->rows);
    if (p->cluster == NERVE_CLUSTER_LINKAGE && !(p->distance > 0))
        return nerve_error_set(NERVE_EINPUT, "mapper: linkage needs a cut distance > 0, not %g", p->distance);
    if (p->gap_bins < 2)
        return nerve_error_set(NERVE_EINPUT, "mapper: gap bins must be >= 2, not %lld", (long long)p->gap_bins);
    if (p->min_intersection < 1)
        return nerve_error_set(NERVE_EINPUT, "mapper: min_intersection must be >= 1, not %lld",
                               (long long)p->min_intersection);
    for (int64_t i = 0; i < x->rows * x->cols; i++)
        if (!isfinite(x->data[i]))
            return nerve_error_set(NERVE_EINPUT, "mapper: row %lld, column %lld is %g (--drop-nonfinite skips such rows)",
                                   (long long)(i / x->cols), (long long)(i % x->cols), x->data[i]);
    return 0;
}

/* ---- one cover element -------------------------------------------------- */

static int gather_rows(nerve_mat *out, const nerve_mat *x, const int64_t *rows, int64_t n)
{
    int rc = nerve_mat_alloc(out, n, x->cols);
    for (int64_t i = 0; rc == 0 && i < n; i++)
        memcpy(out->data + i * x->cols, x->data + rows[i] * x->cols, (size_t)x->cols * sizeof *x->data);
    return rc;
}

/* Whether b's kNN list holds a within eps. */
static int listed_within(const nerve_knn *nn, int64_t b, int64_t a, double eps)
{
    for (int64_t j = 0; j < nn->k; j++)
        if (nn->index[b * nn->k + j] == a)
            return nn->dist[b * nn->k + j] <= eps;
    return 0;
}

/* The pairs within eps inside an element from the global kNN graph, each
 * once whether found from one end or both (then from the end first in the
 * element), in element indices, as runs of one pair. local maps a global
 * index to its place in the element (-1 outside) and is left as it was
 * found. */
static int knn_pairs(nerve_pair_runs *out, const int64_t *rows, int64_t n, const nerve_knn *nn, double eps,
                     int32_t *local)
{
    out->n = 0;
    out->run = malloc((size_t)(n * nn->k) * 3 * sizeof *out->run + 1);
    if (!out->run)
        return nerve_error_set(NERVE_ENOMEM, "mapper: out of memory");
    for (int64_t i = 0; i < n; i++)
        local[rows[i]] = (int32_t)i;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < nn->k; j++) {
            int64_t g = nn->index[rows[i] * nn->k + j];
            if (g == rows[i] || local[g] < 0 || nn->dist[rows[i] * nn->k + j] > eps)
                continue;
            if (local[g] < i && listed_within(nn, g, rows[i], eps))
                continue;   /* made from g's end */
            int32_t lo = (int32_t)(local[g] < i ? local[g] : i), hi = (int32_t)(local[g] < i ? i : local[g]);
            int32_t *run = out->run + 3 * out->n++;
            run[0] = lo;
            run[1] = hi;
            run[2] = hi + 1;
        }
    for (int64_t i = 0; i < n; i++)
        local[rows[i]] = -1;
    return 0;
}

typedef struct element_job {
    const nerve_mat          *x;
    const nerve_mapper_params *p;
    double                    eps;
    const nerve_knn          *nn;     /* knn neighbourhoods, else NULL */
} element_job;

/* Clusters one element's points: labels[i] for its i-th point; returns
 * the cluster count or < 0. */
static int64_t cluster_element(int32_t *labels, const int64_t *rows, int64_t n, const element_job *job,
                               int32_t *local)
{
    const nerve_mapper_params *p = job->p;
    nerve_pair_runs runs = { 0 };
    nerve_mat sub = { 0 };
    int64_t rc;
    if (p->cluster == NERVE_CLUSTER_DBSCAN && job->nn) {
        if ((rc = knn_pairs(&runs, rows, n, job->nn, job->eps, local)) == 0)
            rc = mapper_dbscan(labels, n, &runs, p->min_samples);
    } else if ((rc = gather_rows(&sub, job->x, rows, n)) == 0) {
        if (p->cluster != NERVE_CLUSTER_DBSCAN)
            rc = mapper_linkage(labels, &sub, p->metric, p->cluster == NERVE_CLUSTER_LINKAGE ? p->distance : -1,
                                p->gap_bins);
        else
            rc = mapper_dbscan_points(labels, &sub, job->eps, p->metric, p->min_samples, MAPPER_DBSCAN_KEPT_RUNS);
    }
    nerve_pair_runs_free(&runs);
    nerve_mat_free(&sub);
    return rc;
}

/* ---- the whole cover ---------------------------------------------------- */

static double pair_work(const nerve_cover *c, int64_t d)
{
    double w = 0;
    for (int64_t e = 0; e < c->n_elements; e++) {
        double n = (double)(c->start[e + 1] - c->start[e]);
        w += n * n * (double)d;
    }
    return w;
}

/* The elements by decreasing size (NULL when out of memory): taken in this
 * order, the threads finish together. */
static int64_t *largest_first(const nerve_cover *c)
{
    int64_t m = c->n_elements, *order = malloc((size_t)m * sizeof *order + 1);
    for (int64_t i = 0; order && i < m; i++) {   /* insertion sort: tens of elements */
        int64_t size = c->start[i + 1] - c->start[i], at = i;
        for (; at > 0 && c->start[order[at - 1] + 1] - c->start[order[at - 1]] < size; at--)
            order[at] = order[at - 1];
        order[at] = i;
    }
    return order;
}

/* Whether the elements themselves should be the parallel work items: yes
 * unless exact DBSCAN meets an element holding more than a thread's share
 * of the pairs, whose radius search then runs on every thread instead. */
static int elements_in_parallel(const nerve_cover *c, const element_job *job)
{
    if (job->p->cluster != NERVE_CLUSTER_DBSCAN || job->nn)
        return 1;
    double largest = 0;
    for (int64_t e = 0; e < c->n_elements; e++) {
        double n = (double)(c->start[e + 1] - c->start[e]);
        largest = n * n > largest ? n * n : largest;
    }
    return largest * nerve_threads() <= pair_work(c, 1);
}

/* Clusters every element with at least min_samples points (of those
 * marked in mine, unless it is NULL), the largest first. */
static int cluster_cover(int32_t *labels, int64_t *n_clusters, const nerve_cover *c, const element_job *job,
                         const char *mine, nerve_progress *bar)
{
    int64_t m = c->n_elements, done = 0, *order = largest_first(c);
    if (!order)
        return nerve_error_set(NERVE_ENOMEM, "mapper: out of memory");
    int rc = 0;
    char message[512] = "";   /* errors are per thread: carried out of the region */
    #pragma omp parallel if (elements_in_parallel(c, job))
    {
        int32_t *local = job->nn ? malloc((size_t)job->x->rows * sizeof *local) : NULL;
        for (int64_t i = 0; local && i < job->x->rows; i++)
            local[i] = -1;
        #pragma omp for schedule(dynamic, 1)
        for (int64_t k = 0; k < m; k++) {
            int64_t e = order[k], s = c->start[e], n = c->start[e + 1] - s, r = 0;
            if (n >= job->p->min_samples && rc == 0 && (!mine || mine[e]))
                r = job->nn && !local ? nerve_error_set(NERVE_ENOMEM, "mapper: out of memory")
                                      : cluster_element(labels + s, c->points + s, n, job, local);
            #pragma omp critical(mapper_progress)
            {
                if (r < 0 && rc == 0) {
                    rc = (int)r;
                    snprintf(message, sizeof message, "%s", nerve_error());
                }
                n_clusters[e] = r > 0 ? r : 0;
                nerve_progress_update(bar, ++done);
            }
        }
        free(local);
    }
    free(order);
    return rc < 0 ? nerve_error_set(rc, "%s", message) : 0;
}

/* One node per (element, cluster), members ascending. */
static int assemble_nodes(nerve_mapper_graph *g, const nerve_cover *c, const int32_t *labels,
                          const int64_t *n_clusters)
{
    int64_t nodes = 0, members = 0;
    for (int64_t e = 0; e < c->n_elements; e++) {
        nodes += n_clusters[e];
        if (n_clusters[e] > 0)
            for (int64_t i = c->start[e]; i < c->start[e + 1]; i++)
                members += labels[i] >= 0;
    }
    g->n_nodes = nodes;
    g->member_start = malloc((size_t)(nodes + 1) * sizeof *g->member_start);
    g->members = malloc((size_t)members * sizeof *g->members + 1);
    g->node_element = malloc((size_t)nodes * sizeof *g->node_element + 1);
    g->node_cluster = malloc((size_t)nodes * sizeof *g->node_cluster + 1);
    if (!g->member_start || !g->members || !g->node_element || !g->node_cluster)
        return nerve_error_set(NERVE_ENOMEM, "mapper: out of memory");
    int64_t v = 0, at = 0;
    for (int64_t e = 0; e < c->n_elements; e++)
        for (int64_t k = 0; k < n_clusters[e]; k++, v++) {
            g->member_start[v] = at;
            g->node_element[v] = e;
            g->node_cluster[v] = k;
            for (int64_t i = c->start[e]; i < c->start[e + 1]; i++)
                if (labels[i] == k)
                    g->members[at++] = c->points[i];
        }
    g->member_start[nodes] = at;
    return 0;
}

static int choose_neighbours(nerve_knn *nn, element_job *job, const nerve_cover *c, nerve_mapper_graph *g)
{
    const nerve_mapper_params *p = job->p;
    nerve_neighbours use = p->neighbours;
    if (p->cluster != NERVE_CLUSTER_DBSCAN)
        use = NERVE_NEIGHBOURS_EXACT;
    else if (use == NERVE_NEIGHBOURS_AUTO)
        use = pair_work(c, job->x->cols) > EXACT_WORK_LIMIT ? NERVE_NEIGHBOURS_KNN : NERVE_NEIGHBOURS_EXACT;
    g->neighbours_used = use;
    if (use != NERVE_NEIGHBOURS_KNN)
        return 0;
    int64_t k = p->knn_k < job->x->rows - 1 ? p->knn_k : job->x->rows - 1;
    int rc = mapper_neighbour_graph(nn, job->x, k, p->metric, p->seed);
    job->nn = rc == 0 ? nn : NULL;
    return rc;
}

/* The elements clustered here, every element's results afterwards: with
 * a split, this process clusters its share and the split fills in the
 * others'. */
static int cluster_shared(int32_t *labels, int64_t *n_clusters, const nerve_cover *c, const element_job *job,
                          const nerve_mapper_split *split, nerve_progress *bar)
{
    char *mine = split ? calloc((size_t)c->n_elements + 1, 1) : NULL;
    if (split && !mine)
        return nerve_error_set(NERVE_ENOMEM, "mapper: out of memory");
    int rc = split ? split->share(split->ctx, c->start, c->n_elements, mine) : 0;
    if (rc == 0)
        rc = cluster_cover(labels, n_clusters, c, job, mine, bar);
    if (split)   /* even after an error: the others wait for this process */
        rc = split->gather(split->ctx, labels, n_clusters, c->start, c->n_elements, mine, rc);
    free(mine);
    return rc;
}

int nerve_mapper_build(nerve_mapper_graph *g, const nerve_mat *points, const nerve_lens *lens,
                       const nerve_mapper_params *p, const nerve_mapper_meta *meta)
{
    return nerve_mapper_build_split(g, points, lens, p, meta, NULL);
}

int nerve_mapper_build_split(nerve_mapper_graph *g, const nerve_mat *points, const nerve_lens *lens,
                             const nerve_mapper_params *p, const nerve_mapper_meta *meta,
                             const nerve_mapper_split *split)
{
    memset(g, 0, sizeof *g);
    int rc = check_params(p, points, lens);
    if (rc < 0)
        return rc;
    g->n_points = points->rows;
    element_job job = { .x = points, .p = p, .eps = p->eps };
    nerve_cover c = { 0 };
    nerve_knn nn = { 0 };
    rc = nerve_cover_build(&c, lens, p->cover, p->intervals, p->overlap);
    if (rc == 0)
        rc = choose_neighbours(&nn, &job, &c, g);
    if (rc == 0 && p->cluster == NERVE_CLUSTER_DBSCAN && p->eps == 0) {
        int64_t ms = p->min_samples < 2 ? 2 : p->min_samples;
        rc = job.nn && ms - 2 < job.nn->k ? mapper_eps_from_graph(&job.eps, job.nn, ms)
                                          : nerve_mapper_auto_eps(&job.eps, points, ms, p->metric, p->seed);
    }
    g->eps = p->cluster == NERVE_CLUSTER_DBSCAN ? job.eps : 0;
    g->n_elements = c.n_elements;
    int32_t *labels = rc == 0 ? malloc((size_t)c.start[c.n_elements] * sizeof *labels + 1) : NULL;
    int64_t *n_clusters = rc == 0 ? calloc((size_t)c.n_elements + 1, sizeof *n_clusters) : NULL;
    if (rc == 0 && (!labels || !n_clusters))
        rc = nerve_error_set(NERVE_ENOMEM, "mapper: out of memory");
    if (rc == 0) {
        nerve_progress bar;
        nerve_progress_begin(&bar, "mapper", c.n_elements);
        rc = cluster_shared(labels, n_clusters, &c, &job, split, &bar);
        nerve_progress_end(&bar);
        for (int64_t e = 0; e < c.n_elements; e++)
            g->clustered += c.start[e + 1] - c.start[e] >= p->min_samples;
    }
    if (rc == 0)
        rc = assemble_nodes(g, &c, labels, n_clusters);
    if (rc == 0)
        rc = mapper_edges(g, p->min_intersection);
    if (rc == 0)
        rc = mapper_node_figures(g, points, lens, meta);
    if (rc == 0)
        rc = mapper_graph_figures(g);
    free(labels);
    free(n_clusters);
    nerve_cover_free(&c);
    nerve_knn_free(&nn);
    if (rc < 0)
        nerve_mapper_graph_free(g);
    return rc;
}

/* ---- links between two graphs ------------------------------------------- */

void nerve_mapper_links_free(nerve_mapper_links *l)
{
    free(l->a);
    free(l->b);
    free(l->shared);
    memset(l, 0, sizeof *l);
}

int nerve_mapper_links_between(nerve_mapper_links *out, const nerve_mapper_graph *ga, const nerve_mapper_graph *gb)
{
    memset(out, 0, sizeof *out);
    if (ga->n_points != gb->n_points)
        return nerve_error_set(NERVE_EINPUT, "mapper links: the graphs cover %lld and %lld inputs",
                               (long long)ga->n_points, (long long)gb->n_points);
    /* Both graphs as one: b's nodes follow a's, and the nerve's edges
     * between the two halves are the links. */
    nerve_mapper_graph both = { .n_points = ga->n_points, .n_nodes = ga->n_nodes + gb->n_nodes };
    int64_t ma = ga->member_start[ga->n_nodes], mb = gb->member_start[gb->n_nodes];
    both.member_start = malloc((size_t)(both.n_nodes + 1) * sizeof *both.member_start);
    both.members = malloc((size_t)(ma + mb) * sizeof *both.members + 1);
    int rc = both.member_start && both.members ? 0 : nerve_error_set(NERVE_ENOMEM, "mapper links: out of memory");
    if (rc == 0) {
        memcpy(both.member_start, ga->member_start, (size_t)ga->n_nodes * sizeof *both.member_start);
        for (int64_t v = 0; v <= gb->n_nodes; v++)
            both.member_start[ga->n_nodes + v] = ma + gb->member_start[v];
        memcpy(both.members, ga->members, (size_t)ma * sizeof *both.members);
        memcpy(both.members + ma, gb->members, (size_t)mb * sizeof *both.members);
        rc = mapper_edges(&both, 1);
    }
    int64_t n = 0;
    for (int64_t e = 0; rc == 0 && e < both.n_edges; e++)
        n += both.edges[e].a < ga->n_nodes && both.edges[e].b >= ga->n_nodes;
    out->a = rc == 0 ? malloc((size_t)n * sizeof *out->a + 1) : NULL;
    out->b = rc == 0 ? malloc((size_t)n * sizeof *out->b + 1) : NULL;
    out->shared = rc == 0 ? malloc((size_t)n * sizeof *out->shared + 1) : NULL;
    if (rc == 0 && (!out->a || !out->b || !out->shared))
        rc = nerve_error_set(NERVE_ENOMEM, "mapper links: out of memory");
    for (int64_t e = 0; rc == 0 && e < both.n_edges; e++) {
        const nerve_mapper_edge *x = &both.edges[e];
        if (x->a < ga->n_nodes && x->b >= ga->n_nodes) {
            out->a[out->n] = x->a;
            out->b[out->n] = x->b - ga->n_nodes;
            out->shared[out->n++] = x->shared;
        }
    }
    nerve_mapper_graph_free(&both);
    if (rc < 0)
        nerve_mapper_links_free(out);
    return rc;
}
