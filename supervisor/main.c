/* ccx-supervisor: prepares the host (run directory, leftovers of crashed runs in the ccx
 * cgroup subtree), keeps a pool of ccx-worker processes alive and stops them in order on
 * SIGTERM or SIGINT. It takes no jobs itself.
 *
 * It keeps its workers' job leases: each worker gets fd 3, a lease channel (see pool.h and
 * worker/main.c) on which it names the lease it holds. Every lease_ms / 3 one script call
 * renews all of them; a lease found taken over, or not renewed for lease_ms (Redis out of
 * reach: another host may have the job by now), is revoked, and its worker kills the job.
 * The lease of a worker that died is handed back at once, for an idle worker to take. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <linux/magic.h>

#include "common/cleanup.h"
#include "common/config.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/policy.h"
#include "common/policy_error.h"
#include "common/redis_conn.h"
#include "supervisor/heartbeat.h"
#include "supervisor/lease.h"
#include "supervisor/metrics.h"
#include "supervisor/pool.h"
#include "supervisor/stats.h"
#include "worker/filter_set.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define REDIS_PING_TIMEOUT_MS 2000
#define MAX_WORKERS 1024
#define BEAT_MS_DEFAULT 1000
#define BEAT_MS_MIN 100
#define BEAT_MS_MAX 60000
#define BEAT_BACKOFF_MAX_SHIFT 4  /* at most 15 beats skipped after a failure */

/* How deep the sweep descends below a step cgroup. Workers create two levels below the ccx
 * parent (t-<tenant>/w<pid>-<seq>); the margin covers cgroups a job's own tools might nest
 * inside. */
#define SWEEP_MAX_DEPTH 4
/* Tenant parents (see worker/cgroup.h) start with this; step cgroups with 'w'. */
#define TENANT_DIR_PREFIX "t-"
#define SWEEP_PAUSE_MS 20
#define SWEEP_PATIENCE_MS 3000

/* The v1 controllers under which workers create their cgroups. cpu and cpuacct are often
 * the same mount; sweeping it twice is harmless. */
static const char *const cg_v1_controllers[] = { "memory", "pids", "cpu", "cpuacct" };
#define CG_V1_CONTROLLER_COUNT (sizeof(cg_v1_controllers) / sizeof(cg_v1_controllers[0]))

struct options {
    const char *redis_url;
    const char *config_path;
    const char *worker_bin;
    const char *metrics_listen; /* NULL: no metrics endpoint */
    int workers;
    int beat_ms;                /* how often the live state goes to Redis */
};

struct supervisor {
    struct ev_loop *loop;
    struct ccx_config *config;
    struct policy *policy;  /* the tenant policy in force: what the workers were told to load */
    struct pool *pool;
    int run_dir_fd;         /* holds a shared flock on run_dir while we run */
    bool cgroup_v2;
    bool stopping;
    ev_signal sigterm;
    ev_signal sigint;
    ev_signal sighup;       /* reload the policy */
    ev_timer grace;

    struct lease_keeper *leases;
    struct pool_lease *lease_buf;   /* one per worker, for each beat */
    struct lease_ref *lease_refs;
    bool *lease_lost;
    bool *lease_cancelled;
    ev_timer lease_beat;            /* renews, every lease_ms / 3 */
    uint64_t lease_hold_max_ms;     /* a worker holding a lease longer hangs */
    ev_timer lease_watch;           /* revokes leases not renewed in time, between beats */
    bool renew_failing;             /* lease_renew_failed logged, lease_renew_ok not yet */
    bool redis_down;                /* redis_unreachable logged, redis_reconnected not yet */
    uint64_t redis_down_since_ms;   /* CLOCK_MONOTONIC */
    char host[HOST_NAME_MAX + 1];   /* as the workers name themselves: host:pid */

    /* The live state (docs/OPERATIONS.md, State in Redis) and the metrics endpoint. */
    struct heartbeat *heartbeat;
    struct stats stats;
    struct metrics *metrics;        /* NULL without --metrics-listen */
    struct pool_worker *worker_buf; /* one per worker, for each beat */
    ev_timer beat;
    uint64_t started_at_ms;         /* CLOCK_REALTIME */
    uint64_t heartbeat_failures;
    bool heartbeat_failing;         /* heartbeat_failed logged, heartbeat_ok not yet */
    unsigned heartbeat_streak;      /* beats failed in a row */
    unsigned beats_to_skip;         /* backing off after failures */
    char namespaces[64];            /* what the kernel offers the sandbox */
    const char *seccomp;
};

static const char usage_text[] =
    "usage: ccx-supervisor [--redis URL] [--workers N] [--config PATH] [--worker-bin PATH]\n"
    "                      [--metrics-listen ADDR:PORT] [--beat-ms N]\n"
    "\n"
    "Runs N ccx-worker processes (default: one per CPU) and the host's intake\n"
    "(ccx-worker --intake) in the foreground and restarts the ones that die. SIGTERM or\n"
    "SIGINT stops them; a second one kills them at once.\n"
    "\n"
    "  --redis URL        Redis for the workers (default: $CCX_REDIS_URL, else the config's)\n"
    "  --workers N        number of workers, 1 to 1024\n"
    "  --config PATH      config file (default: $CCX_CONFIG, else the built-in path)\n"
    "  --worker-bin PATH  worker executable (default: ccx-worker beside this program)\n"
    "  --metrics-listen ADDR:PORT  serve Prometheus metrics at /metrics, e.g.\n"
    "                     127.0.0.1:9464 or [::1]:9464 (default: none)\n"
    "  --beat-ms N        write the live state to Redis every N ms, 100 to 60000\n"
    "                     (default: 1000; its keys expire after three beats)\n";

__attribute__((noreturn, format(printf, 1, 2))) static void die_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("ccx-supervisor: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    exit(2);
}

static int parse_number(const char *text, long min, long max)
{
    char *end;
    long value;

    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
        return -EINVAL;
    return (int)value;
}

static void parse_options(int argc, char **argv, struct options *ret)
{
    static const struct option long_options[] = {
        { "redis", required_argument, NULL, 'r' },
        { "workers", required_argument, NULL, 'n' },
        { "config", required_argument, NULL, 'c' },
        { "worker-bin", required_argument, NULL, 'w' },
        { "metrics-listen", required_argument, NULL, 'm' },
        { "beat-ms", required_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    *ret = (struct options){ .workers = (int)sysconf(_SC_NPROCESSORS_ONLN),
                             .beat_ms = BEAT_MS_DEFAULT };
    if (ret->workers < 1)
        ret->workers = 1;

    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case 'r':
            ret->redis_url = optarg;
            break;
        case 'n':
            ret->workers = parse_number(optarg, 1, MAX_WORKERS);
            if (ret->workers < 0)
                die_usage("--workers: expected a number from 1 to %d, got '%s'", MAX_WORKERS,
                          optarg);
            break;
        case 'c':
            ret->config_path = optarg;
            break;
        case 'w':
            ret->worker_bin = optarg;
            break;
        case 'm':
            ret->metrics_listen = optarg;
            break;
        case 'b':
            ret->beat_ms = parse_number(optarg, BEAT_MS_MIN, BEAT_MS_MAX);
            if (ret->beat_ms < 0)
                die_usage("--beat-ms: expected a number from %d to %d, got '%s'", BEAT_MS_MIN,
                          BEAT_MS_MAX, optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        default:
            fputs(usage_text, stderr);
            exit(2);
        }
    }

    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
}

/* ccx-worker in the directory of our own executable, in a new string. */
static char *default_worker_bin(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *path;

    if (n < 0)
        return NULL;
    self[n] = '\0';

    if (asprintf(&path, "%s/ccx-worker", dirname(self)) < 0)
        return NULL;
    return path;
}

/* The URL with its password replaced by ***, for logs. */
static const char *url_redacted(const char *url, char *buf, size_t size)
{
    const char *scheme_end = strstr(url, "://");
    const char *at = scheme_end ? strchr(scheme_end + 3, '@') : NULL;

    if (!at) {
        snprintf(buf, size, "%s", url);
        return buf;
    }

    snprintf(buf, size, "%.*s***%s", (int)(scheme_end + 3 - url), url, at);
    return buf;
}

static void redis_ping(const char *url)
{
    char shown[512];
    redisContext *context = NULL;
    redisReply *reply;
    int r;

    url_redacted(url, shown, sizeof(shown));
    r = redis_connect(url, REDIS_PING_TIMEOUT_MS, &context);
    if (r < 0) {
        log_warn("redis_unreachable", "redis=%s errno=%d action=workers_retry", shown, -r);
        return;
    }

    reply = redisCommand(context, "PING");
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        log_warn("redis_unreachable", "redis=%s errno=%d action=workers_retry", shown,
                 reply ? EPROTO : -redis_error_to_errno(context));
    else
        log_info("redis_ok", "redis=%s", shown);

    if (reply)
        freeReplyObject(reply);
    redisFree(context);
}

/* The cgroup_parent of the config is joined to /sys/fs/cgroup paths: it must stay a plain
 * relative path so that nothing outside the ccx subtree is ever touched. */
static bool cgroup_parent_safe(const char *parent)
{
    const char *part = parent;

    if (!parent || parent[0] == '\0' || parent[0] == '/')
        return false;

    while (*part) {
        size_t len = strcspn(part, "/");

        if (len == 0 || (len == 1 && part[0] == '.') || (len == 2 && !strncmp(part, "..", 2)))
            return false;
        part += len;
        if (*part == '/')
            part++;
    }
    return true;
}

/* The directories that hold the ccx cgroups: one on v2, one per controller on v1. Writes
 * up to CG_V1_CONTROLLER_COUNT paths and returns how many. */
static size_t cgroup_parent_dirs(const struct supervisor *sup,
                                 char dirs[CG_V1_CONTROLLER_COUNT][PATH_MAX])
{
    const char *parent = sup->config->sandbox.cgroup_parent;

    if (sup->cgroup_v2) {
        snprintf(dirs[0], PATH_MAX, CGROUP_ROOT "/%s", parent);
        return 1;
    }

    for (size_t i = 0; i < CG_V1_CONTROLLER_COUNT; i++)
        snprintf(dirs[i], PATH_MAX, CGROUP_ROOT "/%s/%s", cg_v1_controllers[i], parent);
    return CG_V1_CONTROLLER_COUNT;
}

static void cgroup_detect(struct supervisor *sup)
{
    struct statfs fs;
    struct stat st;
    bool memory, unified;

    if (statfs(CGROUP_ROOT, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
        sup->cgroup_v2 = true;
        log_info("cgroup_mode", "mode=v2 hierarchy=unified");
        return;
    }

    memory = stat(CGROUP_ROOT "/memory", &st) == 0 && S_ISDIR(st.st_mode);
    unified = stat(CGROUP_ROOT "/unified", &st) == 0 && S_ISDIR(st.st_mode);
    log_info("cgroup_mode", "mode=v1 hierarchy=%s memory_controller=%s",
             unified ? "hybrid" : "legacy", memory ? "yes" : "no");
}

/* True when a cgroup named after a worker (w<pid>-...) belongs to a process that still runs:
 * its worker may be between jobs, with the cgroup empty but in use. */
static bool cgroup_owner_alive(const char *name)
{
    char *end;
    long pid;

    if (name[0] != 'w')
        return false;

    pid = strtol(name + 1, &end, 10);
    if (end == name + 1 || pid <= 0 || (*end != '-' && *end != '\0'))
        return false;

    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Removes the cgroup dir_fd/name and its child cgroups, depth first. The kernel refuses to
 * rmdir a cgroup that still has processes (EBUSY), which is what keeps a live job's cgroup
 * in place. Returns 0 or -errno of the first failure. */
static int cgroup_remove_tree(int dir_fd, const char *name, int depth)
{
    _cleanup_close_ int fd = -1;
    DIR *dir;
    struct dirent *entry;
    int r = 0;

    fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;

    dir = fdopendir(TAKE_FD(fd));
    if (!dir)
        return -errno;

    while (depth < SWEEP_MAX_DEPTH && (entry = readdir(dir))) {
        int sub;

        if (entry->d_type != DT_DIR || !strcmp(entry->d_name, ".") ||
            !strcmp(entry->d_name, ".."))
            continue;
        sub = cgroup_remove_tree(dirfd(dir), entry->d_name, depth + 1);
        if (sub < 0 && r == 0)
            r = sub;
    }
    closedir(dir);

    if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
        r = -errno;
    return r;
}

/* Removes the worker cgroups under parent_dir whose processes are gone: leftovers of a
 * supervisor or worker that crashed. They sit in tenant parents (t-...), swept the same way;
 * the tenant parents themselves stay, since a live worker may be creating a step cgroup in
 * one: workers remove the idle ones, and cgroup_remove_parents the rest once every worker is
 * gone. Touches nothing outside parent_dir. Returns how many could not be removed yet
 * (EBUSY: killed processes still leaving); with quiet, those are not logged, since the
 * caller will try again. */
static int cgroup_sweep_dir(const char *parent_dir, bool quiet)
{
    int busy = 0;
    _cleanup_close_ int fd = -1;
    DIR *dir;
    struct dirent *entry;

    fd = open(parent_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            log_warn("cgroup_sweep_failed", "path=%s errno=%d", parent_dir, errno);
        return 0;
    }

    dir = fdopendir(TAKE_FD(fd));
    if (!dir)
        return 0;

    while ((entry = readdir(dir))) {
        const char *name = entry->d_name;
        int r;

        if (entry->d_type != DT_DIR || !strcmp(name, ".") || !strcmp(name, ".."))
            continue;

        if (!strncmp(name, TENANT_DIR_PREFIX, strlen(TENANT_DIR_PREFIX))) {
            char tenant_dir[PATH_MAX];

            if (snprintf(tenant_dir, sizeof(tenant_dir), "%s/%s", parent_dir, name) <
                (int)sizeof(tenant_dir))
                busy += cgroup_sweep_dir(tenant_dir, quiet);
            continue;
        }

        if (cgroup_owner_alive(name)) {
            log_debug("cgroup_kept", "path=%s/%s reason=owner_alive", parent_dir, name);
            continue;
        }

        r = cgroup_remove_tree(dirfd(dir), name, 1);
        if (r == -EBUSY)
            busy++;
        if (r < 0 && !(r == -EBUSY && quiet))
            log_warn("cgroup_sweep_failed", "path=%s/%s errno=%d", parent_dir, name, -r);
        else if (r == 0)
            log_info("cgroup_swept", "path=%s/%s", parent_dir, name);
    }
    closedir(dir);
    return busy;
}

static int cgroup_sweep(const struct supervisor *sup, bool quiet)
{
    char dirs[CG_V1_CONTROLLER_COUNT][PATH_MAX];
    size_t count = cgroup_parent_dirs(sup, dirs);
    int busy = 0;

    for (size_t i = 0; i < count; i++)
        busy += cgroup_sweep_dir(dirs[i], quiet);
    return busy;
}

/* Sweeps until nothing is busy, for up to SWEEP_PATIENCE_MS: the processes of a worker
 * killed a moment ago (its jobs, its waiting sandbox child) take a little while to go. */
static void cgroup_sweep_patiently(const struct supervisor *sup)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = SWEEP_PAUSE_MS * 1000000L};

    for (int waited_ms = 0; waited_ms < SWEEP_PATIENCE_MS; waited_ms += SWEEP_PAUSE_MS) {
        if (cgroup_sweep(sup, true) == 0)
            return;
        nanosleep(&pause, NULL);
    }
    cgroup_sweep(sup, false);
}

/* Removes the empty tenant parents below parent_dir (each worker removes the ones it finds
 * idle, but not those another worker was still using when it stopped). */
static void cgroup_remove_tenant_dirs(const char *parent_dir)
{
    DIR *dir = opendir(parent_dir);
    struct dirent *entry;

    if (!dir)
        return;
    while ((entry = readdir(dir))) {
        if (entry->d_type != DT_DIR ||
            strncmp(entry->d_name, TENANT_DIR_PREFIX, strlen(TENANT_DIR_PREFIX)))
            continue;
        if (unlinkat(dirfd(dir), entry->d_name, AT_REMOVEDIR) == 0)
            log_debug("cgroup_removed", "path=%s/%s", parent_dir, entry->d_name);
        else if (errno != ENOENT)
            log_warn("cgroup_tenant_kept", "path=%s/%s errno=%d", parent_dir, entry->d_name,
                     errno);
    }
    closedir(dir);
}

/* Removes the tenant parents and then the ccx parent cgroups once nothing is left below
 * them. */
static void cgroup_remove_parents(const struct supervisor *sup)
{
    char dirs[CG_V1_CONTROLLER_COUNT][PATH_MAX];
    size_t count = cgroup_parent_dirs(sup, dirs);

    for (size_t i = 0; i < count; i++) {
        cgroup_remove_tenant_dirs(dirs[i]);
        if (rmdir(dirs[i]) == 0)
            log_debug("cgroup_removed", "path=%s", dirs[i]);
        else if (errno != ENOENT)
            log_warn("cgroup_parent_kept", "path=%s errno=%d", dirs[i], errno);
    }
}

/* The run directory: workers mount their private tmpfs over it in their own mount
 * namespace, so on the host it stays an empty directory that only root may enter.
 * Returns an O_CLOEXEC descriptor of it holding a shared flock, or -errno. Every supervisor
 * on the host holds that lock while it runs; see supervisor_cleanup_host. */
static int run_dir_open_shared(const char *path)
{
    _cleanup_close_ int fd = -1;

    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return -errno;

    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;

    if (fchmod(fd, 0700) < 0 || flock(fd, LOCK_SH) < 0)
        return -errno;
    return TAKE_FD(fd);
}

/* A worker that died left its cgroups (its sandbox child's among them) behind; its children
 * die with it (parent-death signal), a moment later. */
static void on_worker_died(struct pool *pool, void *data)
{
    cgroup_sweep_patiently(data);
}

static uint64_t monotonic_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* Revokes every lease that may have expired by the next check: from then on another host
 * may run the job, so this one must stop. A watch interval early rather than late. */
static void lease_revoke_overdue(struct supervisor *sup)
{
    uint64_t margin_ms = (uint64_t)(sup->lease_watch.repeat * 1000.0);
    uint64_t now_ms = monotonic_ms();
    size_t count = pool_leases(sup->pool, sup->lease_buf, (size_t)pool_worker_count(sup->pool));

    for (size_t i = 0; i < count; i++) {
        const struct pool_lease *lease = &sup->lease_buf[i];
        int r;

        if (lease->valid_until_ms > now_ms + margin_ms)
            continue;

        log_warn("lease_expired", "slot=%d entry_id=%s token=%" PRIu64 " unrenewed_ms=%" PRId64
                 " action=kill_job", lease->slot, lease->entry_id, lease->token,
                 (int64_t)(now_ms + sup->config->lease_ms - lease->valid_until_ms));
        r = pool_lease_revoke(sup->pool, lease->slot, lease->token);
        if (r < 0)
            log_warn("lease_revoke_failed", "slot=%d errno=%d", lease->slot, -r);
    }
}

/* The job of a lease renewed was cancelled by its client: its worker stops it and
 * publishes the cancelled result itself. Told once per lease. */
static void lease_tell_cancel(struct supervisor *sup, const struct pool_lease *lease)
{
    int r = pool_lease_cancel(sup->pool, lease->slot, lease->token);

    if (r == 1)
        log_info("job_cancel_requested", "slot=%d entry_id=%s token=%" PRIu64
                 " action=kill_job", lease->slot, lease->entry_id, lease->token);
    else if (r < 0 && r != -ENOENT)
        log_warn("lease_cancel_failed", "slot=%d entry_id=%s errno=%d", lease->slot,
                 lease->entry_id, -r);
}

/* An outage is reported once when it starts and once when it ends, whatever the number
 * of beats in between: an operator needs its length, not a line per retry. */
static void supervisor_redis_failed(struct supervisor *sup, int error)
{
    if (sup->redis_down)
        return;

    sup->redis_down = true;
    sup->redis_down_since_ms = monotonic_ms();
    log_warn("redis_unreachable", "op=lease_renew errno=%d action=retry_each_beat", -error);
}

static void supervisor_redis_answered(struct supervisor *sup)
{
    if (!sup->redis_down)
        return;

    sup->redis_down = false;
    log_info("redis_reconnected", "outage_ms=%" PRIu64,
             monotonic_ms() - sup->redis_down_since_ms);
}

/* One script call for all leases of this host. Without leases, Redis is asked only while
 * an outage lasts, to see it end. */
static void lease_renew_all(struct supervisor *sup)
{
    size_t count = pool_leases(sup->pool, sup->lease_buf, (size_t)pool_worker_count(sup->pool));
    uint64_t sent_at_ms = monotonic_ms();
    int r;

    if (count == 0) {
        if (sup->redis_down && lease_keeper_ping(sup->leases) == 0)
            supervisor_redis_answered(sup);
        return;
    }

    for (size_t i = 0; i < count; i++)
        sup->lease_refs[i] = (struct lease_ref){ sup->lease_buf[i].entry_id,
                                                 sup->lease_buf[i].token };

    r = lease_keeper_renew(sup->leases, sup->lease_refs, count, sup->lease_lost,
                           sup->lease_cancelled);
    if (r < 0 && r != -EPROTO) {
        supervisor_redis_failed(sup, r);
        return;
    }
    supervisor_redis_answered(sup);
    /* Redis answered, with an error: not an outage, but just as worth saying once. */
    if (r < 0) {
        if (!sup->renew_failing)
            log_warn("lease_renew_failed", "leases=%zu errno=%d action=retry_each_beat",
                     count, -r);
        sup->renew_failing = true;
        return;
    }
    if (sup->renew_failing)
        log_info("lease_renew_ok", "leases=%zu", count);
    sup->renew_failing = false;

    for (size_t i = 0; i < count; i++) {
        const struct pool_lease *lease = &sup->lease_buf[i];

        if (!sup->lease_lost[i]) {
            pool_lease_renewed(sup->pool, lease->slot, lease->token,
                               sent_at_ms + sup->config->lease_ms);
            if (sup->lease_cancelled[i])
                lease_tell_cancel(sup, lease);
            continue;
        }

        log_warn("lease_taken_over", "slot=%d entry_id=%s token=%" PRIu64 " action=kill_job",
                 lease->slot, lease->entry_id, lease->token);
        r = pool_lease_revoke(sup->pool, lease->slot, lease->token);
        if (r < 0)
            log_warn("lease_revoke_failed", "slot=%d errno=%d", lease->slot, -r);
    }
}

/* The longest a worker can hold one lease while it works: the longest run and the longest
 * compile step the config allows, and two leases' worth for setting up and publishing. */
static uint64_t lease_hold_max_ms(const struct ccx_config *config)
{
    uint64_t compile_ms = 0;

    for (size_t i = 0; i < config->language_count; i++) {
        const struct language *language = &config->languages[i];

        if (language->compile_argv && language->compile_limits.wall_ms > compile_ms)
            compile_ms = language->compile_limits.wall_ms;
    }
    return config->limits_max.wall_ms + compile_ms + 2 * config->lease_ms;
}

/* A worker whose sandbox enforces the wall limit cannot hold a lease past
 * lease_hold_max_ms unless it hangs (stopped, stuck in the kernel). Renewing such a lease
 * would keep its job from everyone for good: the worker is killed instead, and its death
 * hands the lease back. */
static void lease_kill_hung(struct supervisor *sup)
{
    uint64_t hold_max_ms = sup->lease_hold_max_ms;
    uint64_t now_ms = monotonic_ms();
    size_t count = pool_leases(sup->pool, sup->lease_buf, (size_t)pool_worker_count(sup->pool));

    for (size_t i = 0; i < count; i++) {
        const struct pool_lease *lease = &sup->lease_buf[i];

        if (now_ms < lease->claimed_at_ms + hold_max_ms)
            continue;

        log_warn("worker_hung", "slot=%d entry_id=%s token=%" PRIu64 " held_ms=%" PRIu64
                 " hold_max_ms=%" PRIu64 " action=kill_worker", lease->slot, lease->entry_id,
                 lease->token, now_ms - lease->claimed_at_ms, hold_max_ms);
        pool_kill_holder(sup->pool, lease->slot, lease->token);
    }
}

static void on_lease_beat(struct ev_loop *loop, ev_timer *watcher, int revents)
{
    struct supervisor *sup = watcher->data;

    lease_kill_hung(sup);
    lease_renew_all(sup);
    lease_revoke_overdue(sup);
}

static void on_lease_watch(struct ev_loop *loop, ev_timer *watcher, int revents)
{
    lease_revoke_overdue(watcher->data);
}

/* ==== Live state and metrics ==== */

static uint64_t realtime_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* What the host hash reports as the isolation the sandbox gets: the namespace kinds this
 * kernel has (every job gets all of them: a missing one fails the job, not the check) and
 * whether seccomp can hand calls to the worker (user notification). */
static void isolation_detect(struct supervisor *sup)
{
    static const char *const kinds[] = { "user", "pid", "mnt", "net", "ipc", "uts", "cgroup" };
    char path[64], actions[256] = "";
    size_t len = 0;
    FILE *file;

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[i]);
        if (access(path, F_OK) == 0 && len < sizeof(sup->namespaces))
            len += (size_t)snprintf(sup->namespaces + len, sizeof(sup->namespaces) - len,
                                    "%s%s", len ? "," : "", kinds[i]);
    }

    file = fopen("/proc/sys/kernel/seccomp/actions_avail", "re");
    if (file) {
        if (!fgets(actions, sizeof(actions), file))
            actions[0] = '\0';
        fclose(file);
    }
    sup->seccomp = strstr(actions, "user_notif") ? "user_notif" : "none";
}

static void metrics_refresh(struct supervisor *sup)
{
    struct metrics_snapshot snapshot = {
        .totals = sup->stats.total,
        .worker_restarts = pool_restart_count(sup->pool),
        .leases_held = pool_leases(sup->pool, sup->lease_buf,
                                   (size_t)pool_worker_count(sup->pool)),
        .heartbeat_failures = sup->heartbeat_failures,
        .started_at_s = (double)sup->started_at_ms / 1000.0,
    };
    size_t count = pool_workers(sup->pool, sup->worker_buf,
                                (size_t)pool_worker_count(sup->pool));

    if (!sup->metrics)
        return;
    for (size_t i = 0; i < count; i++)
        snapshot.workers[sup->worker_buf[i].state]++;
    metrics_update(sup->metrics, &snapshot);
}

static void on_beat(struct ev_loop *loop, ev_timer *watcher, int revents)
{
    struct supervisor *sup = watcher->data;
    struct heartbeat_host host = {
        .version = CCX_VERSION,
        .pid = (int)getpid(),
        .started_at_ms = sup->started_at_ms,
        .workers = pool_worker_count(sup->pool),
        .cgroup = sup->cgroup_v2 ? "v2" : "v1",
        .namespaces = sup->namespaces,
        .seccomp = sup->seccomp,
        .policy_version = sup->policy->version,
    };
    size_t count;
    int r;

    /* A Redis out of reach costs each try up to the connect timeout, spent in the loop:
     * after failures in a row the beats are skipped, 1, 3, 7, then 15 at a time. The counts
     * wait meanwhile. */
    if (sup->beats_to_skip > 0) {
        sup->beats_to_skip--;
        metrics_refresh(sup);
        return;
    }

    count = pool_workers(sup->pool, sup->worker_buf, (size_t)host.workers);
    r = heartbeat_beat(sup->heartbeat, &host, sup->worker_buf, count, &sup->stats);
    if (r < 0) {
        sup->heartbeat_failures++;
        if (sup->heartbeat_streak < BEAT_BACKOFF_MAX_SHIFT)
            sup->heartbeat_streak++;
        sup->beats_to_skip = (1u << sup->heartbeat_streak) - 1;
        if (!sup->heartbeat_failing)
            log_warn("heartbeat_failed", "errno=%d action=retry_with_backoff", -r);
        sup->heartbeat_failing = true;
    } else if (sup->heartbeat_failing) {
        log_info("heartbeat_ok", "failures=%" PRIu64, sup->heartbeat_failures);
        sup->heartbeat_failing = false;
        sup->heartbeat_streak = 0;
    }
    metrics_refresh(sup);
}

/* A worker stored a job's final result: counted now, in Redis at the next beat. The claim
 * time is the worker's monotonic clock, turned into Redis's through our realtime clock and
 * the offset the last beat measured, so that it compares with the entry id's enqueue ms. */
static void on_job_done(struct pool *pool, const struct pool_job_done *done, void *data)
{
    struct supervisor *sup = data;
    uint64_t age_ms = monotonic_ms() - done->claimed_at_ms;
    int64_t claim_ms = (int64_t)(realtime_ms() - age_ms) +
                       heartbeat_clock_offset_ms(sup->heartbeat);
    enum job_status status = JOB_STATUS_INTERNAL_ERROR;

    for (int i = 0; i < JOB_STATUS_COUNT; i++)
        if (strcmp(done->status, job_status_name((enum job_status)i)) == 0)
            status = (enum job_status)i;

    if (stats_record(&sup->stats, done->tenant, status,
                     stats_queue_wait_ms(done->entry_id, claim_ms > 0 ? (uint64_t)claim_ms : 0),
                     done->run_ms) < 0)
        log_warn("stats_tenant_dropped", "slot=%d errno=%d", done->slot, ENOMEM);
    metrics_refresh(sup);
}

static void supervisor_start_live_state(struct supervisor *sup, const struct options *options,
                                        const char *redis_url)
{
    char quoted[LOG_QUOTE_SIZE];
    int r;

    sup->started_at_ms = realtime_ms();
    isolation_detect(sup);
    sup->worker_buf = calloc((size_t)options->workers, sizeof(*sup->worker_buf));
    r = sup->worker_buf ? heartbeat_new(redis_url, sup->host, (uint64_t)options->beat_ms,
                                        &sup->heartbeat)
                        : -ENOMEM;
    if (r < 0) {
        fprintf(stderr, "ccx-supervisor: cannot set up the heartbeat: %s\n", strerror(-r));
        exit(1);
    }

    if (options->metrics_listen) {
        r = metrics_new(options->metrics_listen, CCX_VERSION, &sup->metrics);
        if (r < 0) {
            fprintf(stderr, "ccx-supervisor: --metrics-listen %s: %s\n",
                    options->metrics_listen, strerror(-r));
            exit(r == -EINVAL ? 2 : 1);
        }
        log_info("metrics_listening", "addr=%s path=/metrics",
                 log_quote(quoted, options->metrics_listen));
    }

    /* The first beat at once: the host shows up, and the clock offset is known before
     * the first job ends. */
    ev_timer_init(&sup->beat, on_beat, 0.0, (ev_tstamp)options->beat_ms / 1000.0);
    sup->beat.data = sup;
    ev_timer_start(sup->loop, &sup->beat);
}

static void supervisor_stop_live_state(struct supervisor *sup)
{
    int r;

    ev_timer_stop(sup->loop, &sup->beat);
    r = heartbeat_leave(sup->heartbeat, &sup->stats);
    if (r < 0)
        log_warn("heartbeat_leave_failed", "errno=%d action=keys_expire", -r);
    metrics_free(sup->metrics);
    sup->metrics = NULL;
    heartbeat_free(sup->heartbeat);
    sup->heartbeat = NULL;
    stats_clear(&sup->stats);
    free(sup->worker_buf);
    sup->worker_buf = NULL;
}

/* A worker died holding a lease: its job is handed back at once, for any idle worker. In
 * a drain, that is a worker killed at the end of the shutdown grace. */
static void on_lease_left(struct pool *pool, const struct pool_lease *lease, void *data)
{
    struct supervisor *sup = data;
    struct lease_ref ref = { lease->entry_id, lease->token };
    int r = lease_keeper_hand_back(sup->leases, &ref, sup->stopping);

    if (r == 1)
        log_info("lease_handed_back", "slot=%d entry_id=%s token=%" PRIu64 " reason=%s",
                 lease->slot, lease->entry_id, lease->token,
                 sup->stopping ? "drained" : "worker_died");
    else if (r == 0)
        log_info("lease_hand_back_skipped", "slot=%d entry_id=%s token=%" PRIu64
                 " reason=token_changed", lease->slot, lease->entry_id, lease->token);
    else
        log_warn("lease_hand_back_failed", "slot=%d entry_id=%s token=%" PRIu64 " errno=%d"
                 " action=expires_in_lease_ms", lease->slot, lease->entry_id, lease->token, -r);
}

/* A worker stopped in a drain: entries it was delivered but never leased go back at once. */
static void on_stopped_exit(struct pool *pool, int pid, void *data)
{
    struct supervisor *sup = data;
    char consumer[HOST_NAME_MAX + 32];
    int r;

    snprintf(consumer, sizeof(consumer), "%s:%d", sup->host, pid);
    r = lease_keeper_hand_back_pending(sup->leases, consumer);
    if (r > 0)
        log_info("deliveries_handed_back", "consumer=%s entries=%d reason=drained", consumer,
                 r);
    else if (r < 0)
        log_warn("deliveries_hand_back_failed", "consumer=%s errno=%d"
                 " action=reclaimed_after_lease_ms", consumer, -r);
}

/* The intake exited: entries it read and never admitted go back at once (state drained), for
 * any worker's reclaim, which runs them without waiting their turn. */
static void on_intake_exited(struct pool *pool, int pid, void *data)
{
    struct supervisor *sup = data;
    char consumer[HOST_NAME_MAX + 64];
    int r;

    snprintf(consumer, sizeof(consumer), KEY_INTAKE_CONSUMER ":%s:%d", sup->host, pid);
    r = lease_keeper_hand_back_pending(sup->leases, consumer);
    if (r > 0)
        log_info("deliveries_handed_back", "consumer=%s entries=%d reason=intake_exited",
                 consumer, r);
    else if (r < 0)
        log_warn("deliveries_hand_back_failed", "consumer=%s errno=%d"
                 " action=reclaimed_after_lease_ms", consumer, -r);
}

static void on_all_reaped(struct pool *pool, void *data)
{
    struct supervisor *sup = data;

    ev_break(sup->loop, EVBREAK_ALL);
}

static void on_grace_over(struct ev_loop *loop, ev_timer *watcher, int revents)
{
    struct supervisor *sup = watcher->data;

    log_warn("shutdown_grace_expired", "grace_s=%llu workers_left=%d",
             (unsigned long long)sup->config->shutdown_grace_s, pool_live_count(sup->pool));
    pool_kill(sup->pool);
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *watcher, int revents)
{
    struct supervisor *sup = watcher->data;

    /* A second signal during the grace period: the operator does not want to wait. */
    if (sup->stopping) {
        log_warn("supervisor_stopping_now", "signal=%d workers_left=%d", watcher->signum,
                 pool_live_count(sup->pool));
        ev_timer_stop(loop, &sup->grace);
        pool_kill(sup->pool);
        return;
    }

    sup->stopping = true;
    log_info("supervisor_stopping", "signal=%d grace_s=%llu", watcher->signum,
             (unsigned long long)sup->config->shutdown_grace_s);

    if (pool_stop(sup->pool) == 0) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }

    ev_timer_set(&sup->grace, (ev_tstamp)sup->config->shutdown_grace_s, 0.0);
    ev_timer_start(loop, &sup->grace);
}

/* Reads and checks the policy the config names (the built-in one when none), as a worker
 * will: the file, and the seccomp profiles it names. Returns 0 and *ret_policy, or -errno
 * with the loader's message in err. */
static int supervisor_load_policy(const struct ccx_config *config, struct policy **ret_policy,
                                  char *err, size_t err_size)
{
    struct filter_set *filters = NULL;
    int r;

    r = filter_set_load(config, ret_policy, &filters, err, err_size);
    filter_set_free(filters);
    return r;
}

/* SIGHUP: a policy file that passes replaces the one in force and every child is told to
 * load it (each does between two jobs; the intake, which reads it only at start, is
 * restarted); one that does not is logged, and nobody is told. */
static void on_reload_signal(struct ev_loop *loop, ev_signal *watcher, int revents)
{
    struct supervisor *sup = watcher->data;
    const char *file = sup->config->policy_path ? sup->config->policy_path : "";
    char err[1024], field[256], quoted_file[LOG_QUOTE_SIZE], quoted_reason[LOG_QUOTE_SIZE];
    struct policy *policy = NULL;
    const char *reason;
    int r;

    r = supervisor_load_policy(sup->config, &policy, err, sizeof(err));
    if (r < 0) {
        policy_error_split(file, err[0] ? err : strerror(-r), field, sizeof(field), &reason);
        log_err("policy_reload_failed", "file=%s field=%s reason=%s errno=%d action=kept "
                "version=%s", log_quote(quoted_file, file), field[0] ? field : "-",
                log_quote(quoted_reason, reason), -r, sup->policy->version);
        return;
    }

    policy_free(sup->policy);
    sup->policy = policy;
    log_info("policy_reloaded", "version=%s file=%s workers_told=%d intake_restarted=%d",
             policy->version, log_quote(quoted_file, file), pool_signal_all(sup->pool, SIGHUP),
             pool_restart_intake(sup->pool) > 0);
}

static void supervisor_prepare_host(struct supervisor *sup)
{
    const char *run_dir = sup->config->sandbox.run_dir;
    char quoted[LOG_QUOTE_SIZE];
    int r;

    if (!cgroup_parent_safe(sup->config->sandbox.cgroup_parent)) {
        fprintf(stderr, "ccx-supervisor: sandbox.cgroup_parent must be a relative name "
                        "without '.' or '..' parts, got %s\n",
                log_quote(quoted, sup->config->sandbox.cgroup_parent));
        exit(2);
    }

    r = run_dir_open_shared(run_dir);
    if (r < 0) {
        fprintf(stderr, "ccx-supervisor: cannot create run_dir %s: %s\n", run_dir,
                strerror(-r));
        exit(1);
    }
    sup->run_dir_fd = r;

    cgroup_detect(sup);
    cgroup_sweep(sup, false);
}

/* Removes what the supervisor set up, unless another supervisor still runs on the same
 * run_dir: removing a directory detaches the mounts over it in every other mount namespace,
 * so an rmdir here would pull the private tmpfs from under that supervisor's workers. */
static void supervisor_cleanup_host(struct supervisor *sup)
{
    _cleanup_close_ int run_dir_fd = TAKE_FD(sup->run_dir_fd);
    const char *run_dir = sup->config->sandbox.run_dir;

    if (flock(run_dir_fd, LOCK_EX | LOCK_NB) < 0) {
        log_info("host_cleanup_skipped", "reason=run_dir_in_use path=%s", run_dir);
        return;
    }

    cgroup_sweep_patiently(sup);
    cgroup_remove_parents(sup);

    if (rmdir(run_dir) < 0 && errno != ENOENT)
        log_warn("run_dir_kept", "path=%s errno=%d", run_dir, errno);
}

static void supervisor_run(struct supervisor *sup, const struct options *options,
                           const char *redis_url)
{
    struct pool_options pool_options = {
        .worker_bin = options->worker_bin,
        .redis_url = redis_url,
        .config_path = options->config_path,
        .worker_count = options->workers,
        .lease_ms = sup->config->lease_ms,
        .on_empty = on_all_reaped,
        .on_died = on_worker_died,
        .on_lease_left = on_lease_left,
        .on_stopped_exit = on_stopped_exit,
        .on_intake_exited = on_intake_exited,
        .intake = true,
        .on_job_done = on_job_done,
        .data = sup,
    };
    ev_tstamp beat_s = (ev_tstamp)sup->config->lease_ms / 3000.0;
    int r;

    if (gethostname(sup->host, sizeof(sup->host) - 1) < 0)
        snprintf(sup->host, sizeof(sup->host), "unknown");

    sup->loop = ev_default_loop(EVFLAG_AUTO);
    if (!sup->loop) {
        fputs("ccx-supervisor: cannot initialise the event loop\n", stderr);
        exit(1);
    }

    ev_signal_init(&sup->sigterm, on_stop_signal, SIGTERM);
    sup->sigterm.data = sup;
    ev_signal_start(sup->loop, &sup->sigterm);
    ev_signal_init(&sup->sigint, on_stop_signal, SIGINT);
    sup->sigint.data = sup;
    ev_signal_start(sup->loop, &sup->sigint);
    ev_signal_init(&sup->sighup, on_reload_signal, SIGHUP);
    sup->sighup.data = sup;
    ev_signal_start(sup->loop, &sup->sighup);
    ev_timer_init(&sup->grace, on_grace_over, 0.0, 0.0);
    sup->grace.data = sup;

    r = pool_new(sup->loop, &pool_options, &sup->pool);
    if (r == 0)
        r = lease_keeper_new(redis_url, sup->config->lease_ms, &sup->leases);
    sup->lease_buf = calloc((size_t)options->workers, sizeof(*sup->lease_buf));
    sup->lease_refs = calloc((size_t)options->workers, sizeof(*sup->lease_refs));
    sup->lease_lost = calloc((size_t)options->workers, sizeof(*sup->lease_lost));
    sup->lease_cancelled = calloc((size_t)options->workers, sizeof(*sup->lease_cancelled));
    if (r == 0 && (!sup->lease_buf || !sup->lease_refs || !sup->lease_lost ||
                   !sup->lease_cancelled))
        r = -ENOMEM;
    if (r < 0) {
        fprintf(stderr, "ccx-supervisor: cannot create the pool: %s\n", strerror(-r));
        exit(1);
    }

    /* The watch runs ten times a lease: a lease it revokes has at least that much left. */
    sup->lease_hold_max_ms = lease_hold_max_ms(sup->config);
    ev_timer_init(&sup->lease_beat, on_lease_beat, beat_s, beat_s);
    sup->lease_beat.data = sup;
    ev_timer_start(sup->loop, &sup->lease_beat);
    ev_timer_init(&sup->lease_watch, on_lease_watch, beat_s / 3.0, beat_s * 0.3);
    sup->lease_watch.data = sup;
    ev_timer_start(sup->loop, &sup->lease_watch);

    supervisor_start_live_state(sup, options, redis_url);

    r = pool_start(sup->pool);
    if (r < 0)
        log_err("pool_start_failed", "errno=%d action=retry", -r);

    ev_run(sup->loop, 0);

    supervisor_stop_live_state(sup);
    ev_timer_stop(sup->loop, &sup->grace);
    ev_timer_stop(sup->loop, &sup->lease_beat);
    ev_timer_stop(sup->loop, &sup->lease_watch);
    ev_signal_stop(sup->loop, &sup->sigterm);
    ev_signal_stop(sup->loop, &sup->sigint);
    ev_signal_stop(sup->loop, &sup->sighup);
    pool_free(sup->pool);
    sup->pool = NULL;
    lease_keeper_free(sup->leases);
    sup->leases = NULL;
    free(sup->lease_buf);
    free(sup->lease_refs);
    free(sup->lease_lost);
    free(sup->lease_cancelled);
}

int main(int argc, char **argv)
{
    struct supervisor sup = { .run_dir_fd = -1 };
    struct options options;
    _cleanup_free_ char *worker_bin = NULL;
    _cleanup_free_ char *config_path = NULL;
    char err[512], shown[512], quoted_config[LOG_QUOTE_SIZE], quoted_bin[LOG_QUOTE_SIZE];
    const char *redis_url;
    int r;

    log_init("supervisor", -1, LOG_LEVEL_INFO);
    parse_options(argc, argv, &options);

    if (!options.config_path)
        options.config_path = getenv("CCX_CONFIG") ?: config_default_path();

    r = config_load(options.config_path, &sup.config, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "ccx-supervisor: %s\n", err);
        return 2;
    }

    /* A policy that would stop every worker's start stops ours instead. */
    r = supervisor_load_policy(sup.config, &sup.policy, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "ccx-supervisor: %s\n", err[0] ? err : strerror(-r));
        config_free(sup.config);
        return 2;
    }

    /* Workers get an absolute path: they must not depend on our working directory. */
    config_path = realpath(options.config_path, NULL);
    if (config_path)
        options.config_path = config_path;

    if (!options.worker_bin) {
        worker_bin = default_worker_bin();
        options.worker_bin = worker_bin;
    }
    if (!options.worker_bin || access(options.worker_bin, X_OK) < 0) {
        fprintf(stderr, "ccx-supervisor: worker binary %s: %s\n",
                options.worker_bin ?: "(unknown)", strerror(errno));
        policy_free(sup.policy);
        config_free(sup.config);
        return 2;
    }

    redis_url = redis_url_choose(options.redis_url, sup.config->redis_url);
    log_info("supervisor_started", "workers=%d redis=%s config=%s worker_bin=%s pid=%d "
             "policy_version=%s", options.workers, url_redacted(redis_url, shown, sizeof(shown)),
             log_quote(quoted_config, options.config_path),
             log_quote(quoted_bin, options.worker_bin), (int)getpid(), sup.policy->version);

    redis_ping(redis_url);
    supervisor_prepare_host(&sup);
    supervisor_run(&sup, &options, redis_url);
    supervisor_cleanup_host(&sup);

    log_info("supervisor_stopped", NULL);
    policy_free(sup.policy);
    config_free(sup.config);
    return 0;
}
