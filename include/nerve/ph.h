/*
 * nerve/ph.h — the ph room: persistent homology of a layer's point cloud.
 * Vietoris-Rips persistence barcodes in dimensions 0 to 3 with Z/2
 * coefficients, computed as ripser computes them (persistent cohomology,
 * clearing, coboundaries enumerated implicitly in the combinatorial number
 * system), from points or from a distance matrix.
 *
 *     nerve_mat acts = { 0 };             // N x d float32
 *     nerve_ph_options o;
 *     nerve_ph ph = { 0 };
 *     nerve_ph_defaults(&o);              // dimensions 0 and 1, no threshold
 *     int rc = nerve_mat_read_npy(&acts, "a.npy");
 *     if (rc == 0)
 *         rc = nerve_ph_points(&ph, &acts, &o);
 *     if (rc == 0)   // bar i of dimension 1: ph.dgm[1].birth[i] to ph.dgm[1].death[i] (INFINITY: essential)
 *         printf("%lld H0 bars, %lld H1 bars\n", (long long)ph.dgm[0].n, (long long)ph.dgm[1].n);
 *     else
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *     nerve_ph_free(&ph);
 *     nerve_mat_free(&acts);
 *     if (rc < 0)
 *         return nerve_exit_status(rc);
 */
#ifndef NERVE_PH_H
#define NERVE_PH_H

#include "nerve/core.h"
#include "nerve/knn.h"

enum { NERVE_PH_MAX_DIM = 3 };

typedef struct nerve_diagram {
    int64_t n;
    double *birth, *death;   /* death = INFINITY for classes that never die */
} nerve_diagram;

typedef struct nerve_ph {
    int           max_dim;
    int64_t       points;
    nerve_diagram dgm[NERVE_PH_MAX_DIM + 1];
} nerve_ph;

typedef struct nerve_ph_options {
    int          max_dim;      /* 0 to 3 (default 1) */
    double       threshold;    /* largest edge; INFINITY (default): no limit */
    nerve_metric metric;       /* for point clouds */
} nerve_ph_options;

void nerve_ph_defaults(nerve_ph_options *o);

/* From a point cloud (N x d). */
int  nerve_ph_points(nerve_ph *out, const nerve_mat *points, const nerve_ph_options *o);
/* From a full symmetric N x N distance matrix (row-major, zero diagonal). */
int  nerve_ph_distances(nerve_ph *out, const double *dist, int64_t n, const nerve_ph_options *o);
void nerve_ph_free(nerve_ph *ph);

/* Checks a square matrix read from a file: finite, symmetric, zero on the
 * diagonal, no negative entries; label names it in errors. */
int  nerve_ph_check_distances(const double *dist, int64_t n, const char *label);

/* ---- distances between diagrams ------------------------------------------ */

/* gudhi's definitions: L-infinity costs between points, (death - birth) / 2
 * to the diagonal, diagonal points free; essential points (infinite death)
 * only meet essential points, matched by birth, and a different count of
 * them makes the distance infinite. Exact algorithms. */
int nerve_diagram_bottleneck(double *out, const nerve_diagram *a, const nerve_diagram *b);
int nerve_diagram_wasserstein(double *out, const nerve_diagram *a, const nerve_diagram *b, double q);
/* The same within a relative error: 0 is the exact Hungarian method above
 * (O(n^3) time, n^2 memory), > 0 the auction algorithm with epsilon
 * scaling, stopped once the result is at most (1 + relative_error) times
 * the distance (Kerber, Morozov and Nigmetov's bound, as gudhi.hera's
 * delta). Equal diagrams give 0 exactly. Otherwise eps stops falling at
 * 1e-13 of the largest cost, so the bidding always ends; diagrams at a
 * distance near 0, where no relative bound can be certified, may then be
 * off by up to about n * 1e-12 of the largest cost (its q-th root). */
int nerve_diagram_wasserstein_within(double *out, const nerve_diagram *a, const nerve_diagram *b, double q,
                                     double relative_error);
/* The relative error nerve uses unless told: 0 (exact) up to 500 points
 * in the two diagrams together (the Hungarian method takes 0.03 s there,
 * 2.3 s at 2000); else 0.001 (the auction takes 0.12 s for two diagrams of
 * 1000 points). */
double nerve_diagram_wasserstein_default_error(const nerve_diagram *a, const nerve_diagram *b);
/* gudhi's sliced Wasserstein distance over `directions` lines (finite
 * points only). */
int nerve_diagram_sliced_wasserstein(double *out, const nerve_diagram *a, const nerve_diagram *b, int64_t directions);
/* No NaN, no infinite birth, no death before birth; label names it. */
int nerve_diagram_check(const nerve_diagram *g, const char *label);

/* ---- vectorisations (gudhi.representations' definitions; classes that
 * never die are left out) ---------------------------------------------- */

/* Betti curve: at n points t of [t0, t1], how many intervals hold b <= t < d. */
void   nerve_diagram_betti(double *out, const nerve_diagram *g, double t0, double t1, int64_t n);
/* Persistence landscapes: out[l * n + i] = the (l+1)-th largest tent
 * sqrt(2) max(0, min(t - b, d - t)) at the i-th of n points of [t0, t1]
 * (gudhi's scale: heights measured in the diagram's rotated frame). */
int    nerve_diagram_landscape(double *out, const nerve_diagram *g, int64_t levels, double t0, double t1, int64_t n);
/* Persistence image: Gaussians of width sigma at (birth, persistence),
 * evaluated on a res x res grid over [b0, b1] x [p0, p1] (row = persistence). */
void   nerve_diagram_image(double *out, const nerve_diagram *g, double sigma, double b0, double b1, double p0,
                           double p1, int64_t res);
/* Persistent entropy: -sum l_i / L log(l_i / L) over the lengths l_i. */
double nerve_diagram_entropy(const nerve_diagram *g);
/* Total persistence: sum (d - b)^p. */
double nerve_diagram_total_persistence(const nerve_diagram *g, double p);

/* ---- diagrams as files ---------------------------------------------------- */

/* The diagrams as a JSON array, one object per dimension: {dim, count,
 * entropy, total_persistence, pairs: [[birth, death], ...]} with a null
 * death for classes that never die (nerve ph's "diagrams"). */
struct json_t;
struct json_t *nerve_ph_diagrams_json(const nerve_ph *ph);
/* FILE.json -> FILE.dim<k>.npy for each dimension: pairs x 2 float32, inf
 * for classes that never die. */
int nerve_ph_write_npys(const char *json_path, const nerve_ph *ph);
/* Reads the diagrams of a file: nerve ph's JSON ({"diagrams": [{"pairs":
 * [[birth, death], ...]}, ...]}) or one bare list of pairs (dimension 0),
 * null death for classes that never die. At most NERVE_PH_MAX_DIM + 1
 * dimensions; every point is checked (nerve_diagram_check). *n_dims gets
 * the count read; free them with nerve_ph_diagrams_free (also after a
 * failure, which leaves *n_dims at 0 and nothing to free). */
int  nerve_ph_read_diagrams(nerve_diagram out[NERVE_PH_MAX_DIM + 1], int *n_dims, const char *path);
void nerve_ph_diagrams_free(nerve_diagram *g, int n_dims);

/* ---- inputs ------------------------------------------------------------- */

/* ripser's `point-cloud` text format: one point per line, coordinates
 * separated by commas or spaces. */
int nerve_ph_read_points_text(nerve_mat *out, const char *path);
/* ripser's `lower-distance` format: the entries below the diagonal, row by
 * row; *out becomes the full n x n matrix (malloc'd). */
int nerve_ph_read_lower_distance(double **out, int64_t *n, const char *path);

/* How an input file is read: auto takes .npy files that look like
 * distances (nerve_ph_looks_like_distances) as a distance matrix and
 * others as a point cloud, and reads files of other names as ripser's
 * lower-distance. */
typedef enum nerve_ph_format {
    NERVE_PH_FORMAT_AUTO = 0,
    NERVE_PH_FORMAT_NPY_POINTS,       /* an .npy point cloud, even if square */
    NERVE_PH_FORMAT_NPY_DISTANCE,     /* an .npy N x N distance matrix */
    NERVE_PH_FORMAT_POINT_CLOUD,      /* ripser's point-cloud text */
    NERVE_PH_FORMAT_LOWER_DISTANCE,   /* ripser's lower-distance text */
} nerve_ph_format;

const char *nerve_ph_format_name(nerve_ph_format f);
int         nerve_ph_format_parse(const char *s, nerve_ph_format *f);   /* -1 if unknown */

/* Whether a matrix is square, symmetric, with a zero diagonal: what a
 * distance matrix is, and a point cloud almost never. */
int nerve_ph_looks_like_distances(const nerve_mat *m);

/* An input file: a point cloud, or a distance matrix (dist != NULL). */
typedef struct nerve_ph_input {
    nerve_mat points;   /* N x d, when dist is NULL */
    double   *dist;     /* N x N, checked (nerve_ph_check_distances) */
    int64_t   n;        /* N */
} nerve_ph_input;

/* Reads path as format says; free with nerve_ph_input_free (nothing to
 * free after a failure). */
int  nerve_ph_input_read(nerve_ph_input *out, const char *path, nerve_ph_format format);
void nerve_ph_input_free(nerve_ph_input *in);

typedef enum nerve_subsample { NERVE_SUBSAMPLE_MAXMIN = 0, NERVE_SUBSAMPLE_RANDOM } nerve_subsample;

const char *nerve_subsample_name(nerve_subsample s);
int         nerve_subsample_parse(const char *s, nerve_subsample *out);
/* m landmarks of x (all when m >= N): max-min (farthest point first, from a
 * seeded start) or uniform; picked (may be NULL) receives their rows. */
int nerve_ph_subsample(nerve_mat *out, int64_t *picked, const nerve_mat *x, int64_t m, nerve_subsample how,
                       nerve_metric metric, uint64_t seed);

/* How a layer's diagrams are made comparable with another layer's: birth
 * and death divided by the cloud's diameter or by the median distance of a
 * point to its nearest neighbour (both on the points the diagram is
 * computed from), or left alone. Append-only. */
typedef enum nerve_scale { NERVE_SCALE_NONE = 0, NERVE_SCALE_DIAMETER, NERVE_SCALE_MEDIAN_NN } nerve_scale;

const char *nerve_scale_name(nerve_scale s);
int         nerve_scale_parse(const char *s, nerve_scale *out);   /* -1 if unknown */
/* The scale of a cloud: its diameter, its median nearest-neighbour distance
 * (N >= 2), or 1 for NERVE_SCALE_NONE. */
int nerve_ph_scale(double *out, const nerve_mat *points, nerve_scale how, nerve_metric metric);

#endif /* NERVE_PH_H */
