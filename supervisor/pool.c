/* The worker pool. Each slot owns one process at a time, an ev_child watcher for it and an
 * ev_timer for the restart backoff. A worker that dies is started again after a delay that
 * doubles with each quick death (1 s up to 60 s), so a worker that crashes at start-up (bad
 * config, Redis ACL) cannot spin the host, and one that ran for a while comes back at once. */
#include "supervisor/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 60000

/* A worker that stayed up this long counts as healthy: the backoff of its slot starts over at
 * BACKOFF_FIRST_MS. */
#define HEALTHY_UPTIME_MS 60000

struct slot {
    struct pool *pool;
    int index;
    pid_t pid;              /* 0 while no worker runs in this slot */
    ev_tstamp started_at;   /* loop time of the fork, seconds */
    uint64_t backoff_ms;    /* delay before the next restart */
    ev_child child;
    ev_timer restart;
    char index_arg[16];     /* "3": the --slot argument, formatted before fork */
};

struct pool {
    struct ev_loop *loop;
    struct pool_options options;
    struct slot *slots;
    int live;               /* workers forked and not yet reaped */
    bool stopping;          /* after pool_stop: no more restarts */
};

/* Runs in the forked child: only async-signal-safe calls until execv, no malloc, no stdio.
 * The parent blocked every signal around fork, so libev's handlers cannot run here and write
 * into the pipe the child shares with the parent's loop. */
__attribute__((noreturn)) static void slot_exec(char *const argv[], pid_t parent)
{
    static const int reset[] = { SIGTERM, SIGINT, SIGCHLD, SIGHUP, SIGPIPE };
    sigset_t empty;
    int fd;

    for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
        signal(reset[i], SIG_DFL);

    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);

    /* A supervisor that dies without cleaning up must not leave workers taking jobs. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
        _exit(127);

    /* Its own process group: a ^C on the terminal reaches the supervisor only, which then
     * stops the workers in order. */
    setpgid(0, 0);

    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        close(fd);
    }

    execv(argv[0], argv);
    _exit(127);
}

static int slot_spawn(struct slot *slot)
{
    struct pool *pool = slot->pool;
    char *argv[] = {
        (char *)pool->options.worker_bin, "--slot", slot->index_arg,
        "--redis", (char *)pool->options.redis_url,
        "--config", (char *)pool->options.config_path, NULL,
    };
    sigset_t all, saved;
    pid_t parent = getpid();
    pid_t pid;
    int saved_errno;

    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &saved);

    pid = fork();
    if (pid == 0)
        slot_exec(argv, parent);

    saved_errno = errno;
    sigprocmask(SIG_SETMASK, &saved, NULL);
    if (pid < 0)
        return -saved_errno;

    slot->pid = pid;
    slot->started_at = ev_now(pool->loop);
    pool->live++;
    ev_child_set(&slot->child, pid, 0);
    ev_child_start(pool->loop, &slot->child);

    log_info("worker_started", "slot=%d pid=%d", slot->index, (int)pid);
    return 0;
}

static void slot_schedule_restart(struct slot *slot, uint64_t uptime_ms)
{
    uint64_t delay_ms;

    if (uptime_ms >= HEALTHY_UPTIME_MS)
        slot->backoff_ms = BACKOFF_FIRST_MS;

    delay_ms = slot->backoff_ms;
    slot->backoff_ms = delay_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay_ms * 2;

    ev_timer_set(&slot->restart, (ev_tstamp)delay_ms / 1000.0, 0.0);
    ev_timer_start(slot->pool->loop, &slot->restart);
    log_info("worker_restarting", "slot=%d delay_ms=%llu", slot->index,
             (unsigned long long)delay_ms);
}

/* "exit:0", "exit:127", "signal:9": how a wait status ended, for the worker_exited line. */
static const char *wait_status_text(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exit:%d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "signal:%d", WTERMSIG(status));
    else
        snprintf(buf, size, "raw:%d", status);
    return buf;
}

static void slot_on_exit(struct ev_loop *loop, ev_child *watcher, int revents)
{
    struct slot *slot = watcher->data;
    struct pool *pool = slot->pool;
    uint64_t uptime_ms = (uint64_t)((ev_now(loop) - slot->started_at) * 1000.0);
    bool clean = WIFEXITED(watcher->rstatus) && WEXITSTATUS(watcher->rstatus) == 0;
    char status[32];

    ev_child_stop(loop, watcher);
    slot->pid = 0;
    pool->live--;

    /* During shutdown an exit is expected; otherwise any exit is worth a warning. */
    log_at(pool->stopping && clean ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "worker_exited",
           "slot=%d pid=%d status=%s uptime_ms=%llu", slot->index, watcher->rpid,
           wait_status_text(watcher->rstatus, status, sizeof(status)),
           (unsigned long long)uptime_ms);

    if (!pool->stopping) {
        if (pool->options.on_died)
            pool->options.on_died(pool, pool->options.data);
        slot_schedule_restart(slot, uptime_ms);
        return;
    }

    if (pool->live == 0 && pool->options.on_empty)
        pool->options.on_empty(pool, pool->options.data);
}

static void slot_on_restart(struct ev_loop *loop, ev_timer *watcher, int revents)
{
    struct slot *slot = watcher->data;
    int r;

    if (slot->pool->stopping)
        return;

    r = slot_spawn(slot);
    if (r >= 0)
        return;

    log_warn("worker_spawn_failed", "slot=%d errno=%d", slot->index, -r);
    slot_schedule_restart(slot, 0);
}

int pool_new(struct ev_loop *loop, const struct pool_options *options, struct pool **ret_pool)
{
    struct pool *pool;

    if (options->worker_count < 1)
        return -EINVAL;

    pool = calloc(1, sizeof(*pool));
    if (!pool)
        return -ENOMEM;

    pool->slots = calloc((size_t)options->worker_count, sizeof(*pool->slots));
    if (!pool->slots) {
        free(pool);
        return -ENOMEM;
    }

    pool->loop = loop;
    pool->options = *options;
    for (int i = 0; i < options->worker_count; i++) {
        struct slot *slot = &pool->slots[i];

        slot->pool = pool;
        slot->index = i;
        slot->backoff_ms = BACKOFF_FIRST_MS;
        snprintf(slot->index_arg, sizeof(slot->index_arg), "%d", i);
        ev_child_init(&slot->child, slot_on_exit, 0, 0);
        slot->child.data = slot;
        ev_timer_init(&slot->restart, slot_on_restart, 0.0, 0.0);
        slot->restart.data = slot;
    }

    *ret_pool = pool;
    return 0;
}

void pool_free(struct pool *pool)
{
    if (!pool)
        return;

    for (int i = 0; i < pool->options.worker_count; i++) {
        ev_timer_stop(pool->loop, &pool->slots[i].restart);
        ev_child_stop(pool->loop, &pool->slots[i].child);
    }

    free(pool->slots);
    free(pool);
}

int pool_start(struct pool *pool)
{
    int first_error = 0;
    int started = 0;

    for (int i = 0; i < pool->options.worker_count; i++) {
        struct slot *slot = &pool->slots[i];
        int r = slot_spawn(slot);

        if (r >= 0) {
            started++;
            continue;
        }

        log_warn("worker_spawn_failed", "slot=%d errno=%d", slot->index, -r);
        if (first_error == 0)
            first_error = r;
        slot_schedule_restart(slot, 0);
    }

    return started > 0 ? 0 : first_error;
}

int pool_stop(struct pool *pool)
{
    pool->stopping = true;

    for (int i = 0; i < pool->options.worker_count; i++) {
        struct slot *slot = &pool->slots[i];

        ev_timer_stop(pool->loop, &slot->restart);
        if (slot->pid > 0 && kill(slot->pid, SIGTERM) < 0)
            log_warn("worker_signal_failed", "slot=%d pid=%d signal=%d errno=%d", slot->index,
                     (int)slot->pid, SIGTERM, errno);
    }

    return pool->live;
}

void pool_kill(struct pool *pool)
{
    for (int i = 0; i < pool->options.worker_count; i++) {
        struct slot *slot = &pool->slots[i];

        if (slot->pid <= 0)
            continue;

        log_warn("worker_killed", "slot=%d pid=%d", slot->index, (int)slot->pid);
        kill(slot->pid, SIGKILL);
    }
}

int pool_live_count(const struct pool *pool)
{
    return pool->live;
}
