/*
 * tests/harness/test-cli.c: train's defaults are the seed workflow's, flags
 * parse (both "--f v" and "--f=v"), bad values are refused, --help lists
 * every flag with its default.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli.h"

static cli_status parse(train_opts *o, const char *args)
{
    static char buf[1024];
    char *argv[64];
    int argc = 0;
    strcpy(buf, args);
    argv[argc++] = "train";
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
        argv[argc++] = t;
    harness_train_defaults(o);
    return harness_train_parse(o, argc, argv);
}

Test(cli, defaults_are_the_seed_workflow)
{
    train_opts o;
    cr_assert_eq(parse(&o, "pets"), CLI_OK);
    cr_expect_str_eq(o.images, "data/pets/images");
    cr_expect_str_eq(o.out, "out/pets");
    cr_expect_str_eq(o.pat, "/([^/]+)_\\d+.jpg$");
    cr_expect_str_eq(o.pretrained, "models/resnet34.safetensors");
    cr_expect(o.size == 224 && o.bs == 64 && o.seed == 2);
    cr_expect(o.epochs[0] == 4 && o.epochs[1] == 2);
    cr_expect(o.max_lr == 3e-3 && o.max_lr2[0] == 1e-6 && o.max_lr2[1] == 1e-4);
    cr_expect(o.div_factor == 25 && o.pct_start == 0.3 && o.wd == 1e-2);
    cr_expect(o.moms[0] == 0.95 && o.moms[1] == 0.85 && o.valid_pct == 0.2);
    cr_expect(!o.resume && !o.plan && o.steps == 0 && !o.pretrained_given);
}

Test(cli, flags_parse)
{
    train_opts o;
    cr_assert_eq(parse(&o, "fashion --size=32 --bs 16 --epochs 1,0 "
                           "--max-lr2 1e-5:1e-3 --moms 0.9,0.8 --steps 3 "
                           "--resume --plan --pretrained x.st --out /tmp/o"),
                 CLI_OK);
    cr_expect_str_eq(o.images, "data/fashion/images");
    cr_expect_str_eq(o.out, "/tmp/o");
    cr_expect(o.size == 32 && o.bs == 16 && o.steps == 3);
    cr_expect(o.epochs[0] == 1 && o.epochs[1] == 0);
    cr_expect(o.max_lr2[0] == 1e-5 && o.max_lr2[1] == 1e-3);
    cr_expect(o.moms[0] == 0.9 && o.moms[1] == 0.8);
    cr_expect(o.resume && o.plan && o.pretrained_given);
}

Test(cli, bad_values_are_refused)
{
    train_opts o;
    const char *bad[] = {"--size 7", "--bs x", "--valid-pct 1.5",
                         "--epochs 4", "--epochs 0,0", "--max-lr -1",
                         "--max-lr2 1e-4:1e-6", "--moms 0.95", "--nope 1",
                         "--size", "a b", "--seed -3", "--epochs 1.5,2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_eq(parse(&o, bad[i]), CLI_ERR, "accepted '%s'", bad[i]);
    cr_expect_eq(parse(&o, "--help"), CLI_HELP);
}

Test(cli, help_lists_every_flag_with_default)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    harness_train_usage(f);
    fclose(f);
    const char *flags[] = {"--images", "--pat", "--size", "--bs",
                           "--valid-pct", "--seed", "--run-seed", "--epochs",
                           "--max-lr ", "--max-lr2", "--div-factor", "--moms",
                           "--pct-start", "--wd", "--threads", "--pretrained",
                           "--out", "--steps", "--lr-find-its", "--resume",
                           "--plan", "--help"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        cr_expect(strstr(buf, flags[i]), "--help lacks %s", flags[i]);
    const char *defs[] = {"[224]", "[64]", "[0.2]", "[2]", "[4,2]", "[3e-3]",
                          "[1e-6:1e-4]", "[25]", "[0.95,0.85]", "[0.3]",
                          "[1e-2]"};
    for (size_t i = 0; i < sizeof defs / sizeof *defs; i++)
        cr_expect(strstr(buf, defs[i]), "--help lacks default %s", defs[i]);
    free(buf);
}
