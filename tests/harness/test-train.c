/*
 * tests/harness/test-train.c: harness/train end to end on a tiny data set the
 * test writes itself (3 classes of 6 small coloured JPEGs, plus a corrupt
 * file and one whose name has no label), at 32x32 with batch 2 and two
 * batches per fit and per lr_find (the model is the full ResNet-34):
 * - every output file exists and is valid (PNGs read back, history.csv
 *   columns, the three checkpoints parse);
 * - the data summary counts the two skipped files;
 * - the final checkpoint reloads and predicts what harness/predict prints;
 * - a run interrupted in the middle of stage 1 and resumed ends with the
 *   same history (schedule position) and the same final weights as a run
 *   that was never interrupted.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "harness/ckpt.h"
#include "harness/dataset.h"
#include "harness/plot.h"
#include "harness/report.h"
#include "harness/workflow.h"
#include "nn/model.h"

static char dir[64];

static const char *path_in(const char *sub, const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s/%s", dir, sub, name);
    return p[k];
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* 18 JPEGs: class c is mostly colour channel c, with a class-specific
 * stripe so even a few steps can tell them apart. */
static void make_images(void)
{
    static const char *cls[3] = {"alpha", "Beta", "gamma"};
    char sub[128];
    snprintf(sub, sizeof sub, "%s/images", dir);
    cr_assert_eq(mkdir(sub, 0777), 0);
    tjhandle tj = tjInitCompress();
    uint8_t px[36 * 40 * 3];
    uint64_t s = 12345;
    for (int c = 0; c < 3; c++) {
        for (int i = 1; i <= 6; i++) {
            for (int y = 0; y < 36; y++)
                for (int x = 0; x < 40; x++)
                    for (int ch = 0; ch < 3; ch++) {
                        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                        int v = (ch == c ? 190 : 50) + (int)(s >> 59) * 4;
                        if ((x / 5) % 3 == c)
                            v += 40;
                        px[(y * 40 + x) * 3 + ch] = (uint8_t)v;
                    }
            unsigned char *jpg = NULL;
            unsigned long size = 0;
            cr_assert_eq(tjCompress2(tj, px, 40, 0, 36, TJPF_RGB, &jpg, &size,
                                     TJSAMP_444, 90, 0), 0);
            char name[64];
            snprintf(name, sizeof name, "%s_%d.jpg", cls[c], i);
            write_file(path_in("images", name), jpg, size);
            tjFree(jpg);
        }
    }
    tjDestroy(tj);
    write_file(path_in("images", "broken_1.jpg"), "not a jpeg at all", 17);
    uint8_t junk[64] = {0xff, 0xd8, 0xff};
    write_file(path_in("images", "nolabel.jpg"), junk, sizeof junk);
}

static void setup(void)
{
    strcpy(dir, "/tmp/resin-train-XXXXXX");
    cr_assert(mkdtemp(dir));
    make_images();
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* Runs train with stdout captured in DIR/<out>.log; returns the exit code. */
static int run_train(const char *out, const char *extra)
{
    char args[1024], logp[256];
    snprintf(args, sizeof args,
             "train tiny --images %s/images --out %s/%s --size 32 --bs 2 "
             "--epochs 1,1 --steps 2 --lr-find-its 2 --threads 1 "
             "--run-seed 7 %s",
             dir, dir, out, extra);
    char *argv[40];
    int argc = 0;
    for (char *t = strtok(args, " "); t && argc < 39; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    snprintf(logp, sizeof logp, "%s/%s.log", dir, out);
    fflush(stdout);
    int saved = dup(1);
    FILE *f = fopen(logp, "a");
    dup2(fileno(f), 1);
    int rc = harness_train_main(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(f);
    return rc;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s missing", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    return b;
}

/* The iteration rows of history.csv as "stage,phase,iteration,lr,mom"
 * lines (losses left out: they depend on the weights, compared apart). */
static char *schedule_rows(const char *csv)
{
    char *out = calloc(1, strlen(csv) + 1), *o = out;
    for (const char *l = csv; *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        if (!strncmp(l, "iter,", 5)) {
            int commas = 0;
            for (size_t i = 0; i < len && commas < 7; i++) {
                commas += l[i] == ',';
                if (commas < 7)
                    *o++ = l[i];
            }
            *o++ = '\n';
        }
        l += len + (nl != NULL);
    }
    return out;
}

/* final.safetensors reloads, and predict prints what the reloaded model
 * computes for one image. */
static void expect_predict_same(void)
{
    const char *model = path_in("a", "final.safetensors");
    ckpt_file *f = harness_ckpt_open(model);
    cr_assert(f);
    nn_plan_sizes plan = nn_plan(2, 32, 3, 1);
    void *arena[NN_ARENA_COUNT];
    for (int i = 0; i < NN_ARENA_COUNT; i++)
        cr_assert_eq(posix_memalign(&arena[i], 64, plan.bytes[i]), 0);
    nn_model *m = calloc(1, sizeof *m);
    cr_assert(nn_model_init(m, 2, 32, 3, 1, arena));
    ckpt_load_report r;
    cr_assert(harness_ckpt_load(f, m, false, &r));
    cr_expect_eq(r.missing, 0);
    harness_ckpt_close(f);

    const char *img = path_in("images", "gamma_3.jpg");
    float x[3 * 32 * 32], prob[3];
    cr_assert(harness_image_to_input(img, 32, false, x, stderr));
    nn_forward_eval(m, x, NULL, 1, NULL, NULL, prob, NULL);
    static const char *names[3] = {"Beta", "alpha", "gamma"};
    int best = 0;
    for (int c = 1; c < 3; c++)
        if (prob[c] > prob[best])
            best = c;

    char logp[256];
    snprintf(logp, sizeof logp, "%s/predict.log", dir);
    fflush(stdout);
    int saved = dup(1);
    FILE *lf = fopen(logp, "w");
    dup2(fileno(lf), 1);
    char *argv[] = {"predict", (char *)model, (char *)img, NULL};
    int rc = harness_predict_main(3, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(lf);
    cr_assert_eq(rc, 0);
    char *out = slurp(logp), want[256];
    snprintf(want, sizeof want, "%s: %s %.4f,", img, names[best], prob[best]);
    cr_expect(!strncmp(out, want, strlen(want)), "predict printed '%s', "
              "reloaded model gives '%s'", out, want);
    free(out);
    for (int i = 0; i < NN_ARENA_COUNT; i++)
        free(arena[i]);
    free(m);
}

TestSuite(train, .init = setup, .fini = teardown, .timeout = 900);

Test(train, writes_every_output_and_predicts_the_same)
{
    cr_assert_eq(run_train("a", ""), 0, "train failed; see %s/a.log", dir);
    char *log = slurp(path_in("a", "../a.log"));
    cr_expect(strstr(log, "18 images, 3 classes, ") == log,
              "summary line: %.80s", log);
    cr_expect(strstr(log, "2 skipped\n"), "skipped count missing");
    cr_expect(strstr(log, "epoch  train_loss  valid_loss  error_rate  time"));
    cr_expect(strstr(log, "LR Finder is complete, type {learner_name}"));
    cr_expect(strstr(log, "most_confused(min_val=2):"));
    cr_expect(strstr(log, "no ImageNet weights"));
    const char *pngs[] = {"show_batch.png", "lr_find.png", "lr_find2.png",
                          "lr_mom.png", "confusion.png", "top_losses.png"};
    for (size_t i = 0; i < 6; i++) {
        int w = 0, h = 0;
        cr_expect_eq(harness_plot_read_png_size(path_in("a", pngs[i]), &w, &h),
                     PLOT_OK, "%s", pngs[i]);
        cr_expect(w > 100 && h > 100, "%s: %dx%d", pngs[i], w, h);
    }
    const char *ck[] = {"stage-1.safetensors", "final.safetensors",
                        "last.safetensors"};
    for (size_t i = 0; i < 3; i++) {
        ckpt_file *f = harness_ckpt_open(path_in("a", ck[i]));
        cr_expect(f, "%s does not parse", ck[i]);
        if (f)
            cr_expect_str_eq(harness_ckpt_meta(f, "resin.class_names"),
                             "Beta\nalpha\ngamma");
        harness_ckpt_close(f);
    }
    char *csv = slurp(path_in("a", "history.csv"));
    cr_expect(!strncmp(csv, HARNESS_HISTORY_HEADER "\n",
                       strlen(HARNESS_HISTORY_HEADER) + 1));
    size_t lines = 0, epochs = 0, lrf = 0;
    for (char *l = csv; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
        size_t commas = 0;
        for (char *c = l; *c && *c != '\n'; c++)
            commas += *c == ',';
        cr_expect_eq(commas, 11, "line %zu has %zu fields", lines,
                     commas + 1);
        epochs += !strncmp(l, "epoch,", 6);
        lrf += !strncmp(l, "iter,1,lr_find,", 15);
        lines++;
    }
    cr_expect_eq(epochs, 2, "1 + 1 epochs");
    cr_expect_eq(lrf, 2, "--lr-find-its 2");
    free(csv);
    free(log);
    expect_predict_same();
}

Test(train, resume_continues_where_it_stopped)
{
    cr_assert_eq(run_train("a", ""), 0);
    /* 2 lr_find steps + 1 fit step, then a simulated SIGINT */
    setenv("RESIN_TRAIN_STOP_AFTER", "3", 1);
    cr_assert_eq(run_train("b", ""), 130);
    unsetenv("RESIN_TRAIN_STOP_AFTER");
    cr_assert_eq(access(path_in("b", "last.safetensors"), F_OK), 0);
    cr_assert_neq(access(path_in("b", "final.safetensors"), F_OK), 0);
    cr_assert_eq(run_train("b", "--resume"), 0);

    char *ha = slurp(path_in("a", "history.csv"));
    char *hb = slurp(path_in("b", "history.csv"));
    char *sa = schedule_rows(ha), *sb = schedule_rows(hb);
    cr_expect_str_eq(sb, sa, "the resumed schedule differs");
    /* same batches, same order, same seeds, one thread: same weights */
    char *fa = slurp(path_in("a", "final.safetensors"));
    char *fb = slurp(path_in("b", "final.safetensors"));
    FILE *f = fopen(path_in("a", "final.safetensors"), "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    cr_expect_eq(memcmp(fa, fb, (size_t)n), 0,
                 "final weights differ after resume");
    free(ha);
    free(hb);
    free(sa);
    free(sb);
    free(fa);
    free(fb);
}
