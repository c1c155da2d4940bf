/* The worker pool. Each slot owns one process at a time, an ev_child watcher for it and an
 * ev_timer for the restart backoff. A worker that dies is started again after a delay that
 * doubles with each quick death (1 s up to 60 s), so a worker that crashes at start-up (bad
 * config, Redis ACL) cannot spin the host, and one that ran for a while comes back at once.
 *
 * Each worker also gets a lease channel: a SOCK_SEQPACKET pair whose other end is the
 * worker's fd 3. The worker reports there the lease of the job it runs; the pool keeps it
 * in the slot for the supervisor to renew, and hands it to on_lease_left when the worker
 * dies holding it. It also tells the pool when the worker is ready and which job it ran to
 * a stored result (worker/main.c describes the messages), for the fleet's live state. */
#include "supervisor/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/result.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 60000

/* A worker that stayed up this long counts as healthy: the backoff of its slot starts over at
 * BACKOFF_FIRST_MS. */
#define HEALTHY_UPTIME_MS 60000

#define LEASE_FD 3                /* the worker's end of its lease channel */
#define LEASE_MESSAGE_MAX 512     /* as worker/main.c sends at most */
#define LEASE_ENTRY_ID_SIZE 64
#define LEASE_JOB_ID_SIZE 129     /* common/job.c: ids of up to 128 characters */
#define LEASE_TENANT_SIZE 65      /* and tenants of up to 64 */
#define LEASE_STATUS_SIZE 32

struct slot {
    struct pool *pool;
    int index;
    pid_t pid;              /* 0 while no worker runs in this slot */
    ev_tstamp started_at;   /* loop time of the fork, seconds */
    uint64_t backoff_ms;    /* delay before the next restart */
    ev_child child;
    ev_timer restart;
    char index_arg[16];     /* "3": the --slot argument, formatted before fork */

    int channel_fd;         /* our end of the lease channel; -1 while no worker runs */
    ev_io channel;
    bool leased;            /* the worker holds the lease below */
    char lease_entry[LEASE_ENTRY_ID_SIZE];
    uint64_t lease_token;
    uint64_t lease_valid_until_ms; /* CLOCK_MONOTONIC */
    uint64_t lease_claimed_at_ms;  /* CLOCK_MONOTONIC, as the worker said */
    bool cancel_sent;       /* the worker was told its job was cancelled */
    bool intake;            /* this slot runs the intake: no lease channel */
    bool restart_now;       /* the next restart skips the backoff (a policy reload) */

    bool ready;             /* the worker said "ready" */
    char job_id[LEASE_JOB_ID_SIZE]; /* of the lease held, "" when the worker did not say */
    char tenant[LEASE_TENANT_SIZE];
    uint64_t state_since_ms; /* CLOCK_REALTIME: when the state pool_workers reports began */
};

struct pool {
    struct ev_loop *loop;
    struct pool_options options;
    struct slot *slots;     /* the workers' slots, then the intake's if any */
    int slot_count;
    int live;               /* workers forked and not yet reaped */
    bool stopping;          /* after pool_stop: no more restarts */
    uint64_t restarts;      /* workers started again after a death */
};

static const char *const pool_state_names[POOL_STATE_COUNT] = {
    [POOL_STATE_STARTING] = "starting",
    [POOL_STATE_IDLE] = "idle",
    [POOL_STATE_RUNNING] = "running",
    [POOL_STATE_STOPPING] = "stopping",
};

static uint64_t realtime_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* Runs in the forked child: only async-signal-safe calls until execv, no malloc, no stdio.
 * The parent blocked every signal around fork, so libev's handlers cannot run here and write
 * into the pipe the child shares with the parent's loop. */
__attribute__((noreturn)) static void slot_exec(char *const argv[], pid_t parent,
                                                int channel_fd)
{
    static const int reset[] = { SIGTERM, SIGINT, SIGCHLD, SIGHUP, SIGPIPE };
    sigset_t only_hup;
    int fd;

    for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
        signal(reset[i], SIG_DFL);

    /* SIGHUP (reload the policy) stays blocked across exec: one sent before the worker
     * installs its handler must wait for it, not end the worker. */
    sigemptyset(&only_hup);
    sigaddset(&only_hup, SIGHUP);
    sigprocmask(SIG_SETMASK, &only_hup, NULL);

    /* A supervisor that dies without cleaning up must not leave workers taking jobs, nor
     * running them: nobody renews their leases any more, so the jobs go to other workers
     * after lease_ms whatever these do. They die at once and publish nothing. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(127);

    /* The lease channel becomes fd 3 before anything else can take that number. dup2
     * leaves the copy without FD_CLOEXEC; an fd that is 3 already must lose it by hand. */
    if (channel_fd < 0) {
        /* The intake: no lease channel. */
    } else if (channel_fd == LEASE_FD) {
        if (fcntl(LEASE_FD, F_SETFD, 0) < 0)
            _exit(127);
    } else if (dup2(channel_fd, LEASE_FD) < 0) {
        _exit(127);
    }

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
    char *intake_argv[] = {
        (char *)pool->options.worker_bin, "--intake",
        "--redis", (char *)pool->options.redis_url,
        "--config", (char *)pool->options.config_path, NULL,
    };
    sigset_t all, saved;
    pid_t parent = getpid();
    pid_t pid;
    int channel[2] = { -1, -1 };
    int saved_errno;

    if (!slot->intake &&
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, channel) < 0)
        return -errno;

    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &saved);

    pid = fork();
    if (pid == 0)
        slot_exec(slot->intake ? intake_argv : argv, parent, channel[1]);

    saved_errno = errno;
    sigprocmask(SIG_SETMASK, &saved, NULL);
    if (channel[1] >= 0)
        close(channel[1]);
    if (pid < 0) {
        if (channel[0] >= 0)
            close(channel[0]);
        return -saved_errno;
    }

    /* The worker's end is nonblocking too (the flag belongs to the shared file): its
     * sends of a few bytes never fill the buffer, and its reads are MSG_DONTWAIT anyway. */
    slot->leased = false;
    slot->ready = false;
    slot->state_since_ms = realtime_ms();
    if (!slot->intake) {
        slot->channel_fd = channel[0];
        ev_io_set(&slot->channel, slot->channel_fd, EV_READ);
        ev_io_start(pool->loop, &slot->channel);
    }

    slot->pid = pid;
    slot->started_at = ev_now(pool->loop);
    pool->live++;
    ev_child_set(&slot->child, pid, 0);
    ev_child_start(pool->loop, &slot->child);

    if (slot->intake)
        log_info("intake_spawned", "pid=%d", (int)pid);
    else
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
    if (slot->restart_now) {
        slot->restart_now = false;
        slot->backoff_ms = delay_ms;
        delay_ms = 0;
    }

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

static void slot_lease_view(const struct slot *slot, struct pool_lease *ret_lease)
{
    *ret_lease = (struct pool_lease){
        .slot = slot->index,
        .entry_id = slot->lease_entry,
        .token = slot->lease_token,
        .valid_until_ms = slot->lease_valid_until_ms,
        .claimed_at_ms = slot->lease_claimed_at_ms,
    };
}

/* A stream entry id: digits, one '-', digits. Anything else from a worker is dropped. */
static bool lease_entry_id_ok(const char *id)
{
    size_t digits = strspn(id, "0123456789");

    return digits > 0 && id[digits] == '-' && id[digits + 1] != '\0' &&
           strspn(id + digits + 1, "0123456789") == strlen(id + digits + 1);
}

/* True when text is one of the result status names. */
static bool lease_status_ok(const char *text)
{
    for (int i = 0; i < JOB_STATUS_COUNT; i++)
        if (strcmp(text, job_status_name((enum job_status)i)) == 0)
            return true;
    return false;
}

/* "lease <entry> <token> <claimed at ms> [<job id> <tenant>]": the job ids and tenant are
 * optional so that a worker of the previous protocol is still renewed. */
static bool slot_read_lease(struct slot *slot, const char *message)
{
    char entry[LEASE_ENTRY_ID_SIZE], job_id[LEASE_JOB_ID_SIZE], tenant[LEASE_TENANT_SIZE];
    uint64_t token = 0, claimed_at_ms = 0;
    int fields = sscanf(message, "lease %63s %" SCNu64 " %" SCNu64 " %128s %64s", entry, &token,
                        &claimed_at_ms, job_id, tenant);

    if (fields < 3 || !lease_entry_id_ok(entry) || token == 0)
        return false;

    slot->leased = true;
    slot->cancel_sent = false;
    snprintf(slot->lease_entry, sizeof(slot->lease_entry), "%s", entry);
    slot->lease_token = token;
    slot->lease_valid_until_ms = claimed_at_ms + slot->pool->options.lease_ms;
    slot->lease_claimed_at_ms = claimed_at_ms;
    snprintf(slot->job_id, sizeof(slot->job_id), "%s", fields == 5 ? job_id : "");
    snprintf(slot->tenant, sizeof(slot->tenant), "%s", fields == 5 ? tenant : "");
    slot->state_since_ms = realtime_ms();
    return true;
}

/* "done <entry> <token> <status> <run ms>" for the lease held. */
static bool slot_read_done(struct slot *slot, const char *message)
{
    const struct pool_options *options = &slot->pool->options;
    char entry[LEASE_ENTRY_ID_SIZE], status[LEASE_STATUS_SIZE];
    uint64_t token = 0, run_ms = 0;
    struct pool_job_done done;

    if (sscanf(message, "done %63s %" SCNu64 " %31s %" SCNu64, entry, &token, status,
               &run_ms) != 4 || !lease_status_ok(status))
        return false;
    if (!slot->leased || token != slot->lease_token || strcmp(entry, slot->lease_entry) != 0)
        return true; /* a lease revoked meanwhile: not this slot's job any more */

    done = (struct pool_job_done){
        .slot = slot->index,
        .entry_id = slot->lease_entry,
        .tenant = slot->tenant[0] ? slot->tenant : "default",
        .status = status,
        .claimed_at_ms = slot->lease_claimed_at_ms,
        .run_ms = run_ms,
    };
    if (options->on_job_done)
        options->on_job_done(slot->pool, &done, options->data);
    return true;
}

/* One message of the worker: "ready", "lease ...", "done ..." or "release <entry> <token>". */
static void slot_read_message(struct slot *slot, char *message)
{
    char entry[LEASE_ENTRY_ID_SIZE];
    uint64_t token = 0;

    if (strcmp(message, "ready") == 0) {
        slot->ready = true;
        slot->state_since_ms = realtime_ms();
        return;
    }
    if (slot_read_lease(slot, message) || slot_read_done(slot, message))
        return;

    if (sscanf(message, "release %63s %" SCNu64, entry, &token) == 2) {
        if (slot->leased && token == slot->lease_token) {
            slot->leased = false;
            slot->state_since_ms = realtime_ms();
        }
        return;
    }

    log_warn("lease_message_invalid", "slot=%d pid=%d", slot->index, (int)slot->pid);
}

static void slot_on_channel(struct ev_loop *loop, ev_io *watcher, int revents)
{
    struct slot *slot = watcher->data;
    char message[LEASE_MESSAGE_MAX + 1];
    ssize_t n;

    while ((n = recv(slot->channel_fd, message, LEASE_MESSAGE_MAX, MSG_DONTWAIT)) > 0) {
        message[n] = '\0';
        slot_read_message(slot, message);
    }

    /* The worker is exiting: its ev_child watcher does the rest. */
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        ev_io_stop(loop, watcher);
}

static void slot_close_channel(struct slot *slot)
{
    ev_io_stop(slot->pool->loop, &slot->channel);
    if (slot->channel_fd >= 0)
        close(slot->channel_fd);
    slot->channel_fd = -1;
}

static void slot_on_exit(struct ev_loop *loop, ev_child *watcher, int revents)
{
    struct slot *slot = watcher->data;
    struct pool *pool = slot->pool;
    uint64_t uptime_ms = (uint64_t)((ev_now(loop) - slot->started_at) * 1000.0);
    bool clean = WIFEXITED(watcher->rstatus) && WEXITSTATUS(watcher->rstatus) == 0;
    struct pool_lease lease;
    bool leased;
    char status[32];

    ev_child_stop(loop, watcher);
    /* The last messages first: a release sent just before the exit still counts. */
    if (!slot->intake)
        slot_on_channel(loop, &slot->channel, EV_READ);
    slot_close_channel(slot);
    leased = slot->leased;
    slot->leased = false;
    slot_lease_view(slot, &lease);
    slot->pid = 0;
    slot->ready = false;
    slot->state_since_ms = realtime_ms();
    pool->live--;

    /* During shutdown an exit is expected; otherwise any exit is worth a warning. */
    log_at(pool->stopping && clean ? LOG_LEVEL_INFO : LOG_LEVEL_WARN,
           slot->intake ? "intake_exited" : "worker_exited",
           "slot=%d pid=%d status=%s uptime_ms=%llu", slot->index, watcher->rpid,
           wait_status_text(watcher->rstatus, status, sizeof(status)),
           (unsigned long long)uptime_ms);

    if (slot->intake) {
        if (pool->options.on_intake_exited)
            pool->options.on_intake_exited(pool, watcher->rpid, pool->options.data);
        if (!pool->stopping)
            slot_schedule_restart(slot, uptime_ms);
        else if (pool->live == 0 && pool->options.on_empty)
            pool->options.on_empty(pool, pool->options.data);
        return;
    }

    if (!pool->stopping) {
        if (pool->options.on_died)
            pool->options.on_died(pool, pool->options.data);
        if (leased && pool->options.on_lease_left)
            pool->options.on_lease_left(pool, &lease, pool->options.data);
        slot_schedule_restart(slot, uptime_ms);
        return;
    }

    if (leased && pool->options.on_lease_left)
        pool->options.on_lease_left(pool, &lease, pool->options.data);
    if (pool->options.on_stopped_exit)
        pool->options.on_stopped_exit(pool, watcher->rpid, pool->options.data);

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
    if (r >= 0) {
        if (!slot->intake)
            slot->pool->restarts++;
        return;
    }

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

    pool->slot_count = options->worker_count + (options->intake ? 1 : 0);
    pool->slots = calloc((size_t)pool->slot_count, sizeof(*pool->slots));
    if (!pool->slots) {
        free(pool);
        return -ENOMEM;
    }

    pool->loop = loop;
    pool->options = *options;
    for (int i = 0; i < pool->slot_count; i++) {
        struct slot *slot = &pool->slots[i];

        slot->pool = pool;
        slot->index = i;
        slot->intake = i == options->worker_count;
        slot->backoff_ms = BACKOFF_FIRST_MS;
        snprintf(slot->index_arg, sizeof(slot->index_arg), "%d", i);
        ev_child_init(&slot->child, slot_on_exit, 0, 0);
        slot->child.data = slot;
        ev_timer_init(&slot->restart, slot_on_restart, 0.0, 0.0);
        slot->restart.data = slot;
        slot->channel_fd = -1;
        ev_io_init(&slot->channel, slot_on_channel, -1, EV_READ);
        slot->channel.data = slot;
    }

    *ret_pool = pool;
    return 0;
}

void pool_free(struct pool *pool)
{
    if (!pool)
        return;

    for (int i = 0; i < pool->slot_count; i++) {
        ev_timer_stop(pool->loop, &pool->slots[i].restart);
        ev_child_stop(pool->loop, &pool->slots[i].child);
        slot_close_channel(&pool->slots[i]);
    }

    free(pool->slots);
    free(pool);
}

int pool_start(struct pool *pool)
{
    int first_error = 0;
    int started = 0;

    for (int i = 0; i < pool->slot_count; i++) {
        struct slot *slot = &pool->slots[i];
        int r = slot_spawn(slot);

        if (r >= 0) {
            started++;
            continue;
        }

        log_warn("worker_spawn_failed", "slot=%d errno=%d", slot->index, -r);
        if (first_error == 0 && !slot->intake)
            first_error = r;
        slot_schedule_restart(slot, 0);
    }

    return started > 0 ? 0 : first_error;
}

int pool_stop(struct pool *pool)
{
    pool->stopping = true;

    for (int i = 0; i < pool->slot_count; i++) {
        struct slot *slot = &pool->slots[i];

        ev_timer_stop(pool->loop, &slot->restart);
        slot->state_since_ms = realtime_ms();
        if (slot->pid > 0 && kill(slot->pid, SIGTERM) < 0)
            log_warn("worker_signal_failed", "slot=%d pid=%d signal=%d errno=%d", slot->index,
                     (int)slot->pid, SIGTERM, errno);
    }

    return pool->live;
}

void pool_kill(struct pool *pool)
{
    for (int i = 0; i < pool->slot_count; i++) {
        struct slot *slot = &pool->slots[i];

        if (slot->pid <= 0)
            continue;

        log_warn("worker_killed", "slot=%d pid=%d", slot->index, (int)slot->pid);
        kill(slot->pid, SIGKILL);
    }
}

int pool_restart_intake(struct pool *pool)
{
    struct slot *slot;

    if (!pool->options.intake)
        return 0;
    slot = &pool->slots[pool->options.worker_count];
    if (slot->pid <= 0 || pool->stopping)
        return 0;

    slot->restart_now = true;
    if (kill(slot->pid, SIGTERM) < 0) {
        slot->restart_now = false;
        log_warn("worker_signal_failed", "slot=%d pid=%d signal=%d errno=%d", slot->index,
                 (int)slot->pid, SIGTERM, errno);
        return -errno;
    }
    return 1;
}

int pool_signal_all(struct pool *pool, int signo)
{
    int signalled = 0;

    for (int i = 0; i < pool->options.worker_count; i++) {
        struct slot *slot = &pool->slots[i];

        if (slot->pid <= 0)
            continue;
        if (kill(slot->pid, signo) < 0) {
            log_warn("worker_signal_failed", "slot=%d pid=%d signal=%d errno=%d", slot->index,
                     (int)slot->pid, signo, errno);
            continue;
        }
        signalled++;
    }
    return signalled;
}

int pool_live_count(const struct pool *pool)
{
    return pool->live;
}

int pool_worker_count(const struct pool *pool)
{
    return pool->options.worker_count;
}

const char *pool_state_name(enum pool_state state)
{
    return (int)state >= 0 && state < POOL_STATE_COUNT ? pool_state_names[state] : "unknown";
}

static enum pool_state slot_state(const struct pool *pool, const struct slot *slot)
{
    if (slot->pid > 0 && pool->stopping)
        return POOL_STATE_STOPPING;
    if (slot->pid > 0 && slot->leased)
        return POOL_STATE_RUNNING;
    if (slot->pid > 0 && slot->ready)
        return POOL_STATE_IDLE;
    return POOL_STATE_STARTING;
}

size_t pool_workers(const struct pool *pool, struct pool_worker *out, size_t max)
{
    size_t count = 0;

    for (int i = 0; i < pool->options.worker_count && count < max; i++) {
        const struct slot *slot = &pool->slots[i];
        enum pool_state state = slot_state(pool, slot);
        bool job = state == POOL_STATE_RUNNING ||
                   (state == POOL_STATE_STOPPING && slot->leased);

        out[count++] = (struct pool_worker){
            .slot = slot->index,
            .state = state,
            .pid = (int)slot->pid,
            .job_id = job ? slot->job_id : "",
            .tenant = job ? slot->tenant : "",
            .since_ms = slot->state_since_ms,
        };
    }
    return count;
}

uint64_t pool_restart_count(const struct pool *pool)
{
    return pool->restarts;
}

size_t pool_leases(const struct pool *pool, struct pool_lease *out, size_t max)
{
    size_t count = 0;

    for (int i = 0; i < pool->options.worker_count && count < max; i++) {
        const struct slot *slot = &pool->slots[i];

        if (slot->pid > 0 && slot->leased)
            slot_lease_view(slot, &out[count++]);
    }
    return count;
}

static struct slot *pool_leased_slot(struct pool *pool, int index, uint64_t token)
{
    struct slot *slot;

    if (index < 0 || index >= pool->options.worker_count)
        return NULL;
    slot = &pool->slots[index];
    return slot->pid > 0 && slot->leased && slot->lease_token == token ? slot : NULL;
}

int pool_kill_holder(struct pool *pool, int index, uint64_t token)
{
    struct slot *slot = pool_leased_slot(pool, index, token);

    if (!slot)
        return -ESRCH;

    log_warn("worker_killed", "slot=%d pid=%d reason=hung_holding_lease", slot->index,
             (int)slot->pid);
    kill(slot->pid, SIGKILL);
    return 0;
}

void pool_lease_renewed(struct pool *pool, int index, uint64_t token, uint64_t valid_until_ms)
{
    struct slot *slot = pool_leased_slot(pool, index, token);

    if (slot && valid_until_ms > slot->lease_valid_until_ms)
        slot->lease_valid_until_ms = valid_until_ms;
}

/* Sends "<verb> <token>" over the slot's lease channel, then SIGUSR1 so that the worker
 * reads it at once. The message names the token, so that a worker already on its next job
 * ignores it. Returns 0 or -errno. */
static int slot_tell(struct slot *slot, const char *verb, uint64_t token)
{
    char message[LEASE_MESSAGE_MAX];
    int n = snprintf(message, sizeof(message), "%s %" PRIu64, verb, token);

    if (send(slot->channel_fd, message, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
        return -errno;
    if (kill(slot->pid, SIGUSR1) < 0)
        return -errno;
    return 0;
}

int pool_lease_revoke(struct pool *pool, int index, uint64_t token)
{
    struct slot *slot = pool_leased_slot(pool, index, token);

    if (!slot)
        return -ENOENT;
    slot->leased = false;
    return slot_tell(slot, "lost", token);
}

int pool_lease_cancel(struct pool *pool, int index, uint64_t token)
{
    struct slot *slot = pool_leased_slot(pool, index, token);
    int r;

    if (!slot)
        return -ENOENT;
    if (slot->cancel_sent)
        return 0;
    slot->cancel_sent = true;

    r = slot_tell(slot, "cancel", token);
    return r < 0 ? r : 1;
}
