/* The supervisor's side of job leases: renewing, in one Redis call per beat, the leases its
 * workers hold, and handing back at once the lease of a worker that died. Synchronous
 * hiredis with a short timeout (a sixth of lease_ms, at most 2 s), so that a Redis that
 * hangs holds up the event loop only briefly. Does not log; the caller decides. */
#ifndef CCX_SUPERVISOR_LEASE_H
#define CCX_SUPERVISOR_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lease_keeper;

/* One lease to renew: the stream entry and the token its worker holds. */
struct lease_ref {
    const char *entry_id;
    uint64_t token;
};

/* Connects lazily. The url is copied. Returns 0 or -ENOMEM. */
int lease_keeper_new(const char *url, uint64_t lease_ms, struct lease_keeper **ret_keeper);
void lease_keeper_free(struct lease_keeper *keeper);

/* Pushes the expiry of every lease whose token is still the entry's to lease_ms past
 * Redis's now, in one script call. ret_lost[i] becomes true for each lease whose token
 * changed (another worker holds the entry); a lease that is gone altogether is left alone
 * (see the script). ret_cancelled[i] becomes true for each lease held whose job its client
 * cancelled (ccx:cancel:<id> exists). Returns 0, or -errno when Redis could not be asked
 * (the connection is dropped; the next call connects again). */
int lease_keeper_renew(struct lease_keeper *keeper, const struct lease_ref *leases,
                       size_t count, bool *ret_lost, bool *ret_cancelled);

/* Makes a lease expire now, if its token still holds, so that an idle worker takes the
 * entry over at once. drained: the host is shutting down (the job is not to blame, and
 * its next run counts no holder lost); else its worker died. Returns 1 when it did, 0 when
 * the lease was not that token's any more, or -errno. */
int lease_keeper_hand_back(struct lease_keeper *keeper, const struct lease_ref *lease,
                           bool drained);

/* Hands back, expiring now, the entries delivered to consumer (a stopped worker's
 * host:pid) that it never leased. Returns how many, or -errno. */
int lease_keeper_hand_back_pending(struct lease_keeper *keeper, const char *consumer);

/* One PING, to tell when Redis is back while there is no lease to renew. Returns 0 or
 * -errno. */
int lease_keeper_ping(struct lease_keeper *keeper);

#endif
