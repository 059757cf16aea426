/*
 * nn/model.h: the ResNet-34 body + fastai head, planned, carved and trained.
 *
 * What is modelled (fastai 1.0.42, early 2019; see
 * shared reference fastai-v1-semantics.md sections 3, 4, 7, 9):
 *   body  = torchvision resnet34 without avgpool/fc: conv1 7x7/2 (3->64), bn1,
 *           ReLU, maxpool 3x3/2 pad 1, layer1..4 of BasicBlocks [3,4,6,3],
 *           widths 64..512, strides 1,2,2,2, 1x1/2 conv+BN downsample in
 *           block 0 of layers 2-4. No conv biases.
 *   head  = create_head(1024, C, ps=0.5): concat pool (max first, then avg)
 *           -> (N,1024) -> BatchNorm1d(1024) -> Dropout(0.25) -> Linear
 *           1024->512 -> ReLU -> BatchNorm1d(512) -> Dropout(0.5) ->
 *           Linear 512->C (logits; no softmax in the model).
 *   BN    = eps 1e-5, momentum 0.1, running var from the unbiased batch
 *           variance, normalisation with the biased one.
 *   loss  = mean softmax cross-entropy (CrossEntropyFlat).
 *   optim = fastai's OptimWrapper with true_wd: p <- p * (1 - lr_g * wd) on
 *           every trainable parameter (bn_wd=True: BN and biases too), then
 *           PyTorch 1.0 Adam: betas (mom, 0.99), eps 1e-8 added to sqrt(v)
 *           (not to the bias-corrected sqrt(v / (1 - beta2^t)), which is
 *           what torch >= 1.5 does), step size lr * sqrt(1-beta2^t)/(1-beta1^t)
 *           with beta1 the current scheduled momentum.
 *
 * Layer groups (fastai _resnet_split): 0 = stem + layer1 + layer2,
 * 1 = layer3 + layer4, 2 = head. Optimizer parameter groups: each layer group
 * split into [non-BN, BN] -> 6 groups, NN_PG_* below. In 1.0.42 the BN group
 * holds BN weights/biases only (Linear biases are non-BN); with bn_wd=True
 * this only matters for freezing.
 *
 * freeze: non-BN parameters of layer groups 0-1 stop training (no backward
 * weights work for those convolutions); body BN weights/biases still train and
 * all BN running statistics still update (train_bn=True, no BnFreeze). The
 * backward pass still runs backward-data through the whole body, because the
 * body BN parameters need their gradients; only the gradient into the image
 * is never computed. unfreeze: everything trains. Both build a fresh
 * optimizer: Adam moments and step counts reset to zero.
 *
 * Names: body tensors use torchvision's resnet34 state-dict names
 * (conv1.weight, bn1.weight, layer2.0.downsample.0.weight, ...). The head uses
 *   head.bn1.*  = fastai 1.2.*  (BatchNorm1d(1024))
 *   head.fc1.*  = fastai 1.4.*  (Linear 1024->512)
 *   head.bn2.*  = fastai 1.6.*  (BatchNorm1d(512))
 *   head.fc2.*  = fastai 1.8.*  (Linear 512->C)
 * (fastai's own body names are "0." + index: conv1 = 0.0, bn1 = 0.1,
 * layer1..4 = 0.4..0.7.)
 *
 * Memory (plan, then carve): nn_plan() adds up the five arenas for a batch,
 * image size and class count; the caller allocates each once (64-byte
 * aligned) and passes them to nn_model_init, which carves named pointers.
 * Nothing allocates afterwards. Layouts: parameters in the arena are
 * PyTorch's (OIHW conv weights, (out, in) Linear weights); activations are
 * NCHW8c (kernels/README.md); the input batch is NCHW with 3 channels; head
 * tensors are (N, C) row-major.
 */
#ifndef RESIN_NN_MODEL_H
#define RESIN_NN_MODEL_H

#include "kernels/kern.h"

#define NN_NAME_MAX 48
#define NN_BLOCKS 16
#define NN_CONVS 36
#define NN_BNS 38       /* 36 in the body, 2 in the head */
#define NN_PARAMS 116   /* 36 conv weights, 38 x 2 BN, 2 x 2 Linear */
#define NN_SUMMARY_MAX 120
#define NN_HEAD_FEATURES 1024
#define NN_HEAD_HIDDEN 512

/* Optimizer parameter groups, in the order fastai builds them. */
enum {
    NN_PG_G0 = 0, NN_PG_G0_BN, NN_PG_G1, NN_PG_G1_BN, NN_PG_G2, NN_PG_G2_BN,
    NN_PG_COUNT
};
#define NN_LAYER_GROUPS 3

/* The five arenas, each allocated once by the caller. */
enum {
    NN_ARENA_PARAMS = 0, /* parameters, then BN running statistics */
    NN_ARENA_GRADS,      /* one gradient per parameter, same offsets */
    NN_ARENA_MOMENTS,    /* Adam first moments, then second moments */
    NN_ARENA_ACTS,       /* saved activations + per-step work tensors */
    NN_ARENA_SCRATCH,    /* shared kernel workspace, largest single need */
    NN_ARENA_COUNT
};

typedef struct nn_plan_sizes {
    size_t bytes[NN_ARENA_COUNT]; /* exact sizes, multiples of 64 */
    size_t total;
    size_t param_count;           /* trainable-when-unfrozen values */
    size_t stat_count;            /* BN running mean + var values */
} nn_plan_sizes;

/* One parameter tensor. offset is in floats from the arena start; the same
 * offset addresses its gradient and its two Adam moments. */
typedef struct nn_param {
    char name[NN_NAME_MAX];
    size_t shape[4];
    int ndim;
    size_t offset, numel;
    int pgroup;                   /* NN_PG_* */
} nn_param;

/* One BN running-statistic tensor (running_mean / running_var), stored in
 * the parameter arena after all parameters. */
typedef struct nn_stat {
    char name[NN_NAME_MAX];
    size_t offset, numel;
} nn_stat;

typedef struct nn_conv {
    size_t ic, oc, k, stride, pad;
    size_t ih, iw, oh, ow;        /* at the planned image size */
    size_t weight;                /* index into nn_model.params */
} nn_conv;

typedef struct nn_bn {
    size_t c;
    size_t weight, bias;          /* indices into nn_model.params */
    size_t rmean, rvar;           /* indices into nn_model.stats */
    float *mean, *rstd;           /* (C) batch statistics saved by forward */
} nn_bn;

typedef struct nn_block {
    nn_conv conv1, conv2, down;
    nn_bn bn1, bn2, bnd;
    bool has_down;
    /* saved by the training forward, NCHW8c */
    float *a1;                    /* (N, OC, OH, OW) conv1 output */
    float *a2;                    /* (N, OC, OH, OW) conv2 output */
    float *ad;                    /* (N, OC, OH, OW) downsample conv output */
    float *out;                   /* (N, OC, OH, OW) block output (post-ReLU) */
} nn_block;

/* One row of the model summary (print(learn.model) as data). */
typedef struct nn_summary_row {
    char name[NN_NAME_MAX];       /* module path, e.g. layer2.0.downsample.0 */
    char type[24];                /* Conv2d, BatchNorm2d, ReLU, ... */
    size_t shape[4];              /* output shape, batch first */
    int ndim;
    size_t params;
    bool trainable;               /* under the current freeze state */
    int layer_group;
} nn_summary_row;

typedef struct nn_summary {
    nn_summary_row rows[NN_SUMMARY_MAX];
    size_t nrows;
    size_t total_params, trainable_params;
} nn_summary;

/* Hyper-parameters of one optimizer step. */
typedef struct nn_hparams {
    float lr[NN_LAYER_GROUPS];    /* per layer group (slice expanded) */
    float mom;                    /* beta1 of this step (one-cycle moms) */
    float wd;                     /* fastai default 1e-2 */
} nn_hparams;

/* What a step is doing, for profiling (nn_model.trace). */
typedef enum nn_op {
    NN_OP_NONE,             /* the step has ended */
    NN_OP_CONV_FWD,         /* convolution forward (weight packing included) */
    NN_OP_CONV_BWD_DATA,    /* convolution backward-data (packing included) */
    NN_OP_CONV_BWD_WEIGHTS, /* convolution backward-weights */
    NN_OP_BN,               /* batch-norm forward, recompute, backward */
    NN_OP_ELTWISE,          /* ReLU, add, max-pool, gradient clearing */
    NN_OP_HEAD,             /* concat pool, head BN, dropout, linear, loss */
    NN_OP_OPTIM,            /* weight decay and Adam */
    NN_OP_COUNT
} nn_op;

/* Called at the start of every operation of a step with its kind, and with
 * NN_OP_NONE when the step ends: the time between two calls belongs to the
 * first one's kind. layer names the operation's weight tensor for the
 * convolution and batch-norm kinds ("layer2.0.conv1.weight",
 * "bn1.weight", ...), NULL for the others. */
typedef void (*nn_trace_fn)(void *ctx, nn_op op, const char *layer);

typedef struct nn_model {
    size_t batch, size, classes;
    size_t threads;               /* most pool threads the scratch allows */
    float dropout[2];             /* 0.25, 0.5; tests may set 0 */

    nn_conv stem;
    nn_bn stem_bn;
    nn_block blocks[NN_BLOCKS];
    nn_bn head_bn1, head_bn2;
    size_t fc1_w, fc1_b, fc2_w, fc2_b; /* indices into params */

    nn_param params[NN_PARAMS];
    size_t nparams;
    nn_stat stats[2 * NN_BNS];
    size_t nstats;
    size_t pg_begin[NN_PG_COUNT + 1]; /* float ranges of the 6 groups */
    size_t param_floats;          /* end of the parameter region (padded) */

    /* arenas */
    float *param;                 /* parameters, then running stats */
    float *grad;                  /* same offsets as param */
    float *m, *v;                 /* Adam moments, same offsets */
    void *scratch;
    size_t scratch_bytes;

    /* saved activations of the training forward */
    float *c1;                    /* (N, 64, H/2, W/2) stem conv output */
    float *p1;                    /* (N, 64, H/4, W/4) maxpool output */
    float *h0;                    /* (N, 1024) concat pool: max then avg */
    float *h2;                    /* (N, 1024) BN1d -> dropout (in place) */
    float *h4;                    /* (N, 512) fc1 -> ReLU (in place) */
    float *h6;                    /* (N, 512) BN1d -> dropout (in place) */
    float *logits;                /* (N, classes) */
    float *dlogits;               /* (N, classes) loss gradient */
    float *probs;                 /* (N, classes) softmax */
    float *item_loss;             /* (N) per-item cross-entropy */
    int32_t *labels;              /* (N) copy of the step's targets */
    /* per-step work tensors (contents die between layers) */
    float *big0, *big1;           /* stem-sized, (N, 64, H/2, W/2) */
    float *w0, *w1, *w2;          /* block-sized, aliased inside big0 */
    float *g0, *g1;               /* block-sized gradient ping-pong */
    float *hg0, *hg1;             /* (N, 1024) head gradients */

    /* training state */
    bool frozen;
    int64_t opt_steps[NN_PG_COUNT];
    int64_t bn_batches;           /* num_batches_tracked, same for all BN */

    /* the last forward */
    const float *images;          /* (N, 3, H, W), read again by backward */
    size_t n;
    uint64_t seed;
    float loss;

    /* profiling: NULL after nn_model_init; the caller may set it */
    nn_trace_fn trace;
    void *trace_ctx;
} nn_model;

// --- plan, init -------------------------------------------------------------

/* Exact arena sizes for a model of this batch, image size (square, >= 32),
 * class count and number of pool threads (the kernels' scratch grows with
 * it; 0 means 1). Returns sizes with total 0 on invalid arguments. */
nn_plan_sizes nn_plan(size_t batch, size_t size, size_t classes,
                      size_t threads);

/* Builds the description and carves the arenas (sizes from nn_plan with the
 * same arguments; each 64-byte aligned). Steps may use pools of up to
 * `threads` threads. Parameters and statistics are left
 * as the caller put them (load or nn_model_init_weights next); moments and
 * step counts are zeroed; the model starts frozen (create_cnn freezes). */
bool nn_model_init(nn_model *m, size_t batch, size_t size, size_t classes,
                   size_t threads, void *const arenas[NN_ARENA_COUNT]);

/* Fresh weights as fastai builds them for a new head: convs kaiming-normal
 * (fan_out), BN weight 1 bias 0 (torchvision), head Linear kaiming-normal
 * (fan_in) with zero bias, head BN weight ~U(0,1) (PyTorch <= 1.1), running
 * mean 0 / var 1. Deterministic from seed. */
void nn_model_init_weights(nn_model *m, uint64_t seed);

// --- parameters, groups, freeze ----------------------------------------------

/* Index of the parameter or statistic with this name, or -1. */
long nn_param_find(const nn_model *m, const char *name);
long nn_stat_find(const nn_model *m, const char *name);

static inline float *nn_param_data(const nn_model *m, size_t i)
{
    return m->param + m->params[i].offset;
}

/* Layer group (0..2) of an optimizer parameter group. */
static inline int nn_pg_layer_group(int pg) { return pg / 2; }
static inline bool nn_pg_is_bn(int pg) { return pg % 2 == 1; }

/* Every BN layer in model order (stem, blocks, head); returns the count. */
size_t nn_bn_list(const nn_model *m, const nn_bn *out[NN_BNS]);

/* True if parameters of this optimizer group train in the current state. */
bool nn_pg_trainable(const nn_model *m, int pg);

/* Number of values that train in the current state (563,877 frozen and
 * 21,831,525 unfrozen for 37 classes). */
size_t nn_trainable_count(const nn_model *m);

void nn_freeze(nn_model *m);
void nn_unfreeze(nn_model *m);

/* The model as print(learn.model) lists it: leaf modules with output shape
 * (for batch n), parameter count and trainable flag, plus totals. */
void nn_summary_build(const nn_model *m, size_t n, nn_summary *s);

// --- the step -----------------------------------------------------------------

/* Training forward on n <= batch images (NCHW, 3 channels, size x size,
 * normalised) and labels in [0, classes): fills the saved activations,
 * updates BN running statistics, returns the mean cross-entropy. Dropout
 * masks come from seed (same seed, same masks). */
float nn_forward_train(nn_model *m, const float *images, const int32_t *labels,
                       size_t n, uint64_t seed, const kern_pool *pool);

/* Backward of the last nn_forward_train: clears the trainable gradients
 * once, then accumulates every trainable parameter's gradient. */
void nn_backward(nn_model *m, const kern_pool *pool);

/* Decoupled weight decay then Adam on every trainable parameter. */
void nn_optimizer_step(nn_model *m, const nn_hparams *hp,
                       const kern_pool *pool);

/* forward + backward + optimizer step; returns the loss. */
float nn_train_step(nn_model *m, const float *images, const int32_t *labels,
                    size_t n, uint64_t seed, const nn_hparams *hp,
                    const kern_pool *pool);

/* Evaluation forward (running statistics, no dropout): logits (n, classes),
 * per-item loss (n) when labels is not NULL, probabilities (n, classes). Any
 * output may be NULL. Returns the mean loss (0 without labels). Runs in the
 * training activation buffers, so call it after a step's backward, not
 * between forward and backward. */
float nn_forward_eval(nn_model *m, const float *images, const int32_t *labels,
                      size_t n, float *logits, float *item_loss, float *probs,
                      const kern_pool *pool);

#endif /* RESIN_NN_MODEL_H */
