/*
 * bench/kernels/conv/bench-f32-conv.c: direct convolution throughput on the
 * ResNet-34 shapes, side by side with oneDNN in the same process.
 *
 *   build/bench/conv IC OC K STRIDE H [--pass fwd|bwd_data|bwd_weights]
 *                    [--batch B] [--threads T]
 *       one shape (pad K/2, square H x H input): one key=value line.
 *   build/bench/conv --suite FILE.json
 *       every distinct ResNet-34 convolution at batch 16: all three passes
 *       on 2 threads, the forward also on 1 thread; then the whole-network
 *       convolution time of one training pass (forward + backward-data +
 *       backward-weights over the 36 convolutions, no backward-data for the
 *       stem) on 2 threads. Table on stdout, JSON to FILE.
 *
 * resin and oneDNN are timed in alternating rounds of the same shape
 * (bench_time_pair), so the ratio holds while this VM's speed drifts.
 * GFLOP/s = 2 * n * oh * ow * oc * ic * kh * kw / median seconds; % of peak
 * against the FMA probe (12 independent 8-lane FMA chains per thread) run in
 * the same process. Packing (resin) and reorders (oneDNN) are outside the
 * timed region: both time the convolution on the layouts they keep between
 * layers (resin NCHW8c; oneDNN the blocked formats it picks for
 * format_tag any). Correctness is the tests' job (tests/kernels/conv/).
 *
 * oneDNN 2.6 runs on OpenMP: its thread count is set through
 * omp_set_num_threads (looked up at run time), and the program re-executes
 * itself once with OMP_WAIT_POLICY=passive so that idle OpenMP workers do not
 * spin on the cores while resin is being timed.
 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/support/bench.h"
#include "harness/pool.h"
#include "kernels/conv.h"
#include "kernels/dispatch.h"

#ifdef RESIN_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

// --- shapes and passes ---------------------------------------------------------------

typedef struct net_conv {
    const char *name;
    size_t ic, oc, k, stride, h, count; /* count: how many in ResNet-34 */
} net_conv;

static const net_conv resnet34[] = {
    {"conv1", 3, 64, 7, 2, 224, 1},
    {"layer1", 64, 64, 3, 1, 56, 6},
    {"layer2.0.conv1", 64, 128, 3, 2, 56, 1},
    {"layer2", 128, 128, 3, 1, 28, 7},
    {"layer2.0.down", 64, 128, 1, 2, 56, 1},
    {"layer3.0.conv1", 128, 256, 3, 2, 28, 1},
    {"layer3", 256, 256, 3, 1, 14, 11},
    {"layer3.0.down", 128, 256, 1, 2, 28, 1},
    {"layer4.0.conv1", 256, 512, 3, 2, 14, 1},
    {"layer4", 512, 512, 3, 1, 7, 5},
    {"layer4.0.down", 256, 512, 1, 2, 14, 1},
};
#define N_NET (sizeof resnet34 / sizeof resnet34[0])

static const char *pass_names[] = {"fwd", "bwd_data", "bwd_weights"};

static void *xalloc(size_t bytes)
{
    void *p = aligned_alloc(64, kern_align_up(bytes + 64));
    if (!p) {
        fprintf(stderr, "bench conv: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static float *random_floats(size_t n)
{
    float *x = xalloc(n * sizeof(float));
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((s >> 40) & 0xFFFF) / 65536.0f - 0.5f;
    }
    return x;
}

typedef struct resin_run {
    kern_conv_shape s;
    kern_conv_pass pass;
    const kern_pool *pool;
    float *inp, *out, *w, *wpack, *dout, *dinp, *dw;
    void *scratch;
} resin_run;

static void resin_call(void *vctx, size_t rep)
{
    resin_run *r = vctx;
    if (r->pass == KERN_CONV_FORWARD)
        kern_conv_forward(&r->s, r->out, r->inp, r->wpack, r->scratch, r->pool);
    else if (r->pass == KERN_CONV_BACKWARD_DATA)
        kern_conv_backward_data(&r->s, r->dinp, r->dout, r->wpack, false,
                                r->scratch, r->pool);
    else
        kern_conv_backward_weights(&r->s, r->dw, r->inp, r->dout, r->scratch,
                                   r->pool);
}

static resin_run *resin_open(const kern_conv_shape *s, kern_conv_pass pass,
                             const kern_pool *pool)
{
    resin_run *r = xalloc(sizeof *r);
    *r = (resin_run){.s = *s, .pass = pass, .pool = pool};
    size_t ni = s->n * s->ic * s->h * s->w, no = s->n * s->oc * s->oh * s->ow;
    size_t nw = s->oc * s->ic * s->kh * s->kw;
    r->inp = random_floats(ni);
    r->dinp = random_floats(ni);
    r->out = random_floats(no);
    r->dout = random_floats(no);
    r->w = random_floats(nw);
    r->dw = random_floats(nw);
    r->wpack = xalloc(nw * sizeof(float));
    if (pass != KERN_CONV_BACKWARD_WEIGHTS)
        kern_conv_pack_weights(s, pass, r->wpack, r->w, r->pool);
    r->scratch = xalloc(kern_conv_scratch_size(s, pass, pool));
    return r;
}

static void resin_close(resin_run *r)
{
    free(r->inp), free(r->dinp), free(r->out), free(r->dout), free(r->w);
    free(r->dw), free(r->wpack), free(r->scratch), free(r);
}

// --- oneDNN --------------------------------------------------------------------------------

#ifdef RESIN_HAVE_DNNL
static void omp_threads(size_t n)
{
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (set)
        set((int)n);
}

#define DN(call)                                                       \
    do {                                                               \
        dnnl_status_t st_ = (call);                                    \
        if (st_ != dnnl_success) {                                     \
            fprintf(stderr, "bench conv: %s failed (%d)\n", #call, st_); \
            exit(1);                                                   \
        }                                                              \
    } while (0)

typedef struct dnnl_run {
    dnnl_primitive_t prim;
    dnnl_stream_t stream;
    dnnl_exec_arg_t args[3];
    dnnl_memory_t mem[3];
} dnnl_run;

static void dnnl_call(void *vctx, size_t rep)
{
    dnnl_run *r = vctx;
    DN(dnnl_primitive_execute(r->prim, r->stream, 3, r->args));
    DN(dnnl_stream_wait(r->stream));
}

static dnnl_memory_t dnnl_mem(dnnl_engine_t eng, dnnl_primitive_desc_t pd,
                              dnnl_query_t what)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, 0);
    dnnl_memory_t m;
    DN(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
    void *p;
    DN(dnnl_memory_get_data_handle(m, &p));
    size_t n = dnnl_memory_desc_get_size(md) / sizeof(float);
    float *src = random_floats(n);
    memcpy(p, src, n * sizeof(float));
    free(src);
    return m;
}

static dnnl_run *dnnl_open(const kern_conv_shape *s, kern_conv_pass pass,
                           size_t threads)
{
    static dnnl_engine_t eng;
    static dnnl_stream_t stream;
    if (!eng) {
        DN(dnnl_engine_create(&eng, dnnl_cpu, 0));
        DN(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    }
    omp_threads(threads);
    dnnl_dims_t sd = {(long)s->n, (long)s->ic, (long)s->h, (long)s->w};
    dnnl_dims_t wd = {(long)s->oc, (long)s->ic, (long)s->kh, (long)s->kw};
    dnnl_dims_t dd = {(long)s->n, (long)s->oc, (long)s->oh, (long)s->ow};
    dnnl_dims_t st = {(long)s->stride, (long)s->stride};
    dnnl_dims_t pl = {(long)s->pad, (long)s->pad};
    dnnl_dims_t pr = {
        (long)((s->oh - 1) * s->stride + s->kh - s->h - s->pad),
        (long)((s->ow - 1) * s->stride + s->kw - s->w - s->pad)};
    dnnl_memory_desc_t smd, wmd, dmd;
    DN(dnnl_memory_desc_init_by_tag(&smd, 4, sd, dnnl_f32, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, dnnl_f32, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, dnnl_format_tag_any));
    dnnl_convolution_desc_t fd, cd;
    DN(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training,
                                          dnnl_convolution_direct, &smd, &wmd,
                                          NULL, &dmd, st, pl, pr));
    dnnl_primitive_desc_t fpd, pd;
    DN(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    dnnl_run *rp = xalloc(sizeof *rp), r = {.stream = stream};
    if (pass == KERN_CONV_FORWARD) {
        pd = fpd;
        r.mem[0] = dnnl_mem(eng, pd, dnnl_query_src_md);
        r.mem[1] = dnnl_mem(eng, pd, dnnl_query_weights_md);
        r.mem[2] = dnnl_mem(eng, pd, dnnl_query_dst_md);
        r.args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, r.mem[0]};
        r.args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, r.mem[1]};
        r.args[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, r.mem[2]};
    } else if (pass == KERN_CONV_BACKWARD_DATA) {
        DN(dnnl_convolution_backward_data_desc_init(
            &cd, dnnl_convolution_direct, &smd, &wmd, &dmd, st, pl, pr));
        DN(dnnl_primitive_desc_create(&pd, &cd, NULL, eng, fpd));
        r.mem[0] = dnnl_mem(eng, pd, dnnl_query_diff_src_md);
        r.mem[1] = dnnl_mem(eng, pd, dnnl_query_weights_md);
        r.mem[2] = dnnl_mem(eng, pd, dnnl_query_diff_dst_md);
        r.args[0] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, r.mem[0]};
        r.args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, r.mem[1]};
        r.args[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, r.mem[2]};
    } else {
        DN(dnnl_convolution_backward_weights_desc_init(
            &cd, dnnl_convolution_direct, &smd, &wmd, NULL, &dmd, st, pl, pr));
        DN(dnnl_primitive_desc_create(&pd, &cd, NULL, eng, fpd));
        r.mem[0] = dnnl_mem(eng, pd, dnnl_query_src_md);
        r.mem[1] = dnnl_mem(eng, pd, dnnl_query_diff_weights_md);
        r.mem[2] = dnnl_mem(eng, pd, dnnl_query_diff_dst_md);
        r.args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, r.mem[0]};
        r.args[1] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_WEIGHTS, r.mem[1]};
        r.args[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, r.mem[2]};
    }
    DN(dnnl_primitive_create(&r.prim, pd));
    if (pd != fpd)
        dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_desc_destroy(fpd);
    *rp = r;
    return rp;
}

static void dnnl_close(dnnl_run *r)
{
    dnnl_primitive_destroy(r->prim);
    for (int i = 0; i < 3; i++)
        dnnl_memory_destroy(r->mem[i]);
    free(r);
}
#endif

// --- one measurement ------------------------------------------------------------------

typedef struct row {
    const char *name, *pass;
    kern_conv_shape s;
    size_t threads;
    double sec, gflops, peak_pct, dnnl_sec, dnnl_gflops, ratio;
} row;

static kern_pool *pools[3];
static double peaks[3];

static row measure(const char *name, const kern_conv_shape *s,
                   kern_conv_pass pass, size_t threads)
{
    row r = {.name = name, .pass = pass_names[pass], .s = *s,
             .threads = threads};
    double flop = 2.0 * kern_conv_macs(s);
    resin_run *rr = resin_open(s, pass, threads > 1 ? pools[threads] : NULL);
#ifdef RESIN_HAVE_DNNL
    /* Alternating rounds: the ratio is what holds on a drifting machine. */
    dnnl_run *dr = dnnl_open(s, pass, threads);
    bench_stats a, b;
    bench_time_pair(resin_call, rr, dnnl_call, dr, 10, 0.8, &a, &b);
    dnnl_close(dr);
    r.dnnl_sec = b.median;
    r.dnnl_gflops = flop / r.dnnl_sec / 1e9;
    r.ratio = r.dnnl_sec / a.median;
#else
    bench_stats a = bench_time(resin_call, rr, 5, 40, 0.4);
#endif
    resin_close(rr);
    r.sec = a.median;
    r.gflops = flop / r.sec / 1e9;
    r.peak_pct = peaks[threads] > 0 ? 100.0 * r.gflops / peaks[threads] : 0;
    return r;
}

static void print_kv(const row *r)
{
    printf("name=%s pass=%s ic=%zu oc=%zu k=%zu stride=%zu h=%zu batch=%zu "
           "threads=%zu ms=%.3f gflops=%.1f peak_pct=%.1f", r->name, r->pass,
           r->s.ic, r->s.oc, r->s.kh, r->s.stride, r->s.h, r->s.n, r->threads,
           1e3 * r->sec, r->gflops, r->peak_pct);
    if (r->dnnl_sec > 0)
        printf(" dnnl_ms=%.3f dnnl_gflops=%.1f ratio=%.2f", 1e3 * r->dnnl_sec,
               r->dnnl_gflops, r->ratio);
    printf("\n");
}

static void setup(size_t max_threads)
{
    for (size_t t = 1; t <= max_threads && t <= 2; t++) {
        if (t > 1) {
            pools[t] = harness_pool_create(t);
            if (!pools[t])
                exit(1);
        }
        peaks[t] = bench_fma_peak_gflops(t);
    }
}

// --- suite -----------------------------------------------------------------------------------

static void json_row(FILE *f, const row *r, bool last)
{
    fprintf(f, "    {\"name\": \"%s\", \"pass\": \"%s\", \"ic\": %zu, \"oc\": %zu,"
            " \"k\": %zu, \"stride\": %zu, \"h\": %zu, \"batch\": %zu,"
            " \"threads\": %zu, \"median_s\": %.6g, \"gflops\": %.2f,"
            " \"peak_pct\": %.1f, \"dnnl_median_s\": %.6g,"
            " \"dnnl_gflops\": %.2f, \"ratio_vs_dnnl\": %.3f}%s\n",
            r->name, r->pass, r->s.ic, r->s.oc, r->s.kh, r->s.stride, r->s.h,
            r->s.n, r->threads, r->sec, r->gflops, r->peak_pct, r->dnnl_sec,
            r->dnnl_gflops, r->ratio, last ? "" : ",");
}

static int suite(const char *path)
{
    enum { BATCH = 16, MAXROWS = 64 };
    static row rows[MAXROWS];
    size_t nr = 0;
    double net[2][3] = {{0}}; /* [resin, dnnl][pass] seconds, 2 threads */
    setup(2);
    printf("conv suite: batch %d, isa %s, FMA peak %.0f (1 thr) / %.0f "
           "(2 thr) GFLOP/s\n", BATCH, kern_isa_name(kern_isa_active()),
           peaks[1], peaks[2]);
    printf("%-15s %-11s %3s %8s %8s %6s %8s %8s %6s\n", "layer", "pass", "thr",
           "ms", "GFLOP/s", "%peak", "dnnl ms", "dnnl GF", "ratio");
    for (size_t i = 0; i < N_NET; i++) {
        const net_conv *c = &resnet34[i];
        kern_conv_shape s = kern_conv_shape_make(BATCH, c->ic, c->oc, c->h,
                                                 c->h, c->k, c->stride,
                                                 c->k / 2);
        for (int p = 0; p < 3; p++) {
            if (p == KERN_CONV_BACKWARD_DATA && kern_conv_plain_input(&s))
                continue;
            for (size_t t = 2; t >= 1; t--) {
                if (t == 1 && p != KERN_CONV_FORWARD)
                    break;
                row r = measure(c->name, &s, (kern_conv_pass)p, t);
                rows[nr++] = r;
                printf("%-15s %-11s %3zu %8.2f %8.1f %6.1f %8.2f %8.1f %6.2f\n",
                       r.name, r.pass, t, 1e3 * r.sec, r.gflops, r.peak_pct,
                       1e3 * r.dnnl_sec, r.dnnl_gflops, r.ratio);
                fflush(stdout);
                if (t == 2) {
                    net[0][p] += c->count * r.sec;
                    net[1][p] += c->count * r.dnnl_sec;
                }
            }
        }
    }
    double tr = net[0][0] + net[0][1] + net[0][2];
    double td = net[1][0] + net[1][1] + net[1][2];
    printf("network (36 convs, batch %d, 2 threads): fwd %.3f s, bwd_data "
           "%.3f s, bwd_weights %.3f s, training pass %.3f s", BATCH,
           net[0][0], net[0][1], net[0][2], tr);
    if (td > 0)
        printf("; oneDNN %.3f / %.3f / %.3f, %.3f s; ratio %.2f", net[1][0],
               net[1][1], net[1][2], td, td / tr);
    printf("\n");
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench conv: cannot write %s\n", path);
        return 1;
    }
    fprintf(f, "{\"bench\": \"conv\", \"batch\": %d, \"isa\": \"%s\","
            " \"peak_gflops_1t\": %.1f, \"peak_gflops_2t\": %.1f,\n"
            " \"network_2t\": {\"fwd_s\": %.4f, \"bwd_data_s\": %.4f,"
            " \"bwd_weights_s\": %.4f, \"train_pass_s\": %.4f,"
            " \"dnnl_train_pass_s\": %.4f, \"ratio_vs_dnnl\": %.3f},\n"
            " \"rows\": [\n", BATCH, kern_isa_name(kern_isa_active()),
            peaks[1], peaks[2], net[0][0], net[0][1], net[0][2], tr, td,
            tr > 0 ? td / tr : 0);
    for (size_t i = 0; i < nr; i++)
        json_row(f, &rows[i], i + 1 == nr);
    fprintf(f, "]}\n");
    return fclose(f) == 0 ? 0 : 1;
}

// --- main --------------------------------------------------------------------------------------

static int usage(void)
{
    fprintf(stderr,
            "usage: conv IC OC K STRIDE H [--pass fwd|bwd_data|bwd_weights]"
            " [--batch B] [--threads T]\n       conv --suite FILE.json\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);
    }
    kern_isa isa = KERN_ISA_BEST;
    const char *env = getenv("RESIN_ISA");
    if (env && !kern_isa_parse(env, &isa)) {
        fprintf(stderr, "bench conv: unknown RESIN_ISA '%s'\n", env);
        return 2;
    }
    kern_init(isa);
    if (argc == 3 && !strcmp(argv[1], "--suite"))
        return suite(argv[2]);
    if (argc < 6)
        return usage();
    size_t v[5], batch = 16, threads = 1;
    kern_conv_pass pass = KERN_CONV_FORWARD;
    for (int i = 0; i < 5; i++) {
        char *end;
        v[i] = strtoul(argv[i + 1], &end, 10);
        if (*end || !v[i])
            return usage();
    }
    for (int i = 6; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        const char *a = argv[i], *b = argv[++i];
        if (!strcmp(a, "--batch"))
            batch = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--threads"))
            threads = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--pass")) {
            int p = 0;
            while (p < 3 && strcmp(b, pass_names[p]))
                p++;
            if (p == 3)
                return usage();
            pass = (kern_conv_pass)p;
        } else
            return usage();
    }
    if (!batch || threads < 1 || threads > 2)
        return usage();
    kern_conv_shape s = kern_conv_shape_make(batch, v[0], v[1], v[4], v[4],
                                             v[2], v[3], v[2] / 2);
    if (s.oc % 8 || (pass == KERN_CONV_BACKWARD_DATA && kern_conv_plain_input(&s))) {
        fprintf(stderr, "bench conv: unsupported shape for this pass\n");
        return 2;
    }
    setup(threads);
    row r = measure("custom", &s, pass, threads);
    print_kv(&r);
    return 0;
}
