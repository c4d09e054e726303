/*
 * study_findings.h — what the study room's findings files share
 * (findings.c runs the stage, findings_graph.c reads the Mapper graphs).
 */
#ifndef NERVE_STUDY_FINDINGS_H
#define NERVE_STUDY_FINDINGS_H

#include <jansson.h>

#include "nerve/mapper.h"

typedef struct study_findings_ctx {
    int64_t        n;             /* inputs */
    int            n_classes;     /* 0 without labels */
    const int64_t *labels;        /* n, or NULL */
    const char   **class_names;   /* n_class_names, or NULL */
    int            n_class_names;
    json_t        *findings;      /* the list being made */
} study_findings_ctx;

/* Appends f (its reference is taken) to c->findings; NULL f is out of memory. */
int study_findings_add(study_findings_ctx *c, json_t *f);

/* A layer's graph from nerve's JSON: nodes' members, label counts (when
 * there are labels), dominant classes, purities, edges and cycle basis;
 * the rest of g stays empty. Free with nerve_mapper_graph_free. */
int study_findings_graph_read(nerve_mapper_graph *g, const char *path);

/* The bridges, loops and flares of one layer's graph as findings, and
 * pure[c] = 1 for each class with a pure component of its own. */
int study_findings_graph(study_findings_ctx *c, const nerve_mapper_graph *g, const char *layer, int *pure);

#endif
