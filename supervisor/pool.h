/* The worker pool: one ccx-worker process per slot, each restarted after a per-slot backoff
 * when it dies, all stopped together on shutdown. Runs on libev's default loop, the only loop
 * on which ev_child watchers work. The pool logs its own events (worker_started,
 * worker_exited, worker_restarting, worker_spawn_failed, worker_killed). */
#ifndef CCX_SUPERVISOR_POOL_H
#define CCX_SUPERVISOR_POOL_H

#include <ev.h>

struct pool;

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
    pool_empty_fn on_empty;  /* may be NULL */
    pool_died_fn on_died;    /* may be NULL */
    void *data;              /* handed to on_empty and on_died */
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

/* Workers forked and not yet reaped. */
int pool_live_count(const struct pool *pool);

#endif
