/* Job life-cycle events on ccx:events (job_queued, job_started, job_finished): their msgpack
 * maps (docs/FAIRNESS.md, Events) and the code hash they carry. The security events of a
 * result are encoded by event_encode in result.h. */
#ifndef CCX_COMMON_AUDIT_H
#define CCX_COMMON_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "job.h"

#define AUDIT_CODE_HASH_SIZE 72 /* "sha256:" + 64 hex digits + NUL */

/* What every life-cycle event says about its job. The strings are borrowed. */
struct audit_job {
    const char *job_id;
    const char *tenant;
    const char *language;       /* NULL: nil */
    const char *code_hash;      /* "sha256:<hex>", from audit_code_hash */
    const char *policy_version;
};

/* "sha256:<hex>" of the job's files sorted by path, each hashed as its path, a NUL, its size
 * as 8 bytes big-endian, and its content, into out (AUDIT_CODE_HASH_SIZE bytes). Returns 0
 * or -ENOMEM. */
int audit_code_hash(const struct job *job, char *out);

/* job_queued: kind, ts, the job's fields, host, worker, bytes (the queued message's size).
 * Appended to out. Returns 0 or -ENOMEM. */
int audit_encode_queued(const struct audit_job *job, const char *host, int worker,
                        uint64_t ts_ms, uint64_t bytes, msgpack_sbuffer *out);

/* job_finished: as job_queued, with status and wall_ms in place of bytes. */
int audit_encode_finished(const struct audit_job *job, const char *host, int worker,
                          uint64_t ts_ms, const char *status, uint64_t wall_ms,
                          msgpack_sbuffer *out);

/* job_started is completed inside the claim script, on Redis's clock, when the claiming
 * worker is known. The head is a map of AUDIT_STARTED_FIELDS entries holding kind and the
 * job's fields; the claimer adds audit_encode_started_where (host, worker), and the script
 * ts and attempt. Each returns 0 or -ENOMEM. */
#define AUDIT_STARTED_FIELDS 10
int audit_encode_started_head(const struct audit_job *job, msgpack_sbuffer *out);
int audit_encode_started_where(const char *host, int worker, msgpack_sbuffer *out);

#endif
