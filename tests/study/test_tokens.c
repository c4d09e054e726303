/*
 * test_tokens.c — transformer outputs as point clouds (--mode tokens, cls,
 * mean, random-token) on the two-layer ViT and the text encoder fixtures,
 * against PyTorch's activations: rows are the tokens PyTorch computed, at
 * the positions recorded; a (T, N, C) tensor inside attention is gathered
 * per input; text inputs (token ids, attention mask, labels) run through
 * `nerve run` with the stages that cannot apply to text skipped with their
 * reason; bad text inputs exit 2.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nerve/study.h"
#include "../support/support.h"

static const char *const LN1 = "/encoder/layers/encoder_layer_0/ln_1/LayerNormalization_output_0";
/* the same tokens transposed to (T, N, C) for nn.MultiheadAttention */
static const char *const LN1_TNC = "/encoder/layers/encoder_layer_0/self_attention/Transpose_output_0";
static const char *const NORM1 = "/encoder/layers.0/norm1/LayerNormalization_output_0";

typedef struct setup {
    const char *model, *data, *mask, *layers;
    nerve_vector_mode mode;
    int64_t batch, limit;
} setup;

static const char *extract(const char *name, setup s)
{
    static char out[4][4096], model[4][4096], data[4][4096], mask[4][4096];
    static int slot;
    int k = slot++ % 4;
    snprintf(out[k], 4096, "%s", temp_path(name));
    snprintf(model[k], 4096, "%s", fixture(s.model));
    snprintf(data[k], 4096, "%s", fixture(s.data));
    if (s.mask)
        snprintf(mask[k], 4096, "%s", fixture(s.mask));
    nerve_extract_options o;
    nerve_extract_defaults(&o);
    o.model = model[k];
    o.data = data[k];
    o.pp.attention_mask = s.mask ? mask[k] : NULL;
    o.out = out[k];
    o.layers = s.layers;
    o.mode = s.mode;
    o.batch = s.batch;
    o.limit = s.limit;
    o.seed = 7;
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    return out[k];
}

static nerve_array read_file(const char *dir, const char *tap, const char *suffix, nerve_dtype dtype)
{
    char stem[512], path[4096];
    nerve_layer_file_name(stem, sizeof stem, tap);
    snprintf(path, sizeof path, "%s/acts/%s%s", dir, stem, suffix);
    nerve_array a;
    cr_assert_eq(nerve_npy_read(&a, NULL, path, dtype), 0, "%s", nerve_error());
    return a;
}

static nerve_array torch_tap(const char *npz, const char *tap)
{
    nerve_npz z;
    cr_assert_eq(nerve_npz_open(&z, fixture(npz)), 0, "%s", nerve_error());
    char member[512];
    snprintf(member, sizeof member, "%s.npy", tap);
    nerve_array a;
    cr_assert_eq(nerve_npz_read(&z, member, NERVE_F32, &a, NULL), 0, "%s", nerve_error());
    nerve_npz_close(&z);
    return a;
}

static void expect_row(const float *got, const float *want, int64_t C, const char *what)
{
    for (int64_t c = 0; c < C; c++)
        cr_assert(fabsf(got[c] - want[c]) <= 1e-4f * (1 + fabsf(want[c])), "%s: channel %lld: %g, PyTorch %g",
                  what, (long long)c, got[c], want[c]);
}

static setup vit(const char *layers, nerve_vector_mode mode)
{
    /* exported with batch 1 fixed: extracted one input at a time */
    return (setup){ "zoo/vit_two_layers.17.onnx", "zoo/vit_two_layers.17.input.npy", NULL, layers, mode, 1, 0 };
}

Test(tokens, vit_tokens_cls_and_mean_are_pytorchs_tokens)
{
    nerve_array want = torch_tap("zoo/vit_two_layers.17.taps.npz", LN1);   /* (1, 17, 32) */
    const float *w = want.data;
    char both[512];
    snprintf(both, sizeof both, "%s,%s", LN1, LN1_TNC);
    const char *dir = extract("vit_tokens", vit(both, NERVE_MODE_TOKENS));
    for (int k = 0; k < 2; k++) {
        nerve_array rows = read_file(dir, k ? LN1_TNC : LN1, ".npy", NERVE_F32);
        nerve_array pos = read_file(dir, k ? LN1_TNC : LN1, ".positions.npy", NERVE_I64);
        cr_assert(rows.shape[0] == 17 && rows.shape[1] == 32, "%lld x %lld", (long long)rows.shape[0],
                  (long long)rows.shape[1]);
        for (int64_t t = 0; t < 17; t++) {
            expect_row((float *)rows.data + t * 32, w + t * 32, 32, k ? "(T, N, C) gathered" : "tokens");
            const int64_t *p = (int64_t *)pos.data + 3 * t;
            cr_assert(p[0] == 0 && p[1] == 0 && p[2] == t, "token %lld recorded as (%lld, %lld, %lld)", (long long)t,
                      (long long)p[0], (long long)p[1], (long long)p[2]);
        }
        nerve_array_free(&rows);
        nerve_array_free(&pos);
    }
    dir = extract("vit_cls", vit(LN1, NERVE_MODE_CLS));
    nerve_array cls = read_file(dir, LN1, ".npy", NERVE_F32);
    cr_assert_eq(cls.shape[0], 1);
    expect_row(cls.data, w, 32, "cls");
    dir = extract("vit_mean", vit(LN1, NERVE_MODE_MEAN));
    nerve_array mean = read_file(dir, LN1, ".npy", NERVE_F32);
    float avg[32];
    for (int c = 0; c < 32; c++) {
        double s = 0;
        for (int t = 0; t < 17; t++)
            s += w[t * 32 + c];
        avg[c] = (float)(s / 17);
    }
    expect_row(mean.data, avg, 32, "mean");
    nerve_array_free(&cls);
    nerve_array_free(&mean);
    nerve_array_free(&want);
}

Test(tokens, vit_random_tokens_are_the_recorded_tokens_and_the_default_takes_them)
{
    nerve_array want = torch_tap("zoo/vit_two_layers.17.taps.npz", LN1);
    /* random-position on tokens is random-token: the manifest says which */
    setup s = vit(LN1, NERVE_MODE_RANDOM_POSITION);
    const char *dir = extract("vit_random", s);
    nerve_array rows = read_file(dir, LN1, ".npy", NERVE_F32), pos = read_file(dir, LN1, ".positions.npy", NERVE_I64);
    int64_t t = ((int64_t *)pos.data)[2];
    cr_assert(t >= 0 && t < 17);
    expect_row(rows.data, (float *)want.data + t * 32, 32, "random token");
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *m = json_load_file(path, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(m, "layers"), 0), "mode")),
                     "random-token");
    json_decref(m);
    nerve_array_free(&rows);
    nerve_array_free(&pos);
    nerve_array_free(&want);
}

Test(tokens, a_gemm_over_every_inputs_tokens_is_refused_by_name)
{
    nerve_extract_options o;
    nerve_extract_defaults(&o);
    char model[4096];
    snprintf(model, sizeof model, "%s", fixture("zoo/vit_two_layers.17.onnx"));
    o.model = model;
    o.data = fixture("zoo/vit_two_layers.17.input.npy");
    o.out = temp_path("vit_gemm");
    o.batch = 1;
    o.layers = "/encoder/layers/encoder_layer_0/self_attention/Gemm_output_0";
    cr_assert_eq(nerve_extract(&o), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "Gemm_output_0") && strstr(nerve_error(), "mixes"), "%s", nerve_error());
}

static setup text(nerve_vector_mode mode)
{
    /* batches of 3 over 7 sequences: batch boundaries inside the four PyTorch recorded */
    return (setup){ "text/encoder.onnx", "text/ids.npy", "text/mask.npy", NORM1, mode, 3, 7 };
}

Test(tokens, text_tokens_and_masked_mean_are_pytorchs)
{
    nerve_array want = torch_tap("text/encoder.taps.npz", NORM1);   /* (4, 16, 24) */
    nerve_array mask;
    cr_assert_eq(nerve_npy_read(&mask, NULL, fixture("text/mask.npy"), NERVE_I64), 0);
    const float *w = want.data;
    const int64_t *valid = mask.data;
    const char *dir = extract("text_tokens", text(NERVE_MODE_TOKENS));
    nerve_array rows = read_file(dir, NORM1, ".npy", NERVE_F32);
    cr_assert_eq(rows.shape[0], 7 * 16);
    for (int64_t r = 0; r < 4 * 16; r++)
        expect_row((float *)rows.data + r * 24, w + r * 24, 24, "text token");
    dir = extract("text_mean", text(NERVE_MODE_MEAN));
    nerve_array mean = read_file(dir, NORM1, ".npy", NERVE_F32);
    int padded = 0;
    for (int64_t i = 0; i < 4; i++) {
        float avg[24];
        int64_t kept = 0;
        for (int64_t t = 0; t < 16; t++)
            kept += valid[i * 16 + t];
        padded += kept < 16;
        for (int c = 0; c < 24; c++) {
            double s = 0;
            for (int64_t t = 0; t < 16; t++)
                s += valid[i * 16 + t] ? w[(i * 16 + t) * 24 + c] : 0;
            avg[c] = (float)(s / (double)kept);
        }
        expect_row((float *)mean.data + i * 24, avg, 24, "masked mean");
    }
    cr_assert_geq(padded, 2, "too few padded sequences: the mask is hardly tested");
    dir = extract("text_random", text(NERVE_MODE_RANDOM_TOKEN));
    nerve_array pos = read_file(dir, NORM1, ".positions.npy", NERVE_I64);
    for (int64_t i = 0; i < 7; i++) {
        const int64_t *p = (int64_t *)pos.data + 3 * i;
        cr_assert(p[0] == i && valid[i * 16 + p[2]], "input %lld: token %lld is padding", (long long)i,
                  (long long)p[2]);
    }
    nerve_array_free(&pos);
    nerve_array_free(&rows);
    nerve_array_free(&mean);
    nerve_array_free(&mask);
    nerve_array_free(&want);
}

static json_t *load(const char *dir, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert(j, "%s: %s", path, e.text);
    return j;
}

Test(tokens, nerve_run_on_token_ids_with_mask_and_labels, .timeout = 120)
{
    char dir[4096], model[4096], ids[4096], mask[4096], labels[4096];
    snprintf(dir, sizeof dir, "%s", temp_path("text_run"));
    snprintf(model, sizeof model, "%s", fixture("text/encoder.onnx"));
    snprintf(ids, sizeof ids, "%s", fixture("text/ids.npy"));
    snprintf(mask, sizeof mask, "%s", fixture("text/mask.npy"));
    snprintf(labels, sizeof labels, "%s", fixture("text/labels.npy"));
    const char *out, *err;
    int status = run_nerve((const char *[]){ "run", "-q", "-m", model, "-d", ids, "--attention-mask", mask, "--labels",
                                             labels, "-n", "120", "--stages", "extract,mapper,findings,featvis", "-o",
                                             dir, NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    json_t *m = load(dir, "manifest.json");
    json_t *inputs = json_object_get(m, "inputs"), *layers = json_object_get(m, "layers");
    cr_assert_str_eq(json_string_value(json_object_get(inputs, "kind")), "token-ids");
    cr_assert(json_is_true(json_object_get(inputs, "labels")));
    cr_assert(!json_object_get(inputs, "sprite"), "text has no thumbnails");
    /* the two encoder layers' outputs (tokens) and the logits */
    cr_assert_eq(json_array_size(layers), 3);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(layers, 0), "mode")), "random-token");
    json_t *mapper = load(dir, "mapper/index.json"), *featvis = load(dir, "featvis/index.json");
    cr_assert_eq(json_array_size(json_object_get(mapper, "layers")), 3);
    const char *why = json_string_value(json_object_get(json_array_get(json_object_get(featvis, "skipped"), 0),
                                                        "reason"));
    cr_assert(why && strstr(why, "token ids"), "featvis not skipped with its reason");
    json_decref(m);
    json_decref(mapper);
    json_decref(featvis);
}

Test(tokens, bad_text_inputs_exit_2)
{
    char model[4096], ids[4096], image[4096], vit[4096], mask[4096];
    snprintf(model, sizeof model, "%s", fixture("text/encoder.onnx"));
    snprintf(ids, sizeof ids, "%s", fixture("text/ids.npy"));
    snprintf(mask, sizeof mask, "%s", fixture("text/labels.npy"));   /* 1-D: no mask */
    snprintf(image, sizeof image, "%s", fixture("zoo/vit_two_layers.17.input.npy"));
    snprintf(vit, sizeof vit, "%s", fixture("zoo/vit_two_layers.17.onnx"));
    struct { const char *model, *data, *mask, *says; } cases[] = {
        { model, ids, mask, "must be integers (N, T)" },
        { vit, image, ids, "goes with token ids" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *out, *err;
        int status = run_nerve((const char *[]){ "extract", "-q", "-m", cases[i].model, "-d", cases[i].data,
                                                 "--attention-mask", cases[i].mask, "-b", "1", "-o",
                                                 temp_path("bad_text"), NULL }, &out, &err);
        cr_assert_eq(status, 2, "case %zu: status %d: %s", i, status, err);
        cr_assert(strstr(err, cases[i].says), "case %zu: %s", i, err);
    }
}

Test(tokens, vit_patch_tokens_are_activation_maps_on_the_patch_grid)
{
    const char *dir = extract("vit_maps", vit(LN1, NERVE_MODE_CLS));
    json_t *maps;
    cr_assert_eq(nerve_study_activation_maps(&maps, dir, 0), 0, "%s", nerve_error());
    json_t *layer = json_array_get(json_object_get(maps, "layers"), 0);
    cr_assert_eq(json_integer_value(json_object_get(layer, "channels")), 32);
    cr_assert_eq(json_integer_value(json_object_get(layer, "height")), 4);   /* 16 patches of 8 x 8 pixels */
    cr_assert_eq(json_integer_value(json_object_get(layer, "width")), 4);
    cr_assert_eq(json_integer_value(json_object_get(layer, "token_prefix")), 1);   /* the class token left out */
    /* channel c's pixel (y, x) is patch token 1 + 4 y + x, scaled as every map */
    nerve_array want = torch_tap("zoo/vit_two_layers.17.taps.npz", LN1);
    const float *w = (const float *)want.data + 32;
    float top = 0, low = 0;
    for (int i = 0; i < 16 * 32; i++) {
        top = fmaxf(top, fabsf(w[i]));
        low = fminf(low, w[i]);
    }
    float offset = low < 0 ? 127.5f : 0, gain = (low < 0 ? 127.5f : 255.0f) / top;
    unsigned char px[32 * 16];
    for (int c = 0; c < 32; c++)
        for (int p = 0; p < 16; p++)
            px[c * 16 + p] = (unsigned char)lrintf(offset + w[p * 32 + c] * gain);
    const char *got = json_string_value(json_object_get(layer, "maps"));
    cr_assert(got && strlen(got) == (sizeof px + 2) / 3 * 4);
    /* one step of rounding apart at most: nerve's run and PyTorch's differ in the last bits */
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < sizeof px; i++) {
        size_t bit = i * 8;
        int hi = (int)(strchr(digits, got[bit / 6]) - digits), lo = (int)(strchr(digits, got[bit / 6 + 1]) - digits);
        int byte = ((hi << 6 | lo) >> (4 - bit % 6)) & 255;
        cr_assert(abs(byte - px[i]) <= 1, "channel %zu, patch %zu: %d, from PyTorch's %d", i / 16, i % 16, byte,
                  px[i]);
    }
    nerve_array_free(&want);
    json_decref(maps);
}

/* 24 inputs for the ViT fixture (3 x 32 x 32) and their labels, in a
 * temporary folder. */
static void write_vit_inputs(char *images, char *labels, size_t cap)
{
    snprintf(images, cap, "%s", temp_path("vit_images.npy"));
    snprintf(labels, cap, "%s", temp_path("vit_labels.npy"));
    const int64_t shape[4] = { 24, 3, 32, 32 }, n = 24;
    nerve_array x, y;
    cr_assert_eq(nerve_array_alloc(&x, NERVE_F32, 4, shape), 0);
    cr_assert_eq(nerve_array_alloc(&y, NERVE_I64, 1, &n), 0);
    for (int64_t i = 0; i < nerve_array_count(&x); i++)
        ((float *)x.data)[i] = (float)((i * 7919) % 1000) / 1000.0f;
    for (int64_t i = 0; i < n; i++)
        ((int64_t *)y.data)[i] = i % 10;
    cr_assert_eq(nerve_npy_write(images, &x), 0, "%s", nerve_error());
    cr_assert_eq(nerve_npy_write(labels, &y), 0, "%s", nerve_error());
    nerve_array_free(&x);
    nerve_array_free(&y);
}

/* The fixture ViT was exported without dynamic axes (batch 1 baked into
 * its reshapes), as a one-line export is: nerve run at its default batch
 * runs it one input at a time, says so, and every stage ends, feature
 * visualisation's class images and token layers included. */
Test(tokens, nerve_run_of_a_model_exported_with_batch_1, .timeout = 180)
{
    char dir[4096], model[4096], images[4096], labels[4096];
    snprintf(dir, sizeof dir, "%s", temp_path("vit_run"));
    snprintf(model, sizeof model, "%s", fixture("zoo/vit_two_layers.17.onnx"));
    write_vit_inputs(images, labels, sizeof images);
    const char *out, *err;
    int status = run_nerve((const char *[]){ "run", "-m", model, "-d", images, "--labels", labels, "-o", dir, NULL },
                           &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(err, "runs one input at a time"), "%s", err);
    json_t *featvis = load(dir, "featvis/index.json");
    cr_assert_eq(json_array_size(json_object_get(featvis, "classes")), 10, "%s", json_dumps(featvis, 0));
    /* the blocks' tokens read as channels over the patch grid: a gallery
     * each, and node images for the last, matched at its centre patch */
    json_t *last = json_object_get(json_object_get(featvis, "layers"), "encoder_layers_encoder_layer_1_Add_1_output_0");
    cr_assert(last, "%s", json_dumps(featvis, 0));
    cr_assert_gt(json_array_size(json_object_get(last, "channels")), 0);
    cr_assert_gt(json_array_size(json_object_get(last, "nodes")), 0);
    cr_assert_str_eq(json_string_value(json_object_get(last, "nodes_at")), "centre");
    json_decref(featvis);
}
