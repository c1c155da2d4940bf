#include "worker/analysis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/risk.h"

/* A rejection names at most this many findings; the result lists them all. */
#define ANALYSIS_REASON_FINDINGS 3
#define ANALYSIS_DETAIL_RULES 8

struct analysis_extension {
    const char *suffix;
    const char *language;
};

static const struct analysis_extension analysis_extensions[] = {
    { ".py", "python" }, { ".js", "node" }, { ".mjs", "node" }, { ".cjs", "node" },
    { ".c", "c" },       { ".h", "c" },     { ".sh", "sh" },    { ".bash", "sh" },
};

static bool analysis_ends_with(const char *text, const char *suffix)
{
    size_t text_len = strlen(text);
    size_t suffix_len = strlen(suffix);

    return text_len > suffix_len && strcmp(text + text_len - suffix_len, suffix) == 0;
}

const char *analysis_file_language(const struct job *job, const struct job_file *file)
{
    for (size_t i = 0; i < sizeof(analysis_extensions) / sizeof(analysis_extensions[0]); i++) {
        if (analysis_ends_with(file->path, analysis_extensions[i].suffix))
            return analysis_extensions[i].language;
    }
    if (job->main && strcmp(file->path, job->main) == 0)
        return job->language;
    return NULL;
}

/* Moves the findings of report, all from file, into result. Returns 0 or -ENOMEM. */
static int analysis_take_findings(struct result *result, const char *file,
                                  const struct risk_report *report)
{
    struct result_finding *grown;

    if (report->count == 0)
        return 0;

    grown = realloc(result->findings,
                    (result->finding_count + report->count) * sizeof(*result->findings));
    if (!grown)
        return -ENOMEM;
    result->findings = grown;

    for (size_t i = 0; i < report->count; i++) {
        struct result_finding *finding = &result->findings[result->finding_count];

        finding->file = strdup(file);
        if (!finding->file)
            return -ENOMEM;
        finding->rule = report->findings[i].rule;
        finding->line = report->findings[i].line;
        finding->severity = report->findings[i].severity;
        result->finding_count++;
    }
    if (report->level > result->risk_level)
        result->risk_level = report->level;
    return 0;
}

/* "process_spawn,raw_socket": each rule once, in the order found. */
static void analysis_rule_list(const struct result *result, char *out, size_t size)
{
    size_t len = 0;
    int listed = 0;

    out[0] = '\0';
    for (size_t i = 0; i < result->finding_count && listed < ANALYSIS_DETAIL_RULES; i++) {
        bool seen = false;

        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(result->findings[j].rule, result->findings[i].rule) == 0;
        if (seen)
            continue;

        int n = snprintf(out + len, size - len, "%s%s", listed ? "," : "",
                         result->findings[i].rule);
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
        listed++;
    }
}

/* "code risk high, at or above tenant acme's reject_at high: process_spawn (main.py:3),
 * ..." naming the most severe findings first. */
static int analysis_reject_reason(const struct job *job, const struct tenant_policy *tenant,
                                  struct result *result)
{
    char findings[512] = "";
    size_t len = 0;
    int named = 0;

    for (int level = RISK_CRITICAL; level > RISK_NONE; level--) {
        for (size_t i = 0; i < result->finding_count && named < ANALYSIS_REASON_FINDINGS; i++) {
            const struct result_finding *finding = &result->findings[i];
            int n;

            if ((int)finding->severity != level)
                continue;
            n = snprintf(findings + len, sizeof(findings) - len, "%s%s (%s:%u)",
                         named ? ", " : "", finding->rule, finding->file, finding->line);
            if (n < 0 || (size_t)n >= sizeof(findings) - len)
                break;
            len += (size_t)n;
            named++;
        }
    }

    free(result->reason);
    if (asprintf(&result->reason,
                 "code risk %s, at or above tenant '%s's reject_at %s: %s%s; not run",
                 risk_level_name(result->risk_level), job->tenant ? job->tenant : "default",
                 risk_level_name(tenant->reject_at), findings,
                 result->finding_count > (size_t)named ? ", ..." : "") < 0) {
        result->reason = NULL;
        return -ENOMEM;
    }
    return 0;
}

int analysis_run(const struct job *job, const struct tenant_policy *tenant,
                 struct result *result, bool *ret_reject)
{
    char rules[256];
    int r;

    *ret_reject = false;
    if (tenant->analysis == POLICY_ANALYSIS_OFF)
        return 0;

    result->has_risk = true;
    result->risk_level = RISK_NONE;
    for (size_t i = 0; i < job->file_count; i++) {
        const struct job_file *file = &job->files[i];
        const char *language = analysis_file_language(job, file);
        struct risk_report report = { 0 };

        if (!language)
            continue;

        r = risk_scan(language, file->data, file->size,
                      (const char *const *)tenant->denied_modules, &report);
        if (r == 0)
            r = analysis_take_findings(result, file->path, &report);
        risk_report_clear(&report);
        if (r < 0)
            return r;
    }

    if (result->finding_count == 0)
        return 0;

    *ret_reject = tenant->analysis == POLICY_ANALYSIS_REJECT &&
                  result->risk_level >= tenant->reject_at;
    analysis_rule_list(result, rules, sizeof(rules));
    r = event_list_add(&result->events, "code_risk", "level=%s findings=%zu rules=%s action=%s",
                       risk_level_name(result->risk_level), result->finding_count, rules,
                       *ret_reject ? "rejected" : "reported");
    if (r < 0)
        return r;

    return *ret_reject ? analysis_reject_reason(job, tenant, result) : 0;
}
