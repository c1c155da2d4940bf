/* Tenant policies: a JSON file (read with jansson) of defaults and per-tenant overrides that
 * decide what a tenant's jobs may do and how much of the fleet they may take. The config's
 * "policy" field names the file (relative: beside the config); the shipped one is
 * deploy/policy.json and docs/POLICY.md describes every field.
 *
 * A file has a "version" and the sections "defaults" and "tenants" (an object: tenant name ->
 * sections). Each tenant's sections are filesystem, network, processes, resources, modules,
 * code, breaker and quotas, all optional: what a tenant leaves out comes from "defaults", and
 * what "defaults" leaves out from the built-in values below (and the config's limits). */
#ifndef CCX_COMMON_POLICY_H
#define CCX_COMMON_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "limits.h"
#include "risk.h"

enum policy_analysis {
    POLICY_ANALYSIS_OFF,    /* the code is not scanned */
    POLICY_ANALYSIS_REPORT, /* findings go into the result and an event; the job runs */
    POLICY_ANALYSIS_REJECT, /* as report, and a job at or above reject_at is not run */
};

/* A tenant's circuit breaker (shared by every host through Redis). The window holds the last
 * window_calls outcomes, none older than window_ms. */
struct policy_breaker {
    bool enabled;
    uint32_t window_calls;   /* built-in 20 */
    uint64_t window_ms;      /* built-in 60000 */
    uint32_t min_calls;      /* no opening on fewer outcomes in the window; built-in 5 */
    uint32_t failure_pct;    /* opens at or above this failure rate; built-in 50 */
    uint64_t cooldown_ms;    /* OPEN lasts this long, then HALF_OPEN; built-in 30000 */
    uint32_t probes;         /* jobs let through in HALF_OPEN; built-in 2 */
    uint32_t min_hosts;      /* failures must come from this many hosts (all of them when
                              * the fleet has fewer live hosts); built-in 2 */
    bool count_limits;       /* memory/pids/cpu/output limits and timeouts count as failures;
                              * built-in false */
};

/* How much of the fleet a tenant may take. 0 means no cap for each field but weight. */
struct policy_quotas {
    uint32_t concurrency;    /* its jobs running at once, fleet-wide */
    uint32_t rate_per_s;     /* jobs started per second (token bucket) ... */
    uint32_t burst;          /* ... holding this many tokens at most (0: rate_per_s) */
    uint64_t queued_jobs;    /* jobs waiting at once: past it, intake rejects over_quota */
    uint64_t queued_bytes;   /* bytes of job messages waiting at once, likewise */
    uint32_t weight;         /* share of the workers against other tenants; built-in 1 */
};

/* The tenant's parent cgroup on each host: every job of the tenant runs under it, so that
 * together they cannot take more than this. 0 means no limit (memory, pids). */
struct policy_cgroup {
    uint64_t memory_mb;
    uint64_t pids;
    uint32_t cpu_weight;     /* 1..10000, as cgroup v2 cpu.weight; built-in 100 */
};

struct tenant_policy {
    char *name;              /* the tenant, or "defaults" */

    /* filesystem */
    uint64_t tmp_mb;         /* size of /tmp and /dev/shm; built-in: the config's */

    /* network: ccx gives jobs no network; a policy that asks for it is refused. */

    /* processes */
    bool children;           /* may a job start processes (fork, vfork, clone without
                              * CLONE_THREAD); built-in true. Threads are always allowed. */

    /* resources */
    struct limits limits_default; /* built-in: the config's */
    struct limits limits_max;     /* never above the config's ceilings */
    struct policy_cgroup cgroup;

    /* modules: imports (python), requires (node), #includes (c) the scanner reports as
     * critical for this tenant. NULL-terminated, or NULL for none. */
    char **denied_modules;

    /* code */
    char **languages;        /* NULL-terminated names allowed, or NULL for every language
                              * of the config */
    char *seccomp_profile;   /* absolute path of the profile, or NULL for the config's */
    enum policy_analysis analysis; /* built-in REPORT */
    enum risk_level reject_at;     /* built-in RISK_HIGH */

    struct policy_breaker breaker;
    struct policy_quotas quotas;
};

struct policy {
    char *path;              /* the file it was read from; NULL for the built-in policy */
    char *version;           /* the file's "version"; every result names it */
    struct tenant_policy defaults;
    struct tenant_policy *tenants;
    size_t tenant_count;
};

/* Reads and checks the policy at path against config (limits may not pass the config's
 * ceilings, languages must exist in the config). On success returns 0 and *ret_policy (free
 * with policy_free). On failure returns -errno (-ENOENT, -EINVAL, -ENOMEM) and writes into
 * err a message that names the file, the field (as a JSON path: tenants.acme.quotas.burst)
 * and the reason. Does not log. */
int policy_load(const char *path, const struct ccx_config *config, struct policy **ret_policy,
                char *err, size_t err_size);

/* The policy that applies when the config names no file: the built-in values, version
 * "builtin". Returns 0 or -ENOMEM. */
int policy_builtin(const struct ccx_config *config, struct policy **ret_policy);

void policy_free(struct policy *policy);

/* The tenant's policy, or the defaults for a tenant the file does not name. Never NULL. */
const struct tenant_policy *policy_tenant(const struct policy *policy, const char *tenant);

/* True when the tenant may use language. */
bool policy_language_allowed(const struct tenant_policy *tenant, const char *language);

#endif
