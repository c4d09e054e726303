/*
 * ops.c — the operator table: every family's operators in one searchable
 * list, and the list users see in errors and `nerve layers --ops`.
 */
#include <stdio.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

static const op_def *const families[] = {
    nn_ops_elementwise, nn_ops_shape, nn_ops_linear, nn_ops_conv, nn_ops_pool, nn_ops_norm,
};
enum { FAMILIES = sizeof families / sizeof families[0] };

/* Indices are family * 64 + position: stable within one build. */
int nn_op_find(const char *op_type)
{
    for (int f = 0; f < FAMILIES; f++)
        for (int i = 0; families[f][i].name; i++)
            if (strcmp(families[f][i].name, op_type) == 0)
                return f * 64 + i;
    return -1;
}

const op_def *nn_op(int index)
{
    return &families[index / 64][index % 64];
}

const char *nerve_nn_supported_ops(void)
{
    static char list[1024];
    if (!list[0]) {
        size_t n = 0;
        for (int f = 0; f < FAMILIES; f++)
            for (int i = 0; families[f][i].name; i++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "",
                                      families[f][i].name);
    }
    return list;
}
