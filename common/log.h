/* Logging: one key=value line per event on stderr.
 *
 *   ts=2026-12-03T10:00:03.120Z level=warn comp=worker worker=1 job_id="9c1e" tenant="acme"
 *       event=cgroup_write_failed file=memory.max errno=16
 *
 * (one line in the log). `event` is a fixed snake_case token that tests and dashboards key
 * on. When JOURNAL_STREAM is set, ts= is left out and the line starts with the syslog
 * priority (<4> for warn) so that journald files it at the right level. The level is checked
 * before anything is formatted. Signal handlers must not log. */
#ifndef CCX_COMMON_LOG_H
#define CCX_COMMON_LOG_H

#include <stddef.h>

enum log_level {
    LOG_LEVEL_ERR = 3,
    LOG_LEVEL_WARN = 4,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7,
};

extern enum log_level log_max_level;

/* Sets the component name (comp=) and the worker slot (worker=; -1 leaves it out) for every
 * later line, and the most verbose level written. Reads CCX_LOG_LEVEL (err, warn, info,
 * debug) when it is set. */
void log_init(const char *component, int worker_slot, enum log_level max_level);

/* Parses "err", "warn", "info" or "debug"; returns the level or -EINVAL. */
int log_level_parse(const char *name);

/* Writes one line. job_id and tenant may be NULL; when given they are quoted and escaped
 * (they come from clients). fmt holds the line's other key=value pairs and may be NULL. */
void log_write(enum log_level level, const char *job_id, const char *tenant, const char *event,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Writes `value` into buf as a double-quoted, escaped string of at most 256 bytes of the
 * value (longer values are cut and end in ...), for client-supplied values in fmt.
 * Returns buf. buf must hold at least 2 * 256 + 8 bytes for the worst case. */
#define LOG_QUOTE_SIZE (2 * 256 + 8)
const char *log_quote(char buf[LOG_QUOTE_SIZE], const char *value);

#define log_at(level, event, ...)                                                                 \
    do {                                                                                          \
        if ((level) <= log_max_level)                                                             \
            log_write((level), NULL, NULL, (event), __VA_ARGS__);                                 \
    } while (0)

#define log_err(event, ...) log_at(LOG_LEVEL_ERR, event, __VA_ARGS__)
#define log_warn(event, ...) log_at(LOG_LEVEL_WARN, event, __VA_ARGS__)
#define log_info(event, ...) log_at(LOG_LEVEL_INFO, event, __VA_ARGS__)
#define log_debug(event, ...) log_at(LOG_LEVEL_DEBUG, event, __VA_ARGS__)

/* A line about one job: adds job_id= and tenant= from the struct job. */
#define log_job(job, level, event, ...)                                                           \
    do {                                                                                          \
        if ((level) <= log_max_level)                                                             \
            log_write((level), (job)->id, (job)->tenant, (event), __VA_ARGS__);                   \
    } while (0)

#endif
