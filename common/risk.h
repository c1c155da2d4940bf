/* Code risk analysis: a scanner per language (python, node, c, sh) that reads a job's source
 * the way its language does (comments and string literals are not code) and reports what it
 * finds risky: process spawning, raw sockets, file system probing, eval of fetched text,
 * obfuscated loaders, mining loops. Defence in depth, not the wall: the sandbox contains
 * what the scanner misses. The rules are listed in docs/RISK.md. */
#ifndef CCX_COMMON_RISK_H
#define CCX_COMMON_RISK_H

#include <stddef.h>
#include <stdint.h>

/* Ordered: a report's level is its highest finding's. */
enum risk_level {
    RISK_NONE,
    RISK_LOW,
    RISK_MEDIUM,
    RISK_HIGH,
    RISK_CRITICAL,
};

struct risk_finding {
    const char *rule;        /* a fixed snake_case token: "process_spawn", "raw_socket" ... */
    uint32_t line;           /* 1-based line of the source where it was found */
    enum risk_level severity;
};

struct risk_report {
    struct risk_finding *findings;
    size_t count;
    enum risk_level level;   /* RISK_NONE when there is no finding */
};

/* "none", "low", "medium", "high", "critical"; NULL for a value out of range. */
const char *risk_level_name(enum risk_level level);

/* The level called name, or -EINVAL. */
int risk_level_parse(const char *name);

/* Scans one source file written in language (a name of the config's language table; an
 * unknown language yields an empty report). denied_modules (NULL-terminated, or NULL) names
 * imports the tenant's policy forbids: each one found is a critical "denied_module" finding.
 * Appends to *report, and raises its level. Returns 0 or -ENOMEM. */
int risk_scan(const char *language, const uint8_t *source, size_t size,
              const char *const *denied_modules, struct risk_report *report);

/* Frees the findings and zeroes the report. */
void risk_report_clear(struct risk_report *report);

#endif
