/* The intake: XREADGROUP from ccx:jobs (group ccx-workers), then one admission script per
 * batch. An admitted entry is acknowledged in the group at once: from then on its lease
 * hash (state queued) and its tenant's ready list track it, and a worker's fair claim takes
 * it. An entry read but not admitted (the intake died in between) stays pending under the
 * intake's consumer without a lease; the orphan scan of any worker's reclaim runs it. */
#include "worker/intake.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <msgpack.h>

#include "common/audit.h"
#include "common/cleanup.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/redis_conn.h"
#include "common/result.h"
#include "worker/jobq.h"

#define INTAKE_BATCH "32"
#define INTAKE_BATCH_MAX 32
#define INTAKE_BLOCK_MS 1000
#define INTAKE_TIMEOUT_MS 5000      /* every command; the read's socket adds its BLOCK */
#define INTAKE_BACKOFF_MIN_MS 100
#define INTAKE_BACKOFF_MAX_MS 5000
#define INTAKE_ITEM_ARGS 17         /* the admission script's arguments per entry */
#define INTAKE_SCRIPT_ARGS 3        /* its arguments before the first entry's */
#define INTAKE_WORKER (-1)          /* the intake's "worker" in events and results */

/* What the admission script splices the over_quota sentence into: a fixstr (one header
 * byte) that no reason otherwise contains. */
#define INTAKE_REASON_MARK "\x01over-quota-mark\x01"

/* Admits a batch of decoded entries, each atomically.
 *   KEYS[1] ccx:jobs   KEYS[2] ccx:fair   KEYS[3] ccx:events   KEYS[4] ccx:stats
 *   ARGV[1] the group   ARGV[2] the events stream's cap (0: none)   ARGV[3] result TTL (s)
 *   then per entry: entry id, tenant, job id, bytes, concurrency, rate_per_s, burst, weight,
 *   queued_jobs, queued_bytes (the tenant's quotas: 0 no cap, no budget), max_attempts,
 *   deadline, job_queued event, job_finished event (for an over_quota answer), job_started
 *   head, and the over_quota result split around its reason (head, tail).
 * Over budget (its tenant's queued jobs at queued_jobs, or its bytes would take the queued
 * bytes past queued_bytes): the result, rejected with a reason that names the budget, is
 * stored like any result (SET NX, RPUSH, TTL), the entry acknowledged and deleted. Else the
 * entry joins its tenant's ready list and counts, its lease hash is created (state queued),
 * the tenant's quotas are copied into its hash, the tenant joins ccx:fair at the fleet's
 * virtual time (the pass of the last claim, or the lowest pass there if higher): idle time
 * buys no burst, and past use leaves at most one stride of debt, so that a tenant that once
 * had the fleet to itself is not starved when it comes back. The entry is
 * acknowledged and a worker woken. Either way an event goes to ccx:events. Returns one
 * integer per entry: 1 admitted, 0 answered over_quota. */
static const char intake_admit_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local function event(blob)\n"
    "    local add = {'XADD', KEYS[3]}\n"
    "    if tonumber(ARGV[2]) > 0 then add[3] = 'MAXLEN'; add[4] = '~'; add[5] = ARGV[2] end\n"
    "    add[#add + 1] = '*'; add[#add + 1] = '" KEY_EVENTS_FIELD "'; add[#add + 1] = blob\n"
    "    redis.call(unpack(add))\n"
    "end\n"
    "local function over_budget(tenant, q, bytes, max_jobs, max_bytes)\n"
    "    local queued, queued_bytes = tonumber(q[1]) or 0, tonumber(q[2]) or 0\n"
    "    if max_jobs > 0 and queued >= max_jobs then\n"
    "        return string.format('over_quota: tenant %s has %d jobs queued, its budget is %d',\n"
    "                             tenant, queued, max_jobs)\n"
    "    end\n"
    "    if max_bytes > 0 and queued_bytes + bytes > max_bytes then\n"
    "        return string.format('over_quota: tenant %s has %d bytes queued and this job '\n"
    "                             .. 'has %d, its budget is %d bytes', tenant, queued_bytes,\n"
    "                             bytes, max_bytes)\n"
    "    end\n"
    "    return nil\n"
    "end\n"
    "local answers = {}\n"
    "for i = 4, #ARGV - 16, 17 do\n"
    "    local entry, tenant, job_id = ARGV[i], ARGV[i + 1], ARGV[i + 2]\n"
    "    local bytes = tonumber(ARGV[i + 3])\n"
    "    local th = '" KEY_TENANT_PREFIX "' .. tenant\n"
    "    local q = redis.call('HMGET', th, 'queued', 'queued_bytes')\n"
    "    local why = over_budget(tenant, q, bytes, tonumber(ARGV[i + 8]), tonumber(ARGV[i + 9]))\n"
    "    if why then\n"
    "        local result = ARGV[i + 15] .. cmsgpack.pack(why) .. ARGV[i + 16]\n"
    "        local stored = redis.call('SET', '" KEY_RESULT_PREFIX "' .. job_id, result, 'NX',\n"
    "                                  'EX', ARGV[3])\n"
    "        if stored then\n"
    "            local reply = '" KEY_REPLY_PREFIX "' .. job_id\n"
    "            redis.call('RPUSH', reply, result)\n"
    "            redis.call('EXPIRE', reply, ARGV[3])\n"
    "            event(ARGV[i + 13])\n"
    /* No supervisor hears of this answer: it is counted here, as the heartbeats count the
     * workers' (supervisor/heartbeat.c). */
    "            redis.call('HINCRBY', '" KEY_FINISHED "', 'rejected', 1)\n"
    "            redis.call('HINCRBY', '" KEY_FINISHED_TENANT_PREFIX "' .. tenant, 'rejected',\n"
    "                       1)\n"
    "            redis.call('ZADD', '" KEY_FINISHED_TENANTS "', string.format('%.0f', now),\n"
    "                       tenant)\n"
    "        end\n"
    "        redis.pcall('XACK', KEYS[1], ARGV[1], entry)\n"
    "        redis.call('XDEL', KEYS[1], entry)\n"
    "        redis.call('DEL', '" KEY_CANCEL_PREFIX "' .. job_id)\n"
    "        redis.call('HINCRBY', KEYS[4], 'over_quota', 1)\n"
    "        answers[#answers + 1] = 0\n"
    "    else\n"
    "        redis.call('RPUSH', '" KEY_TENANT_QUEUE_PREFIX "' .. tenant, entry)\n"
    "        redis.call('HINCRBY', th, 'queued', 1)\n"
    "        redis.call('HINCRBY', th, 'queued_bytes', bytes)\n"
    "        redis.call('HSET', th, 'concurrency', ARGV[i + 4], 'rate_per_s', ARGV[i + 5],\n"
    "                   'burst', ARGV[i + 6], 'weight', ARGV[i + 7])\n"
    /* A tenant seen once must not keep its hash for good; a week after its last admission
     * nothing of it is queued or running any more. */
    "        redis.call('EXPIRE', th, 604800)\n"
    "        redis.call('HSET', '" KEY_LEASE_PREFIX "' .. entry, 'state', 'queued', 'fair', '1',\n"
    "                   'tenant', tenant, 'job_id', job_id, 'bytes', ARGV[i + 3],\n"
    "                   'queued_at', string.format('%.0f', now), 'max_attempts', ARGV[i + 10],\n"
    "                   'deadline', ARGV[i + 11], 'started', ARGV[i + 14])\n"
    "        if not redis.call('ZSCORE', KEYS[2], tenant) then\n"
    "            local pass = tonumber(redis.call('HGET', th, 'pass')) or 0\n"
    "            local vtime = tonumber(redis.call('GET', '" KEY_FAIR_VTIME "')) or 0\n"
    "            local low = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')\n"
    "            if low[2] and tonumber(low[2]) > vtime then vtime = tonumber(low[2]) end\n"
    "            local stride = 1000000 / math.max(1, tonumber(ARGV[i + 7]) or 1)\n"
    "            if pass < vtime then pass = vtime end\n"
    "            if pass > vtime + stride then pass = vtime + stride end\n"
    "            redis.call('ZADD', KEYS[2], string.format('%.17g', pass), tenant)\n"
    "        end\n"
    "        redis.pcall('XACK', KEYS[1], ARGV[1], entry)\n"
    "        redis.call('LPUSH', '" KEY_WAKE "', '1')\n"
    "        redis.call('LTRIM', '" KEY_WAKE "', 0, 63)\n"
    "        event(ARGV[i + 12])\n"
    "        answers[#answers + 1] = 1\n"
    "    end\n"
    "end\n"
    "return answers\n";

struct intake {
    const struct ccx_config *config; /* borrowed */
    const struct policy *policy;     /* borrowed */
    const char *url;                 /* borrowed */
    char host[HOST_NAME_MAX + 1];
    char consumer[HOST_NAME_MAX + 64];
    char events_maxlen[32];
    char result_ttl[32];
    redisContext *context;           /* NULL while disconnected */
    struct jobq *answers;            /* finishes the jobs rejected at decoding */
    uint64_t backoff_ms;             /* 0 while healthy */
    bool outage;                     /* redis_unreachable logged, redis_reconnected not */
    volatile sig_atomic_t *stop;     /* the process's; also ends a finish's retries */
};

/* One decoded entry of a batch, and what the admission script gets for it. */
struct intake_item {
    struct job *job;
    uint64_t bytes;
    char numbers[9][24];     /* bytes, the six quotas, max_attempts, deadline */
    msgpack_sbuffer queued;  /* job_queued */
    msgpack_sbuffer finished; /* job_finished, should it be answered over_quota */
    msgpack_sbuffer started; /* job_started's head, kept in the lease hash */
    msgpack_sbuffer result;  /* the over_quota result, with INTAKE_REASON_MARK as reason */
    size_t mark_at;          /* where the mark's encoding starts in result */
};

static void intake_item_clear(struct intake_item *item)
{
    job_free(item->job);
    msgpack_sbuffer_destroy(&item->queued);
    msgpack_sbuffer_destroy(&item->finished);
    msgpack_sbuffer_destroy(&item->started);
    msgpack_sbuffer_destroy(&item->result);
    memset(item, 0, sizeof(*item));
}

static void intake_disconnect(struct intake *intake)
{
    if (intake->context)
        redisFree(intake->context);
    intake->context = NULL;
}

/* Records a failure: drops the connection, sleeps out a backoff (doubling, capped) and logs
 * the start of an outage once. Returns error. */
static int intake_fail(struct intake *intake, int error, const char *what, const char *detail)
{
    char quoted[LOG_QUOTE_SIZE];
    struct timespec pause;

    log_quote(quoted, detail ? detail : strerror(-error));
    intake_disconnect(intake);
    intake->backoff_ms = intake->backoff_ms == 0 ? INTAKE_BACKOFF_MIN_MS
                         : intake->backoff_ms * 2 > INTAKE_BACKOFF_MAX_MS
                             ? INTAKE_BACKOFF_MAX_MS
                             : intake->backoff_ms * 2;
    if (!intake->outage) {
        intake->outage = true;
        log_warn("redis_unreachable", "op=%s errno=%d error=%s retry_ms=%" PRIu64, what,
                 -error, quoted, intake->backoff_ms);
    }

    pause.tv_sec = (time_t)(intake->backoff_ms / 1000);
    pause.tv_nsec = (long)(intake->backoff_ms % 1000) * 1000000;
    nanosleep(&pause, NULL);
    return error;
}

static void intake_healthy(struct intake *intake)
{
    intake->backoff_ms = 0;
    if (intake->outage)
        log_info("redis_reconnected", "op=intake");
    intake->outage = false;
}

/* Connects and makes sure the group exists. Returns 0 or -errno (recorded). */
static int intake_connect(struct intake *intake)
{
    _cleanup_reply_ redisReply *reply = NULL;
    int r;

    if (intake->context)
        return 0;

    r = redis_connect(intake->url, INTAKE_TIMEOUT_MS, &intake->context);
    if (r < 0)
        return intake_fail(intake, r, "connect", NULL);

    reply = redisCommand(intake->context, "XGROUP CREATE %s %s 0 MKSTREAM", KEY_JOBS,
                         KEY_WORKER_GROUP);
    if (!reply)
        return intake_fail(intake, redis_error_to_errno(intake->context), "xgroup_create",
                           intake->context->errstr);
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0)
        return intake_fail(intake, -EPROTO, "xgroup_create", reply->str);
    return 0;
}

/* Reads the next batch of new entries, waiting up to INTAKE_BLOCK_MS. Returns 0 and
 * *ret_reply (nil when none came), or -errno (recorded). */
static int intake_read(struct intake *intake, redisReply **ret_reply)
{
    struct timeval tv = { .tv_sec = (INTAKE_BLOCK_MS + INTAKE_TIMEOUT_MS) / 1000 };
    redisReply *reply;
    int r;

    r = intake_connect(intake);
    if (r < 0)
        return r;

    if (redisSetTimeout(intake->context, tv) != REDIS_OK)
        return intake_fail(intake, -EIO, "set_timeout", intake->context->errstr);

    reply = redisCommand(intake->context, "XREADGROUP GROUP %s %s COUNT %s BLOCK %d STREAMS %s >",
                         KEY_WORKER_GROUP, intake->consumer, INTAKE_BATCH, INTAKE_BLOCK_MS,
                         KEY_JOBS);
    if (!reply)
        return intake_fail(intake, redis_error_to_errno(intake->context), "xreadgroup",
                           intake->context->errstr);
    if (reply->type == REDIS_REPLY_ERROR) {
        /* NOGROUP: Redis restarted without it; the next connect creates it again. */
        r = intake_fail(intake, -EPROTO, "xreadgroup", reply->str);
        freeReplyObject(reply);
        return r;
    }

    intake_healthy(intake);
    *ret_reply = reply;
    return 0;
}

/* The value of an entry's "job" field, or NULL. */
static const redisReply *intake_job_field(const redisReply *fields)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *name = fields->element[i], *value = fields->element[i + 1];

        if (name->type == REDIS_REPLY_STRING && value->type == REDIS_REPLY_STRING &&
            strcmp(name->str, KEY_JOBS_FIELD) == 0)
            return value;
    }
    return NULL;
}

/* Decodes an entry; one without a "job" field becomes a rejected job that says so. Returns
 * 0 and *ret_job, or -ENOMEM. The tenant's policy is applied as the workers apply it. */
static int intake_decode(const struct intake *intake, const redisReply *entry,
                         struct job **ret_job)
{
    const char *entry_id = entry->element[0]->str;
    const redisReply *value = intake_job_field(entry->element[1]);
    struct job *job = NULL;
    char *reason;
    int r;

    if (value) {
        r = job_decode(value->str, value->len, entry_id, intake->config, &job);
    } else {
        r = job_decode("", 0, entry_id, intake->config, &job);
        reason = r < 0 ? NULL : strdup("stream entry has no 'job' field");
        if (r == 0 && !reason)
            r = -ENOMEM;
        if (reason) {
            free(job->reject_reason);
            job->reject_reason = reason;
        }
    }
    /* The tenant's policy too (languages, its limits): a job it refuses is answered here. */
    if (r == 0)
        r = job_apply_policy(job, intake->policy);
    if (r < 0) {
        job_free(job);
        return r;
    }
    *ret_job = job;
    return 0;
}

/* The answer the intake gives a job without running it: rejected, with reason. Returns 0 or
 * -ENOMEM. */
static int intake_result(const struct intake *intake, const struct job *job,
                         const char *reason, struct result *result)
{
    memset(result, 0, sizeof(*result));
    result->status = JOB_STATUS_REJECTED;
    result->run.exit_code = -1;
    result->meta = job->meta;
    result->meta_size = job->meta_size;
    result->attempt = 1;
    result->worker = INTAKE_WORKER;
    result->id = strdup(job->id ? job->id : job->entry_id);
    result->tenant = strdup(job->tenant ? job->tenant : "default");
    result->host = strdup(intake->host);
    result->language = job->language ? strdup(job->language) : NULL;
    result->reason = strdup(reason);
    result->policy_version = job->policy_version ? strdup(job->policy_version) : NULL;
    return result->id && result->tenant && result->host && result->reason &&
                   (!job->policy_version || result->policy_version)
               ? 0
               : -ENOMEM;
}

/* Answers a job that cannot run, through the token-checked finish: nobody leased it, so no
 * lease hash fences it (token 0), and SET NX keeps an earlier answer under its id. */
static void intake_reject(struct intake *intake, const struct job *job)
{
    struct jobq_lease lease = { .token = 0, .attempt = 1 };
    struct result result;
    char quoted[LOG_QUOTE_SIZE];
    int r;

    snprintf(lease.entry_id, sizeof(lease.entry_id), "%s", job->entry_id);
    r = intake_result(intake, job, job->reject_reason, &result);
    if (r == 0)
        r = jobq_finish(intake->answers, job, &lease, &result, intake->stop);
    result_clear(&result);

    if (r >= 0)
        log_job(job, LOG_LEVEL_INFO, "job_rejected", "entry_id=%s during=intake reason=%s",
                job->entry_id, log_quote(quoted, job->reject_reason));
    else
        log_job(job, LOG_LEVEL_WARN, "job_reject_failed", "entry_id=%s errno=%d"
                " action=left_for_reclaim", job->entry_id, -r);
}

/* Fills what the admission script needs for one decoded, runnable job. Returns 0 or
 * -ENOMEM. */
static int intake_item_build(const struct intake *intake, struct job *job, size_t bytes,
                             struct intake_item *item)
{
    const struct policy_quotas *quotas = &policy_tenant(intake->policy, job->tenant)->quotas;
    const uint64_t numbers[9] = { bytes, quotas->concurrency, quotas->rate_per_s,
                                  quotas->burst, quotas->weight ? quotas->weight : 1,
                                  quotas->queued_jobs, quotas->queued_bytes,
                                  job->max_attempts, job->deadline_ms };
    char code_hash[AUDIT_CODE_HASH_SIZE];
    struct audit_job audit = { .job_id = job->id, .tenant = job->tenant,
                               .language = job->language, .code_hash = code_hash,
                               .policy_version = intake->policy->version };
    uint64_t now_ms = (uint64_t)time(NULL) * 1000;
    struct timespec ts;
    struct result result;
    const char *mark;
    int r;

    item->job = job;
    item->bytes = bytes;
    msgpack_sbuffer_init(&item->queued);
    msgpack_sbuffer_init(&item->finished);
    msgpack_sbuffer_init(&item->started);
    msgpack_sbuffer_init(&item->result);
    for (size_t i = 0; i < 9; i++)
        snprintf(item->numbers[i], sizeof(item->numbers[i]), "%" PRIu64, numbers[i]);

    if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
        now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;

    r = audit_code_hash(job, code_hash);
    if (r == 0)
        r = audit_encode_queued(&audit, intake->host, INTAKE_WORKER, now_ms, bytes,
                                &item->queued);
    if (r == 0)
        r = audit_encode_finished(&audit, intake->host, INTAKE_WORKER, now_ms, "rejected", 0,
                                  &item->finished);
    if (r == 0)
        r = audit_encode_started_head(&audit, &item->started);
    if (r < 0)
        return r;

    r = intake_result(intake, job, INTAKE_REASON_MARK, &result);
    if (r == 0)
        r = result_encode(&result, &item->result);
    result_clear(&result);
    if (r < 0)
        return r;

    /* The mark is a fixstr: one header byte before its text. */
    mark = memmem(item->result.data, item->result.size, INTAKE_REASON_MARK,
                  strlen(INTAKE_REASON_MARK));
    if (!mark || mark == item->result.data)
        return -EPROTO;
    item->mark_at = (size_t)(mark - item->result.data) - 1;
    return 0;
}

/* Runs the admission script over items. Returns 0 and *ret_reply (an array, one integer per
 * item), or -errno (recorded). */
static int intake_admit(struct intake *intake, struct intake_item *items, size_t count,
                        redisReply **ret_reply)
{
    size_t argc = 7 + INTAKE_SCRIPT_ARGS + count * INTAKE_ITEM_ARGS; /* EVAL, script, 4 keys */
    _cleanup_free_ const char **argv = calloc(argc, sizeof(*argv));
    _cleanup_free_ size_t *argv_len = calloc(argc, sizeof(*argv_len));
    size_t mark_len = 1 + strlen(INTAKE_REASON_MARK);
    struct timeval tv = { .tv_sec = INTAKE_TIMEOUT_MS / 1000 };
    redisReply *reply;
    size_t n = 0;

    if (!argv || !argv_len)
        return -ENOMEM;

#define INTAKE_ARG(text, len) (argv[n] = (text), argv_len[n] = (len), n++)
#define INTAKE_STR(text) INTAKE_ARG(text, strlen(text))
    INTAKE_STR("EVAL");
    INTAKE_STR(intake_admit_script);
    INTAKE_STR("4");
    INTAKE_STR(KEY_JOBS);
    INTAKE_STR(KEY_FAIR);
    INTAKE_STR(KEY_EVENTS);
    INTAKE_STR(KEY_STATS);
    INTAKE_STR(KEY_WORKER_GROUP);
    INTAKE_STR(intake->events_maxlen);
    INTAKE_STR(intake->result_ttl);
    for (size_t i = 0; i < count; i++) {
        struct intake_item *item = &items[i];
        const char *result = item->result.data;

        INTAKE_STR(item->job->entry_id);
        INTAKE_STR(item->job->tenant);
        INTAKE_STR(item->job->id);
        for (size_t k = 0; k < 9; k++)
            INTAKE_STR(item->numbers[k]);
        INTAKE_ARG(item->queued.data, item->queued.size);
        INTAKE_ARG(item->finished.data, item->finished.size);
        INTAKE_ARG(item->started.data, item->started.size);
        INTAKE_ARG(result, item->mark_at);
        INTAKE_ARG(result + item->mark_at + mark_len, item->result.size - item->mark_at -
                                                          mark_len);
    }
#undef INTAKE_STR
#undef INTAKE_ARG

    if (redisSetTimeout(intake->context, tv) != REDIS_OK)
        return intake_fail(intake, -EIO, "set_timeout", intake->context->errstr);

    reply = redisCommandArgv(intake->context, (int)n, argv, argv_len);
    if (!reply)
        return intake_fail(intake, redis_error_to_errno(intake->context), "admit",
                           intake->context->errstr);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != count) {
        int r = intake_fail(intake, -EPROTO, "admit", reply->type == REDIS_REPLY_ERROR
                                                          ? reply->str : "unexpected reply");
        freeReplyObject(reply);
        return r;
    }

    *ret_reply = reply;
    return 0;
}

/* Logs what the admission did with each item. */
static void intake_log_admitted(const struct intake_item *items, size_t count,
                                const redisReply *reply)
{
    for (size_t i = 0; i < count; i++) {
        const struct job *job = items[i].job;
        const redisReply *answer = reply->element[i];

        if (answer->type == REDIS_REPLY_INTEGER && answer->integer == 1)
            log_job(job, LOG_LEVEL_DEBUG, "job_queued", "entry_id=%s bytes=%" PRIu64,
                    job->entry_id, items[i].bytes);
        else
            log_job(job, LOG_LEVEL_INFO, "job_over_quota", "entry_id=%s bytes=%" PRIu64
                    " action=rejected", job->entry_id, items[i].bytes);
    }
}

/* Decodes and admits one batch read. Returns 0 or -ENOMEM. */
static int intake_batch(struct intake *intake, const redisReply *entries)
{
    struct intake_item items[INTAKE_BATCH_MAX];
    _cleanup_reply_ redisReply *reply = NULL;
    size_t count = 0;
    int r = 0;

    memset(items, 0, sizeof(items));
    for (size_t i = 0; i < entries->elements && count < INTAKE_BATCH_MAX && r == 0; i++) {
        const redisReply *entry = entries->element[i];
        const redisReply *value;
        struct job *job = NULL;

        /* A nil entry was deleted as it was read: nothing to answer. */
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
            entry->element[0]->type != REDIS_REPLY_STRING ||
            entry->element[1]->type != REDIS_REPLY_ARRAY)
            continue;

        r = intake_decode(intake, entry, &job);
        if (r < 0)
            break;
        if (job->reject_reason) {
            intake_reject(intake, job);
            job_free(job);
            continue;
        }

        value = intake_job_field(entry->element[1]);
        r = intake_item_build(intake, job, value ? value->len : 0, &items[count]);
        count++;
    }

    if (r == 0 && count > 0 && intake_admit(intake, items, count, &reply) == 0)
        intake_log_admitted(items, count, reply);
    else if (count > 0)
        log_warn("intake_batch_failed", "entries=%zu errno=%d action=left_for_reclaim", count,
                 r < 0 ? -r : EIO);

    for (size_t i = 0; i < count; i++)
        intake_item_clear(&items[i]);
    return r == -ENOMEM ? r : 0;
}

/* The entries of an XREADGROUP reply for one stream, or NULL when there are none. */
static const redisReply *intake_entries(const redisReply *reply)
{
    const redisReply *stream;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
        return NULL;
    stream = reply->element[0];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2 ||
        stream->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    return stream->element[1];
}

int intake_run(const struct ccx_config *config, const struct policy *policy,
               const char *redis_url, volatile sig_atomic_t *stop)
{
    struct intake intake = { .config = config, .policy = policy, .url = redis_url,
                             .stop = stop };
    int r;

    if (gethostname(intake.host, sizeof(intake.host) - 1) < 0)
        snprintf(intake.host, sizeof(intake.host), "unknown");
    snprintf(intake.consumer, sizeof(intake.consumer), KEY_INTAKE_CONSUMER ":%s:%d",
             intake.host, (int)getpid());
    snprintf(intake.events_maxlen, sizeof(intake.events_maxlen), "%" PRIu64,
             config->events_maxlen);
    snprintf(intake.result_ttl, sizeof(intake.result_ttl), "%" PRIu64, config->result_ttl_s);

    r = jobq_new(redis_url, config, intake.consumer, intake.host, INTAKE_WORKER,
                 &intake.answers);
    if (r < 0)
        return r;
    jobq_set_policy(intake.answers, policy);

    log_info("intake_started", "consumer=%s pid=%d policy_version=%s", intake.consumer,
             (int)getpid(), policy->version);
    while (!*stop && r == 0) {
        _cleanup_reply_ redisReply *reply = NULL;
        const redisReply *entries;

        if (intake_read(&intake, &reply) < 0)
            continue;
        entries = intake_entries(reply);
        if (entries)
            r = intake_batch(&intake, entries);
    }
    log_info("intake_stopped", "consumer=%s", intake.consumer);

    intake_disconnect(&intake);
    jobq_free(intake.answers);
    return r;
}
