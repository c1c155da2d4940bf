/* Per-step cgroups through libcgroup, on cgroup v1 (one hierarchy per controller, as on
 * this project's CI machine) or v2 (one unified hierarchy, as on most production hosts).
 * Each sandboxed step gets its own cgroup <parent>/<name> under the ccx subtree, with
 * memory (swap included), pids and CPU bandwidth limits; its peak memory, CPU time, OOM
 * kills and refused forks are read back from it. Nothing outside the ccx subtree is touched. */
#ifndef CCX_WORKER_CGROUP_H
#define CCX_WORKER_CGROUP_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/limits.h"

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

/* Creates <parent>/<name> with the limits applied (memory_mb as memory plus swap, pids,
 * cpu_quota_pct of one CPU's bandwidth). Returns 0 or -errno; on failure nothing is left. */
int cg_job_create(struct cg_system *system, const char *name, const struct limits *limits,
                  uint64_t cpu_quota_pct, struct cg_job **ret_job);

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
