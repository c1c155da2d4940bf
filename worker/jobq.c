/* The job queue over Redis streams.
 *
 * Clients add entries to ccx:jobs; the host's intake (worker/intake.c) reads them through the
 * consumer group ccx-workers and puts them on their tenants' ready lists, and workers take
 * them from there with the fair claim (docs/FAIRNESS.md). Entries delivered to a worker's
 * own consumer (from before the intake, or handed back) are still read from the group.
 * A finished entry is deleted in the same script that stores its result, so the stream holds
 * only the backlog and the group can always start at id 0.
 *
 * Leases: a worker runs an entry only once a script has given it a lease (ccx:lease:<entry>,
 * with a fencing token from ccx:token and an expiry in ccx:leases, on Redis's clock) and the
 * group's pending list, or for an admitted entry the lease hash, names it as the entry's
 * consumer. Its supervisor renews the lease;
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

#include "common/audit.h"
#include "common/cleanup.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/redis_conn.h"
#include "worker/breaker.h"

#define JOBQ_COMMAND_TIMEOUT_MS 5000 /* every command but the blocking read */
#define JOBQ_BLOCK_MARGIN_MS 5000    /* the blocking read's socket timeout is BLOCK plus this */
/* How often an idle worker looks for expired leases: a lease handed back by a supervisor
 * whose worker died waits at most this long for an idle worker. */
#define JOBQ_RECLAIM_EVERY_MS 1000
#define JOBQ_ZOMBIES_MAX 64
#define JOBQ_ERROR_WARN_EVERY_MS 60000 /* an error reply that recurs is warned of this often */
#define JOBQ_BACKOFF_MIN_MS 100
#define JOBQ_BACKOFF_MAX_MS 5000
#define JOBQ_STREAM_ID_SIZE JOBQ_ENTRY_ID_SIZE
#define JOBQ_MAX_ARGS 24
/* How many of the oldest long-idle pending entries a reclaim looks through for one that
 * has no lease. */
#define JOBQ_ORPHAN_SCAN "16"

/* Scripts read Redis's clock as ms: TIME is seconds and microseconds. */
#define JOBQ_LUA_NOW                                                                       \
    "local t = redis.call('TIME')\n"                                                       \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/* Appends one attempt to the history a lease hash keeps (a msgpack array of maps), for the
 * dead-letter entry should the job be given up on. */
#define JOBQ_LUA_HISTORY                                                                   \
    "local function add_history(hash, item)\n"                                            \
    "    local packed = redis.call('HGET', hash, 'history')\n"                            \
    "    local list = packed and cmsgpack.unpack(packed) or {}\n"                         \
    "    list[#list + 1] = item\n"                                                        \
    "    redis.call('HSET', hash, 'history', cmsgpack.pack(list))\n"                      \
    "end\n"

/* How many wake tokens ccx:wake holds at most: enough to wake every idle worker of a few
 * hosts, and few enough that tokens left over when the backlog ends cost little. */
#define JOBQ_WAKE_CAP "64"

/* Wakes one idle worker (BLPOP ccx:wake). */
#define JOBQ_LUA_WAKE                                                                      \
    "local function wake()\n"                                                              \
    "    redis.call('LPUSH', '" KEY_WAKE "', '1')\n"                                       \
    "    redis.call('LTRIM', '" KEY_WAKE "', 0, " JOBQ_WAKE_CAP " - 1)\n"                  \
    "end\n"

/* A job that a fair claim counted in its tenant's running (counted=1 in its lease hash)
 * stops counting, exactly once, when its run ends: finished, put back for a retry, buried or
 * found gone. A tenant with jobs queued may have had one held back by its concurrency cap,
 * so a worker is woken for it. */
#define JOBQ_LUA_UNCOUNT                                                                   \
    JOBQ_LUA_WAKE                                                                          \
    "local function uncount(hash)\n"                                                       \
    "    local c = redis.call('HMGET', hash, 'counted', 'tenant')\n"                       \
    "    if c[1] ~= '1' then return end\n"                                                 \
    "    redis.call('HSET', hash, 'counted', '0')\n"                                       \
    "    local th = '" KEY_TENANT_PREFIX "' .. (c[2] or 'default')\n"                      \
    "    if redis.call('HINCRBY', th, 'running', -1) < 0 then\n"                           \
    "        redis.call('HSET', th, 'running', 0)\n"                                       \
    "    end\n"                                                                            \
    "    if (tonumber(redis.call('HGET', th, 'queued')) or 0) > 0 then wake() end\n"       \
    "end\n"

/* Publishes job_started for a leased entry that the intake admitted: the intake stored the
 * event's head in the lease hash (audit_encode_started_head), the claimer sends where it
 * runs (audit_encode_started_where), and the script adds Redis's time and the attempt. */
#define JOBQ_LUA_STARTED                                                                   \
    "local function publish_started(hash, attempt, now, where, maxlen)\n"                  \
    "    local head = redis.call('HGET', hash, 'started')\n"                               \
    "    if not head then return end\n"                                                    \
    "    local event = head .. where .. cmsgpack.pack('ts') .. cmsgpack.pack(now) ..\n"    \
    "                  cmsgpack.pack('attempt') .. cmsgpack.pack(attempt)\n"               \
    "    local add = {'XADD', '" KEY_EVENTS "'}\n"                                         \
    "    if tonumber(maxlen) > 0 then\n"                                                   \
    "        add[3] = 'MAXLEN'; add[4] = '~'; add[5] = maxlen\n"                           \
    "    end\n"                                                                            \
    "    add[#add + 1] = '*'; add[#add + 1] = '" KEY_EVENTS_FIELD "'\n"                    \
    "    add[#add + 1] = event\n"                                                          \
    "    redis.call(unpack(add))\n"                                                        \
    "end\n"

/* Gives this worker a lease on an entry it was delivered, atomically.
 *   KEYS[1] ccx:jobs   KEYS[2] ccx:leases   KEYS[3] ccx:lease:<entry>   KEYS[4] ccx:token
 *   KEYS[5] ccx:result:<job id>   KEYS[6] ccx:cancel:<job id>
 *   ARGV[1] the group   ARGV[2] the entry id   ARGV[3] this consumer   ARGV[4] the host
 *   ARGV[5] the job id   ARGV[6] lease_ms   ARGV[7] the tenant   ARGV[8] the job's max_attempts
 *   ARGV[9] the job's deadline, ms of Redis's clock ("0": none)   ARGV[10] where the job
 *   starts (audit_encode_started_where)   ARGV[11] the events stream's cap (0: none)
 * The group's pending list must name this consumer (for an entry the intake admitted, which
 * is acknowledged and so in no pending list, the lease hash must: jobq_reclaim_script wrote
 * it; such an entry is counted in its tenant's running again if its last run stopped
 * counting, a retry, and gets a job_started event): a worker whose delivery came late (a
 * slow reconnect) finds the entry reclaimed by another and leaves it. An entry whose job was
 * answered already (a redelivery after the result was stored) is retired here and never run
 * again. The hash outlives an expired lease, so attempt counts every holder. An entry
 * waiting out a retry's backoff, or given up on and waiting to be buried, is only taken
 * through a reclaim: this consumer may read it again from its pending list after a
 * reconnect. A job cancelled by its client (the cancel key exists) or past its deadline is
 * leased all the same, so that its final result goes through the token-checked finish like
 * any other, but the verdict says not to run it; this check runs on every claim, reclaims
 * and retries included. Returns {1, token, attempt, verdict} (verdict 0: run it,
 * 1: cancelled, 2: expired), {0} when the job was answered already, {-1} when another
 * consumer owns the entry, {-2} when it is waiting (state retry or dead). */
static const char jobq_claim_script[] =
    JOBQ_LUA_UNCOUNT
    JOBQ_LUA_STARTED
    "local fair = redis.call('HGET', KEYS[3], 'fair') == '1'\n"
    "if fair then\n"
    "    if redis.call('HGET', KEYS[3], 'consumer') ~= ARGV[3] then return {-1} end\n"
    "else\n"
    "    local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)\n"
    "    if #p == 0 or p[1][2] ~= ARGV[3] then return {-1} end\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[5]) == 1 then\n"
    "    uncount(KEYS[3])\n"
    "    redis.pcall('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "    redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "    redis.call('ZREM', KEYS[2], ARGV[2])\n"
    "    redis.call('DEL', KEYS[3])\n"
    "    return {0}\n"
    "end\n"
    "local state = redis.call('HGET', KEYS[3], 'state')\n"
    "if state == 'retry' or state == 'dead' then return {-2} end\n"
    JOBQ_LUA_NOW
    "local attempt = redis.call('HINCRBY', KEYS[3], 'attempt', 1)\n"
    "local token = redis.call('INCR', KEYS[4])\n"
    "redis.call('HSET', KEYS[3], 'token', token, 'consumer', ARGV[3], 'host', ARGV[4],\n"
    "           'job_id', ARGV[5], 'tenant', ARGV[7], 'max_attempts', ARGV[8],\n"
    "           'state', 'running')\n"
    "redis.call('ZADD', KEYS[2], string.format('%.0f', now + tonumber(ARGV[6])), ARGV[2])\n"
    "if fair and redis.call('HGET', KEYS[3], 'counted') ~= '1' then\n"
    "    redis.call('HSET', KEYS[3], 'counted', '1')\n"
    "    redis.call('HINCRBY', '" KEY_TENANT_PREFIX "' .. ARGV[7], 'running', 1)\n"
    "end\n"
    "publish_started(KEYS[3], attempt, now, ARGV[10], ARGV[11])\n"
    "local verdict = 0\n"
    "local deadline = tonumber(ARGV[9]) or 0\n"
    "if redis.call('EXISTS', KEYS[6]) == 1 then verdict = 1\n"
    "elseif deadline > 0 and now > deadline then verdict = 2 end\n"
    "return {1, token, attempt, verdict}\n";

/* Takes over one entry whose worker is gone, or whose retry is due, for this consumer.
 *   KEYS[1] ccx:jobs   KEYS[2] ccx:leases   KEYS[3] ccx:token   KEYS[4] ccx:stats
 *   ARGV[1] the group   ARGV[2] this consumer   ARGV[3] lease_ms   ARGV[4] ccx:lease:
 *   ARGV[5] max_attempts of the config   ARGV[6] poison_deliveries
 * It picks the oldest expired lease, or else a pending entry idle for lease_ms that has no
 * lease at all (its consumer died between delivery and claim; such a delivery counts as an
 * attempt, unless the entry was leased before and the hash counted it already). The entry
 * moves to this consumer in the group (XCLAIM, so the pending list stays right), gets a new
 * token at once (fencing the last holder) and an expiry lease_ms ahead, so that no other
 * worker takes it before this one claims it (jobq_claim_script) or buries it
 * (jobq_bury_script).
 * An expired lease in state retry is a backoff that ran out, and one in state drained was
 * handed back by a host shutting down: the job simply runs again. Any
 * other expired lease lost its holder (state handed_back: its worker died; else its host or
 * link to Redis failed); that goes into the history and the count of holders lost, and once
 * that count reaches poison_deliveries, or the attempts reach the job's max_attempts (the
 * hash's, else the config's), the entry is marked dead (and stays so until buried).
 * An entry the intake admitted (fair=1 in its hash) is in no pending list: it is taken over
 * by its lease hash alone, and keeps its count in its tenant's running (its job still runs,
 * as far as anyone knows). So is any other entry still in the stream that the group has no
 * pending delivery for (its hash was dropped as corrupt, say): it is marked fair=1.
 * The hash key is built here: the script runs on one Redis, not a cluster. Returns {0}
 * when there is nothing to take, {1, kind, {entry, fields}} (kind "expired" or "orphan"),
 * {2, entry} when the entry was gone from the stream (its lease is cleared), {4, kind, {entry,
 * fields}, token, why, attempts, holders lost, how the last attempt ended, its reason} when
 * the entry is to be buried (why: "poison" or "max_attempts"). */
static const char jobq_reclaim_script[] =
    JOBQ_LUA_NOW
    JOBQ_LUA_HISTORY
    JOBQ_LUA_UNCOUNT
    "local kind = 'expired'\n"
    "local orphan_of = ''\n"
    "local entry = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1)[1]\n"
    "if not entry then\n"
    "    kind = 'orphan'\n"
    "    local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+',\n"
    "                          " JOBQ_ORPHAN_SCAN ")\n"
    "    if p['err'] then return {0} end\n"
    "    for _, row in ipairs(p) do\n"
    "        if not redis.call('ZSCORE', KEYS[2], row[1]) then\n"
    "            entry = row[1]\n"
    "            orphan_of = row[2]\n"
    "            break\n"
    "        end\n"
    "    end\n"
    "end\n"
    "if not entry then return {0} end\n"
    "local hash = ARGV[4] .. entry\n"
    /* A lease key of another type (written by hand, or by something else) would fail every
     * command below, and stop this entry for good: it is dropped, and the entry counts as
     * never leased. */
    "local htype = redis.call('TYPE', hash)['ok']\n"
    "if htype ~= 'hash' and htype ~= 'none' then redis.call('DEL', hash) end\n"
    "local found = redis.call('XRANGE', KEYS[1], entry, entry)\n"
    "if #found == 0 then\n"
    "    redis.pcall('XACK', KEYS[1], ARGV[1], entry)\n"
    "    redis.call('ZREM', KEYS[2], entry)\n"
    "    if htype == 'hash' then uncount(hash) end\n"
    "    redis.call('DEL', hash)\n"
    "    return {2, entry}\n"
    "end\n"
    "if redis.call('HGET', hash, 'fair') ~= '1' then\n"
    "    local moved = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, entry, 'JUSTID')\n"
    "    if #moved == 0 then redis.call('HSET', hash, 'fair', '1') end\n"
    "end\n"
    "local f = redis.call('HMGET', hash, 'state', 'attempt', 'host', 'consumer',\n"
    "                     'max_attempts')\n"
    "local state = f[1]\n"
    "local attempt = tonumber(f[2]) or 0\n"
    "if state ~= 'retry' and state ~= 'dead' and state ~= 'drained' then\n"
    "    local why = 'lease expired: its host or its link to Redis failed'\n"
    "    if state == 'handed_back' then why = 'handed back: its worker died' end\n"
    "    if kind == 'orphan' then why = 'delivered but never leased: its worker died' end\n"
    "    if attempt == 0 then\n"
    "        attempt = 1\n"
    "        redis.call('HSET', hash, 'attempt', 1)\n"
    "    end\n"
    "    add_history(hash, {attempt = attempt, host = f[3] or '',\n"
    "                       consumer = f[4] or orphan_of, ended = 'holder_lost',\n"
    "                       reason = why, at = now})\n"
    "    local lost = redis.call('HINCRBY', hash, 'lost', 1)\n"
    "    redis.call('HINCRBY', KEYS[4], 'leases_expired', 1)\n"
    "    if lost >= tonumber(ARGV[6]) then\n"
    "        state = 'dead'\n"
    "        redis.call('HSET', hash, 'dead', 'poison')\n"
    "    elseif attempt >= (tonumber(f[5]) or tonumber(ARGV[5])) then\n"
    "        state = 'dead'\n"
    "        redis.call('HSET', hash, 'dead', 'max_attempts')\n"
    "    end\n"
    "end\n"
    "if state ~= 'dead' then state = 'claimed' end\n"
    "local token = redis.call('INCR', KEYS[3])\n"
    "redis.call('HSET', hash, 'token', token, 'consumer', ARGV[2], 'state', state)\n"
    "redis.call('ZADD', KEYS[2], string.format('%.0f', now + tonumber(ARGV[3])), entry)\n"
    "redis.call('HINCRBY', KEYS[4], 'reclaims', 1)\n"
    "if state == 'claimed' then return {1, kind, found[1]} end\n"
    "local d = redis.call('HMGET', hash, 'dead', 'attempt', 'lost', 'history')\n"
    "local list = d[4] and cmsgpack.unpack(d[4]) or {}\n"
    "local last = list[#list] or {ended = 'holder_lost', reason = 'unknown'}\n"
    "return {4, kind, found[1], token, d[1], tonumber(d[2]) or 1, tonumber(d[3]) or 0,\n"
    "        tostring(last.ended), tostring(last.reason)}\n";

/* Puts a job that ended internal_error back for another run after a backoff, if the lease
 * is still the caller's.
 *   KEYS[1] ccx:leases   KEYS[2] ccx:lease:<entry>   KEYS[3] ccx:stats
 *   ARGV[1] the entry id   ARGV[2] the caller's token   ARGV[3] the backoff in ms
 *   ARGV[4] the host   ARGV[5] this consumer   ARGV[6] the run's reason
 *   ARGV[7..11] the outcome for the circuit breakers (struct jobq_breaker_args)
 * The attempt goes into the history, and the outcome into the breakers (the host's, mostly:
 * internal_error is ccx's failure) and the probe it held is spent; the lease is marked
 * retry (renewal and hand-back leave it alone) and expires after the backoff, on Redis's
 * clock, when any idle worker reclaims it (jobq_reclaim_script) and runs it with the next
 * attempt. The entry stays pending.
 * Returns 1 when the retry is scheduled, -1 for a stale token, 0 when there is no lease at
 * all (Redis lost its data, or another holder finished): then the caller stores its result
 * as final, since nothing could run the job again. */
static const char jobq_retry_script[] =
    JOBQ_LUA_UNCOUNT
    JOBQ_LUA_NOW
    BREAKER_LUA
    "local f = redis.call('HMGET', KEYS[2], 'token', 'attempt', 'tenant', 'probe')\n"
    "if not f[1] then return 0 end\n"
    "if f[1] ~= ARGV[2] then return -1 end\n"
    "if f[3] and ARGV[7] == '1' then\n"
    "    breaker_record(f[3], ARGV[4], now, ARGV[8], ARGV[9], tonumber(f[4]) or 0, ARGV[10],\n"
    "                   ARGV[11])\n"
    "elseif f[3] then\n"
    "    breaker_release_probe(f[3], ARGV[4], tonumber(f[4]) or 0)\n"
    "end\n"
    "redis.call('HDEL', KEYS[2], 'probe')\n"
    JOBQ_LUA_HISTORY
    "add_history(KEYS[2], {attempt = tonumber(f[2]) or 1, host = ARGV[4],\n"
    "                      consumer = ARGV[5], ended = 'internal_error', reason = ARGV[6],\n"
    "                      at = now})\n"
    "uncount(KEYS[2])\n"
    "redis.call('HSET', KEYS[2], 'state', 'retry')\n"
    "redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[3])), ARGV[1])\n"
    "redis.call('HINCRBY', KEYS[3], 'retries', 1)\n"
    "return 1\n";

/* Gives a job up, atomically, if the lease is still the caller's: stores its final result
 * (dead_letter) like any other, adds the dead-letter entry and the ops event, and retires
 * the stream entry and the lease.
 *   KEYS[1] ccx:result:<id>   KEYS[2] ccx:reply:<id>   KEYS[3] ccx:jobs   KEYS[4] ccx:leases
 *   KEYS[5] ccx:lease:<entry>   KEYS[6] ccx:dead   KEYS[7] ccx:stats   KEYS[8] ccx:events
 *   ARGV[1] the result (msgpack)   ARGV[2] TTL in seconds   ARGV[3] the group
 *   ARGV[4] the entry id   ARGV[5] the caller's token   ARGV[6] why ("poison" or
 *   "max_attempts")   ARGV[7] the reason sentence   ARGV[8] the streams' cap (0: none)
 *   ARGV[9] the ops event (msgpack)   ARGV[10] how the caller's own run ended, or "" when it
 *   did not run the job   ARGV[11] the host   ARGV[12] this consumer   ARGV[13] that run's
 *   reason   ARGV[14] the job id   ARGV[15] the tenant   ARGV[16] the attempts, should the
 *   hash be gone   ARGV[17] ccx:cancel:<id>, removed with the answer   ARGV[18] the
 *   job_finished event   ARGV[19..23] the outcome for the circuit breakers (struct
 *   jobq_breaker_args: a quarantine is the tenant's failure, running out of attempts on
 *   internal_error the host's)
 * The original message is copied from the stream entry here, so that nothing else has to
 * carry it. Like the finish script, a missing lease does not fence, and SET NX keeps a
 * first answer: then nothing goes to ccx:dead either, since the job was answered. Returns 1
 * when this call buried the job, 0 when a result was there, -1 for a stale token. */
static const char jobq_bury_script[] =
    JOBQ_LUA_UNCOUNT
    JOBQ_LUA_NOW
    BREAKER_LUA
    "local f = redis.call('HMGET', KEYS[5], 'token', 'attempt', 'probe')\n"
    "if f[1] and f[1] ~= ARGV[5] then return -1 end\n"
    JOBQ_LUA_HISTORY
    "if ARGV[10] ~= '' then\n"
    "    add_history(KEYS[5], {attempt = tonumber(f[2]) or tonumber(ARGV[16]),\n"
    "                          host = ARGV[11], consumer = ARGV[12], ended = ARGV[10],\n"
    "                          reason = ARGV[13], at = now})\n"
    "end\n"
    "local history = redis.call('HGET', KEYS[5], 'history') or cmsgpack.pack({})\n"
    "local message = ''\n"
    "local found = redis.call('XRANGE', KEYS[3], ARGV[4], ARGV[4])\n"
    "if #found > 0 then\n"
    "    local fields = found[1][2]\n"
    "    for i = 1, #fields - 1, 2 do\n"
    "        if fields[i] == '" KEY_JOBS_FIELD "' then message = fields[i + 1] end\n"
    "    end\n"
    "end\n"
    "local stored = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])\n"
    "if stored then\n"
    "    redis.call('RPUSH', KEYS[2], ARGV[1])\n"
    "    redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
    "    local cap = {}\n"
    "    if tonumber(ARGV[8]) > 0 then cap = {'MAXLEN', '~', ARGV[8]} end\n"
    "    local dead = {'XADD', KEYS[6], unpack(cap)}\n"
    "    for _, v in ipairs({'*', 'job_id', ARGV[14], 'entry_id', ARGV[4], 'tenant', ARGV[15],\n"
    "                        'kind', ARGV[6], 'reason', ARGV[7],\n"
    "                        'attempts', f[2] or ARGV[16], 'history', history,\n"
    "                        'job', message, 'at', string.format('%.0f', now)}) do\n"
    "        dead[#dead + 1] = v\n"
    "    end\n"
    "    redis.call(unpack(dead))\n"
    "    local event = {'XADD', KEYS[8], unpack(cap)}\n"
    "    event[#event + 1] = '*'\n"
    "    event[#event + 1] = '" KEY_EVENTS_FIELD "'\n"
    "    event[#event + 1] = ARGV[9]\n"
    "    redis.call(unpack(event))\n"
    "    event[#event] = ARGV[18]\n"
    "    redis.call(unpack(event))\n"
    "    redis.call('HINCRBY', KEYS[7], 'dead_letters', 1)\n"
    "    if ARGV[6] == 'poison' then\n"
    "        redis.call('HINCRBY', KEYS[7], 'poison_quarantines', 1)\n"
    "    end\n"
    "end\n"
    "redis.pcall('XACK', KEYS[3], ARGV[3], ARGV[4])\n"
    "redis.call('XDEL', KEYS[3], ARGV[4])\n"
    "redis.call('ZREM', KEYS[4], ARGV[4])\n"
    "uncount(KEYS[5])\n"
    "redis.call('DEL', KEYS[5])\n"
    "redis.call('DEL', ARGV[17])\n"
    "if stored and ARGV[19] == '1' then\n"
    "    breaker_record(ARGV[15], ARGV[11], now, ARGV[20], ARGV[21], tonumber(f[3]) or 0,\n"
    "                   ARGV[22], ARGV[23])\n"
    "else\n"
    "    breaker_release_probe(ARGV[15], ARGV[11], tonumber(f[3]) or 0)\n"
    "end\n"
    "if stored then return 1 end\n"
    "return 0\n";

/* Stores a result once and retires its stream entry and lease, atomically, if the lease is
 * still the caller's.
 *   KEYS[1] ccx:result:<id>   KEYS[2] ccx:reply:<id>   KEYS[3] ccx:jobs   KEYS[4] ccx:leases
 *   KEYS[5] ccx:lease:<entry>
 *   ARGV[1] the result (msgpack)   ARGV[2] TTL in seconds   ARGV[3] the group
 *   ARGV[4] the stream entry id   ARGV[5] the caller's token   ARGV[6] ccx:cancel:<id>,
 *   removed with the entry (a mark left behind would cancel a later job under the id)
 *   ARGV[7] the result's status   ARGV[8] its job_finished event   ARGV[9] the events
 *   stream's cap (0: none)   ARGV[10] "1" when the outcome counts for the circuit breakers
 *   (brk_classify), ARGV[11] and ARGV[12] "1" when it is a failure of the tenant, of the
 *   host   ARGV[13] the tenant's breaker settings (brk_settings_format)   ARGV[14] the host
 *   ARGV[15] the host breaker's settings (the policy's defaults)   ARGV[16] "1" when the
 *   caller has no supervisor to count its answers (the intake): a stored one is counted in
 *   ccx:finished here   ARGV[17] the result's tenant
 * A token that is not the entry's any more means another worker has the job now: nothing
 * is written, whatever the first run found. No lease at all means nobody else holds one:
 * another holder finished (then SET NX keeps its answer) or Redis lost its data (then this
 * is the only answer the client can get). Otherwise the result is written only when none
 * is there yet (a client may already have read the first answer), and the reply list gets
 * it only in that case, so BLPOP sees each job's result once. The entry is acknowledged and
 * deleted either way. XACK runs through pcall because a group lost with a Redis restart has
 * nothing to acknowledge, and that must not keep the entry in the stream. Returns 1 when
 * this call stored the result, 0 when one was there, -1 for a stale token, plus 2 when
 * there was no lease (after a failover that lost the claim, say), so that the worker can
 * say so. job_finished goes to ccx:events with a stored result, in the same step as the
 * tenant's running count drops: no reader sees a tenant run more than its cap. A stored
 * outcome that counts goes into the tenant's and the host's circuit breakers
 * (worker/breaker.lua); the probe slots of one that does not are given back. */
static const char jobq_finish_script[] =
    JOBQ_LUA_NOW
    JOBQ_LUA_UNCOUNT
    BREAKER_LUA
    "local f = redis.call('HMGET', KEYS[5], 'token', 'tenant', 'probe')\n"
    "local token, tenant, probe = f[1], f[2], tonumber(f[3]) or 0\n"
    "if token and token ~= ARGV[5] then return -1 end\n"
    "local stored = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])\n"
    "if stored then\n"
    "    redis.call('RPUSH', KEYS[2], ARGV[1])\n"
    "    redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
    "end\n"
    "redis.pcall('XACK', KEYS[3], ARGV[3], ARGV[4])\n"
    "redis.call('XDEL', KEYS[3], ARGV[4])\n"
    "redis.call('ZREM', KEYS[4], ARGV[4])\n"
    "uncount(KEYS[5])\n"
    "redis.call('DEL', KEYS[5])\n"
    "redis.call('DEL', ARGV[6])\n"
    "if stored then\n"
    "    local add = {'XADD', '" KEY_EVENTS "'}\n"
    "    if tonumber(ARGV[9]) > 0 then add[3] = 'MAXLEN'; add[4] = '~'; add[5] = ARGV[9] end\n"
    "    add[#add + 1] = '*'; add[#add + 1] = '" KEY_EVENTS_FIELD "'; add[#add + 1] = ARGV[8]\n"
    "    redis.call(unpack(add))\n"
    "end\n"
    "if stored and ARGV[16] == '1' then\n"
    "    local who = tenant or ARGV[17]\n"
    "    redis.call('HINCRBY', '" KEY_FINISHED "', ARGV[7], 1)\n"
    "    redis.call('HINCRBY', '" KEY_FINISHED_TENANT_PREFIX "' .. who, ARGV[7], 1)\n"
    "    redis.call('ZADD', '" KEY_FINISHED_TENANTS "', string.format('%.0f', now), who)\n"
    "end\n"
    "if tenant and stored and ARGV[10] == '1' then\n"
    "    breaker_record(tenant, ARGV[14], now, ARGV[11], ARGV[12], probe, ARGV[13], ARGV[15])\n"
    "elseif tenant then\n"
    "    breaker_release_probe(tenant, ARGV[14], probe)\n"
    "end\n"
    "local answer = 0\n"
    "if stored then answer = 1 end\n"
    "if not token then answer = answer + 2 end\n"
    "return answer\n";

/* Picks the tenant whose turn it is and leases its oldest ready entry, atomically.
 *   KEYS[1] ccx:fair   KEYS[2] ccx:jobs   KEYS[3] ccx:leases   KEYS[4] ccx:token
 *   ARGV[1] this consumer   ARGV[2] the host   ARGV[3] lease_ms   ARGV[4] where the job starts
 *   (audit_encode_started_where)   ARGV[5] the events stream's cap (0: none)
 * First the host's own circuit breaker: open, this host claims nothing ({-5, ms until its
 * cool-down ends}). The host is marked live in ccx:hosts (the breakers count live hosts).
 * Stride scheduling: ccx:fair holds each tenant with ready entries at its pass; the lowest
 * pass that is eligible goes, and moves on by 1e6 / weight. Eligible: fewer jobs running
 * than its concurrency (0: no cap), a token in its bucket (rate_per_s, burst; refilled on
 * Redis's clock; no rate: no bucket), and its circuit breaker not open. A tenant whose
 * breaker is open has its oldest entry leased at once whatever its caps, with verdict 3: it
 * is answered circuit_open without running (and is neither counted running nor started). A
 * breaker's "probe" is recorded in the lease hash (probe: 1 tenant, 2 host), so that the
 * finish script gives the outcome to the breakers that let it through. A tenant whose list is
 * empty leaves the set, its pass kept in its hash for when it comes back. The entry leaves
 * the tenant's queued counts and joins its running (counted=1); then it is leased as
 * jobq_claim_script leases: an answered job is retired, an entry gone from the stream has its
 * hash removed, cancel and deadline give the verdict. Returns {1, token, attempt, verdict,
 * {entry, fields}}, {0, entry, job id, tenant, why} when the entry was retired instead (why:
 * "answered" already, or "entry_gone" from the stream), {-3, wait_ms} when jobs wait but no
 * tenant is eligible (wait_ms until the earliest token, 0 when only caps on running hold
 * them: a finish wakes a worker), {-4} when no tenant has ready entries (the wake tokens
 * left are dropped). */
static const char jobq_fair_claim_script[] =
    JOBQ_LUA_NOW
    JOBQ_LUA_STARTED
    BREAKER_LUA
    "local function fmt(x) return string.format('%.17g', x) end\n"
    /* The bucket of a tenant: its tokens now, or nil when it has no rate. */
    "local function bucket_tokens(q, now)\n"
    "    local rate = tonumber(q[3]) or 0\n"
    "    if rate <= 0 then return nil end\n"
    "    local burst = tonumber(q[4]) or 0\n"
    "    if burst <= 0 then burst = rate end\n"
    "    if not q[5] then return burst end\n"
    "    local age = math.max(0, now - (tonumber(q[6]) or now))\n"
    "    return math.min(burst, tonumber(q[5]) + age * rate / 1000)\n"
    "end\n"
    "local function lease_entry(entry, th, tenant, now, probe, refused)\n"
    "    local hash = '" KEY_LEASE_PREFIX "' .. entry\n"
    "    local f = redis.call('HMGET', hash, 'job_id', 'bytes', 'deadline')\n"
    "    redis.call('HINCRBY', th, 'queued', -1)\n"
    "    redis.call('HINCRBY', th, 'queued_bytes', -(tonumber(f[2]) or 0))\n"
    "    local job_id = f[1] or entry\n"
    "    local found = redis.call('XRANGE', KEYS[2], entry, entry)\n"
    "    if #found == 0 then\n"
    "        redis.call('DEL', hash)\n"
    "        breaker_release_probe(tenant, ARGV[2], probe)\n"
    "        return {0, entry, job_id, tenant, 'entry_gone'}\n"
    "    end\n"
    "    if redis.call('EXISTS', '" KEY_RESULT_PREFIX "' .. job_id) == 1 then\n"
    "        redis.call('XDEL', KEYS[2], entry)\n"
    "        redis.call('DEL', hash)\n"
    "        breaker_release_probe(tenant, ARGV[2], probe)\n"
    "        return {0, entry, job_id, tenant, 'answered'}\n"
    "    end\n"
    "    local attempt = redis.call('HINCRBY', hash, 'attempt', 1)\n"
    "    local token = redis.call('INCR', KEYS[4])\n"
    "    redis.call('HSET', hash, 'token', token, 'consumer', ARGV[1], 'host', ARGV[2],\n"
    "               'state', 'running', 'fair', '1', 'probe', probe)\n"
    "    redis.call('ZADD', KEYS[3], fmt(now + tonumber(ARGV[3])), entry)\n"
    "    local verdict = 0\n"
    "    local deadline = tonumber(f[3]) or 0\n"
    "    if redis.call('EXISTS', '" KEY_CANCEL_PREFIX "' .. job_id) == 1 then verdict = 1\n"
    "    elseif deadline > 0 and now > deadline then verdict = 2\n"
    "    elseif refused then verdict = 3 end\n"
    "    if not refused then\n"
    "        redis.call('HSET', hash, 'counted', '1')\n"
    "        redis.call('HINCRBY', th, 'running', 1)\n"
    "        publish_started(hash, attempt, now, ARGV[4], ARGV[5])\n"
    "    end\n"
    "    return {1, token, attempt, verdict, found[1]}\n"
    "end\n"
    "local host_gate = breaker_gate_host(ARGV[2], now)\n"
    "if host_gate == 'open' then\n"
    "    local key = breaker_key('host', ARGV[2])\n"
    "    local open_until = tonumber(redis.call('HGET', key, 'until')) or now\n"
    "    return {-5, math.max(open_until - now, 0)}\n"
    "end\n"
    "redis.call('ZADD', '" KEY_HOSTS "', fmt(now), ARGV[2])\n"
    "local host_probe = 0\n"
    "if host_gate == 'probe' then host_probe = 2 end\n"
    "local wait = -1\n"
    "local tenants = redis.call('ZRANGE', KEYS[1], 0, 99, 'WITHSCORES')\n"
    "for i = 1, #tenants - 1, 2 do\n"
    "    local tenant, pass = tenants[i], tonumber(tenants[i + 1])\n"
    "    local tq = '" KEY_TENANT_QUEUE_PREFIX "' .. tenant\n"
    "    local th = '" KEY_TENANT_PREFIX "' .. tenant\n"
    "    if redis.call('LLEN', tq) == 0 then\n"
    "        redis.call('ZREM', KEYS[1], tenant)\n"
    "        redis.call('HSET', th, 'pass', fmt(pass))\n"
    "    else\n"
    "        local q = redis.call('HMGET', th, 'running', 'concurrency', 'rate_per_s',\n"
    "                             'burst', 'tokens', 'tokens_at', 'weight')\n"
    "        local cap = tonumber(q[2]) or 0\n"
    "        local ok = cap <= 0 or (tonumber(q[1]) or 0) < cap\n"
    "        local tokens = bucket_tokens(q, now)\n"
    "        if ok and tokens and tokens < 1 then\n"
    "            ok = false\n"
    "            local w = math.ceil((1 - tokens) * 1000 / tonumber(q[3]))\n"
    "            if wait < 0 or w < wait then wait = w end\n"
    "        end\n"
    "        local gate = breaker_gate_tenant(tenant, ARGV[2], now)\n"
    /* What is refused at once runs nothing: caps and rate do not hold it back. */
    "        if gate == 'open' then ok = true; tokens = nil end\n"
    "        if not ok and gate == 'probe' then breaker_release_probe(tenant, ARGV[2], 1) end\n"
    "        if ok then\n"
    "            local entry = redis.call('LPOP', tq)\n"
    "            local weight = math.max(1, tonumber(q[7]) or 1)\n"
    "            local vtime = tonumber(redis.call('GET', '" KEY_FAIR_VTIME "')) or 0\n"
    "            if pass > vtime then redis.call('SET', '" KEY_FAIR_VTIME "', fmt(pass)) end\n"
    "            local next_pass = pass + 1000000 / weight\n"
    "            if redis.call('LLEN', tq) == 0 then\n"
    "                redis.call('ZREM', KEYS[1], tenant)\n"
    "                redis.call('HSET', th, 'pass', fmt(next_pass))\n"
    "            else\n"
    "                redis.call('ZADD', KEYS[1], fmt(next_pass), tenant)\n"
    "            end\n"
    "            if tokens then\n"
    "                redis.call('HSET', th, 'tokens', fmt(tokens - 1), 'tokens_at', fmt(now))\n"
    "            end\n"
    "            local probe = host_probe\n"
    "            if gate == 'open' then\n"
    "                breaker_release_probe(tenant, ARGV[2], host_probe)\n"
    "                probe = 0\n"
    "            elseif gate == 'probe' then probe = probe + 1 end\n"
    "            return lease_entry(entry, th, tenant, now, probe, gate == 'open')\n"
    "        end\n"
    "    end\n"
    "end\n"
    "breaker_release_probe(nil, ARGV[2], host_probe)\n"
    "if redis.call('ZCARD', KEYS[1]) == 0 then\n"
    "    redis.call('DEL', '" KEY_WAKE "')\n"
    "    return {-4}\n"
    "end\n"
    "return {-3, math.max(wait, 0)}\n";

struct jobq {
    char *url;
    const struct ccx_config *config; /* borrowed; outlives the jobq */
    char *consumer;
    char *host;
    int slot;                        /* the worker's slot, for the results it builds */
    char lease_ms[32];               /* config->lease_ms, formatted for the scripts */
    char max_attempts[32];           /* config->max_attempts, formatted */
    char poison_deliveries[32];      /* config->poison_deliveries, formatted */
    char events_maxlen[32];          /* config->events_maxlen, formatted */
    msgpack_sbuffer where;           /* host and slot, for job_started (claim scripts) */
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
    const char *error_warned_op;     /* the last operation warned of an error reply for */
    uint64_t error_warned_ms;        /* when (monotonic) */
    uint64_t outage_since_ms;
    uint64_t random_state;

    /* Reclaims are not tried again before reclaim_at_ms (monotonic) once one found nothing. */
    uint64_t reclaim_at_ms;

    bool host_refused;               /* the last claim found this host's breaker open */

    const volatile sig_atomic_t *stop; /* the worker's; NULL: never set */
    const struct policy *policy;       /* the worker's; NULL: the config's limits only */

    /* zombie_killed events not yet on ccx:events (the lease is mostly lost because Redis
     * was out of reach): sent with the next command that gets through. Beyond
     * JOBQ_ZOMBIES_MAX, only counted. */
    msgpack_sbuffer zombies[JOBQ_ZOMBIES_MAX];
    size_t zombie_count;
    uint64_t zombies_uncounted;
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

/* Redis answered, with an error: not an outage, and it may recur on every try (a key of
 * the wrong type). Warns once a minute per operation, not once per try. */
static void jobq_log_error_reply(struct jobq *jobq, const char *what, const char *quoted,
                                 uint64_t retry_ms)
{
    uint64_t now_ms = jobq_clock_ms(CLOCK_MONOTONIC);
    bool repeated = jobq->error_warned_op && strcmp(jobq->error_warned_op, what) == 0 &&
                    now_ms < jobq->error_warned_ms + JOBQ_ERROR_WARN_EVERY_MS;

    if (!repeated) {
        jobq->error_warned_op = what;
        jobq->error_warned_ms = now_ms;
        log_warn("redis_error", "op=%s error=%s retry_ms=%" PRIu64, what, quoted, retry_ms);
    } else {
        log_debug("redis_error", "op=%s error=%s retry_ms=%" PRIu64, what, quoted, retry_ms);
    }
}

/* Records a failure: drops the connection, arms the next backoff and logs the start of an
 * outage (only the start), or an error reply (-EPROTO: once a minute per operation). what
 * names the operation (a string constant), detail is Redis's own text or NULL. Returns
 * error, so that callers can return through it. */
static int jobq_fail(struct jobq *jobq, int error, const char *what, const char *detail)
{
    char quoted[LOG_QUOTE_SIZE];
    uint64_t now_ms = jobq_clock_ms(CLOCK_MONOTONIC);
    uint64_t delay_ms;

    /* A replica, a loading server or one cut off from its master answered: the master is
     * elsewhere now. The connection is dropped below, so the next connect asks the
     * sentinels again; until then it is an outage like a lost connection. */
    if (error == -EPROTO && redis_reply_means_failover(detail))
        error = -ENOTCONN;

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

    if (error == -EPROTO) {
        jobq_log_error_reply(jobq, what, quoted, delay_ms);
    } else if (!jobq->outage) {
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

/* jobq_command for C-string arguments but argv[where_at], which is jobq->where (msgpack,
 * for the job_started event the claim scripts publish). */
static int jobq_command_where(struct jobq *jobq, const char *what, int argc, const char **argv,
                              int where_at, redisReply **ret_reply)
{
    size_t argv_len[JOBQ_MAX_ARGS];

    assert(argc <= JOBQ_MAX_ARGS);
    for (int i = 0; i < argc; i++)
        argv_len[i] = i == where_at ? jobq->where.size : strlen(argv[i]);
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
static int jobq_entry_decode_message(const struct jobq *jobq, const redisReply *entry,
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

/* Decodes a stream entry into a job and applies the tenant's policy to it, so that every
 * answer the queue gives, its own dead letters too, names the policy version. Returns 0 and
 * *ret_job or -ENOMEM. */
static int jobq_entry_decode(const struct jobq *jobq, const redisReply *entry,
                             struct job **ret_job)
{
    struct job *job = NULL;
    int r = jobq_entry_decode_message(jobq, entry, &job);

    if (r < 0)
        return r;
    if (jobq->policy)
        r = job_apply_policy(job, jobq->policy);
    if (r < 0) {
        job_free(job);
        return r;
    }
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

/* What a failed script reply says, for jobq_fail: the error's text, or that it was odd. */
static const char *jobq_reply_why(const redisReply *reply)
{
    return reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply";
}

/* The lease granted by a claim script's reply [1, token, attempt, verdict, ...]: fills
 * *ret_lease but for entry_id and claimed_at_ms. Returns false when the reply grants none,
 * or a verdict past max_verdict. */
static bool jobq_reply_lease(const redisReply *reply, enum jobq_verdict max_verdict,
                             struct jobq_lease *ret_lease)
{
    long long token = jobq_reply_int(reply, 1);
    long long attempt = jobq_reply_int(reply, 2);
    long long verdict = jobq_reply_int(reply, 3);

    if (jobq_reply_int(reply, 0) != 1 || token <= 0 || attempt <= 0 || attempt > UINT32_MAX ||
        verdict < 0 || verdict > max_verdict)
        return false;
    ret_lease->token = (uint64_t)token;
    ret_lease->attempt = (uint32_t)attempt;
    ret_lease->verdict = (enum jobq_verdict)verdict;
    return true;
}

/* Makes lease (from jobq_reply_lease) job's: it names the job's entry, and the job runs as
 * the lease's attempt. */
static void jobq_lease_bind(struct jobq_lease *lease, struct job *job, uint64_t claimed_at_ms)
{
    snprintf(lease->entry_id, sizeof(lease->entry_id), "%s", job->entry_id);
    lease->claimed_at_ms = claimed_at_ms;
    job->attempt = lease->attempt;
}

/* Takes the lease on a decoded entry that this consumer was delivered (jobq_claim_script).
 * Returns 1 with *ret_lease filled and job->attempt set to the lease's attempt, 0 when the
 * job must not run (answered already, and now retired; or another consumer owns the entry),
 * or -errno. Logs the cases it skips. */
static int jobq_claim(struct jobq *jobq, struct job *job, struct jobq_lease *ret_lease)
{
    _cleanup_free_ char *lease_key = NULL;
    _cleanup_free_ char *result_key = NULL;
    _cleanup_free_ char *cancel_key = NULL;
    _cleanup_reply_ redisReply *reply = NULL;
    uint64_t claimed_at_ms = jobq_clock_ms(CLOCK_MONOTONIC);
    char max_attempts[32], deadline[32];
    struct jobq_lease lease;
    long long code;
    int r;

    snprintf(max_attempts, sizeof(max_attempts), "%" PRIu32, job->max_attempts);
    snprintf(deadline, sizeof(deadline), "%" PRIu64, job->deadline_ms);
    if (asprintf(&lease_key, "%s%s", KEY_LEASE_PREFIX, job->entry_id) < 0 ||
        asprintf(&result_key, "%s%s", KEY_RESULT_PREFIX, jobq_job_answer_id(job)) < 0 ||
        asprintf(&cancel_key, "%s%s", KEY_CANCEL_PREFIX, jobq_job_answer_id(job)) < 0) {
        lease_key = result_key = cancel_key = NULL;
        return -ENOMEM;
    }

    const char *argv[] = { "EVAL", jobq_claim_script, "6", KEY_JOBS, KEY_LEASES, lease_key,
                           KEY_TOKEN, result_key, cancel_key, KEY_WORKER_GROUP,
                           job->entry_id, jobq->consumer, jobq->host, jobq_job_answer_id(job),
                           jobq->lease_ms, job->tenant ? job->tenant : "default",
                           max_attempts, deadline, jobq->where.data, jobq->events_maxlen };

    r = jobq_set_timeout(jobq, JOBQ_COMMAND_TIMEOUT_MS);
    if (r < 0)
        return r;

    r = jobq_command_where(jobq, "claim", 20, argv, 18, &reply);
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
    if (code == -2 && reply->type == REDIS_REPLY_ARRAY) {
        log_job(job, LOG_LEVEL_INFO, "lease_waiting", "entry_id=%s action=left_for_reclaim",
                job->entry_id);
        return 0;
    }

    if (!jobq_reply_lease(reply, JOBQ_VERDICT_EXPIRED, &lease))
        return jobq_fail(jobq, -EPROTO, "claim", jobq_reply_why(reply));

    jobq_healthy(jobq);
    jobq_lease_bind(&lease, job, claimed_at_ms);
    *ret_lease = lease;
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

static int jobq_bury_reclaimed(struct jobq *jobq, const struct job *job,
                               const struct jobq_lease *lease, const char *why,
                               uint32_t holders_lost, const char *last_ended,
                               const char *last_reason);

/* The reply of a reclaim that found the entry to be buried: {4, kind, entry, token, why,
 * attempts, holders lost, last ended, last reason}. */
static bool jobq_bury_reply_ok(const redisReply *reply)
{
    static const int types[] = { REDIS_REPLY_INTEGER, REDIS_REPLY_STRING, REDIS_REPLY_ARRAY,
                                 REDIS_REPLY_INTEGER, REDIS_REPLY_STRING, REDIS_REPLY_INTEGER,
                                 REDIS_REPLY_INTEGER, REDIS_REPLY_STRING, REDIS_REPLY_STRING };

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 9)
        return false;
    for (size_t i = 0; i < 9; i++) {
        if (reply->element[i]->type != types[i])
            return false;
    }
    return jobq_entry_shape_ok(reply->element[2]) &&
           reply->element[2]->element[1]->type == REDIS_REPLY_ARRAY &&
           reply->element[3]->integer > 0 && reply->element[5]->integer > 0 &&
           reply->element[5]->integer <= UINT32_MAX && reply->element[6]->integer >= 0 &&
           reply->element[6]->integer <= UINT32_MAX;
}

/* A reclaim found the entry given up on: decodes it, for the id, tenant and meta of its
 * answer, and buries it. Returns 0 (nothing to run) or -errno. */
static int jobq_take_dead(struct jobq *jobq, const redisReply *reply)
{
    const redisReply *entry = reply->element[2];
    struct jobq_lease lease = { .token = (uint64_t)reply->element[3]->integer,
                                .attempt = (uint32_t)reply->element[5]->integer };
    struct job *job = NULL;
    int r;

    r = jobq_entry_decode(jobq, entry, &job);
    if (r < 0)
        return r;

    snprintf(lease.entry_id, sizeof(lease.entry_id), "%s", entry->element[0]->str);
    job->attempt = lease.attempt;
    r = jobq_bury_reclaimed(jobq, job, &lease, reply->element[4]->str,
                            (uint32_t)reply->element[6]->integer, reply->element[7]->str,
                            reply->element[8]->str);
    if (r == 0)
        log_job(job, LOG_LEVEL_INFO, "result_already_stored", "entry_id=%s during=bury",
                lease.entry_id);
    else if (r == -ESTALE)
        log_job(job, LOG_LEVEL_WARN, "lease_lost_at_finish", "entry_id=%s token=%" PRIu64
                " during=bury action=left_for_reclaim", lease.entry_id, lease.token);
    else if (r < 0)
        log_job(job, LOG_LEVEL_WARN, "bury_failed",
                "entry_id=%s errno=%d action=left_for_reclaim", lease.entry_id, -r);
    job_free(job);
    return r == -ENOMEM ? r : 0;
}

/* Takes over one entry whose lease expired, or that was delivered and never leased
 * (jobq_reclaim_script), and claims it, or buries it when it is to be given up on. Asks
 * Redis at most once per JOBQ_RECLAIM_EVERY_MS while there is nothing to take. Returns 1
 * with *ret_job and *ret_lease, 0 when there is none, or -errno. */
static int jobq_take_reclaimed(struct jobq *jobq, struct job **ret_job,
                               struct jobq_lease *ret_lease)
{
    uint64_t now = jobq_clock_ms(CLOCK_MONOTONIC);
    const char *argv[] = { "EVAL", jobq_reclaim_script, "4", KEY_JOBS, KEY_LEASES, KEY_TOKEN,
                           KEY_STATS, KEY_WORKER_GROUP, jobq->consumer, jobq->lease_ms,
                           KEY_LEASE_PREFIX, jobq->max_attempts, jobq->poison_deliveries };
    _cleanup_reply_ redisReply *reply = NULL;
    const redisReply *entry, *kind;
    long long code;
    int r;

    if (now < jobq->reclaim_at_ms)
        return 0;

    r = jobq_set_timeout(jobq, JOBQ_COMMAND_TIMEOUT_MS);
    if (r < 0)
        return r;

    r = jobq_command_str(jobq, "reclaim", 13, argv, &reply);
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
    if (code == 4 && jobq_bury_reply_ok(reply)) {
        jobq_healthy(jobq);
        return jobq_take_dead(jobq, reply);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        /* The connection is fine; whatever the script tripped on (a key of the wrong type)
         * must not keep this worker from new jobs: try again at the next interval. */
        char quoted[LOG_QUOTE_SIZE];

        log_quote(quoted, reply->str);
        jobq->reclaim_at_ms = now + JOBQ_RECLAIM_EVERY_MS;
        jobq_log_error_reply(jobq, "reclaim", quoted, JOBQ_RECLAIM_EVERY_MS);
        return 0;
    }
    if (code != 1 || reply->elements != 3 || reply->element[1]->type != REDIS_REPLY_STRING ||
        !jobq_entry_shape_ok(reply->element[2]) ||
        reply->element[2]->element[1]->type != REDIS_REPLY_ARRAY)
        return jobq_fail(jobq, -EPROTO, "reclaim", "unexpected reply");

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
             const char *host, int slot, struct jobq **ret_jobq)
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
    jobq->slot = slot;
    snprintf(jobq->lease_ms, sizeof(jobq->lease_ms), "%" PRIu64, config->lease_ms);
    snprintf(jobq->max_attempts, sizeof(jobq->max_attempts), "%" PRIu64, config->max_attempts);
    snprintf(jobq->poison_deliveries, sizeof(jobq->poison_deliveries), "%" PRIu64,
             config->poison_deliveries);
    snprintf(jobq->events_maxlen, sizeof(jobq->events_maxlen), "%" PRIu64,
             config->events_maxlen);
    msgpack_sbuffer_init(&jobq->where);
    if (audit_encode_started_where(host, slot, &jobq->where) < 0) {
        jobq_free(jobq);
        return -ENOMEM;
    }
    jobq->random_state = jobq_clock_ms(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32) ^
                         0x9e3779b97f4a7c15ULL;
    *ret_jobq = jobq;
    return 0;
}

void jobq_set_stop_flag(struct jobq *jobq, const volatile sig_atomic_t *stop)
{
    jobq->stop = stop;
}

void jobq_set_policy(struct jobq *jobq, const struct policy *policy)
{
    jobq->policy = policy;
}

void jobq_free(struct jobq *jobq)
{
    if (!jobq)
        return;

    jobq_disconnect(jobq);
    for (size_t i = 0; i < jobq->zombie_count; i++)
        msgpack_sbuffer_destroy(&jobq->zombies[i]);
    msgpack_sbuffer_destroy(&jobq->where);
    free(jobq->url);
    free(jobq->consumer);
    free(jobq->host);
    free(jobq);
}

/* Queues one XADD of an encoded event onto ccx:events, capped at events_maxlen (maxlen, the
 * same formatted; a cap of 0 leaves the stream uncapped). Returns 0 or -ENOMEM. */
static int jobq_append_event(struct jobq *jobq, const char *maxlen, const msgpack_sbuffer *event)
{
    const char *xadd[8];
    size_t xadd_len[8];
    int argc = 0;

    xadd[argc++] = "XADD";
    xadd[argc++] = KEY_EVENTS;
    if (jobq->config->events_maxlen > 0) {
        xadd[argc++] = "MAXLEN";
        xadd[argc++] = "~";
        xadd[argc++] = maxlen;
    }
    xadd[argc++] = "*";
    xadd[argc++] = KEY_EVENTS_FIELD;
    for (int k = 0; k < argc; k++)
        xadd_len[k] = strlen(xadd[k]);
    xadd[argc] = event->data;
    xadd_len[argc++] = event->size;

    return redisAppendCommandArgv(jobq->context, argc, xadd, xadd_len) == 0 ? 0 : -ENOMEM;
}

int jobq_note_zombie(struct jobq *jobq, const struct job *job, const struct jobq_lease *lease)
{
    struct sandbox_event event = {.kind = (char *)"zombie_killed"};
    _cleanup_free_ char *detail = NULL;
    msgpack_sbuffer *out;
    int r;

    if (jobq->zombie_count == JOBQ_ZOMBIES_MAX) {
        jobq->zombies_uncounted++;
        return 0;
    }
    if (asprintf(&detail, "entry_id=%s token=%" PRIu64 " attempt=%" PRIu32
                 " (lease lost: the run was killed, its result dropped)", lease->entry_id,
                 lease->token, lease->attempt) < 0) {
        detail = NULL;
        return -ENOMEM;
    }
    event.detail = detail;

    out = &jobq->zombies[jobq->zombie_count];
    msgpack_sbuffer_init(out);
    r = event_encode(&event, jobq_job_answer_id(job), job->tenant ? job->tenant : "default",
                     jobq->host, jobq->slot, jobq_clock_ms(CLOCK_REALTIME), out);
    if (r < 0) {
        msgpack_sbuffer_destroy(out);
        return r;
    }
    jobq->zombie_count++;
    return 0;
}

/* Sends the zombie_killed events and counts (ccx:stats zombies_killed) that wait, in one
 * round trip. Returns 0 or -errno (the failure is recorded; they wait for the next try). */
static int jobq_flush_zombies(struct jobq *jobq)
{
    char maxlen[32], count[32];
    redisReply *reply;
    int r = 0;

    if (jobq->zombie_count == 0 && jobq->zombies_uncounted == 0)
        return 0;

    r = jobq_set_timeout(jobq, JOBQ_COMMAND_TIMEOUT_MS);
    if (r < 0)
        return r;

    snprintf(maxlen, sizeof(maxlen), "%" PRIu64, jobq->config->events_maxlen);
    snprintf(count, sizeof(count), "%" PRIu64, jobq->zombie_count + jobq->zombies_uncounted);
    if (redisAppendCommand(jobq->context, "HINCRBY %s zombies_killed %s", KEY_STATS,
                           count) != REDIS_OK)
        return -ENOMEM;
    for (size_t i = 0; i < jobq->zombie_count; i++) {
        if (jobq_append_event(jobq, maxlen, &jobq->zombies[i]) < 0)
            return -ENOMEM;
    }

    /* Read every reply, so that the connection stays in step whatever one of them says. */
    for (size_t i = 0; i <= jobq->zombie_count; i++) {
        if (redisGetReply(jobq->context, (void **)&reply) != REDIS_OK)
            return jobq_fail(jobq, redis_error_to_errno(jobq->context), "zombie_report",
                             jobq->context->errstr);
        if (reply->type == REDIS_REPLY_ERROR && r == 0)
            r = -EPROTO;
        freeReplyObject(reply);
    }
    if (r < 0)
        return jobq_fail(jobq, r, "zombie_report", "error reply");

    for (size_t i = 0; i < jobq->zombie_count; i++)
        msgpack_sbuffer_destroy(&jobq->zombies[i]);
    jobq->zombie_count = 0;
    jobq->zombies_uncounted = 0;
    return 0;
}

/* ==== The fair claim ==== */

#define JOBQ_FAIR_WAIT 2 /* jobs wait, but no tenant may start one now */
#define JOBQ_FAIR_NONE 3 /* no tenant has ready entries */

/* Runs the fair claim once (jobq_fair_claim_script). Returns 1 with *ret_job and *ret_lease,
 * 0 when an entry was retired instead (try again at once), JOBQ_FAIR_NONE, JOBQ_FAIR_WAIT
 * with *ret_wait_ms (jobs wait for a token or a free place under a cap; 0: until a finish),
 * or -errno. */
static int jobq_fair_claim(struct jobq *jobq, struct job **ret_job,
                           struct jobq_lease *ret_lease, int *ret_wait_ms)
{
    const char *argv[] = { "EVAL", jobq_fair_claim_script, "4", KEY_FAIR, KEY_JOBS, KEY_LEASES,
                           KEY_TOKEN, jobq->consumer, jobq->host, jobq->lease_ms,
                           jobq->where.data, jobq->events_maxlen };
    _cleanup_reply_ redisReply *reply = NULL;
    uint64_t claimed_at_ms = jobq_clock_ms(CLOCK_MONOTONIC);
    struct jobq_lease lease;
    const redisReply *entry;
    struct job *job = NULL;
    long long code;
    int r;

    r = jobq_set_timeout(jobq, JOBQ_COMMAND_TIMEOUT_MS);
    if (r < 0)
        return r;

    r = jobq_command_where(jobq, "fair_claim", 12, argv, 10, &reply);
    if (r < 0)
        return r;

    code = jobq_reply_int(reply, 0);
    if (code == -4 && reply->elements == 1) {
        jobq_healthy(jobq);
        return JOBQ_FAIR_NONE;
    }
    if (code == -5 && reply->elements == 2 && jobq_reply_int(reply, 1) >= 0) {
        jobq_healthy(jobq);
        if (!jobq->host_refused)
            log_warn("host_breaker_open", "host=%s retry_ms=%lld action=claim_nothing",
                     jobq->host, jobq_reply_int(reply, 1));
        jobq->host_refused = true;
        *ret_wait_ms = (int)(jobq_reply_int(reply, 1) > INT32_MAX ? INT32_MAX
                                                                   : jobq_reply_int(reply, 1));
        return JOBQ_FAIR_WAIT;
    }
    if (jobq->host_refused && reply->type == REDIS_REPLY_ARRAY) {
        log_info("host_breaker_passed", "host=%s action=claim", jobq->host);
        jobq->host_refused = false;
    }
    if (code == -3 && reply->elements == 2 && jobq_reply_int(reply, 1) >= 0) {
        jobq_healthy(jobq);
        *ret_wait_ms = (int)(jobq_reply_int(reply, 1) > INT32_MAX ? INT32_MAX
                                                                   : jobq_reply_int(reply, 1));
        return JOBQ_FAIR_WAIT;
    }
    if (code == 0 && reply->elements == 5 && reply->element[1]->type == REDIS_REPLY_STRING &&
        reply->element[2]->type == REDIS_REPLY_STRING &&
        reply->element[3]->type == REDIS_REPLY_STRING &&
        reply->element[4]->type == REDIS_REPLY_STRING) {
        struct job named = { .id = reply->element[2]->str, .tenant = reply->element[3]->str };
        bool answered = strcmp(reply->element[4]->str, "answered") == 0;

        jobq_healthy(jobq);
        log_job(&named, LOG_LEVEL_INFO, answered ? "job_already_answered" : "job_entry_vanished",
                "entry_id=%s action=retired", reply->element[1]->str);
        return 0;
    }

    if (!jobq_reply_lease(reply, JOBQ_VERDICT_CIRCUIT_OPEN, &lease) || reply->elements != 5 ||
        !jobq_entry_shape_ok(reply->element[4]) ||
        reply->element[4]->element[1]->type != REDIS_REPLY_ARRAY)
        return jobq_fail(jobq, -EPROTO, "fair_claim", jobq_reply_why(reply));

    jobq_healthy(jobq);
    entry = reply->element[4];
    r = jobq_entry_decode(jobq, entry, &job);
    if (r < 0)
        return r;

    jobq_lease_bind(&lease, job, claimed_at_ms);
    *ret_lease = lease;
    *ret_job = job;
    return 1;
}

/* Waits up to wait_ms for a wake token (BLPOP ccx:wake). Returns 0 (woken or not), or
 * -errno. */
static int jobq_wait_wake(struct jobq *jobq, int wait_ms)
{
    _cleanup_reply_ redisReply *reply = NULL;
    char timeout[32];
    int r;

    /* BLPOP 0 would wait forever. */
    snprintf(timeout, sizeof(timeout), "%.3f", (wait_ms > 0 ? wait_ms : 1) / 1000.0);
    const char *argv[] = { "BLPOP", KEY_WAKE, timeout };

    r = jobq_set_timeout(jobq, wait_ms + JOBQ_BLOCK_MARGIN_MS);
    if (r < 0)
        return r;

    r = jobq_command_str(jobq, "blpop_wake", 3, argv, &reply);
    if (r < 0)
        return r;
    if (reply->type == REDIS_REPLY_ERROR)
        return jobq_fail(jobq, -EPROTO, "blpop_wake", reply->str);

    jobq_healthy(jobq);
    return 0;
}

/* The fair claim, and when nothing is to be had a wait for a wake token, at most timeout_ms
 * (or until the earliest token of a rate-capped tenant), then one more claim. Returns as
 * jobq_take. */
static int jobq_take_fair(struct jobq *jobq, int timeout_ms, struct job **ret_job,
                          struct jobq_lease *ret_lease)
{
    for (int round = 0; round < 2; round++) {
        int wait_ms = timeout_ms;
        int r = jobq_fair_claim(jobq, ret_job, ret_lease, &wait_ms);

        if (r == JOBQ_FAIR_NONE || (r == JOBQ_FAIR_WAIT && (wait_ms <= 0 ||
                                                              wait_ms > timeout_ms)))
            wait_ms = timeout_ms;
        else if (r != JOBQ_FAIR_WAIT)
            return r;

        /* A draining worker starts nothing new, and a zero timeout is a plain poll. */
        if (round == 1 || timeout_ms <= 0 || (jobq->stop && *jobq->stop))
            return 0;

        r = jobq_wait_wake(jobq, wait_ms);
        if (r < 0)
            return r;
        if (jobq->stop && *jobq->stop)
            return 0;
    }
    return 0;
}

int jobq_take(struct jobq *jobq, int timeout_ms, struct job **ret_job,
              struct jobq_lease *ret_lease)
{
    int r;

    r = jobq_connect(jobq);
    if (r < 0)
        return r;

    r = jobq_flush_zombies(jobq);
    if (r < 0)
        return r;

    r = jobq_take_pending(jobq, ret_job, ret_lease);
    if (r == 0)
        r = jobq_take_reclaimed(jobq, ret_job, ret_lease);
    if (r != 0)
        return r;

    if (jobq->stop && *jobq->stop)
        return 0;
    return jobq_take_fair(jobq, timeout_ms, ret_job, ret_lease);
}

/* ==== Finishing a job ==== */

/* What a script that ends a run tells the circuit breakers (worker/breaker.lua): whether
 * the outcome counts and as whose failure (brk_classify), under the tenant's settings
 * (brk_settings_format), all formatted as script arguments. */
struct jobq_breaker_args {
    char counted[2];
    char tenant_failed[2];
    char host_failed[2];
    char settings[BRK_SETTINGS_SIZE];
    char host_settings[BRK_SETTINGS_SIZE]; /* the policy defaults' (host breakers) */
};

/* Settings that do not format count nothing. */
static void jobq_breaker_args_set(const struct jobq *jobq, const struct job *job,
                                  const struct result *result, struct jobq_breaker_args *args)
{
    const struct tenant_policy *tenant = jobq->policy ? policy_tenant(jobq->policy, job->tenant)
                                                      : NULL;
    struct brk_fleet fleet = {
        /* ccx:hosts is refreshed by every claim and beat; a host silent for two leases is
         * gone. A probe may run as long as the longest job before it is given up on. */
        .live_ms = 2 * jobq->config->lease_ms,
        .probe_ttl_ms = jobq->config->limits_max.wall_ms + jobq->config->lease_ms,
        .events_maxlen = jobq->config->events_maxlen,
    };
    struct brk_verdict verdict = { 0 };

    if (tenant)
        verdict = brk_classify(result, tenant->breaker.count_limits);
    if (!tenant || brk_settings_format(&tenant->breaker, &fleet, args->settings,
                                       sizeof(args->settings)) < 0 ||
        brk_settings_format(&jobq->policy->defaults.breaker, &fleet, args->host_settings,
                            sizeof(args->host_settings)) < 0) {
        verdict.counted = false;
        args->settings[0] = args->host_settings[0] = '\0';
    }

    snprintf(args->counted, sizeof(args->counted), "%d", verdict.counted);
    snprintf(args->tenant_failed, sizeof(args->tenant_failed), "%d", verdict.tenant_failed);
    snprintf(args->host_failed, sizeof(args->host_failed), "%d", verdict.host_failed);
}

/* What jobq_finish sends, encoded once and kept across retries, and which parts Redis has
 * confirmed: after a broken connection only the unconfirmed commands are sent again. The
 * bury script takes the place of the finish script for a job given up on. */
struct jobq_batch {
    char *result_key;
    char *reply_key;
    char *lease_key;
    char *cancel_key;        /* a cancel mark goes with the answer, or it would cancel a
                              * later job that reuses the id */
    char ttl[32];
    char token[32];
    const char *entry_id;
    msgpack_sbuffer result;
    bool result_done;
    int stored;              /* the script's answer: 1 stored, 0 there already, -1 stale */
    bool lease_missing;      /* the finish script found no lease hash at all */

    msgpack_sbuffer *events; /* one encoded event each */
    bool *event_done;
    size_t event_count;
    const char *status;      /* the result's, for the finish script */
    struct jobq_breaker_args breaker;
    msgpack_sbuffer finished; /* job_finished, published by the script with the result */
    char maxlen[32];

    /* Only for the bury script (bury is true). */
    bool bury;
    const char *why;         /* "poison" or "max_attempts" */
    const char *reason;      /* the dead letter's sentence: the result's reason */
    const char *ended;       /* how the caller's own run ended, "" when it ran nothing */
    const char *run_reason;  /* that run's reason */
    char attempts[32];
    const char *job_id;
    const char *tenant;
    msgpack_sbuffer dead_event;
};

/* The job_finished event of a result. Returns 0 or -ENOMEM. */
static int jobq_encode_finished(const struct jobq *jobq, const struct job *job,
                                const struct result *result, const char *id,
                                const char *tenant, uint64_t now_ms, msgpack_sbuffer *out)
{
    char code_hash[AUDIT_CODE_HASH_SIZE];
    uint64_t wall_ms = result->run.wall_ms + (result->has_compile ? result->compile.wall_ms
                                                                  : 0);
    struct audit_job audit = { .job_id = id, .tenant = tenant, .language = job->language,
                               .code_hash = code_hash,
                               .policy_version = jobq->policy ? jobq->policy->version
                                                              : "builtin" };
    int r;

    r = audit_code_hash(job, code_hash);
    if (r < 0)
        return r;

    return audit_encode_finished(&audit, result->host ? result->host : jobq->host,
                                 result->worker, now_ms, job_status_name(result->status),
                                 wall_ms, out);
}

static void jobq_batch_clear(struct jobq_batch *batch)
{
    free(batch->result_key);
    free(batch->reply_key);
    free(batch->lease_key);
    free(batch->cancel_key);
    msgpack_sbuffer_destroy(&batch->result);
    msgpack_sbuffer_destroy(&batch->dead_event);
    msgpack_sbuffer_destroy(&batch->finished);
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
    msgpack_sbuffer_init(&batch->dead_event);
    msgpack_sbuffer_init(&batch->finished);
    batch->entry_id = job->entry_id;
    batch->job_id = id;
    batch->tenant = result->tenant ? result->tenant : job->tenant ? job->tenant : "default";
    snprintf(batch->ttl, sizeof(batch->ttl), "%" PRIu64, jobq->config->result_ttl_s);
    snprintf(batch->maxlen, sizeof(batch->maxlen), "%" PRIu64, jobq->config->events_maxlen);
    snprintf(batch->token, sizeof(batch->token), "%" PRIu64, lease->token);

    if (asprintf(&batch->result_key, "%s%s", KEY_RESULT_PREFIX, id) < 0 ||
        asprintf(&batch->reply_key, "%s%s", KEY_REPLY_PREFIX, id) < 0 ||
        asprintf(&batch->lease_key, "%s%s", KEY_LEASE_PREFIX, job->entry_id) < 0 ||
        asprintf(&batch->cancel_key, "%s%s", KEY_CANCEL_PREFIX, id) < 0) {
        batch->result_key = batch->reply_key = batch->lease_key = batch->cancel_key = NULL;
        return -ENOMEM;
    }

    r = result_encode(result, &batch->result);
    if (r < 0)
        return r;

    batch->status = job_status_name(result->status);
    jobq_breaker_args_set(jobq, job, result, &batch->breaker);
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

    return jobq_encode_finished(jobq, job, result, id, batch->tenant, now_ms,
                                &batch->finished);
}

/* Turns an initialised batch into a burial: the ops event on ccx:events names why. Returns
 * 0 or -ENOMEM. */
static int jobq_batch_set_bury(const struct jobq *jobq, const struct result *result,
                               const char *why, const char *ended, const char *run_reason,
                               struct jobq_batch *batch)
{
    _cleanup_free_ char *detail = NULL;
    struct sandbox_event event = { 0 };

    batch->bury = true;
    batch->why = why;
    batch->reason = result->reason ? result->reason : "";
    batch->ended = ended;
    batch->run_reason = run_reason ? run_reason : "";
    snprintf(batch->attempts, sizeof(batch->attempts), "%" PRIu32, result->attempt);

    if (asprintf(&detail, "attempts=%" PRIu32 " stream=" KEY_DEAD, result->attempt) < 0) {
        detail = NULL;
        return -ENOMEM;
    }
    event.kind = (char *)(strcmp(why, "poison") == 0 ? "poison_quarantined" : "dead_lettered");
    event.detail = detail;
    return event_encode(&event, batch->job_id, batch->tenant, jobq->host, jobq->slot,
                        jobq_clock_ms(CLOCK_REALTIME), &batch->dead_event);
}

/* Queues the result script (or the bury script). Returns 0 or -ENOMEM. */
static int jobq_batch_append_script(struct jobq *jobq, const struct jobq_batch *batch)
{
    const char *eval[] = { "EVAL", jobq_finish_script, "5", batch->result_key,
                           batch->reply_key, KEY_JOBS, KEY_LEASES, batch->lease_key,
                           batch->result.data, batch->ttl, KEY_WORKER_GROUP, batch->entry_id,
                           batch->token, batch->cancel_key, batch->status,
                           batch->finished.data, batch->maxlen, batch->breaker.counted,
                           batch->breaker.tenant_failed, batch->breaker.host_failed,
                           batch->breaker.settings, jobq->host, batch->breaker.host_settings,
                           jobq->slot < 0 ? "1" : "0", batch->tenant };
    const char *bury[] = { "EVAL", jobq_bury_script, "8", batch->result_key, batch->reply_key,
                           KEY_JOBS, KEY_LEASES, batch->lease_key, KEY_DEAD, KEY_STATS,
                           KEY_EVENTS, batch->result.data, batch->ttl, KEY_WORKER_GROUP,
                           batch->entry_id, batch->token, batch->why, batch->reason,
                           batch->maxlen, batch->dead_event.data, batch->ended, jobq->host,
                           jobq->consumer, batch->run_reason, batch->job_id, batch->tenant,
                           batch->attempts, batch->cancel_key, batch->finished.data,
                           batch->breaker.counted, batch->breaker.tenant_failed,
                           batch->breaker.host_failed, batch->breaker.settings,
                           batch->breaker.host_settings };
    const char **argv = batch->bury ? bury : eval;
    int argc = batch->bury ? 34 : 25;
    int result_at = batch->bury ? 11 : 8;
    int event_at = batch->bury ? 19 : -1;
    int finished_at = batch->bury ? 28 : 15;
    size_t argv_len[34];

    /* The msgpack arguments are bytes, not C strings. */
    for (int i = 0; i < argc; i++)
        argv_len[i] = i == result_at     ? batch->result.size
                      : i == event_at    ? batch->dead_event.size
                      : i == finished_at ? batch->finished.size
                                         : strlen(argv[i]);

    return redisAppendCommandArgv(jobq->context, argc, argv, argv_len) == 0 ? 0 : -ENOMEM;
}

/* Queues one XADD per event Redis has not confirmed yet. Returns 0 or -ENOMEM. */
static int jobq_batch_append_events(struct jobq *jobq, const struct jobq_batch *batch)
{
    for (size_t i = 0; i < batch->event_count; i++) {
        int r;

        if (batch->event_done[i])
            continue;
        r = jobq_append_event(jobq, batch->maxlen, &batch->events[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Runs the result script, unless Redis confirmed it already. Returns 0 once it ran (the
 * answer is in batch->stored), or -errno (the failure is recorded). */
static int jobq_batch_send_script(struct jobq *jobq, struct jobq_batch *batch)
{
    const char *what = batch->bury ? "bury" : "finish";
    _cleanup_reply_ redisReply *reply = NULL;
    int r;

    if (batch->result_done)
        return 0;

    r = jobq_batch_append_script(jobq, batch);
    if (r < 0)
        return jobq_fail(jobq, r, what, NULL);

    if (redisGetReply(jobq->context, (void **)&reply) != REDIS_OK)
        return jobq_fail(jobq, redis_error_to_errno(jobq->context), what,
                         jobq->context->errstr);

    if (reply->type != REDIS_REPLY_INTEGER || reply->integer < -1 ||
        reply->integer > (batch->bury ? 1 : 3))
        return jobq_fail(jobq, -EPROTO, what, jobq_reply_why(reply));

    batch->result_done = true;
    batch->stored = reply->integer >= 0 ? (int)(reply->integer & 1) : -1;
    batch->lease_missing = reply->integer >= 2;
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

/* Sends the batch until Redis took it or *stop becomes nonzero. Returns 1 stored, 0 there
 * already, -ESTALE for a stale token, or -errno when it gave up. */
static int jobq_batch_run(struct jobq *jobq, const struct job *job, struct jobq_batch *batch,
                          volatile sig_atomic_t *stop)
{
    /* The encoded batch lives across reconnects: the result is never lost in between. */
    for (;;) {
        int r = jobq_connect(jobq);

        if (r >= 0)
            r = jobq_batch_send(jobq, job, batch);
        if (r >= 0)
            return batch->stored < 0 ? -ESTALE : batch->stored;

        /* Once the script ran, only events are left, and what it said stands. */
        if (stop && *stop)
            return batch->result_done ? (batch->stored < 0 ? -ESTALE : batch->stored) : r;
    }
}

/* ==== Retries and dead letters ==== */

/* The wait before the run after attempt: retry_backoff_ms, doubled for each attempt after
 * the first, capped, and jittered so that jobs that failed together do not return together. */
static uint64_t jobq_retry_backoff_ms(struct jobq *jobq, uint32_t attempt)
{
    uint64_t delay_ms = jobq->config->retry_backoff_ms;

    for (uint32_t i = 1; i < attempt && delay_ms < CONFIG_RETRY_BACKOFF_CAP_MS; i++)
        delay_ms *= 2;

    /* +-20 %: 80 to 120 percent of the step. */
    delay_ms = delay_ms * (80 + jobq_random(jobq) % 41) / 100;
    return delay_ms < CONFIG_RETRY_BACKOFF_CAP_MS ? delay_ms : CONFIG_RETRY_BACKOFF_CAP_MS;
}

/* Schedules another run of a job whose run ended internal_error (jobq_retry_script), trying
 * until Redis answers or *stop becomes nonzero. Returns JOBQ_FINISH_RETRY, 0 when there was
 * no lease to put back (the caller then stores the result as final), -ESTALE, or -errno. */
static int jobq_retry(struct jobq *jobq, const struct job *job, const struct jobq_lease *lease,
                      const struct result *result, volatile sig_atomic_t *stop)
{
    _cleanup_free_ char *lease_key = NULL;
    uint64_t backoff_ms = jobq_retry_backoff_ms(jobq, lease->attempt);
    char token[32], backoff[32], quoted[LOG_QUOTE_SIZE];
    const char *reason = result->reason ? result->reason : "";
    long long answer;

    if (asprintf(&lease_key, "%s%s", KEY_LEASE_PREFIX, job->entry_id) < 0) {
        lease_key = NULL;
        return -ENOMEM;
    }
    snprintf(token, sizeof(token), "%" PRIu64, lease->token);
    snprintf(backoff, sizeof(backoff), "%" PRIu64, backoff_ms);

    struct jobq_breaker_args breaker;

    jobq_breaker_args_set(jobq, job, result, &breaker);
    const char *argv[] = { "EVAL", jobq_retry_script, "3", KEY_LEASES, lease_key, KEY_STATS,
                           job->entry_id, token, backoff, jobq->host, jobq->consumer,
                           reason, breaker.counted, breaker.tenant_failed, breaker.host_failed,
                           breaker.settings, breaker.host_settings };

    for (;;) {
        _cleanup_reply_ redisReply *reply = NULL;
        int r = jobq_connect(jobq);

        if (r >= 0)
            r = jobq_set_timeout(jobq, JOBQ_COMMAND_TIMEOUT_MS);
        if (r >= 0)
            r = jobq_command_str(jobq, "retry", 17, argv, &reply);
        if (r >= 0 && (reply->type != REDIS_REPLY_INTEGER || reply->integer < -1 ||
                       reply->integer > 1))
            r = jobq_fail(jobq, -EPROTO, "retry", jobq_reply_why(reply));
        if (r >= 0) {
            answer = reply->integer;
            break;
        }
        if (stop && *stop)
            return r;
    }

    jobq_healthy(jobq);
    if (answer < 0)
        return -ESTALE;
    if (answer == 0)
        return 0;

    log_job(job, LOG_LEVEL_WARN, "retry_scheduled", "entry_id=%s attempt=%" PRIu32
            " max_attempts=%" PRIu32 " backoff_ms=%" PRIu64 " reason=%s", job->entry_id,
            lease->attempt, job->max_attempts, backoff_ms, log_quote(quoted, reason));
    return JOBQ_FINISH_RETRY;
}

/* "internal_error: <reason>" or "holder lost: <reason>", for a dead letter's sentence. */
static char *jobq_last_attempt_text(const char *ended, const char *reason)
{
    char *text = NULL;

    if (asprintf(&text, "%s: %s", strcmp(ended, "holder_lost") == 0 ? "holder lost" : ended,
                 reason ? reason : "") < 0)
        return NULL;
    return text;
}

/* The sentence a given-up job's client reads in its result's reason. */
static char *jobq_dead_reason(const char *why, uint32_t attempts, uint32_t holders_lost,
                              const char *last)
{
    char *text = NULL;
    int n;

    if (strcmp(why, "poison") == 0)
        n = asprintf(&text, "quarantined as a poison job: %" PRIu32 " of its %" PRIu32
                     " attempts lost their holder (the worker died or the lease ran out); "
                     "the last: %s", holders_lost, attempts, last);
    else
        n = asprintf(&text, "gave up after %" PRIu32 " attempt%s; the last: %s", attempts,
                     attempts == 1 ? "" : "s", last);
    return n < 0 ? NULL : text;
}

/* Buries a job (jobq_bury_script) with result, already a dead_letter, and logs it. ended
 * and run_reason describe the caller's own run ("" when it ran nothing). Returns as
 * jobq_batch_run. */
static int jobq_bury(struct jobq *jobq, const struct job *job, const struct jobq_lease *lease,
                     const struct result *result, const char *why, uint32_t holders_lost,
                     const char *ended, const char *run_reason, volatile sig_atomic_t *stop)
{
    __attribute__((cleanup(jobq_batch_clear))) struct jobq_batch batch = { 0 };
    char quoted[LOG_QUOTE_SIZE];
    bool poison = strcmp(why, "poison") == 0;
    int r;

    r = jobq_batch_init(jobq, job, lease, result, &batch);
    if (r >= 0)
        r = jobq_batch_set_bury(jobq, result, why, ended, run_reason, &batch);
    if (r < 0)
        return r;

    r = jobq_batch_run(jobq, job, &batch, stop);
    if (r == 1)
        log_job(job, LOG_LEVEL_WARN, poison ? "poison_quarantined" : "dead_lettered",
                "entry_id=%s attempts=%" PRIu32 " holders_lost=%" PRIu32 " stream=" KEY_DEAD
                " reason=%s", job->entry_id, result->attempt, holders_lost,
                log_quote(quoted, result->reason ? result->reason : ""));
    return r;
}

/* Gives up a job whose last allowed run ended internal_error: its result, as a dead_letter
 * that says so, is the final answer. */
static int jobq_give_up_run(struct jobq *jobq, const struct job *job,
                            const struct jobq_lease *lease, const struct result *result,
                            volatile sig_atomic_t *stop)
{
    _cleanup_free_ char *last = jobq_last_attempt_text("internal_error", result->reason);
    _cleanup_free_ char *reason = NULL;
    struct result dead = *result;

    if (!last)
        return -ENOMEM;
    reason = jobq_dead_reason("max_attempts", lease->attempt, 0, last);
    if (!reason)
        return -ENOMEM;

    /* A shallow copy: it borrows everything from result, and is never cleared. */
    dead.status = JOB_STATUS_DEAD_LETTER;
    dead.reason = reason;
    return jobq_bury(jobq, job, lease, &dead, "max_attempts", 0, "internal_error",
                     result->reason, stop);
}

static int jobq_bury_reclaimed(struct jobq *jobq, const struct job *job,
                               const struct jobq_lease *lease, const char *why,
                               uint32_t holders_lost, const char *last_ended,
                               const char *last_reason)
{
    _cleanup_free_ char *last = jobq_last_attempt_text(last_ended, last_reason);
    volatile sig_atomic_t once = 1;
    struct result result = { 0 };
    int r = -ENOMEM;

    result.status = JOB_STATUS_DEAD_LETTER;
    result.run.exit_code = -1;
    result.attempt = lease->attempt;
    result.worker = jobq->slot;
    result.meta = job->meta;
    result.meta_size = job->meta_size;
    result.id = strdup(jobq_job_answer_id(job));
    result.tenant = strdup(job->tenant ? job->tenant : "default");
    result.host = strdup(jobq->host);
    result.language = job->language ? strdup(job->language) : NULL;
    result.policy_version = job->policy_version ? strdup(job->policy_version) : NULL;
    if (last)
        result.reason = jobq_dead_reason(why, lease->attempt, holders_lost, last);

    /* One try: should it fail, the entry stays marked dead, its lease runs out, and the
     * next reclaim buries it. */
    if (result.id && result.tenant && result.host && result.reason)
        r = jobq_bury(jobq, job, lease, &result, why, holders_lost, "", "", &once);

    result_clear(&result);
    return r;
}

int jobq_finish(struct jobq *jobq, const struct job *job, const struct jobq_lease *lease,
                const struct result *result, volatile sig_atomic_t *stop)
{
    __attribute__((cleanup(jobq_batch_clear))) struct jobq_batch batch = { 0 };
    int r;

    if (!job->entry_id || (!result->id && !job->id))
        return -EINVAL;

    /* Only our own failures are tried again: every other status is the job's doing, and
     * running it again would give the same answer. */
    if (result->status == JOB_STATUS_INTERNAL_ERROR && lease->attempt < job->max_attempts) {
        r = jobq_retry(jobq, job, lease, result, stop);
        if (r != 0)
            return r;
    } else if (result->status == JOB_STATUS_INTERNAL_ERROR) {
        return jobq_give_up_run(jobq, job, lease, result, stop);
    }

    r = jobq_batch_init(jobq, job, lease, result, &batch);
    if (r < 0)
        return r;

    r = jobq_batch_run(jobq, job, &batch, stop);
    /* Deliberately not fenced (see the finish script): the run in progress may be the only
     * answer left. Said aloud, because a job whose claim a failover forgot may also have
     * been run by another worker meanwhile. */
    if (r >= 0 && batch.lease_missing && lease->token > 0)
        log_job(job, LOG_LEVEL_WARN, "lease_missing_at_finish",
                "entry_id=%s token=%" PRIu64 " stored=%d master_changes=%u", job->entry_id,
                lease->token, r, redis_master_changes());
    return r;
}
