/*
 * study_internal.h — what the study room's files share.
 */
#ifndef NERVE_STUDY_INTERNAL_H
#define NERVE_STUDY_INTERNAL_H

#include "nerve/study.h"

/* How one input's layer output becomes rows of the point cloud. */
typedef struct vector_layout_t {
    nerve_vector_mode mode;
    int      spatial;                 /* a (C, H, W) map or (T, C) tokens, else a plain vector */
    int      tokens;                  /* (T, C) tokens: a 1 x T map, channels fastest */
    int64_t  channels, height, width; /* for a vector, channels is its length */
    int64_t  cstride, pstride;        /* a map's element (c, position p) is at c * cstride + p * pstride */
    int64_t  rows;                    /* rows per input */
    int64_t  width_out;               /* values per row */
    int      positions;               /* whether rows come from map positions */
    float   *blank;                   /* foreground-position: the map for a blank input (the
                                         extraction owns it), or NULL */
    float    blank_tolerance;         /* a difference from blank above this is foreground */
    const int64_t *valid;             /* tokens: this input's attention mask (T: 1 a token, 0
                                         padding), which random-token and mean keep to; or NULL */
} vector_layout_t;

/* l->mode is the mode as it applies to the layer (nerve/study.h). */
int vector_layout(vector_layout_t *l, nerve_vector_mode mode, int64_t per_input, int ndim, const int64_t *shape,
                  int tokens);
/* Fills rows (l->rows x l->width_out) and, if l->positions, positions
 * (l->rows x 2: y, x) from one input's map. */
void vector_rows(float *rows, int64_t *positions, const float *map, const vector_layout_t *l, nerve_rng *rng);
/* Keeps a copy of the layer's map for a blank input (count floats) in l,
 * with the tolerance foreground-position compares against. */
int  vector_layout_set_blank(vector_layout_t *l, const float *map, int64_t count);

/* Text inputs (inputs_tokens.c): whether an .npy holds integer (N, T)
 * token ids; opening them (and in->pp.attention_mask); a batch of them as
 * (n, T) int64. */
int inputs_tokens_sniff(const char *path);
int inputs_tokens_open(nerve_inputs *in, const char *path);
int inputs_tokens_batch(const nerve_inputs *in, int64_t start, int64_t n, nerve_array *batch);

/* The thumbnail sprite of the inputs: the first SPRITE_MAX_INPUTS inputs,
 * each in a square cell of at most SPRITE_MAX_SIDE pixels, row by row, in
 * pages of SPRITE_PAGE_INPUTS (path, then path's "<stem>.1.png", ...): a
 * browser loads only the pages it shows, and no page passes 3,200 pixels a
 * side (one sheet of 70,000 inputs would be 7,420). */
enum { SPRITE_MAX_INPUTS = 100000, SPRITE_PAGE_INPUTS = 10000, SPRITE_MAX_SIDE = 32 };

typedef struct sprite_info {
    int64_t count, side, columns;   /* count: thumbnails over all pages */
    int64_t per_page, pages;
} sprite_info;

/* Every rank calls it and draws its share of the rows of cells (the PNG's
 * bands); rank 0 writes the files. */
int sprite_write(const char *path, nerve_inputs *in, int64_t count, sprite_info *info);
/* The same with per_page inputs a page (tests use small pages). */
int sprite_write_paged(const char *path, nerve_inputs *in, int64_t count, int64_t per_page, sprite_info *info);
/* The file of page p of the sprite at path (page 0: path itself). */
int sprite_page_path(char *out, size_t cap, const char *path, int64_t page);

/* Writes root as indented JSON to path (through a temporary file) and
 * releases root. */
struct json_t;
int study_write_json(const char *path, struct json_t *root);

/* A layer a stage could not compute for its data (all points equal, fewer
 * points than the method needs): nerve_error() as the reason into the
 * stage index's "skipped" list, and a warning; the stage goes on with the
 * other layers. */
int study_skip_layer(struct json_t *skipped, const char *stage, const char *layer);

/* A study's manifest as the analyses need it. */
typedef struct study_layer {
    char   *name;     /* the tap name */
    char   *file;     /* relative to the study: acts/<name>.npy */
    int64_t rows;     /* inputs x rows per input */
    int64_t map[3];   /* C, H, W when the layer's output is a conv map (its "shape" has rank 3), else 0s */
} study_layer;

typedef struct study_manifest {
    int64_t      inputs;
    char        *spec;       /* the inputs as given to extract */
    int64_t      skipped;    /* inputs left out (unreadable images) */
    int          count;
    study_layer *layers;
} study_manifest;

int  study_manifest_read(study_manifest *m, const char *dir);
/* "acts/x.npy" -> "x": the name a layer's results are stored under. */
void study_file_stem(char *out, size_t cap, const char *file);
void study_manifest_free(study_manifest *m);

/* Persistence distances (ph.c): the metrics' names as files use them; the
 * L x L matrix of one metric in one dimension over layers' diagrams, pairs
 * in parallel; and a layer's diagrams read back from the file its ph/index
 * entry names (JSON's reals come back bit for bit). */
enum { STUDY_PH_METRICS = 3 };
extern const char *const study_ph_metric_names[STUDY_PH_METRICS];
int study_ph_distance_matrix(nerve_mat *m, const nerve_ph *ph, int64_t layers, int dim, int metric,
                             const nerve_study_ph_options *o);
int study_ph_read_layer(nerve_ph *ph, const char *dir, const struct json_t *entry);
/* One distance between two diagrams by metric (0 bottleneck, 1
 * Wasserstein, 2 sliced Wasserstein) as the stage's options say (ph.c). */
int study_ph_pair_distance(double *out, int metric, const nerve_diagram *a, const nerve_diagram *b,
                           const nerve_study_ph_options *o);
/* Every (metric, dimension < dims, pair of layers) distance, the work
 * shared by the ranks (ph_pairs.c): on rank 0 *values (malloc'd) holds
 * item t = (metric * dims + dim) * pairs + pair, pairs in
 * study_ph_distance_matrix's order; NULL on the others. */
int study_ph_shared_distances(float **values, const nerve_ph *ph, int64_t layers, int dims,
                              const nerve_study_ph_options *o);

/* The path of `to` seen from the folder `from` (both absolute and
 * resolved): "../photos", "inputs/x.npy", "."; NULL when out of memory.
 * The caller frees it. */
char *study_relative_path(const char *from, const char *to);

/* One section's settings that change results ("mapper", ...; NULL: the
 * top level) as compact JSON, for a stage's key; the caller frees it. */
char *study_settings_key(const nerve_study_run_options *o, const char *section);

#endif
