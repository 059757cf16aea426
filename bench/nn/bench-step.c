/*
 * bench/nn/bench-step.c: whole training steps of the ResNet-34 + fastai head
 * (build/bench/step).
 *
 *   step --batch B --size S --threads T [--frozen] [--steps N] [--classes C]
 *       all set-up first (plan, arenas, weights, random batch, pool, one
 *       warm-up step), then N timed steps; prints one key=value line with
 *       the median step time, img_s = B / median, peak_rss_mb (getrusage
 *       ru_maxrss of this process) and plan_mb (the plan's arenas).
 *   step ... --profile   also prints, per kind of operation (nn_op), its
 *       mean seconds per timed step and share, and per convolution layer
 *       its three passes in ms per step, through nn_model.trace.
 *   step --plan --batch B --size S --threads T   prints the plan's arenas.
 *   step --suite FILE.json   (make bench): 224x224, batch 16 and 32, 2
 *       threads, unfrozen and frozen, each in its own process (so each peak
 *       RSS is its own), plus PyTorch doing the same work
 *       (bench/nn/torch-step.py, run with /usr/bin/python3 when it has torch)
 *       in alternation, resin first and last (4 resin runs, 3 PyTorch
 *       runs), each side's median reported (the machine's speed drifts
 *       from minute to minute); 3 timed steps each; prints a table with
 *       the ratios and writes FILE.json.
 *
 * Peak RSS vs plan: RSS = the plan's arenas (each touched in full by the
 * step) + a fixed overhead (code, libc, thread stacks, the random batch:
 * B x 3 x S x S floats, counted in plan_mb here as "input").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/isa.h"
#include "harness/pool.h"
#include "kernels/dispatch.h"
#include "nn/model.h"

typedef struct opts {
    size_t batch, size, threads, steps, classes;
    bool frozen, profile;
} opts;

typedef struct result {
    double median_s, img_s, rss_mb, plan_mb;
    bool ok;
} result;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

// --- profile ----------------------------------------------------------------------

static const char *const op_names[NN_OP_COUNT] = {
    [NN_OP_NONE] = "other", [NN_OP_CONV_FWD] = "conv_fwd",
    [NN_OP_CONV_BWD_DATA] = "conv_bwd_data",
    [NN_OP_CONV_BWD_WEIGHTS] = "conv_bwd_weights", [NN_OP_BN] = "bn",
    [NN_OP_ELTWISE] = "eltwise", [NN_OP_HEAD] = "head",
    [NN_OP_OPTIM] = "optim",
};

enum { PROF_LAYERS = 48 };

/* Seconds per kind, and per convolution layer and pass (in the order the
 * forward first reaches them). */
typedef struct profile {
    double sec[NN_OP_COUNT];
    double t0;
    nn_op cur;
    int cur_layer;                 /* index into layer[], -1: none */
    const char *layer[PROF_LAYERS];
    double conv_sec[PROF_LAYERS][3];
    int nlayers;
} profile;

static int profile_layer(profile *p, nn_op op, const char *name)
{
    if (!name || op < NN_OP_CONV_FWD || op > NN_OP_CONV_BWD_WEIGHTS)
        return -1;
    for (int i = 0; i < p->nlayers; i++)
        if (!strcmp(p->layer[i], name))
            return i;
    if (p->nlayers == PROF_LAYERS)
        return -1;
    p->layer[p->nlayers] = name;
    return p->nlayers++;
}

static void profile_mark(void *ctx, nn_op op, const char *layer)
{
    profile *p = ctx;
    double t = now();
    p->sec[p->cur] += t - p->t0;
    if (p->cur_layer >= 0)
        p->conv_sec[p->cur_layer][p->cur - NN_OP_CONV_FWD] += t - p->t0;
    p->t0 = t;
    p->cur = op;
    p->cur_layer = profile_layer(p, op, layer);
}

static void profile_print(const profile *p, size_t steps)
{
    double total = 0.0;
    for (int i = 0; i < NN_OP_COUNT; i++)
        total += p->sec[i];
    printf("profile (mean s per step, share):");
    for (int i = 1; i < NN_OP_COUNT; i++)
        printf(" %s=%.3f/%.1f%%", op_names[i], p->sec[i] / (double)steps,
               100.0 * p->sec[i] / total);
    printf("\nper convolution, mean ms per step:\n%-22s %9s %9s %9s\n",
           "layer", "fwd", "bwd_data", "bwd_w");
    for (int i = 0; i < p->nlayers; i++) {
        int len = (int)(strlen(p->layer[i]) - strlen(".weight"));
        printf("%-22.*s", len, p->layer[i]);
        for (int k = 0; k < 3; k++)
            printf(" %9.2f", 1e3 * p->conv_sec[i][k] / (double)steps);
        printf("\n");
    }
}

// --- one configuration in this process ------------------------------------------

static int run(const opts *o)
{
    if (!harness_isa_init(NULL)) // RESIN_ISA, as harness/train
        return 2;
    nn_plan_sizes plan = nn_plan(o->batch, o->size, o->classes, o->threads);
    if (!plan.total) {
        fprintf(stderr, "step: invalid batch/size/classes\n");
        return 2;
    }
    void *arenas[NN_ARENA_COUNT];
    for (int i = 0; i < NN_ARENA_COUNT; i++) {
        arenas[i] = aligned_alloc(KERN_ALIGN, plan.bytes[i]);
        if (!arenas[i]) {
            fprintf(stderr, "step: cannot allocate %zu bytes\n", plan.bytes[i]);
            return 1;
        }
    }
    static nn_model m;
    if (!nn_model_init(&m, o->batch, o->size, o->classes, o->threads, arenas))
        return 1;
    nn_model_init_weights(&m, 1);
    if (!o->frozen)
        nn_unfreeze(&m);
    size_t nimg = o->batch * 3 * o->size * o->size;
    float *x = aligned_alloc(KERN_ALIGN, kern_align_up(nimg * sizeof(float)));
    int32_t *labels = malloc(o->batch * sizeof *labels);
    kern_pool *pool = harness_pool_create(o->threads);
    if (!x || !labels || !pool)
        return 1;
    uint64_t s = 12345;
    for (size_t i = 0; i < nimg; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(s >> 40) / 16777216.0 * 4.0 - 2.0);
    }
    for (size_t i = 0; i < o->batch; i++)
        labels[i] = (int32_t)(i * 7 % o->classes);
    nn_hparams hp = {{1e-4f, 1e-4f, 1e-3f}, 0.9f, 1e-2f};

    double *t = calloc(o->steps, sizeof *t);
    float loss = nn_train_step(&m, x, labels, o->batch, 0, &hp, pool);
    static profile prof;
    if (o->profile) {
        m.trace = profile_mark;
        m.trace_ctx = &prof;
    }
    for (size_t i = 0; i < o->steps; i++) {
        double t0 = now();
        prof.t0 = t0;
        prof.cur = NN_OP_NONE;
        prof.cur_layer = -1;
        loss = nn_train_step(&m, x, labels, o->batch, i + 1, &hp, pool);
        t[i] = now() - t0;
    }
    qsort(t, o->steps, sizeof *t, cmp_double);
    double med = t[o->steps / 2];
    double plan_mb = (double)(plan.total + nimg * sizeof(float)) / 1048576.0;
    printf("resin batch=%zu size=%zu threads=%zu frozen=%d steps=%zu "
           "median_s=%.3f img_s=%.3f peak_rss_mb=%.1f plan_mb=%.1f "
           "isa=%s loss=%.4f\n",
           o->batch, o->size, o->threads, (int)o->frozen, o->steps, med,
           (double)o->batch / med, peak_rss_mb(), plan_mb,
           kern_isa_name(kern_isa_active()), loss);
    if (o->profile)
        profile_print(&prof, o->steps);
    fflush(stdout);
    harness_pool_free(pool);
    free(t);
    free(labels);
    free(x);
    for (int i = 0; i < NN_ARENA_COUNT; i++)
        free(arenas[i]);
    return 0;
}

// --- the suite -----------------------------------------------------------------

static double field(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    return p ? strtod(p + strlen(key), NULL) : 0.0;
}

/* Runs a command, returns the last line that starts with prefix. */
static result run_child(const char *cmd, const char *prefix)
{
    result r = {0};
    FILE *p = popen(cmd, "r");
    if (!p)
        return r;
    char line[512], last[512] = "";
    while (fgets(line, sizeof line, p)) {
        fputs(line, stderr);
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            snprintf(last, sizeof last, "%s", line);
    }
    int status = pclose(p);
    if (status != 0 || !last[0])
        return r;
    r.median_s = field(last, "median_s=");
    r.img_s = field(last, "img_s=");
    r.rss_mb = field(last, "peak_rss_mb=");
    r.plan_mb = field(last, "plan_mb=");
    r.ok = r.img_s > 0;
    return r;
}

/* The median (by img_s) of n runs of one configuration, the mean of the
 * middle two for even n; peak RSS: the largest. Failed runs are skipped. */
static result median_result(const result *runs, size_t n)
{
    result ok[8], r = {0};
    size_t k = 0;
    for (size_t i = 0; i < n && k < 8; i++)
        if (runs[i].ok)
            ok[k++] = runs[i];
    if (k == 0)
        return r;
    for (size_t i = 1; i < k; i++) // insertion sort by img_s
        for (size_t j = i; j > 0 && ok[j].img_s < ok[j - 1].img_s; j--) {
            result t = ok[j];
            ok[j] = ok[j - 1], ok[j - 1] = t;
        }
    r = ok[k / 2];
    if (k % 2 == 0) {
        r.img_s = 0.5 * (ok[k / 2 - 1].img_s + ok[k / 2].img_s);
        r.median_s = 0.5 * (ok[k / 2 - 1].median_s + ok[k / 2].median_s);
    }
    for (size_t i = 0; i < k; i++)
        r.rss_mb = ok[i].rss_mb > r.rss_mb ? ok[i].rss_mb : r.rss_mb;
    return r;
}

static bool have_torch(void)
{
    return access("/usr/bin/python3", X_OK) == 0 &&
           system("/usr/bin/python3 -c 'import torch, torchvision' "
                  ">/dev/null 2>&1") == 0;
}

/* PyTorch runs per configuration in the suite: 3, so that one slow run
 * (they differ by up to 40% here) is not half of the median. */
#define ROUNDS 3

static int suite(const char *self, const char *json)
{
    static const size_t batches[2] = {16, 32};
    const size_t steps = 3, threads = 2, size = 224;
    bool torch = have_torch();
    FILE *f = fopen(json, "w");
    if (!f) {
        fprintf(stderr, "step: cannot write %s: %s\n", json, strerror(errno));
        return 1;
    }
    fprintf(f, "{\"bench\": \"step\", \"size\": %zu, \"threads\": %zu, "
               "\"steps\": %zu, \"rows\": [", size, threads, steps);
    printf("%-6s %-7s %10s %10s %8s %10s %10s %9s %9s\n", "batch", "mode",
           "resin_img/s", "torch_img/s", "ratio", "resin_rss", "torch_rss",
           "plan_mb", "rss/plan");
    result unfrozen[2] = {{0}};
    int rows = 0;
    for (int b = 0; b < 2; b++) {
        for (int frozen = 0; frozen <= 1; frozen++) {
            char cmd[8192];
            snprintf(cmd, sizeof cmd,
                     "%s --batch %zu --size %zu --threads %zu --steps %zu%s",
                     self, batches[b], size, threads, steps,
                     frozen ? " --frozen" : "");
            /* resin and PyTorch alternately, resin first and last
             * (ROUNDS of PyTorch, ROUNDS + 1 of resin), each side's median:
             * the machine's speed drifts 10-20% from minute to minute, and
             * a single PyTorch run moved the ratio by as much. */
            result rs[ROUNDS + 1], ts[ROUNDS];
            size_t nr = 0, nt = 0;
            rs[nr++] = run_child(cmd, "resin ");
            if (torch) {
                char tcmd[8192];
                snprintf(tcmd, sizeof tcmd,
                         "/usr/bin/python3 bench/nn/torch-step.py --batch %zu "
                         "--size %zu --threads %zu --steps %zu%s",
                         batches[b], size, threads, steps,
                         frozen ? " --frozen" : "");
                for (size_t i = 0; i < ROUNDS; i++) {
                    ts[nt++] = run_child(tcmd, "torch ");
                    rs[nr++] = run_child(cmd, "resin ");
                }
            }
            result r = median_result(rs, nr), t = median_result(ts, nt);
            if (!frozen)
                unfrozen[b] = r;
            printf("%-6zu %-7s %10.3f %10.3f %8.2f %10.1f %10.1f %9.1f %9.3f\n",
                   batches[b], frozen ? "frozen" : "full", r.img_s, t.img_s,
                   t.ok ? r.img_s / t.img_s : 0.0, r.rss_mb, t.rss_mb,
                   r.plan_mb, r.plan_mb > 0 ? r.rss_mb / r.plan_mb : 0.0);
            fprintf(f, "%s\n  {\"batch\": %zu, \"frozen\": %d, "
                       "\"img_s\": %.4f, \"median_s\": %.4f, "
                       "\"peak_rss_mb\": %.1f, \"plan_mb\": %.1f, "
                       "\"torch_img_s\": %.4f, \"torch_peak_rss_mb\": %.1f, "
                       "\"ratio\": %.4f, \"frozen_speedup\": %.4f}",
                    rows++ ? "," : "", batches[b], frozen, r.img_s, r.median_s,
                    r.rss_mb, r.plan_mb, t.img_s, t.rss_mb,
                    t.ok ? r.img_s / t.img_s : 0.0,
                    frozen && unfrozen[b].ok ? r.img_s / unfrozen[b].img_s
                                             : 0.0);
            fflush(stdout);
        }
    }
    fprintf(f, "\n]}\n");
    fclose(f);
    if (!torch)
        printf("(PyTorch anchor skipped: /usr/bin/python3 has no torch)\n");
    return 0;
}

// --- arguments -----------------------------------------------------------------

/* The plan's arenas in MiB, for README and train --plan. */
static int usage(void);

static int print_plan(const opts *o)
{
    static const char *const names[NN_ARENA_COUNT] = {
        "params", "grads", "moments", "acts", "scratch"};
    nn_plan_sizes p = nn_plan(o->batch, o->size, o->classes, o->threads);
    if (!p.total)
        return usage();
    printf("plan batch=%zu size=%zu classes=%zu threads=%zu", o->batch,
           o->size, o->classes, o->threads);
    for (int i = 0; i < NN_ARENA_COUNT; i++)
        printf(" %s_mib=%.1f", names[i], (double)p.bytes[i] / 1048576.0);
    printf(" total_mib=%.1f total_bytes=%zu\n", (double)p.total / 1048576.0,
           p.total);
    return 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: step --batch B --size S --threads T [--frozen] [--steps N]"
            " [--classes C]\n"
            "       step --plan --batch B --size S --threads T\n"
            "       step --suite FILE.json\n");
    return 2;
}

int main(int argc, char **argv)
{
    opts o = {16, 224, 2, 3, 37, false};
    const char *json = NULL;
    bool plan = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--frozen") || !strcmp(a, "--plan")) {
            *(a[2] == 'f' ? &o.frozen : &plan) = true;
            continue;
        }
        if (!strcmp(a, "--profile")) {
            o.profile = true;
            continue;
        }
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--suite"))
            json = v;
        else if (!strcmp(a, "--batch"))
            o.batch = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--size"))
            o.size = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--threads"))
            o.threads = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--steps"))
            o.steps = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--classes"))
            o.classes = strtoul(v, NULL, 10);
        else
            return usage();
    }
    if (json) {
        char self[4096];
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        if (len <= 0) {
            fprintf(stderr, "step: cannot resolve /proc/self/exe\n");
            return 1;
        }
        self[len] = 0;
        return suite(self, json);
    }
    if (!o.batch || !o.threads || !o.steps)
        return usage();
    return plan ? print_plan(&o) : run(&o);
}
