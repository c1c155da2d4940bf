/* Lease renewal and hand-back. The scripts compare tokens only: the token a lease was
 * taken with is the holder's proof, whatever the clocks of the hosts say, and Redis's TIME
 * alone sets the expiry. The lease hash key is built inside the scripts from its prefix:
 * they run on one Redis, not on a cluster. */
#include "supervisor/lease.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "common/cleanup.h"
#include "common/keys.h"
#include "common/redis_conn.h"

#define LEASE_TIMEOUT_MAX_MS 2000
#define LEASE_TIMEOUT_MIN_MS 100
#define LEASE_TOKEN_SIZE 24 /* a uint64 in decimal and its NUL */

/* Renews every listed lease that is still its token's, and looks for cancels of their jobs.
 *   KEYS[1] ccx:leases   ARGV[1] lease_ms   ARGV[2] ccx:lease:   ARGV[3] ccx:cancel:
 *   ARGV[4], ARGV[5], ...: entry id and token, one pair per lease
 * A lease that expired but that nobody took over yet is renewed too: its token still
 * holds, so nobody else can have run the job. Returns the 0-based positions of the pairs
 * whose token does not hold (the same entry may appear twice, under an old and a new
 * token, when one host lost a job and took it over again). A lease that is gone altogether
 * is neither renewed nor lost: either its job was answered by another holder (the result
 * script then keeps that answer) or Redis lost its data, and then the run in progress is
 * the only one left to answer the client. Neither is a lease in state retry: its worker
 * has put it back to expire after a backoff, and is about to release it. A lease renewed
 * whose job has a cancel key (its client cancelled it) is listed in the second array, so
 * that its holder learns of it within a beat. Returns {lost, cancelled}. */
static const char lease_renew_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local expiry = string.format('%.0f', now + tonumber(ARGV[1]))\n"
    "local lost, cancelled = {}, {}\n"
    "for i = 4, #ARGV - 1, 2 do\n"
    /* pcall: one lease key of another type must not fail the whole beat (every job of
     * this host would then be killed at lease_ms); such a lease counts as lost. */
    "    local f = redis.pcall('HMGET', ARGV[2] .. ARGV[i], 'token', 'state', 'job_id')\n"
    "    if f['err'] then f = {'corrupt'} end\n"
    "    local token = f[1]\n"
    "    if token == ARGV[i + 1] then\n"
    "        if f[2] ~= 'retry' then redis.call('ZADD', KEYS[1], expiry, ARGV[i]) end\n"
    "        if f[3] and redis.call('EXISTS', ARGV[3] .. f[3]) == 1 then\n"
    "            cancelled[#cancelled + 1] = (i - 4) / 2\n"
    "        end\n"
    "    elseif token then\n"
    "        lost[#lost + 1] = (i - 4) / 2\n"
    "    end\n"
    "end\n"
    "return {lost, cancelled}\n";

/* Makes one lease expire now, if its token holds, and marks it (ARGV[3]) handed_back or
 * drained. handed_back: the worker died, and the reclaim that takes the entry records a
 * holder lost (a count that finds poison jobs). drained: the host shut down and its grace
 * ran out, which says nothing about the job, so the reclaim simply runs it again. A lease
 * in state retry is left to its backoff: the job's run was over before the worker died.
 *   KEYS[1] ccx:leases   KEYS[2] ccx:lease:<entry>   ARGV[1] entry id   ARGV[2] token
 *   ARGV[3] the state
 * Returns 1 when it did, 0 otherwise. */
static const char lease_hand_back_script[] =
    "local f = redis.pcall('HMGET', KEYS[2], 'token', 'state')\n"
    "if f['err'] then return 0 end\n"
    "if f[1] ~= ARGV[2] or f[2] == 'retry' then return 0 end\n"
    "redis.call('HSET', KEYS[2], 'state', ARGV[3])\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZADD', KEYS[1], 'XX', string.format('%.0f', now), ARGV[1])\n"
    "return 1\n";

/* Hands back the entries a consumer was delivered but never leased (its worker was stopped
 * between the read and the claim): each gets an expiry of now and state drained, so that an
 * idle worker anywhere reclaims it at once rather than after the orphan scan's lease_ms.
 *   KEYS[1] ccx:jobs   KEYS[2] ccx:leases   ARGV[1] the group   ARGV[2] the consumer
 *   ARGV[3] ccx:lease:
 * Returns how many it handed back. */
static const char lease_hand_back_pending_script[] =
    "local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], '-', '+', 100, ARGV[2])\n"
    "if p['err'] then return 0 end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local n = 0\n"
    "for _, row in ipairs(p) do\n"
    "    if not redis.call('ZSCORE', KEYS[2], row[1]) then\n"
    "        redis.call('HSET', ARGV[3] .. row[1], 'state', 'drained')\n"
    "        redis.call('ZADD', KEYS[2], string.format('%.0f', now), row[1])\n"
    "        n = n + 1\n"
    "    end\n"
    "end\n"
    "return n\n";

struct lease_keeper {
    char *url;
    char lease_ms[32];
    int timeout_ms;
    redisContext *context; /* NULL while disconnected */
};

static void lease_disconnect(struct lease_keeper *keeper)
{
    if (keeper->context)
        redisFree(keeper->context);
    keeper->context = NULL;
}

static int lease_connect(struct lease_keeper *keeper)
{
    if (keeper->context)
        return 0;
    return redis_connect(keeper->url, keeper->timeout_ms, &keeper->context);
}

/* Sends one command. Returns 0 and *ret_reply (never an error reply), or -errno after
 * dropping the connection. */
static int lease_command(struct lease_keeper *keeper, int argc, const char **argv,
                         redisReply **ret_reply)
{
    redisReply *reply;
    int r;

    r = lease_connect(keeper);
    if (r < 0)
        return r;

    reply = redisCommandArgv(keeper->context, argc, argv, NULL);
    if (!reply) {
        r = redis_error_to_errno(keeper->context);
        lease_disconnect(keeper);
        return r;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        /* READONLY and the like: the master moved. The next beat connects through the
         * sentinels again, and until it does this is an outage, not a refused command. */
        r = redis_reply_means_failover(reply->str) ? -ENOTCONN : -EPROTO;
        freeReplyObject(reply);
        lease_disconnect(keeper);
        return r;
    }

    *ret_reply = reply;
    return 0;
}

/* lease_command for a script that answers an integer: returns it (at least 0), or -errno
 * (-EPROTO and the connection dropped for any other reply). */
static int lease_command_integer(struct lease_keeper *keeper, int argc, const char **argv)
{
    _cleanup_reply_ redisReply *reply = NULL;
    int r = lease_command(keeper, argc, argv, &reply);

    if (r < 0)
        return r;
    if (reply->type != REDIS_REPLY_INTEGER || reply->integer < 0 || reply->integer > INT_MAX) {
        lease_disconnect(keeper);
        return -EPROTO;
    }
    return (int)reply->integer;
}

/* Sets marks[i] for each position i the script listed; ignores anything out of range. */
static void lease_mark(const redisReply *positions, size_t count, bool *marks)
{
    for (size_t i = 0; i < positions->elements; i++) {
        const redisReply *index = positions->element[i];

        if (index->type == REDIS_REPLY_INTEGER && index->integer >= 0 &&
            (size_t)index->integer < count)
            marks[index->integer] = true;
    }
}

int lease_keeper_new(const char *url, uint64_t lease_ms, struct lease_keeper **ret_keeper)
{
    struct lease_keeper *keeper = calloc(1, sizeof(*keeper));
    uint64_t timeout_ms = lease_ms / 6;

    if (!keeper)
        return -ENOMEM;

    keeper->url = strdup(url);
    if (!keeper->url) {
        free(keeper);
        return -ENOMEM;
    }

    if (timeout_ms > LEASE_TIMEOUT_MAX_MS)
        timeout_ms = LEASE_TIMEOUT_MAX_MS;
    if (timeout_ms < LEASE_TIMEOUT_MIN_MS)
        timeout_ms = LEASE_TIMEOUT_MIN_MS;
    keeper->timeout_ms = (int)timeout_ms;
    snprintf(keeper->lease_ms, sizeof(keeper->lease_ms), "%" PRIu64, lease_ms);

    *ret_keeper = keeper;
    return 0;
}

void lease_keeper_free(struct lease_keeper *keeper)
{
    if (!keeper)
        return;

    lease_disconnect(keeper);
    free(keeper->url);
    free(keeper);
}

int lease_keeper_renew(struct lease_keeper *keeper, const struct lease_ref *leases,
                       size_t count, bool *ret_lost, bool *ret_cancelled)
{
    size_t argc = 7 + 2 * count;
    _cleanup_free_ const char **argv = calloc(argc, sizeof(*argv));
    _cleanup_free_ char (*tokens)[LEASE_TOKEN_SIZE] = calloc(count + 1, sizeof(*tokens));
    _cleanup_reply_ redisReply *reply = NULL;
    int r;

    if (!argv || !tokens)
        return -ENOMEM;

    argv[0] = "EVAL";
    argv[1] = lease_renew_script;
    argv[2] = "1";
    argv[3] = KEY_LEASES;
    argv[4] = keeper->lease_ms;
    argv[5] = KEY_LEASE_PREFIX;
    argv[6] = KEY_CANCEL_PREFIX;
    for (size_t i = 0; i < count; i++) {
        snprintf(tokens[i], sizeof(tokens[i]), "%" PRIu64, leases[i].token);
        argv[7 + 2 * i] = leases[i].entry_id;
        argv[8 + 2 * i] = tokens[i];
        ret_lost[i] = false;
        ret_cancelled[i] = false;
    }

    r = lease_command(keeper, (int)argc, argv, &reply);
    if (r < 0)
        return r;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_ARRAY ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        lease_disconnect(keeper);
        return -EPROTO;
    }
    lease_mark(reply->element[0], count, ret_lost);
    lease_mark(reply->element[1], count, ret_cancelled);
    return 0;
}

int lease_keeper_hand_back(struct lease_keeper *keeper, const struct lease_ref *lease,
                           bool drained)
{
    _cleanup_free_ char *lease_key = NULL;
    char token[LEASE_TOKEN_SIZE];
    int r;

    if (asprintf(&lease_key, "%s%s", KEY_LEASE_PREFIX, lease->entry_id) < 0)
        return -ENOMEM;
    snprintf(token, sizeof(token), "%" PRIu64, lease->token);

    const char *argv[] = { "EVAL", lease_hand_back_script, "2", KEY_LEASES, lease_key,
                           lease->entry_id, token, drained ? "drained" : "handed_back" };

    r = lease_command_integer(keeper, 8, argv);
    return r < 0 ? r : r == 1;
}

int lease_keeper_hand_back_pending(struct lease_keeper *keeper, const char *consumer)
{
    const char *argv[] = { "EVAL", lease_hand_back_pending_script, "2", KEY_JOBS, KEY_LEASES,
                           KEY_WORKER_GROUP, consumer, KEY_LEASE_PREFIX };

    return lease_command_integer(keeper, 8, argv);
}

int lease_keeper_ping(struct lease_keeper *keeper)
{
    _cleanup_reply_ redisReply *reply = NULL;
    const char *argv[] = { "PING" };

    return lease_command(keeper, 1, argv, &reply);
}
