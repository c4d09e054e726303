/*
 * extract_internal.h — what extract.c shares with extract_shard.c, where
 * nerve-mpi's ranks split an extraction into contiguous shards of inputs.
 */
#ifndef NERVE_EXTRACT_INTERNAL_H
#define NERVE_EXTRACT_INTERNAL_H

#include "study_internal.h"

/* One extracted layer. */
typedef struct layer {
    int              value;          /* the tap */
    const char      *name;
    const char      *op;
    char             file[256];      /* without .npy */
    int              ndim;
    int64_t          shape[NERVE_MAX_DIMS];   /* per input */
    int              batch_axis;     /* 0, or 1 for (T, N, C) tokens (nerve_tap_info) */
    vector_layout_t  layout;
    nerve_npy_writer acts, positions;
    uint64_t         stream;         /* random stream of this layer */
} layer;

/* How open_writers opens each output file: alone (one process, resuming
 * its .partial files), or, with several ranks, checking that the partial
 * files are laid out, laying them out (rank 0), joining them at a rank's
 * first row. */
typedef enum writer_phase { WRITERS_ALONE, WRITERS_CHECK, WRITERS_LAYOUT, WRITERS_JOIN } writer_phase;

typedef struct extraction {
    const nerve_extract_options *o;
    nerve_model   model;
    nerve_inputs  inputs;
    layer        *layers;
    int           n_layers;
    int          *layer_of_value;    /* value index -> layer index, -1 */
    int64_t       count;             /* inputs in all */
    int64_t       first, last;       /* this rank's inputs: [0, count) alone */
    int64_t       done;              /* where this rank starts (inputs before it are on disk) */
    int           sharded;           /* several ranks write the same files */
    writer_phase  phase;
    int64_t       predicted;         /* this rank wrote predictions (a classifier) */
    int64_t       batch;             /* inputs a model run: o->batch, or 1 for a model that runs no other */
    int64_t       batch_start;       /* global index of the current batch's first input */
    double        saved_at;          /* when the resume state was last saved */
    int           blank_pass;        /* the run is the blank input's: taps keep its maps */
    float        *rows;
    int64_t      *positions;
    float        *gathered;          /* one input's (T, C) tokens out of a (T, N, C) tap */
    nerve_npy_writer predictions, confidence;
} extraction;

/* Opens every output file as x->phase says (extract.c). */
int  extract_open_writers(extraction *x);
/* Applies f to every open writer (extract.c). */
int  extract_each_writer(extraction *x, int (*f)(nerve_npy_writer *));
/* Everything that decides the output, for resume records (extract.c). */
void extract_run_key(char *out, size_t cap, const nerve_extract_options *o);

/* With several ranks (extract_shard.c): this rank's shard, the files laid
 * out by rank 0 (kept when an earlier run with the same key laid them out),
 * the writers joined where this rank resumes. */
int  shard_open(extraction *x);
/* Records, after syncing the rows, that this rank's inputs before `done`
 * are on disk. */
int  shard_save(extraction *x, int64_t done);
/* Every rank's rows synced and recorded; then rank 0 commits the files
 * (what only it does after this, the others do not wait for). */
int  shard_close(extraction *x);
/* For the tests: whether this rank is to die once it records `done`
 * (NERVE_TEST_KILL_RANK=<rank>:<inputs of its shard>), as a node lost
 * midway would; shard_save then kills it. */
int  shard_test_kill_due(const extraction *x, int64_t done);
/* Rank 0, the files committed: the shards' records removed. */
void shard_forget(const extraction *x);

#endif
