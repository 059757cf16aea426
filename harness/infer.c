/*
 * harness/infer.c: harness/predict (see workflow.h): a checkpoint written by
 * harness/train, images through the valid transforms (short side resized to
 * the checkpoint's image size, centre crop, imagenet normalisation), one
 * line per image with the three most likely classes and probabilities.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/ckpt.h"
#include "harness/dataset.h"
#include "harness/interp.h"
#include "harness/isa.h"
#include "harness/workflow.h"
#include "nn/model.h"

static size_t split_lines(char *s, char **out, size_t cap)
{
    size_t n = 0;
    for (char *p = s; p && n < cap;) {
        out[n++] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = 0;
    }
    return n;
}

static void print_top(const char *path, const float *prob, char **classes,
                      size_t nc)
{
    size_t idx[3];
    size_t k = harness_interp_top_losses(prob, nc, 3, idx);
    printf("%s:", path);
    for (size_t i = 0; i < k; i++)
        printf("%s %s %.4f", i ? "," : "", classes[idx[i]], prob[idx[i]]);
    printf("\n");
}

int harness_predict_main(int argc, char **argv)
{
    if (argc < 3 || !strcmp(argv[1], "--help")) {
        fprintf(argc < 3 ? stderr : stdout,
                "usage: harness/predict MODEL IMAGE...\n"
                "  MODEL: a checkpoint written by harness/train "
                "(out/<dataset>/final.safetensors)\n"
                "  prints, per image, the top 3 classes with probabilities\n");
        return argc < 3 ? 2 : 0;
    }
    kern_isa isa;
    ckpt_file *f = harness_ckpt_open(argv[1]);
    if (!f || !harness_isa_init(&isa))
        return 1;
    const char *cl = harness_ckpt_meta(f, "resin.class_names");
    const char *sz = harness_ckpt_meta(f, "resin.size");
    char *names = cl ? strdup(cl) : NULL, **classes = NULL;
    size_t nc = 0, size = sz ? strtoul(sz, NULL, 10) : 0;
    int rc = 1;
    nn_model *m = calloc(1, sizeof *m);
    void *arena[NN_ARENA_COUNT] = {0};
    float *x = NULL, *prob = NULL;
    if (!names || !size) {
        fprintf(stderr, "predict: %s: no class names or image size in the "
                "metadata (not written by harness/train?)\n", argv[1]);
        goto done;
    }
    classes = malloc((strlen(names) + 1) * sizeof *classes);
    nc = split_lines(names, classes, strlen(names) + 1);
    nn_plan_sizes plan = nn_plan(2, size, nc, 1);
    if (!plan.total || !m || !harness_arenas_alloc(&plan, arena, NULL)) {
        fprintf(stderr, "predict: %s: cannot set up a model of image size "
                "%zu and %zu classes\n", argv[1], size, nc);
        goto done;
    }
    ckpt_load_report r;
    if (!nn_model_init(m, 2, size, nc, 1, arena) ||
        !harness_ckpt_load(f, m, false, &r))
        goto done;
    if (r.missing) {
        fprintf(stderr, "predict: %s: %zu tensors missing: %s\n",
                argv[1], r.missing, r.text);
        goto done;
    }
    x = malloc(3 * size * size * sizeof *x);
    prob = malloc(nc * sizeof *prob);
    rc = x && prob ? 0 : 1;
    for (int i = 2; rc != 1 && i < argc; i++) {
        if (!harness_image_to_input(argv[i], (int)size, false, x, stderr)) {
            printf("%s: error: not a readable image\n", argv[i]);
            rc = 1;
            continue;
        }
        nn_forward_eval(m, x, NULL, 1, NULL, NULL, prob, NULL);
        print_top(argv[i], prob, classes, nc);
    }
done:
    harness_ckpt_close(f);
    for (int i = 0; i < NN_ARENA_COUNT; i++)
        free(arena[i]);
    free(m);
    free(x);
    free(prob);
    free(classes);
    free(names);
    return rc;
}
