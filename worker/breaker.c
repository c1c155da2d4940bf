#include "worker/breaker.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Event kinds that mean the sandbox refused or stopped something the job tried. */
static const char *const brk_escape_kinds[] = {
    "policy_violation", "seccomp_kill", "syscall_refused", "syscall_refused_suppressed",
};

/* Event kinds of a resource limit the job ran into (memory_pressure is not one: it only
 * explains a timeout or cpu_limit, which are there too). */
static const char *const brk_limit_kinds[] = {
    "timeout", "cpu_limit", "memory_limit", "pids_limit", "output_limit",
};

/* The start of the reason of a job quarantined as poison (worker/jobq.c). */
#define BRK_POISON_REASON "quarantined as a poison job"
/* In a dead_letter's reason: its last attempt ended with ccx's own failure. */
#define BRK_LAST_INTERNAL "the last: internal_error"
/* The reason of a step the worker stopped itself (a lost lease, a cancel): never ccx's
 * failure, and never published as such. */
#define BRK_STOPPED_BY_WORKER "step was stopped by the worker"

int brk_settings_format(const struct policy_breaker *policy, const struct brk_fleet *fleet,
                        char *buf, size_t size)
{
    int n;

    if (policy->window_calls == 0 || policy->probes == 0 || policy->failure_pct > 100)
        return -EINVAL;

    n = snprintf(buf, size,
                 "enabled=%d window_calls=%" PRIu32 " window_ms=%" PRIu64 " min_calls=%" PRIu32
                 " failure_pct=%" PRIu32 " cooldown_ms=%" PRIu64 " probes=%" PRIu32
                 " min_hosts=%" PRIu32 " count_limits=%d live_ms=%" PRIu64
                 " probe_ttl_ms=%" PRIu64 " events_maxlen=%" PRIu64,
                 policy->enabled ? 1 : 0, policy->window_calls, policy->window_ms,
                 policy->min_calls, policy->failure_pct, policy->cooldown_ms, policy->probes,
                 policy->min_hosts, policy->count_limits ? 1 : 0, fleet->live_ms,
                 fleet->probe_ttl_ms, fleet->events_maxlen);
    if (n < 0 || (size_t)n >= size)
        return -ENOSPC;
    return n;
}

static bool brk_kind_in(const char *kind, const char *const *kinds, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (kind && strcmp(kind, kinds[i]) == 0)
            return true;
    }
    return false;
}

static bool brk_has_event(const struct result *result, const char *const *kinds, size_t count)
{
    for (size_t i = 0; i < result->events.count; i++) {
        if (brk_kind_in(result->events.items[i].kind, kinds, count))
            return true;
    }
    return false;
}

static bool brk_reason_has(const struct result *result, const char *text, bool at_start)
{
    if (!result->reason)
        return false;
    if (at_start)
        return strncmp(result->reason, text, strlen(text)) == 0;
    return strstr(result->reason, text) != NULL;
}

/* A resource limit stopped the job: its status says so, or its compile step was stopped by
 * one (the status is then compile_error, and the limit's event is there). */
static bool brk_hit_limit(const struct result *result)
{
    switch (result->status) {
    case JOB_STATUS_TIMEOUT:
    case JOB_STATUS_CPU_LIMIT:
    case JOB_STATUS_MEMORY_LIMIT:
    case JOB_STATUS_PIDS_LIMIT:
    case JOB_STATUS_OUTPUT_LIMIT:
        return true;
    case JOB_STATUS_COMPILE_ERROR:
        return brk_has_event(result, brk_limit_kinds,
                             sizeof(brk_limit_kinds) / sizeof(brk_limit_kinds[0]));
    default:
        return false;
    }
}

struct brk_verdict brk_classify(const struct result *result, bool count_limits)
{
    struct brk_verdict verdict = {.counted = true};

    switch (result->status) {
    case JOB_STATUS_REJECTED:
    case JOB_STATUS_CANCELLED:
    case JOB_STATUS_EXPIRED:
    case JOB_STATUS_CIRCUIT_OPEN:
        verdict.counted = false;
        return verdict;
    case JOB_STATUS_INTERNAL_ERROR:
        verdict.counted = !brk_reason_has(result, BRK_STOPPED_BY_WORKER, false);
        verdict.host_failed = verdict.counted;
        return verdict;
    case JOB_STATUS_DEAD_LETTER:
        verdict.tenant_failed = brk_reason_has(result, BRK_POISON_REASON, true);
        verdict.host_failed = !verdict.tenant_failed &&
                              brk_reason_has(result, BRK_LAST_INTERNAL, false);
        return verdict;
    case JOB_STATUS_POLICY_VIOLATION:
        verdict.tenant_failed = true;
        return verdict;
    default:
        break;
    }

    /* A kernel seccomp kill ends the job with SIGSYS. */
    if (result->status == JOB_STATUS_SIGNALED && result->run.signal == SIGSYS)
        verdict.tenant_failed = true;
    if (brk_has_event(result, brk_escape_kinds,
                      sizeof(brk_escape_kinds) / sizeof(brk_escape_kinds[0])))
        verdict.tenant_failed = true;
    if (count_limits && brk_hit_limit(result))
        verdict.tenant_failed = true;
    return verdict;
}
