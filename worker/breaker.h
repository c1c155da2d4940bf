/* Per-tenant and per-host circuit breakers: the C side of worker/breaker.lua, whose Lua
 * functions (concatenated in front of a script's body as BREAKER_LUA, from the generated
 * breaker_lua.h) keep the state in Redis. Here: the settings argument those functions take,
 * and what in a result counts as a failure of the tenant or of the host (docs/BREAKERS.md).
 * Nothing here talks to Redis or logs. */
#ifndef CCX_WORKER_BREAKER_H
#define CCX_WORKER_BREAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "breaker_lua.h"
#include "common/policy.h"
#include "common/result.h"

/* Room for any settings string brk_settings_format writes. */
#define BRK_SETTINGS_SIZE 320

/* The was_probe argument of breaker_record: which breakers let the job through as a probe
 * (the gates answered "probe"). */
#define BRK_PROBE_TENANT 1u
#define BRK_PROBE_HOST 2u

/* What the fleet adds to a tenant's policy: how fresh a host's entry in ccx:hosts must be to
 * count as live (3 leases, say), how long a probe may stay unanswered before the half-open
 * breaker lets another through (the longest a job may hold a lease), and the cap of
 * ccx:events (0: none). */
struct brk_fleet {
    uint64_t live_ms;
    uint64_t probe_ttl_ms;
    uint64_t events_maxlen;
};

/* What one finished job says about its tenant and its host. A job that never ran, or that
 * the worker stopped itself, is not counted at all (counted false: the finish script does
 * not call breaker_record, only breaker_release_probe for a probe); a counted job that
 * failed neither way is a success in both windows. */
struct brk_verdict {
    bool counted;
    bool tenant_failed;
    bool host_failed;
};

/* Writes the settings argument of breaker_record ("enabled=1 window_calls=20 ...") into buf.
 * Returns the length, -EINVAL for settings the Lua would have to correct (window_calls or
 * probes of 0, failure_pct above 100), or -ENOSPC when size is too small. */
int brk_settings_format(const struct policy_breaker *policy, const struct brk_fleet *fleet,
                        char *buf, size_t size);

/* Classifies a stored result. The tenant failed when the sandbox refused or stopped an
 * escape (status policy_violation; an event policy_violation, seccomp_kill, syscall_refused
 * or syscall_refused_suppressed; a SIGSYS from a seccomp kill), when the job took its
 * sandbox or its workers down (dead_letter after a poison quarantine), and, only with
 * count_limits, when it hit a resource limit (timeout, cpu, memory, pids, output; a compile
 * step stopped by one too). The host failed when ccx itself did (internal_error, and a
 * dead_letter whose last attempt ended so). Ordinary failures (error_exit, signaled,
 * compile_error) are successes for the breakers; the statuses of jobs that never ran or
 * were stopped by their client (rejected, cancelled, expired, circuit_open) and a step the
 * worker stopped itself (its lease was lost) are not counted. */
struct brk_verdict brk_classify(const struct result *result, bool count_limits);

#endif
