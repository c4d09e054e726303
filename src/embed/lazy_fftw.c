/*
 * lazy_fftw.c — FFTW, loaded by the first call into it (nerve/internal/library.h): the functions fft_interp.c uses, forwarded.
 */
#include <fftw3.h>
#include <pthread.h>

#include "nerve/core.h"
#include "nerve/internal/library.h"

#define FFTW "libfftw3.so.3"

#define FIND(f) NERVE_LIBRARY_FIND(&fftw_lib, fftw, f)

static struct {
    __typeof__(fftw_plan_dft_r2c_2d) *fftw_plan_dft_r2c_2d;
    __typeof__(fftw_plan_dft_c2r_2d) *fftw_plan_dft_c2r_2d;
    __typeof__(fftw_execute) *fftw_execute;
    __typeof__(fftw_destroy_plan) *fftw_destroy_plan;
    __typeof__(fftw_malloc) *fftw_malloc;
    __typeof__(fftw_free) *fftw_free;
} fftw;

static nerve_library fftw_lib = { .soname = FFTW };
static pthread_once_t fftw_once = PTHREAD_ONCE_INIT;

static void load_fftw(void)
{
    FIND(fftw_plan_dft_r2c_2d);
    FIND(fftw_plan_dft_c2r_2d);
    FIND(fftw_execute);
    FIND(fftw_destroy_plan);
    FIND(fftw_malloc);
    FIND(fftw_free);
}

int nerve_fftw_require(void)
{
    return nerve_library_load(&fftw_lib, &fftw_once, load_fftw);
}

#define FFTW_ (NERVE_LIBRARY_USE(nerve_fftw_require, &fftw_lib), fftw)

fftw_plan fftw_plan_dft_r2c_2d(int n0, int n1, double *in, fftw_complex *out, unsigned flags)
{
    return FFTW_.fftw_plan_dft_r2c_2d(n0, n1, in, out, flags);
}

fftw_plan fftw_plan_dft_c2r_2d(int n0, int n1, fftw_complex *in, double *out, unsigned flags)
{
    return FFTW_.fftw_plan_dft_c2r_2d(n0, n1, in, out, flags);
}

void fftw_execute(const fftw_plan p)
{
    FFTW_.fftw_execute(p);
}

void fftw_destroy_plan(fftw_plan p)
{
    FFTW_.fftw_destroy_plan(p);
}

void *fftw_malloc(size_t n)
{
    return FFTW_.fftw_malloc(n);
}

void fftw_free(void *p)
{
    FFTW_.fftw_free(p);
}
