/*
 * rng.c — a small, fast, seedable generator: xoshiro256** (Blackman and
 * Vigna, 2018) seeded through splitmix64, as its authors recommend.
 */
#include <math.h>

#include "nerve/core.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void nerve_rng_seed(nerve_rng *r, uint64_t seed)
{
    uint64_t state = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&state);
}

void nerve_rng_stream(nerve_rng *r, uint64_t seed, uint64_t stream)
{
    /* Mixing the stream number through splitmix first keeps nearby streams
     * (0, 1, 2...) far apart in the seed space. */
    uint64_t state = stream;
    nerve_rng_seed(r, seed ^ splitmix64(&state));
}

uint64_t nerve_rng_next(nerve_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double nerve_rng_uniform(nerve_rng *r)
{
    return (double)(nerve_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t nerve_rng_below(nerve_rng *r, uint64_t n)
{
    /* Lemire's multiply-and-reject: unbiased, rarely loops. */
    if (n == 0)
        return 0;
    __uint128_t m = (__uint128_t)nerve_rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (__uint128_t)nerve_rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double nerve_rng_normal(nerve_rng *r)
{
    /* Box-Muller, one value per call: simple and reproducible. */
    double u1 = 1.0 - nerve_rng_uniform(r);   /* (0, 1]: log is finite */
    double u2 = nerve_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
