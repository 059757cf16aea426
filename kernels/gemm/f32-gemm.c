/*
 * kernels/gemm/f32-gemm.c: the f32 GEMM driver, kern_f32_gemm.
 *
 * Contract in kernels/gemm.h. Structure (BLIS, Van Zee and van de Geijn,
 * TOMS 2015), for each thread's block of C:
 *
 *   for jc in N step NC:             B panel (KC x NC) packed -> L3
 *     for pc in K step KC:           pack op(B)[pc:, jc:] into NR-column panels
 *       for ic in M step MC:         A block (MC x KC) -> L2
 *         pack op(A)[ic:, pc:] into MR-row panels (kc, MR)
 *         for jr in NC step NR:      one KC x NR panel of B stays in L1
 *           for ir in MC step MR:    microkernel on an MR x NR tile of C
 *
 * Both operands are normally packed k-major (BLIS's layout): the
 * microkernel streams one contiguous (kc, MR) micro-panel of A from L2 and
 * one (kc, NR) panel of B from L1, each with unit stride, so one hardware
 * prefetch stream per operand keeps up (read in place through MR row
 * pointers, A needs MR streams, and rows a power-of-two lda apart share one
 * L1 set: 2048^3 on one thread went from 64 to 79 GFLOP/s). Two exceptions:
 *  - A stored row-major feeding fewer than KERN_F32_GEMM_PACK_A_MIN_N
 *    columns is read in place by the ISA's strided microkernel, when it has
 *    one (512 x 49 x 4608: packing cost 15%);
 *  - when a thread's rows fit one MC block (the small-M ResNet shapes, 64 x
 *    3136 x 576), each packed panel of B is used by a single pass of the ir
 *    loop, so B is packed GEMM_FUSED_PANELS panels at a time just before
 *    use, staying in L2 rather than going to L3 and back, and the next group
 *    of stored B is prefetched while this one is multiplied.
 *
 * Threads: C is cut into a grid of tm x tn blocks (see choose_grid). A
 * column split runs the loops above per block on its own slice of the
 * workspace, with no synchronisation inside; when A is one MC block,
 * blocks of at least 2 * GEMM_MIN_NS columns are cut finer and handed out
 * by the pool. A row split whose blocks hold several MC blocks (4608 x 49 x
 * 512 TN) instead packs each KC x NC panel of B once, into a shared buffer,
 * all threads packing a slice, then hands out row blocks of C
 * (gemm_shared_b): no thread packs B twice and a thread slowed by another
 * process costs a small block, not half the call.
 *
 * Portable C: no intrinsics here; the microkernels hold them.
 */
#include "kernels/gemm.h"

// --- the per-ISA table -------------------------------------------------------

static const kern_f32_gemm_config configs[] = {
#define KERN_F32_GEMM_UKERNEL(isa, fn, mr, nr, mc, kc, nc, packbn, packbt, \
                              packan, packat, ukernel_sa) \
    {fn, mr, nr, mc, kc, nc, packbn, packbt, packan, packat, ukernel_sa},
#include "kernels/gemm/f32-gemm.inc"
#undef KERN_F32_GEMM_UKERNEL
};

static const kern_isa config_isas[] = {
#define KERN_F32_GEMM_UKERNEL(isa, fn, mr, nr, mc, kc, nc, packbn, packbt, \
                              packan, packat, ukernel_sa) \
    isa,
#include "kernels/gemm/f32-gemm.inc"
#undef KERN_F32_GEMM_UKERNEL
};

#define NCONFIGS (sizeof configs / sizeof configs[0])

static const kern_f32_gemm_config ref_config = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0,
                                                 0};
static const kern_f32_gemm_config *active = &ref_config;

/* Narrow products (n <= KERN_F32_GEMM_NARROW_N) with A stored row-major
 * run the AVX2 configuration under AVX-512: its strided-A kernel (no
 * packing of A) and half-width edge loop beat 32-column panels there (two
 * threads: 512 x 49 x 4608 177-185 against 137-156 GFLOP/s, 64 x 37 x 512
 * NT 104 against 71; at 196 columns the zmm kernel wins, 276 against 186).
 * With A stored transposed A is packed either way and the zmm kernel wins:
 * 4608 x 49 x 512 TN 224-229 against 132-154. */
#define KERN_F32_GEMM_NARROW_N 64
static const kern_f32_gemm_config *narrow = 0;

void kern_gemm_init(kern_isa isa)
{
    active = &ref_config, narrow = 0;
    for (size_t i = 0; i < NCONFIGS; i++) {
        if (config_isas[i] == isa)
            active = &configs[i];
        if (isa == KERN_ISA_AVX512 && config_isas[i] == KERN_ISA_AVX2)
            narrow = &configs[i];
    }
}

const kern_f32_gemm_config *kern_f32_gemm_active_config(void)
{
    return active;
}

// --- workspace ---------------------------------------------------------------

static size_t pack_a_floats(const kern_f32_gemm_config *cfg, size_t m,
                            size_t k)
{
    return KERN_ROUND_UP(KERN_MIN(m, cfg->mc), cfg->mr) * KERN_MIN(k, cfg->kc);
}

static size_t pack_b_floats(const kern_f32_gemm_config *cfg, size_t n,
                            size_t k)
{
    return KERN_MIN(k, cfg->kc) * KERN_ROUND_UP(KERN_MIN(n, cfg->nc), cfg->nr);
}

static size_t thread_bytes(const kern_f32_gemm_config *cfg, size_t m, size_t n,
                           size_t k)
{
    return kern_align_up(pack_a_floats(cfg, m, k) * sizeof(float)) +
           kern_align_up(pack_b_floats(cfg, n, k) * sizeof(float));
}

size_t kern_f32_gemm_workspace_size(size_t m, size_t n, size_t k,
                                    size_t nthreads)
{
    size_t per = 0;
    for (size_t i = 0; i < NCONFIGS; i++)
        per = KERN_MAX(per, thread_bytes(&configs[i], m, n, k));
    return per * KERN_MAX(nthreads, (size_t)1);
}

// --- packing -----------------------------------------------------------------
/* The packers are written for a constant tile width (MR or NR) and inlined
 * into one call per width, so the inner copies have a fixed trip count. */

/* Panels of B packed together, row by row of B (see pack_b_tile). */
#define GEMM_PACK_GROUP 16

/* op(B)[0:kc, 0:nc] -> NR-column panels (kc, NR), zero-padded past nc.
 * b points at op(B)[0][0]. */
static inline void pack_b_tile(size_t nr_tile, kern_trans tb,
                               const float *b, size_t ldb, size_t kc,
                               size_t nc, float *restrict dst)
{
    if (tb == KERN_NOTRANS) {
        /* A group of GEMM_PACK_GROUP panels at a time, row by row of B: each
         * row of B gives one contiguous read of up to a kilobyte, and the
         * writes go to no more pages than the group has panels (a whole row
         * of panels at once would miss the TLB on every store; one panel at a
         * time reads 64 bytes per row of B, a page apart). */
        size_t full = nc / nr_tile * nr_tile;
        size_t group = GEMM_PACK_GROUP * nr_tile;
        for (size_t j0 = 0; j0 < full; j0 += group) {
            size_t j1 = KERN_MIN(full, j0 + group);
            for (size_t p = 0; p < kc; p++) {
                const float *src = b + p * ldb;
                float *d = dst + j0 * kc + p * nr_tile;
                for (size_t j = j0; j < j1; j += nr_tile, d += nr_tile * kc)
                    for (size_t jj = 0; jj < nr_tile; jj++)
                        d[jj] = src[j + jj];
            }
        }
        if (full < nc)
            for (size_t p = 0; p < kc; p++) {
                const float *src = b + p * ldb + full;
                float *d = dst + full * kc + p * nr_tile;
                for (size_t jj = 0; jj < nc - full; jj++)
                    d[jj] = src[jj];
                for (size_t jj = nc - full; jj < nr_tile; jj++)
                    d[jj] = 0.0f;
            }
        return;
    }
    for (size_t j = 0; j < nc; j += nr_tile, dst += nr_tile * kc) {
        size_t nr = KERN_MIN(nr_tile, nc - j);
        const float *src = b + j * ldb;
        for (size_t jj = 0; jj < nr; jj++)
            for (size_t p = 0; p < kc; p++)
                dst[p * nr_tile + jj] = src[jj * ldb + p];
        for (size_t jj = nr; jj < nr_tile; jj++)
            for (size_t p = 0; p < kc; p++)
                dst[p * nr_tile + jj] = 0.0f;
    }
}

static void pack_b(size_t nr_tile, kern_trans tb, const float *b, size_t ldb,
                   size_t kc, size_t nc, float *restrict dst)
{
    switch (nr_tile) {
    case 8: pack_b_tile(8, tb, b, ldb, kc, nc, dst); break;
    case 12: pack_b_tile(12, tb, b, ldb, kc, nc, dst); break;
    case 16: pack_b_tile(16, tb, b, ldb, kc, nc, dst); break;
    default: pack_b_tile(nr_tile, tb, b, ldb, kc, nc, dst); break;
    }
}

/* op(A)[0:mc, 0:kc] -> MR-row panels, each (kc, MR): column p of the panel
 * at dst[p * MR]. a points at op(A)[0][0]; element (i, p) of op(A) is at
 * a[i * rs + p * cs] (rs = lda, cs = 1 for A stored row-major, the other way
 * round when stored transposed). Rows past mc are zeroed: the microkernel
 * computes on them (never storing), and zeros keep that finite. */
static inline void pack_a_tile(size_t mr_tile, const float *a, size_t rs,
                               size_t cs, size_t mc, size_t kc,
                               float *restrict dst)
{
    for (size_t i = 0; i < mc; i += mr_tile, dst += mr_tile * kc) {
        size_t mr = KERN_MIN(mr_tile, mc - i);
        const float *src = a + i * rs;
        for (size_t p = 0; p < kc; p++) {
            for (size_t r = 0; r < mr; r++)
                dst[p * mr_tile + r] = src[r * rs + p * cs];
            for (size_t r = mr; r < mr_tile; r++)
                dst[p * mr_tile + r] = 0.0f;
        }
    }
}

static void pack_a(size_t mr_tile, kern_trans ta, const float *a, size_t lda,
                   size_t mc, size_t kc, float *restrict dst)
{
    size_t rs = ta == KERN_NOTRANS ? lda : 1;
    size_t cs = ta == KERN_NOTRANS ? 1 : lda;
    switch (mr_tile) {
    case 4: pack_a_tile(4, a, rs, cs, mc, kc, dst); break;
    case 6: pack_a_tile(6, a, rs, cs, mc, kc, dst); break;
    case 8: pack_a_tile(8, a, rs, cs, mc, kc, dst); break;
    default: pack_a_tile(mr_tile, a, rs, cs, mc, kc, dst); break;
    }
}

// --- one thread's block of C -----------------------------------------------------

typedef struct gemm_call {
    kern_trans ta, tb;
    size_t m, n, k;
    float alpha, beta;
    const float *a, *b; // op(A) (m, k), op(B) (k, n), as stored
    size_t lda, ldb, ldc;
    float *c;           // (m, n)
    char *workspace;
    size_t ws_thread;   // bytes per thread
    const kern_f32_gemm_config *cfg;
    size_t tn, ms, ns;  // task grid: tn columns; blocks of ms rows, at most ns columns
} gemm_call;

/* Pointer to op(X)[i][p] for X stored row-major with leading dimension ld. */
static const float *op_at(kern_trans t, const float *x, size_t ld, size_t i,
                          size_t p)
{
    return t == KERN_NOTRANS ? x + i * ld + p : x + p * ld + i;
}

/* A block of op(A) ready for the microkernels: packed MR-row panels (ap), or
 * the stored rows in place (a, row stride lda). */
typedef struct a_block {
    const float *a;
    bool in_place;
} a_block;

/* Block of A at op(A)[i][p] (mc x kc) that will feed nc columns of C: read in
 * place if A is stored row-major, the ISA has the strided microkernel and nc
 * is too small to amortise the copy; packed into ap otherwise. */
static a_block prepare_a(const gemm_call *g, size_t i, size_t p, size_t mc,
                         size_t kc, size_t nc, float *ap)
{
    const kern_f32_gemm_config *cfg = g->cfg;
    const float *a = op_at(g->ta, g->a, g->lda, i, p);
    if (g->ta == KERN_NOTRANS && cfg->ukernel_sa &&
        nc < KERN_F32_GEMM_PACK_A_MIN_N)
        return (a_block){a, true};
    kern_f32_gemm_packa_fn packa =
        g->ta == KERN_TRANS ? cfg->packat : cfg->packan;
    if (packa)
        packa(mc, kc, a, g->lda, g->m - i, ap);
    else
        pack_a(cfg->mr, g->ta, a, g->lda, mc, kc, ap);
    return (a_block){ap, false};
}

/* op(B)[p:p+kc, j:j+nc] -> NR-column panels at bp. */
static void prepare_b(const gemm_call *g, size_t p, size_t j, size_t kc,
                      size_t nc, float *bp)
{
    const kern_f32_gemm_config *cfg = g->cfg;
    const float *b = op_at(g->tb, g->b, g->ldb, p, j);
    if (g->tb == KERN_TRANS && cfg->packbt)
        cfg->packbt(kc, nc, b, g->ldb, bp);
    else if (g->tb == KERN_NOTRANS && cfg->packbn)
        cfg->packbn(kc, nc, b, g->ldb, bp);
    else
        pack_b(cfg->nr, g->tb, b, g->ldb, kc, nc, bp);
}

/* Walks the cache lines of a block of stored B (rows of `line` floats, ld
 * apart), a few at a time, so that the next group of panels comes from
 * memory while the microkernels run on this one. */
typedef struct b_prefetch {
    const float *b;
    size_t rows, lines, ld; /* lines per row */
    size_t row, line;       /* next to fetch */
    size_t per_call;        /* lines per microkernel call */
} b_prefetch;

static b_prefetch b_prefetch_init(const gemm_call *g, size_t p, size_t j,
                                  size_t kc, size_t nc, size_t calls)
{
    b_prefetch f = {.b = op_at(g->tb, g->b, g->ldb, p, j), .ld = g->ldb};
    size_t line = g->tb == KERN_NOTRANS ? nc : kc;
    f.rows = g->tb == KERN_NOTRANS ? kc : nc;
    f.lines = KERN_DIV_UP(line, (size_t)16);
    f.per_call = KERN_DIV_UP(f.rows * f.lines, KERN_MAX(calls, (size_t)1));
    return f;
}

static inline void b_prefetch_step(b_prefetch *f)
{
    for (size_t i = 0; i < f->per_call && f->row < f->rows; i++) {
        __builtin_prefetch(f->b + f->row * f->ld + f->line * 16, 0, 2);
        if (++f->line == f->lines)
            f->line = 0, f->row++;
    }
}

/* The jr, ir loops: C[0:mc, 0:nc] (+)= A block * packed panels bp; pf (may
 * be NULL) is stepped once per microkernel call. The next packed panel of
 * B is not prefetched here: a slice of it fetched into L2 before each call
 * (the packed KC x NC block outgrows L2 from 1024 columns) cost 2-4% on
 * 1024^3 and 2048^3, one thread and two, with the zmm kernel, and nothing
 * with the ymm one (in-process A/B, kernels/README.md). */
static void run_tiles(const gemm_call *g, a_block a, size_t mc, size_t kc,
                      size_t nc, const float *bp, float *c, float beta,
                      b_prefetch *pf)
{
    const kern_f32_gemm_config *cfg = g->cfg;
    const size_t MR = cfg->mr, NR = cfg->nr;
    for (size_t jr = 0; jr < nc; jr += NR) {
        size_t nr = KERN_MIN(NR, nc - jr);
        const float *b = bp + jr * kc;
        float *cj = c + jr;
        for (size_t ir = 0; ir < mc; ir += MR) {
            if (pf)
                b_prefetch_step(pf);
            if (a.in_place)
                cfg->ukernel_sa(KERN_MIN(MR, mc - ir), nr, kc,
                                a.a + ir * g->lda, g->lda, b,
                                cj + ir * g->ldc, g->ldc, g->alpha, beta);
            else
                cfg->ukernel(KERN_MIN(MR, mc - ir), nr, kc, a.a + ir * kc, b,
                             cj + ir * g->ldc, g->ldc, g->alpha, beta);
        }
    }
}

/* Panels of B packed and consumed together when the block of A is a single
 * MC block (see gemm_block): 8 x 16 columns x KC 256 = 128 KiB, in L2. */
#define GEMM_FUSED_PANELS 8

static void gemm_block(const gemm_call *g, size_t i0, size_t mm, size_t j0,
                       size_t nn, char *ws)
{
    const kern_f32_gemm_config *cfg = g->cfg;
    float *ap = (float *)ws;
    float *bp = (float *)(ws + kern_align_up(pack_a_floats(cfg, g->m, g->k) *
                                             sizeof(float)));
    /* One MC block of rows: each packed panel of B is used by one pass of
     * the ir loop only, so B is packed a few panels at a time just before
     * they are used; the packed panels stay in L2 instead of making a round
     * trip through L3 (64 x 3136 x 576: a quarter of the time). */
    size_t group = KERN_MIN(nn, cfg->nc);
    if (mm <= cfg->mc)
        group = KERN_MIN(group, GEMM_FUSED_PANELS * cfg->nr);
    for (size_t jc = 0; jc < nn; jc += cfg->nc) {
        size_t nc = KERN_MIN(cfg->nc, nn - jc);
        for (size_t pc = 0; pc < g->k; pc += cfg->kc) {
            size_t kc = KERN_MIN(cfg->kc, g->k - pc);
            float beta = pc == 0 ? g->beta : 1.0f;
            for (size_t ic = 0; ic < mm; ic += cfg->mc) {
                size_t mc = KERN_MIN(cfg->mc, mm - ic);
                float *c = g->c + (i0 + ic) * g->ldc + j0 + jc;
                a_block a = prepare_a(g, i0 + ic, pc, mc, kc, nc, ap);
                for (size_t jg = 0; jg < nc; jg += group) {
                    size_t ng = KERN_MIN(group, nc - jg);
                    if (ic == 0) /* group < nc only when mm <= MC */
                        prepare_b(g, pc, j0 + jc + jg, kc, ng, bp);
                    /* Fetch the next group (or the next KC block) of
                     * stored B while this one is multiplied. */
                    b_prefetch pf, *ppf = 0;
                    size_t jn = jg + group, pn = pc;
                    if (jn >= nc)
                        jn = 0, pn = pc + cfg->kc;
                    if (group < nc && pn < g->k) {
                        size_t calls = KERN_DIV_UP(ng, cfg->nr) *
                                       KERN_DIV_UP(mc, cfg->mr);
                        pf = b_prefetch_init(g, pn, j0 + jc + jn,
                                             KERN_MIN(cfg->kc, g->k - pn),
                                             KERN_MIN(group, nc - jn), calls);
                        ppf = &pf;
                    }
                    run_tiles(g, a, mc, kc, ng, bp, c + jg, beta, ppf);
                }
            }
        }
    }
}

static void gemm_task(void *ctx, size_t task, size_t thread)
{
    const gemm_call *g = ctx;
    /* Column blocks take whole NR panels, as evenly as they divide: with
     * ns (rounded up to NR) each, the last block can be far narrower than
     * the rest (64 x 3136 x 576 in 8 blocks: 7 x 416 + 224, so one thread
     * gets 1664 columns and the other 1472). */
    size_t panels = KERN_DIV_UP(g->n, g->cfg->nr), jt = task % g->tn;
    size_t j0 = jt * panels / g->tn * g->cfg->nr;
    size_t j1 = KERN_MIN((jt + 1) * panels / g->tn * g->cfg->nr, g->n);
    size_t i0 = (task / g->tn) * g->ms;
    if (i0 >= g->m || j0 >= j1)
        return;
    gemm_block(g, i0, KERN_MIN(g->ms, g->m - i0), j0, j1 - j0,
               g->workspace + thread * g->ws_thread);
}

// --- threads ---------------------------------------------------------------------

/* Work below which one more thread costs more (waking it) than it saves:
 * about 10 us of one core's FMA throughput (64 x 37 x 512, 2.4 MFLOP, runs
 * 1.3x faster on two threads than on one). */
#define GEMM_FLOPS_PER_THREAD ((size_t)1 << 20)
/* Over-decomposition of column splits: at most this many tasks per thread,
 * each at least GEMM_MIN_NS columns wide. */
#define GEMM_TASKS_PER_THREAD 4
#define GEMM_MIN_NS 256

/* Cost of one KC step's two barriers in a shared-B row split, in the units
 * of choose_grid (cycles): about 1 us. */
#define GEMM_SHARED_STEP_COST 4096.0

/* Picks the task grid tm x tn (tm * tn = threads used) that minimises the
 * largest task's cost: padded microkernel FMAs at 16 per cycle, plus one
 * cycle per packed element of B and of A (each column block packs all of
 * its rows of A). A row split with several MC blocks per thread packs B
 * once, shared (gemm_shared_b), but is not credited with the saving: each
 * thread still reads the half of the packed panel the other packed, from
 * the other core's cache, and waits at two barriers per KC step for the
 * slower one; with the saving counted it won on 1024^3, and the column
 * split it lost to is 3-7% faster there, 7-9% on 576 x 3136 x 64 TN and
 * 512 x 1024 x 64 TN (in-process A/B, two threads). Those barriers are
 * charged. Returns the threads used. */
static size_t choose_grid(gemm_call *g, size_t nthreads)
{
    size_t flops = 2 * g->m * g->n * g->k;
    size_t t = KERN_MAX(KERN_MIN(nthreads, flops / GEMM_FLOPS_PER_THREAD),
                        (size_t)1);
    const size_t MR = g->cfg->mr, NR = g->cfg->nr;
    double best = -1.0;
    for (size_t tm = 1; tm <= t; tm++) {
        if (t % tm)
            continue;
        size_t tn = t / tm;
        size_t ms = KERN_ROUND_UP(KERN_DIV_UP(g->m, tm), MR);
        size_t ns = KERN_ROUND_UP(KERN_DIV_UP(g->n, tn), NR);
        double cost = (double)ms * ns * g->k / 16.0 + (double)ns * g->k;
        cost += (double)ms * g->k * KERN_DIV_UP(ns, g->cfg->nc);
        if (tm > 1 && tn == 1 && ms > g->cfg->mc)
            cost += GEMM_SHARED_STEP_COST * KERN_DIV_UP(g->k, g->cfg->kc) *
                    KERN_DIV_UP(g->n, g->cfg->nc);
        if (best < 0.0 || cost < best) {
            best = cost;
            g->tn = tn, g->ms = ms, g->ns = ns;
        }
    }
    /* Column blocks share nothing (each packs its own columns of B and its
     * own copy of A, which for at least GEMM_MIN_NS columns costs under a
     * 1/16 of its multiply), so when A is one MC block cut them finer, down
     * to GEMM_MIN_NS columns, and let the pool hand them out: a thread
     * slowed by another process then costs a small block, not half the
     * call. Blocks with several MC blocks of rows stay one per thread:
     * each finer block packs all of A again (1024^3 on two threads in four
     * blocks: 0.99-1.02x of the shared-B row split, in two: 1.04x). A row
     * split stays whole: cut into columns, each of its blocks would pack
     * its rows of A once per column block and give up the shared panel of
     * B (1024^3 on two threads: the packs' share of the call 12% -> 6%). */
    if (t > 1 && g->ta == KERN_NOTRANS && g->tn > 1 && g->ms <= g->cfg->mc)
        while (g->ns >= 2 * GEMM_MIN_NS && g->tn < GEMM_TASKS_PER_THREAD * t) {
            g->tn *= 2;
            g->ns = KERN_ROUND_UP(KERN_DIV_UP(g->n, g->tn), NR);
        }
    return t;
}

// --- M split with shared panels of B --------------------------------------------

/* One (jc, pc) step when the threads split M: the KC x NC panel of B is
 * packed once, by all threads (a slice each), into a shared buffer; then
 * row blocks of C are handed out to whichever thread is free. Two
 * kern_parallel_for calls per step are the barriers. */
typedef struct shared_step {
    const gemm_call *g;
    size_t jc, nc, pc, kc;
    float *bp;      /* the shared packed panel */
    size_t pack_w;  /* columns per pack task, a multiple of NR */
    size_t rows;    /* rows per compute task, a multiple of MR */
} shared_step;

static void shared_pack_task(void *ctx, size_t task, size_t thread)
{
    const shared_step *s = ctx;
    size_t j = task * s->pack_w;
    (void)thread;
    if (j < s->nc)
        prepare_b(s->g, s->pc, s->jc + j, s->kc,
                  KERN_MIN(s->pack_w, s->nc - j), s->bp + j * s->kc);
}

static void shared_compute_task(void *ctx, size_t task, size_t thread)
{
    const shared_step *s = ctx;
    const gemm_call *g = s->g;
    const kern_f32_gemm_config *cfg = g->cfg;
    size_t i0 = task * s->rows;
    if (i0 >= g->m)
        return;
    size_t mm = KERN_MIN(s->rows, g->m - i0);
    /* Equal blocks of at most MC rows. */
    size_t mb = KERN_ROUND_UP(KERN_DIV_UP(mm, KERN_DIV_UP(mm, cfg->mc)),
                              cfg->mr);
    float *ap = (float *)(g->workspace + thread * g->ws_thread);
    float beta = s->pc == 0 ? g->beta : 1.0f;
    for (size_t ic = 0; ic < mm; ic += mb) {
        size_t mc = KERN_MIN(mb, mm - ic);
        a_block a = prepare_a(g, i0 + ic, s->pc, mc, s->kc, s->nc, ap);
        run_tiles(g, a, mc, s->kc, s->nc, s->bp,
                  g->c + (i0 + ic) * g->ldc + s->jc, beta, 0);
    }
}

/* Work per thread and KC step below which the two barriers of a step cost
 * more than packing B twice saves (512 x 49 x 4608: 18 steps of 17 us per
 * task): about 170 us of one core's FMA throughput. */
#define GEMM_SHARED_MIN_FLOPS ((size_t)16 << 20)

static void gemm_shared_b(const gemm_call *g, const kern_pool *pool,
                          size_t t)
{
    const kern_f32_gemm_config *cfg = g->cfg;
    shared_step s = {.g = g};
    /* Thread 0's B region holds the shared panel. */
    s.bp = (float *)(g->workspace +
                     kern_align_up(pack_a_floats(cfg, g->m, g->k) *
                                   sizeof(float)));
    s.rows = KERN_ROUND_UP(KERN_DIV_UP(g->m, GEMM_TASKS_PER_THREAD * t),
                           cfg->mr);
    size_t tasks = KERN_DIV_UP(g->m, s.rows);
    for (s.jc = 0; s.jc < g->n; s.jc += cfg->nc) {
        s.nc = KERN_MIN(cfg->nc, g->n - s.jc);
        s.pack_w = KERN_ROUND_UP(KERN_DIV_UP(s.nc, t), cfg->nr);
        for (s.pc = 0; s.pc < g->k; s.pc += cfg->kc) {
            s.kc = KERN_MIN(cfg->kc, g->k - s.pc);
            kern_parallel_for(pool, shared_pack_task, &s, t);
            kern_parallel_for(pool, shared_compute_task, &s, tasks);
        }
    }
}

// --- the driver ------------------------------------------------------------------

/* C = beta * C, with beta == 0 writing zeros over whatever C held. */
static void scale_c(size_t m, size_t n, float beta, float *c, size_t ldc)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

void kern_f32_gemm(kern_trans ta, kern_trans tb, size_t m, size_t n, size_t k,
                   float alpha, const float *a, size_t lda,
                   const float *b, size_t ldb, float beta,
                   float *c, size_t ldc, void *workspace,
                   const kern_pool *pool)
{
    KERN_ASSERT(ldc >= n);
    KERN_ASSERT(lda >= (ta == KERN_NOTRANS ? k : m));
    KERN_ASSERT(ldb >= (tb == KERN_NOTRANS ? n : k));
    if (m == 0 || n == 0)
        return;
    if (active->ukernel == 0) {
        kern_f32_gemm__ref(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c,
                           ldc, workspace, pool);
        return;
    }
    if (k == 0 || alpha == 0.0f) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    KERN_ASSERT(workspace != 0);
    KERN_ASSERT(((uintptr_t)workspace & (KERN_ALIGN - 1)) == 0);
    const kern_f32_gemm_config *cfg =
        narrow && n <= KERN_F32_GEMM_NARROW_N && ta == KERN_NOTRANS ? narrow
                                                                    : active;
    gemm_call g = {
        .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha,
        .beta = beta, .a = a, .b = b, .lda = lda, .ldb = ldb, .ldc = ldc,
        .c = c, .workspace = workspace, .cfg = cfg,
    };
    g.ws_thread = kern_f32_gemm_workspace_size(m, n, k, 1);
    size_t t = choose_grid(&g, kern_pool_threads(pool));
    if (t > 1 && g.tn == 1 && g.ms > cfg->mc &&
        2 * g.m * KERN_MIN(n, cfg->nc) * KERN_MIN(k, cfg->kc) >=
            GEMM_SHARED_MIN_FLOPS * t) {
        gemm_shared_b(&g, pool, t);
        return;
    }
    size_t tasks = KERN_DIV_UP(m, g.ms) * g.tn;
    kern_parallel_for(pool, gemm_task, &g, tasks);
}
