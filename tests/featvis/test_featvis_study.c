/*
 * test_featvis_study.c — the featvis stage on a small study of the fixture
 * CNN: an image per Mapper node of the last layer of maps with its cosine,
 * each layer of maps' first channels, and the class images (past the
 * fixture's AveragePool, which pads with a Pad node: its gradient goes
 * back through the Pad's index map).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "nerve/study.h"
#include "../support/support.h"

Test(featvis_study, node_images_gallery_and_classes, .timeout = 120)
{
    char dir[4096], path[4300];
    snprintf(dir, sizeof dir, "%s", temp_path("study"));
    nerve_extract_options e = fixture_study_options(dir, 60);
    e.layers = "/relu1/Relu_output_0,/relu2/Relu_output_0";
    cr_assert_eq(nerve_extract(&e), 0, "%s", nerve_error());
    nerve_mapper_params p;
    nerve_mapper_defaults(&p);
    p.intervals = 3;
    nerve_study_mapper_summary sum;
    cr_assert_eq(nerve_study_mapper(dir, "l2norm", &p, &sum), 0, "%s", nerve_error());
    nerve_study_featvis_options o;
    nerve_study_featvis_defaults(&o);
    o.steps = 3;
    o.channels = 2;
    cr_assert_eq(nerve_study_featvis(dir, &o), 0, "%s", nerve_error());

    snprintf(path, sizeof path, "%s/featvis/index.json", dir);
    json_t *index = json_load_file(path, 0, NULL), *layers = json_object_get(index, "layers");
    cr_assert(index);
    json_t *relu2 = json_object_get(layers, "relu2_Relu_output_0");
    json_t *relu1 = json_object_get(layers, "relu1_Relu_output_0");
    cr_assert(relu2 && relu1, "%s", json_dumps(layers, 0));
    snprintf(path, sizeof path, "%s/mapper/relu2_Relu_output_0.json", dir);
    json_t *graph = json_load_file(path, 0, NULL);
    size_t nodes = json_array_size(json_object_get(json_object_get(graph, "nodes"), "id"));
    cr_assert_gt(nodes, 0);
    cr_assert_eq(json_array_size(json_object_get(relu2, "nodes")), nodes);
    cr_assert_null(json_object_get(relu1, "nodes"), "only the last layer of maps has node images by default");
    cr_assert_eq(json_array_size(json_object_get(relu1, "channels")), 2);
    json_t *first = json_array_get(json_object_get(relu2, "nodes"), 0);
    double cosine = json_real_value(json_object_get(first, "cosine"));
    cr_assert(cosine >= -1 && cosine <= 1, "cosine %g", cosine);
    snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(first, "image")));
    cr_assert_eq(access(path, F_OK), 0, "%s missing", path);
    json_t *skipped = json_object_get(index, "skipped"), *classes = json_object_get(index, "classes");
    cr_assert_eq(json_array_size(skipped), 0, "%s", json_dumps(skipped, 0));
    cr_assert_eq(json_array_size(classes), 10, "%s", json_dumps(classes, 0));
    snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(json_array_get(classes, 9), "image")));
    cr_assert_eq(access(path, F_OK), 0, "%s missing", path);
    json_decref(graph);
    json_decref(index);
}
