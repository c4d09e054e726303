/* knn_internal.h — what the knn room's files share. */
#ifndef NERVE_KNN_INTERNAL_H
#define NERVE_KNN_INTERNAL_H

#include "nerve/knn.h"

/* The distance of x and y (d floats), computed directly in double. */
float  knn_distance(const float *x, const float *y, int64_t d, nerve_metric metric);
/* |x - y|^2 in float, with eight partial sums the compiler vectorises. */
float  knn_squared_distance(const float *x, const float *y, int64_t d);
double knn_row_squared_norm(const float *x, int64_t d);
/* out[i] = |row i|^2 for every row of m. */
void   knn_squared_norms(float *out, const nerve_mat *m);
/* A copy of m with every row scaled to unit length (zero rows stay zero). */
int    knn_unit_rows(nerve_mat *out, const nerve_mat *m);

#endif /* NERVE_KNN_INTERNAL_H */
