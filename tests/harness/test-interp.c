/*
 * tests/harness/test-interp.c: most_confused rule and order on a constructed
 * confusion matrix, confusion counting, softmax/loss/argmax, top losses.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "harness/interp.h"

/* 4 classes; off-diagonal counts chosen so the strict and >= rules differ
 * (the 2s) and ties must keep row-major order (the 5s and 3s). */
static const int64_t cm4[16] = {
    9, 3, 2, 5,
    5, 9, 0, 1,
    2, 3, 9, 5,
    0, 0, 7, 9,
};

Test(interp, most_confused_strict_is_fastai_1_0_42)
{
    interp_pair out[12];
    size_t m = harness_interp_most_confused(cm4, 4, 2, INTERP_STRICT, out);
    static const int exp[][3] = {{3, 2, 7}, {0, 3, 5}, {1, 0, 5}, {2, 3, 5},
                                 {0, 1, 3}, {2, 1, 3}};
    cr_assert_eq(m, 6, "strict min_val=2 keeps counts >= 3, got %zu", m);
    for (size_t i = 0; i < m; i++) {
        cr_expect(out[i].actual == exp[i][0] && out[i].predicted == exp[i][1]
                  && out[i].count == exp[i][2],
                  "pair %zu: got (%d,%d,%lld) want (%d,%d,%d)", i,
                  out[i].actual, out[i].predicted, (long long)out[i].count,
                  exp[i][0], exp[i][1], exp[i][2]);
    }
}

Test(interp, most_confused_at_least_adds_the_twos)
{
    interp_pair out[12];
    size_t m = harness_interp_most_confused(cm4, 4, 2, INTERP_AT_LEAST, out);
    cr_assert_eq(m, 8);
    /* the two count-2 cells come last, (0,2) before (2,0) */
    cr_expect(out[6].actual == 0 && out[6].predicted == 2 && out[6].count == 2);
    cr_expect(out[7].actual == 2 && out[7].predicted == 0 && out[7].count == 2);
    for (size_t i = 0; i < m; i++)
        cr_expect(out[i].actual != out[i].predicted, "diagonal listed");
}

Test(interp, most_confused_min_val_zero_skips_diagonal_and_zeros)
{
    interp_pair out[12];
    size_t m = harness_interp_most_confused(cm4, 4, 0, INTERP_STRICT, out);
    cr_assert_eq(m, 9); /* 12 off-diagonal cells, 3 are zero */
    for (size_t i = 1; i < m; i++)
        cr_expect(out[i - 1].count >= out[i].count, "not sorted at %zu", i);
}

Test(interp, confusion_rows_are_actual)
{
    const int32_t y[] = {0, 0, 1, 2, 2, 2};
    const int32_t p[] = {0, 1, 1, 0, 2, 0};
    int64_t cm[9];
    for (int i = 0; i < 9; i++)
        cm[i] = -1;
    harness_interp_confusion(cm, 3, y, p, 6);
    const int64_t want[9] = {1, 1, 0, 0, 1, 0, 2, 0, 1};
    for (int i = 0; i < 9; i++)
        cr_expect_eq(cm[i], want[i], "cm[%d] = %lld, want %lld", i,
                     (long long)cm[i], (long long)want[i]);
}

Test(interp, eval_softmax_loss_argmax)
{
    const float logits[2 * 3] = {1, 2, 3, 5, 1, 5};
    const int32_t y[2] = {0, 2};
    float probs[6], loss[2];
    int32_t pred[2];
    for (int i = 0; i < 6; i++)
        probs[i] = NAN;
    size_t wrong = harness_interp_eval(logits, y, 2, 3, probs, loss, pred);
    double s = exp(1) + exp(2) + exp(3);
    cr_expect_float_eq(probs[0], exp(1) / s, 1e-6);
    cr_expect_float_eq(probs[2], exp(3) / s, 1e-6);
    cr_expect_float_eq(loss[0], log(s) - 1, 1e-5);
    cr_expect_eq(pred[0], 2);
    cr_expect_eq(pred[1], 0, "ties go to the first maximum, as argmax does");
    double s1 = 2 * exp(5) + exp(1);
    cr_expect_float_eq(loss[1], log(s1) - 5, 1e-5);
    cr_expect_eq(wrong, 2);
}

Test(interp, top_losses_descending_ties_by_index)
{
    const float loss[] = {0.5f, 2.0f, NAN, 2.0f, 0.1f, 3.0f};
    size_t idx[6];
    size_t k = harness_interp_top_losses(loss, 6, 4, idx);
    const size_t want[4] = {2, 5, 1, 3};
    cr_assert_eq(k, 4);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(idx[i], want[i], "idx[%d] = %zu want %zu", i, idx[i],
                     want[i]);
    k = harness_interp_top_losses(loss, 6, 99, idx);
    cr_assert_eq(k, 6);
    cr_expect_eq(idx[5], 4);
}
