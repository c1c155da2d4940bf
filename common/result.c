/* Results and security events: the lists the worker fills while a job runs, and their msgpack
 * encoding. Key names and types here are the public protocol; clients depend on them. */
#include "result.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const job_status_names[JOB_STATUS_COUNT] = {
    [JOB_STATUS_OK] = "ok",
    [JOB_STATUS_ERROR_EXIT] = "error_exit",
    [JOB_STATUS_SIGNALED] = "signaled",
    [JOB_STATUS_TIMEOUT] = "timeout",
    [JOB_STATUS_CPU_LIMIT] = "cpu_limit",
    [JOB_STATUS_MEMORY_LIMIT] = "memory_limit",
    [JOB_STATUS_PIDS_LIMIT] = "pids_limit",
    [JOB_STATUS_OUTPUT_LIMIT] = "output_limit",
    [JOB_STATUS_POLICY_VIOLATION] = "policy_violation",
    [JOB_STATUS_COMPILE_ERROR] = "compile_error",
    [JOB_STATUS_REJECTED] = "rejected",
    [JOB_STATUS_INTERNAL_ERROR] = "internal_error",
    [JOB_STATUS_DEAD_LETTER] = "dead_letter",
    [JOB_STATUS_CANCELLED] = "cancelled",
    [JOB_STATUS_EXPIRED] = "expired",
    [JOB_STATUS_CIRCUIT_OPEN] = "circuit_open",
};

const char *job_status_name(enum job_status status)
{
    if ((int)status < 0 || status >= JOB_STATUS_COUNT)
        return NULL;
    return job_status_names[status];
}

int job_status_parse(const char *name)
{
    if (!name)
        return -EINVAL;

    for (int i = 0; i < JOB_STATUS_COUNT; i++) {
        if (strcmp(name, job_status_names[i]) == 0)
            return i;
    }
    return -EINVAL;
}

/* ==== Lists ==== */

/* Makes room for one more item of item_size bytes. Returns 0 or -ENOMEM. */
static int list_grow(void **items, size_t *capacity, size_t count, size_t item_size)
{
    size_t wanted;
    void *grown;

    if (count < *capacity)
        return 0;

    wanted = *capacity ? *capacity * 2 : 8;
    grown = reallocarray(*items, wanted, item_size);
    if (!grown)
        return -ENOMEM;

    *items = grown;
    *capacity = wanted;
    return 0;
}

/* The formatted text, or "" for a NULL format. Returns NULL only when memory runs out. */
static char *format_text(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *format_text(const char *fmt, va_list ap)
{
    char *text = NULL;

    if (!fmt)
        return strdup("");
    if (vasprintf(&text, fmt, ap) < 0)
        return NULL;
    return text;
}

int event_list_add(struct event_list *list, const char *kind, const char *detail_fmt, ...)
{
    struct sandbox_event *event;
    va_list ap;
    char *detail = NULL;
    char *kind_copy;
    int r;

    r = list_grow((void **)&list->items, &list->capacity, list->count, sizeof(*list->items));
    if (r < 0)
        return r;

    kind_copy = strdup(kind);
    if (!kind_copy)
        return -ENOMEM;

    va_start(ap, detail_fmt);
    detail = format_text(detail_fmt, ap);
    va_end(ap);
    if (!detail) {
        free(kind_copy);
        return -ENOMEM;
    }

    event = &list->items[list->count++];
    event->kind = kind_copy;
    event->detail = detail;
    return 0;
}

void event_list_clear(struct event_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].kind);
        free(list->items[i].detail);
    }
    free(list->items);
    *list = (struct event_list){ 0 };
}

int enforcement_list_set(struct enforcement_list *list, const char *what, const char *how_fmt,
                         ...)
{
    struct enforcement *slot = NULL;
    char *how = NULL;
    va_list ap;
    int r;

    va_start(ap, how_fmt);
    how = format_text(how_fmt, ap);
    va_end(ap);
    if (!how)
        return -ENOMEM;

    for (size_t i = 0; i < list->count; i++) {
        if (strcmp(list->items[i].what, what) == 0)
            slot = &list->items[i];
    }
    if (slot) {
        free(slot->how);
        slot->how = how;
        return 0;
    }

    r = list_grow((void **)&list->items, &list->capacity, list->count, sizeof(*list->items));
    if (r < 0) {
        free(how);
        return r;
    }

    slot = &list->items[list->count];
    slot->what = strdup(what);
    if (!slot->what) {
        free(how);
        return -ENOMEM;
    }
    slot->how = how;
    list->count++;
    return 0;
}

void enforcement_list_clear(struct enforcement_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].what);
        free(list->items[i].how);
    }
    free(list->items);
    *list = (struct enforcement_list){ 0 };
}

/* Leaves the outcome of a step that has not run: no output, and exit_code -1 rather than a
 * misleading 0. */
void step_outcome_clear(struct step_outcome *outcome)
{
    free(outcome->stdout_data);
    free(outcome->stderr_data);
    *outcome = (struct step_outcome){ .exit_code = -1 };
}

void result_clear(struct result *result)
{
    free(result->id);
    free(result->reason);
    free(result->language);
    free(result->tenant);
    free(result->host);
    free(result->policy_version);
    step_outcome_clear(&result->run);
    step_outcome_clear(&result->compile);
    event_list_clear(&result->events);
    enforcement_list_clear(&result->enforced);
    *result = (struct result){ 0 };
}

/* ==== Encoding ==== */

/* Every pack call below goes through these, which fold failures into one flag: the only way
 * packing into an sbuffer fails is running out of memory. */
struct encoder {
    msgpack_packer packer;
    msgpack_sbuffer *out;
    bool failed;
};

static void enc_check(struct encoder *enc, int r)
{
    if (r < 0)
        enc->failed = true;
}

static void enc_str(struct encoder *enc, const char *text)
{
    size_t len;

    if (!text) {
        enc_check(enc, msgpack_pack_nil(&enc->packer));
        return;
    }

    len = strlen(text);
    enc_check(enc, msgpack_pack_str(&enc->packer, len));
    enc_check(enc, msgpack_pack_str_body(&enc->packer, text, len));
}

static void enc_bin(struct encoder *enc, const uint8_t *data, size_t size)
{
    enc_check(enc, msgpack_pack_bin(&enc->packer, size));
    if (size > 0)
        enc_check(enc, msgpack_pack_bin_body(&enc->packer, data, size));
}

static void enc_u64(struct encoder *enc, uint64_t value)
{
    enc_check(enc, msgpack_pack_uint64(&enc->packer, value));
}

static void enc_int(struct encoder *enc, int64_t value)
{
    enc_check(enc, msgpack_pack_int64(&enc->packer, value));
}

static void enc_nil(struct encoder *enc)
{
    enc_check(enc, msgpack_pack_nil(&enc->packer));
}

static void enc_map(struct encoder *enc, size_t count)
{
    enc_check(enc, msgpack_pack_map(&enc->packer, count));
}

static void enc_array(struct encoder *enc, size_t count)
{
    enc_check(enc, msgpack_pack_array(&enc->packer, count));
}

static void enc_init(struct encoder *enc, msgpack_sbuffer *out)
{
    msgpack_packer_init(&enc->packer, out, msgpack_sbuffer_write);
    enc->out = out;
    enc->failed = false;
}

/* "SIGKILL" for 9; NULL for 0 or a number with no name. */
static const char *signal_name(int signal_number, char buf[32])
{
    const char *abbrev;

    if (signal_number <= 0)
        return NULL;

    abbrev = sigabbrev_np(signal_number);
    if (abbrev) {
        snprintf(buf, 32, "SIG%s", abbrev);
        return buf;
    }
    if (signal_number >= SIGRTMIN && signal_number <= SIGRTMAX) {
        snprintf(buf, 32, "SIGRTMIN+%d", signal_number - SIGRTMIN);
        return buf;
    }
    return NULL;
}

/* The fields a step shares with the result: exit_code, signal (and signal_name for the run),
 * then the streams and the usage. */
static void enc_step_fields(struct encoder *enc, const struct step_outcome *step,
                            bool with_signal_name)
{
    char signame[32];

    enc_str(enc, "exit_code");
    if (step->exit_code < 0)
        enc_nil(enc);
    else
        enc_int(enc, step->exit_code);

    enc_str(enc, "signal");
    if (step->signal == 0)
        enc_nil(enc);
    else
        enc_int(enc, step->signal);
    if (with_signal_name) {
        enc_str(enc, "signal_name");
        enc_str(enc, signal_name(step->signal, signame));
    }

    enc_str(enc, "stdout");
    enc_bin(enc, step->stdout_data, step->stdout_size);
    enc_str(enc, "stderr");
    enc_bin(enc, step->stderr_data, step->stderr_size);
    enc_str(enc, "stdout_dropped");
    enc_u64(enc, step->stdout_dropped);
    enc_str(enc, "stderr_dropped");
    enc_u64(enc, step->stderr_dropped);

    enc_str(enc, "wall_ms");
    enc_u64(enc, step->wall_ms);
    enc_str(enc, "cpu_ms");
    enc_u64(enc, step->cpu_ms);
    enc_str(enc, "memory_peak_kb");
    enc_u64(enc, step->memory_peak_kb);
}

/* Nine keys from enc_step_fields, plus status. */
#define COMPILE_MAP_SIZE 10

static void enc_compile(struct encoder *enc, const struct step_outcome *step)
{
    enc_map(enc, COMPILE_MAP_SIZE);
    enc_str(enc, "status");
    enc_str(enc, job_status_name(step->status));
    enc_step_fields(enc, step, false);
}

static void enc_events(struct encoder *enc, const struct event_list *events)
{
    enc_array(enc, events->count);
    for (size_t i = 0; i < events->count; i++) {
        enc_map(enc, 2);
        enc_str(enc, "kind");
        enc_str(enc, events->items[i].kind);
        enc_str(enc, "detail");
        enc_str(enc, events->items[i].detail);
    }
}

static void enc_enforced(struct encoder *enc, const struct enforcement_list *enforced)
{
    enc_map(enc, enforced->count);
    for (size_t i = 0; i < enforced->count; i++) {
        enc_str(enc, enforced->items[i].what);
        enc_str(enc, enforced->items[i].how);
    }
}

/* id, status, reason, language, tenant, the nine step fields, signal_name, compile, events,
 * enforced, host, worker, attempt, policy_version, meta. */
#define RESULT_MAP_SIZE 23

int result_encode(const struct result *result, msgpack_sbuffer *out)
{
    struct encoder enc;

    enc_init(&enc, out);
    enc_map(&enc, RESULT_MAP_SIZE);

    enc_str(&enc, "id");
    enc_str(&enc, result->id);
    enc_str(&enc, "status");
    enc_str(&enc, job_status_name(result->status));
    enc_str(&enc, "reason");
    enc_str(&enc, result->reason);
    enc_str(&enc, "language");
    enc_str(&enc, result->language);
    enc_str(&enc, "tenant");
    enc_str(&enc, result->tenant);

    enc_step_fields(&enc, &result->run, true);

    enc_str(&enc, "compile");
    if (result->has_compile)
        enc_compile(&enc, &result->compile);
    else
        enc_nil(&enc);

    enc_str(&enc, "events");
    enc_events(&enc, &result->events);
    enc_str(&enc, "enforced");
    enc_enforced(&enc, &result->enforced);

    enc_str(&enc, "host");
    enc_str(&enc, result->host);
    enc_str(&enc, "worker");
    enc_int(&enc, result->worker);
    enc_str(&enc, "attempt");
    enc_u64(&enc, result->attempt);
    enc_str(&enc, "policy_version");
    enc_str(&enc, result->policy_version);

    /* meta is one msgpack value already (re-encoded by the job decoder): its bytes go in
     * as they are, so the client gets back exactly what it sent. */
    enc_str(&enc, "meta");
    if (result->meta && result->meta_size > 0)
        enc_check(&enc, msgpack_sbuffer_write(out, (const char *)result->meta,
                                              result->meta_size));
    else
        enc_nil(&enc);

    return enc.failed ? -ENOMEM : 0;
}

int event_encode(const struct sandbox_event *event, const char *job_id, const char *tenant,
                 const char *host, int worker, uint64_t ts_ms, msgpack_sbuffer *out)
{
    struct encoder enc;

    enc_init(&enc, out);
    enc_map(&enc, 7);

    enc_str(&enc, "ts");
    enc_u64(&enc, ts_ms);
    enc_str(&enc, "job_id");
    enc_str(&enc, job_id);
    enc_str(&enc, "tenant");
    enc_str(&enc, tenant);
    enc_str(&enc, "kind");
    enc_str(&enc, event->kind);
    enc_str(&enc, "detail");
    enc_str(&enc, event->detail);
    enc_str(&enc, "host");
    enc_str(&enc, host);
    enc_str(&enc, "worker");
    enc_int(&enc, worker);

    return enc.failed ? -ENOMEM : 0;
}
