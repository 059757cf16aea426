/*
 * tests/data/test-split.c: the numpy-legacy MT19937 and fastai's split
 * against the test vectors of reference section 1 (checked with numpy's
 * RandomState).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "data/split.h"

Test(split, first_uint32s_seed2)
{
    static const uint32_t want[5] = {1872583848u, 794921487u, 111352301u,
                                     4000937544u, 2360782358u};
    data_mt19937 r;
    data_mt19937_seed(&r, 2);
    for (int i = 0; i < 5; i++) {
        uint32_t got = data_mt19937_next(&r);
        cr_assert_eq(got, want[i], "draw %d: got %u want %u", i, got, want[i]);
    }
}

Test(split, random_sample_seed2)
{
    data_mt19937 r;
    data_mt19937_seed(&r, 2);
    double a = data_mt19937_double(&r), b = data_mt19937_double(&r);
    cr_assert_float_eq(a, 0.4359949, 5e-8, "got %.9f", a);
    cr_assert_float_eq(b, 0.02592623, 5e-9, "got %.9f", b);
}

Test(split, permutation_7390_seed2)
{
    static const size_t head[20] = {564, 6883, 194, 2312, 4140, 3961, 1500,
                                    925, 2670, 5292, 2407, 2324, 5518, 6712,
                                    291, 6553, 1253, 1097, 3954, 1606};
    static const size_t tail[5] = {1221, 109, 4787, 6889, 5641};
    size_t n = 7390, *perm = malloc(n * sizeof *perm);
    data_mt19937 r;
    data_mt19937_seed(&r, 2);
    data_mt19937_permutation(&r, perm, n);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(perm[i], head[i], "perm[%d] = %zu, want %zu", i, perm[i],
                     head[i]);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(perm[1473 + i], tail[i], "perm[%d] = %zu, want %zu",
                     1473 + i, perm[1473 + i], tail[i]);
    size_t sum = 0;
    for (int i = 0; i < 1478; i++)
        sum += perm[i];
    cr_assert_eq(sum, 5426354u, "sum of first 1478 = %zu", sum);
    free(perm);
}

Test(split, fastai_split_7390)
{
    size_t n = 7390;
    size_t *perm = malloc(n * sizeof *perm), *valid = malloc(n * sizeof *valid);
    size_t *train = malloc(n * sizeof *train);
    size_t cut = data_split(n, 0.2, 2, perm, valid, train);
    cr_assert_eq(cut, 1478);
    cr_assert_eq(valid[0], 564);
    cr_assert_eq(valid[1477], 5641);
    /* train ascending, disjoint from valid, together a partition of 0..n-1 */
    char *seen = calloc(n, 1);
    for (size_t i = 0; i < cut; i++)
        seen[valid[i]]++;
    for (size_t i = 0; i < n - cut; i++) {
        if (i)
            cr_assert_lt(train[i - 1], train[i]);
        seen[train[i]]++;
    }
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(seen[i], 1, "item %zu seen %d times", i, seen[i]);
    free(seen), free(perm), free(valid), free(train);
}

Test(split, interval_bounds)
{
    data_mt19937 r;
    data_mt19937_seed(&r, 7);
    cr_assert_eq(data_mt19937_interval(&r, 0), 0);
    for (int i = 0; i < 1000; i++)
        cr_assert_leq(data_mt19937_interval(&r, 5), 5);
}
