/* The exposition format 0.0.4: one # HELP and # TYPE per family, counters ending _total,
 * seconds as the unit of the histograms (our buckets are ms: le is written divided by
 * 1000, and cumulative, as Prometheus wants, where ours are not). */
#include "supervisor/metrics.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#define METRICS_ADDR_SIZE 128

struct metrics {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    struct metrics_snapshot snapshot; /* under lock */
    char *version;
};

/* A growing text buffer; a failed append leaves failed set and the text as it was. */
struct metrics_text {
    char *data;
    size_t size;
    size_t capacity;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void metrics_printf(struct metrics_text *text,
                                                                const char *format, ...)
{
    va_list ap;
    int n;

    if (text->failed)
        return;
    for (;;) {
        size_t room = text->capacity - text->size;

        va_start(ap, format);
        n = vsnprintf(text->data ? text->data + text->size : NULL, room, format, ap);
        va_end(ap);
        if (n < 0) {
            text->failed = true;
            return;
        }
        if ((size_t)n < room) {
            text->size += (size_t)n;
            return;
        }

        size_t capacity = text->capacity ? text->capacity * 2 : 4096;
        while (capacity - text->size <= (size_t)n)
            capacity *= 2;
        char *grown = realloc(text->data, capacity);
        if (!grown) {
            text->failed = true;
            return;
        }
        text->data = grown;
        text->capacity = capacity;
    }
}

static void metrics_family(struct metrics_text *text, const char *name, const char *type,
                           const char *help)
{
    metrics_printf(text, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metrics_histogram(struct metrics_text *text, const char *name, const char *help,
                              const struct stats_hist *hist)
{
    uint64_t cumulative = 0;

    metrics_family(text, name, "histogram", help);
    for (size_t i = 0; i < STATS_BOUND_COUNT; i++) {
        cumulative += hist->buckets[i];
        metrics_printf(text, "%s_bucket{le=\"%g\"} %llu\n", name,
                       (double)stats_bucket_le_ms[i] / 1000.0, (unsigned long long)cumulative);
    }
    metrics_printf(text, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                   (unsigned long long)hist->count);
    metrics_printf(text, "%s_sum %.3f\n", name, (double)hist->sum_ms / 1000.0);
    metrics_printf(text, "%s_count %llu\n", name, (unsigned long long)hist->count);
}

char *metrics_render(const struct metrics_snapshot *snapshot, const char *version)
{
    struct metrics_text text = { 0 };

    metrics_family(&text, "ccx_build_info", "gauge", "The ccx version this supervisor runs.");
    metrics_printf(&text, "ccx_build_info{version=\"%s\"} 1\n", version);
    metrics_family(&text, "ccx_start_time_seconds", "gauge",
                   "When this supervisor started, seconds since the epoch.");
    metrics_printf(&text, "ccx_start_time_seconds %.3f\n", snapshot->started_at_s);

    metrics_family(&text, "ccx_jobs_finished_total", "counter",
                   "Jobs whose final result this host's workers stored, by status.");
    for (int i = 0; i < JOB_STATUS_COUNT; i++)
        metrics_printf(&text, "ccx_jobs_finished_total{status=\"%s\"} %llu\n",
                       job_status_name((enum job_status)i),
                       (unsigned long long)snapshot->totals.finished[i]);

    metrics_histogram(&text, "ccx_job_queue_wait_seconds",
                      "From XADD to the claim of the run that answered the job.",
                      &snapshot->totals.queue_wait);
    metrics_histogram(&text, "ccx_job_run_seconds", "Wall time of the job's run step.",
                      &snapshot->totals.run);

    metrics_family(&text, "ccx_workers", "gauge", "Worker slots of this host, by state.");
    for (int i = 0; i < POOL_STATE_COUNT; i++)
        metrics_printf(&text, "ccx_workers{state=\"%s\"} %llu\n",
                       pool_state_name((enum pool_state)i),
                       (unsigned long long)snapshot->workers[i]);

    metrics_family(&text, "ccx_worker_restarts_total", "counter",
                   "Workers started again after one died.");
    metrics_printf(&text, "ccx_worker_restarts_total %llu\n",
                   (unsigned long long)snapshot->worker_restarts);
    metrics_family(&text, "ccx_leases_held", "gauge", "Job leases this host's workers hold.");
    metrics_printf(&text, "ccx_leases_held %llu\n", (unsigned long long)snapshot->leases_held);
    metrics_family(&text, "ccx_heartbeat_failures_total", "counter",
                   "Beats whose live state Redis did not take.");
    metrics_printf(&text, "ccx_heartbeat_failures_total %llu\n",
                   (unsigned long long)snapshot->heartbeat_failures);

    if (text.failed) {
        free(text.data);
        return NULL;
    }
    return text.data;
}

static enum MHD_Result metrics_answer(void *cls, struct MHD_Connection *connection,
                                      const char *url, const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    struct metrics *metrics = cls;
    struct metrics_snapshot snapshot;
    struct MHD_Response *response;
    unsigned int code = MHD_HTTP_OK;
    enum MHD_Result answer;
    char *body;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        body = strdup("only GET\n");
        code = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics") != 0) {
        body = strdup("not found: the metrics are at /metrics\n");
        code = MHD_HTTP_NOT_FOUND;
    } else {
        pthread_mutex_lock(&metrics->lock);
        snapshot = metrics->snapshot;
        pthread_mutex_unlock(&metrics->lock);
        body = metrics_render(&snapshot, metrics->version);
    }
    if (!body)
        return MHD_NO;

    response = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(response, "Content-Type",
                            code == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
                                                : "text/plain; charset=utf-8");
    answer = MHD_queue_response(connection, code, response);
    MHD_destroy_response(response);
    return answer;
}

/* "127.0.0.1:9464" or "[::1]:9464" into an address. Returns 0 or -EINVAL. */
static int metrics_parse_listen(const char *listen, struct sockaddr_storage *ret_addr)
{
    char host[METRICS_ADDR_SIZE];
    const char *colon = strrchr(listen, ':');
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *found = NULL;
    size_t host_len;

    if (!colon || colon == listen || colon[1] == '\0')
        return -EINVAL;
    host_len = (size_t)(colon - listen);
    if (listen[0] == '[' && host_len >= 2 && listen[host_len - 1] == ']') {
        listen++;
        host_len -= 2;
    }
    if (host_len >= sizeof(host))
        return -EINVAL;
    memcpy(host, listen, host_len);
    host[host_len] = '\0';

    if (getaddrinfo(host, colon + 1, &hints, &found) != 0 || !found)
        return -EINVAL;
    memcpy(ret_addr, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    return 0;
}

int metrics_new(const char *listen, const char *version, struct metrics **ret_metrics)
{
    struct sockaddr_storage addr = { 0 };
    struct metrics *metrics;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    int r = metrics_parse_listen(listen, &addr);

    if (r < 0)
        return r;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;

    metrics = calloc(1, sizeof(*metrics));
    if (!metrics)
        return -ENOMEM;
    metrics->version = strdup(version);
    if (!metrics->version) {
        free(metrics);
        return -ENOMEM;
    }
    pthread_mutex_init(&metrics->lock, NULL);

    /* A few connections are plenty for scrapers, and bound what a client that opens many
     * can take; the timeout drops one that sends nothing. */
    errno = 0;
    metrics->daemon = MHD_start_daemon(flags, 0, NULL, NULL, metrics_answer, metrics,
                                       MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                       MHD_OPTION_CONNECTION_LIMIT, 8U,
                                       MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
    if (!metrics->daemon) {
        r = errno ? -errno : -EADDRNOTAVAIL;
        metrics_free(metrics);
        return r;
    }
    *ret_metrics = metrics;
    return 0;
}

void metrics_free(struct metrics *metrics)
{
    if (!metrics)
        return;
    if (metrics->daemon)
        MHD_stop_daemon(metrics->daemon);
    pthread_mutex_destroy(&metrics->lock);
    free(metrics->version);
    free(metrics);
}

void metrics_update(struct metrics *metrics, const struct metrics_snapshot *snapshot)
{
    if (!metrics)
        return;
    pthread_mutex_lock(&metrics->lock);
    metrics->snapshot = *snapshot;
    pthread_mutex_unlock(&metrics->lock);
}
