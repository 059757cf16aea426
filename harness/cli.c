/*
 * harness/cli.c: options of harness/train (see cli.h).
 */
#include "harness/cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void harness_train_defaults(train_opts *o)
{
    *o = (train_opts){
        .dataset = "pets",
        .pat = "/([^/]+)_\\d+.jpg$",
        .pretrained = "models/resnet34.safetensors",
        .size = 224, .bs = 64, .valid_pct = 0.2, .seed = 2, .run_seed = 0,
        .epochs = {4, 2}, .max_lr = 3e-3, .max_lr2 = {1e-6, 1e-4},
        .div_factor = 25, .moms = {0.95, 0.85}, .pct_start = 0.3,
        .wd = 1e-2, .threads = 0, .steps = 0, .lr_find_its = 100,
    };
}

void harness_train_usage(FILE *f)
{
    fprintf(f,
"usage: harness/train [DATASET] [flags]\n"
"\n"
"Runs the fastai v1 lesson-1 workflow on DATASET (default pets):\n"
"lr_find, fit_one_cycle(4, 3e-3), save stage-1, unfreeze, lr_find,\n"
"fit_one_cycle(2, slice(1e-6, 1e-4)), interpretation, save final.\n"
"\n"
"  --images DIR       images, labelled by file name  [data/DATASET/images]\n"
"  --pat REGEX        label = first capture group  [/([^/]+)_\\d+.jpg$]\n"
"  --size N           image side  [224]\n"
"  --bs N             batch size  [64]\n"
"  --valid-pct F      validation fraction  [0.2]\n"
"  --seed N           split seed, as np.random.seed  [2]\n"
"  --run-seed N       augmentation, shuffle, init, dropout  [0]\n"
"  --epochs A,B       epochs of stage 1 and stage 2  [4,2]\n"
"  --max-lr F         stage-1 max lr, every group  [3e-3]\n"
"  --max-lr2 A:B      stage-2 lrs, slice(A, B)  [1e-6:1e-4]\n"
"  --div-factor F     one-cycle start lr = max / F  [25]\n"
"  --moms A,B         one-cycle momentum high,low  [0.95,0.85]\n"
"  --pct-start F      one-cycle warm-up fraction  [0.3]\n"
"  --wd F             decoupled weight decay  [1e-2]\n"
"  --threads N        threads, 0 = one per CPU  [0]\n"
"  --pretrained FILE  ImageNet ResNet-34 (safetensors)\n"
"                     [models/resnet34.safetensors; `make weights`]\n"
"  --out DIR          outputs  [out/DATASET]\n"
"  --steps N          end each fit (and lr_find) after N batches  [0 = all]\n"
"  --lr-find-its N    lr_find iterations (fastai num_it), 0 = skip  [100]\n"
"  --resume           continue from the last checkpoint in --out\n"
"  --plan             print the memory plan and exit\n"
"  --help             this text\n");
}

static cli_status bad(const char *flag, const char *val, const char *why)
{
    fprintf(stderr, "train: %s %s: %s (see --help)\n", flag, val ? val : "",
            why);
    return CLI_ERR;
}

static bool to_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == 0 && errno == 0 && isfinite(*v);
}

static bool to_size(const char *s, size_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    *v = (size_t)x;
    return end != s && *end == 0 && errno == 0 && s[0] != '-';
}

/* "a<sep>b" into two doubles */
static bool to_pair(const char *s, char sep, double v[2])
{
    char buf[128];
    const char *m = strchr(s, sep);
    if (!m || strlen(s) >= sizeof buf)
        return false;
    memcpy(buf, s, (size_t)(m - s));
    buf[m - s] = 0;
    return to_double(buf, &v[0]) && to_double(m + 1, &v[1]);
}

static bool copy(char *dst, size_t cap, const char *src)
{
    if (strlen(src) >= cap)
        return false;
    strcpy(dst, src);
    return true;
}

/* Flags with a value; returns CLI_OK, CLI_ERR, or CLI_HELP for "unknown". */
static cli_status parse_value(train_opts *o, const char *f, const char *v)
{
    double d, p[2];
    size_t n;
    if (!strcmp(f, "--images"))
        return copy(o->images, sizeof o->images, v) ? CLI_OK
                                                    : bad(f, v, "too long");
    if (!strcmp(f, "--pat"))
        return copy(o->pat, sizeof o->pat, v) ? CLI_OK : bad(f, v, "too long");
    if (!strcmp(f, "--out"))
        return copy(o->out, sizeof o->out, v) ? CLI_OK : bad(f, v, "too long");
    if (!strcmp(f, "--pretrained")) {
        o->pretrained_given = true;
        return copy(o->pretrained, sizeof o->pretrained, v)
                   ? CLI_OK : bad(f, v, "too long");
    }
    if (!strcmp(f, "--size"))
        return to_size(v, &o->size) && o->size >= 32 && o->size <= 1024
                   ? CLI_OK : bad(f, v, "needs an integer in 32..1024");
    if (!strcmp(f, "--bs"))
        return to_size(v, &o->bs) && o->bs >= 2 && o->bs <= 4096
                   ? CLI_OK : bad(f, v, "needs an integer in 2..4096");
    if (!strcmp(f, "--valid-pct"))
        return to_double(v, &o->valid_pct) && o->valid_pct > 0 &&
                       o->valid_pct < 1
                   ? CLI_OK : bad(f, v, "needs a fraction in (0, 1)");
    if (!strcmp(f, "--seed"))
        return to_size(v, &n) && n <= 0xffffffffu
                   ? (o->seed = (unsigned)n, CLI_OK)
                   : bad(f, v, "needs an integer in 0..2^32-1");
    if (!strcmp(f, "--run-seed"))
        return to_size(v, &n) ? (o->run_seed = n, CLI_OK)
                              : bad(f, v, "needs an integer >= 0");
    if (!strcmp(f, "--epochs"))
        return to_pair(v, ',', p) && p[0] >= 0 && p[1] >= 0 &&
                       p[0] == floor(p[0]) && p[1] == floor(p[1]) &&
                       p[0] + p[1] >= 1
                   ? (o->epochs[0] = (size_t)p[0], o->epochs[1] = (size_t)p[1],
                      CLI_OK)
                   : bad(f, v, "needs A,B: two whole numbers, not both 0");
    if (!strcmp(f, "--max-lr"))
        return to_double(v, &o->max_lr) && o->max_lr > 0
                   ? CLI_OK : bad(f, v, "needs a positive number");
    if (!strcmp(f, "--max-lr2"))
        return to_pair(v, ':', o->max_lr2) && o->max_lr2[0] > 0 &&
                       o->max_lr2[1] >= o->max_lr2[0]
                   ? CLI_OK : bad(f, v, "needs A:B with 0 < A <= B");
    if (!strcmp(f, "--div-factor"))
        return to_double(v, &o->div_factor) && o->div_factor > 0
                   ? CLI_OK : bad(f, v, "needs a positive number");
    if (!strcmp(f, "--moms"))
        return to_pair(v, ',', o->moms) && o->moms[0] >= 0 &&
                       o->moms[0] < 1 && o->moms[1] >= 0 && o->moms[1] < 1
                   ? CLI_OK : bad(f, v, "needs A,B in [0, 1)");
    if (!strcmp(f, "--pct-start"))
        return to_double(v, &o->pct_start) && o->pct_start >= 0 &&
                       o->pct_start <= 1
                   ? CLI_OK : bad(f, v, "needs a fraction in [0, 1]");
    if (!strcmp(f, "--wd"))
        return to_double(v, &o->wd) && o->wd >= 0
                   ? CLI_OK : bad(f, v, "needs a number >= 0");
    if (!strcmp(f, "--threads"))
        return to_size(v, &o->threads) && o->threads <= 256
                   ? CLI_OK : bad(f, v, "needs an integer in 0..256");
    if (!strcmp(f, "--steps"))
        return to_size(v, &o->steps) ? CLI_OK
                                     : bad(f, v, "needs an integer >= 0");
    if (!strcmp(f, "--lr-find-its"))
        return to_size(v, &o->lr_find_its) && o->lr_find_its <= 100000
                   ? CLI_OK : bad(f, v, "needs an integer in 0..100000");
    (void)d;
    return CLI_HELP;
}

cli_status harness_train_parse(train_opts *o, int argc, char **argv)
{
    bool positional = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return CLI_HELP;
        if (!strcmp(a, "--resume")) {
            o->resume = true;
            continue;
        }
        if (!strcmp(a, "--plan")) {
            o->plan = true;
            continue;
        }
        if (a[0] != '-') {
            if (positional)
                return bad(a, NULL, "only one DATASET may be given");
            if (!copy(o->dataset, sizeof o->dataset, a) || strchr(a, '/'))
                return bad(a, NULL, "DATASET is a name (use --images DIR)");
            positional = true;
            continue;
        }
        const char *eq = strchr(a, '='), *v;
        char flag[64];
        if (eq) { /* --flag=value */
            size_t len = (size_t)(eq - a);
            if (len >= sizeof flag)
                return bad(a, NULL, "unknown flag");
            memcpy(flag, a, len);
            flag[len] = 0;
            v = eq + 1;
        } else {
            if (!copy(flag, sizeof flag, a))
                return bad(a, NULL, "unknown flag");
            if (i + 1 >= argc)
                return bad(a, NULL, "needs a value");
            v = argv[++i];
        }
        cli_status st = parse_value(o, flag, v);
        if (st == CLI_HELP)
            return bad(flag, NULL, "unknown flag");
        if (st != CLI_OK)
            return st;
    }
    if (!o->images[0])
        snprintf(o->images, sizeof o->images, "data/%s/images", o->dataset);
    if (!o->out[0])
        snprintf(o->out, sizeof o->out, "out/%s", o->dataset);
    return CLI_OK;
}
