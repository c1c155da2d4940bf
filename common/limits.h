/* The per-job resource limits, shared by the config (defaults and ceilings), the job decoder
 * and the sandbox. */
#ifndef CCX_COMMON_LIMITS_H
#define CCX_COMMON_LIMITS_H

#include <stdint.h>

struct limits {
    uint64_t wall_ms;      /* wall-clock time, enforced by the worker */
    uint64_t cpu_ms;       /* CPU time of the whole process tree, from the cgroup */
    uint64_t memory_mb;    /* memory plus swap, cgroup; tmpfs pages the job writes count */
    uint64_t pids;         /* processes and threads alive at once, cgroup */
    uint64_t output_bytes; /* per stream (stdout, stderr); past it the job is stopped */
    uint64_t disk_mb;      /* size of the workspace tmpfs */
};

/* The names of the fields above, in order, as they appear on the wire and in the config. */
#define LIMITS_FIELD_COUNT 6
extern const char *const limits_field_names[LIMITS_FIELD_COUNT];

/* Field i of a struct limits, by the order of limits_field_names. */
uint64_t *limits_field(struct limits *limits, int index);
uint64_t limits_field_get(const struct limits *limits, int index);

#endif
