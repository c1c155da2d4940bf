/* The Prometheus text endpoint of one supervisor (--metrics-listen ADDR:PORT, GET /metrics).
 * libmicrohttpd serves it from a thread of its own, rendering a snapshot that the event
 * loop replaces under a mutex: a scrape never waits for the loop, which blocks on Redis for
 * up to a second at a beat, and a slow or stuck scraper never holds up the loop. */
#ifndef CCX_SUPERVISOR_METRICS_H
#define CCX_SUPERVISOR_METRICS_H

#include <stdint.h>

#include "supervisor/pool.h"
#include "supervisor/stats.h"

struct metrics;

/* What /metrics shows; copied whole by metrics_update. */
struct metrics_snapshot {
    struct stats_counts totals;            /* this host's, since start */
    uint64_t workers[POOL_STATE_COUNT];    /* slots in each state */
    uint64_t worker_restarts;
    uint64_t leases_held;
    uint64_t heartbeat_failures;
    double started_at_s;                   /* CLOCK_REALTIME */
};

/* Listens on listen ("127.0.0.1:9464", "[::1]:9464"; a numeric address). version is
 * copied. Returns 0 and *ret_metrics, -EINVAL for an address it cannot read, or -errno
 * when it cannot listen (-EADDRINUSE and the like, as far as libmicrohttpd says). */
int metrics_new(const char *listen, const char *version, struct metrics **ret_metrics);

/* Stops the server (waits for a scrape in progress) and frees it; NULL is a no-op. */
void metrics_free(struct metrics *metrics);

/* Replaces the snapshot that scrapes render. */
void metrics_update(struct metrics *metrics, const struct metrics_snapshot *snapshot);

/* The text for snapshot, in a new string (free it), or NULL without memory. For the
 * server, and for tests that check the format without a socket. */
char *metrics_render(const struct metrics_snapshot *snapshot, const char *version);

#endif
