/* A job as it comes off the wire: decoding and checking the msgpack map that clients put on
 * ccx:jobs (docs/PROTOCOL.md). */
#ifndef CCX_COMMON_JOB_H
#define CCX_COMMON_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "limits.h"
#include "policy.h"

struct job_file {
    char *path;      /* relative, checked: no "..", no leading "/", no NUL, no empty part */
    uint8_t *data;
    size_t size;
};

struct job {
    char *id;        /* the client's id, or the stream entry id when it gave none */
    char *entry_id;  /* the ccx:jobs stream entry id it came from */
    char *tenant;    /* "default" when absent */
    char *language;  /* NULL when absent or undecodable */
    struct job_file *files;
    size_t file_count;
    char *main;      /* path of the entry file among files */
    uint8_t *stdin_data;
    size_t stdin_size;
    char **args;     /* NULL-terminated */
    size_t arg_count;
    struct limits limits; /* defaults filled in, each checked against the ceiling */
    bool limits_set[LIMITS_FIELD_COUNT]; /* the fields the job's own `limits` gave, by the
                                          * order of limits_field_names */
    uint8_t *meta;   /* the client's `meta`, raw msgpack, echoed back untouched */
    size_t meta_size;
    uint32_t attempt; /* 1 for the first delivery */
    uint32_t max_attempts; /* the job's own, else the config's: runs before it is given up */
    uint64_t deadline_ms;  /* ms since the Unix epoch on Redis's clock; 0: none */

    /* Decided by job_apply_policy from the tenant's policy (before it: the config's). */
    char *policy_version;  /* the policy's version, for the result; NULL before */
    uint64_t tmp_mb;       /* size of /tmp and /dev/shm; 0: the config's */
    bool children;         /* may the program start processes (threads: always) */
    char *seccomp_profile; /* path of the tenant's seccomp profile; NULL: the config's */

    /* Set when the job must not run: a sentence for the client's result `reason`. */
    char *reject_reason;
};

/* Decodes one job message. Always produces a job when memory allows, so that every message
 * gets an answer: a message that is malformed, oversized, names an unknown language, carries
 * bad file paths or limits over the ceilings yields a job with reject_reason set and as much
 * of id, tenant and meta as could be read (id falls back to entry_id).
 * Returns 0 and *ret_job (free with job_free), or -ENOMEM. Does not log. */
int job_decode(const void *data, size_t size, const char *entry_id,
               const struct ccx_config *config, struct job **ret_job);

void job_free(struct job *job);

/* Applies the policy of the job's tenant (policy_tenant) to a decoded job: the tenant's
 * limit defaults replace those of the config for the limits the job did not set, a limit the
 * job set above the tenant's ceiling or a language the tenant may not use rejects it (the
 * reason names the limit, its value and the ceiling, or the language and those allowed),
 * and tmp_mb, children and seccomp_profile are the tenant's. Every job, rejected or not,
 * records policy->version; a job rejected already keeps its reason and its limits. The one
 * place that decides what a tenant's job may do: the worker and the intake both call it.
 * Returns 0 or -ENOMEM (the job is then unchanged but for what was set). Does not log. */
int job_apply_policy(struct job *job, const struct policy *policy);

/* The file holding the entry point (job->main), or NULL. */
const struct job_file *job_main_file(const struct job *job);

/* True when id is acceptable as a job id: 1 to 128 bytes of [A-Za-z0-9._:-]. */
bool job_id_valid(const char *id);

#endif
