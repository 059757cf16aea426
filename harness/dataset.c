/*
 * harness/dataset.c: see dataset.h. The harness_dataset must not be moved
 * after harness_dataset_open: its data_source points back at it.
 */
#include "harness/dataset.h"

#include <stdlib.h>
#include <string.h>

#include "data/split.h"
#include "harness/jpeg.h"

#define LABEL_MAX 256

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// --- the data_source over JPEG files -----------------------------------------

static void *source_thread_create(void *ctx)
{
    harness_dataset *ds = ctx;
    harness_jpeg_decoder *d = malloc(sizeof *d);
    if (d && !harness_jpeg_decoder_init(d, ds->max_file_bytes)) {
        free(d);
        d = NULL;
    }
    return d;
}

static void source_thread_destroy(void *ctx, void *state)
{
    harness_jpeg_decoder_free(state);
    free(state);
}

static data_decode_status source_decode(void *ctx, void *state, size_t i,
                                        uint8_t *rgb, size_t cap, int *h,
                                        int *w, int *orig_h, int *orig_w)
{
    harness_dataset *ds = ctx;
    char why[HARNESS_JPEG_WHY];
    harness_jpeg_status st = harness_jpeg_decode_file(
        state, ds->paths[i], ds->opts.full_decode ? 0 : ds->opts.size,
        ds->opts.max_pixels, rgb, cap, w, h, orig_w, orig_h, why);
    if (st == HARNESS_JPEG_OK)
        return DATA_DECODE_OK;
    /* one line per file per run, however often it is loaded */
    if (!atomic_exchange(&ds->reported[i], 1))
        fprintf(ds->opts.log, st == HARNESS_JPEG_WARNING
                ? "resin: warning: %s: %s (image used)\n"
                : "resin: %s: %s (zeros used in its place)\n",
                ds->paths[i], why);
    return st == HARNESS_JPEG_WARNING ? DATA_DECODE_WARNING
                                      : DATA_DECODE_FAILED;
}

// --- building ----------------------------------------------------------------

typedef struct scan {
    harness_image_list list;
    char **label;          /* (N) NULL when unlabelled or bad */
    harness_jpeg_info *info;
    size_t *perm, *valid, *train, cut;
} scan;

static void scan_free(scan *s)
{
    for (size_t i = 0; s->label && i < s->list.n; i++)
        free(s->label[i]);
    free(s->label);
    free(s->info);
    free(s->perm);
    free(s->valid);
    free(s->train);
    harness_image_list_free(&s->list);
}

/* Labels every listed file; unlabelled ones get NULL and one log line. */
static harness_data_status label_all(const harness_dataset_opts *o, scan *s,
                                     size_t *unlabelled)
{
    harness_labeler *lb = harness_labeler_create(o->pattern, o->log);
    if (!lb)
        return HARNESS_DATA_ERR_PATTERN;
    char buf[LABEL_MAX];
    size_t n = s->list.n, matched = 0;
    for (size_t i = 0; i < n; i++) {
        int len = harness_labeler_apply(lb, s->list.paths[i], buf, sizeof buf);
        if (len == -2)
            fprintf(o->log, "resin: %s: label longer than %d bytes, left "
                    "out\n", s->list.paths[i], LABEL_MAX - 1);
        else if (len < 0)
            fprintf(o->log, "resin: %s: name does not match the label pattern "
                    "'%s', left out\n", s->list.paths[i], o->pattern);
        if (len >= 0 && !(s->label[i] = strdup(buf)))
            return HARNESS_DATA_ERR_NOMEM;
        matched += len >= 0;
    }
    harness_labeler_free(lb);
    *unlabelled = n - matched;
    if (matched == 0) {
        fprintf(o->log, "resin: label pattern '%s' matches none of the %zu "
                "image files in %s (example name: %s)\n", o->pattern, n,
                o->dir, s->list.paths[0]);
        return HARNESS_DATA_ERR_NO_MATCH;
    }
    return HARNESS_DATA_OK;
}

/* Reads every labelled file's header; bad files lose their label. */
static size_t probe_all(const harness_dataset_opts *o, scan *s)
{
    size_t bad = 0;
    char why[HARNESS_JPEG_WHY];
    for (size_t i = 0; i < s->list.n; i++) {
        if (!s->label[i])
            continue;
        if (harness_jpeg_probe(NULL, s->list.paths[i], o->max_pixels,
                               &s->info[i], why) == HARNESS_JPEG_OK)
            continue;
        fprintf(o->log, "resin: skip %s: %s\n", s->list.paths[i], why);
        free(s->label[i]);
        s->label[i] = NULL;
        bad++;
    }
    return bad;
}

/* classes = sorted unique labels of the usable training items */
static harness_data_status make_classes(scan *s, harness_dataset *ds)
{
    size_t nt = s->list.n - s->cut, k = 0;
    ds->classes = malloc((nt ? nt : 1) * sizeof *ds->classes);
    if (!ds->classes)
        return HARNESS_DATA_ERR_NOMEM;
    for (size_t i = 0; i < nt; i++)
        if (s->label[s->train[i]])
            ds->classes[k++] = s->label[s->train[i]];
    qsort(ds->classes, k, sizeof *ds->classes, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(ds->classes[u - 1], ds->classes[i]) != 0)
            ds->classes[u++] = ds->classes[i];
    for (size_t i = 0; i < u; i++)   /* own copies: scan labels are freed */
        if (!(ds->classes[i] = strdup(ds->classes[i]))) {
            ds->nclasses = i;
            return HARNESS_DATA_ERR_NOMEM;
        }
    ds->nclasses = u;
    return u ? HARNESS_DATA_OK : HARNESS_DATA_ERR_EMPTY;
}

static int32_t class_of(const harness_dataset *ds, const char *label)
{
    char *const *hit = bsearch(&label, ds->classes, ds->nclasses,
                               sizeof *ds->classes, cmp_str);
    return hit ? (int32_t)(hit - ds->classes) : -1;
}

/* Items = usable files in listing order; train/valid mapped onto them. */
static harness_data_status make_items(scan *s, harness_dataset *ds)
{
    size_t n = s->list.n;
    size_t *item_of = malloc((n ? n : 1) * sizeof *item_of);
    ds->paths = calloc(n ? n : 1, sizeof *ds->paths);
    ds->labels = malloc((n ? n : 1) * sizeof *ds->labels);
    ds->height = malloc((n ? n : 1) * sizeof *ds->height);
    ds->width = malloc((n ? n : 1) * sizeof *ds->width);
    ds->train = malloc((n ? n : 1) * sizeof *ds->train);
    ds->valid = malloc((n ? n : 1) * sizeof *ds->valid);
    if (!item_of || !ds->paths || !ds->labels || !ds->height || !ds->width ||
        !ds->train || !ds->valid) {
        free(item_of);
        return HARNESS_DATA_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int32_t c = s->label[i] ? class_of(ds, s->label[i]) : -1;
        bool is_valid_only = c < 0 && s->label[i];
        if (is_valid_only) {
            fprintf(ds->opts.log, "resin: %s: label '%s' is not a training "
                    "class, left out of the validation set\n",
                    s->list.paths[i], s->label[i]);
            ds->dropped_valid++;
        }
        item_of[i] = SIZE_MAX;
        if (c < 0)
            continue;
        item_of[i] = ds->n;
        ds->paths[ds->n] = s->list.paths[i];
        s->list.paths[i] = NULL; /* moved */
        ds->labels[ds->n] = c;
        ds->height[ds->n] = s->info[i].height;
        ds->width[ds->n] = s->info[i].width;
        if (s->info[i].file_bytes > ds->max_file_bytes)
            ds->max_file_bytes = s->info[i].file_bytes;
        ds->n++;
    }
    for (size_t i = 0; i < n - s->cut; i++)
        if (item_of[s->train[i]] != SIZE_MAX)
            ds->train[ds->ntrain++] = item_of[s->train[i]];
    for (size_t i = 0; i < s->cut; i++)
        if (item_of[s->valid[i]] != SIZE_MAX)
            ds->valid[ds->nvalid++] = item_of[s->valid[i]];
    free(item_of);
    return HARNESS_DATA_OK;
}

static void make_source(harness_dataset *ds)
{
    size_t max_rgb = 3;
    for (size_t i = 0; i < ds->n; i++) {
        int num = 1, den = 1;
        if (!ds->opts.full_decode)
            harness_jpeg_pick_scale(ds->width[i], ds->height[i], ds->opts.size,
                                    &num, &den);
        size_t b = (size_t)harness_jpeg_scaled(ds->width[i], num, den) *
                   harness_jpeg_scaled(ds->height[i], num, den) * 3;
        if (b > max_rgb)
            max_rgb = b;
    }
    ds->source = (data_source){
        .n = ds->n, .labels = ds->labels, .max_rgb_bytes = max_rgb,
        .need = ds->opts.size, .ctx = ds,
        .thread_create = source_thread_create,
        .thread_destroy = source_thread_destroy, .decode = source_decode};
}

harness_data_status harness_dataset_open(const harness_dataset_opts *opts,
                                         harness_dataset *ds)
{
    *ds = (harness_dataset){.opts = *opts};
    harness_dataset_opts *o = &ds->opts;
    o->pattern = o->pattern ? o->pattern : HARNESS_DEFAULT_PATTERN;
    o->max_pixels = o->max_pixels ? o->max_pixels
                                  : HARNESS_JPEG_MAX_PIXELS_DEFAULT;
    o->log = o->log ? o->log : stderr;
    o->size = o->size > 0 ? o->size : 224;
    scan s = {0};
    harness_data_status st = harness_list_images(o->dir, &s.list, o->log);
    if (st != HARNESS_DATA_OK)
        goto fail;
    size_t n = s.list.n;
    if (n == 0) {
        fprintf(o->log, "resin: %s: no image files (.jpg, .jpeg, .png, ...)\n",
                o->dir);
        st = HARNESS_DATA_ERR_EMPTY;
        goto fail;
    }
    st = HARNESS_DATA_ERR_NOMEM;
    s.label = calloc(n, sizeof *s.label);
    s.info = calloc(n, sizeof *s.info);
    s.perm = malloc(n * sizeof *s.perm);
    s.valid = malloc(n * sizeof *s.valid);
    s.train = malloc(n * sizeof *s.train);
    if (!s.label || !s.info || !s.perm || !s.valid || !s.train)
        goto fail;
    s.cut = data_split(n, o->valid_pct, o->split_seed, s.perm, s.valid,
                       s.train);
    ds->listed = n;
    if ((st = label_all(o, &s, &ds->unlabelled)) != HARNESS_DATA_OK)
        goto fail;
    ds->bad = probe_all(o, &s);
    if ((st = make_classes(&s, ds)) != HARNESS_DATA_OK) {
        if (st == HARNESS_DATA_ERR_EMPTY)
            fprintf(o->log, "resin: %s: no usable training image\n", o->dir);
        goto fail;
    }
    if ((st = make_items(&s, ds)) != HARNESS_DATA_OK)
        goto fail;
    ds->reported = calloc(ds->n ? ds->n : 1, sizeof *ds->reported);
    if (!ds->reported) {
        st = HARNESS_DATA_ERR_NOMEM;
        goto fail;
    }
    make_source(ds);
    fprintf(o->log, "resin: %s: %zu image files -> %zu train, %zu valid, %zu "
            "classes (%zu unlabelled, %zu unreadable left out)\n", o->dir, n,
            ds->ntrain, ds->nvalid, ds->nclasses, ds->unlabelled, ds->bad);
    scan_free(&s);
    return HARNESS_DATA_OK;
fail:
    if (st == HARNESS_DATA_ERR_NOMEM)
        fprintf(o->log, "resin: %s: out of memory reading the data set\n",
                o->dir);
    scan_free(&s);
    harness_dataset_free(ds);
    return st;
}

void harness_dataset_free(harness_dataset *ds)
{
    for (size_t i = 0; ds->paths && i < ds->n; i++)
        free(ds->paths[i]);
    for (size_t i = 0; ds->classes && i < ds->nclasses; i++)
        free(ds->classes[i]);
    free(ds->paths);
    free(ds->classes);
    free(ds->labels);
    free(ds->height);
    free(ds->width);
    free(ds->train);
    free(ds->valid);
    free((void *)ds->reported);
    *ds = (harness_dataset){0};
}

// --- predict -----------------------------------------------------------------

bool harness_image_to_input(const char *path, int size, bool full_decode,
                            float *out, FILE *log)
{
    log = log ? log : stderr;
    char why[HARNESS_JPEG_WHY];
    harness_jpeg_info info;
    if (harness_jpeg_probe(NULL, path, HARNESS_JPEG_MAX_PIXELS_DEFAULT, &info,
                           why) != HARNESS_JPEG_OK) {
        fprintf(log, "resin: %s: %s\n", path, why);
        return false;
    }
    harness_jpeg_decoder d;
    if (!harness_jpeg_decoder_init(&d, info.file_bytes)) {
        fprintf(log, "resin: %s: out of memory\n", path);
        return false;
    }
    size_t cap = (size_t)info.width * info.height * 3;
    uint8_t *rgb = malloc(cap);
    float *scratch = malloc(cap * sizeof(float));
    int w = 0, h = 0, ow, oh;
    harness_jpeg_status st = HARNESS_JPEG_BAD;
    if (rgb && scratch)
        st = harness_jpeg_decode_file(&d, path, full_decode ? 0 : size,
                                      HARNESS_JPEG_MAX_PIXELS_DEFAULT, rgb,
                                      cap, &w, &h, &ow, &oh, why);
    else
        snprintf(why, sizeof why, "out of memory");
    if (st == HARNESS_JPEG_WARNING)
        fprintf(log, "resin: warning: %s: %s (image used)\n", path, why);
    bool ok = st != HARNESS_JPEG_BAD &&
              data_render_valid(rgb, h, w, oh, ow, size, scratch, out);
    if (st == HARNESS_JPEG_BAD)
        fprintf(log, "resin: %s: %s\n", path, why);
    free(rgb);
    free(scratch);
    harness_jpeg_decoder_free(&d);
    return ok;
}
