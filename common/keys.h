/* Redis key names, in one place: the layout is part of the public protocol
 * (docs/PROTOCOL.md) and any client or dashboard may depend on it. */
#ifndef CCX_COMMON_KEYS_H
#define CCX_COMMON_KEYS_H

#define KEY_JOBS "ccx:jobs"             /* stream: the public intake, field "job" */
#define KEY_JOBS_FIELD "job"
#define KEY_EVENTS "ccx:events"         /* stream: security events, field "event" */
#define KEY_EVENTS_FIELD "event"
#define KEY_RESULT_PREFIX "ccx:result:" /* string: msgpack result, with a TTL */
#define KEY_REPLY_PREFIX "ccx:reply:"   /* list: the same result pushed once, for BLPOP */
#define KEY_CANCEL_PREFIX "ccx:cancel:" /* string: a cancel asked for, set by clients */
#define KEY_WORKER_GROUP "ccx-workers"  /* consumer group of the workers on ccx:jobs */

/* Leases: which worker may run a stream entry, until when, under which fencing token. */
#define KEY_LEASES "ccx:leases"          /* zset: entry id -> expiry, ms of Redis TIME */
#define KEY_LEASE_PREFIX "ccx:lease:"    /* hash per entry: token attempt state history ... */
#define KEY_TOKEN "ccx:token"            /* counter: fencing tokens, only ever INCR'd */

/* Jobs given up on (out of attempts, or quarantined as poison), and the fleet's counters. */
#define KEY_DEAD "ccx:dead"              /* stream: one entry per job given up on */
#define KEY_STATS "ccx:stats"            /* hash: retries dead_letters ... zombies_killed */

/* Fair shares (docs/FAIRNESS.md): the intake moves entries from the group to a ready list
 * per tenant, and workers claim from the tenant whose turn it is. */
#define KEY_TENANT_QUEUE_PREFIX "ccx:tq:" /* list per tenant: entry ids ready, oldest first */
#define KEY_TENANT_PREFIX "ccx:tenant:"   /* hash per tenant: queued queued_bytes running
                                           * pass tokens tokens_at, and its quotas */
#define KEY_FAIR "ccx:fair"               /* zset: tenant with jobs ready -> stride pass */
#define KEY_FAIR_VTIME "ccx:fair:vtime"  /* string: the pass of the last claim, the fleet's
                                          * virtual time, where returning tenants start */
#define KEY_WAKE "ccx:wake"               /* list: wake tokens for idle workers (BLPOP) */
#define KEY_INTAKE_CONSUMER "intake"      /* the intake's consumer: intake:<host>:<pid> */

/* Circuit breakers (docs/BREAKERS.md). worker/breaker.lua builds these names itself (a unit
 * test holds it to them): ccx:breaker:tenant:<t>, ccx:breaker:host:<h> (hashes),
 * ccx:breaker:window:<scope>:<name> (lists), ccx:breaker:tenants and ccx:breaker:hosts. */
#define KEY_BREAKER_PREFIX "ccx:breaker:"
#define KEY_HOSTS "ccx:hosts"            /* zset: host -> last seen, ms; the live hosts */

/* Live state (docs/OPERATIONS.md, State in Redis), written by each supervisor every beat. */
#define KEY_HOST_PREFIX "ccx:host:"         /* hash per host: version pid ... policy_version */
#define KEY_WORKERS_PREFIX "ccx:workers:"   /* hash per host: slot -> JSON of its worker */
#define KEY_FINISHED "ccx:finished"         /* hash: status -> finished jobs, fleet-wide */
#define KEY_FINISHED_TENANT_PREFIX "ccx:finished:tenant:" /* the same per tenant */
#define KEY_FINISHED_TENANTS "ccx:finished:tenants" /* zset: tenant -> last finish, ms */
#define KEY_HIST_QUEUE_WAIT "ccx:hist:queue_wait"   /* hash: le_<ms>... sum_ms count */
#define KEY_HIST_RUN "ccx:hist:run"
#define KEY_PER_TENANT_INFIX ":tenant:"    /* ccx:finished:tenant:<t>, ccx:hist:run:tenant:<t> */

#endif
