/* One beat: TIME first (outside the transaction, for the clock offset), then MULTI, the
 * host and workers hashes with their TTL, ccx:hosts, the counters, EXEC; every command
 * appended before the first reply is read, so a beat costs one round trip. */
#include "supervisor/heartbeat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "common/cleanup.h"
#include "common/keys.h"
#include "common/redis_conn.h"

#define HEARTBEAT_TIMEOUT_MIN_MS 100
#define HEARTBEAT_TIMEOUT_MAX_MS 1000
#define HEARTBEAT_TTL_BEATS 3

struct heartbeat {
    char *url;
    char *host;
    char *host_key;
    char *workers_key;
    uint64_t ttl_ms;
    int timeout_ms;         /* a quarter beat, 100 ms to 1 s: the loop waits that long at most */
    int64_t clock_offset_ms;
    redisContext *context;  /* NULL while disconnected */
    int appended;           /* commands appended in this beat, each owing a reply */
};

static uint64_t realtime_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static void heartbeat_disconnect(struct heartbeat *heartbeat)
{
    if (heartbeat->context)
        redisFree(heartbeat->context);
    heartbeat->context = NULL;
}

int heartbeat_new(const char *url, const char *host, uint64_t beat_ms,
                  struct heartbeat **ret_heartbeat)
{
    struct heartbeat *heartbeat = calloc(1, sizeof(*heartbeat));

    if (!heartbeat)
        return -ENOMEM;

    heartbeat->url = strdup(url);
    heartbeat->host = strdup(host);
    if (asprintf(&heartbeat->host_key, "%s%s", KEY_HOST_PREFIX, host) < 0)
        heartbeat->host_key = NULL;
    if (asprintf(&heartbeat->workers_key, "%s%s", KEY_WORKERS_PREFIX, host) < 0)
        heartbeat->workers_key = NULL;
    if (!heartbeat->url || !heartbeat->host || !heartbeat->host_key ||
        !heartbeat->workers_key) {
        heartbeat_free(heartbeat);
        return -ENOMEM;
    }

    heartbeat->ttl_ms = beat_ms * HEARTBEAT_TTL_BEATS;
    heartbeat->timeout_ms = (int)(beat_ms / 4);
    if (heartbeat->timeout_ms < HEARTBEAT_TIMEOUT_MIN_MS)
        heartbeat->timeout_ms = HEARTBEAT_TIMEOUT_MIN_MS;
    if (heartbeat->timeout_ms > HEARTBEAT_TIMEOUT_MAX_MS)
        heartbeat->timeout_ms = HEARTBEAT_TIMEOUT_MAX_MS;
    *ret_heartbeat = heartbeat;
    return 0;
}

void heartbeat_free(struct heartbeat *heartbeat)
{
    if (!heartbeat)
        return;

    heartbeat_disconnect(heartbeat);
    free(heartbeat->url);
    free(heartbeat->host);
    free(heartbeat->host_key);
    free(heartbeat->workers_key);
    free(heartbeat);
}

int64_t heartbeat_clock_offset_ms(const struct heartbeat *heartbeat)
{
    return heartbeat->clock_offset_ms;
}

/* Appends one command (hiredis's format: each %s one argument); counted for the replies. */
__attribute__((format(printf, 2, 3))) static void heartbeat_append(struct heartbeat *heartbeat,
                                                                  const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    if (redisvAppendCommand(heartbeat->context, format, ap) == REDIS_OK)
        heartbeat->appended++;
    va_end(ap);
}

static void heartbeat_append_host(struct heartbeat *heartbeat, const struct heartbeat_host *host,
                                  const struct pool_worker *workers, size_t worker_count,
                                  uint64_t now_ms)
{
    double load[1] = { 0.0 };
    char load1[32];
    size_t busy = 0;

    for (size_t i = 0; i < worker_count; i++)
        busy += workers[i].state == POOL_STATE_RUNNING;
    if (getloadavg(load, 1) < 1)
        load[0] = 0.0;
    snprintf(load1, sizeof(load1), "%.2f", load[0]);

    heartbeat_append(heartbeat, "HSET %s version %s pid %d started_at_ms %" PRIu64
                     " beat_at_ms %" PRIu64 " workers %d busy %llu load1 %s cgroup %s"
                     " namespaces %s seccomp %s policy_version %s", heartbeat->host_key,
                     host->version, host->pid, host->started_at_ms, now_ms, host->workers,
                     (unsigned long long)busy,
                     load1, host->cgroup, host->namespaces, host->seccomp,
                     host->policy_version);
    heartbeat_append(heartbeat, "PEXPIRE %s %" PRIu64, heartbeat->host_key, heartbeat->ttl_ms);
    heartbeat_append(heartbeat, "ZADD %s %" PRIu64 " %s", KEY_HOSTS, now_ms, heartbeat->host);
}

/* The workers hash is written whole each beat (DEL first), so that a slot's entry never
 * outlives what the pool knows. */
static void heartbeat_append_workers(struct heartbeat *heartbeat,
                                     const struct pool_worker *workers, size_t worker_count)
{
    heartbeat_append(heartbeat, "DEL %s", heartbeat->workers_key);
    for (size_t i = 0; i < worker_count; i++) {
        const struct pool_worker *worker = &workers[i];
        json_t *value = json_pack("{s:s, s:i, s:s, s:s, s:I}", "state",
                                  pool_state_name(worker->state), "pid", worker->pid, "job_id",
                                  worker->job_id, "tenant", worker->tenant, "since_ms",
                                  (json_int_t)worker->since_ms);
        _cleanup_free_ char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;

        json_decref(value);
        if (text)
            heartbeat_append(heartbeat, "HSET %s %d %s", heartbeat->workers_key, worker->slot,
                             text);
    }
    heartbeat_append(heartbeat, "PEXPIRE %s %" PRIu64, heartbeat->workers_key,
                     heartbeat->ttl_ms);
}

static void heartbeat_append_hist(struct heartbeat *heartbeat, const char *key,
                                  const struct stats_hist *hist)
{
    if (hist->count == 0)
        return;
    for (size_t i = 0; i < STATS_BUCKET_COUNT; i++)
        if (hist->buckets[i])
            heartbeat_append(heartbeat, "HINCRBY %s %s %" PRIu64, key, stats_bucket_field(i),
                             hist->buckets[i]);
    heartbeat_append(heartbeat, "HINCRBY %s sum_ms %" PRIu64, key, hist->sum_ms);
    heartbeat_append(heartbeat, "HINCRBY %s count %" PRIu64, key, hist->count);
}

/* The counters of one scope: suffix "" for the fleet-wide keys, ":tenant:<t>" for one. */
static void heartbeat_append_counts(struct heartbeat *heartbeat, const char *suffix,
                                    const struct stats_counts *counts)
{
    char finished[256], queue_wait[256], run[256];

    snprintf(finished, sizeof(finished), "%s%s", KEY_FINISHED, suffix);
    snprintf(queue_wait, sizeof(queue_wait), "%s%s", KEY_HIST_QUEUE_WAIT, suffix);
    snprintf(run, sizeof(run), "%s%s", KEY_HIST_RUN, suffix);

    for (int i = 0; i < JOB_STATUS_COUNT; i++)
        if (counts->finished[i])
            heartbeat_append(heartbeat, "HINCRBY %s %s %" PRIu64, finished,
                             job_status_name((enum job_status)i), counts->finished[i]);
    heartbeat_append_hist(heartbeat, queue_wait, &counts->queue_wait);
    heartbeat_append_hist(heartbeat, run, &counts->run);
}

static void heartbeat_append_stats(struct heartbeat *heartbeat, const struct stats *stats,
                                   uint64_t now_ms)
{
    char suffix[128];

    if (!stats_pending(stats))
        return;
    heartbeat_append_counts(heartbeat, "", &stats->pending);
    for (size_t i = 0; i < stats->tenant_count; i++) {
        const struct stats_tenant *tenant = &stats->tenants[i];

        snprintf(suffix, sizeof(suffix), KEY_PER_TENANT_INFIX "%s", tenant->name);
        heartbeat_append_counts(heartbeat, suffix, &tenant->counts);
        heartbeat_append(heartbeat, "ZADD %s %" PRIu64 " %s", KEY_FINISHED_TENANTS, now_ms,
                         tenant->name);
    }
}

/* Reads the beat's replies: TIME's, then the transaction's. Returns 0 when EXEC ran, else
 * -errno. */
static int heartbeat_read_replies(struct heartbeat *heartbeat, uint64_t sent_ms)
{
    int r = 0;

    for (int i = 0; i < heartbeat->appended; i++) {
        _cleanup_reply_ redisReply *reply = NULL;
        bool last = i == heartbeat->appended - 1;

        if (redisGetReply(heartbeat->context, (void **)&reply) != REDIS_OK || !reply)
            return redis_error_to_errno(heartbeat->context);

        if (i == 0 && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
            uint64_t redis_ms = strtoull(reply->element[0]->str, NULL, 10) * 1000 +
                                strtoull(reply->element[1]->str, NULL, 10) / 1000;
            uint64_t local_ms = (sent_ms + realtime_ms()) / 2;

            heartbeat->clock_offset_ms = (int64_t)(redis_ms - local_ms);
        }
        if (reply->type == REDIS_REPLY_ERROR && r == 0)
            r = redis_reply_means_failover(reply->str) ? -ENOTCONN : -EPROTO;
        if (last && reply->type != REDIS_REPLY_ARRAY && r == 0)
            r = -EPROTO; /* EXEC's answer is nil or an error when the transaction failed */
    }
    return r;
}

/* Connects when needed and starts a beat's pipeline: TIME (for the clock offset), then the
 * transaction its writes go into. Returns 0 or -errno. */
static int heartbeat_begin(struct heartbeat *heartbeat)
{
    int r;

    if (!heartbeat->context) {
        r = redis_connect(heartbeat->url, heartbeat->timeout_ms, &heartbeat->context);
        if (r < 0)
            return r;
    }

    heartbeat->appended = 0;
    heartbeat_append(heartbeat, "TIME");
    heartbeat_append(heartbeat, "MULTI");
    return 0;
}

/* Ends the transaction, reads every reply and, once Redis took it all, forgets the counts
 * it carried. A failure drops the connection (the next beat connects again) and keeps the
 * counts for it. Returns 0 or -errno. */
static int heartbeat_commit(struct heartbeat *heartbeat, uint64_t sent_ms, struct stats *stats)
{
    int r;

    heartbeat_append(heartbeat, "EXEC");
    r = heartbeat_read_replies(heartbeat, sent_ms);
    if (r < 0) {
        heartbeat_disconnect(heartbeat);
        return r;
    }
    stats_pending_clear(stats);
    return 0;
}

int heartbeat_beat(struct heartbeat *heartbeat, const struct heartbeat_host *host,
                   const struct pool_worker *workers, size_t worker_count,
                   struct stats *stats)
{
    uint64_t sent_ms = realtime_ms();
    uint64_t now_ms = (uint64_t)((int64_t)sent_ms + heartbeat->clock_offset_ms);
    int r;

    r = heartbeat_begin(heartbeat);
    if (r < 0)
        return r;

    heartbeat_append_host(heartbeat, host, workers, worker_count, now_ms);
    heartbeat_append_workers(heartbeat, workers, worker_count);
    heartbeat_append_stats(heartbeat, stats, now_ms);
    return heartbeat_commit(heartbeat, sent_ms, stats);
}

int heartbeat_leave(struct heartbeat *heartbeat, struct stats *stats)
{
    uint64_t sent_ms = realtime_ms();
    int r;

    r = heartbeat_begin(heartbeat);
    if (r < 0)
        return r;

    heartbeat_append_stats(heartbeat, stats,
                           (uint64_t)((int64_t)sent_ms + heartbeat->clock_offset_ms));
    heartbeat_append(heartbeat, "DEL %s %s", heartbeat->host_key, heartbeat->workers_key);
    heartbeat_append(heartbeat, "ZREM %s %s", KEY_HOSTS, heartbeat->host);
    return heartbeat_commit(heartbeat, sent_ms, stats);
}
