/* The job queue over Redis streams.
 *
 * Clients add entries to ccx:jobs; workers read them through the consumer group ccx-workers.
 * A finished entry is acknowledged and deleted in the same script that stores its result, so
 * the stream holds only the backlog and the group can always start at id 0: that stays true
 * when Redis restarts without the group, and the group is simply created again.
 *
 * Leases: a worker runs an entry only once a script has given it a lease (ccx:lease:<entry>,
 * with a fencing token from ccx:token and an expiry in ccx:leases, on Redis's clock) and the
 * group's pending list names it as the entry's consumer. Its supervisor renews the lease;
 * when it runs out, any idle worker takes the entry over (XCLAIM, a new token), and the first
 * holder's result script then stores nothing. Only Redis's clock decides expiry, so hosts
 * need not agree on the time.
 *
 * Connection handling: any failure (network, timeout, an error reply) drops the connection.
 * The next call waits out a jittered exponential backoff before it connects again. An outage
 * is logged once at warn when it starts (event=redis_unreachable) and once when a command
 * succeeds again (event=redis_reconnected). */
#include "worker/jobq.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <msgpack.h>

#include "common/cleanup.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/redis_conn.h"

#define JOBQ_COMMAND_TIMEOUT_MS 5000 /* every command but the blocking read */
#define JOBQ_BLOCK_MARGIN_MS 5000    /* the blocking read's socket timeout is BLOCK plus this */
/* How often an idle worker looks for expired leases: a lease handed back by a supervisor
 * whose worker died waits at most this long for an idle worker. */
#define JOBQ_RECLAIM_EVERY_MS 1000
#define JOBQ_BACKOFF_MIN_MS 100
#define JOBQ_BACKOFF_MAX_MS 5000
#define JOBQ_STREAM_ID_SIZE JOBQ_ENTRY_ID_SIZE
#define JOBQ_MAX_ARGS 16
/* How many of the oldest long-idle pending entries a reclaim looks through for one that
 * has no lease. */
#define JOBQ_ORPHAN_SCAN "16"

/* Scripts read Redis's clock as ms: TIME is seconds and microseconds. */
#define JOBQ_LUA_NOW                                                                       \
    "local t = redis.call('TIME')\n"                                                       \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/* Gives this worker a lease on an entry it was delivered, atomically.
 *   KEYS[1] ccx:jobs   KEYS[2] ccx:leases   KEYS[3] ccx:lease:<entry>   KEYS[4] ccx:token
 *   KEYS[5] ccx:result:<job id>
 *   ARGV[1] the group   ARGV[2] the entry id   ARGV[3] this consumer   ARGV[4] the host
 *   ARGV[5] the job id   ARGV[6] lease_ms
 * The group's pending list must name this consumer: a worker whose delivery came late (a
 * slow reconnect) finds the entry reclaimed by another and leaves it. An entry whose job was
 * answered already (a redelivery after the result was stored) is retired here and never run
 * again. The hash outlives an expired lease, so attempt counts every holder. Returns {1,
 * token, attempt}, {0} when the job was answered already, {-1} when another consumer owns
 * the entry. */
static const char jobq_claim_script[] =
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)\n"
    "if #p == 0 or p[1][2] ~= ARGV[3] then return {-1} end\n"
    "if redis.call('EXISTS', KEYS[5]) == 1 then\n"
    "    redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "    redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "    redis.call('ZREM', KEYS[2], ARGV[2])\n"
    "    redis.call('DEL', KEYS[3])\n"
    "    return {0}\n"
    "end\n"
    JOBQ_LUA_NOW
    "local attempt = redis.call('HINCRBY', KEYS[3], 'attempt', 1)\n"
    "local token = redis.call('INCR', KEYS[4])\n"
    "redis.call('HSET', KEYS[3], 'token', token, 'consumer', ARGV[3], 'host', ARGV[4],\n"
    "           'job_id', ARGV[5])\n"
    "redis.call('ZADD', KEYS[2], string.format('%.0f', now + tonumber(ARGV[6])), ARGV[2])\n"
    "return {1, token, attempt}\n";

/* Takes over one entry whose worker is gone, for this consumer.
 *   KEYS[1] ccx:jobs   KEYS[2] ccx:leases   KEYS[3] ccx:token
 *   ARGV[1] the group   ARGV[2] this consumer   ARGV[3] lease_ms   ARGV[4] ccx:lease:
 * It picks the oldest expired lease, or else a pending entry idle for lease_ms that has no
 * lease at all (its consumer died between delivery and claim; such a delivery counts as an
 * attempt, unless the entry was leased before and the hash counted it already). The entry
 * moves to this consumer in the group (XCLAIM, so the pending list stays right), gets a new
 * token at once (fencing the last holder) and an expiry lease_ms ahead, so that no other
 * worker takes it before this one claims it (jobq_claim_script).
 * The hash key is built here: the script runs on one Redis, not a cluster. Returns {0}
 * when there is nothing to take, {1, kind, {entry, fields}} (kind "expired" or "orphan"),
 * {2, entry} when the entry was gone from the stream (its lease is cleared), {3, entry}
 * when it was no longer pending (its expiry is cleared; the hash stays). */
static const char jobq_reclaim_script[] =
    JOBQ_LUA_NOW
    "local kind = 'expired'\n"
    "local entry = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1)[1]\n"
    "if not entry then\n"
    "    kind = 'orphan'\n"
    "    local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+',\n"
    "                          " JOBQ_ORPHAN_SCAN ")\n"
    "    if p['err'] then return {0} end\n"
    "    for _, row in ipairs(p) do\n"
    "        if not redis.call('ZSCORE', KEYS[2], row[1]) then entry = row[1] break end\n"
    "    end\n"
    "end\n"
    "if not entry then return {0} end\n"
    "local hash = ARGV[4] .. entry\n"
    "local found = redis.call('XRANGE', KEYS[1], entry, entry)\n"
    "if #found == 0 then\n"
    "    redis.pcall('XACK', KEYS[1], ARGV[1], entry)\n"
    "    redis.call('ZREM', KEYS[2], entry)\n"
    "    redis.call('DEL', hash)\n"
    "    return {2, entry}\n"
    "end\n"
    "local moved = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, entry, 'JUSTID')\n"
    "if #moved == 0 then\n"
    "    redis.call('ZREM', KEYS[2], entry)\n"
    "    return {3, entry}\n"
    "end\n"
    "if kind == 'orphan' and redis.call('EXISTS', hash) == 0 then\n"
    "    redis.call('HINCRBY', hash, 'attempt', 1)\n"
    "end\n"
    "redis.call('HSET', hash, 'token', redis.call('INCR', KEYS[3]), 'consumer', ARGV[2])\n"
    "redis.call('ZADD', KEYS[2], string.format('%.0f', now + tonumber(ARGV[3])), entry)\n"
    "return {1, kind, found[1]}\n";

/* Stores a result once and retires its stream entry and lease, atomically, if the lease is
 * still the caller's.
 *   KEYS[1] ccx:result:<id>   KEYS[2] ccx:reply:<id>   KEYS[3] ccx:jobs   KEYS[4] ccx:leases
 *   KEYS[5] ccx:lease:<entry>
 *   ARGV[1] the result (msgpack)   ARGV[2] TTL in seconds   ARGV[3] the group
 *   ARGV[4] the stream entry id   ARGV[5] the caller's token
 * A token that is not the entry's any more means another worker has the job now: nothing
 * is written, whatever the first run found. No lease at all means nobody else holds one:
 * another holder finished (then SET NX keeps its answer) or Redis lost its data (then this
 * is the only answer the client can get). Otherwise the result is written only when none
 * is there yet (a client may already have read the first answer), and the reply list gets
 * it only in that case, so BLPOP sees each job's result once. The entry is acknowledged and
 * deleted either way. XACK runs through pcall because a group lost with a Redis restart has
 * nothing to acknowledge, and that must not keep the entry in the stream. Returns 1 when
 * this call stored the result, 0 when one was there, -1 for a stale token. */
static const char jobq_finish_script[] =
    "local token = redis.call('HGET', KEYS[5], 'token')\n"
    "if token and token ~= ARGV[5] then return -1 end\n"
    "local stored = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])\n"
    "if stored then\n"
    "    redis.call('RPUSH', KEYS[2], ARGV[1])\n"
    "    redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
    "end\n"
    "redis.pcall('XACK', KEYS[3], ARGV[3], ARGV[4])\n"
    "redis.call('XDEL', KEYS[3], ARGV[4])\n"
    "redis.call('ZREM', KEYS[4], ARGV[4])\n"
    "redis.call('DEL', KEYS[5])\n"
    "if stored then return 1 end\n"
    "return 0\n";

struct jobq {
    char *url;
    const struct ccx_config *config; /* borrowed; outlives the jobq */
    char *consumer;
    char *host;
    char lease_ms[32];               /* config->lease_ms, formatted for the scripts */
    redisContext *context;           /* NULL while disconnected */
    int timeout_ms;                  /* the socket timeout currently set on context */

    /* Pending entries of this consumer are read again once per connection, from this
     * cursor on, until the group reports none left. */
    bool pending_done;
    char pending_cursor[JOBQ_STREAM_ID_SIZE];

    /* Backoff: no connection attempt before retry_at_ms (monotonic). */
    uint64_t backoff_ms;             /* 0 while healthy */
    uint64_t retry_at_ms;
    bool outage;                     /* redis_unreachable was logged, redis_reconnected not */
    uint64_t outage_since_ms;
    uint64_t random_state;

    /* Reclaims are not tried again before reclaim_at_ms (monotonic) once one found nothing. */
    uint64_t reclaim_at_ms;
};

static uint64_t jobq_clock_ms(clockid_t clock)
{
    struct timespec now;

    clock_gettime(clock, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static uint64_t jobq_random(struct jobq *jobq)
{
    /* xorshift64: the jitter only has to keep a fleet of workers from retrying in step. */
    uint64_t x = jobq->random_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    jobq->random_state = x;
    return x;
}

static void jobq_disconnect(struct jobq *jobq)
{
    if (jobq->context)
        redisFree(jobq->context);
    jobq->context = NULL;
}

/* Records a failure: drops the connection, arms the next backoff and logs the start of an
 * outage (only the start). what names the operation, detail is Redis's own text or NULL.
 * Returns error, so that callers can return through it. */
static int jobq_fail(struct jobq *jobq, int error, const char *what, const char *detail)
{
    char quoted[LOG_QUOTE_SIZE];
    uint64_t now_ms = jobq_clock_ms(CLOCK_MONOTONIC);
    uint64_t delay_ms;

    /* detail may point into the context: copy it before the context goes. */
    log_quote(quoted, detail ? detail : strerror(-error));
    jobq_disconnect(jobq);

    if (jobq->backoff_ms == 0)
        jobq->backoff_ms = JOBQ_BACKOFF_MIN_MS;
    else if (jobq->backoff_ms * 2 < JOBQ_BACKOFF_MAX_MS)
        jobq->backoff_ms *= 2;
    else
        jobq->backoff_ms = JOBQ_BACKOFF_MAX_MS;

    /* +-20 %: 80 to 120 percent of the step. */
    delay_ms = jobq->backoff_ms * (80 + jobq_random(jobq) % 41) / 100;
    jobq->retry_at_ms = now_ms + delay_ms;

    if (!jobq->outage) {
        jobq->outage = true;
        jobq->outage_since_ms = now_ms;
        log_warn("redis_unreachable", "op=%s errno=%d error=%s retry_ms=%" PRIu64, what, -error,
                 quoted, delay_ms);
    } else {
        log_debug("redis_retry_failed", "op=%s errno=%d error=%s retry_ms=%" PRIu64, what,
                  -error, quoted, delay_ms);
    }
    return error;
}

/* Redis answered a command properly: the backoff resets and an outage, if any, ends. */
static void jobq_healthy(struct jobq *jobq)
{
    uint64_t now_ms;

    jobq->backoff_ms = 0;
    if (!jobq->outage)
        return;

    now_ms = jobq_clock_ms(CLOCK_MONOTONIC);
    jobq->outage = false;
    log_info("redis_reconnected", "outage_ms=%" PRIu64, now_ms - jobq->outage_since_ms);
}

static int jobq_set_timeout(struct jobq *jobq, int timeout_ms)
{
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };

    if (jobq->timeout_ms == timeout_ms)
        return 0;

    if (redisSetTimeout(jobq->context, tv) != REDIS_OK)
        return jobq_fail(jobq, -EIO, "set_timeout", jobq->context->errstr);

    jobq->timeout_ms = timeout_ms;
    return 0;
}

/* Sends one command and reads its reply. Returns 0 and *ret_reply, which may be an error
 * reply (the caller decides what that means), or -errno after a connection failure, which
 * is recorded through jobq_fail. */
static int jobq_command(struct jobq *jobq, const char *what, int argc, const char **argv,
                        const size_t *argv_len, redisReply **ret_reply)
{
    redisReply *reply;

    reply = redisCommandArgv(jobq->context, argc, argv, argv_len);
    if (!reply)
        return jobq_fail(jobq, redis_error_to_errno(jobq->context), what,
                         jobq->context->errstr);

    *ret_reply = reply;
    return 0;
}

/* jobq_command for arguments that are all C strings (at most JOBQ_MAX_ARGS). */
static int jobq_command_str(struct jobq *jobq, const char *what, int argc, const char **argv,
                            redisReply **ret_reply)
{
    size_t argv_len[JOBQ_MAX_ARGS];

    assert(argc <= JOBQ_MAX_ARGS);
    for (int i = 0; i < argc; i++)
        argv_len[i] = strlen(argv[i]);
    return jobq_command(jobq, what, argc, argv, argv_len, ret_reply);
}

static bool jobq_reply_is_error(const redisReply *reply, const char *code)
{
    size_t code_len = strlen(code);

    return reply->type == REDIS_REPLY_ERROR && reply->len >= code_len &&
           strncmp(reply->str, code, code_len) == 0 &&
           (reply->str[code_len] == ' ' || reply->str[code_len] == '\0');
}

/* Creates the group, and the stream with it. A group that exists already is fine. */
static int jobq_group_create(struct jobq *jobq)
{
    const char *argv[] = { "XGROUP", "CREATE", KEY_JOBS, KEY_WORKER_GROUP, "0", "MKSTREAM" };
    _cleanup_reply_ redisReply *reply = NULL;
    int r;

    r = jobq_command_str(jobq, "xgroup_create", 6, argv, &reply);
    if (r < 0)
        return r;

    if (reply->type == REDIS_REPLY_ERROR && !jobq_reply_is_error(reply, "BUSYGROUP"))
        return jobq_fail(jobq, -EPROTO, "xgroup_create", reply->str);

    jobq_healthy(jobq);
    return 0;
}

/* Sleeps until the backoff allows a new attempt. Returns 0, or -EINTR when a signal came
 * first, so that the caller can look at its stop flag. */
static int jobq_backoff_wait(const struct jobq *jobq)
{
    struct timespec until = {
        .tv_sec = (time_t)(jobq->retry_at_ms / 1000),
        .tv_nsec = (long)(jobq->retry_at_ms % 1000) * 1000000,
    };
    int r;

    if (jobq->backoff_ms == 0 || jobq_clock_ms(CLOCK_MONOTONIC) >= jobq->retry_at_ms)
        return 0;

    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    return r == 0 ? 0 : -r;
}

/* Connects when there is no connection, after the backoff, and makes sure the group exists.
 * Returns 0 or -errno (the failure is recorded). */
static int jobq_connect(struct jobq *jobq)
{
    redisContext *context = NULL;
    int r;

    if (jobq->context)
        return 0;

    r = jobq_backoff_wait(jobq);
    if (r < 0)
        return r;

    r = redis_connect(jobq->url, JOBQ_COMMAND_TIMEOUT_MS, &context);
    if (r < 0)
        return jobq_fail(jobq, r, "connect", NULL);

    jobq->context = context;
    jobq->timeout_ms = JOBQ_COMMAND_TIMEOUT_MS;
    jobq->pending_done = false;
    snprintf(jobq->pending_cursor, sizeof(jobq->pending_cursor), "0");

    return jobq_group_create(jobq);
}

/* XREADGROUP for one entry after start_id ("0" and up: this consumer's pending entries;
 * ">": new ones). block_ms < 0 means no BLOCK. A group that vanished (Redis restarted
 * without it) is created again and the read retried once. Returns 0 and *ret_reply (not an
 * error reply) or -errno. */
static int jobq_read(struct jobq *jobq, const char *start_id, int block_ms,
                     redisReply **ret_reply)
{
    const char *argv[JOBQ_MAX_ARGS];
    char block[32];
    int argc = 0;
    int r;

    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = KEY_WORKER_GROUP;
    argv[argc++] = jobq->consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = "1";
    if (block_ms >= 0) {
        snprintf(block, sizeof(block), "%d", block_ms);
        argv[argc++] = "BLOCK";
        argv[argc++] = block;
    }
    argv[argc++] = "STREAMS";
    argv[argc++] = KEY_JOBS;
    argv[argc++] = start_id;

    /* The socket must outlast BLOCK, or a quiet queue would look like a dead server. */
    r = jobq_set_timeout(jobq, block_ms < 0 ? JOBQ_COMMAND_TIMEOUT_MS
                                            : block_ms + JOBQ_BLOCK_MARGIN_MS);
    if (r < 0)
        return r;

    for (int tries = 0;; tries++) {
        _cleanup_reply_ redisReply *reply = NULL;

        r = jobq_command_str(jobq, "xreadgroup", argc, argv, &reply);
        if (r < 0)
            return r;

        if (reply->type != REDIS_REPLY_ERROR) {
            jobq_healthy(jobq);
            *ret_reply = TAKE_PTR(reply);
            return 0;
        }

        if (tries > 0 || !jobq_reply_is_error(reply, "NOGROUP"))
            return jobq_fail(jobq, -EPROTO, "xreadgroup", reply->str);

        log_warn("job_group_recreated", "group=%s stream=%s", KEY_WORKER_GROUP, KEY_JOBS);
        r = jobq_group_create(jobq);
        if (r < 0)
            return r;
    }
}

/* A stream entry as Redis returns it: [id, fields], where fields is an array, or nil for an
 * entry deleted while it was pending. */
static bool jobq_entry_shape_ok(const redisReply *entry)
{
    return entry->type == REDIS_REPLY_ARRAY && entry->elements == 2 &&
           entry->element[0]->type == REDIS_REPLY_STRING &&
           entry->element[0]->len < JOBQ_STREAM_ID_SIZE &&
           (entry->element[1]->type == REDIS_REPLY_ARRAY ||
            entry->element[1]->type == REDIS_REPLY_NIL);
}

/* The one entry of an XREADGROUP reply, checked for shape: [id, fields] where fields is an
 * array, or nil for an entry deleted while it was pending. Returns 1 and *ret_entry, 0 when
 * the reply holds no entry (a nil reply after BLOCK, or an empty list), -EPROTO otherwise. */
static int jobq_reply_entry(const redisReply *reply, const redisReply **ret_entry)
{
    const redisReply *stream, *entries, *entry;

    if (reply->type == REDIS_REPLY_NIL)
        return 0;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
        return -EPROTO;

    stream = reply->element[0];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2 ||
        stream->element[1]->type != REDIS_REPLY_ARRAY)
        return -EPROTO;

    entries = stream->element[1];
    if (entries->elements == 0)
        return 0;

    entry = entries->element[0];
    if (!jobq_entry_shape_ok(entry))
        return -EPROTO;

    *ret_entry = entry;
    return 1;
}

/* The value of the entry's "job" field, or NULL when it has none. */
static const redisReply *jobq_entry_job_field(const redisReply *fields)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *name = fields->element[i];
        const redisReply *value = fields->element[i + 1];

        if (name->type == REDIS_REPLY_STRING && value->type == REDIS_REPLY_STRING &&
            name->len == strlen(KEY_JOBS_FIELD) &&
            memcmp(name->str, KEY_JOBS_FIELD, name->len) == 0)
            return value;
    }
    return NULL;
}

/* Decodes a stream entry into a job. Every entry with fields yields a job, a rejected one
 * when it cannot run, so that it gets an answer under its entry id. Returns 0 and *ret_job
 * or -ENOMEM. */
static int jobq_entry_decode(const struct jobq *jobq, const redisReply *entry,
                             struct job **ret_job)
{
    const char *entry_id = entry->element[0]->str;
    const redisReply *value = jobq_entry_job_field(entry->element[1]);
    struct job *job = NULL;
    char *reason;
    int r;

    if (value)
        return job_decode(value->str, value->len, entry_id, jobq->config, ret_job);

    r = job_decode("", 0, entry_id, jobq->config, &job);
    if (r < 0)
        return r;

    /* The decoder's reason would talk about an empty message; name the real problem. */
    reason = strdup("stream entry has no 'job' field");
    if (!reason) {
        job_free(job);
        return -ENOMEM;
    }
    free(job->reject_reason);
    job->reject_reason = reason;

    *ret_job = job;
    return 0;
}

/* Acknowledges an entry that is pending but no longer in the stream (it was deleted after
 * being read): there is nothing left to answer. */
static int jobq_ack_deleted(struct jobq *jobq, const char *entry_id)
{
    const char *argv[] = { "XACK", KEY_JOBS, KEY_WORKER_GROUP, entry_id };
    _cleanup_reply_ redisReply *reply = NULL;
    int r;

    r = jobq_command_str(jobq, "xack", 4, argv, &reply);
    if (r < 0)
        return r;

    if (reply->type == REDIS_REPLY_ERROR)
        return jobq_fail(jobq, -EPROTO, "xack", reply->str);

    log_info("job_entry_vanished", "entry_id=%s", entry_id);
    return 0;
}

/* The id a job is answered under: its own, else its stream entry's. */
static const char *jobq_job_answer_id(const struct job *job)
{
    return job->id ? job->id : job->entry_id;
}

/* The integer at index of a script's array reply, or -1 when it is not one. */
static long long jobq_reply_int(const redisReply *reply, size_t index)
{
    if (reply->type != REDIS_REPLY_ARRAY || index >= reply->elements ||
        reply->element[index]->type != REDIS_REPLY_INTEGER)
        return -1;
    return reply->element[index]->integer;
}

/* Takes the lease on a decoded entry that this consumer was delivered (jobq_claim_script).
 * Returns 1 with *ret_lease filled and job->attempt set to the lease's attempt, 0 when the
 * job must not run (answered already, and now retired; or another consumer owns the entry),
 * or -errno. Logs the cases it skips. */
static int jobq_claim(struct jobq *jobq, struct job *job, struct jobq_lease *ret_lease)
{
    _cleanup_free_ char *lease_key = NULL;
    _cleanup_free_ char *result_key = NULL;
    _cleanup_reply_ redisReply *reply = NULL;
    uint64_t claimed_at_ms = jobq_clock_ms(CLOCK_MONOTONIC);
    long long code, token, attempt;
    int r;

    if (asprintf(&lease_key, "%s%s", KEY_LEASE_PREFIX, job->entry_id) < 0 ||
        asprintf(&result_key, "%s%s", KEY_RESULT_PREFIX, jobq_job_answer_id(job)) < 0) {
        lease_key = result_key = NULL;
        return -ENOMEM;
    }

    const char *argv[] = { "EVAL", jobq_claim_script, "5", KEY_JOBS, KEY_LEASES, lease_key,
                           KEY_TOKEN, result_key, KEY_WORKER_GROUP, job->entry_id,
                           jobq->consumer, jobq->host, jobq_job_answer_id(job),
                           jobq->lease_ms };

    r = jobq_set_timeout(jobq, JOBQ_COMMAND_TIMEOUT_MS);
    if (r < 0)
        return r;

    r = jobq_command_str(jobq, "claim", 14, argv, &reply);
    if (r < 0)
        return r;

    code = jobq_reply_int(reply, 0);
    if (code == 0) {
        log_job(job, LOG_LEVEL_INFO, "job_already_answered", "entry_id=%s action=retired",
                job->entry_id);
        return 0;
    }
    if (code == -1 && reply->type == REDIS_REPLY_ARRAY) {
        log_job(job, LOG_LEVEL_INFO, "lease_taken_by_other", "entry_id=%s action=skipped",
                job->entry_id);
        return 0;
    }

    token = jobq_reply_int(reply, 1);
    attempt = jobq_reply_int(reply, 2);
    if (code != 1 || token <= 0 || attempt <= 0 || attempt > UINT32_MAX)
        return jobq_fail(jobq, -EPROTO, "claim",
                         reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");

    jobq_healthy(jobq);
    snprintf(ret_lease->entry_id, sizeof(ret_lease->entry_id), "%s", job->entry_id);
    ret_lease->token = (uint64_t)token;
    ret_lease->attempt = (uint32_t)attempt;
    ret_lease->claimed_at_ms = claimed_at_ms;
    job->attempt = (uint32_t)attempt;
    return 1;
}

/* Decodes an entry this consumer was delivered and claims it. Returns 1 with *ret_job and
 * *ret_lease, 0 when it is not to be run, or -errno. */
static int jobq_accept(struct jobq *jobq, const redisReply *entry, struct job **ret_job,
                       struct jobq_lease *ret_lease)
{
    struct job *job = NULL;
    int r;

    r = jobq_entry_decode(jobq, entry, &job);
    if (r < 0)
        return r;

    r = jobq_claim(jobq, job, ret_lease);
    if (r <= 0) {
        job_free(job);
        return r;
    }

    *ret_job = job;
    return 1;
}

/* Takes over one entry whose lease expired, or that was delivered and never leased
 * (jobq_reclaim_script), and claims it. Asks Redis at most once per JOBQ_RECLAIM_EVERY_MS
 * while there is nothing to take. Returns 1 with *ret_job and *ret_lease, 0 when there is
 * none, or -errno. */
static int jobq_take_reclaimed(struct jobq *jobq, struct job **ret_job,
                               struct jobq_lease *ret_lease)
{
    uint64_t now = jobq_clock_ms(CLOCK_MONOTONIC);
    const char *argv[] = { "EVAL", jobq_reclaim_script, "3", KEY_JOBS, KEY_LEASES, KEY_TOKEN,
                           KEY_WORKER_GROUP, jobq->consumer, jobq->lease_ms, KEY_LEASE_PREFIX };
    _cleanup_reply_ redisReply *reply = NULL;
    const redisReply *entry, *kind;
    long long code;
    int r;

    if (now < jobq->reclaim_at_ms)
        return 0;

    r = jobq_set_timeout(jobq, JOBQ_COMMAND_TIMEOUT_MS);
    if (r < 0)
        return r;

    r = jobq_command_str(jobq, "reclaim", 10, argv, &reply);
    if (r < 0)
        return r;

    code = jobq_reply_int(reply, 0);
    if (code == 0) {
        jobq->reclaim_at_ms = now + JOBQ_RECLAIM_EVERY_MS;
        return 0;
    }
    if ((code == 2 || code == 3) && reply->elements == 2 &&
        reply->element[1]->type == REDIS_REPLY_STRING) {
        log_info(code == 2 ? "job_entry_vanished" : "lease_cleared",
                 "entry_id=%s reason=%s", reply->element[1]->str,
                 code == 2 ? "lease_without_entry" : "entry_not_pending");
        return 0;
    }
    if (code != 1 || reply->elements != 3 || reply->element[1]->type != REDIS_REPLY_STRING ||
        !jobq_entry_shape_ok(reply->element[2]) ||
        reply->element[2]->element[1]->type != REDIS_REPLY_ARRAY)
        return jobq_fail(jobq, -EPROTO, "reclaim",
                         reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");

    jobq_healthy(jobq);
    kind = reply->element[1];
    entry = reply->element[2];
    r = jobq_accept(jobq, entry, ret_job, ret_lease);
    if (r <= 0)
        return r;

    log_job(*ret_job, LOG_LEVEL_WARN, "lease_reclaimed", "entry_id=%s kind=%s attempt=%" PRIu32
            " token=%" PRIu64, ret_lease->entry_id, kind->str, ret_lease->attempt,
            ret_lease->token);
    return 1;
}

/* Reads this consumer's pending entries again, one per call, after a (re)connect: a job
 * read just before the connection broke would otherwise wait for the orphan scan of a
 * reclaim. Returns 1 with *ret_job and *ret_lease, 0 when none are left, or -errno. */
static int jobq_take_pending(struct jobq *jobq, struct job **ret_job,
                             struct jobq_lease *ret_lease)
{
    while (!jobq->pending_done) {
        _cleanup_reply_ redisReply *reply = NULL;
        const redisReply *entry = NULL;
        int r;

        r = jobq_read(jobq, jobq->pending_cursor, -1, &reply);
        if (r < 0)
            return r;

        r = jobq_reply_entry(reply, &entry);
        if (r < 0)
            return jobq_fail(jobq, r, "xreadgroup", "unexpected reply shape");
        if (r == 0) {
            jobq->pending_done = true;
            return 0;
        }

        /* Move the cursor past this entry: its answer is up to the caller now. */
        snprintf(jobq->pending_cursor, sizeof(jobq->pending_cursor), "%s",
                 entry->element[0]->str);

        if (entry->element[1]->type == REDIS_REPLY_NIL) {
            r = jobq_ack_deleted(jobq, entry->element[0]->str);
            if (r < 0)
                return r;
            continue;
        }

        r = jobq_accept(jobq, entry, ret_job, ret_lease);
        if (r < 0)
            return r;
        if (r == 0)
            continue;

        log_job(*ret_job, LOG_LEVEL_INFO, "job_redelivered", "entry_id=%s attempt=%" PRIu32,
                ret_lease->entry_id, ret_lease->attempt);
        return 1;
    }
    return 0;
}

int jobq_new(const char *redis_url, const struct ccx_config *config, const char *consumer,
             const char *host, struct jobq **ret_jobq)
{
    struct jobq *jobq;

    jobq = calloc(1, sizeof(*jobq));
    if (!jobq)
        return -ENOMEM;

    jobq->url = strdup(redis_url);
    jobq->consumer = strdup(consumer);
    jobq->host = strdup(host);
    if (!jobq->url || !jobq->consumer || !jobq->host) {
        jobq_free(jobq);
        return -ENOMEM;
    }

    jobq->config = config;
    snprintf(jobq->lease_ms, sizeof(jobq->lease_ms), "%" PRIu64, config->lease_ms);
    jobq->random_state = jobq_clock_ms(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32) ^
                         0x9e3779b97f4a7c15ULL;
    *ret_jobq = jobq;
    return 0;
}

void jobq_free(struct jobq *jobq)
{
    if (!jobq)
        return;

    jobq_disconnect(jobq);
    free(jobq->url);
    free(jobq->consumer);
    free(jobq->host);
    free(jobq);
}

int jobq_take(struct jobq *jobq, int timeout_ms, struct job **ret_job,
              struct jobq_lease *ret_lease)
{
    _cleanup_reply_ redisReply *reply = NULL;
    const redisReply *entry = NULL;
    int r;

    r = jobq_connect(jobq);
    if (r < 0)
        return r;

    r = jobq_take_pending(jobq, ret_job, ret_lease);
    if (r == 0)
        r = jobq_take_reclaimed(jobq, ret_job, ret_lease);
    if (r != 0)
        return r;

    /* BLOCK 0 would wait forever: a zero timeout means a plain poll. */
    r = jobq_read(jobq, ">", timeout_ms > 0 ? timeout_ms : -1, &reply);
    if (r < 0)
        return r;

    r = jobq_reply_entry(reply, &entry);
    if (r < 0)
        return jobq_fail(jobq, r, "xreadgroup", "unexpected reply shape");
    if (r == 0)
        return 0;

    /* A new entry read with ">" always carries its fields; nil would mean it was deleted in
     * the same instant, and then there is nothing to answer. */
    if (entry->element[1]->type == REDIS_REPLY_NIL) {
        r = jobq_ack_deleted(jobq, entry->element[0]->str);
        return r < 0 ? r : 0;
    }

    return jobq_accept(jobq, entry, ret_job, ret_lease);
}

/* ==== Finishing a job ==== */

/* What jobq_finish sends, encoded once and kept across retries, and which parts Redis has
 * confirmed: after a broken connection only the unconfirmed commands are sent again. */
struct jobq_batch {
    char *result_key;
    char *reply_key;
    char *lease_key;
    char ttl[32];
    char token[32];
    const char *entry_id;
    msgpack_sbuffer result;
    bool result_done;
    int stored;              /* the script's answer: 1 stored, 0 there already, -1 stale */

    msgpack_sbuffer *events; /* one encoded event each */
    bool *event_done;
    size_t event_count;
    char maxlen[32];
};

static void jobq_batch_clear(struct jobq_batch *batch)
{
    free(batch->result_key);
    free(batch->reply_key);
    free(batch->lease_key);
    msgpack_sbuffer_destroy(&batch->result);
    for (size_t i = 0; i < batch->event_count; i++)
        msgpack_sbuffer_destroy(&batch->events[i]);
    free(batch->events);
    free(batch->event_done);
}

static int jobq_batch_init(const struct jobq *jobq, const struct job *job,
                           const struct jobq_lease *lease, const struct result *result,
                           struct jobq_batch *batch)
{
    const char *id = result->id ? result->id : job->id ? job->id : job->entry_id;
    uint64_t now_ms = jobq_clock_ms(CLOCK_REALTIME);
    int r;

    msgpack_sbuffer_init(&batch->result);
    batch->entry_id = job->entry_id;
    snprintf(batch->ttl, sizeof(batch->ttl), "%" PRIu64, jobq->config->result_ttl_s);
    snprintf(batch->maxlen, sizeof(batch->maxlen), "%" PRIu64, jobq->config->events_maxlen);
    snprintf(batch->token, sizeof(batch->token), "%" PRIu64, lease->token);

    if (asprintf(&batch->result_key, "%s%s", KEY_RESULT_PREFIX, id) < 0 ||
        asprintf(&batch->reply_key, "%s%s", KEY_REPLY_PREFIX, id) < 0 ||
        asprintf(&batch->lease_key, "%s%s", KEY_LEASE_PREFIX, job->entry_id) < 0) {
        batch->result_key = batch->reply_key = batch->lease_key = NULL;
        return -ENOMEM;
    }

    r = result_encode(result, &batch->result);
    if (r < 0)
        return r;

    batch->events = calloc(result->events.count + 1, sizeof(*batch->events));
    batch->event_done = calloc(result->events.count + 1, sizeof(*batch->event_done));
    if (!batch->events || !batch->event_done)
        return -ENOMEM;

    for (size_t i = 0; i < result->events.count; i++) {
        msgpack_sbuffer_init(&batch->events[i]);
        batch->event_count = i + 1;
        r = event_encode(&result->events.items[i], id, result->tenant, result->host,
                         result->worker, now_ms, &batch->events[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Queues the result script. Returns 0 or -ENOMEM. */
static int jobq_batch_append_script(struct jobq *jobq, const struct jobq_batch *batch)
{
    const char *eval[] = { "EVAL", jobq_finish_script, "5", batch->result_key,
                           batch->reply_key, KEY_JOBS, KEY_LEASES, batch->lease_key,
                           batch->result.data, batch->ttl, KEY_WORKER_GROUP, batch->entry_id,
                           batch->token };
    size_t eval_len[13];

    for (int i = 0; i < 13; i++)
        eval_len[i] = i == 8 ? batch->result.size : strlen(eval[i]);

    return redisAppendCommandArgv(jobq->context, 13, eval, eval_len) == 0 ? 0 : -ENOMEM;
}

/* Queues one XADD per event Redis has not confirmed yet. Returns 0 or -ENOMEM. */
static int jobq_batch_append_events(struct jobq *jobq, const struct jobq_batch *batch)
{
    for (size_t i = 0; i < batch->event_count; i++) {
        const char *xadd[8];
        size_t xadd_len[8];
        int argc = 0;

        if (batch->event_done[i])
            continue;

        xadd[argc++] = "XADD";
        xadd[argc++] = KEY_EVENTS;
        /* A cap of 0 leaves the stream uncapped. */
        if (jobq->config->events_maxlen > 0) {
            xadd[argc++] = "MAXLEN";
            xadd[argc++] = "~";
            xadd[argc++] = batch->maxlen;
        }
        xadd[argc++] = "*";
        xadd[argc++] = KEY_EVENTS_FIELD;
        for (int k = 0; k < argc; k++)
            xadd_len[k] = strlen(xadd[k]);
        xadd[argc] = batch->events[i].data;
        xadd_len[argc++] = batch->events[i].size;

        if (redisAppendCommandArgv(jobq->context, argc, xadd, xadd_len) != 0)
            return -ENOMEM;
    }
    return 0;
}

/* Runs the result script, unless Redis confirmed it already. Returns 0 once it ran (the
 * answer is in batch->stored), or -errno (the failure is recorded). */
static int jobq_batch_send_script(struct jobq *jobq, struct jobq_batch *batch)
{
    _cleanup_reply_ redisReply *reply = NULL;
    int r;

    if (batch->result_done)
        return 0;

    r = jobq_batch_append_script(jobq, batch);
    if (r < 0)
        return jobq_fail(jobq, r, "finish", NULL);

    if (redisGetReply(jobq->context, (void **)&reply) != REDIS_OK)
        return jobq_fail(jobq, redis_error_to_errno(jobq->context), "finish",
                         jobq->context->errstr);

    if (reply->type != REDIS_REPLY_INTEGER || reply->integer < -1 || reply->integer > 1)
        return jobq_fail(jobq, -EPROTO, "finish",
                         reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");

    batch->result_done = true;
    batch->stored = (int)reply->integer;
    return 0;
}

/* Publishes the events in one round trip, reading every reply before judging, so that one
 * failed command does not make the others be sent twice. An event Redis refuses (an error
 * reply, such as a key of the wrong type) is logged and dropped. Returns 0 or -errno (the
 * failure is recorded). */
static int jobq_batch_send_events(struct jobq *jobq, const struct job *job,
                                  struct jobq_batch *batch)
{
    char quoted[LOG_QUOTE_SIZE];
    int r;

    r = jobq_batch_append_events(jobq, batch);
    if (r < 0)
        return jobq_fail(jobq, r, "xadd_event", NULL);

    for (size_t i = 0; i < batch->event_count; i++) {
        _cleanup_reply_ redisReply *reply = NULL;

        if (batch->event_done[i])
            continue;

        if (redisGetReply(jobq->context, (void **)&reply) != REDIS_OK)
            return jobq_fail(jobq, redis_error_to_errno(jobq->context), "xadd_event",
                             jobq->context->errstr);

        batch->event_done[i] = true;
        if (reply->type == REDIS_REPLY_ERROR)
            log_job(job, LOG_LEVEL_WARN, "event_publish_failed", "error=%s",
                    log_quote(quoted, reply->str));
    }
    return 0;
}

/* The result script first, on its own: a stale lease must publish no events either. The
 * events follow only once the result is settled, so they never hold it back. Returns 0 or
 * -errno (the failure is recorded). */
static int jobq_batch_send(struct jobq *jobq, const struct job *job, struct jobq_batch *batch)
{
    int r;

    r = jobq_set_timeout(jobq, JOBQ_COMMAND_TIMEOUT_MS);
    if (r < 0)
        return r;

    r = jobq_batch_send_script(jobq, batch);
    if (r < 0)
        return r;

    if (batch->stored >= 0) {
        r = jobq_batch_send_events(jobq, job, batch);
        if (r < 0)
            return r;
    }

    jobq_healthy(jobq);
    return 0;
}

int jobq_finish(struct jobq *jobq, const struct job *job, const struct jobq_lease *lease,
                const struct result *result, volatile sig_atomic_t *stop)
{
    __attribute__((cleanup(jobq_batch_clear))) struct jobq_batch batch = { 0 };
    int r;

    if (!job->entry_id || (!result->id && !job->id))
        return -EINVAL;

    r = jobq_batch_init(jobq, job, lease, result, &batch);
    if (r < 0)
        return r;

    /* The encoded batch lives across reconnects: the result is never lost in between. */
    for (;;) {
        r = jobq_connect(jobq);
        if (r >= 0)
            r = jobq_batch_send(jobq, job, &batch);
        if (r >= 0)
            return batch.stored < 0 ? -ESTALE : batch.stored;

        /* Once the script ran, only events are left, and what it said stands. */
        if (stop && *stop)
            return batch.result_done ? batch.stored : r;
    }
}
