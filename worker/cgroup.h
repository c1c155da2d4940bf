/* Per-step cgroups through libcgroup, on cgroup v1 (one hierarchy per controller, as on
 * this project's CI machine) or v2 (one unified hierarchy, as on most production hosts).
 * Each sandboxed step gets its own cgroup <parent>/<tenant dir>/<name> under the ccx subtree,
 * with memory (swap included), pids and CPU bandwidth limits; its peak memory, CPU time, OOM
 * kills and refused forks are read back from it. The tenant's cgroup above it holds the
 * aggregate limits of every step of that tenant on the host (struct policy_cgroup), so one
 * tenant cannot take the memory, pids or CPU of the others. Nothing outside the ccx subtree
 * is touched. */
#ifndef CCX_WORKER_CGROUP_H
#define CCX_WORKER_CGROUP_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/limits.h"
#include "common/policy.h"

enum cg_mode {
    CG_MODE_V1,
    CG_MODE_V2,
};

struct cg_system;
struct cg_job;

struct cg_stats {
    uint64_t memory_peak_bytes;
    uint64_t cpu_usage_ns;
    uint64_t oom_kills;     /* processes the OOM killer ended in this cgroup */
    uint64_t pids_refused;  /* forks refused by pids.max */
    uint64_t memory_limit_hits; /* times usage reached the limit and had to be reclaimed */
};

/* Initialises libcgroup, finds the hierarchy (v1 or v2) that holds the memory, pids and CPU
 * controllers, and creates the parent cgroup `parent` when missing. Returns 0 or -errno
 * (-ENOENT when a controller is missing) and logs what it found or lacked. */
int cg_system_new(const char *parent, struct cg_system **ret_system);
void cg_system_free(struct cg_system *system);
enum cg_mode cg_system_mode(const struct cg_system *system);

/* "cgroup_v1" or "cgroup_v2". */
const char *cg_mode_name(enum cg_mode mode);

/* ---- Tenant parents ---- */

/* The directory of a tenant below the ccx parent: "t-", the first 32 bytes of the name with
 * A-Z lowered, [a-z0-9_-] kept and every other byte (a '/', a '.', a space, each byte of a
 * UTF-8 sequence) made '_', then "-" and the 8 hex digits of the 32-bit FNV-1a hash of the
 * exact name. "Acme" and "acme" differ; NULL is the tenant "default". Never starts with 'w',
 * which names step cgroups. */
#define CG_TENANT_DIR_SIZE 44
void cg_tenant_dir_name(const char *tenant, char buf[CG_TENANT_DIR_SIZE]);

/* What a tenant parent holds, read back from its files after the policy was applied. */
struct cg_tenant_values {
    uint64_t memory_bytes;   /* UINT64_MAX: no limit */
    uint64_t pids;           /* UINT64_MAX: no limit */
    uint64_t cpu_weight;     /* v2 cpu.weight, or v1 cpu.shares */
};

/* Removes the tenant parents below the ccx parent that no step uses (rmdir: the kernel
 * answers EBUSY for one that still has a step cgroup, and that one stays). A worker calls it
 * when it starts and when it stops, never while it holds a step cgroup of its own. Returns
 * how many were removed. Logs each at info. */
int cg_tenant_remove_idle(struct cg_system *system);

/* ---- Step cgroups ---- */

/* Creates <parent>/<tenant dir>/<name> with the limits applied (memory_mb as memory plus
 * swap, pids, cpu_quota_pct of one CPU's bandwidth), creating the tenant's parent when it is
 * missing (several workers may race for it: finding it made is fine, and one removed under
 * us as idle is made again, up to 5 times), and then applies the tenant's policy (NULL: no
 * memory or pids limit, CPU weight 100) to that parent, once the step cgroup exists and the
 * parent can no longer be removed under it. Returns 0 or -errno; on failure no step cgroup
 * is left (a tenant parent may be: it is removed when idle). */
int cg_job_create(struct cg_system *system, const char *tenant, const struct policy_cgroup *policy,
                  const char *name, const struct limits *limits, uint64_t cpu_quota_pct,
                  struct cg_job **ret_job);

/* Writes the tenant's policy to the job's tenant parent where the files hold other values (a
 * policy reload, or another worker with an older policy), in an order each write accepts:
 * on v1 memory plus swap is raised before memory and lowered after it. A limit the kernel
 * refuses (EBUSY: memory lowered below what the tenant uses now) keeps its old value and is
 * logged. Reads back what the files hold into *ret_values (NULL allowed). Returns 0 or
 * -errno when a file could not be read or written for another reason. */
int cg_job_tenant_apply(struct cg_job *job, const struct policy_cgroup *policy,
                        struct cg_tenant_values *ret_values);

/* The tenant directory name the job's cgroup lives in. */
const char *cg_job_tenant_dir(const struct cg_job *job);

/* Sets new limits on an existing job cgroup, lower than or equal to those it was created
 * with (memory is lowered before memory plus swap), and starts its peak memory afresh where
 * the hierarchy allows (v1). Returns 0 or -errno. */
int cg_job_set_limits(struct cg_job *job, const struct limits *limits, uint64_t cpu_quota_pct);

/* The cgroup.procs file of each hierarchy the job's cgroup spans, for a new process to move
 * itself in by writing "0". Moving a process is the costly part of starting a sandbox (the
 * kernel waits for an RCU grace period, about 10 ms here): done by the new process itself,
 * the wait falls on it and not on the worker. Writes at most max paths; returns how many,
 * or -ENAMETOOLONG. */
#define CG_PROCS_PATHS_MAX 4
int cg_job_procs_paths(const struct cg_job *job, char (*paths)[PATH_MAX], int max);

/* CPU time used so far by every process of the cgroup, cheap enough to poll. */
int cg_job_cpu_usage_ns(struct cg_job *job, uint64_t *ret_usage_ns);

/* Reads the final figures. Returns 0 or -errno. */
int cg_job_stats(struct cg_job *job, struct cg_stats *ret_stats);

/* SIGKILLs whatever is left in the cgroup, removes it (retrying while the kernel finishes
 * tearing processes down) and frees job. Accepts NULL. */
void cg_job_destroy(struct cg_job *job);

#endif
