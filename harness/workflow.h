/*
 * harness/workflow.h: the bodies of the programs harness/train and
 * harness/predict, kept in the library so tests can run them in-process.
 *
 * harness_train_main: fastai v1 lesson 1 on a folder of JPEGs labelled by
 * file name (see README "Training"): data summary, model summary and memory
 * plan, show_batch, lr_find, fit_one_cycle, plot_lr, save stage-1,
 * unfreeze, lr_find, fit_one_cycle(slice), interpretation, save final.
 * Exit codes: 0 done (or --help, --plan), 1 error (one line says why),
 * 2 bad arguments, 130 interrupted (a resume checkpoint was written).
 *
 * harness_predict_main: `predict MODEL IMAGE...`, one line per image with
 * the top classes and their probabilities, valid transforms (centre crop),
 * class names and image size from the checkpoint's metadata.
 */
#ifndef RESIN_HARNESS_WORKFLOW_H
#define RESIN_HARNESS_WORKFLOW_H

#include <stddef.h>

#include "nn/model.h"

int harness_train_main(int argc, char **argv);
int harness_predict_main(int argc, char **argv);

/* The arenas of a plan, each KERN_ALIGN-aligned and zeroed; on failure
 * the rest are NULL and the index of the one that failed goes to *failed
 * (may be NULL). Free each with free(). */
bool harness_arenas_alloc(const nn_plan_sizes *plan,
                          void *arena[NN_ARENA_COUNT], int *failed);

#endif /* RESIN_HARNESS_WORKFLOW_H */
