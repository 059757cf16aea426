/*
 * harness/cli.h: the options of `harness/train`, their defaults (the seed
 * workflow's settings: fastai 1.0.42 lesson 1, pets) and the parser.
 *
 * Parsing never exits: harness_train_parse returns CLI_OK, CLI_HELP (print
 * harness_train_usage and exit 0) or CLI_ERR (one line on stderr naming the
 * flag and the reason).
 */
#ifndef RESIN_HARNESS_CLI_H
#define RESIN_HARNESS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_PATH_MAX 1024

typedef struct {
    char dataset[64];           /* positional: pets, fashion, ... */
    char images[CLI_PATH_MAX];  /* default data/<dataset>/images */
    char pat[256];              /* label = first capture group */
    char out[CLI_PATH_MAX];     /* default out/<dataset> */
    char pretrained[CLI_PATH_MAX];
    bool pretrained_given;      /* --pretrained FILE: missing is an error */
    size_t size, bs;
    double valid_pct;
    unsigned seed;              /* np.random.seed: the split only */
    unsigned long long run_seed;/* augmentation, shuffle, init, dropout */
    size_t epochs[2];           /* stage 1, stage 2 */
    double max_lr;              /* stage 1: a float, same for every group */
    double max_lr2[2];          /* stage 2: slice(a, b) */
    double div_factor, moms[2], pct_start, wd;
    size_t threads;             /* 0 = one per CPU */
    size_t steps;               /* 0 = all; else stop each fit after N */
    size_t lr_find_its;         /* lr_find num_it (100); 0 skips lr_find */
    bool resume, plan;
} train_opts;

typedef enum { CLI_OK = 0, CLI_HELP, CLI_ERR } cli_status;

void harness_train_defaults(train_opts *o);
cli_status harness_train_parse(train_opts *o, int argc, char **argv);
void harness_train_usage(FILE *f);

#endif /* RESIN_HARNESS_CLI_H */
