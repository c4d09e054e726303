/*
 * nerve/study.h — the study room: the study directory every analysis reads
 * and writes, and the extraction that fills it with activation point clouds.
 *
 *     nerve_extract_options o;
 *     nerve_extract_defaults(&o);         // every layer, a random position of conv maps
 *     o.model = "model.onnx";
 *     o.data = "fashion-mnist:test";      // Debian's dataset-fashion-mnist
 *     o.out = "study";
 *     o.limit = 200;                      // the first 200 inputs
 *     int rc = nerve_extract(&o);
 *     if (rc < 0) {
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *         return nerve_exit_status(rc);
 *     }
 *
 * writes study/acts/<layer>.npy (N x C float32, one row per input, or
 * several with --per-input / --mode all), study/inputs/labels.npy,
 * predictions.npy, confidence.npy and study/manifest.json.
 */
#ifndef NERVE_STUDY_H
#define NERVE_STUDY_H

#include "nerve/core.h"
#include "nerve/nn.h"
#include "nerve/sim.h"
#include "nerve/mapper.h"
#include "nerve/ph.h"
#include "nerve/embed.h"

/* ------------------------------------------------------------------------ */
/* Inputs                                                                   */
/* ------------------------------------------------------------------------ */

/* Preprocessing in the manner of torchvision's transforms. */
typedef struct nerve_preprocess {
    int64_t resize;        /* shorter side to this many pixels (Resize(int)); 0: keep */
    int64_t crop;          /* center crop to crop x crop (CenterCrop); 0: none */
    int     no_scale;      /* keep 8-bit data in 0..255 (ToTensor scales to [0,1]) */
    int     n_mean, n_std; /* per-channel mean and std (Normalize); 0 values: none */
    float   mean[4], std[4];
    int     strict;        /* unreadable images in a folder are an error, not a warning */
    /* Where an array's labels come from (images in folders are labelled by
     * their folder): an .npy of N integers, and a text file of class names,
     * one a line, for labels 0, 1, ...; NULL: none. */
    const char *labels;
    const char *class_names;
    /* Token ids' attention mask: an .npy (N, T) of 1 (a token) and 0
     * (padding), fed to the model's second input; NULL: all ones. */
    const char *attention_mask;
} nerve_preprocess;

typedef struct nerve_inputs {
    char        *spec;          /* as given: a path or fashion-mnist:SPLIT */
    int64_t      count;
    int          ndim;          /* per-input rank: 3 for (C, H, W) */
    int64_t      shape[3];      /* per-input (C, H, W) after preprocessing */
    int          has_labels;
    nerve_array  labels;        /* int64 (count) */
    int          n_classes;
    char       **class_names;   /* for image folders, else NULL */
    int64_t      skipped;       /* unreadable images left out */
    int          token_ids;     /* text: (N, T) int64 token ids; ndim 1, shape[0] = T */
    /* private */
    nerve_array  data;          /* array sources: (count, C, H, W) float32, or uint8 as
                                   stored (Fashion-MNIST), unnormalised */
    float        scale;         /* applied to array data: 1/255 for 8-bit sources */
    char       **files;         /* folder sources */
    nerve_preprocess pp;
    nerve_array  mask;          /* token ids' attention mask (N, T) int64, or empty */
} nerve_inputs;

/* Opens inputs: fashion-mnist:train|test, an IDX image file (labels from
 * a sibling *-labels-* file if present), an .npy array (N, H, W) or
 * (N, C, H, W), an .npy of integer token ids (N, T), or a folder with
 * one sub-folder of images per class (the ImageFolder convention). channels (1 or 3; 0 = as stored) is what the model
 * takes. */
int  nerve_inputs_open(nerve_inputs *in, const char *spec, int channels, const nerve_preprocess *pp);
/* Images in folders may differ in size and colour mode: each is converted
 * to the model's channels as PIL's convert() does (RGBA and grey+alpha lose
 * alpha; grey becomes RGB by repeating it; RGB becomes grey by the ITU-R
 * 601-2 luma L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, PIL's "L"), then
 * resized and cropped; after preprocessing they must agree in size.
 * Inputs [start, start + n) as a float32 (n, C, H, W) batch, preprocessed. */
int  nerve_inputs_batch(nerve_inputs *in, int64_t start, int64_t n, nerve_array *batch);
/* Token ids' attention mask for inputs [start, start + n): (n, T) int64,
 * all ones when none was given. */
int  nerve_inputs_mask_batch(const nerve_inputs *in, int64_t start, int64_t n, nerve_array *batch);
/* One blank input, (1, C, H, W): every pixel 0 before the preprocessing,
 * which then applies as to every input (the background of a photo on
 * black, of a Fashion-MNIST image). */
int  nerve_inputs_blank(const nerve_inputs *in, nerve_array *batch);
void nerve_inputs_free(nerve_inputs *in);

/* What a study's manifest records about its inputs (inputs.preprocess and
 * where they are), so the model can run on them again from any working
 * directory. The preprocessing as JSON (a new reference): */
struct json_t;
struct json_t *nerve_preprocess_json(const nerve_preprocess *pp);
/* ... and back from a manifest (its inputs.preprocess; none recorded: none
 * applied); NERVE_EINPUT naming `where` and the key for a wrong value. The
 * one way every command that reruns a study's model gets its preprocessing. */
int nerve_preprocess_from_json(nerve_preprocess *pp, const struct json_t *manifest, const char *where);
/* Adds to a manifest's "inputs" object where spec, pp->labels and
 * pp->class_names are: "location", "labels_location", "class_names_location",
 * each {"from_study": path relative to the study, "absolute": path}. */
int nerve_study_inputs_record(struct json_t *inputs, const char *spec, const nerve_preprocess *pp,
                              const char *study_dir);
/* The inputs of a study (its manifest read from manifest_path) as a path
 * to open (out, cap): the recorded path from the study if it is there, else
 * the absolute one, else inputs.spec as given. NERVE_EINPUT if none exists. */
int nerve_study_inputs_locate(char *out, size_t cap, const struct json_t *manifest, const char *study_dir,
                              const char *manifest_path);

/* ------------------------------------------------------------------------ */
/* Layer names for people                                                   */
/* ------------------------------------------------------------------------ */

/* Short names for tap names, as a person reads them, unique among taps:
 * "/layer4/layer4.1/relu_1/Relu_output_0" -> "layer4.1.relu_1" (PyTorch's
 * module path), "/features/features.0/Conv_output_0" -> "features.0",
 * "onnx::Conv_123" -> "Conv_123", "relu1" -> "relu1". Names that would
 * collide keep more: the op ("layer1.0.Add"), then the whole tap name, then
 * a " #2" suffix. Deterministic: the same taps give the same names. *out
 * (n strings) is freed with nerve_layer_display_names_free. */
int  nerve_layer_display_names(char ***out, const char *const *taps, int n);
void nerve_layer_display_names_free(char **names, int n);
/* Gives each of a manifest's layers a "display" name (one it records is
 * kept); the tap name stays "name". */
int  nerve_study_display_names(struct json_t *manifest);

/* ------------------------------------------------------------------------ */
/* From a layer's output to vectors                                         */
/* ------------------------------------------------------------------------ */

/* How a conv layer's (C, H, W) map, or a transformer's (T, C) tokens,
 * becomes vectors; outputs of rank 2 are vectors already and every mode
 * keeps them as they are. A mode of one kind applied to the other:
 * random-position and foreground-position take a random token (any, the
 * first and last included), all takes every token, center the middle one;
 * tokens and random-token take every or a random position of a map, and
 * cls (a map has no class token) its mean. Append-only. */
typedef enum nerve_vector_mode {
    NERVE_MODE_RANDOM_POSITION = 0,  /* one (or K) random positions, edges excluded (TopoAct) */
    NERVE_MODE_MAX_NORM,             /* the position of largest L2 norm (Purvine et al. 2022) */
    NERVE_MODE_MEAN,                 /* mean over positions */
    NERVE_MODE_MAX,                  /* max over positions, per channel */
    NERVE_MODE_FLATTEN,              /* C*H*W */
    NERVE_MODE_CENTER,               /* the center position */
    NERVE_MODE_ALL,                  /* every position: H*W rows per input */
    NERVE_MODE_FOREGROUND_POSITION,  /* one (or K) random positions among those whose activation
                                        differs from the layer's response to a blank input there
                                        (the object, not the background); edges excluded */
    NERVE_MODE_TOKENS,               /* every token: T rows per input */
    NERVE_MODE_CLS,                  /* the first token (BERT's [CLS], a ViT's class token) */
    NERVE_MODE_RANDOM_TOKEN,         /* one (or K) random tokens */
} nerve_vector_mode;

const char *nerve_vector_mode_name(nerve_vector_mode m);
int         nerve_vector_mode_parse(const char *s, nerve_vector_mode *m);   /* -1 if unknown */

/* ------------------------------------------------------------------------ */
/* Extraction                                                               */
/* ------------------------------------------------------------------------ */

typedef struct nerve_extract_options {
    const char        *model;        /* .onnx */
    const char        *data;         /* an inputs spec (nerve_inputs_open) */
    const char        *out;          /* the study directory */
    const char        *layers;       /* "all" or NAME,NAME (tap names, as `nerve layers` shows) */
    nerve_vector_mode  mode;
    int64_t            per_input;    /* positions per input for random-position */
    int64_t            batch;
    int64_t            limit;        /* first N inputs only; 0: all */
    uint64_t           seed;
    nerve_preprocess   pp;
    int                no_sprite;    /* no inputs/sprite.png (a study beside one that has it) */
} nerve_extract_options;

void nerve_extract_defaults(nerve_extract_options *o);
int  nerve_extract(const nerve_extract_options *o);

/* ------------------------------------------------------------------------ */
/* Embeddings of a study's layers                                           */
/* ------------------------------------------------------------------------ */

/* One file's embedding: t-SNE with tsne's options, or PCA to pca_dims
 * components when tsne is NULL, written to out; returns its figures (the
 * caller releases them), or NULL with *rc set. */
struct json_t *nerve_embed_file(const char *in, const char *out, const nerve_tsne_options *tsne, int64_t pca_dims,
                                int *rc);
/* Every layer: DIR/embed/<layer>.{tsne,pca}.npy and DIR/embed/index.<method>.json;
 * *figures (the caller releases it) lists each layer's. */
int nerve_study_embed(const char *dir, const nerve_tsne_options *tsne, int64_t pca_dims, struct json_t **figures);
/* The same with UMAP: DIR/embed/<layer>.umap.npy and DIR/embed/index.umap.json,
 * whose figures record every UMAP setting used. */
struct json_t *nerve_embed_file_umap(const char *in, const char *out, const nerve_umap_options *umap, int *rc);
int nerve_study_embed_umap(const char *dir, const nerve_umap_options *umap, struct json_t **figures);

/* ------------------------------------------------------------------------ */
/* The model cache                                                          */
/* ------------------------------------------------------------------------ */

/* nerve's cache folder, made if missing: $NERVE_CACHE, else
 * $XDG_CACHE_HOME/nerve, else ~/.cache/nerve. */
int nerve_cache_dir(char *out, size_t cap);
/* Where the cache keeps a model trained with o's settings (checkpoints
 * included in the name). */
int nerve_train_cache_path(char *out, size_t cap, const nerve_train_options *o);
/* What `nerve train` prints about a training run: settings, per-epoch
 * loss, accuracy and seconds, checkpoints. The caller releases it. */
struct json_t;
struct json_t *nerve_train_record(const nerve_train_options *o, const nerve_train_result *r);
/* The model o->out (with its checkpoints) as the cache has it, or trained
 * now and recorded beside it as o->out + ".json"; *record (the caller
 * releases it) says which, in "cached". force: train even if cached. */
int nerve_train_cached(const nerve_train_options *o, int force, struct json_t **record);

/* ------------------------------------------------------------------------ */
/* Similarity between a study's layers                                      */
/* ------------------------------------------------------------------------ */

/* Writes DIR/sim/<metric>.npy (float32, L x L) for each metric over the
 * study's layers that hold one vector per input, and DIR/sim/index.json
 * naming them; *skipped counts the layers left out (several rows per
 * input). */
int nerve_study_similarity(const char *dir, const nerve_sim_metric *metrics, int n_metrics,
                           const nerve_sim_options *o, int *skipped);

/* SVCCA of whole conv maps through the DFT between the layers of DIR/sim
 * (the study of averaged maps, DIR = study/mean), from the whole maps of
 * its first inputs in DIR/maps (a flatten extraction): DIR/sim/svcca-dft.npy,
 * named in DIR/sim/index.json, NaN for a layer that is not a map and a
 * pair the method refuses, each with its reason. */
int nerve_study_similarity_dft(const char *dir, const nerve_sim_options *o);
/* How many inputs' whole maps DIR/maps should hold: `wanted`, fewer when
 * the study has fewer or all its maps would pass a gigabyte; 0 when it has
 * fewer than two conv maps. */
int nerve_study_maps_inputs(int64_t *count, const char *mean_dir, int64_t wanted);

/* The same between two studies over the same inputs (two models, or two
 * checkpoints of one model), inputs matched by id (their place in the
 * inputs both were extracted from; the first min(N_a, N_b)): writes
 * DIR/sim/vs_<other>/<metric>.npy (L_a x L_b) and index.json there. */
int nerve_study_similarity_between(const char *dir, const char *other, const nerve_sim_metric *metrics,
                                   int n_metrics, const nerve_sim_options *o, int *skipped);
/* Where in a study the comparison with another goes: "sim/vs_<other's folder name>". */
void nerve_study_between_folder(char *out, size_t cap, const char *other);
/* Every layer against every class (nerve_sim_class_sensitivity, SVCCA
 * keeping `keep` of the variance) into DIR/sim/classes.npy (float32,
 * L x C; a layer that cannot be reduced is a row of NaN, its reason in
 * classes.json's null_rows) and DIR/sim/classes.json naming the layers.
 * Needs the study's labels (inputs/labels.npy). */
int nerve_study_class_sensitivity(const char *dir, double keep);

/* ------------------------------------------------------------------------ */
/* Mapper graphs of a study's layers                                        */
/* ------------------------------------------------------------------------ */

typedef struct nerve_study_mapper_summary {
    int layers, skipped;
} nerve_study_mapper_summary;

/* Writes DIR/mapper/<layer>.json for every layer (rows = inputs x K), with
 * the study's labels, predictions and confidences as node figures; the
 * links between consecutive layers over the same rows in
 * DIR/mapper/links/<a>__<b>.json; and DIR/mapper/index.json. */
int nerve_study_mapper(const char *dir, const char *lens, const nerve_mapper_params *p,
                       nerve_study_mapper_summary *sum);

/* ------------------------------------------------------------------------ */
/* Persistence of a study's layers                                          */
/* ------------------------------------------------------------------------ */

typedef struct nerve_study_ph_options {
    nerve_ph_options ph;            /* max_dim (default 1), threshold, metric */
    int64_t          max_points;    /* landmarks per layer (default 1000; 0: all) */
    nerve_subsample  subsample;     /* default maxmin */
    uint64_t         seed;
    nerve_scale      scale;         /* default diameter */
    double           order;         /* of the Wasserstein distance (default 1) */
    double           relative_error;/* of the Wasserstein distance; < 0 (default): nerve's default */
    int64_t          directions;    /* of the sliced Wasserstein distance (default 50) */
} nerve_study_ph_options;

void nerve_study_ph_defaults(nerve_study_ph_options *o);

/* Writes every layer's diagrams, divided by its scale, to DIR/ph/<layer>.json
 * (nerve ph's JSON) and .dim<k>.npy, the layer x layer distance matrices
 * DIR/ph/<metric>.dim<k>.npy (float32; metric bottleneck, wasserstein,
 * sliced_wasserstein) and DIR/ph/index.json naming them all. */
int nerve_study_ph(const char *dir, const nerve_study_ph_options *o, int *layers_done);

/* Persistence distances across studies (another model, seed or checkpoint),
 * from the diagrams each study's ph stage wrote with the same max_dim,
 * metric and normalisation: every layer of DIR against every layer of
 * OTHER into DIR/ph/vs_<other's folder name>/<metric>.dim<d>.npy (L x L2)
 * with index.json there; and the stacked matrix of all layers of all the
 * studies (sum L x sum L, in the order given) into DIRS[0]/studies/ph/,
 * with DIRS[0]/studies/index.json naming the studies (relative to the
 * first) and their layers. */
int nerve_study_ph_between(const char *dir, const char *other);
int nerve_study_ph_stacked(const char *const *dirs, int n);

/* ------------------------------------------------------------------------ */
/* Findings of a study (the findings room over its layers)                  */
/* ------------------------------------------------------------------------ */

typedef struct nerve_study_findings_options {
    int64_t  k;          /* neighbours for the outlier score and k-NN accuracy (default 10) */
    int64_t  max_dims;   /* the Mahalanobis score's PCA width (default 64) */
    uint64_t seed;       /* approximate neighbours, the probe's split */
} nerve_study_findings_options;

void nerve_study_findings_defaults(nerve_study_findings_options *o);
/* Writes DIR/findings/<layer>.knn.npy and <layer>.mahalanobis.npy (N
 * float32 each, for every layer with one row per input), outlier.npy (the
 * overall score), label_noise.npy (with labels) and findings.json: every
 * layer's figures and the findings, each with a kind, a layer, a score,
 * the inputs or Mapper nodes, and a sentence. Reads the Mapper graphs and
 * similarity matrices the study has. *found (may be NULL): how many. */
int nerve_study_findings(const char *dir, const nerve_study_findings_options *o, int *found);

/* ------------------------------------------------------------------------ */
/* Feature visualisation of a study's layers (the featvis room)             */
/* ------------------------------------------------------------------------ */

typedef struct nerve_study_featvis_options {
    const char *layers;      /* whose Mapper nodes get images: tap names, comma-separated;
                                NULL or "last-conv": the last layer of maps */
    int64_t     steps;       /* Adam steps per image (default 192) */
    int64_t     channels;    /* the gallery: the first K channels of every layer of maps (default 8) */
    double      cossim_pow;  /* a node's objective: dot x cos^K with its mean vector (default 4) */
    uint64_t    seed;
} nerve_study_featvis_options;

void nerve_study_featvis_defaults(nerve_study_featvis_options *o);
/* For each Mapper node of the chosen layers, the image whose activation
 * points along the node's mean vector (at the centre of the map for
 * layers of single positions, else over all positions), each layer of
 * maps' first channels and every class logit, as PNGs (and the model's
 * inputs as .npy) in DIR/featvis/<layer>/ and DIR/featvis/classes/, named
 * with their cosines and class probabilities in DIR/featvis/index.json. */
int nerve_study_featvis(const char *dir, const nerve_study_featvis_options *o);

/* ------------------------------------------------------------------------ */
/* A whole study: nerve run                                                 */
/* ------------------------------------------------------------------------ */

enum { NERVE_STUDY_RUN_MAX_CHECKPOINTS = 16, NERVE_STUDY_RUN_MAX_STAGES = 16 };

/* The stages of a study, in the order they run (src/study/run.c). */
typedef enum nerve_study_stage {
    NERVE_STAGE_EXTRACT, NERVE_STAGE_MEAN, NERVE_STAGE_MAPPER, NERVE_STAGE_PH, NERVE_STAGE_EMBED,
    NERVE_STAGE_SIM, NERVE_STAGE_DYNAMICS, NERVE_STAGE_FINDINGS, NERVE_STAGE_FEATVIS, NERVE_STAGE_COUNT
} nerve_study_stage;

const char *nerve_study_stage_name(nerve_study_stage s);
/* "extract,mapper,embed" (or "all") into a mask of 1 << stage; extract is
 * always in it (every other stage reads it). -1 naming the unknown stage. */
int         nerve_study_stages_parse(const char *list, unsigned *mask);

/* Every setting a study has: what `nerve run` takes as options and reads
 * from a study file (nerve_study_settings_read), and what the manifest
 * records as run.settings (nerve_study_settings_json). */
typedef struct nerve_study_run_options {
    const char  *model;          /* .onnx; NULL: the built-in cnn-small, trained once and cached */
    const char  *checkpoints[NERVE_STUDY_RUN_MAX_CHECKPOINTS];   /* the user's model earlier in training */
    int          n_checkpoints;
    const char  *data;           /* inputs (default fashion-mnist:test) */
    const char  *out;            /* the study (default "study") */
    int64_t      limit;          /* the first N inputs; 0: all */
    uint64_t     seed;
    int          force;          /* recompute every stage */
    unsigned     stages;         /* 1 << nerve_study_stage for each stage run (default: all) */
    /* inputs and extraction, as nerve extract */
    const char  *preset;         /* "imagenet": torchvision's resize 256, crop 224, mean and std,
                                    for each of them not set otherwise; NULL: none */
    nerve_preprocess pp;
    const char  *layers;         /* "all" or tap names, comma-separated */
    nerve_vector_mode mode;      /* how conv maps become vectors (default random-position) */
    int64_t      per_input;
    int64_t      batch;
    /* the stages' parameters */
    const char  *lens;           /* the Mapper lens (default l2norm) */
    nerve_mapper_params mapper;
    nerve_study_ph_options ph;
    nerve_tsne_options tsne;
    int          n_metrics;      /* the similarity metrics; 0: the study's default set */
    nerve_sim_metric metrics[NERVE_SIM_METRIC_COUNT];
    nerve_sim_options sim;
    int64_t      dft_inputs;     /* svcca-dft of whole conv maps over this many inputs (the mean stage); 0: none */
    nerve_study_findings_options findings;
    nerve_study_featvis_options featvis;
    struct json_t *owned;        /* holds the strings a study file gave */
} nerve_study_run_options;

/* Reads a study file (JSON: see docs/commands.md), or a study's
 * manifest.json (its run.settings), over o's current values: a setting the
 * file does not name keeps its value. Relative paths in the file are read
 * from the file's folder. NERVE_EINPUT naming the file and the key for an
 * unknown key or a value of the wrong type. */
int  nerve_study_settings_read(nerve_study_run_options *o, const char *path);
/* o's settings as a study file would give them, paths relative to the
 * folder `base` (NULL: as given); the caller releases it. */
struct json_t *nerve_study_settings_json(const nerve_study_run_options *o, const char *base);
/* Applies o->preset to the preprocessing it leaves unset; NERVE_EINPUT
 * for an unknown preset. */
int  nerve_study_settings_resolve(nerve_study_run_options *o);
void nerve_study_run_options_free(nerve_study_run_options *o);

typedef struct nerve_study_run_stage {
    char   name[32];
    int    skipped;              /* up to date */
    double seconds;
} nerve_study_run_stage;

typedef struct nerve_study_run_summary {
    int             n_stages;
    nerve_study_run_stage stages[NERVE_STUDY_RUN_MAX_STAGES];
    double          seconds;
} nerve_study_run_summary;

void nerve_study_run_defaults(nerve_study_run_options *o);
/* Every stage of a study (see src/study/run.c), skipping those whose inputs
 * and parameters did not change since they were last completed; the
 * manifest's "run" section records them, each only once its outputs are
 * committed. NERVE_EINPUT, naming the holder's pid, while another run holds
 * the study's lock (DIR/.lock). */
int  nerve_study_run(const nerve_study_run_options *o, nerve_study_run_summary *sum);

/* One line per layer: points, Mapper graph, persistence counts, t-SNE KL. */
int  nerve_study_summary(const char *dir, FILE *out);

/* One layer's graph (by its tap name) with the study's metadata, as
 * nerve's JSON, computed now and not written (the viewer's sliders). The
 * caller releases *out. */
struct json_t;
int nerve_study_mapper_layer(struct json_t **out, const char *dir, const char *layer, const char *lens,
                             const nerve_mapper_params *p);

/* One input's activation maps (the viewer's grid): the study's model run
 * on input `input` of the study's inputs; for every extracted layer its
 * name, channels, height, width, largest magnitude and its C x H x W values
 * as 8-bit pixels in base64 ("maps"; vectors are one row). The caller
 * releases *out. */
int nerve_study_activation_maps(struct json_t **out, const char *dir, int64_t input);

/* The layers a study's manifest lists. */
typedef struct nerve_study_layer_list {
    int      count;
    int64_t  inputs;
    char   **names;    /* tap names */
    char   **files;    /* relative to the study: acts/<stem>.npy */
    char   **stems;    /* file names without folder and .npy */
    int64_t *rows;     /* inputs x rows per input */
} nerve_study_layer_list;

/* Reads and checks DIR/manifest.json (a study may come from anyone): each
 * layer's file must lie inside DIR (relative, no "..", no symlink out) and
 * its .npy must have the rows the manifest gives; else NERVE_EINPUT naming
 * the manifest. */
int  nerve_study_layers(nerve_study_layer_list *out, const char *dir);
void nerve_study_layer_list_free(nerve_study_layer_list *l);

/* The file name (without .npy) a tap's activations are stored under:
 * the tap name with characters other than [A-Za-z0-9._-] made '_'. */
void nerve_layer_file_name(char *out, size_t cap, const char *tap);

/* ------------------------------------------------------------------------ */
/* Many processes (MPI)                                                     */
/* ------------------------------------------------------------------------ */

/* nerve-mpi (make MPI=1) runs as `mpirun -n K nerve-mpi run ...`: the study
 * room splits extraction by contiguous shards of the inputs and the stages
 * by layers, and the study is the same bytes as one process writes. In
 * nerve these are one process: rank 0 of 1, and exit returns status. main()
 * calls init first and returns through exit, which ends the whole job when
 * a rank failed (its error printed first), since the others would wait for
 * it forever. */
int nerve_study_dist_init(int *argc, char ***argv);
int nerve_study_dist_finish(int status);
int nerve_study_dist_rank(void);
int nerve_study_dist_size(void);

#endif /* NERVE_STUDY_H */
