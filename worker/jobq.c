/* The job queue over Redis streams.
 *
 * Clients add entries to ccx:jobs; workers read them through the consumer group ccx-workers.
 * A finished entry is acknowledged and deleted in the same script that stores its result, so
 * the stream holds only the backlog and the group can always start at id 0: that stays true
 * when Redis restarts without the group, and the group is simply created again.
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
#define JOBQ_RECLAIM_EVERY_MS 10000  /* how often to look for jobs of dead workers */
#define JOBQ_RECLAIM_MARGIN_MS 60000 /* beyond the longest job, before one counts as dead */
#define JOBQ_BACKOFF_MIN_MS 100
#define JOBQ_BACKOFF_MAX_MS 5000
#define JOBQ_STREAM_ID_SIZE 64 /* "<u64>-<u64>" fits with room to spare */
#define JOBQ_MAX_ARGS 16

/* Stores a result once and retires its stream entry, atomically.
 *   KEYS[1] ccx:result:<id>   KEYS[2] ccx:reply:<id>   KEYS[3] ccx:jobs
 *   ARGV[1] the result (msgpack)   ARGV[2] TTL in seconds   ARGV[3] the group
 *   ARGV[4] the stream entry id
 * The result is written only when none is there yet (a redelivered job must not replace the
 * answer a client may already have read), and the reply list gets it only in that case, so
 * BLPOP sees each job's result once. The entry is acknowledged and deleted either way:
 * whichever worker stored first, the job is answered. XACK runs through pcall because a
 * group lost with a Redis restart has nothing to acknowledge, and that must not keep the
 * entry in the stream. Returns 1 when this call stored the result, 0 when one was there. */
static const char jobq_finish_script[] =
    "local stored = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])\n"
    "if stored then\n"
    "    redis.call('RPUSH', KEYS[2], ARGV[1])\n"
    "    redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
    "end\n"
    "redis.pcall('XACK', KEYS[3], ARGV[3], ARGV[4])\n"
    "redis.call('XDEL', KEYS[3], ARGV[4])\n"
    "if stored then return 1 end\n"
    "return 0\n";

struct jobq {
    char *url;
    const struct ccx_config *config; /* borrowed; outlives the jobq */
    char *consumer;
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

    /* Entries other consumers left pending this long are taken over (see
     * jobq_take_abandoned); not asked again before reclaim_at_ms (monotonic). */
    uint64_t reclaim_idle_ms;
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

/* How many times the group has delivered a pending entry, from XPENDING. Used for the
 * attempt number of a job read again after a reconnect. Returns the count, or 0 when Redis
 * does not say (the caller keeps what it had); connection failures are recorded. */
static long long jobq_delivery_count(struct jobq *jobq, const char *entry_id)
{
    const char *argv[] = { "XPENDING", KEY_JOBS, KEY_WORKER_GROUP, entry_id, entry_id, "1",
                           jobq->consumer };
    _cleanup_reply_ redisReply *reply = NULL;
    const redisReply *row;

    if (jobq_command_str(jobq, "xpending", 7, argv, &reply) < 0)
        return 0;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1)
        return 0;

    row = reply->element[0];
    if (row->type != REDIS_REPLY_ARRAY || row->elements != 4 ||
        row->element[3]->type != REDIS_REPLY_INTEGER)
        return 0;
    return row->element[3]->integer;
}

/* jobq_entry_decode for an entry delivered before: its attempt is the group's delivery
 * count. */
static int jobq_entry_decode_again(struct jobq *jobq, const redisReply *entry,
                                   struct job **ret_job)
{
    long long deliveries;
    int r = jobq_entry_decode(jobq, entry, ret_job);

    if (r < 0)
        return r;
    deliveries = jobq_delivery_count(jobq, entry->element[0]->str);
    if (deliveries > 0 && deliveries <= UINT32_MAX)
        (*ret_job)->attempt = (uint32_t)deliveries;
    return 0;
}

/* Takes over one entry that another consumer read and never answered, because its worker
 * died with it. Only entries idle for longer than any job may run are taken, so their first
 * reader cannot still be at work on them; should it be (a worker cut off from Redis for that
 * long), the result script keeps the first stored result and the second run is not seen.
 * Asks Redis at most once per JOBQ_RECLAIM_EVERY_MS while there is nothing to take.
 * Returns 1 and *ret_job, 0 when there is none, or -errno. */
static int jobq_take_abandoned(struct jobq *jobq, struct job **ret_job)
{
    uint64_t now = jobq_clock_ms(CLOCK_MONOTONIC);
    _cleanup_reply_ redisReply *reply = NULL;
    const redisReply *entry;
    struct job *job = NULL;
    char min_idle[32];
    int r;

    if (now < jobq->reclaim_at_ms)
        return 0;

    snprintf(min_idle, sizeof(min_idle), "%" PRIu64, jobq->reclaim_idle_ms);
    const char *argv[] = { "XAUTOCLAIM", KEY_JOBS, KEY_WORKER_GROUP, jobq->consumer, min_idle,
                           "0-0", "COUNT", "1" };

    r = jobq_command_str(jobq, "xautoclaim", 8, argv, &reply);
    if (r < 0)
        return r;
    /* No group yet: the next read creates it, and then there is nothing to take over. */
    if (jobq_reply_is_error(reply, "NOGROUP"))
        return 0;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[1]->type != REDIS_REPLY_ARRAY)
        return jobq_fail(jobq, -EPROTO, "xautoclaim", "unexpected reply shape");

    if (reply->element[1]->elements == 0) {
        jobq->reclaim_at_ms = now + JOBQ_RECLAIM_EVERY_MS;
        return 0;
    }
    entry = reply->element[1]->element[0];
    if (!jobq_entry_shape_ok(entry))
        return jobq_fail(jobq, -EPROTO, "xautoclaim", "unexpected entry shape");
    if (entry->element[1]->type == REDIS_REPLY_NIL) {
        r = jobq_ack_deleted(jobq, entry->element[0]->str);
        return r < 0 ? r : 0;
    }

    r = jobq_entry_decode_again(jobq, entry, &job);
    if (r < 0)
        return r;
    log_job(job, LOG_LEVEL_WARN, "job_reclaimed", "entry_id=%s attempt=%" PRIu32
            " idle_ms_over=%" PRIu64, entry->element[0]->str, job->attempt,
            jobq->reclaim_idle_ms);

    *ret_job = job;
    return 1;
}

/* Reads this consumer's pending entries again, one per call, after a (re)connect: a job
 * read just before the connection broke would otherwise stay claimed by nobody. Returns 1
 * and *ret_job, 0 when none are left, or -errno. */
static int jobq_take_pending(struct jobq *jobq, struct job **ret_job)
{
    while (!jobq->pending_done) {
        _cleanup_reply_ redisReply *reply = NULL;
        const redisReply *entry = NULL;
        struct job *job = NULL;
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

        r = jobq_entry_decode_again(jobq, entry, &job);
        if (r < 0)
            return r;
        log_job(job, LOG_LEVEL_INFO, "job_redelivered", "entry_id=%s attempt=%" PRIu32,
                entry->element[0]->str, job->attempt);

        *ret_job = job;
        return 1;
    }
    return 0;
}

/* The longest a job can legitimately stay with one worker: the wall ceiling of its run plus
 * the longest compile step. */
static uint64_t jobq_longest_job_ms(const struct ccx_config *config)
{
    uint64_t compile_ms = 0;

    for (size_t i = 0; i < config->language_count; i++) {
        const struct language *language = &config->languages[i];

        if (language->compile_argv && language->compile_limits.wall_ms > compile_ms)
            compile_ms = language->compile_limits.wall_ms;
    }
    return config->limits_max.wall_ms + compile_ms;
}

int jobq_new(const char *redis_url, const struct ccx_config *config, const char *consumer,
             struct jobq **ret_jobq)
{
    struct jobq *jobq;

    jobq = calloc(1, sizeof(*jobq));
    if (!jobq)
        return -ENOMEM;

    jobq->url = strdup(redis_url);
    jobq->consumer = strdup(consumer);
    if (!jobq->url || !jobq->consumer) {
        jobq_free(jobq);
        return -ENOMEM;
    }

    jobq->config = config;
    jobq->reclaim_idle_ms = jobq_longest_job_ms(config) + JOBQ_RECLAIM_MARGIN_MS;
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
    free(jobq);
}

int jobq_take(struct jobq *jobq, int timeout_ms, struct job **ret_job)
{
    _cleanup_reply_ redisReply *reply = NULL;
    const redisReply *entry = NULL;
    int r;

    r = jobq_connect(jobq);
    if (r < 0)
        return r;

    r = jobq_take_pending(jobq, ret_job);
    if (r == 0)
        r = jobq_take_abandoned(jobq, ret_job);
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

    r = jobq_entry_decode(jobq, entry, ret_job);
    return r < 0 ? r : 1;
}

/* ==== Finishing a job ==== */

/* What jobq_finish sends, encoded once and kept across retries, and which parts Redis has
 * confirmed: after a broken connection only the unconfirmed commands are sent again. */
struct jobq_batch {
    char *result_key;
    char *reply_key;
    char ttl[32];
    const char *entry_id;
    msgpack_sbuffer result;
    bool result_done;
    int stored;

    msgpack_sbuffer *events; /* one encoded event each */
    bool *event_done;
    size_t event_count;
    char maxlen[32];
};

static void jobq_batch_clear(struct jobq_batch *batch)
{
    free(batch->result_key);
    free(batch->reply_key);
    msgpack_sbuffer_destroy(&batch->result);
    for (size_t i = 0; i < batch->event_count; i++)
        msgpack_sbuffer_destroy(&batch->events[i]);
    free(batch->events);
    free(batch->event_done);
}

static int jobq_batch_init(const struct jobq *jobq, const struct job *job,
                           const struct result *result, struct jobq_batch *batch)
{
    const char *id = result->id ? result->id : job->id ? job->id : job->entry_id;
    uint64_t now_ms = jobq_clock_ms(CLOCK_REALTIME);
    int r;

    msgpack_sbuffer_init(&batch->result);
    batch->entry_id = job->entry_id;
    snprintf(batch->ttl, sizeof(batch->ttl), "%" PRIu64, jobq->config->result_ttl_s);
    snprintf(batch->maxlen, sizeof(batch->maxlen), "%" PRIu64, jobq->config->events_maxlen);

    if (asprintf(&batch->result_key, "%s%s", KEY_RESULT_PREFIX, id) < 0 ||
        asprintf(&batch->reply_key, "%s%s", KEY_REPLY_PREFIX, id) < 0) {
        batch->result_key = batch->reply_key = NULL;
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

/* Queues the commands Redis has not confirmed yet: the script first, then one XADD per
 * event. Returns 0 or -ENOMEM. */
static int jobq_batch_append(struct jobq *jobq, const struct jobq_batch *batch)
{
    const char *eval[] = { "EVAL", jobq_finish_script, "3", batch->result_key, batch->reply_key,
                           KEY_JOBS, batch->result.data, batch->ttl, KEY_WORKER_GROUP,
                           batch->entry_id };
    size_t eval_len[10];

    for (int i = 0; i < 10; i++)
        eval_len[i] = i == 6 ? batch->result.size : strlen(eval[i]);

    if (!batch->result_done && redisAppendCommandArgv(jobq->context, 10, eval, eval_len) != 0)
        return -ENOMEM;

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

/* One round trip: sends what is left of the batch and reads every reply before judging,
 * so that one failed command does not make the others be sent twice. An event Redis refuses
 * (an error reply, such as a key of the wrong type) is logged and dropped: it must never hold
 * back the result. Returns 0 when the script ran, or -errno (the failure is recorded). */
static int jobq_batch_send(struct jobq *jobq, const struct job *job, struct jobq_batch *batch)
{
    char quoted[LOG_QUOTE_SIZE];
    char script_error[256] = "";
    bool script_sent = !batch->result_done;
    int r;

    r = jobq_set_timeout(jobq, JOBQ_COMMAND_TIMEOUT_MS);
    if (r < 0)
        return r;

    r = jobq_batch_append(jobq, batch);
    if (r < 0)
        return jobq_fail(jobq, r, "finish", NULL);

    if (script_sent) {
        _cleanup_reply_ redisReply *reply = NULL;

        if (redisGetReply(jobq->context, (void **)&reply) != REDIS_OK)
            return jobq_fail(jobq, redis_error_to_errno(jobq->context), "finish",
                             jobq->context->errstr);

        if (reply->type == REDIS_REPLY_INTEGER) {
            batch->result_done = true;
            batch->stored = reply->integer == 1;
        } else {
            snprintf(script_error, sizeof(script_error), "%s",
                     reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply type");
        }
    }

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

    if (!batch->result_done)
        return jobq_fail(jobq, -EPROTO, "finish", script_error);

    jobq_healthy(jobq);
    return 0;
}

int jobq_finish(struct jobq *jobq, const struct job *job, const struct result *result,
                volatile int *stop)
{
    __attribute__((cleanup(jobq_batch_clear))) struct jobq_batch batch = { 0 };
    int r;

    if (!job->entry_id || (!result->id && !job->id))
        return -EINVAL;

    r = jobq_batch_init(jobq, job, result, &batch);
    if (r < 0)
        return r;

    /* The encoded batch lives across reconnects: the result is never lost in between. */
    for (;;) {
        r = jobq_connect(jobq);
        if (r >= 0)
            r = jobq_batch_send(jobq, job, &batch);
        if (r >= 0)
            return batch.stored;

        if (stop && *stop)
            return r;
    }
}
