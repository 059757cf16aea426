/*
 * harness/workflow.c: harness/train, the fastai v1 lesson-1 workflow (see
 * workflow.h and README "Training").
 *
 * Order of work, as the notebook runs it (fastai 1.0.42 semantics, shared
 * reference fastai-v1-semantics.md):
 *   data summary -> model summary + memory plan -> show_batch ->
 *   stage 1: lr_find (weights and optimizer restored after) -> plot with
 *   both suggestions -> fit_one_cycle(4, max_lr=3e-3) with the epoch table
 *   -> plot_lr -> save stage-1 -> unfreeze (fresh Adam) ->
 *   stage 2: lr_find -> fit_one_cycle(2, slice(1e-6, 1e-4)) ->
 *   interpretation (confusion.png, most_confused(2), top_losses.png) ->
 *   save final.
 *
 * Resume: last.safetensors in --out holds the model, the Adam state and the
 * position (stage, phase, batches done in the fit, the smoothed-loss state).
 * It is written at every epoch end, at each stage boundary and when SIGINT
 * or SIGTERM arrives (checked between steps). The train order of epoch e is
 * a function of (run seed, stage, e), so a resumed run sees the same batches
 * in the same order and the one-cycle schedule continues at the same batch.
 */
#include "harness/workflow.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/loader.h"
#include "harness/ckpt.h"
#include "harness/cli.h"
#include "harness/file.h"
#include "harness/dataset.h"
#include "harness/interp.h"
#include "harness/isa.h"
#include "harness/plot.h"
#include "harness/pool.h"
#include "harness/report.h"
#include "nn/model.h"
#include "sched/sched.h"

enum { PHASE_LR_FIND = 0, PHASE_FIT, PHASE_DONE };
static const char *const phase_name[] = {"lr_find", "fit", "done"};

#define EXIT_INTERRUPTED 130
#define LR_FIND_MOM 0.9 /* beta1 of a fresh optimizer (Adam betas 0.9, 0.99) */

/* Where the workflow stands; saved in every resume checkpoint. */
typedef struct {
    int stage;   /* 1, 2 */
    int phase;   /* PHASE_* */
    size_t iter; /* batches done in this stage's fit */
    sched_smooth smooth;
} wf_pos;

typedef struct {
    train_opts o;
    kern_pool *pool;
    harness_dataset ds;
    bool ds_open;
    data_loader *train, *valid;
    nn_model m;
    nn_plan_sizes plan;
    void *arena[NN_ARENA_COUNT];
    float *snap;           /* lr_find snapshot: parameter + moment arenas */
    float *vlogits, *vloss; /* (nvalid, classes), (nvalid) */
    int32_t *vy, *vpred;    /* (nvalid) */
    harness_history hist;
    bool tty;
    wf_pos pos;
} wf;

static volatile sig_atomic_t g_stop;

/* Test hook: RESIN_TRAIN_STOP_AFTER=N acts as a SIGINT after N training
 * steps (lr_find included), so tests can interrupt and resume a run. */
static size_t g_stop_after, g_steps_done;

static void count_step(void)
{
    if (g_stop_after && ++g_steps_done >= g_stop_after)
        g_stop = 1;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void out_path(const wf *w, char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", w->o.out, name);
}

static bool make_dirs(const char *path)
{
    return harness_mkdir_p(path, NULL, 0) == HARNESS_FILE_OK;
}

// --- data --------------------------------------------------------------------

/* Opens the data set, printing the summary line first and then every
 * skipped file with its reason (the data set logs those as it finds them). */
static bool open_data(wf *w)
{
    char *log = NULL;
    size_t loglen = 0;
    FILE *lf = open_memstream(&log, &loglen);
    harness_dataset_opts dopt = {
        .dir = w->o.images, .pattern = w->o.pat, .valid_pct = w->o.valid_pct,
        .split_seed = w->o.seed, .size = (int)w->o.size, .log = lf};
    harness_data_status st = harness_dataset_open(&dopt, &w->ds);
    fclose(lf);
    if (st != HARNESS_DATA_OK) {
        fputs(log, stderr);
        fprintf(stderr, "train: %s: no usable data set (see above)%s\n",
                w->o.images,
                strcmp(w->o.dataset, "pets") ? ""
                : "; `make data-pets` downloads the pets images");
        free(log);
        return false;
    }
    w->ds_open = true;
    const harness_dataset *d = &w->ds;
    size_t skipped = d->unlabelled + d->bad + d->dropped_valid;
    printf("%zu images, %zu classes, %zu train / %zu valid, %zu skipped\n",
           d->n, d->nclasses, d->ntrain, d->nvalid, skipped);
    if (loglen)
        fputs(log, stdout);
    free(log);
    if (d->nclasses < 2 || d->ntrain < w->o.bs || d->nvalid == 0) {
        fprintf(stderr, "train: %s: need >= 2 classes, >= %zu training and "
                "1 validation image\n", w->o.images, w->o.bs);
        return false;
    }
    return true;
}

static bool open_loaders(wf *w)
{
    int threads = w->o.threads == 1 ? 1 : 2;
    data_loader_opts lo = {
        .src = &w->ds.source, .items = w->ds.train, .n = w->ds.ntrain,
        .bs = (int)w->o.bs, .size = (int)w->o.size, .threads = threads,
        .train = true, .seed = w->o.run_seed};
    w->train = data_loader_create(&lo);
    lo.items = w->ds.valid;
    lo.n = w->ds.nvalid;
    lo.train = false;
    w->valid = w->train ? data_loader_create(&lo) : NULL;
    return w->train && w->valid;
}

/* Denormalises image (3, S, S) into rgb (S, S, 3): x * std + mean, clamped
 * to [0, 1], as show_batch and plot_top_losses display them. */
static void denorm(const float *x, size_t s, uint8_t *rgb)
{
    for (size_t c = 0; c < 3; c++)
        for (size_t i = 0; i < s * s; i++) {
            float v = x[c * s * s + i] * data_imagenet_std[c] +
                      data_imagenet_mean[c];
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            rgb[3 * i + c] = (uint8_t)lrintf(v * 255);
        }
}

/* show_batch(rows=3): 9 images of one augmented, shuffled training batch. */
static void show_batch(wf *w)
{
    const float *x;
    const int32_t *y;
    int n;
    size_t s = w->o.size;
    data_loader_start_epoch(w->train, 999999);
    if (!data_loader_next(w->train, &x, &y, &n))
        return;
    size_t k = n < 9 ? (size_t)n : 9;
    uint8_t *rgb = malloc(k * s * s * 3);
    plot_image im[9];
    for (size_t i = 0; rgb && i < k; i++) {
        denorm(x + i * 3 * s * s, s, rgb + i * s * s * 3);
        im[i] = (plot_image){rgb + i * s * s * 3, (int)s, (int)s,
                             w->ds.classes[y[i]]};
    }
    data_loader_release(w->train);
    char path[CLI_PATH_MAX + 32];
    out_path(w, path, sizeof path, "show_batch.png");
    if (rgb)
        harness_plot_image_grid(path, im, k, NULL);
    free(rgb);
}

// --- model -------------------------------------------------------------------

bool harness_arenas_alloc(const nn_plan_sizes *plan,
                          void *arena[NN_ARENA_COUNT], int *failed)
{
    for (int i = 0; i < NN_ARENA_COUNT; i++)
        arena[i] = NULL;
    for (int i = 0; i < NN_ARENA_COUNT; i++) {
        size_t bytes = plan->bytes[i];
        if (posix_memalign(&arena[i], KERN_ALIGN,
                           bytes ? bytes : KERN_ALIGN) != 0) {
            arena[i] = NULL;
            if (failed)
                *failed = i;
            return false;
        }
        memset(arena[i], 0, bytes);
    }
    return true;
}

static void print_plan(const nn_plan_sizes *p)
{
    static const char *const names[NN_ARENA_COUNT] = {
        "parameters + BN statistics", "gradients", "Adam moments",
        "activations", "scratch"};
    printf("memory plan:\n");
    for (int i = 0; i < NN_ARENA_COUNT; i++)
        printf("  %-28s %10.1f MiB\n", names[i], p->bytes[i] / 1048576.0);
    printf("  %-28s %10.1f MiB\n", "total", p->total / 1048576.0);
}

static const char *const bn_args =
    "eps=1e-05, momentum=0.1, affine=True, track_running_stats=True";

static void print_conv(int ind, const char *name, const nn_conv *c)
{
    printf("%*s(%s): Conv2d(%zu, %zu, kernel_size=(%zu, %zu), stride=(%zu, "
           "%zu)", ind, "", name, c->ic, c->oc, c->k, c->k, c->stride,
           c->stride);
    if (c->pad)
        printf(", padding=(%zu, %zu)", c->pad, c->pad);
    printf(", bias=False)\n");
}

static void print_block(const nn_block *b, size_t i)
{
    printf("      (%zu): BasicBlock(\n", i);
    print_conv(8, "conv1", &b->conv1);
    printf("        (bn1): BatchNorm2d(%zu, %s)\n", b->bn1.c, bn_args);
    printf("        (relu): ReLU(inplace)\n");
    print_conv(8, "conv2", &b->conv2);
    printf("        (bn2): BatchNorm2d(%zu, %s)\n", b->bn2.c, bn_args);
    if (b->has_down) {
        printf("        (downsample): Sequential(\n");
        print_conv(10, "0", &b->down);
        printf("          (1): BatchNorm2d(%zu, %s)\n        )\n", b->bnd.c,
               bn_args);
    }
    printf("      )\n");
}

/* print(learn.model), as PyTorch prints the fastai Sequential(body, head). */
static void print_model(const nn_model *m)
{
    static const size_t depth[4] = {3, 4, 6, 3};
    printf("Sequential(\n  (0): Sequential(\n");
    print_conv(4, "0", &m->stem);
    printf("    (1): BatchNorm2d(64, %s)\n    (2): ReLU(inplace)\n", bn_args);
    printf("    (3): MaxPool2d(kernel_size=3, stride=2, padding=1, "
           "dilation=1, ceil_mode=False)\n");
    for (size_t l = 0, k = 0; l < 4; l++) {
        printf("    (%zu): Sequential(\n", l + 4);
        for (size_t i = 0; i < depth[l]; i++, k++)
            print_block(&m->blocks[k], i);
        printf("    )\n");
    }
    printf("  )\n  (1): Sequential(\n    (0): AdaptiveConcatPool2d(\n"
           "      (ap): AdaptiveAvgPool2d(output_size=1)\n"
           "      (mp): AdaptiveMaxPool2d(output_size=1)\n    )\n"
           "    (1): Flatten()\n");
    printf("    (2): BatchNorm1d(%d, %s)\n    (3): Dropout(p=0.25)\n",
           NN_HEAD_FEATURES, bn_args);
    printf("    (4): Linear(in_features=%d, out_features=%d, bias=True)\n"
           "    (5): ReLU(inplace)\n", NN_HEAD_FEATURES, NN_HEAD_HIDDEN);
    printf("    (6): BatchNorm1d(%d, %s)\n    (7): Dropout(p=0.5)\n",
           NN_HEAD_HIDDEN, bn_args);
    printf("    (8): Linear(in_features=%d, out_features=%zu, bias=True)\n"
           "  )\n)\n", NN_HEAD_HIDDEN, m->classes);
}

/* learn.summary(): one row per leaf module, then the totals. */
static void print_summary(const nn_model *m, size_t bs)
{
    nn_summary *s = malloc(sizeof *s);
    if (!s)
        return;
    nn_summary_build(m, bs, s);
    printf("%-24s %-22s %-22s %10s  %s\n", "Layer", "Type", "Output Shape",
           "Param #", "Trainable");
    for (size_t i = 0; i < s->nrows; i++) {
        const nn_summary_row *r = &s->rows[i];
        char shape[64];
        int n = snprintf(shape, sizeof shape, "[%zu", r->shape[1]);
        for (int d = 2; d < r->ndim; d++)
            n += snprintf(shape + n, sizeof shape - (size_t)n, ", %zu",
                          r->shape[d]);
        snprintf(shape + n, sizeof shape - (size_t)n, "]");
        printf("%-24s %-22s %-22s %10zu  %s\n", r->name, r->type, shape,
               r->params, r->params ? (r->trainable ? "True" : "False") : "");
    }
    printf("Total params: %zu\nTrainable params: %zu\n", s->total_params,
           s->trainable_params);
    free(s);
}

/* ImageNet weights when present; otherwise say so once and train from
 * scratch with the body unfrozen. Returns false on a broken file. */
static bool load_pretrained(wf *w)
{
    nn_model_init_weights(&w->m, w->o.run_seed ^ 0x5eedULL);
    if (access(w->o.pretrained, F_OK) != 0) {
        if (w->o.pretrained_given) {
            fprintf(stderr, "train: --pretrained %s: %s\n", w->o.pretrained,
                    strerror(errno));
            return false;
        }
        printf("no ImageNet weights at %s (`make weights` fetches them): "
               "training from scratch with the body unfrozen\n",
               w->o.pretrained);
        nn_unfreeze(&w->m);
        return true;
    }
    ckpt_file *f = harness_ckpt_open(w->o.pretrained);
    ckpt_load_report r;
    bool ok = f && harness_ckpt_load(f, &w->m, false, &r);
    harness_ckpt_close(f);
    if (!ok)
        return false;
    /* the head is new (fastai create_head); only the body must be there */
    printf("ImageNet weights: %zu tensors from %s (%zu not used)\n", r.loaded,
           w->o.pretrained, r.ignored);
    if (r.loaded < 100) {
        fprintf(stderr, "train: %s: only %zu of the body's tensors found "
                "(%s)\n", w->o.pretrained, r.loaded,
                r.text);
        return false;
    }
    nn_freeze(&w->m);
    return true;
}

static bool build_model(wf *w)
{
    size_t nc = w->ds.nclasses;
    w->plan = nn_plan(w->o.bs, w->o.size, nc, kern_pool_threads(w->pool));
    if (!w->plan.total) {
        fprintf(stderr, "train: no model for batch %zu, size %zu, %zu "
                "classes\n", w->o.bs, w->o.size, nc);
        return false;
    }
    if (w->o.plan)
        return true;
    int failed = 0;
    if (!harness_arenas_alloc(&w->plan, w->arena, &failed)) {
        fprintf(stderr, "train: cannot allocate %.1f MiB\n",
                w->plan.bytes[failed] / 1048576.0);
        return false;
    }
    if (!nn_model_init(&w->m, w->o.bs, w->o.size, nc,
                       kern_pool_threads(w->pool), w->arena)) {
        fprintf(stderr, "train: model initialisation failed\n");
        return false;
    }
    size_t nv = w->ds.nvalid;
    w->snap = malloc(w->plan.bytes[NN_ARENA_PARAMS] +
                     w->plan.bytes[NN_ARENA_MOMENTS]);
    w->vlogits = malloc(nv * nc * sizeof(float));
    w->vloss = malloc(nv * sizeof(float));
    w->vy = malloc(nv * sizeof(int32_t));
    w->vpred = malloc(nv * sizeof(int32_t));
    if (!w->snap || !w->vlogits || !w->vloss || !w->vy || !w->vpred) {
        fprintf(stderr, "train: out of memory\n");
        return false;
    }
    return true;
}

// --- checkpoints -------------------------------------------------------------

static char *join_classes(const harness_dataset *d)
{
    size_t len = 1;
    for (size_t i = 0; i < d->nclasses; i++)
        len += strlen(d->classes[i]) + 1;
    char *s = malloc(len), *p = s;
    for (size_t i = 0; s && i < d->nclasses; i++)
        p += sprintf(p, i ? "\n%s" : "%s", d->classes[i]);
    if (s)
        *p = 0;
    return s;
}

/* name: stage-1 / final (model only) or last (model + optimizer + position). */
static bool save_ckpt(wf *w, const char *name, bool resume)
{
    char path[CLI_PATH_MAX + 64], size[32], pos[256], seed[32];
    snprintf(path, sizeof path, "%s/%s.safetensors", w->o.out, name);
    char *classes = join_classes(&w->ds);
    if (!classes)
        return false;
    const sched_smooth *s = &w->pos.smooth;
    snprintf(size, sizeof size, "%zu", w->o.size);
    snprintf(pos, sizeof pos, "%d %s %zu %d %.17g %.17g %zu %.17g",
             w->pos.stage, phase_name[w->pos.phase], w->pos.iter,
             w->m.frozen ? 1 : 0, s->mov_avg, s->beta_pow, s->n, s->value);
    snprintf(seed, sizeof seed, "%llu", w->o.run_seed);
    ckpt_kv kv[] = {{"resin.class_names", classes}, {"resin.size", size},
                    {"resin.position", pos}, {"resin.run_seed", seed}};
    bool ok = harness_ckpt_save(path, &w->m, resume, kv, resume ? 4 : 2);
    free(classes);
    return ok;
}

/* Loads last.safetensors into the model and w->pos; checks it belongs to
 * this data set (same classes) and image size. */
static bool load_resume(wf *w)
{
    char path[CLI_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/last.safetensors", w->o.out);
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "train: --resume: %s: no checkpoint to resume from\n",
                path);
        return false;
    }
    ckpt_file *f = harness_ckpt_open(path);
    if (!f)
        return false;
    char *classes = join_classes(&w->ds);
    const char *c = harness_ckpt_meta(f, "resin.class_names");
    const char *sz = harness_ckpt_meta(f, "resin.size");
    const char *pos = harness_ckpt_meta(f, "resin.position");
    bool ok = classes && c && !strcmp(c, classes) && sz &&
              strtoul(sz, NULL, 10) == w->o.size && pos;
    if (!ok)
        fprintf(stderr, "train: --resume: %s: made for other classes, image "
                "size or by another program\n", path);
    char ph[16];
    int frozen = 0;
    sched_smooth *s = &w->pos.smooth;
    ok = ok && sscanf(pos, "%d %15s %zu %d %lg %lg %zu %lg", &w->pos.stage, ph,
                      &w->pos.iter, &frozen, &s->mov_avg, &s->beta_pow, &s->n,
                      &s->value) == 8;
    s->beta = SCHED_SMOOTH_BETA;
    w->pos.phase = -1;
    for (int p = 0; ok && p <= PHASE_DONE; p++)
        if (!strcmp(ph, phase_name[p]))
            w->pos.phase = p;
    ok = ok && w->pos.phase >= 0 && w->pos.stage >= 1 && w->pos.stage <= 2;
    if (ok) {
        /* freeze state first: it resets the optimizer, which we then load */
        if (frozen)
            nn_freeze(&w->m);
        else
            nn_unfreeze(&w->m);
        ckpt_load_report r;
        ok = harness_ckpt_load(f, &w->m, true, &r) && r.missing == 0;
        if (!ok)
            fprintf(stderr, "train: --resume: %s: incomplete checkpoint\n",
                    path);
    }
    free(classes);
    harness_ckpt_close(f);
    if (ok)
        printf("resuming stage %d %s after %zu batches (%s)\n", w->pos.stage,
               phase_name[w->pos.phase], w->pos.iter, path);
    return ok;
}

// --- one training step -------------------------------------------------------

static uint64_t step_seed(const wf *w, int stage, int phase, size_t k)
{
    return w->o.run_seed * 0x9E3779B97F4A7C15ULL ^
           ((uint64_t)stage << 56 | (uint64_t)phase << 48 | k);
}

/* Loader epoch ids: each (stage, phase, epoch) gets its own order. */
static uint64_t loader_epoch(int stage, int phase, size_t e)
{
    return (uint64_t)stage * 100000 + (uint64_t)phase * 10000 + e;
}

/* Mean loss and error rate over the validation set, keeping per-item
 * logits, losses, labels and predictions for the interpretation. */
static void validate(wf *w, double *loss, double *err)
{
    const float *x;
    const int32_t *y;
    int n;
    size_t off = 0, nc = w->ds.nclasses;
    double sum = 0;
    data_loader_start_epoch(w->valid, 0);
    while (data_loader_next(w->valid, &x, &y, &n)) {
        size_t nn = (size_t)n;
        if (off + nn > w->ds.nvalid)
            nn = w->ds.nvalid - off;
        float l = nn_forward_eval(&w->m, x, y, nn, w->vlogits + off * nc,
                                  w->vloss + off, NULL, w->pool);
        sum += (double)l * nn;
        memcpy(w->vy + off, y, nn * sizeof *y);
        off += nn;
        data_loader_release(w->valid);
    }
    size_t wrong = harness_interp_eval(w->vlogits, w->vy, off, nc, NULL, NULL,
                                       w->vpred);
    *loss = off ? sum / off : NAN;
    *err = off ? (double)wrong / off : NAN;
}

static void fill_hparams(const wf *w, const double *lr, double mom,
                         nn_hparams *hp)
{
    for (int g = 0; g < NN_LAYER_GROUPS; g++)
        hp->lr[g] = (float)lr[g];
    hp->mom = (float)mom;
    hp->wd = (float)w->o.wd;
}

// --- lr_find -----------------------------------------------------------------

static void snapshot(wf *w, bool restore)
{
    size_t pb = w->plan.bytes[NN_ARENA_PARAMS];
    size_t mb = w->plan.bytes[NN_ARENA_MOMENTS];
    static int64_t steps[NN_PG_COUNT], bn;
    char *s = (char *)w->snap;
    if (restore) {
        memcpy(w->arena[NN_ARENA_PARAMS], s, pb);
        memcpy(w->arena[NN_ARENA_MOMENTS], s + pb, mb);
        memcpy(w->m.opt_steps, steps, sizeof steps);
        w->m.bn_batches = bn;
    } else {
        memcpy(s, w->arena[NN_ARENA_PARAMS], pb);
        memcpy(s + pb, w->arena[NN_ARENA_MOMENTS], mb);
        memcpy(steps, w->m.opt_steps, sizeof steps);
        bn = w->m.bn_batches;
    }
}

static void report_lr_find(wf *w, const double *lrs, const double *losses,
                           size_t n)
{
    printf("LR Finder is complete, type {learner_name}.recorder.plot() to "
           "see the graph.\n");
    sched_lr_suggestion sg;
    size_t dot = SIZE_MAX;
    if (sched_lr_suggest(lrs, losses, n, SCHED_LR_FIND_SKIP_START,
                         SCHED_LR_FIND_SKIP_END, &sg)) {
        printf("Min numerical gradient: %.2E\n", sg.min_grad_lr);
        printf("Min loss divided by 10: %.2E\n", sg.min_loss_lr);
        dot = sg.min_grad;
    } else {
        printf("lr_find: too few batches for a suggestion\n");
    }
    float *fl = malloc(2 * n * sizeof *fl);
    if (!fl)
        return;
    for (size_t i = 0; i < n; i++) {
        fl[i] = (float)lrs[i];
        fl[n + i] = (float)losses[i];
    }
    char name[32], path[CLI_PATH_MAX + 32];
    snprintf(name, sizeof name, w->pos.stage == 1 ? "lr_find.png"
                                                  : "lr_find%d.png",
             w->pos.stage);
    out_path(w, path, sizeof path, name);
    harness_plot_lr_find(path, fl, fl + n, n, SCHED_LR_FIND_SKIP_START,
                         SCHED_LR_FIND_SKIP_END, dot);
    free(fl);
}

/* The lr range test; the model and optimizer come back as they were. */
static int lr_find(wf *w)
{
    sched_lr_find f;
    sched_lr_find_init(&f, SCHED_LR_FIND_START, SCHED_LR_FIND_END,
                       w->o.lr_find_its, true);
    size_t nb = data_loader_batches(w->train);
    size_t epochs = sched_lr_find_epochs(&f, nb), k = 0;
    double *lrs = malloc(2 * (f.num_it + 1) * sizeof *lrs);
    double *losses = lrs + f.num_it + 1;
    if (!lrs)
        return 1;
    sched_smooth sm;
    sched_smooth_init(&sm, SCHED_SMOOTH_BETA);
    snapshot(w, false);
    harness_progress pr;
    harness_progress_start(&pr, stdout, w->tty, "lr_find",
                           w->o.steps && w->o.steps < f.num_it ? w->o.steps
                                                               : f.num_it);
    bool stop = false;
    for (size_t e = 0; e < epochs && !stop; e++) {
        const float *x;
        const int32_t *y;
        int n;
        data_loader_start_epoch(w->train,
                                loader_epoch(w->pos.stage, PHASE_LR_FIND, e));
        while (!stop && data_loader_next(w->train, &x, &y, &n)) {
            double lr[NN_LAYER_GROUPS], l;
            for (int g = 0; g < NN_LAYER_GROUPS; g++)
                lr[g] = sched_lr_find_lr(&f, k);
            nn_hparams hp;
            fill_hparams(w, lr, LR_FIND_MOM, &hp);
            l = nn_train_step(&w->m, x, y, (size_t)n,
                              step_seed(w, w->pos.stage, PHASE_LR_FIND, k),
                              &hp, w->pool);
            data_loader_release(w->train);
            count_step();
            lrs[k] = lr[0];
            losses[k] = sched_smooth_add(&sm, l);
            harness_history_iter(&w->hist, w->pos.stage, "lr_find", k, lr[0],
                                 LR_FIND_MOM, losses[k]);
            k++;
            harness_progress_update(&pr, k, losses[k - 1], (double)k * n);
            stop = sched_lr_find_stop(&f, losses[k - 1]) || g_stop ||
                   (w->o.steps && k >= w->o.steps) || k > f.num_it;
        }
    }
    harness_progress_end(&pr);
    snapshot(w, true);
    if (!g_stop)
        report_lr_find(w, lrs, losses, k);
    free(lrs);
    return g_stop ? EXIT_INTERRUPTED : 0;
}

// --- fit_one_cycle -----------------------------------------------------------

static void plot_lr(wf *w, const sched_one_cycle *oc, const double *lr_max,
                    size_t n)
{
    float *v = malloc(2 * (n ? n : 1) * sizeof *v);
    for (size_t k = 0; v && k < n; k++) {
        v[k] = (float)sched_one_cycle_lr(oc, lr_max[NN_LAYER_GROUPS - 1], k);
        v[n + k] = (float)sched_one_cycle_mom(oc, k);
    }
    char path[CLI_PATH_MAX + 32];
    out_path(w, path, sizeof path, "lr_mom.png");
    if (v && n)
        harness_plot_lr_mom(path, v, v + n, n);
    free(v);
}

/* --steps N: the fit ends after its first N batches (counted in the fit, so
 * a resumed run stops at the same place). */
static bool steps_done(const wf *w)
{
    return w->o.steps && w->pos.iter >= w->o.steps;
}

/* One epoch's batches from w->pos.iter on; returns false when stopped
 * (signal or --steps). */
static bool fit_epoch(wf *w, const sched_one_cycle *oc, const double *lr_max,
                      size_t e, size_t nb, harness_progress *pr)
{
    const float *x;
    const int32_t *y;
    int n;
    size_t skip = w->pos.iter - e * nb;
    data_loader_start_epoch(w->train, loader_epoch(w->pos.stage, PHASE_FIT, e));
    for (size_t b = 0; data_loader_next(w->train, &x, &y, &n); b++) {
        if (b < skip) { /* resumed mid-epoch: same order, skip what was done */
            data_loader_release(w->train);
            continue;
        }
        size_t k = w->pos.iter;
        double lr[NN_LAYER_GROUPS], mom = sched_one_cycle_mom(oc, k);
        sched_one_cycle_lrs(oc, lr_max, NN_LAYER_GROUPS, k, lr);
        nn_hparams hp;
        fill_hparams(w, lr, mom, &hp);
        float l = nn_train_step(&w->m, x, y, (size_t)n,
                                step_seed(w, w->pos.stage, PHASE_FIT, k), &hp,
                                w->pool);
        data_loader_release(w->train);
        count_step();
        double s = sched_smooth_add(&w->pos.smooth, l);
        harness_history_iter(&w->hist, w->pos.stage, "fit", k,
                             lr[NN_LAYER_GROUPS - 1], mom, s);
        w->pos.iter++;
        harness_progress_update(pr, b + 1, s, (double)(b + 1 - skip) * n);
        if (g_stop || steps_done(w)) {
            data_loader_start_epoch(w->train, 0); /* drop batches in flight */
            return false;
        }
    }
    return true;
}

static int fit_one_cycle(wf *w, size_t epochs, const double *lr_max)
{
    size_t nb = data_loader_batches(w->train);
    sched_one_cycle oc = sched_one_cycle_make(
        nb, epochs, w->o.pct_start, w->o.div_factor, w->o.moms[0],
        w->o.moms[1]);
    harness_table_header(stdout);
    for (size_t e = w->pos.iter / nb; e < epochs && !steps_done(w); e++) {
        double t0 = harness_now(), vl, err;
        char label[64];
        snprintf(label, sizeof label, "epoch %zu/%zu", e + 1, epochs);
        harness_progress pr;
        harness_progress_start(&pr, stdout, w->tty, label, nb);
        bool more = fit_epoch(w, &oc, lr_max, e, nb, &pr);
        harness_progress_end(&pr);
        if (g_stop) {
            save_ckpt(w, "last", true);
            printf("interrupted: %s/last.safetensors written; continue with "
                   "--resume\n", w->o.out);
            return EXIT_INTERRUPTED;
        }
        validate(w, &vl, &err);
        double dt = harness_now() - t0;
        harness_table_row(stdout, (int)e + 1, w->pos.smooth.value, vl, err, dt);
        harness_history_epoch(&w->hist, w->pos.stage, (int)e + 1,
                              w->pos.smooth.value, vl, err, dt);
        if (!save_ckpt(w, "last", true))
            return 1;
        if (!more)
            break;
    }
    if (w->pos.stage == 1)
        plot_lr(w, &oc, lr_max, w->pos.iter);
    return 0;
}

// --- interpretation ----------------------------------------------------------

static void print_most_confused(const wf *w, const int64_t *cm)
{
    size_t nc = w->ds.nclasses;
    interp_pair *p = malloc(nc * nc * sizeof *p);
    if (!p)
        return;
    size_t n = harness_interp_most_confused(cm, nc, 2, INTERP_STRICT, p);
    printf("most_confused(min_val=2):\n[");
    for (size_t i = 0; i < n; i++)
        printf("%s('%s', '%s', %lld)", i ? ",\n " : "",
               w->ds.classes[p[i].actual], w->ds.classes[p[i].predicted],
               (long long)p[i].count);
    printf("]\n");
    free(p);
}

/* plot_top_losses(9): valid images through the valid transforms, titled
 * prediction/actual, loss, probability of the actual class. */
static void top_losses(wf *w)
{
    size_t k = 9, idx[9], s = w->o.size, nc = w->ds.nclasses;
    k = harness_interp_top_losses(w->vloss, w->ds.nvalid, k, idx);
    float *x = malloc(3 * s * s * sizeof *x), *prob = malloc(nc * sizeof *prob);
    uint8_t *rgb = malloc(k * s * s * 3);
    char (*title)[160] = malloc(k * sizeof *title);
    plot_image im[9];
    size_t m = 0;
    for (size_t i = 0; x && prob && rgb && title && i < k; i++) {
        size_t v = idx[i];
        const char *path = w->ds.paths[w->ds.valid[v]];
        if (!harness_image_to_input(path, (int)s, false, x, stderr))
            continue;
        harness_interp_eval(w->vlogits + v * nc, &w->vy[v], 1, nc, prob, NULL,
                            NULL);
        denorm(x, s, rgb + m * s * s * 3);
        snprintf(title[m], sizeof *title, "%s/%s\n%.2f / %.2f",
                 w->ds.classes[w->vpred[v]], w->ds.classes[w->vy[v]],
                 w->vloss[v], prob[w->vy[v]]);
        im[m] = (plot_image){rgb + m * s * s * 3, (int)s, (int)s, title[m]};
        m++;
    }
    char path[CLI_PATH_MAX + 32];
    out_path(w, path, sizeof path, "top_losses.png");
    if (m)
        harness_plot_image_grid(path, im, m,
                                "prediction/actual/loss/probability");
    free(x);
    free(prob);
    free(rgb);
    free(title);
}

static void interpret(wf *w)
{
    double vl, err;
    size_t nc = w->ds.nclasses;
    validate(w, &vl, &err);
    printf("final: valid_loss %.6f, error_rate %.6f (%zu of %zu wrong)\n", vl,
           err, (size_t)lround(err * w->ds.nvalid), w->ds.nvalid);
    int64_t *cm = malloc(nc * nc * sizeof *cm);
    if (!cm)
        return;
    harness_interp_confusion(cm, nc, w->vy, w->vpred, w->ds.nvalid);
    char path[CLI_PATH_MAX + 32];
    out_path(w, path, sizeof path, "confusion.png");
    harness_plot_confusion(path, cm, nc,
                           (const char *const *)w->ds.classes);
    print_most_confused(w, cm);
    free(cm);
    top_losses(w);
}

// --- the workflow ------------------------------------------------------------

static int run_stage(wf *w, int stage)
{
    size_t epochs = w->o.epochs[stage - 1];
    double lr_max[NN_LAYER_GROUPS];
    if (stage == 1)
        sched_lr_expand(sched_lr_float(w->o.max_lr), NN_LAYER_GROUPS, lr_max);
    else
        sched_lr_expand(sched_lr_slice(w->o.max_lr2[0], w->o.max_lr2[1]),
                        NN_LAYER_GROUPS, lr_max);
    if (w->pos.phase == PHASE_LR_FIND) {
        if (w->o.lr_find_its) {
            printf("\n== stage %d: lr_find\n", stage);
            int rc = lr_find(w);
            if (rc == EXIT_INTERRUPTED) {
                save_ckpt(w, "last", true);
                printf("interrupted: %s/last.safetensors written; continue "
                       "with --resume\n", w->o.out);
            }
            if (rc)
                return rc;
        }
        w->pos.phase = PHASE_FIT;
        w->pos.iter = 0;
        sched_smooth_init(&w->pos.smooth, SCHED_SMOOTH_BETA);
    }
    if (epochs) {
        if (stage == 1)
            printf("\n== stage 1: fit_one_cycle(%zu, max_lr=%g)\n", epochs,
                   w->o.max_lr);
        else
            printf("\n== stage 2: fit_one_cycle(%zu, max_lr=slice(%g, %g))\n",
                   epochs, w->o.max_lr2[0], w->o.max_lr2[1]);
        int rc = fit_one_cycle(w, epochs, lr_max);
        if (rc)
            return rc;
    }
    return 0;
}

static int workflow(wf *w)
{
    if (w->pos.stage == 1 && w->pos.phase != PHASE_DONE) {
        int rc = run_stage(w, 1);
        if (rc)
            return rc;
        if (!save_ckpt(w, "stage-1", false))
            return 1;
        printf("saved %s/stage-1.safetensors\n", w->o.out);
        nn_unfreeze(&w->m);
        w->pos = (wf_pos){.stage = 2, .phase = PHASE_LR_FIND};
        sched_smooth_init(&w->pos.smooth, SCHED_SMOOTH_BETA);
        if (!save_ckpt(w, "last", true))
            return 1;
    }
    if (w->pos.stage == 2 && w->pos.phase != PHASE_DONE) {
        printf("\n== unfreeze: %zu trainable parameters\n",
               nn_trainable_count(&w->m));
        int rc = run_stage(w, 2);
        if (rc)
            return rc;
        w->pos.phase = PHASE_DONE;
        if (!save_ckpt(w, "last", true))
            return 1;
    }
    printf("\n== interpretation\n");
    interpret(w);
    if (!save_ckpt(w, "final", false))
        return 1;
    printf("saved %s/final.safetensors\n", w->o.out);
    return 0;
}

static void cleanup(wf *w)
{
    harness_history_close(&w->hist);
    data_loader_free(w->train);
    data_loader_free(w->valid);
    if (w->ds_open)
        harness_dataset_free(&w->ds);
    for (int i = 0; i < NN_ARENA_COUNT; i++)
        free(w->arena[i]);
    free(w->snap);
    free(w->vlogits);
    free(w->vloss);
    free(w->vy);
    free(w->vpred);
    if (w->pool)
        harness_pool_free(w->pool);
}

/* Everything before the first step: arguments, data, model, outputs. */
static int setup(wf *w, int argc, char **argv)
{
    harness_train_defaults(&w->o);
    cli_status cs = harness_train_parse(&w->o, argc, argv);
    if (cs == CLI_HELP) {
        harness_train_usage(stdout);
        return -1;
    }
    if (cs != CLI_OK)
        return 2;
    kern_isa isa;
    if (!harness_isa_init(&isa) ||
        !(w->pool = harness_pool_create(w->o.threads)) || !open_data(w) ||
        !build_model(w))
        return 1;
    if (w->o.plan) {
        print_plan(&w->plan);
        return -1;
    }
    if (!open_loaders(w) || !make_dirs(w->o.out) || !load_pretrained(w))
        return 1;
    w->pos = (wf_pos){.stage = 1, .phase = PHASE_LR_FIND};
    sched_smooth_init(&w->pos.smooth, SCHED_SMOOTH_BETA);
    if (w->o.resume && !load_resume(w))
        return 1;
    print_model(&w->m);
    print_summary(&w->m, w->o.bs);
    print_plan(&w->plan);
    char path[CLI_PATH_MAX + 32];
    out_path(w, path, sizeof path, "history.csv");
    if (!harness_history_open(&w->hist, path, w->o.resume))
        return 1;
    if (!w->o.resume)
        show_batch(w);
    return 0;
}

int harness_train_main(int argc, char **argv)
{
    wf *w = calloc(1, sizeof *w);
    if (!w)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    w->tty = isatty(fileno(stdout));
    g_stop = 0;
    const char *sa_env = getenv("RESIN_TRAIN_STOP_AFTER");
    g_stop_after = sa_env ? strtoul(sa_env, NULL, 10) : 0;
    g_steps_done = 0;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = setup(w, argc, argv);
    if (rc == 0)
        rc = workflow(w);
    else if (rc < 0)
        rc = 0;
    cleanup(w);
    free(w);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}
