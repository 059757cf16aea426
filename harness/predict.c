/*
 * harness/predict.c: `predict MODEL IMAGE...`; see harness/workflow.h.
 */
#include "harness/workflow.h"

int main(int argc, char **argv) { return harness_predict_main(argc, argv); }
