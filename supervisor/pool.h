/* The worker pool: one ccx-worker process per slot, each restarted after a per-slot backoff
 * when it dies, all stopped together on shutdown; beside them, optionally, the host's
 * intake. Runs on libev's default loop, the only loop on which ev_child watchers work. The
 * pool logs its own events (worker_started, worker_exited, worker_restarting,
 * worker_spawn_failed, worker_killed, intake_spawned, intake_exited). */
#ifndef CCX_SUPERVISOR_POOL_H
#define CCX_SUPERVISOR_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

struct pool;

/* A job lease a worker holds, as it told the pool over its lease channel (fd 3 of the
 * worker; the messages are described in worker/main.c). */
struct pool_lease {
    int slot;
    const char *entry_id;    /* the pool's copy: valid until the pool's next callback runs */
    uint64_t token;
    uint64_t valid_until_ms; /* CLOCK_MONOTONIC: before then the lease cannot have expired */
    uint64_t claimed_at_ms;  /* CLOCK_MONOTONIC: when the worker took it */
};

/* What a worker is doing, as its lease channel and the pool's own actions tell: forked but
 * not ready yet (or waiting out a restart backoff, pid 0), ready for a job, running one,
 * or told to stop (pool_stop). */
enum pool_state {
    POOL_STATE_STARTING,
    POOL_STATE_IDLE,
    POOL_STATE_RUNNING,
    POOL_STATE_STOPPING,
    POOL_STATE_COUNT,
};

/* "starting", "idle", "running", "stopping". */
const char *pool_state_name(enum pool_state state);

/* One slot's worker, for the live state (supervisor/heartbeat.c). The strings are the
 * pool's copies, valid until the pool's next callback runs; "" when no job. */
struct pool_worker {
    int slot;
    enum pool_state state;
    int pid;                 /* 0 while the slot waits for a restart */
    const char *job_id;
    const char *tenant;
    uint64_t since_ms;       /* CLOCK_REALTIME ms: when the state began */
};

/* A job whose final result its worker stored ("done" on the lease channel). */
struct pool_job_done {
    int slot;
    const char *entry_id;    /* the stream entry: its first part is the enqueue ms */
    const char *tenant;
    const char *status;      /* the result's status name, checked to be one */
    uint64_t claimed_at_ms;  /* CLOCK_MONOTONIC: when the worker took the job */
    uint64_t run_ms;         /* the run step's wall time */
};

typedef void (*pool_job_done_fn)(struct pool *pool, const struct pool_job_done *done,
                                 void *data);

/* Called when a worker exited while it held a lease (killed, crashed, or at the end of the
 * shutdown grace): nobody renews that lease any more. */
typedef void (*pool_lease_left_fn)(struct pool *pool, const struct pool_lease *lease,
                                   void *data);

/* Called after pool_stop for each worker reaped (pid: the one it had), after
 * on_lease_left: what the worker was delivered and never leased can be handed back. */
typedef void (*pool_exited_fn)(struct pool *pool, int pid, void *data);

/* Called when the intake exited (pid: the one it had), in a drain or not: what it read and
 * did not admit can be handed back. */
typedef void (*pool_intake_exited_fn)(struct pool *pool, int pid, void *data);

/* Called once after pool_stop, when the last live worker has been reaped. */
typedef void (*pool_empty_fn)(struct pool *pool, void *data);

/* Called when a worker died outside shutdown, before its restart is scheduled: what it
 * left on the host (its cgroups) can be cleared then. */
typedef void (*pool_died_fn)(struct pool *pool, void *data);

/* The strings are borrowed and must outlive the pool. */
struct pool_options {
    const char *worker_bin;  /* the ccx-worker executable */
    const char *redis_url;   /* passed to each worker as --redis */
    const char *config_path; /* passed to each worker as --config */
    int worker_count;        /* slots 0 .. worker_count - 1 */
    bool intake;             /* also run the host's intake (ccx-worker --intake) in a slot of
                              * its own: restarted like a worker, stopped with them, but
                              * with no lease channel and no uid */
    uint64_t lease_ms;       /* how long a lease lasts from its claim */
    pool_empty_fn on_empty;  /* may be NULL */
    pool_died_fn on_died;    /* may be NULL */
    pool_lease_left_fn on_lease_left; /* may be NULL; called after on_died */
    pool_exited_fn on_stopped_exit;   /* may be NULL; not called for the intake */
    pool_intake_exited_fn on_intake_exited; /* may be NULL */
    pool_job_done_fn on_job_done;     /* may be NULL */
    void *data;              /* handed to the callbacks */
};

/* Allocates the slots; starts nothing. Returns 0 and *ret_pool, -EINVAL for a worker_count
 * below 1, or -ENOMEM. */
int pool_new(struct ev_loop *loop, const struct pool_options *options, struct pool **ret_pool);

/* Frees the pool. Its workers must have been reaped (pool_live_count() == 0). */
void pool_free(struct pool *pool);

/* Starts a worker in every slot. A slot whose fork fails is retried after its backoff, so
 * this only fails when nothing at all could start: returns 0 or -errno of the first fork. */
int pool_start(struct pool *pool);

/* Ends restarts and sends SIGTERM to every live worker, which finishes its running job and
 * exits. Returns the number of workers still alive; when it is above 0, on_empty follows
 * once they are all reaped. */
int pool_stop(struct pool *pool);

/* Sends SIGKILL to every live worker, for a grace period that ran out. */
void pool_kill(struct pool *pool);

/* Sends signo to every child the pool keeps (each live worker, whatever its mode): SIGHUP
 * to have them read the policy again. Children are started with SIGHUP blocked, so that one
 * sent before a child has set up its handler waits for it. Returns the number signalled;
 * a failure is logged. */
int pool_signal_all(struct pool *pool, int signo);

/* Stops the intake (SIGTERM: it ends after its current batch) and starts it again at once,
 * without the restart backoff: it reads the policy only at start. Returns 1 when it was
 * told, 0 when none runs, or -errno (logged). */
int pool_restart_intake(struct pool *pool);

/* Sends SIGKILL to the worker of one slot, if it lives and still holds the lease of token:
 * a worker that hangs. Its death then runs the usual path (on_lease_left, a restart).
 * Returns 0, or -ESRCH when that lease is not held any more. */
int pool_kill_holder(struct pool *pool, int slot, uint64_t token);

/* Workers forked and not yet reaped, the intake included. */
int pool_live_count(const struct pool *pool);

/* The number of slots: the most leases pool_leases can report. */
int pool_worker_count(const struct pool *pool);

/* Writes one entry per slot (up to max) into out; returns how many. */
size_t pool_workers(const struct pool *pool, struct pool_worker *out, size_t max);

/* Workers started again after one died, since pool_new. */
uint64_t pool_restart_count(const struct pool *pool);

/* Writes up to max of the leases the live workers hold into out; returns how many. */
size_t pool_leases(const struct pool *pool, struct pool_lease *out, size_t max);

/* Records that slot's lease of that token was renewed: it lasts until valid_until_ms. */
void pool_lease_renewed(struct pool *pool, int slot, uint64_t token, uint64_t valid_until_ms);

/* The lease of that token is lost to slot's worker: the pool forgets it and tells the
 * worker ("lost <token>", then SIGUSR1), which kills the job. Returns 0, -ENOENT when the
 * slot holds no such lease, or -errno when the worker could not be told. */
int pool_lease_revoke(struct pool *pool, int slot, uint64_t token);

/* The job of slot's lease of that token was cancelled by its client: the worker is told
 * ("cancel <token>", then SIGUSR1), once per lease, and kills the job but still publishes
 * its result, then releases the lease as usual. Returns 1 when it told the worker now, 0
 * when it had already, -ENOENT when the slot holds no such lease, or -errno. */
int pool_lease_cancel(struct pool *pool, int slot, uint64_t token);

#endif
