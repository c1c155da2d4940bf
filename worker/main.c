/* ccx-worker: one sandboxed job at a time.
 *
 * Queue mode (the supervisor runs one per slot): take a job from Redis with a lease on it,
 * run it, hand the result back, repeat until SIGTERM or SIGINT. The job in progress is
 * finished and published before the worker exits, unless its lease is lost first.
 *
 * The lease channel: the supervisor starts each worker with fd 3 (WORKER_LEASE_FD) one end
 * of a SOCK_SEQPACKET socket pair, one message a datagram, at most 512 bytes. The worker
 * sends "ready" once it can take jobs, then for each job
 * "lease <entry id> <token> <claimed at, CLOCK_MONOTONIC ms> <job id> <tenant>" before it
 * runs it and "release <entry id> <token>" after, so that the supervisor renews the lease
 * meanwhile. Between the two, "done <entry id> <token> <status> <run wall ms>" says that
 * the job's final result was stored with that status (not sent for a result another run
 * stored first, a retry scheduled, or a run whose lease was lost): the supervisor counts
 * those for the fleet's live state (supervisor/stats.h). Job ids and tenants hold no
 * spaces (common/job.c checks their characters).
 * The supervisor sends "lost <token>" and then SIGUSR1 when the lease is gone (another
 * worker holds the entry, or renewal failed for lease_ms): the worker then kills the job's
 * sandbox at once and publishes nothing. "cancel <token>" and then SIGUSR1 mean the job's
 * client cancelled it: the worker kills the sandbox the same way, but publishes a result
 * with status cancelled (through the token-checked finish). Queue mode refuses to start
 * without fd 3.
 *
 * The tenant policy (common/policy.h) is loaded at start, after the config; a file that
 * does not pass stops the start like a bad config. SIGHUP asks for it to be read again: the
 * worker does so between two jobs, never during one, and keeps the policy it has when the
 * new file does not pass. SIGHUP stays blocked but at that point, so that it never cuts a
 * Redis call or a job's step short (hiredis gives up a connect whose poll is interrupted).
 *
 * Intake mode (--intake): the host's one intake (worker/intake.h), which moves new entries
 * of ccx:jobs onto the tenants' ready lists; it runs no job and needs no fd 3.
 *
 * Direct mode (--direct): run one program from a file in the same sandbox, without Redis,
 * and print its result as one line of JSON. For benchmarks and debugging. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>

#include "common/cleanup.h"
#include "common/config.h"
#include "common/job.h"
#include "common/log.h"
#include "common/msgpack_json.h"
#include "common/parse.h"
#include "common/policy.h"
#include "common/policy_error.h"
#include "common/redis_conn.h"
#include "common/result.h"
#include "worker/analysis.h"
#include "worker/filter_set.h"
#include "worker/intake.h"
#include "worker/jobq.h"
#include "worker/runner.h"
#include "worker/sandbox.h"

#define WORKER_TAKE_TIMEOUT_MS 1000
#define WORKER_EXIT_USAGE 2
#define WORKER_SLOT_MAX 65535
#define WORKER_LEASE_FD 3
#define WORKER_LEASE_MESSAGE_MAX 512 /* the supervisor reads up to as much */

struct options {
    bool direct;
    bool intake;
    int slot;                 /* -1 until --slot */
    const char *redis_url;    /* NULL: CCX_REDIS_URL, then the config */
    const char *config_path;  /* NULL: CCX_CONFIG, then the built-in default */

    /* Direct mode only. */
    const char *language;
    const char *source_path;
    const char *stdin_path;
    char **args;              /* borrowed from argv; the array is ours */
    size_t arg_count;
    uint64_t wall_ms;         /* 0: the config's default */
    uint64_t memory_mb;
};

/* What the queue loop works with. */
struct worker {
    const struct ccx_config *config;
    struct policy *policy;        /* in force; replaced between jobs on SIGHUP */
    struct filter_set *filters;   /* built from config and policy */
    struct sandbox *sandbox;
    struct jobq *jobq;
    int slot;
    char host[HOST_NAME_MAX + 1];
};

/* The first SIGTERM or SIGINT asks the loop to stop once the job in progress is published.
 * A second one also ends the retries of a result that Redis cannot take. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t give_up;

/* The token of the lease the running job holds, 0 between jobs. Written only with SIGUSR1
 * blocked, so that the handler never sees half of it. */
static volatile uint64_t lease_token_held;
/* Raised by SIGUSR1 when the supervisor says the held lease is lost. */
static volatile sig_atomic_t lease_lost;
/* Raised by SIGUSR1 when the supervisor says the job's client cancelled it. */
static volatile sig_atomic_t cancel_requested;
/* Raised with either of those: the sandbox watches it and kills the job. */
static volatile sig_atomic_t job_abort;
/* Ends the retries of jobq_finish: a second stop signal, or the lease lost meanwhile. */
static volatile sig_atomic_t finish_stop;
/* Raised by SIGHUP: read the policy file again before the next job. */
static volatile sig_atomic_t reload_requested;

static void worker_on_reload_signal(int signo)
{
    reload_requested = 1;
}

static void worker_on_signal(int signo)
{
    if (stop_requested) {
        give_up = 1;
        finish_stop = 1;
    }
    stop_requested = 1;
}

/* Reads the supervisor's "lost <token>" and "cancel <token>" messages. Only
 * async-signal-safe calls: recv and plain byte arithmetic. A message about a token other
 * than the one held (a lease this worker already released) changes nothing. */
static void worker_on_lease_signal(int signo)
{
    int saved_errno = errno;
    char message[WORKER_LEASE_MESSAGE_MAX];
    ssize_t n;

    while ((n = recv(WORKER_LEASE_FD, message, sizeof(message), MSG_DONTWAIT)) > 0) {
        bool lost = n > 5 && memcmp(message, "lost ", 5) == 0;
        bool cancel = n > 7 && memcmp(message, "cancel ", 7) == 0;
        uint64_t token = 0;
        ssize_t i = lost ? 5 : 7;

        if (!lost && !cancel)
            continue;
        for (; i < n && message[i] >= '0' && message[i] <= '9'; i++)
            token = token * 10 + (uint64_t)(message[i] - '0');
        if (i != n || token == 0 || token != lease_token_held)
            continue;

        job_abort = 1;
        if (cancel) {
            cancel_requested = 1;
            continue;
        }
        lease_lost = 1;
        finish_stop = 1;
    }
    errno = saved_errno;
}

/* hiredis writes with plain write(): a server that went away would kill us with SIGPIPE.
 * A handler, unlike SIG_IGN, is reset by execve, so jobs still get the default. */
static void worker_on_sigpipe(int signo)
{
}

static int worker_install_signals(void)
{
    struct sigaction stop = { .sa_handler = worker_on_signal, .sa_flags = SA_RESTART };
    struct sigaction broken_pipe = { .sa_handler = worker_on_sigpipe, .sa_flags = SA_RESTART };

    sigemptyset(&stop.sa_mask);
    sigemptyset(&broken_pipe.sa_mask);
    if (sigaction(SIGTERM, &stop, NULL) < 0 || sigaction(SIGINT, &stop, NULL) < 0 ||
        sigaction(SIGPIPE, &broken_pipe, NULL) < 0)
        return -errno;
    return 0;
}

/* Queue mode only: the lease channel must be there, and must not reach any job. */
static int worker_install_lease_channel(void)
{
    struct sigaction lost = { .sa_handler = worker_on_lease_signal, .sa_flags = SA_RESTART };
    struct stat st;

    if (fstat(WORKER_LEASE_FD, &st) < 0)
        return -errno;
    if (!S_ISSOCK(st.st_mode))
        return -ENOTSOCK;
    if (fcntl(WORKER_LEASE_FD, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;

    sigemptyset(&lost.sa_mask);
    if (sigaction(SIGUSR1, &lost, NULL) < 0)
        return -errno;
    return 0;
}

/* Sets the token SIGUSR1 compares against, with the signal held off meanwhile. */
static void worker_hold_token(uint64_t token)
{
    sigset_t usr1, saved;

    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &saved);
    lease_token_held = token;
    lease_lost = 0;
    cancel_requested = 0;
    job_abort = 0;
    finish_stop = give_up;
    sigprocmask(SIG_SETMASK, &saved, NULL);
}

/* Tells the supervisor about a lease: "lease" before the job runs, "release" after. A
 * supervisor that does not hear it cannot renew the lease, and the job is then lost to
 * another worker after lease_ms: that is logged, and the job goes on meanwhile. */
static void worker_tell_lease(const struct job *job, const char *verb,
                              const struct jobq_lease *lease)
{
    char message[WORKER_LEASE_MESSAGE_MAX];
    int n;

    if (strcmp(verb, "lease") == 0)
        n = snprintf(message, sizeof(message), "lease %s %" PRIu64 " %" PRIu64 " %s %s",
                     lease->entry_id, lease->token, lease->claimed_at_ms, job->id,
                     job->tenant);
    else
        n = snprintf(message, sizeof(message), "%s %s %" PRIu64, verb, lease->entry_id,
                     lease->token);

    if (n < 0 || (size_t)n >= sizeof(message) ||
        send(WORKER_LEASE_FD, message, (size_t)n, MSG_NOSIGNAL) != n)
        log_job(job, LOG_LEVEL_WARN, "lease_channel_failed", "verb=%s entry_id=%s errno=%d",
                verb, lease->entry_id, errno);
}

/* Tells the supervisor that the job's final result was stored: "done", with the status the
 * stored result has (an internal_error at the last attempt was stored as a dead_letter). */
static void worker_tell_done(const struct job *job, const struct jobq_lease *lease,
                             const struct result *result)
{
    char message[WORKER_LEASE_MESSAGE_MAX];
    bool given_up = result->status == JOB_STATUS_INTERNAL_ERROR &&
                    lease->attempt >= job->max_attempts;
    const char *status = given_up ? job_status_name(JOB_STATUS_DEAD_LETTER)
                                  : job_status_name(result->status);
    int n = snprintf(message, sizeof(message), "done %s %" PRIu64 " %s %" PRIu64,
                     lease->entry_id, lease->token, status, result->run.wall_ms);

    if (n < 0 || (size_t)n >= sizeof(message) ||
        send(WORKER_LEASE_FD, message, (size_t)n, MSG_NOSIGNAL) != n)
        log_job(job, LOG_LEVEL_WARN, "lease_channel_failed", "verb=done entry_id=%s errno=%d",
                lease->entry_id, errno);
}

static uint64_t worker_now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static const char worker_synopsis[] =
    "Usage: ccx-worker --slot N [--redis URL] [--config PATH]\n"
    "       ccx-worker --intake [--redis URL] [--config PATH]\n"
    "       ccx-worker --direct --lang L FILE [--stdin FILE] [--arg A]...\n"
    "                  [--wall-ms N] [--memory-mb N] [--config PATH] [--slot N]\n";

static void worker_usage(void)
{
    fputs(worker_synopsis, stdout);
    fputs("\n"
          "Queue mode takes jobs from Redis (ccx:jobs) as worker slot N until SIGTERM; it\n"
          "needs fd 3, the lease channel that ccx-supervisor opens for each worker.\n"
          "Intake mode moves new jobs from ccx:jobs to the tenants' fair queues; the\n"
          "supervisor runs one per host.\n"
          "Direct mode runs FILE once as a job in language L, without Redis, and prints\n"
          "the result as JSON; it exits 0 when the status is ok, 1 otherwise.\n"
          "\n"
          "  --slot N        worker slot: jobs run as host uid uid_base + N (direct: 0)\n"
          "  --redis URL     redis://[:password@]host[:port][/db] or unix:///path\n"
          "  --config PATH   configuration file (default: $CCX_CONFIG, then the built-in)\n"
          "  --intake        run the host's intake\n"
          "  --direct        run one job from FILE\n"
          "  --lang L        the job's language, as named in the configuration\n"
          "  --stdin FILE    the job's standard input\n"
          "  --arg A         an argument for the program; repeat for more\n"
          "  --wall-ms N     wall-clock limit in milliseconds\n"
          "  --memory-mb N   memory limit in MiB\n"
          "  --help          print this text\n",
          stdout);
}

/* ==== Options ==== */

static int worker_add_arg(struct options *opts, char *arg)
{
    char **grown = realloc(opts->args, (opts->arg_count + 1) * sizeof(*grown));

    if (!grown)
        return -ENOMEM;

    grown[opts->arg_count++] = arg;
    opts->args = grown;
    return 0;
}

/* Applies one option. Returns 0, or -EINVAL after printing what is wrong. */
static int worker_apply_option(struct options *opts, int option, char *value)
{
    uint64_t number = 0;
    int r = 0;

    switch (option) {
    case 's':
        r = parse_u64(value, &number);
        if (r >= 0 && number > WORKER_SLOT_MAX)
            r = -EINVAL;
        opts->slot = (int)number;
        break;
    case 'r':
        opts->redis_url = value;
        break;
    case 'c':
        opts->config_path = value;
        break;
    case 'd':
        opts->direct = true;
        break;
    case 'n':
        opts->intake = true;
        break;
    case 'l':
        opts->language = value;
        break;
    case 'i':
        opts->stdin_path = value;
        break;
    case 'a':
        r = worker_add_arg(opts, value);
        break;
    case 'w':
        r = parse_u64(value, &opts->wall_ms);
        if (r == 0 && opts->wall_ms == 0)
            r = -EINVAL; /* 0 would mean "the default" below; say so rather than guess */
        break;
    case 'm':
        r = parse_u64(value, &opts->memory_mb);
        if (r == 0 && opts->memory_mb == 0)
            r = -EINVAL;
        break;
    default:
        return -EINVAL;
    }

    if (r < 0)
        fprintf(stderr, "ccx-worker: bad value for an option: '%s'\n", value ? value : "");
    return r;
}

/* Checks that the options make one of the two modes. Returns 0 or -EINVAL after printing
 * why. */
static int worker_check_options(struct options *opts, int argc, char **argv)
{
    if (opts->intake) {
        if (opts->direct || opts->slot >= 0 || optind != argc || opts->language ||
            opts->stdin_path || opts->arg_count > 0 || opts->wall_ms || opts->memory_mb) {
            fputs("ccx-worker: --intake takes no --slot and no job options\n", stderr);
            return -EINVAL;
        }
        return 0;
    }
    if (!opts->direct) {
        if (opts->slot < 0 || optind != argc || opts->language || opts->stdin_path ||
            opts->arg_count > 0 || opts->wall_ms || opts->memory_mb) {
            fputs("ccx-worker: queue mode takes --slot N and no job options\n", stderr);
            return -EINVAL;
        }
        return 0;
    }

    if (!opts->language || optind + 1 != argc || opts->redis_url) {
        fputs("ccx-worker: --direct takes --lang L and one FILE, and no --redis\n", stderr);
        return -EINVAL;
    }
    opts->source_path = argv[optind];
    if (opts->slot < 0)
        opts->slot = 0;
    return 0;
}

/* Returns 0 to run, 1 when --help was asked for, or -EINVAL for a usage error (printed). */
static int worker_parse_options(int argc, char **argv, struct options *opts)
{
    static const struct option long_options[] = {
        { "slot", required_argument, NULL, 's' },
        { "redis", required_argument, NULL, 'r' },
        { "config", required_argument, NULL, 'c' },
        { "direct", no_argument, NULL, 'd' },
        { "intake", no_argument, NULL, 'n' },
        { "lang", required_argument, NULL, 'l' },
        { "stdin", required_argument, NULL, 'i' },
        { "arg", required_argument, NULL, 'a' },
        { "wall-ms", required_argument, NULL, 'w' },
        { "memory-mb", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int option;

    opts->slot = -1;
    while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (option == 'h')
            return 1;
        if (worker_apply_option(opts, option, optarg) < 0)
            return -EINVAL;
    }

    return worker_check_options(opts, argc, argv);
}

/* Loads the configuration. Returns it, or NULL after printing the loader's message. */
static struct ccx_config *worker_load_config(const struct options *opts)
{
    const char *path = opts->config_path;
    struct ccx_config *config = NULL;
    char err[512] = "";
    int r;

    if (!path)
        path = getenv("CCX_CONFIG");
    if (!path || !path[0])
        path = config_default_path();

    r = config_load(path, &config, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "ccx-worker: %s\n", err[0] ? err : strerror(-r));
        return NULL;
    }
    return config;
}

/* ==== Tenant policy ==== */

/* The seccomp filter the job's tenant runs its program under: one of the set built with the
 * policy that was applied to the job. */
static const struct filter *worker_job_filter(const struct filter_set *filters,
                                              const struct job *job)
{
    return filters ? filter_set_find(filters, job->seccomp_profile, job->children) : NULL;
}

/* ==== Running a job ==== */

/* The answer for a job the runner could not take to a status: internal_error, with the
 * reason, so that the client still hears back. Returns 0 or -ENOMEM. */
static int worker_result_internal(const struct job *job, int error, struct result *result)
{
    result_clear(result);
    result->status = JOB_STATUS_INTERNAL_ERROR;
    result->run.exit_code = -1;
    result->meta = job->meta;
    result->meta_size = job->meta_size;

    result->id = strdup(job->id ? job->id : job->entry_id ? job->entry_id : "");
    if (asprintf(&result->reason, "the worker could not run the job: %s", strerror(-error)) < 0)
        result->reason = NULL;
    result->language = job->language ? strdup(job->language) : NULL;
    result->tenant = job->tenant ? strdup(job->tenant) : NULL;
    result->policy_version = job->policy_version ? strdup(job->policy_version) : NULL;

    return result->id && result->reason ? 0 : -ENOMEM;
}

/* Moves what the code scan found (risk level, findings, its code_risk event) into result.
 * Returns 0 or -ENOMEM. */
static int worker_take_scan(struct result *scan, struct result *result)
{
    result->has_risk = scan->has_risk;
    result->risk_level = scan->risk_level;
    result->findings = TAKE_PTR(scan->findings);
    result->finding_count = scan->finding_count;
    scan->finding_count = 0;

    for (size_t i = 0; i < scan->events.count; i++) {
        int r = event_list_add(&result->events, scan->events.items[i].kind, "%s",
                               scan->events.items[i].detail);

        if (r < 0)
            return r;
    }
    return 0;
}

/* Scans the job's code as its tenant's policy asks and, when the policy rejects what it
 * found, answers policy_violation without running it. Returns 1 when the job is answered,
 * 0 when it is to run (with scan holding the findings), or -errno. */
static int worker_scan_job(const struct policy *policy, const struct job *job,
                           struct result *scan, struct result *result)
{
    bool reject = false;
    int r;

    if (job->reject_reason)
        return 0;

    r = analysis_run(job, policy_tenant(policy, job->tenant), scan, &reject);
    if (r < 0 || !reject)
        return r;

    r = worker_result_internal(job, -EPERM, result);
    if (r < 0)
        return r;

    result->status = JOB_STATUS_POLICY_VIOLATION;
    free(result->reason);
    result->reason = TAKE_PTR(scan->reason);
    r = worker_take_scan(scan, result);
    return r < 0 ? r : 1;
}

/* Runs job to its result, whatever happens, and fills in who ran it. Logs job_started and
 * job_finished. */
static void worker_run_job(struct sandbox *sandbox, const struct ccx_config *config,
                           const struct policy *policy, const struct filter_set *filters,
                           const char *host, int slot, const struct job *job,
                           struct result *result)
{
    const struct filter *filter = worker_job_filter(filters, job);
    struct result scan = { 0 };
    char quoted[LOG_QUOTE_SIZE];
    uint64_t start_ms = worker_now_ms();
    int r;

    log_job(job, LOG_LEVEL_INFO, "job_started", "language=%s attempt=%" PRIu32
            " policy_version=%s", log_quote(quoted, job->language ? job->language : ""),
            job->attempt, job->policy_version ? job->policy_version : "");

    r = worker_scan_job(policy, job, &scan, result);

    /* The set is built from the policy the job was decided by: a miss is our bug, and the
     * job is not run under a filter its tenant did not get. */
    if (r == 0 && !filter && !job->reject_reason) {
        log_job(job, LOG_LEVEL_ERR, "policy_filter_missing", "children=%d", job->children);
        r = -ENOENT;
    } else if (r == 0) {
        r = runner_run(sandbox, config, job, filter, &policy_tenant(policy, job->tenant)->cgroup,
                       result);
        if (r == 0)
            r = worker_take_scan(&scan, result);
    }
    result_clear(&scan);
    if (r < 0) {
        log_job(job, LOG_LEVEL_ERR, "job_runner_failed", "errno=%d", -r);
        worker_result_internal(job, r, result);
    }

    free(result->host);
    result->host = strdup(host);
    result->worker = slot;
    result->attempt = job->attempt;

    log_job(job, LOG_LEVEL_INFO, "job_finished", "status=%s wall_ms=%" PRIu64 " exit_code=%d%s%s",
            job_status_name(result->status) ? job_status_name(result->status) : "unknown",
            worker_now_ms() - start_ms, result->run.exit_code, result->reason ? " reason=" : "",
            result->reason ? log_quote(quoted, result->reason) : "");
}

/* ==== Queue mode ==== */

static void worker_warm_up(struct sandbox *sandbox)
{
    int r = sandbox_warm_up(sandbox);

    if (r < 0)
        log_warn("sandbox_warm_up_failed", "errno=%d action=clone_when_needed", -r);
}

/* Why the claim said not to run a job, by verdict: its status, the log event, the reason. */
static const struct worker_unrun {
    enum job_status status;
    const char *event;
    const char *reason;
} worker_unrun_table[] = {
    [JOBQ_VERDICT_CANCELLED] = { JOB_STATUS_CANCELLED, "job_cancelled",
                                 "cancelled by its client before it started" },
    [JOBQ_VERDICT_EXPIRED] = { JOB_STATUS_EXPIRED, "job_expired",
                               "its deadline passed before it started" },
    [JOBQ_VERDICT_CIRCUIT_OPEN] = { JOB_STATUS_CIRCUIT_OPEN, "job_circuit_open",
                                    "its tenant's circuit breaker is open: too many of its "
                                    "recent jobs failed or were refused (ccx breaker list); "
                                    "not run, not retried" },
};

/* The result of a job the claim said not to run (cancelled or expired before it started,
 * or its tenant's breaker open): nothing ran, so only who asked and why. Returns 0 or
 * -ENOMEM. */
static int worker_result_unrun(const struct worker *worker, const struct job *job,
                               enum jobq_verdict verdict, struct result *result)
{
    const struct worker_unrun *why = &worker_unrun_table[verdict];

    memset(result, 0, sizeof(*result));
    result->status = why->status;
    result->run.exit_code = -1;
    result->meta = job->meta;
    result->meta_size = job->meta_size;
    result->attempt = job->attempt;
    result->worker = worker->slot;
    result->id = strdup(job->id ? job->id : job->entry_id);
    result->tenant = strdup(job->tenant ? job->tenant : "default");
    result->host = strdup(worker->host);
    result->language = job->language ? strdup(job->language) : NULL;
    result->reason = strdup(why->reason);
    result->policy_version = job->policy_version ? strdup(job->policy_version) : NULL;
    return result->id && result->tenant && result->host && result->reason ? 0 : -ENOMEM;
}

/* A job whose client cancelled it while it ran: the sandbox was killed, and the result
 * says so, with the time it had used. */
static void worker_result_cancelled(struct result *result)
{
    char *reason = strdup("cancelled by its client while it ran");

    result->status = JOB_STATUS_CANCELLED;
    if (reason) {
        free(result->reason);
        result->reason = reason;
    }
}

/* Publishes the result of a job whose lease was not lost while it ran. */
static void worker_publish(struct worker *worker, const struct job *job,
                           const struct jobq_lease *lease, const struct result *result)
{
    int r = jobq_finish(worker->jobq, job, lease, result, &finish_stop);

    if (r == -ESTALE)
        log_job(job, LOG_LEVEL_WARN, "lease_lost_at_finish", "entry_id=%s token=%" PRIu64
                " attempt=%" PRIu32 " action=result_dropped", lease->entry_id, lease->token,
                lease->attempt);
    else if (r < 0 && lease_lost)
        log_job(job, LOG_LEVEL_WARN, "lease_lost", "entry_id=%s token=%" PRIu64
                " attempt=%" PRIu32 " during=finish action=result_dropped", lease->entry_id,
                lease->token, lease->attempt);
    else if (r < 0)
        log_job(job, LOG_LEVEL_ERR, "result_not_published", "entry_id=%s errno=%d",
                lease->entry_id, -r);
    else if (r == 0)
        log_job(job, LOG_LEVEL_INFO, "result_already_stored", "entry_id=%s", lease->entry_id);
    else if (r == 1)
        worker_tell_done(job, lease, result);
    /* JOBQ_FINISH_RETRY: the queue logged retry_scheduled, and the entry waits its turn. */
}

static void worker_handle_job(struct worker *worker, struct job *job,
                              const struct jobq_lease *lease)
{
    struct result result = { 0 };

    worker_hold_token(lease->token);
    worker_tell_lease(job, "lease", lease);

    if (lease->verdict != JOBQ_VERDICT_RUN) {
        log_job(job, LOG_LEVEL_INFO, worker_unrun_table[lease->verdict].event,
                "entry_id=%s attempt=%" PRIu32 " during=claim action=not_run", lease->entry_id,
                lease->attempt);
        if (worker_result_unrun(worker, job, lease->verdict, &result) == 0)
            worker_publish(worker, job, lease, &result);
        else
            log_job(job, LOG_LEVEL_ERR, "result_not_published", "entry_id=%s errno=%d",
                    lease->entry_id, ENOMEM);
        goto out_release;
    }

    worker_run_job(worker->sandbox, worker->config, worker->policy, worker->filters,
                   worker->host, worker->slot, job, &result);
    /* A job that ended on its own before the kill keeps its own result. */
    if (cancel_requested && !lease_lost && result.status == JOB_STATUS_INTERNAL_ERROR) {
        worker_result_cancelled(&result);
        log_job(job, LOG_LEVEL_INFO, "job_cancelled", "entry_id=%s attempt=%" PRIu32
                " during=run wall_ms=%" PRIu64 " cpu_ms=%" PRIu64, lease->entry_id,
                lease->attempt, result.run.wall_ms, result.run.cpu_ms);
    }

    /* Another worker has the job now: whatever this run found is not the answer. */
    if (lease_lost) {
        log_job(job, LOG_LEVEL_WARN, "lease_lost", "entry_id=%s token=%" PRIu64
                " attempt=%" PRIu32 " during=run action=killed_no_result", lease->entry_id,
                lease->token, lease->attempt);
        if (jobq_note_zombie(worker->jobq, job, lease) < 0)
            log_job(job, LOG_LEVEL_WARN, "zombie_report_failed", "errno=%d", ENOMEM);
    } else
        worker_publish(worker, job, lease, &result);

out_release:
    worker_tell_lease(job, "release", lease);
    worker_hold_token(0);

    result_clear(&result);
    job_free(job);

    /* After publishing, so that the client does not wait for it: the next jobs' sandbox
     * children start moving into their cgroups while the worker waits for work. */
    worker_warm_up(worker->sandbox);
}

/* Lets a SIGHUP that came meanwhile in (its handler only raises reload_requested), then
 * reads the policy again if one did. Called between jobs only. */
static void worker_check_reload(struct worker *worker)
{
    char err[1024], field[256], quoted_file[LOG_QUOTE_SIZE], quoted_reason[LOG_QUOTE_SIZE];
    const char *file = worker->config->policy_path ? worker->config->policy_path : "";
    struct filter_set *filters = NULL;
    struct policy *policy = NULL;
    const char *reason;
    sigset_t hup;
    int r;

    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigprocmask(SIG_UNBLOCK, &hup, NULL);
    sigprocmask(SIG_BLOCK, &hup, NULL);
    if (!reload_requested)
        return;
    reload_requested = 0;

    r = filter_set_load(worker->config, &policy, &filters, err, sizeof(err));
    if (r < 0) {
        policy_error_split(file, err[0] ? err : strerror(-r), field, sizeof(field), &reason);
        log_err("policy_load_failed", "file=%s field=%s reason=%s errno=%d action=kept "
                "version=%s", log_quote(quoted_file, file), field[0] ? field : "-",
                log_quote(quoted_reason, reason), -r, worker->policy->version);
        return;
    }

    /* Nothing refers to the old ones once the queue and the sandbox have the new. */
    jobq_set_policy(worker->jobq, policy);
    sandbox_set_filters(worker->sandbox, filters);
    policy_free(worker->policy);
    filter_set_free(worker->filters);
    worker->policy = policy;
    worker->filters = filters;
    log_info("policy_loaded", "version=%s file=%s filters=%zu", policy->version,
             log_quote(quoted_file, file), filter_set_count(filters));
    worker_warm_up(worker->sandbox);
}

static void worker_loop(struct worker *worker)
{
    while (!stop_requested) {
        struct jobq_lease lease = { 0 };
        struct job *job = NULL;
        int r;

        worker_check_reload(worker);

        /* Redis failures are logged by the queue once per outage; it also paces the retries. */
        r = jobq_take(worker->jobq, WORKER_TAKE_TIMEOUT_MS, &job, &lease);
        if (r == -ENOMEM)
            log_err("job_take_failed", "errno=%d", ENOMEM);
        if (r == 0)
            worker_warm_up(worker->sandbox); /* idle: replace a waiting child that died */
        if (r <= 0)
            continue;

        /* A job taken is finished even when a stop came meanwhile: it is claimed by this
         * consumer, and nobody else would answer it. */
        worker_handle_job(worker, job, &lease);
    }
}

/* SIGHUP only raises reload_requested, and is kept blocked but between jobs
 * (worker_check_reload). The supervisor starts workers with it blocked already, so that one
 * sent before this runs waits rather than ending the worker. */
static int worker_install_reload_signal(void)
{
    struct sigaction reload = { .sa_handler = worker_on_reload_signal, .sa_flags = SA_RESTART };
    sigset_t hup;

    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &hup, NULL) < 0)
        return -errno;
    sigemptyset(&reload.sa_mask);
    if (sigaction(SIGHUP, &reload, NULL) < 0)
        return -errno;
    return 0;
}

/* Takes *policy and *filters; reloads replace them, and the ones in force at the end are
 * handed back there for the caller to free. */
static int worker_serve(const struct options *opts, const struct ccx_config *config,
                        struct policy **policy, struct filter_set **filters)
{
    struct worker worker = { .config = config, .slot = opts->slot, .policy = *policy,
                             .filters = *filters };
    char consumer[HOST_NAME_MAX + 32];
    int r;

    log_init("worker", opts->slot, LOG_LEVEL_INFO);
    if (gethostname(worker.host, sizeof(worker.host) - 1) < 0)
        snprintf(worker.host, sizeof(worker.host), "unknown");
    snprintf(consumer, sizeof(consumer), "%s:%d", worker.host, (int)getpid());

    r = worker_install_signals();
    if (r == 0)
        r = worker_install_reload_signal();
    if (r < 0) {
        log_err("worker_start_failed", "stage=signals errno=%d", -r);
        return 1;
    }

    r = worker_install_lease_channel();
    if (r < 0) {
        log_err("worker_start_failed", "stage=lease_channel fd=%d errno=%d", WORKER_LEASE_FD,
                -r);
        return 1;
    }

    r = sandbox_new(config, opts->slot, &worker.sandbox);
    if (r < 0) {
        log_err("worker_start_failed", "stage=sandbox errno=%d", -r);
        return 1;
    }
    sandbox_set_abort_flag(worker.sandbox, &job_abort);
    sandbox_set_filters(worker.sandbox, worker.filters);
    worker_warm_up(worker.sandbox);

    r = jobq_new(redis_url_choose(opts->redis_url, config->redis_url), config, consumer,
                 worker.host, opts->slot, &worker.jobq);
    if (r < 0) {
        log_err("worker_start_failed", "stage=jobq errno=%d", -r);
        sandbox_free(worker.sandbox);
        return 1;
    }

    jobq_set_stop_flag(worker.jobq, &stop_requested);
    jobq_set_policy(worker.jobq, worker.policy);
    log_info("worker_started", "consumer=%s pid=%d policy_version=%s", consumer, (int)getpid(),
             worker.policy->version);
    if (send(WORKER_LEASE_FD, "ready", 5, MSG_NOSIGNAL) != 5)
        log_warn("lease_channel_failed", "verb=ready errno=%d", errno);
    worker_loop(&worker);
    log_info("worker_stopped", "consumer=%s", consumer);

    jobq_free(worker.jobq);
    sandbox_free(worker.sandbox);
    *policy = worker.policy;
    *filters = worker.filters;
    return 0;
}

/* ==== Intake mode ==== */

/* The intake reads the policy once, at start, and keeps SIGHUP blocked as the supervisor
 * started it: on a reload the supervisor restarts it instead (pool_restart_intake). */
static int intake_serve(const struct options *opts, const struct ccx_config *config,
                        const struct policy *policy)
{
    int r;

    log_init("intake", -1, LOG_LEVEL_INFO);
    r = worker_install_signals();
    if (r < 0) {
        log_err("intake_start_failed", "stage=signals errno=%d", -r);
        return 1;
    }

    r = intake_run(config, policy, redis_url_choose(opts->redis_url, config->redis_url),
                   &stop_requested);
    if (r < 0) {
        log_err("intake_failed", "errno=%d", -r);
        return 1;
    }
    return 0;
}

/* ==== Direct mode ==== */

/* Reads a whole file. Returns 0 and *ret_data (free it) and *ret_size, or -errno. */
static int direct_read_file(const char *path, uint8_t **ret_data, size_t *ret_size)
{
    _cleanup_fclose_ FILE *file = NULL;
    _cleanup_free_ uint8_t *data = NULL;
    size_t size = 0, capacity = 0;

    file = fopen(path, "rb");
    if (!file)
        return -errno;

    for (;;) {
        if (size == capacity) {
            uint8_t *grown = realloc(data, capacity ? capacity * 2 : 65536);

            if (!grown)
                return -ENOMEM;
            data = grown;
            capacity = capacity ? capacity * 2 : 65536;
        }

        size += fread(data + size, 1, capacity - size, file);
        if (ferror(file))
            return -EIO;
        if (feof(file))
            break;
    }

    *ret_data = TAKE_PTR(data);
    *ret_size = size;
    return 0;
}

static int direct_pack_str(msgpack_packer *pk, const char *text)
{
    size_t len = strlen(text);

    return msgpack_pack_str(pk, len) | msgpack_pack_str_body(pk, text, len);
}

static int direct_pack_bin(msgpack_packer *pk, const uint8_t *data, size_t size)
{
    return msgpack_pack_bin(pk, size) | msgpack_pack_bin_body(pk, data, size);
}

static int direct_pack_limits(const struct options *opts, msgpack_packer *pk)
{
    int failed;

    failed = direct_pack_str(pk, "limits");
    failed |= msgpack_pack_map(pk, (opts->wall_ms > 0) + (opts->memory_mb > 0));
    if (opts->wall_ms > 0)
        failed |= direct_pack_str(pk, "wall_ms") | msgpack_pack_uint64(pk, opts->wall_ms);
    if (opts->memory_mb > 0)
        failed |= direct_pack_str(pk, "memory_mb") | msgpack_pack_uint64(pk, opts->memory_mb);
    return failed;
}

/* The job as a client would send it: id, language, source, and stdin, args and limits when
 * given. Decoding it with job_decode applies the same checks as the queue. Returns 0 or
 * -ENOMEM (the packer fails only when memory runs out). */
static int direct_pack_job(const struct options *opts, const uint8_t *source, size_t source_size,
                           const uint8_t *stdin_data, size_t stdin_size, msgpack_sbuffer *out)
{
    bool has_limits = opts->wall_ms > 0 || opts->memory_mb > 0;
    size_t fields = 3 + (opts->stdin_path != NULL) + (opts->arg_count > 0) + has_limits;
    msgpack_packer pk;
    char id[64];
    int failed;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    snprintf(id, sizeof(id), "direct-%d", (int)getpid());

    failed = msgpack_pack_map(&pk, fields);
    failed |= direct_pack_str(&pk, "id") | direct_pack_str(&pk, id);
    failed |= direct_pack_str(&pk, "language") | direct_pack_str(&pk, opts->language);
    failed |= direct_pack_str(&pk, "source") | direct_pack_bin(&pk, source, source_size);

    if (opts->stdin_path)
        failed |= direct_pack_str(&pk, "stdin") | direct_pack_bin(&pk, stdin_data, stdin_size);

    if (opts->arg_count > 0) {
        failed |= direct_pack_str(&pk, "args") | msgpack_pack_array(&pk, opts->arg_count);
        for (size_t i = 0; i < opts->arg_count; i++)
            failed |= direct_pack_str(&pk, opts->args[i]);
    }

    if (has_limits)
        failed |= direct_pack_limits(opts, &pk);

    return failed ? -ENOMEM : 0;
}

/* Builds the job from the command line: the files are read here, the checks are the
 * decoder's. Returns 0 and *ret_job, or -errno after printing what failed. */
static int direct_build_job(const struct options *opts, const struct ccx_config *config,
                            struct job **ret_job)
{
    _cleanup_sbuffer_ msgpack_sbuffer message = { 0 };
    _cleanup_free_ uint8_t *source = NULL;
    _cleanup_free_ uint8_t *stdin_data = NULL;
    size_t source_size = 0, stdin_size = 0;
    int r;

    r = direct_read_file(opts->source_path, &source, &source_size);
    if (r < 0) {
        fprintf(stderr, "ccx-worker: %s: %s\n", opts->source_path, strerror(-r));
        return r;
    }

    r = opts->stdin_path ? direct_read_file(opts->stdin_path, &stdin_data, &stdin_size) : 0;
    if (r < 0) {
        fprintf(stderr, "ccx-worker: %s: %s\n", opts->stdin_path, strerror(-r));
        return r;
    }

    r = direct_pack_job(opts, source, source_size, stdin_data, stdin_size, &message);
    if (r >= 0)
        r = job_decode(message.data, message.size, "0-0", config, ret_job);
    if (r < 0)
        fprintf(stderr, "ccx-worker: cannot build the job: %s\n", strerror(-r));
    return r;
}

/* Prints the result as one line of JSON, through its wire encoding so that the output
 * shows exactly what a client would get. Returns 0 or -errno. */
static int direct_print_result(const struct result *result)
{
    _cleanup_sbuffer_ msgpack_sbuffer encoded = { 0 };
    msgpack_unpacked unpacked;
    json_t *json;
    int r;

    r = result_encode(result, &encoded);
    if (r < 0)
        return r;

    msgpack_unpacked_init(&unpacked);
    if (msgpack_unpack_next(&unpacked, encoded.data, encoded.size, NULL) !=
        MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy(&unpacked);
        return -EBADMSG;
    }

    json = msgpack_to_json(&unpacked.data);
    msgpack_unpacked_destroy(&unpacked);
    if (!json)
        return -ENOMEM;

    r = json_dumpf(json, stdout, JSON_COMPACT) < 0 ? -EIO : 0;
    json_decref(json);
    if (r < 0 || fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
        return -EIO;
    return 0;
}

static int direct_run(const struct options *opts, const struct ccx_config *config,
                      const struct policy *policy, const struct filter_set *filters)
{
    struct sandbox *sandbox = NULL;
    struct job *job = NULL;
    struct result result = { 0 };
    char host[HOST_NAME_MAX + 1] = "";
    int r;

    log_init("worker", opts->slot, LOG_LEVEL_INFO);
    if (gethostname(host, sizeof(host) - 1) < 0)
        snprintf(host, sizeof(host), "unknown");

    /* Ctrl-C lets the job end within its wall limit and still prints the result, rather
     * than leaving a sandbox behind with nobody to time it. */
    r = worker_install_signals();
    if (r < 0) {
        log_err("worker_start_failed", "stage=signals errno=%d", -r);
        return 1;
    }

    r = direct_build_job(opts, config, &job);
    if (r < 0)
        return r == -ENOMEM ? 1 : WORKER_EXIT_USAGE;
    if (job_apply_policy(job, policy) < 0) {
        fputs("ccx-worker: cannot apply the policy: out of memory\n", stderr);
        job_free(job);
        return 1;
    }

    r = sandbox_new(config, opts->slot, &sandbox);
    if (r < 0) {
        log_err("worker_start_failed", "stage=sandbox errno=%d", -r);
        job_free(job);
        return 1;
    }

    sandbox_set_filters(sandbox, filters);
    worker_run_job(sandbox, config, policy, filters, host, opts->slot, job, &result);
    r = direct_print_result(&result);
    if (r < 0)
        fprintf(stderr, "ccx-worker: cannot print the result: %s\n", strerror(-r));

    r = r >= 0 && result.status == JOB_STATUS_OK ? 0 : 1;
    result_clear(&result);
    job_free(job);
    sandbox_free(sandbox);
    return r;
}

int main(int argc, char **argv)
{
    struct options opts = { 0 };
    struct filter_set *filters = NULL;
    struct policy *policy = NULL;
    struct ccx_config *config;
    char err[1024];
    int r;

    r = worker_parse_options(argc, argv, &opts);
    if (r > 0)
        worker_usage();
    else if (r < 0)
        fputs(worker_synopsis, stderr);
    if (r != 0) {
        free(opts.args);
        return r > 0 ? 0 : WORKER_EXIT_USAGE;
    }

    config = worker_load_config(&opts);
    if (!config) {
        free(opts.args);
        return WORKER_EXIT_USAGE;
    }

    r = filter_set_load(config, &policy, &filters, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "ccx-worker: %s\n", err[0] ? err : strerror(-r));
        config_free(config);
        free(opts.args);
        return WORKER_EXIT_USAGE;
    }

    r = opts.direct   ? direct_run(&opts, config, policy, filters)
        : opts.intake ? intake_serve(&opts, config, policy)
                      : worker_serve(&opts, config, &policy, &filters);

    filter_set_free(filters);
    policy_free(policy);
    config_free(config);
    free(opts.args);
    return r;
}
