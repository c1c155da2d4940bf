/* Host uids for jobs, leased one per worker from a shared range, so that two workers never
 * run jobs as the same uid: not two slots of one supervisor, not two supervisors (or a
 * supervisor and a one-shot ccx-worker --direct) on the same machine. A lease is an flock
 * on <dir>/<uid>.lock, held for the worker's life and dropped by the kernel when it dies. */
#ifndef CCX_WORKER_UID_LEASE_H
#define CCX_WORKER_UID_LEASE_H

#include <sys/types.h>

/* Claims the first free uid in [base, base + count), trying base + first_offset first, so
 * that a slot keeps its uid across restarts when nobody took it meanwhile. Skips uids that
 * the host's user database names. Returns 0 with *ret_uid and *ret_lock_fd (keep it open;
 * close-on-exec), or -EUSERS when every uid of the range is leased, or another -errno. */
int uid_lease_claim(const char *dir, uid_t base, unsigned count, unsigned first_offset,
                    uid_t *ret_uid, int *ret_lock_fd);

#endif
