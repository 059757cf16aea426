/*
 * data/split.c: see split.h. MT19937 after Matsumoto & Nishimura (1998), the
 * seeding and bounded draw as numpy's legacy RandomState does them.
 */
#include "data/split.h"


void data_mt19937_seed(data_mt19937 *r, uint32_t seed)
{
    r->mt[0] = seed;
    for (int i = 1; i < 624; i++) {
        uint32_t prev = r->mt[i - 1];
        r->mt[i] = 1812433253u * (prev ^ (prev >> 30)) + (uint32_t)i;
    }
    r->index = 624;
}

static void mt_twist(data_mt19937 *r)
{
    for (int i = 0; i < 624; i++) {
        uint32_t y = (r->mt[i] & 0x80000000u) |
                     (r->mt[(i + 1) % 624] & 0x7fffffffu);
        uint32_t v = r->mt[(i + 397) % 624] ^ (y >> 1);
        r->mt[i] = (y & 1u) ? v ^ 0x9908b0dfu : v;
    }
    r->index = 0;
}

uint32_t data_mt19937_next(data_mt19937 *r)
{
    if (r->index >= 624)
        mt_twist(r);
    uint32_t y = r->mt[r->index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

double data_mt19937_double(data_mt19937 *r)
{
    uint32_t a = data_mt19937_next(r) >> 5, b = data_mt19937_next(r) >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
}

uint32_t data_mt19937_interval(data_mt19937 *r, uint32_t max)
{
    if (max == 0)
        return 0;
    uint32_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    uint32_t u;
    do
        u = data_mt19937_next(r) & mask;
    while (u > max);
    return u;
}

void data_mt19937_permutation(data_mt19937 *r, size_t *perm, size_t n)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i-- > 1;) {
        size_t j = data_mt19937_interval(r, (uint32_t)i);
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

size_t data_split(size_t n, double valid_pct, uint32_t seed,
                  size_t *perm_scratch, size_t *valid, size_t *train)
{
    data_mt19937 r;
    data_mt19937_seed(&r, seed);
    data_mt19937_permutation(&r, perm_scratch, n);
    size_t cut = (size_t)(valid_pct * (double)n);
    for (size_t i = 0; i < cut; i++)
        valid[i] = perm_scratch[i];
    /* The set difference, ascending: mark the valid items in place by
     * reusing perm_scratch as a flag array (perm is no longer needed). */
    for (size_t i = 0; i < n; i++)
        perm_scratch[i] = 0;
    for (size_t i = 0; i < cut; i++)
        perm_scratch[valid[i]] = 1;
    size_t t = 0;
    for (size_t i = 0; i < n; i++)
        if (!perm_scratch[i])
            train[t++] = i;
    return cut;
}
