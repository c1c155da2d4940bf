/* The result of a job and the security events the sandbox saw: the structs the worker fills
 * and their msgpack encoding (docs/PROTOCOL.md). */
#ifndef CCX_COMMON_RESULT_H
#define CCX_COMMON_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* What happened to a job: a fixed set, documented in docs/PROTOCOL.md. Order is the wire
 * name table's order. */
enum job_status {
    JOB_STATUS_OK,
    JOB_STATUS_ERROR_EXIT,
    JOB_STATUS_SIGNALED,
    JOB_STATUS_TIMEOUT,
    JOB_STATUS_CPU_LIMIT,
    JOB_STATUS_MEMORY_LIMIT,
    JOB_STATUS_PIDS_LIMIT,
    JOB_STATUS_OUTPUT_LIMIT,
    JOB_STATUS_POLICY_VIOLATION,
    JOB_STATUS_COMPILE_ERROR,
    JOB_STATUS_REJECTED,
    JOB_STATUS_INTERNAL_ERROR,
    JOB_STATUS_DEAD_LETTER,
    JOB_STATUS_CANCELLED,
    JOB_STATUS_EXPIRED,
    JOB_STATUS_CIRCUIT_OPEN, /* refused while its tenant's breaker was open: never ran */
    JOB_STATUS_COUNT,
};

/* "ok", "error_exit", ...; NULL for a value out of range. */
const char *job_status_name(enum job_status status);

/* The status whose name is name, or -EINVAL. */
int job_status_parse(const char *name);

/* One thing the sandbox stopped or a limit that was hit. kind is a fixed snake_case token
 * (memory_limit, pids_limit, timeout, cpu_limit, output_limit, seccomp_kill, ...); detail is
 * a short key=value text. */
struct sandbox_event {
    char *kind;
    char *detail;
};

struct event_list {
    struct sandbox_event *items;
    size_t count;
    size_t capacity;
};

/* Appends a copy of kind and of the formatted detail. Returns 0 or -ENOMEM. */
int event_list_add(struct event_list *list, const char *kind, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
void event_list_clear(struct event_list *list);

/* How a limit or isolation was enforced, for the result's `enforced` map: a result never
 * claims an isolation it did not have. ("memory" -> "cgroup_v1 memory.limit_in_bytes ...") */
struct enforcement {
    char *what;
    char *how;
};

struct enforcement_list {
    struct enforcement *items;
    size_t count;
    size_t capacity;
};

/* Adds or replaces `what`. Returns 0 or -ENOMEM. */
int enforcement_list_set(struct enforcement_list *list, const char *what, const char *how_fmt,
                         ...) __attribute__((format(printf, 3, 4)));
void enforcement_list_clear(struct enforcement_list *list);

/* One sandboxed step (the compile step or the run). */
struct step_outcome {
    enum job_status status;
    int exit_code;           /* -1 when the process did not exit by itself */
    int signal;              /* the signal that ended it, 0 if none */
    uint8_t *stdout_data;    /* the first output_bytes of the stream */
    size_t stdout_size;
    uint64_t stdout_dropped; /* bytes read past the cap and thrown away */
    uint8_t *stderr_data;
    size_t stderr_size;
    uint64_t stderr_dropped;
    uint64_t wall_ms;
    uint64_t cpu_ms;
    uint64_t memory_peak_kb;
};

void step_outcome_clear(struct step_outcome *outcome);

struct result {
    char *id;
    enum job_status status;
    char *reason;            /* why, for rejected, internal_error and dead_letter; else NULL */
    char *language;
    char *tenant;
    struct step_outcome run;
    bool has_compile;
    struct step_outcome compile;
    struct event_list events;
    struct enforcement_list enforced;
    char *host;
    int worker;
    uint32_t attempt;
    char *policy_version;    /* the version of the tenant policy that decided the job */
    const uint8_t *meta;     /* borrowed from the job: raw msgpack, or NULL */
    size_t meta_size;
};

/* Frees what the result owns (not meta) and zeroes it. */
void result_clear(struct result *result);

/* Encodes result as the msgpack map of docs/PROTOCOL.md into out (appended). Returns 0 or
 * -ENOMEM. */
int result_encode(const struct result *result, msgpack_sbuffer *out);

/* Encodes one security event as the msgpack map of docs/PROTOCOL.md (ts in ms since the
 * epoch). Returns 0 or -ENOMEM. */
int event_encode(const struct sandbox_event *event, const char *job_id, const char *tenant,
                 const char *host, int worker, uint64_t ts_ms, msgpack_sbuffer *out);

#endif
