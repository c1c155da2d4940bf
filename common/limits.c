/* The per-job limits by name, so that the config, the job decoder and the result can walk the
 * six fields in one loop instead of repeating them. */
#include "limits.h"

#include <stddef.h>

const char *const limits_field_names[LIMITS_FIELD_COUNT] = {
    "wall_ms", "cpu_ms", "memory_mb", "pids", "output_bytes", "disk_mb",
};

/* Kept in the order of limits_field_names. */
static const size_t limits_field_offsets[LIMITS_FIELD_COUNT] = {
    offsetof(struct limits, wall_ms),
    offsetof(struct limits, cpu_ms),
    offsetof(struct limits, memory_mb),
    offsetof(struct limits, pids),
    offsetof(struct limits, output_bytes),
    offsetof(struct limits, disk_mb),
};

/* Returns NULL for an index out of range. */
uint64_t *limits_field(struct limits *limits, int index)
{
    if (!limits || index < 0 || index >= LIMITS_FIELD_COUNT)
        return NULL;

    return (uint64_t *)((char *)limits + limits_field_offsets[index]);
}

/* Returns 0 for an index out of range. */
uint64_t limits_field_get(const struct limits *limits, int index)
{
    if (!limits || index < 0 || index >= LIMITS_FIELD_COUNT)
        return 0;

    return *(const uint64_t *)((const char *)limits + limits_field_offsets[index]);
}
