/*
 * data/split.h: numpy's legacy RandomState (MT19937) and fastai's
 * random_split_by_pct, bit-exact.
 *
 * np.random.seed(s) with an integer seeds MT19937 by init_genrand(s);
 * permutation(n) is a Fisher-Yates shuffle of 0..n-1 from the top down, each
 * j drawn by masked rejection sampling (numpy random_interval). fastai then
 * takes cut = int(valid_pct * n) items: valid = perm[0..cut-1] in permutation
 * order, train = the rest sorted ascending. Test vectors: reference section 1.
 */
#ifndef RESIN_DATA_SPLIT_H
#define RESIN_DATA_SPLIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct data_mt19937 {
    uint32_t mt[624];
    int index;
} data_mt19937;

void data_mt19937_seed(data_mt19937 *r, uint32_t seed);
uint32_t data_mt19937_next(data_mt19937 *r);
/* numpy random_sample(): 53-bit double in [0, 1). */
double data_mt19937_double(data_mt19937 *r);
/* numpy random_interval(max): uniform integer in [0, max]. */
uint32_t data_mt19937_interval(data_mt19937 *r, uint32_t max);
/* numpy permutation(n) into perm (n). */
void data_mt19937_permutation(data_mt19937 *r, size_t *perm, size_t n);

/* fastai random_split_by_pct after np.random.seed(seed). perm_scratch holds n
 * entries. Writes valid (cut) in permutation order and train (n - cut)
 * ascending; returns cut = (size_t)(valid_pct * n). */
size_t data_split(size_t n, double valid_pct, uint32_t seed,
                  size_t *perm_scratch, size_t *valid, size_t *train);

#endif /* RESIN_DATA_SPLIT_H */
