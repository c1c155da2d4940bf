/* The sandbox: runs one program in fresh user, pid, mount, net, ipc, uts and cgroup
 * namespaces, on a read-only root with a tmpfs workspace, under cgroup limits, rlimits and
 * a seccomp filter, and reports how it ended. One struct sandbox per worker: it owns the
 * seccomp filter (built once), the worker's host uid and the job's workspace. */
#ifndef CCX_WORKER_SANDBOX_H
#define CCX_WORKER_SANDBOX_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/job.h"
#include "common/limits.h"
#include "common/policy.h"
#include "common/result.h"
#include "worker/filter.h"
#include "worker/filter_set.h"

struct sandbox;

/* Life-cycle. sandbox_new moves the calling process into a private mount namespace (the
 * workspaces it mounts are invisible to the host and vanish with it), builds the seccomp
 * filter, checks the cgroup controllers and leases a host uid for its jobs (uid_base + slot
 * when free, else the next free one: see uid_lease.h). Returns 0 or -errno, and logs what
 * failed. */
int sandbox_new(const struct ccx_config *config, int slot, struct sandbox **ret_sandbox);
void sandbox_free(struct sandbox *sandbox);

/* Makes every step watch *flag: once it is nonzero, the running step's processes are killed
 * within one tick (20 ms; at once when a signal interrupts the wait) and sandbox_run returns
 * -ECANCELED, as does any step started while it stays set. The flag is the caller's, set
 * from a signal handler; NULL turns the watch off. */
void sandbox_set_abort_flag(struct sandbox *sandbox, const volatile sig_atomic_t *flag);

/* Makes the filters of set (borrowed: it must outlive the sandbox or the next call) the ones
 * a step may name besides the sandbox's own. The children waiting for their job were cloned
 * with the old set in their memory: they are dropped, and sandbox_warm_up clones new ones.
 * Call it between jobs. */
void sandbox_set_filters(struct sandbox *sandbox, const struct filter_set *set);

/* The host uid (and gid) this sandbox's jobs run as. */
uid_t sandbox_host_uid(const struct sandbox *sandbox);

/* Makes sure children are cloned and waiting for the next steps, so that a step does not
 * wait for the kernel to move a process into a new cgroup (about 10 ms on cgroup v1). They
 * wait in the cgroup of the last step's tenant ("default" before any step): a step of
 * another tenant replaces them, since a cgroup cannot move to another parent. A
 * worker calls it when it starts and after each job, not while a job runs: a process moving
 * between cgroups holds up the forks and exits of every other one. Without it, each step
 * clones its child when it starts (a one-shot run, which would only waste them). Returns 0
 * or -errno. */
int sandbox_warm_up(struct sandbox *sandbox);

/* Adds to out how this sandbox enforces each limit and isolation (cgroup version, ...) for a
 * run under filter (NULL: the sandbox's own). */
int sandbox_describe(const struct sandbox *sandbox, const struct filter *filter,
                     struct enforcement_list *out);

/* Adds to out ("tenant_cgroup") the tenant parent the last step ran under and the limits its
 * files held then; nothing when no step has run. Returns 0 or -ENOMEM. */
int sandbox_describe_tenant(const struct sandbox *sandbox, struct enforcement_list *out);

/* A fresh workspace for job: a tmpfs of limits.disk_mb holding the job's files, owned by the
 * job's uid. Replaces any earlier one. Returns 0 or -errno. */
int sandbox_workspace_create(struct sandbox *sandbox, const struct job *job);
void sandbox_workspace_destroy(struct sandbox *sandbox);

struct sandbox_step {
    const char *job_id;         /* for logs and the cgroup's name */
    const char *tenant;         /* NULL: "default"; names the tenant's parent cgroup */
    const struct policy_cgroup *tenant_cgroup; /* the tenant's aggregate limits on this host;
                                                * NULL: none (CPU weight 100) */
    const char *const *argv;    /* argv[0] is an absolute path inside the sandbox, or ./x */
    const struct limits *limits;
    const uint8_t *stdin_data;
    size_t stdin_size;
    const struct filter *filter; /* NULL: the sandbox's own (the config's profile, children
                                  * allowed); else one of the set of sandbox_set_filters */
    uint64_t tmp_mb;             /* size of /tmp and /dev/shm; 0: the config's */
};

/* Runs one step in the current workspace and waits for it and everything it started. A
 * step->filter that is not the sandbox's nor in its set is refused with -EINVAL.
 * Returns 0 whenever the program ran, however it ended: *ret_outcome says how, and events
 * gets one entry per limit hit or refusal seen. Returns -errno when the sandbox could not be
 * set up (our failure: the caller reports internal_error); it logs the failing stage. */
int sandbox_run(struct sandbox *sandbox, const struct sandbox_step *step,
                struct step_outcome *ret_outcome, struct event_list *events);

#endif
