/* `ccx top`. Each refresh sends one pipeline: TIME, the queue's sizes, the fleet-wide
 * counters and histograms, the newest events (a bounded XREVRANGE), and one script that
 * reads what depends on names found in Redis (the live hosts and their workers, the newest
 * tenants, the breakers), each list bounded. Nothing scans a key's whole content but the
 * small hashes. Rates and percentiles come from the difference between the newest sample and
 * the oldest one of the last TOP_WINDOW_MS, so that they describe now, not all time; with
 * no job in that window the percentiles are all-time ones and say so. Every line is cut to
 * the terminal's width; --once prints one frame without escape codes. */
#include "clients/cli/top.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <msgpack.h>

#include "common/cleanup.h"
#include "common/keys.h"
#include "common/redis_conn.h"
#include "common/result.h"

#define TOP_EXIT_USAGE 2
#define TOP_EXIT_REDIS 3
#define TOP_CONNECT_TIMEOUT_MS 5000
#define TOP_WIDTH_DEFAULT 80
#define TOP_WIDTH_MIN 40
#define TOP_WIDTH_MAX 512
#define TOP_WINDOW_MS 60000       /* rates and percentiles over about this much */
#define TOP_SAMPLES 64
#define TOP_HOSTS_MAX "8"         /* hosts the script reads */
#define TOP_TENANTS_MAX "8"       /* tenants the script reads */
#define TOP_WORKERS_SHOWN 8       /* worker lines per host */
#define TOP_EVENTS_COUNT "5"
#define TOP_BUCKETS 16            /* as supervisor/stats.h writes them */

#define _cleanup_json_ __attribute__((cleanup(json_decrefp))) /* jansson's own helper */
#define TOP_LINE_MAX 1024

static const uint64_t top_bucket_le_ms[TOP_BUCKETS - 1] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
};

/* Reads what depends on names: {hosts, tenants, breakers}.
 *   ARGV[1] hosts at most   ARGV[2] tenants at most
 * hosts: {name, last seen ms, host hash, workers hash}, newest first; tenants: {name,
 * finished hash, run histogram, fair-share hash}, first those with jobs ready (ccx:fair,
 * whose turn comes first), then those that finished a job last; breakers: {scope,
 * name, state, until} of at most 100 names per scope (SSCAN's first page). pcall: a key of
 * another type shows as empty rather than failing the frame. */
static const char top_script[] =
    "local function hash(key)\n"
    "    local r = redis.pcall('HGETALL', key)\n"
    "    if r['err'] then return {} end\n"
    "    return r\n"
    "end\n"
    "local hosts, tenants, breakers = {}, {}, {}\n"
    "local h = redis.call('ZREVRANGE', 'ccx:hosts', 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')\n"
    "for i = 1, #h, 2 do\n"
    "    hosts[#hosts + 1] = {h[i], h[i + 1], hash('ccx:host:' .. h[i]),\n"
    "                         hash('ccx:workers:' .. h[i])}\n"
    "end\n"
    "local t, seen = {}, {}\n"
    "for _, key in ipairs({'ccx:fair', 'ccx:finished:tenants'}) do\n"
    "    local names = key == 'ccx:fair' and redis.call('ZRANGE', key, 0, tonumber(ARGV[2]) - 1)\n"
    "        or redis.call('ZREVRANGE', key, 0, tonumber(ARGV[2]) - 1)\n"
    "    for _, name in ipairs(names) do\n"
    "        if not seen[name] and #t < tonumber(ARGV[2]) then\n"
    "            seen[name] = true\n"
    "            t[#t + 1] = name\n"
    "        end\n"
    "    end\n"
    "end\n"
    "for _, name in ipairs(t) do\n"
    "    tenants[#tenants + 1] = {name, hash('ccx:finished:tenant:' .. name),\n"
    "                             hash('ccx:hist:run:tenant:' .. name),\n"
    "                             hash('ccx:tenant:' .. name)}\n"
    "end\n"
    "for _, scope in ipairs({'tenant', 'host'}) do\n"
    "    local page = redis.pcall('SSCAN', 'ccx:breaker:' .. scope .. 's', 0, 'COUNT', 100)\n"
    "    if not page['err'] then\n"
    "        for _, name in ipairs(page[2]) do\n"
    "            local key = 'ccx:breaker:' .. scope .. ':' .. name\n"
    "            local f = redis.pcall('HMGET', key, 'state', 'until')\n"
    "            if f['err'] then f = {} end\n"
    "            breakers[#breakers + 1] = {scope, name, f[1] or 'CLOSED', f[2] or ''}\n"
    "        end\n"
    "    end\n"
    "end\n"
    "return {hosts, tenants, breakers}\n";

struct top_options {
    const char *redis_url;
    double interval_s;
    bool once;
    int width;               /* 0: the terminal's, $COLUMNS, else 80 */
};

struct top_hist {
    uint64_t buckets[TOP_BUCKETS];
    uint64_t sum_ms;
    uint64_t count;
};

/* The counters at one refresh, for rates and windowed percentiles. */
struct top_sample {
    uint64_t redis_ms;
    uint64_t finished[JOB_STATUS_COUNT];
    uint64_t finished_total;
    struct top_hist queue_wait;
    struct top_hist run;
};

struct top {
    struct top_options options;
    redisContext *context;
    char sha[41];            /* of top_script, once Redis has it; "" before */
    struct top_sample samples[TOP_SAMPLES];
    size_t sample_count;     /* oldest first */
    int width;
    FILE *out;
};

/* The replies of one refresh, in the order top_send appends them. */
enum {
    TOP_R_TIME,
    TOP_R_XLEN,
    TOP_R_GROUPS,
    TOP_R_LEASES,
    TOP_R_DEAD,
    TOP_R_FINISHED,
    TOP_R_QUEUE_WAIT,
    TOP_R_RUN,
    TOP_R_EVENTS,
    TOP_R_SCRIPT,
    TOP_R_COUNT,
};

static const char top_usage[] =
    "usage: ccx top [--interval S] [--once] [--width N] [--redis URL]\n"
    "\n"
    "A live view of the fleet, from Redis only: the queue, jobs per second, p50 and p99 of\n"
    "queue wait and run time, the tenants, hosts and workers, the circuit breakers and the\n"
    "newest events. Rates and percentiles cover up to the last 60 s of refreshes.\n"
    "\n"
    "  --interval S  seconds between refreshes (default 2, 0.2 to 3600)\n"
    "  --once        print one frame without escape codes and exit; it takes two samples\n"
    "                one interval apart, so that rates show\n"
    "  --width N     cut lines at N columns (default: the terminal's, else $COLUMNS, else 80)\n"
    "  --redis URL   default: $CCX_REDIS_URL, else redis://127.0.0.1:6379\n"
    "\n"
    "The live view runs until interrupted (^C); a refresh that fails says so and the next\n"
    "connects again. Exit status: 0 done (--once), 2 usage error, 3 Redis failed.\n";

/* ---- Replies ---- */

static const redisReply *top_element(const redisReply *reply, size_t i)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY || i >= reply->elements)
        return NULL;
    return reply->element[i];
}

static const char *top_string(const redisReply *reply)
{
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS))
        return NULL;
    return reply->str;
}

static uint64_t top_integer(const redisReply *reply)
{
    if (reply && reply->type == REDIS_REPLY_INTEGER)
        return reply->integer > 0 ? (uint64_t)reply->integer : 0;
    if (top_string(reply))
        return strtoull(reply->str, NULL, 10);
    return 0;
}

/* The value of field in a flat field/value array (HGETALL, XINFO), or NULL. */
static const redisReply *top_field(const redisReply *hash, const char *field)
{
    if (!hash || hash->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < hash->elements; i += 2) {
        const char *name = top_string(hash->element[i]);

        if (name && strcmp(name, field) == 0)
            return hash->element[i + 1];
    }
    return NULL;
}

static const char *top_field_text(const redisReply *hash, const char *field, const char *none)
{
    const char *text = top_string(top_field(hash, field));

    return text ? text : none;
}

static void top_read_hist(const redisReply *hash, struct top_hist *ret_hist)
{
    char field[32];

    memset(ret_hist, 0, sizeof(*ret_hist));
    for (size_t i = 0; i < TOP_BUCKETS; i++) {
        if (i + 1 < TOP_BUCKETS)
            snprintf(field, sizeof(field), "le_%" PRIu64, top_bucket_le_ms[i]);
        else
            snprintf(field, sizeof(field), "le_inf");
        ret_hist->buckets[i] = top_integer(top_field(hash, field));
    }
    ret_hist->sum_ms = top_integer(top_field(hash, "sum_ms"));
    ret_hist->count = top_integer(top_field(hash, "count"));
}

/* ---- Numbers ---- */

/* The q-quantile (0..1) of a histogram, interpolated inside its bucket; -1 when empty, and
 * INFINITY when it falls in the open last bucket. */
static double top_quantile_ms(const struct top_hist *hist, double q)
{
    uint64_t total = 0, seen = 0;
    double rank;

    for (size_t i = 0; i < TOP_BUCKETS; i++)
        total += hist->buckets[i];
    if (total == 0)
        return -1.0;

    rank = q * (double)total;
    for (size_t i = 0; i < TOP_BUCKETS; i++) {
        double low = i == 0 ? 0.0 : (double)top_bucket_le_ms[i - 1];

        if ((double)(seen + hist->buckets[i]) < rank || hist->buckets[i] == 0) {
            seen += hist->buckets[i];
            continue;
        }
        if (i + 1 == TOP_BUCKETS)
            return INFINITY;
        return low + ((double)top_bucket_le_ms[i] - low) * (rank - (double)seen) /
                         (double)hist->buckets[i];
    }
    return INFINITY;
}

static void top_hist_diff(const struct top_hist *newer, const struct top_hist *older,
                          struct top_hist *ret_diff)
{
    for (size_t i = 0; i < TOP_BUCKETS; i++)
        ret_diff->buckets[i] = newer->buckets[i] >= older->buckets[i]
                                   ? newer->buckets[i] - older->buckets[i]
                                   : newer->buckets[i];
    ret_diff->count = newer->count >= older->count ? newer->count - older->count : newer->count;
    ret_diff->sum_ms = newer->sum_ms >= older->sum_ms ? newer->sum_ms - older->sum_ms : 0;
}

/* "850ms", "3.2s", "4m10s", "2h05m", "3d"; "-" for a negative value. */
static const char *top_duration(double ms, char *buf, size_t size)
{
    if (ms < 0)
        snprintf(buf, size, "-");
    else if (isinf(ms))
        snprintf(buf, size, ">600s");
    else if (ms < 1000)
        snprintf(buf, size, "%.0fms", ms);
    else if (ms < 60000)
        snprintf(buf, size, "%.1fs", ms / 1000);
    else if (ms < 3600000)
        snprintf(buf, size, "%dm%02ds", (int)(ms / 60000), (int)fmod(ms / 1000, 60));
    else if (ms < 86400000)
        snprintf(buf, size, "%dh%02dm", (int)(ms / 3600000), (int)fmod(ms / 60000, 60));
    else
        snprintf(buf, size, "%dd", (int)(ms / 86400000));
    return buf;
}

/* ---- Output ---- */

/* Prints one line, cut at the width, with anything but printable ASCII shown as '?': the
 * values come from Redis, where anyone with access could have written anything. */
__attribute__((format(printf, 2, 3))) static void top_line(struct top *top, const char *fmt,
                                                          ...)
{
    char line[TOP_LINE_MAX];
    va_list ap;
    size_t len;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    len = strlen(line);
    if (len > (size_t)top->width)
        len = (size_t)top->width;
    for (size_t i = 0; i < len; i++)
        if (line[i] < 0x20 || line[i] > 0x7e)
            line[i] = '?';
    while (len > 0 && line[len - 1] == ' ')
        len--;
    fprintf(top->out, "%.*s\n", (int)len, line);
}

static int top_terminal_width(const struct top_options *options)
{
    struct winsize size;
    const char *columns = getenv("COLUMNS");
    int width = options->width;

    if (width == 0 && isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0)
        width = size.ws_col;
    if (width == 0 && columns)
        width = atoi(columns);
    if (width <= 0)
        width = TOP_WIDTH_DEFAULT;
    if (width < TOP_WIDTH_MIN)
        width = TOP_WIDTH_MIN;
    return width > TOP_WIDTH_MAX ? TOP_WIDTH_MAX : width;
}

/* ---- Sections ---- */

static void top_print_queue(struct top *top, const redisReply *const *r)
{
    const redisReply *group = NULL, *lag;
    char lag_text[32] = "?";

    for (size_t i = 0; top_element(r[TOP_R_GROUPS], i); i++) {
        const redisReply *g = top_element(r[TOP_R_GROUPS], i);

        if (strcmp(top_field_text(g, "name", ""), KEY_WORKER_GROUP) == 0)
            group = g;
    }

    /* lag (Redis 7): entries the group has not read yet; nil when Redis cannot tell. */
    lag = top_field(group, "lag");
    if (lag && lag->type == REDIS_REPLY_INTEGER)
        snprintf(lag_text, sizeof(lag_text), "%lld", lag->integer);
    top_line(top, "QUEUE   %" PRIu64 " in ccx:jobs   not yet read %s   read, unacked %" PRIu64
             "   leased %" PRIu64 "   dead %" PRIu64, top_integer(r[TOP_R_XLEN]), lag_text,
             top_integer(top_field(group, "pending")), top_integer(r[TOP_R_LEASES]),
             top_integer(r[TOP_R_DEAD]));
}

/* The oldest sample within TOP_WINDOW_MS of the newest (the newest itself when alone). */
static const struct top_sample *top_window_start(const struct top *top)
{
    const struct top_sample *newest = &top->samples[top->sample_count - 1];

    for (size_t i = 0; i + 1 < top->sample_count; i++)
        if (newest->redis_ms - top->samples[i].redis_ms <= TOP_WINDOW_MS)
            return &top->samples[i];
    return newest;
}

static void top_print_rates(struct top *top)
{
    const struct top_sample *newest = &top->samples[top->sample_count - 1];
    const struct top_sample *oldest = top_window_start(top);
    double seconds = (double)(newest->redis_ms - oldest->redis_ms) / 1000.0;
    char text[TOP_LINE_MAX] = "", rate[32];
    size_t len = 0;

    if (seconds <= 0) {
        top_line(top, "RATE    - jobs/s (one sample so far)   finished %" PRIu64,
                 newest->finished_total);
        return;
    }

    for (int i = 0; i < JOB_STATUS_COUNT && len < sizeof(text) - 64; i++) {
        uint64_t diff = newest->finished[i] - oldest->finished[i];

        if (newest->finished[i] >= oldest->finished[i] && diff > 0)
            len += (size_t)snprintf(text + len, sizeof(text) - len, " %s %.1f",
                                    job_status_name((enum job_status)i),
                                    (double)diff / seconds);
    }
    snprintf(rate, sizeof(rate), "%.1f",
             (double)(newest->finished_total - oldest->finished_total) / seconds);
    top_line(top, "RATE    %s jobs/s over %.0fs%s%s   finished %" PRIu64, rate, seconds,
             len ? ":" : "", text, newest->finished_total);
}

static void top_print_latency(struct top *top)
{
    const struct top_sample *newest = &top->samples[top->sample_count - 1];
    const struct top_sample *oldest = top_window_start(top);
    struct top_hist wait, run;
    bool windowed;
    char a[16], b[16], c[16], d[16];

    top_hist_diff(&newest->queue_wait, &oldest->queue_wait, &wait);
    top_hist_diff(&newest->run, &oldest->run, &run);
    windowed = oldest != newest && run.count > 0;
    if (!windowed) {
        wait = newest->queue_wait;
        run = newest->run;
    }

    top_line(top, "LATENCY %s   queue wait p50 %s p99 %s   run p50 %s p99 %s",
             windowed ? "(window)" : "(all time)",
             top_duration(top_quantile_ms(&wait, 0.5), a, sizeof(a)),
             top_duration(top_quantile_ms(&wait, 0.99), b, sizeof(b)),
             top_duration(top_quantile_ms(&run, 0.5), c, sizeof(c)),
             top_duration(top_quantile_ms(&run, 0.99), d, sizeof(d)));
}

static void top_print_tenants(struct top *top, const redisReply *tenants)
{
    char p50[16], p99[16];

    if (!top_element(tenants, 0))
        return;
    top_line(top, "%s", "");
    top_line(top, "TENANT           finished         ok   failed   queued  running  run p50/p99");
    for (size_t i = 0; top_element(tenants, i); i++) {
        const redisReply *row = top_element(tenants, i);
        const redisReply *finished = top_element(row, 1);
        const redisReply *fair = top_element(row, 3);
        struct top_hist run;
        uint64_t total = 0, ok = top_integer(top_field(finished, "ok"));

        for (size_t j = 1; top_element(finished, j); j += 2)
            total += top_integer(top_element(finished, j));
        top_read_hist(top_element(row, 2), &run);
        top_line(top, "%-16.16s %8" PRIu64 " %10" PRIu64 " %8" PRIu64 " %8s %8s  %s/%s",
                 top_string(top_element(row, 0)) ?: "?", total, ok, total - ok,
                 top_field_text(fair, "queued", "-"), top_field_text(fair, "running", "-"),
                 top_duration(top_quantile_ms(&run, 0.5), p50, sizeof(p50)),
                 top_duration(top_quantile_ms(&run, 0.99), p99, sizeof(p99)));
    }
}

/* Orders the field/value pairs of a workers hash by slot number. */
static int top_slot_compare(const void *a, const void *b)
{
    const redisReply *const *left = a, *const *right = b;
    long x = top_string(left[0]) ? atol(left[0]->str) : -1;
    long y = top_string(right[0]) ? atol(right[0]->str) : -1;

    return (x > y) - (x < y);
}

static void top_print_workers(struct top *top, const redisReply *workers, uint64_t now_ms)
{
    size_t shown = 0, total = 0;
    char age[16];

    if (workers && workers->type == REDIS_REPLY_ARRAY && workers->elements % 2 == 0)
        qsort(workers->element, workers->elements / 2, 2 * sizeof(*workers->element),
              top_slot_compare);
    for (size_t i = 0; i + 1 < (workers ? workers->elements : 0); i += 2) {
        const char *slot = top_string(workers->element[i]);
        const char *text = top_string(workers->element[i + 1]);
        _cleanup_json_ json_t *value = text ? json_loads(text, 0, NULL) : NULL;
        const char *state = json_string_value(json_object_get(value, "state"));
        const char *job = json_string_value(json_object_get(value, "job_id"));
        const char *tenant = json_string_value(json_object_get(value, "tenant"));
        json_int_t since = json_integer_value(json_object_get(value, "since_ms"));

        total++;
        if (shown >= TOP_WORKERS_SHOWN)
            continue;
        shown++;
        top_line(top, "  %4s %-8s %6s  %-12.12s %s", slot ? slot : "?", state ? state : "?",
                 top_duration(since > 0 && (uint64_t)since <= now_ms ? (double)(now_ms -
                                  (uint64_t)since) : -1.0, age, sizeof(age)),
                 tenant ? tenant : "", job ? job : "");
    }
    if (total > shown)
        top_line(top, "  ... %zu more workers", total - shown);
}

static void top_print_hosts(struct top *top, const redisReply *hosts, uint64_t now_ms)
{
    char age[16];

    top_line(top, "%s", "");
    if (!top_element(hosts, 0)) {
        top_line(top, "HOSTS   none in ccx:hosts");
        return;
    }
    top_line(top, "HOSTS   slot state     since  tenant       job");
    for (size_t i = 0; top_element(hosts, i); i++) {
        const redisReply *row = top_element(hosts, i);
        const redisReply *info = top_element(row, 2);
        uint64_t seen_ms = top_integer(top_element(row, 1));

        top_line(top, "%s  %s/%s busy  load %s  cgroup %s  seccomp %s  seen %s ago%s",
                 top_string(top_element(row, 0)) ?: "?", top_field_text(info, "busy", "?"),
                 top_field_text(info, "workers", "?"), top_field_text(info, "load1", "?"),
                 top_field_text(info, "cgroup", "?"), top_field_text(info, "seccomp", "?"),
                 top_duration(seen_ms <= now_ms ? (double)(now_ms - seen_ms) : 0, age,
                              sizeof(age)),
                 info && info->elements ? "" : "  (no host hash: gone?)");
        top_print_workers(top, top_element(row, 3), now_ms);
    }
}

static void top_print_breakers(struct top *top, const redisReply *breakers, uint64_t now_ms)
{
    size_t closed = 0;
    bool header = false;
    char left[16];

    for (size_t i = 0; top_element(breakers, i); i++) {
        const redisReply *row = top_element(breakers, i);
        const char *state = top_string(top_element(row, 2)) ?: "?";
        uint64_t until_ms = top_integer(top_element(row, 3));

        if (strcmp(state, "CLOSED") == 0) {
            closed++;
            continue;
        }
        if (!header)
            top_line(top, "%s", "");
        header = true;
        top_line(top, "BREAKER %-6s %-24.24s %-9s %s",
                 top_string(top_element(row, 0)) ?: "?", top_string(top_element(row, 1)) ?: "?",
                 state, until_ms > now_ms ? top_duration((double)(until_ms - now_ms), left,
                                                         sizeof(left)) : "");
    }
    if (!header)
        top_line(top, "%s", "");
    top_line(top, "BREAKERS %zu closed%s", closed, header ? "" : ", none open");
}

/* The value of key in a msgpack map, or NULL. */
static const msgpack_object *top_map_get(const msgpack_object *map, const char *key)
{
    size_t len = strlen(key);

    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;

        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len &&
            memcmp(k->via.str.ptr, key, len) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static void top_map_text(const msgpack_object *map, const char *key, char *buf, size_t size)
{
    const msgpack_object *value = top_map_get(map, key);

    if (value && (value->type == MSGPACK_OBJECT_STR || value->type == MSGPACK_OBJECT_BIN))
        snprintf(buf, size, "%.*s", (int)value->via.str.size, value->via.str.ptr);
    else
        snprintf(buf, size, "-");
}

static void top_print_event(struct top *top, const redisReply *entry)
{
    const redisReply *data = top_field(top_element(entry, 1), KEY_EVENTS_FIELD);
    _cleanup_unpacked_ msgpack_unpacked unpacked;
    char kind[64], tenant[65], job[129], host[65], when[16] = "--:--:--";
    const msgpack_object *ts;
    struct tm tm;
    time_t seconds;

    msgpack_unpacked_init(&unpacked);
    if (!data || data->type != REDIS_REPLY_STRING ||
        msgpack_unpack_next(&unpacked, data->str, data->len, NULL) != MSGPACK_UNPACK_SUCCESS)
        return;

    top_map_text(&unpacked.data, "kind", kind, sizeof(kind));
    top_map_text(&unpacked.data, "tenant", tenant, sizeof(tenant));
    top_map_text(&unpacked.data, "job_id", job, sizeof(job));
    top_map_text(&unpacked.data, "host", host, sizeof(host));
    ts = top_map_get(&unpacked.data, "ts");
    if (ts && ts->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        seconds = (time_t)(ts->via.u64 / 1000);
        if (gmtime_r(&seconds, &tm))
            strftime(when, sizeof(when), "%H:%M:%S", &tm);
    }
    top_line(top, "  %s %-22.22s %-12.12s %-10.10s %s", when, kind, tenant, host, job);
}

static void top_print_events(struct top *top, const redisReply *events)
{
    top_line(top, "%s", "");
    if (!top_element(events, 0)) {
        top_line(top, "EVENTS  none in ccx:events");
        return;
    }
    top_line(top, "EVENTS  newest first (UTC)   tenant       host       job");
    for (size_t i = 0; top_element(events, i); i++)
        top_print_event(top, top_element(events, i));
}

/* ---- One refresh ---- */

static void top_append(struct top *top, int argc, const char **argv)
{
    redisAppendCommandArgv(top->context, argc, argv, NULL);
}

/* Appends the refresh's commands; with load, also SCRIPT LOAD, whose answer comes last. */
static void top_send(struct top *top, bool load)
{
    const char *time_argv[] = { "TIME" };
    const char *xlen[] = { "XLEN", KEY_JOBS };
    const char *groups[] = { "XINFO", "GROUPS", KEY_JOBS };
    const char *leases[] = { "ZCARD", KEY_LEASES };
    const char *dead[] = { "XLEN", KEY_DEAD };
    const char *finished[] = { "HGETALL", KEY_FINISHED };
    const char *wait[] = { "HGETALL", KEY_HIST_QUEUE_WAIT };
    const char *run[] = { "HGETALL", KEY_HIST_RUN };
    const char *events[] = { "XREVRANGE", KEY_EVENTS, "+", "-", "COUNT", TOP_EVENTS_COUNT };
    const char *eval[] = { "EVAL", top_script, "0", TOP_HOSTS_MAX, TOP_TENANTS_MAX };
    const char *evalsha[] = { "EVALSHA", top->sha, "0", TOP_HOSTS_MAX, TOP_TENANTS_MAX };
    const char *script_load[] = { "SCRIPT", "LOAD", top_script };

    top_append(top, 1, time_argv);
    top_append(top, 2, xlen);
    top_append(top, 3, groups);
    top_append(top, 2, leases);
    top_append(top, 2, dead);
    top_append(top, 2, finished);
    top_append(top, 2, wait);
    top_append(top, 2, run);
    top_append(top, 6, events);
    if (top->sha[0])
        top_append(top, 5, evalsha);
    else
        top_append(top, 5, eval);
    if (load)
        top_append(top, 3, script_load);
}

static void top_free_replies(redisReply **replies, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (replies[i])
            freeReplyObject(replies[i]);
}

/* Reads count replies. Returns 0, or -errno when the connection failed. */
static int top_receive(struct top *top, redisReply **replies, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (redisGetReply(top->context, (void **)&replies[i]) != REDIS_OK || !replies[i])
            return redis_error_to_errno(top->context);
    }
    return 0;
}

static void top_record_sample(struct top *top, const redisReply *const *r, uint64_t now_ms)
{
    struct top_sample *sample;

    /* Counters that went down were reset (a Redis that lost its data): the samples before
     * are no base for a difference any more. */
    if (top->sample_count > 0) {
        const struct top_sample *last = &top->samples[top->sample_count - 1];
        uint64_t finished = 0;

        for (int i = 0; i < JOB_STATUS_COUNT; i++)
            finished += top_integer(
                top_field(r[TOP_R_FINISHED], job_status_name((enum job_status)i)));
        if (finished < last->finished_total || now_ms < last->redis_ms ||
            top_integer(top_field(r[TOP_R_RUN], "count")) < last->run.count)
            top->sample_count = 0;
    }

    if (top->sample_count == TOP_SAMPLES) {
        memmove(&top->samples[0], &top->samples[1], (TOP_SAMPLES - 1) * sizeof(*sample));
        top->sample_count--;
    }
    sample = &top->samples[top->sample_count++];
    memset(sample, 0, sizeof(*sample));
    sample->redis_ms = now_ms;
    for (int i = 0; i < JOB_STATUS_COUNT; i++) {
        sample->finished[i] =
            top_integer(top_field(r[TOP_R_FINISHED], job_status_name((enum job_status)i)));
        sample->finished_total += sample->finished[i];
    }
    top_read_hist(r[TOP_R_QUEUE_WAIT], &sample->queue_wait);
    top_read_hist(r[TOP_R_RUN], &sample->run);
}

static void top_print_frame(struct top *top, const redisReply *const *r, uint64_t now_ms)
{
    const redisReply *script = r[TOP_R_SCRIPT];
    time_t seconds = (time_t)(now_ms / 1000);
    char when[32] = "";
    struct tm tm;

    if (gmtime_r(&seconds, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    top_line(top, "ccx top   %s (Redis clock)   every %gs", when, top->options.interval_s);
    top_line(top, "%s", "");
    top_print_queue(top, r);
    top_print_rates(top);
    top_print_latency(top);
    if (script && script->type == REDIS_REPLY_ERROR)
        top_line(top, "(hosts, tenants and breakers unread: %s)", script->str);
    top_print_tenants(top, top_element(script, 1));
    top_print_hosts(top, top_element(script, 0), now_ms);
    top_print_breakers(top, top_element(script, 2), now_ms);
    top_print_events(top, r[TOP_R_EVENTS]);
}

/* One refresh: sends, receives, records a sample and, with print, prints the frame.
 * Returns 0 or -errno. */
static int top_refresh(struct top *top, bool print)
{
    redisReply *replies[TOP_R_COUNT + 1] = { 0 };
    bool load = top->sha[0] == '\0';
    size_t count = TOP_R_COUNT + (load ? 1 : 0);
    const redisReply *time_reply;
    uint64_t now_ms;
    int r;

    top_send(top, load);
    r = top_receive(top, replies, count);
    if (r < 0) {
        top_free_replies(replies, count);
        return r;
    }

    if (load && top_string(replies[TOP_R_COUNT]))
        snprintf(top->sha, sizeof(top->sha), "%s", replies[TOP_R_COUNT]->str);
    /* A Redis that restarted forgot the script: the next refresh sends it whole again. */
    if (replies[TOP_R_SCRIPT]->type == REDIS_REPLY_ERROR &&
        strncmp(replies[TOP_R_SCRIPT]->str, "NOSCRIPT", 8) == 0)
        top->sha[0] = '\0';

    time_reply = replies[TOP_R_TIME];
    now_ms = top_integer(top_element(time_reply, 0)) * 1000 +
             top_integer(top_element(time_reply, 1)) / 1000;
    top_record_sample(top, (const redisReply *const *)replies, now_ms);
    if (print) {
        top->width = top_terminal_width(&top->options);
        top_print_frame(top, (const redisReply *const *)replies, now_ms);
    }
    top_free_replies(replies, count);
    return 0;
}

/* ---- The command ---- */

static int top_parse(int argc, char **argv, struct top_options *ret)
{
    static const struct option long_options[] = {
        { "interval", required_argument, NULL, 'i' },
        { "once", no_argument, NULL, '1' },
        { "width", required_argument, NULL, 'w' },
        { "redis", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char *end;
    int opt;

    *ret = (struct top_options){ .interval_s = 2.0 };
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case 'i':
            ret->interval_s = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(ret->interval_s >= 0.2) ||
                ret->interval_s > 3600) {
                fprintf(stderr, "ccx: --interval: expected seconds from 0.2 to 3600, got "
                                "'%s'\n", optarg);
                return -EINVAL;
            }
            break;
        case '1':
            ret->once = true;
            break;
        case 'w':
            ret->width = atoi(optarg);
            if (ret->width < TOP_WIDTH_MIN || ret->width > TOP_WIDTH_MAX) {
                fprintf(stderr, "ccx: --width: expected %d to %d columns, got '%s'\n",
                        TOP_WIDTH_MIN, TOP_WIDTH_MAX, optarg);
                return -EINVAL;
            }
            break;
        case 'r':
            ret->redis_url = optarg;
            break;
        case 'h':
            fputs(top_usage, stdout);
            exit(0);
        default:
            fputs("Try 'ccx top --help'.\n", stderr);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ccx: top: unexpected argument '%s' (try 'ccx top --help')\n",
                argv[optind]);
        return -EINVAL;
    }
    return 0;
}

static void top_sleep(double seconds)
{
    struct timespec pause = { .tv_sec = (time_t)seconds,
                              .tv_nsec = (long)(fmod(seconds, 1.0) * 1e9) };

    while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
        ;
}

/* Refreshes until interrupted. Each frame is made in memory first and then written with
 * one home-and-clear in front (plain ANSI), so the screen never shows half a frame. A
 * refresh that fails says so on screen and connects again at the next one: a dashboard
 * outlives a Redis restart. Returns only -ENOMEM; a signal ends it otherwise. */
static int top_live(struct top *top, const char *url)
{
    for (;;) {
        char *frame = NULL;
        size_t size = 0;
        int r;

        top->out = open_memstream(&frame, &size);
        if (!top->out)
            return -ENOMEM;
        if (!top->context)
            r = redis_connect(url, TOP_CONNECT_TIMEOUT_MS, &top->context);
        else
            r = 0;
        if (r >= 0)
            r = top_refresh(top, true);
        if (r < 0) {
            top->width = top_terminal_width(&top->options);
            top_line(top, "ccx top   Redis failed (%s); trying again in %gs", strerror(-r),
                     top->options.interval_s);
            if (top->context)
                redisFree(top->context);
            top->context = NULL;
            top->sha[0] = '\0';
        }
        fclose(top->out);
        top->out = NULL;

        fputs("\033[H\033[2J", stdout);
        fwrite(frame, 1, size, stdout);
        fflush(stdout);
        free(frame);
        top_sleep(top->options.interval_s);
    }
    return 0;
}

int top_main(int argc, char **argv)
{
    struct top top = { .out = stdout };
    const char *url;
    int r;

    if (top_parse(argc, argv, &top.options) < 0)
        return TOP_EXIT_USAGE;

    url = redis_url_choose(top.options.redis_url, NULL);
    r = redis_connect(url, TOP_CONNECT_TIMEOUT_MS, &top.context);
    if (r < 0) {
        fprintf(stderr, "ccx: top: cannot reach Redis: %s\n", strerror(-r));
        return TOP_EXIT_REDIS;
    }

    if (top.options.once) {
        r = top_refresh(&top, false);
        if (r >= 0) {
            top_sleep(top.options.interval_s);
            r = top_refresh(&top, true);
        }
    } else {
        r = top_live(&top, url);
    }

    if (top.context)
        redisFree(top.context);
    if (r < 0) {
        fprintf(stderr, "ccx: top: Redis failed: %s\n", strerror(-r));
        return TOP_EXIT_REDIS;
    }
    return 0;
}
