/*
 * test_train.c — `nerve train` on small slices of Fashion-MNIST: the same
 * seed gives the same bytes; the ONNX written loads back and reproduces
 * the accuracy the run reported; checkpoints land; bad settings and a
 * diverging loss are refused with exit status 2.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "nerve/nn.h"
#include "../support/support.h"

static long file_bytes(const char *path, char **data)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s missing", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc((size_t)n + 1);
    cr_assert_eq(fread(*data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return n;
}

static json_t *train(const char **extra, const char *out)
{
    const char *args[32] = { "train", "-q", "--epochs", "1", "-o", out };
    int n = 6;
    for (int i = 0; extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    const char *stdout_text, *err;
    int status = run_nerve(args, &stdout_text, &err);
    cr_assert_eq(status, 0, "%s", err);
    json_error_t e;
    json_t *j = json_loads(stdout_text, 0, &e);
    cr_assert(j, "%s: %s", e.text, stdout_text);
    return j;
}

Test(train, same_seed_same_bytes)
{
    char a[4200], b[4200], *da, *db;
    snprintf(a, sizeof a, "%s", temp_path("a.onnx"));
    snprintf(b, sizeof b, "%s", temp_path("b.onnx"));
    const char *extra[] = { "--arch", "mlp", "--limit", "1500", NULL };
    json_decref(train(extra, a));
    json_decref(train(extra, b));
    long na = file_bytes(a, &da), nb = file_bytes(b, &db);
    cr_assert_eq(na, nb);
    cr_assert_eq(memcmp(da, db, (size_t)na), 0, "two runs with seed 0 wrote different models");
    free(da);
    free(db);
}

Test(train, written_model_reproduces_the_reported_accuracy, .disabled = SANITIZED_BUILD)
{
    char out[4200];
    snprintf(out, sizeof out, "%s", temp_path("cnn.onnx"));
    const char *extra[] = { "--limit", "512", "--checkpoints", "0,0.5,1", NULL };
    json_t *j = train(extra, out);
    double reported = json_real_value(json_object_get(j, "test_accuracy"));
    cr_assert_gt(reported, 0.3, "512 images should already beat chance: %g", reported);
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, out), 0, "%s", nerve_error());
    double acc;
    cr_assert_eq(nerve_nn_accuracy(&acc, &m, "fashion-mnist", "test"), 0, "%s", nerve_error());
    cr_assert_eq(acc, reported, "reloaded %g, reported %g", acc, reported);
    nerve_model_free(&m);
    json_t *ckpts = json_object_get(j, "checkpoints");
    cr_assert_eq(json_array_size(ckpts), 3);
    for (size_t i = 0; i < 3; i++) {
        nerve_model c;
        const char *path = json_string_value(json_object_get(json_array_get(ckpts, i), "file"));
        cr_assert_eq(nerve_onnx_load(&c, path), 0, "%s", nerve_error());
        nerve_model_free(&c);
    }
    json_decref(j);
}

static void expect_refusal(const char **args, const char *needle)
{
    const char *out, *err;
    int status = run_nerve(args, &out, &err);
    cr_assert_eq(status, 2, "status %d for '%s': %s", status, needle, err);
    cr_assert(strstr(err, needle), "wanted '%s' in: %s", needle, err);
}

Test(train, bad_settings_exit_2)
{
    expect_refusal((const char *[]){ "train", "--arch", "vgg", NULL }, "cnn-small, mlp, resnet-mini");
    expect_refusal((const char *[]){ "train", "--data", "cifar10", NULL }, "wants fashion-mnist, not 'cifar10'");
    expect_refusal((const char *[]){ "train", "--lr", "0", NULL }, "--lr");
    expect_refusal((const char *[]){ "train", "--lr", "50", NULL }, "--lr");
    expect_refusal((const char *[]){ "train", "--batch", "0", NULL }, "--batch");
    expect_refusal((const char *[]){ "train", "--batch", "70000", NULL }, "--batch");
    expect_refusal((const char *[]){ "train", "--checkpoints", "0,1.5", NULL }, "--checkpoints");
    expect_refusal((const char *[]){ "train", "--epochs", "0", NULL }, "--epochs");
}

Test(train, a_diverging_loss_stops_and_keeps_the_checkpoints)
{
    char out[4200], first[4300];
    snprintf(out, sizeof out, "%s", temp_path("nan.onnx"));
    nerve_checkpoint_path(first, sizeof first, out, 0);
    const char *args[] = { "train", "-q", "--arch", "mlp", "--optimizer", "sgd", "--lr", "10", "--schedule",
                           "constant", "--limit", "4000", "--checkpoints", "0", "-o", out, NULL };
    expect_refusal(args, "at epoch 1, step");
    FILE *f = fopen(first, "rb");
    cr_assert(f, "the checkpoint written before the loss diverged is gone");
    fclose(f);
    f = fopen(out, "rb");
    cr_assert(!f, "a diverged model was written");
}

/* A model path that fits but whose checkpoints' names would not is refused
 * before training, naming the path (it was cut short silently before). */
Test(train, checkpoint_names_too_long_are_refused_before_training)
{
    char out[4100] = "/tmp/";
    size_t n = strlen(out);
    for (; n < 4085; n++)
        out[n] = n % 200 == 0 ? '/' : 'a';
    snprintf(out + n, sizeof out - n, ".onnx");   /* 4,090 bytes; .ckpt050.onnx makes 4,098 */
    expect_refusal((const char *[]){ "train", "-q", "--limit", "16", "--checkpoints", "0.5", "-o", out, NULL },
                   "/tmp/aaa");
}
