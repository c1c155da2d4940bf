/* The risk scanner against its labelled corpus (tests/risk/corpus): per category, how many
 * samples and how many flagged (level >= medium); the detection rate on risky samples and the
 * false-alarm rate on benign ones, for the main set and the held-out set; every miss and
 * false alarm with its findings; and the scan cost. Exits 1 unless the main set detects at
 * least 99 % and false-alarms under 5 %; the held-out and red-team (redteam/: cases a red-team
 * run found) rates are reported, not asserted.
 *
 *   risk_corpus CORPUS_DIR */
#include <stdbool.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/risk.h"

#define CORPUS_MAX_FILES 4096
#define CORPUS_RUNS 5   /* scans per file for its cost; the median is kept */

enum { CORPUS_MAIN, CORPUS_HELDOUT, CORPUS_REDTEAM };

static const char *const corpus_set_names[] = {"main", "held-out", "red-team"};

struct corpus_file {
    char *path;        /* relative to the corpus dir */
    const char *lang;
    char category[64]; /* "benign", or the risky sample's folder */
    int set;           /* CORPUS_MAIN, CORPUS_HELDOUT or CORPUS_REDTEAM */
    bool risky;
    unsigned char *data;
    size_t size;
};

static struct corpus_file corpus_files[CORPUS_MAX_FILES];
static size_t corpus_count;
static size_t corpus_root_len;

static const char *corpus_lang(const char *path)
{
    const char *dot = strrchr(path, '.');

    if (!dot)
        return NULL;
    if (!strcmp(dot, ".py"))
        return "python";
    if (!strcmp(dot, ".js"))
        return "node";
    if (!strcmp(dot, ".c"))
        return "c";
    if (!strcmp(dot, ".sh"))
        return "sh";
    return NULL;
}

static int corpus_read(const char *path, unsigned char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    long len;

    if (!f)
        return -errno;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc(len > 0 ? (size_t)len : 1);
    if (!*data || fread(*data, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        return -EIO;
    }
    *size = (size_t)len;
    fclose(f);
    return 0;
}

static int corpus_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    struct corpus_file *cf;
    const char *rel = path + corpus_root_len + 1;
    const char *lang = corpus_lang(path);
    const char *rest;

    if (type != FTW_F || !lang || corpus_count == CORPUS_MAX_FILES)
        return 0;
    cf = &corpus_files[corpus_count];
    cf->set = CORPUS_MAIN;
    rest = rel;
    if (!strncmp(rel, "heldout/", 8)) {
        cf->set = CORPUS_HELDOUT;
        rest = rel + 8;
    } else if (!strncmp(rel, "redteam/", 8)) {
        cf->set = CORPUS_REDTEAM;
        rest = rel + 8;
    }
    cf->risky = !strncmp(rest, "risky/", 6);
    if (!cf->risky && strncmp(rest, "benign/", 7))
        return 0;
    if (cf->risky) {
        const char *cat = rest + 6, *slash = strchr(cat, '/');
        size_t n = slash ? (size_t)(slash - cat) : strlen(cat);

        snprintf(cf->category, sizeof(cf->category), "%.*s", (int)n, cat);
    } else {
        snprintf(cf->category, sizeof(cf->category), "benign");
    }
    cf->path = strdup(rel);
    cf->lang = lang;
    if (!cf->path || corpus_read(path, &cf->data, &cf->size) < 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    corpus_count++;
    return 0;
}

static int corpus_cmp_path(const void *a, const void *b)
{
    const struct corpus_file *x = a, *y = b;

    return strcmp(x->path, y->path);
}

static int corpus_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double corpus_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void corpus_print_findings(const struct risk_report *r)
{
    for (size_t i = 0; i < r->count; i++)
        printf(" %s@%u:%s", r->findings[i].rule, r->findings[i].line,
               risk_level_name(r->findings[i].severity));
    printf("\n");
}

struct corpus_tally {
    char category[64];
    size_t samples, flagged;
};

/* Prints one set's table and its misses and false alarms; returns the two rates. */
static int corpus_report_set(int set, double *detection, double *false_alarms)
{
    struct corpus_tally tallies[64];
    size_t ntallies = 0, risky = 0, caught = 0, benign = 0, alarms = 0;

    printf("\n== %s set ==\n", corpus_set_names[set]);
    for (size_t i = 0; i < corpus_count; i++) {
        struct corpus_file *cf = &corpus_files[i];
        struct risk_report r = {0};
        struct corpus_tally *t = NULL;
        bool flagged;

        if (cf->set != set)
            continue;
        if (risk_scan(cf->lang, cf->data, cf->size, NULL, &r) < 0)
            return -ENOMEM;
        flagged = r.level >= RISK_MEDIUM;

        for (size_t k = 0; k < ntallies; k++)
            if (!strcmp(tallies[k].category, cf->category))
                t = &tallies[k];
        if (!t && ntallies < 64) {
            t = &tallies[ntallies++];
            snprintf(t->category, sizeof(t->category), "%s", cf->category);
            t->samples = t->flagged = 0;
        }
        if (t) {
            t->samples++;
            t->flagged += flagged;
        }

        if (cf->risky) {
            risky++;
            caught += flagged;
            if (!flagged) {
                printf("MISS  %s level=%s", cf->path, risk_level_name(r.level));
                corpus_print_findings(&r);
            }
        } else {
            benign++;
            alarms += flagged;
            if (flagged) {
                printf("FALSE %s level=%s", cf->path, risk_level_name(r.level));
                corpus_print_findings(&r);
            }
        }
        risk_report_clear(&r);
    }

    printf("%-24s %8s %8s\n", "category", "samples", "flagged");
    for (size_t k = 0; k < ntallies; k++)
        printf("%-24s %8zu %8zu\n", tallies[k].category, tallies[k].samples, tallies[k].flagged);
    *detection = risky ? 100.0 * caught / risky : 0;
    *false_alarms = benign ? 100.0 * alarms / benign : 0;
    printf("detection %zu/%zu = %.1f %%, false alarms %zu/%zu = %.1f %%\n", caught, risky,
           *detection, alarms, benign, *false_alarms);
    return (int)(risky + benign);
}

/* Median and p99 microseconds per file, and MB/s per language on about 1 MB of its files. */
static int corpus_cost(void)
{
    static const char *const langs[] = {"python", "node", "c", "sh"};
    double *per_file = calloc(corpus_count ? corpus_count : 1, sizeof(double));

    if (!per_file)
        return -ENOMEM;
    for (size_t i = 0; i < corpus_count; i++) {
        double runs[CORPUS_RUNS];

        for (int k = 0; k < CORPUS_RUNS; k++) {
            struct risk_report r = {0};
            double t0 = corpus_now_us();

            risk_scan(corpus_files[i].lang, corpus_files[i].data, corpus_files[i].size, NULL,
                      &r);
            runs[k] = corpus_now_us() - t0;
            risk_report_clear(&r);
        }
        qsort(runs, CORPUS_RUNS, sizeof(double), corpus_cmp_double);
        per_file[i] = runs[CORPUS_RUNS / 2];
    }
    qsort(per_file, corpus_count, sizeof(double), corpus_cmp_double);
    printf("\n== cost ==\nper file (%zu files): median %.1f us, p99 %.1f us\n", corpus_count,
           corpus_count ? per_file[corpus_count / 2] : 0,
           corpus_count ? per_file[(corpus_count * 99) / 100] : 0);
    free(per_file);

    for (size_t l = 0; l < 4; l++) {
        size_t cap = 1 << 20, n = 0;
        unsigned char *buf = malloc(cap);
        struct risk_report r = {0};
        bool any = false;
        double t0, us;

        if (!buf)
            return -ENOMEM;
        while (n < cap) {
            for (size_t i = 0; i < corpus_count && n < cap; i++) {
                size_t take;

                if (strcmp(corpus_files[i].lang, langs[l]) || corpus_files[i].risky)
                    continue;
                any = true;
                take = corpus_files[i].size < cap - n ? corpus_files[i].size : cap - n;
                memcpy(buf + n, corpus_files[i].data, take);
                n += take;
            }
            if (!any)
                break;
        }
        t0 = corpus_now_us();
        risk_scan(langs[l], buf, n, NULL, &r);
        us = corpus_now_us() - t0;
        printf("%-6s %zu bytes of benign files concatenated: %.1f ms, %.1f MB/s, %zu findings\n",
               langs[l], n, us / 1e3, us > 0 ? n / us : 0, r.count);
        risk_report_clear(&r);
        free(buf);
    }
    return 0;
}

int main(int argc, char **argv)
{
    double detection, false_alarms, held_detection, held_false, red_detection, red_false;
    int main_n, held_n, red_n;

    if (argc != 2) {
        fprintf(stderr, "usage: risk_corpus CORPUS_DIR\n");
        return 2;
    }
    corpus_root_len = strlen(argv[1]);
    while (corpus_root_len > 1 && argv[1][corpus_root_len - 1] == '/')
        argv[1][--corpus_root_len] = 0;
    if (nftw(argv[1], corpus_visit, 16, FTW_PHYS) != 0) {
        fprintf(stderr, "cannot walk %s\n", argv[1]);
        return 2;
    }
    qsort(corpus_files, corpus_count, sizeof(corpus_files[0]), corpus_cmp_path);

    main_n = corpus_report_set(CORPUS_MAIN, &detection, &false_alarms);
    held_n = corpus_report_set(CORPUS_HELDOUT, &held_detection, &held_false);
    red_n = corpus_report_set(CORPUS_REDTEAM, &red_detection, &red_false);
    if (main_n < 0 || held_n < 0 || red_n < 0 || corpus_cost() < 0) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }

    printf("\nmain: detection %.1f %% (need >= 99), false alarms %.1f %% (need < 5)\n",
           detection, false_alarms);
    printf("held-out (reported only): detection %.1f %%, false alarms %.1f %%\n",
           held_detection, held_false);
    printf("red-team (reported only): detection %.1f %%, false alarms %.1f %%\n", red_detection,
           red_false);
    if (main_n == 0 || detection < 99.0 || false_alarms >= 5.0) {
        printf("FAIL\n");
        return 1;
    }
    printf("PASS\n");
    return 0;
}
