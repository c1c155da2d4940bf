/* The live state a supervisor writes to Redis once a beat, for dashboards (ccx top) and the
 * breakers: its host hash and workers hash (both expiring after three beats), its score in
 * ccx:hosts, and the finished-job counters and histograms gathered since the last beat. One
 * pipelined round trip, the writes in one MULTI/EXEC, so that counters are added all or not
 * at all. Synchronous hiredis, like the lease keeper, with a timeout of a quarter beat (100 ms
 * to 1 s) for the connect and each reply. Does not log. */
#ifndef CCX_SUPERVISOR_HEARTBEAT_H
#define CCX_SUPERVISOR_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#include "supervisor/pool.h"
#include "supervisor/stats.h"

struct heartbeat;

/* What the host hash says about this supervisor; the strings are borrowed for the call. */
struct heartbeat_host {
    const char *version;
    int pid;
    uint64_t started_at_ms;     /* CLOCK_REALTIME */
    int workers;                /* configured */
    const char *cgroup;         /* "v1" or "v2" */
    const char *namespaces;     /* the kinds the kernel offers the sandbox: "user,pid,..." */
    const char *seccomp;        /* "user_notif" when the kernel has it, else "none" */
    const char *policy_version;
};

/* host and url are copied. beat_ms sets the keys' TTL (three beats). Returns 0 or -ENOMEM. */
int heartbeat_new(const char *url, const char *host, uint64_t beat_ms,
                  struct heartbeat **ret_heartbeat);
void heartbeat_free(struct heartbeat *heartbeat);

/* Writes one beat: the host and workers hashes, ccx:hosts, and what stats has pending (then
 * cleared). On failure nothing pending is lost: the next beat adds it. Returns 0 or -errno
 * (the connection is dropped; the next beat connects again). */
int heartbeat_beat(struct heartbeat *heartbeat, const struct heartbeat_host *host,
                   const struct pool_worker *workers, size_t worker_count,
                   struct stats *stats);

/* A clean stop: adds what stats has pending, then removes the host and workers hashes and
 * the host's ccx:hosts entry (a host that left is not live). Returns 0 or -errno. */
int heartbeat_leave(struct heartbeat *heartbeat, struct stats *stats);

/* Redis's clock minus ours, ms, as the last beat's TIME found it (0 before any). */
int64_t heartbeat_clock_offset_ms(const struct heartbeat *heartbeat);

#endif
