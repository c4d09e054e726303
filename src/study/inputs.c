/*
 * inputs.c — the inputs a study runs a model on: Fashion-MNIST, IDX and .npy
 * arrays held in memory, or image folders read batch by batch, all turned
 * into float32 (N, C, H, W) with torchvision's preprocessing: resize of the
 * shorter side, center crop, ToTensor's scaling of 8-bit data, Normalize.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image_resize.h>
#include <jansson.h>

#include "nerve/study.h"
#include "study_internal.h"

/* ---- array sources ---------------------------------------------------- */

/* (N, H, W) gains a channel axis; (N, C, H, W) stays. */
static int as_images(nerve_inputs *in, const char *label)
{
    nerve_array *a = &in->data;
    if (a->ndim == 3) {
        a->ndim = 4;
        a->shape[3] = a->shape[2];
        a->shape[2] = a->shape[1];
        a->shape[1] = 1;
    }
    if (a->ndim != 4)
        return nerve_error_set(NERVE_EINPUT, "%s: inputs must be (N, H, W) or (N, C, H, W), not %d-D",
                               label, a->ndim);
    in->count = a->shape[0];
    in->ndim = 3;
    memcpy(in->shape, a->shape + 1, 3 * sizeof *in->shape);
    return 0;
}

/* Fashion-MNIST's classes, as Zalando's README names them. */
static const char *const fashion_classes[10] = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };

static int open_fashion_mnist(nerve_inputs *in, const char *split)
{
    int rc = nerve_fashion_mnist_read(&in->data, &in->labels, split, NERVE_U8);   /* converted by batch */
    if (rc < 0)
        return rc;
    in->has_labels = 1;
    in->n_classes = 10;
    in->class_names = calloc(10, sizeof *in->class_names);
    if (!in->class_names)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int c = 0; c < 10; c++)
        if (!(in->class_names[c] = strdup(fashion_classes[c])))
            return nerve_error_set(NERVE_ENOMEM, "out of memory");
    in->scale = 1.0f / 255;
    return as_images(in, in->spec);
}

/* MNIST-style names pair "...-images-idx3-ubyte[.gz]" with "...-labels-idx1-ubyte[.gz]". */
static void sibling_labels(nerve_inputs *in, const char *path)
{
    const char *at = strstr(path, "images-idx3");
    if (!at)
        return;
    char *labels;
    if (asprintf(&labels, "%.*slabels-idx1%s", (int)(at - path), path, at + strlen("images-idx3")) < 0)
        return;
    struct stat sb;
    if (stat(labels, &sb) == 0 && nerve_idx_read(&in->labels, NULL, labels, NERVE_I64) == 0)
        in->has_labels = in->labels.ndim == 1 && in->labels.shape[0] == in->data.shape[0];
    if (!in->has_labels)
        nerve_array_free(&in->labels);
    free(labels);
}

/* ---- labels and class names given beside an array -------------------- */

/* pp->labels: N integer labels (any integer dtype), each a class 0 to
 * NERVE_MAPPER_MAX_CLASSES - 1. */
static int read_labels(nerve_inputs *in, const char *path)
{
    nerve_array_free(&in->labels);
    in->has_labels = 0;
    nerve_npy_header h;
    int rc = nerve_npy_read_header(&h, path);
    if (rc == 0 && (nerve_dtype_is_float(h.dtype) || h.dtype == NERVE_BOOL))
        rc = nerve_error_set(NERVE_EINPUT, "%s: labels must be integers, not %s", path, nerve_dtype_name(h.dtype));
    int64_t n = h.ndim >= 1 ? h.shape[0] : 0;
    if (rc == 0 && (h.ndim != 1 || n != in->count))
        rc = nerve_error_set(NERVE_EINPUT, "%s: labels must be one row per input: (%lld,), not %d-D with %lld rows",
                             path, (long long)in->count, h.ndim, (long long)n);
    if (rc == 0)
        rc = nerve_npy_read(&in->labels, NULL, path, NERVE_I64);
    int64_t n_classes = 0;
    if (rc == 0)
        rc = nerve_mapper_labels_check(&n_classes, in->labels.data, n, path);
    if (rc < 0) {
        nerve_array_free(&in->labels);
        return rc;
    }
    in->has_labels = 1;
    in->n_classes = (int)n_classes;
    return 0;
}

/* Longest class name and file of names read (names are for people). */
enum { MAX_CLASS_NAME = 1024, MAX_CLASS_NAMES_FILE = 1 << 24 };

/* One name a line (a last empty line, "\r\n" endings allowed), valid UTF-8,
 * at least as many as the labels' classes. */
static int read_class_names(nerve_inputs *in, const char *path)
{
    if (!in->has_labels)
        return nerve_error_set(NERVE_EINPUT, "%s: class names need labels (give --labels)", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot open the class names", path);
    char **names = NULL, line[MAX_CLASS_NAME + 2];
    int n = 0, rc = 0;
    long total = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        size_t k = strlen(line);
        total += (long)k;
        if (k == sizeof line - 1 && line[k - 1] != '\n')
            rc = nerve_error_set(NERVE_EINPUT, "%s: line %d is longer than %d bytes", path, n + 1, MAX_CLASS_NAME);
        else if (total > MAX_CLASS_NAMES_FILE || n >= NERVE_MAPPER_MAX_CLASSES)
            rc = nerve_error_set(NERVE_EINPUT, "%s: more than %d class names", path, NERVE_MAPPER_MAX_CLASSES);
        if (rc < 0)
            break;
        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
            line[--k] = '\0';
        json_t *text = json_stringn(line, k);   /* NULL unless valid UTF-8 */
        char **more = realloc(names, (size_t)(n + 1) * sizeof *names);
        if (!text || memchr(line, '\0', k))
            rc = nerve_error_set(NERVE_EINPUT, "%s: line %d is not UTF-8 text", path, n + 1);
        else if (!more || !(more[n] = strdup(line)))
            rc = nerve_error_set(NERVE_ENOMEM, "%s: out of memory", path);
        json_decref(text);
        if (more)
            names = more;
        if (rc == 0)
            n++;
    }
    if (rc == 0 && ferror(f))
        rc = nerve_error_set(NERVE_EIO, "%s: cannot read", path);
    fclose(f);
    for (int i = 0; rc == 0 && i < n; i++)
        if (!names[i][0] && !(i == n - 1 && i > 0))
            rc = nerve_error_set(NERVE_EINPUT, "%s: line %d is empty (one class name a line)", path, i + 1);
    if (rc == 0 && n > 0 && !names[n - 1][0])
        free(names[--n]);
    if (rc == 0 && n < in->n_classes)
        rc = nerve_error_set(NERVE_EINPUT, "%s: %d class names, but the labels go up to %d", path, n,
                             in->n_classes - 1);
    if (rc < 0) {
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return rc;
    }
    in->class_names = names;
    in->n_classes = n;
    return 0;
}

static int open_array(nerve_inputs *in, const char *path, nerve_format format)
{
    nerve_dtype stored = NERVE_F32;
    int rc;
    if (format == NERVE_FORMAT_NPY && inputs_tokens_sniff(path)) {
        if ((rc = inputs_tokens_open(in, path)) < 0)
            return rc;
        return in->pp.labels ? read_labels(in, in->pp.labels) : 0;
    }
    if (format == NERVE_FORMAT_IDX) {
        rc = nerve_idx_read(&in->data, &stored, path, NERVE_F32);
        if (rc == 0)
            sibling_labels(in, path);
    } else {
        nerve_npy_header h;
        rc = nerve_npy_read(&in->data, &h, path, NERVE_F32);
        stored = h.dtype;
    }
    if (rc < 0)
        return rc;
    in->scale = stored == NERVE_U8 ? 1.0f / 255 : 1.0f;   /* as ToTensor does */
    if ((rc = as_images(in, path)) < 0)
        return rc;
    if (in->pp.labels && (rc = read_labels(in, in->pp.labels)) < 0)
        return rc;
    return in->pp.class_names ? read_class_names(in, in->pp.class_names) : 0;
}

/* ---- image folders ---------------------------------------------------- */

static int has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    char ext[8] = { 0 };
    for (int i = 0; i < 7 && dot[i + 1]; i++)
        ext[i] = (char)tolower((unsigned char)dot[i + 1]);
    return strcmp(ext, "png") == 0 || strcmp(ext, "jpg") == 0 || strcmp(ext, "jpeg") == 0 ||
           strcmp(ext, "bmp") == 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of a folder that pass `keep`. */
static int list_sorted(const char *dir, int want_dirs, char ***out, int *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot open folder", dir);
    int cap = 64;
    char **names = malloc((size_t)cap * sizeof *names);
    *n = 0;
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *full;
        if (asprintf(&full, "%s/%s", dir, e->d_name) < 0)
            break;
        struct stat sb;
        int is_dir = stat(full, &sb) == 0 && S_ISDIR(sb.st_mode);
        if (is_dir != want_dirs || (!want_dirs && !has_image_extension(e->d_name))) {
            free(full);
            continue;
        }
        if (*n == cap) {
            char **bigger = realloc(names, (size_t)(cap *= 2) * sizeof *names);
            if (!bigger) {
                free(full);
                break;
            }
            names = bigger;
        }
        names[(*n)++] = full;
    }
    closedir(d);
    if (!names)
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", dir);
    qsort(names, (size_t)*n, sizeof *names, compare_strings);
    *out = names;
    return 0;
}

static void free_list(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The size an image of h x w has after torchvision's Resize(resize): the
 * shorter side becomes `resize`, the other keeps the ratio (truncated). */
static void resized_size(int64_t resize, int64_t h, int64_t w, int64_t *oh, int64_t *ow)
{
    *oh = h;
    *ow = w;
    if (resize > 0 && h <= w) {
        *ow = (int64_t)((double)resize * (double)w / (double)h);
        *oh = resize;
    } else if (resize > 0) {
        *oh = (int64_t)((double)resize * (double)h / (double)w);
        *ow = resize;
    }
}

/* ... and then CenterCrop(crop). */
static void preprocessed_size(const nerve_preprocess *pp, int64_t h, int64_t w, int64_t *oh, int64_t *ow)
{
    resized_size(pp->resize, h, w, oh, ow);
    if (pp->crop > 0)
        *oh = *ow = pp->crop;
}

static int open_folder(nerve_inputs *in, const char *dir, int channels)
{
    char **classes;
    int n_classes, rc = list_sorted(dir, 1, &classes, &n_classes);
    if (rc < 0)
        return rc;
    if (n_classes == 0) {
        free_list(classes, 0);
        return nerve_error_set(NERVE_EINPUT, "%s: no class sub-folders (the ImageFolder layout is "
                               "DIR/<class>/<image>)", dir);
    }
    int64_t cap = 1024, n = 0;
    in->files = malloc((size_t)cap * sizeof *in->files);
    int64_t *labels = malloc((size_t)cap * sizeof *labels);
    in->class_names = calloc((size_t)n_classes, sizeof *in->class_names);
    if (!in->files || !labels || !in->class_names) {
        free(labels);
        free_list(classes, n_classes);
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", dir);
    }
    int64_t h0 = 0, w0 = 0;   /* the first image's size after preprocessing */
    for (int c = 0; c < n_classes && rc == 0; c++) {
        const char *slash = strrchr(classes[c], '/');
        in->class_names[c] = strdup(slash ? slash + 1 : classes[c]);
        char **files;
        int n_files;
        if ((rc = list_sorted(classes[c], 0, &files, &n_files)) < 0)
            break;
        for (int f = 0; f < n_files; f++) {
            int64_t w, h, comp;
            if ((rc = nerve_image_info(files[f], &h, &w, &comp)) < 0) {
                if (in->pp.strict)
                    break;
                fprintf(stderr, "nerve: warning: %s, skipped\n", nerve_error());
                rc = 0;
                in->skipped++;
                continue;
            }
            int64_t ph, pw;
            preprocessed_size(&in->pp, h, w, &ph, &pw);
            if (n == 0) {
                h0 = ph;
                w0 = pw;
            } else if (ph != h0 || pw != w0) {
                rc = nerve_error_set(NERVE_EINPUT, "%s: %lldx%lld after preprocessing, but %s is %lldx%lld; give "
                                     "--center-crop (and --resize) to bring images to one size", files[f],
                                     (long long)ph, (long long)pw, in->files[0], (long long)h0, (long long)w0);
                break;
            }
            if (n == cap) {
                char **more_files = realloc(in->files, (size_t)cap * 2 * sizeof *in->files);
                if (more_files)
                    in->files = more_files;
                int64_t *more_labels = more_files ? realloc(labels, (size_t)cap * 2 * sizeof *labels) : NULL;
                if (!more_labels) {
                    rc = nerve_error_set(NERVE_ENOMEM, "%s: out of memory listing images", dir);
                    break;
                }
                labels = more_labels;
                cap *= 2;
            }
            if (!(in->files[n] = strdup(files[f]))) {
                rc = nerve_error_set(NERVE_ENOMEM, "%s: out of memory listing images", dir);
                break;
            }
            labels[n++] = c;
            in->count = n;   /* what nerve_inputs_free must release */
        }
        free_list(files, n_files);
    }
    free_list(classes, n_classes);
    in->n_classes = n_classes;
    in->count = n;
    if (rc == 0 && n == 0)
        rc = nerve_error_set(NERVE_EINPUT, "%s: no readable images", dir);
    if (rc == 0)
        rc = nerve_array_alloc(&in->labels, NERVE_I64, 1, &n);
    if (rc == 0) {
        memcpy(in->labels.data, labels, (size_t)n * sizeof *labels);
        in->has_labels = 1;
        in->ndim = 3;
        in->shape[0] = channels ? channels : 3;
        in->shape[1] = h0;
        in->shape[2] = w0;
        in->scale = 1.0f / 255;
    }
    free(labels);
    return rc;
}

/* Pixels (h, w, C) resized to (rh, rw, C): a triangle filter widened when
 * shrinking is PIL's antialiased BILINEAR. px itself when no resize is
 * needed, else a buffer the caller frees; NULL when out of memory. */
static uint8_t *resized(uint8_t *px, int64_t h, int64_t w, int64_t rh, int64_t rw, int64_t C)
{
    if (rh == h && rw == w)
        return px;
    uint8_t *out = malloc((size_t)(rh * rw * C));
    if (out && !stbir_resize_uint8_generic(px, (int)w, (int)h, 0, out, (int)rw, (int)rh, 0, (int)C, -1, 0,
                                           STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, NULL)) {
        free(out);
        out = NULL;
    }
    return out;
}

/* One image file, converted to the model's channels, resized and cropped,
 * into dst (C, H, W) unnormalised. */
static int load_image(const nerve_inputs *in, const char *path, float *dst)
{
    int64_t C = in->shape[0], H = in->shape[1], W = in->shape[2];
    nerve_image img;
    int rc = nerve_image_read(&img, path, (int)C);
    if (rc < 0)
        return rc;
    int64_t rh, rw;
    resized_size(in->pp.resize, img.height, img.width, &rh, &rw);
    uint8_t *px = img.pixels, *sized = resized(px, img.height, img.width, rh, rw, C);
    if (!sized)
        rc = nerve_error_set(NERVE_ENOMEM, "%s: out of memory converting and resizing", path);
    else if (rh < H || rw < W)
        rc = nerve_error_set(NERVE_EINPUT, "%s: %lldx%lld after resizing, smaller than the %lldx%lld crop", path,
                             (long long)rh, (long long)rw, (long long)H, (long long)W);
    else {
        /* torchvision's CenterCrop rounds the offsets. */
        int64_t top = (int64_t)((double)(rh - H) / 2 + 0.5), left = (int64_t)((double)(rw - W) / 2 + 0.5);
        for (int64_t c = 0; c < C; c++)
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W; x++)
                    dst[(c * H + y) * W + x] = sized[((top + y) * rw + left + x) * C + c];
    }
    if (sized != px)
        free(sized);
    nerve_image_free(&img);
    return rc;
}

/* ---- the common face -------------------------------------------------- */

int nerve_inputs_open(nerve_inputs *in, const char *spec, int channels, const nerve_preprocess *pp)
{
    memset(in, 0, sizeof *in);
    in->spec = strdup(spec);
    if (pp)
        in->pp = *pp;
    if (!in->spec)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    int rc;
    struct stat sb;
    int given_labels = pp && (pp->labels || pp->class_names);
    if (strncmp(spec, "fashion-mnist:", 14) == 0 && given_labels) {
        rc = nerve_error_set(NERVE_EINPUT, "%s: has its own labels and class names (--labels and --class-names "
                             "are for .npy and IDX inputs)", spec);
    } else if (strncmp(spec, "fashion-mnist:", 14) == 0) {
        rc = open_fashion_mnist(in, spec + 14);
    } else if (stat(spec, &sb) == 0 && S_ISDIR(sb.st_mode) && given_labels) {
        rc = nerve_error_set(NERVE_EINPUT, "%s: an image folder is labelled by its sub-folders (--labels and "
                             "--class-names are for .npy and IDX inputs)", spec);
    } else if (stat(spec, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        rc = open_folder(in, spec, channels);
    } else {
        nerve_format format;
        rc = nerve_file_sniff(&format, NULL, spec);
        if (rc == 0 && format == NERVE_FORMAT_NPZ)
            rc = nerve_error_set(NERVE_EINPUT, "%s: give inputs as one .npy array, an IDX file or an "
                                 "image folder, not an .npz", spec);
        else if (rc == 0)
            rc = open_array(in, spec, format);
    }
    if (rc == 0 && in->pp.attention_mask && !in->token_ids)
        rc = nerve_error_set(NERVE_EINPUT, "%s: an attention mask goes with token ids (an .npy of integers "
                             "(N, T)), not images", spec);
    if (rc == 0 && in->files == NULL && pp && (pp->resize || pp->crop))
        rc = nerve_error_set(NERVE_EINPUT, "%s: --resize and --center-crop apply to image folders", spec);
    if (rc == 0 && channels && in->shape[0] != channels)
        rc = nerve_error_set(NERVE_EINPUT, "%s: inputs have %lld channels, the model takes %d", spec,
                             (long long)in->shape[0], channels);
    for (int i = 0; rc == 0 && i < in->pp.n_mean; i++)
        if (in->pp.n_mean != in->shape[0] && in->pp.n_mean != 1)
            rc = nerve_error_set(NERVE_EINPUT, "--mean gives %d values for %lld channels", in->pp.n_mean,
                                 (long long)in->shape[0]);
    if (rc == 0 && in->pp.n_std && in->pp.n_std != in->shape[0] && in->pp.n_std != 1)
        rc = nerve_error_set(NERVE_EINPUT, "--std gives %d values for %lld channels", in->pp.n_std,
                             (long long)in->shape[0]);
    if (rc < 0)
        nerve_inputs_free(in);
    return rc;
}

static void normalise(const nerve_inputs *in, float *x, float scale)
{
    int64_t C = in->shape[0], plane = in->shape[1] * in->shape[2];
    for (int64_t c = 0; c < C; c++) {
        float mean = in->pp.n_mean ? in->pp.mean[in->pp.n_mean == 1 ? 0 : c] : 0;
        float std = in->pp.n_std ? in->pp.std[in->pp.n_std == 1 ? 0 : c] : 1;
        float *p = x + c * plane;
        for (int64_t i = 0; i < plane; i++)
            p[i] = (p[i] * scale - mean) / std;
    }
}

int nerve_inputs_batch(nerve_inputs *in, int64_t start, int64_t n, nerve_array *batch)
{
    /* The caller's indices may come from a study made when the inputs were
     * more (images deleted since): never index past what was opened. */
    if (start < 0 || n < 0 || start > in->count - n)
        return nerve_error_set(NERVE_EINPUT, "%s: inputs %lld..%lld are not among its %lld inputs", in->spec,
                               (long long)start, (long long)(start + n - 1), (long long)in->count);
    if (in->token_ids)
        return inputs_tokens_batch(in, start, n, batch);
    int64_t shape[4] = { n, in->shape[0], in->shape[1], in->shape[2] };
    int rc = nerve_array_alloc_raw(batch, NERVE_F32, 4, shape);
    if (rc < 0)
        return rc;
    int64_t per = in->shape[0] * in->shape[1] * in->shape[2];
    float scale = in->pp.no_scale ? 1.0f : in->scale;
    for (int64_t i = 0; i < n && rc == 0; i++) {
        float *dst = (float *)batch->data + i * per;
        if (in->files)
            rc = load_image(in, in->files[start + i], dst);
        else if (in->data.dtype == NERVE_U8)
            nerve_convert(dst, NERVE_F32, (const uint8_t *)in->data.data + (start + i) * per, NERVE_U8, 0, per);
        else
            memcpy(dst, (const float *)in->data.data + (start + i) * per, (size_t)per * sizeof *dst);
        if (rc == 0)
            normalise(in, dst, scale);
    }
    if (rc < 0)
        nerve_array_free(batch);
    return rc;
}

int nerve_inputs_blank(const nerve_inputs *in, nerve_array *batch)
{
    if (in->token_ids)
        return nerve_error_set(NERVE_EINPUT, "%s: token ids have no blank input", in->spec);
    int64_t shape[4] = { 1, in->shape[0], in->shape[1], in->shape[2] };
    int rc = nerve_array_alloc(batch, NERVE_F32, 4, shape);   /* zeroed */
    if (rc == 0)
        normalise(in, (float *)batch->data, in->pp.no_scale ? 1.0f : in->scale);
    return rc;
}

void nerve_inputs_free(nerve_inputs *in)
{
    for (int64_t i = 0; in->files && i < in->count; i++)
        free(in->files[i]);
    for (int i = 0; in->class_names && i < in->n_classes; i++)
        free(in->class_names[i]);
    free(in->files);
    free(in->class_names);
    free(in->spec);
    nerve_array_free(&in->data);
    nerve_array_free(&in->labels);
    nerve_array_free(&in->mask);
    memset(in, 0, sizeof *in);
}
