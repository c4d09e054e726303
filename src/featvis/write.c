/*
 * write.c — a rendered image as files: an 8-bit PNG of what it shows and
 * the .npy of what the model took, each committed through a temporary
 * file.
 */
#include <math.h>
#include <stdlib.h>

#include "nerve/internal/alloc.h"
#include "nerve/internal/path.h"
#include "featvis_internal.h"

int nerve_featvis_write(const nerve_featvis_result *r, int64_t i, const char *dir, const char *name)
{
    if (i < 0 || i >= r->count)
        return nerve_error_set(NERVE_EINTERNAL, "feature visualisation: no image %lld", (long long)i);
    int64_t C = r->images.shape[1], H = r->images.shape[2], W = r->images.shape[3], HW = H * W;
    char path[4096];
    int rc = nerve_path(path, sizeof path, "%s/%s.png", dir, name);
    if (rc < 0)
        return rc;
    nerve_image img = { H, W, C, nerve_alloc_array((size_t)(C * HW), 1, "a PNG's pixels") };
    if (!img.pixels)
        return NERVE_ENOMEM;
    const float *p = (const float *)r->images.data + i * C * HW;
    for (int64_t c = 0; c < C; c++)   /* (C, H, W) -> (H, W, C) */
        for (int64_t k = 0; k < HW; k++) {
            float v = p[c * HW + k];
            img.pixels[k * C + c] = (uint8_t)lrintf(255 * (v < 0 ? 0 : v > 1 ? 1 : v));
        }
    rc = nerve_image_write_png(path, &img);
    free(img.pixels);
    if (rc == 0)
        rc = nerve_path(path, sizeof path, "%s/%s.npy", dir, name);
    if (rc < 0)
        return rc;
    const int64_t shape[3] = { C, H, W };
    nerve_array one = { 0 };
    one.dtype = NERVE_F32;
    one.ndim = 3;
    for (int d = 0; d < 3; d++)
        one.shape[d] = shape[d];
    one.data = (float *)r->inputs.data + i * C * HW;
    return nerve_npy_write(path, &one);
}
