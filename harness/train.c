/*
 * harness/train.c: the train program; the workflow lives in
 * harness/workflow.c so tests can run it in-process.
 */
#include "harness/workflow.h"

int main(int argc, char **argv) { return harness_train_main(argc, argv); }
