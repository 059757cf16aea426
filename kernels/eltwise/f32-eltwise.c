/*
 * kernels/eltwise/f32-eltwise.c: drivers of the elementwise kernels
 * (contracts in kernels/layers.h). Work is cut into fixed chunks of
 * ELT_CHUNK floats, a multiple of 16 so every chunk keeps the base's
 * alignment; results do not depend on which thread runs a chunk.
 */
#include "kernels/layers/layers-internal.h"

#define ELT_CHUNK ((size_t)32768)

typedef struct elt_ctx {
    size_t len;
    float *out, *out2;
    const float *a, *b;
    float value;
    int op;
} elt_ctx;

enum { ELT_RELU, ELT_RELU_BWD, ELT_ADD_RELU, ELT_ADD_RELU_BWD, ELT_ADD,
       ELT_FILL };

static void elt_task(void *vctx, size_t task, size_t thread)
{
    const elt_ctx *x = vctx;
    size_t i = task * ELT_CHUNK, len = KERN_MIN(ELT_CHUNK, x->len - i);
    float *out2 = x->out2 ? x->out2 + i : NULL;
    switch (x->op) {
    case ELT_RELU:
        kern_layers.relu(len, x->out + i, x->a + i);
        break;
    case ELT_RELU_BWD:
        kern_layers.relu_bwd(len, x->out + i, x->a + i, x->b + i);
        break;
    case ELT_ADD_RELU:
        kern_layers.add_relu(len, x->out + i, x->a + i, x->b + i);
        break;
    case ELT_ADD_RELU_BWD:
        kern_layers.add_relu_bwd(len, x->out + i, out2, x->a + i, x->b + i);
        break;
    case ELT_ADD:
        kern_layers.add(len, x->out + i, x->a + i, x->b + i);
        break;
    default:
        kern_layers.fill(len, x->out + i, x->value);
        break;
    }
}

static void elt_run(const kern_pool *pool, elt_ctx *ctx)
{
    kern_parallel_for(pool, elt_task, ctx, KERN_DIV_UP(ctx->len, ELT_CHUNK));
}

void kern_f32_relu(const kern_pool *pool, size_t len, float *out,
                   const float *inp)
{
    if (kern_layers.ref) {
        kern_f32_relu__ref(pool, len, out, inp);
        return;
    }
    elt_run(pool, &(elt_ctx){.len = len, .out = out, .a = inp,
                             .op = ELT_RELU});
}

void kern_f32_relu_backward(const kern_pool *pool, size_t len, float *dinp,
                            const float *dout, const float *out)
{
    if (kern_layers.ref) {
        kern_f32_relu_backward__ref(pool, len, dinp, dout, out);
        return;
    }
    elt_run(pool, &(elt_ctx){.len = len, .out = dinp, .a = dout, .b = out,
                             .op = ELT_RELU_BWD});
}

void kern_f32_add_relu(const kern_pool *pool, size_t len, float *out,
                       const float *a, const float *b)
{
    if (kern_layers.ref) {
        kern_f32_add_relu__ref(pool, len, out, a, b);
        return;
    }
    elt_run(pool, &(elt_ctx){.len = len, .out = out, .a = a, .b = b,
                             .op = ELT_ADD_RELU});
}

void kern_f32_add_relu_backward(const kern_pool *pool, size_t len, float *da,
                                float *db_acc, const float *dout,
                                const float *out)
{
    if (kern_layers.ref) {
        kern_f32_add_relu_backward__ref(pool, len, da, db_acc, dout, out);
        return;
    }
    elt_run(pool, &(elt_ctx){.len = len, .out = da, .out2 = db_acc,
                             .a = dout, .b = out, .op = ELT_ADD_RELU_BWD});
}

void kern_f32_add(const kern_pool *pool, size_t len, float *out,
                  const float *a, const float *b)
{
    if (kern_layers.ref) {
        kern_f32_add__ref(pool, len, out, a, b);
        return;
    }
    elt_run(pool, &(elt_ctx){.len = len, .out = out, .a = a, .b = b,
                             .op = ELT_ADD});
}

void kern_f32_fill(const kern_pool *pool, size_t len, float *out,
                   float value)
{
    if (kern_layers.ref) {
        kern_f32_fill__ref(pool, len, out, value);
        return;
    }
    elt_run(pool, &(elt_ctx){.len = len, .out = out, .value = value,
                             .op = ELT_FILL});
}
