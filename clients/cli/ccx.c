/* ccx: the command-line client. `ccx submit` puts one job on ccx:jobs and waits for its
 * result on ccx:reply:<id>; `ccx result` reads a stored result; `ccx cancel` cancels a job
 * that has not finished; `ccx breaker` lists and resets circuit breakers; `ccx events` prints
 * and follows ccx:events; `ccx top` shows the fleet live (clients/cli/top.c). Exit codes:
 * 0 the job's status is ok (cancel: the cancel took), 1 any other status, 2 usage, 3 Redis
 * failed or no result came in time, 4 no stored result (cancel: no such job in the queue, or
 * it finished already). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <msgpack.h>

#include "common/cleanup.h"
#include "common/job.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/msgpack_json.h"
#include "common/parse.h"
#include "common/redis_conn.h"

#include "breaker_lua.h"
#include "clients/cli/top.h"

enum {
    EXIT_STATUS_OK = 0,
    EXIT_STATUS_NOT_OK = 1,
    EXIT_USAGE = 2,
    EXIT_REDIS = 3,
    EXIT_NO_RESULT = 4,
};

#define CONNECT_TIMEOUT_MS 5000
#define DEFAULT_WAIT_S 600
#define WAIT_SLACK_S 30

/* Extra socket time past the BLPOP timeout, so that Redis answers the timeout before
 * hiredis gives up on the socket. */
#define SOCKET_SLACK_S 10

#define JOB_ID_BYTES 16

/* Index of wall_ms in limits_field_names: it sets the default wait. */
#define LIMIT_WALL_MS 0

/* Command-line names of the limits, in the order of limits_field_names (the wire names). */
static const char *const limit_option_names[LIMITS_FIELD_COUNT] = {
    "wall-ms", "cpu-ms", "memory-mb", "pids", "output-bytes", "disk-mb",
};

struct buffer {
    uint8_t *data;
    size_t size;
};

struct submit_options {
    const char *language;
    const char *source_path;
    const char *stdin_path;
    const char *tenant;
    const char *id;
    const char *redis_url;
    const char **args;
    size_t arg_count;
    uint64_t limits[LIMITS_FIELD_COUNT];
    bool limit_given[LIMITS_FIELD_COUNT];
    uint64_t timeout_s;
    bool json;
    bool no_wait;
};

static inline void buffer_freep(struct buffer *buffer)
{
    free(buffer->data);
}

/* Frees what the parser allocated: the argument list; the strings belong to argv. */
static inline void submit_options_freep(struct submit_options *opts)
{
    free(opts->args);
}

#define _cleanup_buffer_ __attribute__((cleanup(buffer_freep)))
#define _cleanup_submit_options_ __attribute__((cleanup(submit_options_freep)))
#define _cleanup_json_ __attribute__((cleanup(json_decrefp))) /* jansson's own helper */

static const char main_usage[] =
    "usage: ccx COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  submit   run a program in the sandbox fleet and print its result\n"
    "  result   print the stored result of a job\n"
    "  cancel   cancel a job that has not finished\n"
    "  breaker  list the tenants' and hosts' circuit breakers, or reset one\n"
    "  events   print the events of ccx:events, or follow them\n"
    "  top      a live view of the queue, rates, latencies, hosts, workers and breakers\n"
    "  help     show this text\n"
    "\n"
    "Redis: --redis URL, else $CCX_REDIS_URL, else redis://127.0.0.1:6379.\n"
    "Run 'ccx COMMAND --help' for the options of a command.\n";

static const char submit_usage[] =
    "usage: ccx submit --lang L FILE [OPTIONS]\n"
    "\n"
    "Sends FILE as the program of a job in language L and waits for its result.\n"
    "FILE or --stdin FILE may be '-' for standard input.\n"
    "\n"
    "  --lang L            language, as named in the workers' config (python, c, ...)\n"
    "  --stdin FILE        standard input of the program\n"
    "  --arg A             an argument for the program; repeat for more\n"
    "  --tenant T          tenant the job is accounted to\n"
    "  --id ID             job id (default: 32 random hex digits)\n"
    "  --wall-ms N         wall-clock limit\n"
    "  --cpu-ms N          CPU time limit\n"
    "  --memory-mb N       memory limit\n"
    "  --pids N            processes and threads at once\n"
    "  --output-bytes N    cap of stdout and of stderr each\n"
    "  --disk-mb N         size of the workspace\n"
    "  --timeout-s N       how long to wait for the result (default: the wall limit, else\n"
    "                      600 s, plus 30 s)\n"
    "  --no-wait           print the job id and return without waiting\n"
    "  --json              print the result as one JSON line\n"
    "  --redis URL         Redis to use\n"
    "\n"
    "Exit status: 0 when the job's status is ok, 1 for any other status, 2 for a usage\n"
    "error, 3 when Redis fails or no result comes in time.\n";

static const char result_usage[] =
    "usage: ccx result ID [--json] [--redis URL]\n"
    "\n"
    "Prints the stored result of job ID. Exit status as for submit, and 4 when there is no\n"
    "result (unknown id, not finished, or expired).\n";

static const char cancel_usage[] =
    "usage: ccx cancel ID [--redis URL]\n"
    "\n"
    "Cancels job ID. A job still queued never runs; a running job is stopped within a\n"
    "lease renewal beat (lease_ms / 3) and answered with status cancelled, with the time\n"
    "it used. A job that finished keeps its result.\n"
    "\n"
    "Exit status: 0 when the job was cancelled (it was queued or running), 2 for a usage\n"
    "error, 3 when Redis fails, 4 when no such job is queued or running, or it finished\n"
    "already (its result stands).\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("ccx: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    return EXIT_USAGE;
}

/* The URL with its password replaced by ***, for messages. */
static const char *url_redacted(const char *url, char *buf, size_t size)
{
    const char *scheme_end = strstr(url, "://");
    const char *at = scheme_end ? strchr(scheme_end + 3, '@') : NULL;

    if (!at)
        snprintf(buf, size, "%s", url);
    else
        snprintf(buf, size, "%.*s***%s", (int)(scheme_end + 3 - url), url, at);
    return buf;
}

static int read_fd(int fd, struct buffer *ret)
{
    _cleanup_free_ uint8_t *data = NULL;
    size_t size = 0, capacity = 0;

    for (;;) {
        ssize_t n;

        if (size == capacity) {
            size_t grown = capacity ? capacity * 2 : 65536;
            uint8_t *bigger = realloc(data, grown);

            if (!bigger)
                return -ENOMEM;
            data = bigger;
            capacity = grown;
        }

        n = read(fd, data + size, capacity - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        size += (size_t)n;
    }

    ret->data = TAKE_PTR(data);
    ret->size = size;
    return 0;
}

/* Reads a whole file, or standard input for "-". */
static int read_file(const char *path, struct buffer *ret)
{
    _cleanup_close_ int fd = -1;
    struct stat st;

    if (!strcmp(path, "-"))
        return read_fd(STDIN_FILENO, ret);

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;

    return read_fd(fd, ret);
}

static int random_job_id(char out[2 * JOB_ID_BYTES + 1])
{
    uint8_t bytes[JOB_ID_BYTES];
    size_t got = 0;

    while (got < sizeof(bytes)) {
        ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        got += (size_t)n;
    }

    for (size_t i = 0; i < sizeof(bytes); i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    return 0;
}

/* Connects or explains why not on stderr. Returns 0 or EXIT_REDIS. */
static int connect_redis(const char *given_url, redisContext **ret_context)
{
    const char *url = redis_url_choose(given_url, NULL);
    struct redis_url parsed;
    char shown[512];
    int r;

    if (redis_url_parse(url, &parsed) < 0)
        return usage_error("not a Redis URL: %s (redis://[:password@]host[:port][/db], "
                           "unix:///path or redis-sentinel://host[:port][,...]/name)",
                           url_redacted(url, shown, sizeof(shown)));

    r = redis_connect(url, CONNECT_TIMEOUT_MS, ret_context);
    if (r < 0) {
        fprintf(stderr, "ccx: cannot reach Redis at %s: %s\n",
                url_redacted(url, shown, sizeof(shown)), strerror(-r));
        return EXIT_REDIS;
    }
    return 0;
}

/* Reports a failed command: no reply (the connection broke) or an error reply. Returns
 * EXIT_REDIS. */
static int redis_failure(const redisContext *context, const redisReply *reply, const char *what)
{
    if (!reply)
        fprintf(stderr, "ccx: Redis failed during %s: %s\n", what,
                context->errstr[0] ? context->errstr : strerror(-redis_error_to_errno(context)));
    else
        fprintf(stderr, "ccx: Redis refused %s: %.*s\n", what, (int)reply->len, reply->str);
    return EXIT_REDIS;
}

/* ---- Printing a result ---- */

static bool key_is(const msgpack_object *key, const char *name)
{
    size_t len = strlen(name);

    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == len &&
           !memcmp(key->via.str.ptr, name, len);
}

static const msgpack_object *map_get(const msgpack_object *map, const char *name)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;

    for (uint32_t i = 0; i < map->via.map.size; i++) {
        if (key_is(&map->via.map.ptr[i].key, name))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

/* The bytes of a str or bin value; false for anything else. */
static bool object_bytes(const msgpack_object *obj, const char **ret_ptr, size_t *ret_size)
{
    if (obj && obj->type == MSGPACK_OBJECT_STR) {
        *ret_ptr = obj->via.str.ptr;
        *ret_size = obj->via.str.size;
        return true;
    }
    if (obj && obj->type == MSGPACK_OBJECT_BIN) {
        *ret_ptr = obj->via.bin.ptr;
        *ret_size = obj->via.bin.size;
        return true;
    }
    return false;
}

static uint64_t object_u64(const msgpack_object *obj)
{
    return obj && obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? obj->via.u64 : 0;
}

static void print_scalar(FILE *out, const msgpack_object *obj)
{
    const char *ptr;
    size_t size;

    if (object_bytes(obj, &ptr, &size))
        fprintf(out, "%.*s", (int)size, ptr);
    else if (obj && obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        fprintf(out, "%llu", (unsigned long long)obj->via.u64);
    else if (obj && obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        fprintf(out, "%lld", (long long)obj->via.i64);
    else if (obj && obj->type == MSGPACK_OBJECT_BOOLEAN)
        fputs(obj->via.boolean ? "true" : "false", out);
    else
        fputs("-", out);
}

/* Writes a block of program output under a title line, ending it with a newline. */
static void print_block(const char *title, const msgpack_object *obj)
{
    const char *ptr;
    size_t size;

    if (!object_bytes(obj, &ptr, &size) || size == 0)
        return;

    printf("--- %s ---\n", title);
    fwrite(ptr, 1, size, stdout);
    if (ptr[size - 1] != '\n')
        fputs("\n", stdout);
}

/* The run step's fields sit at the top level of the result (docs/PROTOCOL.md); the signal is
 * shown by name (signal_name) when the worker sent one. */
static void print_summary(const msgpack_object *result)
{
    static const char *const fields[] = { "id", "status", "exit_code", "signal", "wall_ms",
                                          "cpu_ms", "memory_peak_kb" };
    const msgpack_object *signal_name = map_get(result, "signal_name");
    const msgpack_object *signal = map_get(result, "signal");
    const char *ptr;
    size_t len;

    if (signal && signal->type != MSGPACK_OBJECT_NIL && object_bytes(signal_name, &ptr, &len) &&
        len > 0)
        signal = signal_name;

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        printf(i == 0 ? "%s=" : " %s=", fields[i]);
        print_scalar(stdout, !strcmp(fields[i], "signal") ? signal : map_get(result, fields[i]));
    }
    fputs("\n", stdout);
}

static void print_compile(const msgpack_object *compile)
{
    if (!compile || compile->type != MSGPACK_OBJECT_MAP)
        return;

    fputs("compile: status=", stdout);
    print_scalar(stdout, map_get(compile, "status"));
    fputs(" exit_code=", stdout);
    print_scalar(stdout, map_get(compile, "exit_code"));
    fputs("\n", stdout);
    print_block("compile stderr", map_get(compile, "stderr"));
}

static void print_events(const msgpack_object *events)
{
    if (!events || events->type != MSGPACK_OBJECT_ARRAY || events->via.array.size == 0)
        return;

    fputs("events:\n", stdout);
    for (uint32_t i = 0; i < events->via.array.size; i++) {
        const msgpack_object *event = &events->via.array.ptr[i];

        fputs("  ", stdout);
        print_scalar(stdout, map_get(event, "kind"));
        fputs(": ", stdout);
        print_scalar(stdout, map_get(event, "detail"));
        fputs("\n", stdout);
    }
}

static void print_dropped(const msgpack_object *result)
{
    static const char *const streams[] = { "stdout", "stderr" };

    for (size_t i = 0; i < 2; i++) {
        char key[32];
        uint64_t dropped;

        snprintf(key, sizeof(key), "%s_dropped", streams[i]);
        dropped = object_u64(map_get(result, key));
        if (dropped > 0)
            printf("note: %llu bytes of %s were dropped past the output limit\n",
                   (unsigned long long)dropped, streams[i]);
    }
}

static void print_human(const msgpack_object *result)
{
    const msgpack_object *reason = map_get(result, "reason");

    print_summary(result);
    if (reason && reason->type != MSGPACK_OBJECT_NIL) {
        fputs("reason: ", stdout);
        print_scalar(stdout, reason);
        fputs("\n", stdout);
    }

    print_compile(map_get(result, "compile"));
    print_events(map_get(result, "events"));
    print_block("stdout", map_get(result, "stdout"));
    print_block("stderr", map_get(result, "stderr"));
    print_dropped(result);
}

static int print_json(const msgpack_object *result)
{
    _cleanup_json_ json_t *json = msgpack_to_json(result);
    _cleanup_free_ char *text = NULL;

    if (json)
        text = json_dumps(json, JSON_COMPACT);
    if (!text) {
        fputs("ccx: out of memory\n", stderr);
        return -ENOMEM;
    }

    puts(text);
    return 0;
}

/* Prints an encoded result and returns the exit status its job status calls for. */
static int print_result(const char *data, size_t size, bool json)
{
    _cleanup_unpacked_ msgpack_unpacked unpacked;
    const msgpack_object *status;
    const char *ptr;
    size_t len;

    msgpack_unpacked_init(&unpacked);
    if (msgpack_unpack_next(&unpacked, data, size, NULL) != MSGPACK_UNPACK_SUCCESS ||
        unpacked.data.type != MSGPACK_OBJECT_MAP) {
        fputs("ccx: the stored result is not a msgpack map\n", stderr);
        return EXIT_REDIS;
    }

    if (json && print_json(&unpacked.data) < 0)
        return EXIT_REDIS;
    if (!json)
        print_human(&unpacked.data);
    fflush(stdout);

    status = map_get(&unpacked.data, "status");
    if (object_bytes(status, &ptr, &len) && len == 2 && !memcmp(ptr, "ok", 2))
        return EXIT_STATUS_OK;
    return EXIT_STATUS_NOT_OK;
}

/* ---- ccx submit ---- */

enum {
    OPT_LANG = 256,
    OPT_STDIN,
    OPT_TENANT,
    OPT_ARG,
    OPT_ID,
    OPT_JSON,
    OPT_TIMEOUT,
    OPT_NO_WAIT,
    OPT_REDIS,
    OPT_HELP,
    OPT_LIMIT_FIRST = 512, /* + the limit's index in limits_field_names */
};

static const struct option submit_long_options[] = {
    { "lang", required_argument, NULL, OPT_LANG },
    { "stdin", required_argument, NULL, OPT_STDIN },
    { "tenant", required_argument, NULL, OPT_TENANT },
    { "arg", required_argument, NULL, OPT_ARG },
    { "id", required_argument, NULL, OPT_ID },
    { "json", no_argument, NULL, OPT_JSON },
    { "timeout-s", required_argument, NULL, OPT_TIMEOUT },
    { "no-wait", no_argument, NULL, OPT_NO_WAIT },
    { "redis", required_argument, NULL, OPT_REDIS },
    { "help", no_argument, NULL, OPT_HELP },
    { "wall-ms", required_argument, NULL, OPT_LIMIT_FIRST + 0 },
    { "cpu-ms", required_argument, NULL, OPT_LIMIT_FIRST + 1 },
    { "memory-mb", required_argument, NULL, OPT_LIMIT_FIRST + 2 },
    { "pids", required_argument, NULL, OPT_LIMIT_FIRST + 3 },
    { "output-bytes", required_argument, NULL, OPT_LIMIT_FIRST + 4 },
    { "disk-mb", required_argument, NULL, OPT_LIMIT_FIRST + 5 },
    { NULL, 0, NULL, 0 },
};

/* Applies one option to opts. Returns 0, or an exit status after printing why. */
static int submit_apply_option(struct submit_options *opts, int opt, const char *arg)
{
    const char **args;

    if (opt >= OPT_LIMIT_FIRST && opt < OPT_LIMIT_FIRST + LIMITS_FIELD_COUNT) {
        int index = opt - OPT_LIMIT_FIRST;

        if (parse_u64(arg, &opts->limits[index]) < 0)
            return usage_error("--%s: expected a whole number, got '%s'",
                               limit_option_names[index], arg);
        opts->limit_given[index] = true;
        return 0;
    }

    switch (opt) {
    case OPT_LANG:
        opts->language = arg;
        return 0;
    case OPT_STDIN:
        opts->stdin_path = arg;
        return 0;
    case OPT_TENANT:
        opts->tenant = arg;
        return 0;
    case OPT_ID:
        if (!job_id_valid(arg))
            return usage_error("--id: '%s' is not a job id (1 to 128 of A-Z a-z 0-9 . _ : -)",
                               arg);
        opts->id = arg;
        return 0;
    case OPT_JSON:
        opts->json = true;
        return 0;
    case OPT_NO_WAIT:
        opts->no_wait = true;
        return 0;
    case OPT_REDIS:
        opts->redis_url = arg;
        return 0;
    case OPT_TIMEOUT:
        if (parse_u64(arg, &opts->timeout_s) < 0 || opts->timeout_s == 0)
            return usage_error("--timeout-s: expected a positive whole number, got '%s'", arg);
        return 0;
    case OPT_ARG:
        args = realloc(opts->args, (opts->arg_count + 1) * sizeof(*args));
        if (!args)
            return usage_error("out of memory");
        args[opts->arg_count++] = arg;
        opts->args = args;
        return 0;
    default:
        fputs("Try 'ccx submit --help'.\n", stderr);
        return EXIT_USAGE;
    }
}

static int submit_parse(int argc, char **argv, struct submit_options *opts)
{
    int opt, r;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", submit_long_options, NULL)) != -1) {
        if (opt == OPT_HELP) {
            fputs(submit_usage, stdout);
            exit(0);
        }
        r = submit_apply_option(opts, opt, optarg);
        if (r != 0)
            return r;
    }

    if (optind == argc)
        return usage_error("submit: no program FILE given (try 'ccx submit --help')");
    if (argc - optind > 1)
        return usage_error("submit: one FILE only, got also '%s'", argv[optind + 1]);
    if (!opts->language)
        return usage_error("submit: --lang is required (python, c, node, sh, ...)");

    opts->source_path = argv[optind];
    return 0;
}

/* The msgpack packers return 0 or -1 (the sbuffer could not grow); these keep that. */
static int pack_str(msgpack_packer *pk, const char *text)
{
    size_t len = strlen(text);

    return msgpack_pack_str(pk, len) | msgpack_pack_str_body(pk, text, len);
}

static int pack_bin(msgpack_packer *pk, const struct buffer *buffer)
{
    return msgpack_pack_bin(pk, buffer->size) | msgpack_pack_bin_body(pk, buffer->data,
                                                                       buffer->size);
}

static int pack_limits(msgpack_packer *pk, const struct submit_options *opts, size_t count)
{
    int failed = pack_str(pk, "limits") | msgpack_pack_map(pk, count);

    for (int i = 0; i < LIMITS_FIELD_COUNT; i++) {
        if (opts->limit_given[i])
            failed |= pack_str(pk, limits_field_names[i]) |
                      msgpack_pack_uint64(pk, opts->limits[i]);
    }
    return failed;
}

/* The job map of docs/PROTOCOL.md; limits carries only the limits given on the command line,
 * the workers fill in the rest from their config. Returns 0 or -ENOMEM. */
static int submit_pack(const struct submit_options *opts, const char *id,
                       const struct buffer *source, const struct buffer *stdin_data,
                       msgpack_sbuffer *out)
{
    msgpack_packer pk;
    size_t limit_count = 0;
    int failed;

    for (int i = 0; i < LIMITS_FIELD_COUNT; i++)
        limit_count += opts->limit_given[i];

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    failed = msgpack_pack_map(&pk, 4 + !!opts->tenant + !!stdin_data + !!limit_count);

    failed |= pack_str(&pk, "id") | pack_str(&pk, id);
    if (opts->tenant)
        failed |= pack_str(&pk, "tenant") | pack_str(&pk, opts->tenant);
    failed |= pack_str(&pk, "language") | pack_str(&pk, opts->language);
    failed |= pack_str(&pk, "source") | pack_bin(&pk, source);
    if (stdin_data)
        failed |= pack_str(&pk, "stdin") | pack_bin(&pk, stdin_data);

    failed |= pack_str(&pk, "args") | msgpack_pack_array(&pk, opts->arg_count);
    for (size_t i = 0; i < opts->arg_count; i++)
        failed |= pack_str(&pk, opts->args[i]);

    if (limit_count > 0)
        failed |= pack_limits(&pk, opts, limit_count);
    return failed ? -ENOMEM : 0;
}

/* Seconds to wait for the result: what the user asked, else the wall limit (or a generous
 * default when the workers' default applies) plus time for queueing and compiling. */
static uint64_t submit_wait_s(const struct submit_options *opts)
{
    uint64_t wall_ms = opts->limits[LIMIT_WALL_MS];

    if (opts->timeout_s > 0)
        return opts->timeout_s;
    if (opts->limit_given[LIMIT_WALL_MS])
        return (wall_ms + 999) / 1000 + WAIT_SLACK_S;
    return DEFAULT_WAIT_S + WAIT_SLACK_S;
}

static uint64_t monotonic_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec;
}

/* One BLPOP of at most wait_s. Returns 1 and prints the result, 0 when none came, or
 * -errno when the connection failed (the caller reconnects). */
static int submit_blpop(redisContext *context, const char *id, uint64_t wait_s, bool json,
                        int *ret_exit)
{
    _cleanup_reply_ redisReply *reply = NULL;
    struct timeval socket_timeout = { .tv_sec = (time_t)(wait_s + SOCKET_SLACK_S) };

    if (redisSetTimeout(context, socket_timeout) != REDIS_OK)
        return -EIO;
    reply = redisCommand(context, "BLPOP %s%s %llu", KEY_REPLY_PREFIX, id,
                         (unsigned long long)wait_s);
    if (!reply)
        return -EIO;
    if (reply->type == REDIS_REPLY_ERROR) {
        *ret_exit = redis_failure(context, reply, "BLPOP");
        return 1;
    }
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[1]->type == REDIS_REPLY_STRING) {
        *ret_exit = print_result(reply->element[1]->str, reply->element[1]->len, json);
        return 1;
    }
    return 0;
}

/* Waits for the reply list until wait_s have passed, reconnecting when Redis goes away
 * (a restart must not cost the client its result), then looks at the stored result once,
 * in case the reply was taken by someone else. Prints the result. */
static int submit_wait(redisContext **context, const char *url, const char *id,
                       uint64_t wait_s, bool json)
{
    _cleanup_reply_ redisReply *stored = NULL;
    uint64_t deadline_s = monotonic_s() + wait_s;
    useconds_t backoff_us = 200000;
    int exit_status = EXIT_REDIS;

    for (uint64_t now = monotonic_s(); now < deadline_s; now = monotonic_s()) {
        int r = *context ? submit_blpop(*context, id, deadline_s - now, json, &exit_status)
                         : -EIO;

        if (r > 0)
            return exit_status;
        if (r == 0)
            break;

        /* The connection broke: try again, quietly, until the deadline. */
        if (*context)
            redisFree(TAKE_PTR(*context));
        usleep(backoff_us);
        backoff_us = backoff_us < 2000000 ? backoff_us * 2 : backoff_us;
        if (redis_connect(url, CONNECT_TIMEOUT_MS, context) < 0)
            *context = NULL;
    }

    if (!*context && redis_connect(url, CONNECT_TIMEOUT_MS, context) < 0) {
        *context = NULL;
        fprintf(stderr, "ccx: lost Redis while waiting for job %s; 'ccx result %s' looks "
                        "again\n", id, id);
        return EXIT_REDIS;
    }
    stored = redisCommand(*context, "GET %s%s", KEY_RESULT_PREFIX, id);
    if (!stored || stored->type == REDIS_REPLY_ERROR)
        return redis_failure(*context, stored, "GET");
    if (stored->type == REDIS_REPLY_STRING)
        return print_result(stored->str, stored->len, json);

    fprintf(stderr, "ccx: no result for job %s within %llu s; it may still be queued or "
                    "running: 'ccx result %s' looks again\n",
            id, (unsigned long long)wait_s, id);
    return EXIT_REDIS;
}

/* Reads the program and its stdin. Returns 0, or an exit status after printing why. */
static int submit_read_inputs(const struct submit_options *opts, struct buffer *source,
                              struct buffer *stdin_data)
{
    int r;

    if (opts->stdin_path && !strcmp(opts->source_path, "-") && !strcmp(opts->stdin_path, "-"))
        return usage_error("the program and --stdin cannot both be read from standard input");

    r = read_file(opts->source_path, source);
    if (r < 0)
        return usage_error("cannot read %s: %s", opts->source_path, strerror(-r));

    if (!opts->stdin_path)
        return 0;

    r = read_file(opts->stdin_path, stdin_data);
    if (r < 0)
        return usage_error("cannot read --stdin %s: %s", opts->stdin_path, strerror(-r));
    return 0;
}

static int submit_send(const struct submit_options *opts, const char *id,
                       const struct buffer *source, const struct buffer *stdin_data)
{
    _cleanup_redis_ redisContext *context = NULL;
    _cleanup_reply_ redisReply *reply = NULL;
    _cleanup_sbuffer_ msgpack_sbuffer job;
    int r;

    msgpack_sbuffer_init(&job);
    r = submit_pack(opts, id, source, opts->stdin_path ? stdin_data : NULL, &job);
    if (r < 0) {
        fputs("ccx: out of memory while encoding the job\n", stderr);
        return EXIT_REDIS;
    }

    r = connect_redis(opts->redis_url, &context);
    if (r != 0)
        return r;

    reply = redisCommand(context, "XADD %s * %s %b", KEY_JOBS, KEY_JOBS_FIELD, job.data,
                         job.size);
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        return redis_failure(context, reply, "the job (XADD)");

    if (opts->no_wait) {
        if (opts->json)
            printf("{\"id\":\"%s\"}\n", id);
        else
            printf("%s\n", id);
        return EXIT_STATUS_OK;
    }

    return submit_wait(&context, redis_url_choose(opts->redis_url, NULL), id,
                       submit_wait_s(opts), opts->json);
}

static int cmd_submit(int argc, char **argv)
{
    _cleanup_submit_options_ struct submit_options opts = { 0 };
    _cleanup_buffer_ struct buffer source = { 0 };
    _cleanup_buffer_ struct buffer stdin_data = { 0 };
    char id[2 * JOB_ID_BYTES + 1];
    int r;

    r = submit_parse(argc, argv, &opts);
    if (r != 0)
        return r;

    r = submit_read_inputs(&opts, &source, &stdin_data);
    if (r != 0)
        return r;

    if (!opts.id) {
        r = random_job_id(id);
        if (r < 0) {
            fprintf(stderr, "ccx: cannot make a job id: %s\n", strerror(-r));
            return EXIT_USAGE;
        }
        opts.id = id;
    }

    return submit_send(&opts, opts.id, &source, &stdin_data);
}

/* ---- ccx result ---- */

/* The one job id a command takes after its options, checked. Returns 0 with *ret_id, or
 * EXIT_USAGE (said on stderr). */
static int job_id_operand(int argc, char **argv, const char *command, const char **ret_id)
{
    if (argc - optind != 1)
        return usage_error("%s: expected one job ID (try 'ccx %s --help')", command, command);
    if (!job_id_valid(argv[optind]))
        return usage_error("%s: '%s' is not a job id", command, argv[optind]);
    *ret_id = argv[optind];
    return 0;
}

static int cmd_result(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "json", no_argument, NULL, 'j' },
        { "redis", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    _cleanup_redis_ redisContext *context = NULL;
    _cleanup_reply_ redisReply *reply = NULL;
    const char *redis_url = NULL, *id;
    bool json = false;
    int opt, r;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(result_usage, stdout);
            return 0;
        }
        if (opt == 'j')
            json = true;
        else if (opt == 'r')
            redis_url = optarg;
        else
            return usage_error("Try 'ccx result --help'.");
    }

    r = job_id_operand(argc, argv, "result", &id);
    if (r != 0)
        return r;

    r = connect_redis(redis_url, &context);
    if (r != 0)
        return r;

    reply = redisCommand(context, "GET %s%s", KEY_RESULT_PREFIX, id);
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        return redis_failure(context, reply, "GET");
    if (reply->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "ccx: no result for job %s (unknown id, not finished, or expired)\n", id);
        return EXIT_NO_RESULT;
    }

    return print_result(reply->str, reply->len, json);
}

/* ---- ccx cancel ---- */

/* How long a cancel mark lives: the shipped result_ttl_s. A job that has not started by
 * then is most likely gone anyway. */
#define CANCEL_TTL_S "86400"
#define CANCEL_SCAN_COUNT "200"

/* Marks a job cancelled, atomically with the checks that it is still unanswered and its
 * stream entry still there.
 *   KEYS[1] ccx:result:<id>   KEYS[2] ccx:cancel:<id>   KEYS[3] ccx:jobs
 *   KEYS[4] ccx:lease:<entry>   ARGV[1] the entry id ("" when not found)   ARGV[2] TTL in s
 * Returns "finished", "unknown", "running" or "pending". The workers do the rest: the claim
 * script answers a marked job without running it, and the renewal beat tells the holder of
 * a running one. */
static const char cancel_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 'finished' end\n"
    "if ARGV[1] == '' or #redis.call('XRANGE', KEYS[3], ARGV[1], ARGV[1]) == 0 then\n"
    "    return 'unknown'\n"
    "end\n"
    "redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])\n"
    "if redis.call('HGET', KEYS[4], 'state') == 'running' then return 'running' end\n"
    "return 'pending'\n";

/* True when the stream entry's job message carries id (a message without an id, or one
 * that does not decode, is answered under its entry id instead). */
static bool cancel_entry_matches(const redisReply *entry, const char *id)
{
    const redisReply *fields = entry->element[1];
    bool found = false;

    if (strcmp(entry->element[0]->str, id) == 0)
        return true;

    for (size_t i = 0; i + 1 < fields->elements && !found; i += 2) {
        const redisReply *name = fields->element[i], *value = fields->element[i + 1];
        msgpack_unpacked unpacked;
        const msgpack_object *job_id;

        if (name->type != REDIS_REPLY_STRING || strcmp(name->str, KEY_JOBS_FIELD) != 0 ||
            value->type != REDIS_REPLY_STRING)
            continue;

        msgpack_unpacked_init(&unpacked);
        if (msgpack_unpack_next(&unpacked, value->str, value->len, NULL) ==
                MSGPACK_UNPACK_SUCCESS &&
            unpacked.data.type == MSGPACK_OBJECT_MAP) {
            job_id = map_get(&unpacked.data, "id");
            found = job_id && job_id->type == MSGPACK_OBJECT_STR &&
                    job_id->via.str.size == strlen(id) &&
                    memcmp(job_id->via.str.ptr, id, job_id->via.str.size) == 0;
        }
        msgpack_unpacked_destroy(&unpacked);
    }
    return found;
}

/* Finds the stream entry of job id: ccx:jobs holds only the backlog and the jobs in flight,
 * so a scan is short. Returns 1 with the entry id in ret_entry, 0 when there is none, or
 * EXIT_REDIS (already reported) as a negative number. */
static int cancel_find_entry(redisContext *context, const char *id, char *ret_entry,
                             size_t size)
{
    char start[80] = "-";

    for (;;) {
        _cleanup_reply_ redisReply *reply = redisCommand(context, "XRANGE %s %s + COUNT %s",
                                                         KEY_JOBS, start, CANCEL_SCAN_COUNT);
        const redisReply *last = NULL;

        if (!reply || reply->type != REDIS_REPLY_ARRAY)
            return -redis_failure(context, reply, "XRANGE");
        if (reply->elements == 0)
            return 0;

        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *entry = reply->element[i];

            if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
                entry->element[0]->type != REDIS_REPLY_STRING ||
                entry->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            last = entry;
            if (cancel_entry_matches(entry, id)) {
                snprintf(ret_entry, size, "%s", entry->element[0]->str);
                return 1;
            }
        }
        if (!last || strlen(last->element[0]->str) + 2 > sizeof(start))
            return 0;
        /* Exclusive start: the entry after the last one seen. */
        snprintf(start, sizeof(start), "(%s", last->element[0]->str);
    }
}

static int cmd_cancel(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "redis", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    _cleanup_redis_ redisContext *context = NULL;
    _cleanup_reply_ redisReply *reply = NULL;
    char entry[80] = "", result_key[200], cancel_key[200], lease_key[200];
    const char *redis_url = NULL, *id;
    int opt, r;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(cancel_usage, stdout);
            return 0;
        }
        if (opt == 'r')
            redis_url = optarg;
        else
            return usage_error("Try 'ccx cancel --help'.");
    }

    r = job_id_operand(argc, argv, "cancel", &id);
    if (r != 0)
        return r;

    r = connect_redis(redis_url, &context);
    if (r != 0)
        return r;

    r = cancel_find_entry(context, id, entry, sizeof(entry));
    if (r < 0)
        return -r;

    snprintf(result_key, sizeof(result_key), "%s%s", KEY_RESULT_PREFIX, id);
    snprintf(cancel_key, sizeof(cancel_key), "%s%s", KEY_CANCEL_PREFIX, id);
    snprintf(lease_key, sizeof(lease_key), "%s%s", KEY_LEASE_PREFIX, entry);
    reply = redisCommand(context, "EVAL %s 4 %s %s %s %s %s %s", cancel_script, result_key,
                         cancel_key, KEY_JOBS, lease_key, entry, CANCEL_TTL_S);
    if (!reply || reply->type != REDIS_REPLY_STRING)
        return redis_failure(context, reply, "the cancel script");

    if (strcmp(reply->str, "finished") == 0) {
        fprintf(stderr, "ccx: job %s finished already; its result stands\n", id);
        return EXIT_NO_RESULT;
    }
    if (strcmp(reply->str, "unknown") == 0) {
        fprintf(stderr, "ccx: no job %s is queued or running\n", id);
        return EXIT_NO_RESULT;
    }
    printf("cancelled %s (it was %s)\n", id, reply->str);
    return EXIT_STATUS_OK;
}

/* ---- ccx breaker ---- */

/* The breaker scripts: breaker.lua's functions, then a body that reads Redis's clock (the
 * breakers' times are Redis's) and calls one of them. */
#define BREAKER_CLI_NOW                                                                       \
    "local t = redis.call('TIME')\n"                                                          \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/* Returns {now, msgpack array of every breaker}. */
static const char breaker_list_script[] = BREAKER_LUA "\n" BREAKER_CLI_NOW
    "return {string.format('%d', now), breaker_list(now)}\n";

/* ARGV[1] "tenant" or "host"   ARGV[2] its name. Returns 1, or 0 when there is no such
 * breaker. */
static const char breaker_reset_script[] = BREAKER_LUA "\n" BREAKER_CLI_NOW
    "return breaker_reset(ARGV[1], ARGV[2], now)\n";

static const char breaker_usage[] =
    "usage: ccx breaker list [--json] [--redis URL]\n"
    "       ccx breaker reset TENANT [--redis URL]\n"
    "       ccx breaker reset --host HOST [--redis URL]\n"
    "\n"
    "list shows every tenant and host circuit breaker: its state (CLOSED, OPEN, HALF_OPEN),\n"
    "the failures and calls in its window, the hosts (for a host: the tenants) the failures\n"
    "came from, and until when it stays open. --json prints one JSON array.\n"
    "reset closes a breaker at once and clears its window (a breaker_reset event on\n"
    "ccx:events says who was let back in).\n"
    "\n"
    "Exit status: 0 done, 2 usage error, 3 Redis failed, 4 no such breaker (reset).\n";

/* Tenant names as the job decoder takes them: 1 to 64 of A-Z a-z 0-9 . _ - */
static bool breaker_tenant_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > 64)
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
           len;
}

static bool breaker_host_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)name[i] <= ' ' || name[i] == 0x7f)
            return false;
    }
    return true;
}

static int64_t object_i64(const msgpack_object *obj)
{
    if (obj && obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (int64_t)obj->via.u64;
    if (obj && obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return obj->via.i64;
    return 0;
}

/* "2026-12-04T05:40:00Z (in 29 s)" for a time ahead of now, "-" for none. */
static void breaker_format_until(int64_t until_ms, int64_t now_ms, char *buf, size_t size)
{
    time_t seconds = (time_t)(until_ms / 1000);
    struct tm tm;
    char when[32];

    if (until_ms <= 0 || !gmtime_r(&seconds, &tm)) {
        snprintf(buf, size, "-");
        return;
    }
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (until_ms > now_ms)
        snprintf(buf, size, "%s (in %lld s)", when, (long long)((until_ms - now_ms + 999) / 1000));
    else
        snprintf(buf, size, "%s (passed)", when);
}

/* The failing names of a row, comma-separated ("-" when none), cut to fit. */
static void breaker_format_failing(const msgpack_object *failing, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    if (failing && failing->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < failing->via.array.size && used + 1 < size; i++) {
            const char *ptr;
            size_t len;

            if (!object_bytes(&failing->via.array.ptr[i], &ptr, &len))
                continue;
            used += (size_t)snprintf(buf + used, size - used, "%s%.*s", used ? "," : "",
                                     (int)len, ptr);
        }
    }
    if (buf[0] == '\0')
        snprintf(buf, size, "-");
}

static void breaker_print_row(const msgpack_object *row, int64_t now_ms)
{
    const msgpack_object *scope = map_get(row, "scope");
    const char *scope_ptr = "", *name_ptr = "", *state_ptr = "";
    size_t scope_len = 0, name_len = 0, state_len = 0;
    char counts[64], failing[256], until[64];

    object_bytes(scope, &scope_ptr, &scope_len);
    if (scope_len == 4 && memcmp(scope_ptr, "host", 4) == 0)
        object_bytes(map_get(row, "host"), &name_ptr, &name_len);
    else
        object_bytes(map_get(row, "tenant"), &name_ptr, &name_len);
    object_bytes(map_get(row, "state"), &state_ptr, &state_len);

    snprintf(counts, sizeof(counts), "%llu/%llu (%llu%%)",
             (unsigned long long)object_u64(map_get(row, "failures")),
             (unsigned long long)object_u64(map_get(row, "calls")),
             (unsigned long long)object_u64(map_get(row, "failure_pct")));
    breaker_format_failing(map_get(row, "failing"), failing, sizeof(failing));
    breaker_format_until(state_len == 6 && memcmp(state_ptr, "CLOSED", 6) == 0
                             ? 0
                             : object_i64(map_get(row, "until")),
                         now_ms, until, sizeof(until));
    printf("%-7.*s %-24.*s %-10.*s %-16s %-24s %s\n", (int)scope_len, scope_ptr, (int)name_len,
           name_ptr, (int)state_len, state_ptr, counts, failing, until);
}

static int breaker_print_list(const redisReply *reply, bool json)
{
    _cleanup_unpacked_ msgpack_unpacked unpacked;
    const msgpack_object *rows;
    int64_t now_ms;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_STRING) {
        fputs("ccx: the breaker list script gave an unexpected reply\n", stderr);
        return EXIT_REDIS;
    }
    now_ms = strtoll(reply->element[0]->str, NULL, 10);

    msgpack_unpacked_init(&unpacked);
    if (msgpack_unpack_next(&unpacked, reply->element[1]->str, reply->element[1]->len, NULL) !=
            MSGPACK_UNPACK_SUCCESS ||
        unpacked.data.type != MSGPACK_OBJECT_ARRAY) {
        fputs("ccx: the breaker list is not a msgpack array\n", stderr);
        return EXIT_REDIS;
    }
    rows = &unpacked.data;

    if (json)
        return print_json(rows) < 0 ? EXIT_REDIS : EXIT_STATUS_OK;

    if (rows->via.array.size == 0) {
        puts("no breakers yet (one appears with the first job recorded for its tenant or host)");
        return EXIT_STATUS_OK;
    }
    printf("%-7s %-24s %-10s %-16s %-24s %s\n", "SCOPE", "NAME", "STATE", "FAILED/CALLS",
           "FAILING", "UNTIL");
    for (uint32_t i = 0; i < rows->via.array.size; i++)
        breaker_print_row(&rows->via.array.ptr[i], now_ms);
    return EXIT_STATUS_OK;
}

static int breaker_list(const char *redis_url, bool json)
{
    _cleanup_redis_ redisContext *context = NULL;
    _cleanup_reply_ redisReply *reply = NULL;
    int r;

    r = connect_redis(redis_url, &context);
    if (r != 0)
        return r;

    reply = redisCommand(context, "EVAL %s 0", breaker_list_script);
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        return redis_failure(context, reply, "the breaker list script");
    return breaker_print_list(reply, json);
}

static int breaker_reset(const char *redis_url, const char *scope, const char *name)
{
    _cleanup_redis_ redisContext *context = NULL;
    _cleanup_reply_ redisReply *reply = NULL;
    int r;

    r = connect_redis(redis_url, &context);
    if (r != 0)
        return r;

    reply = redisCommand(context, "EVAL %s 0 %s %s", breaker_reset_script, scope, name);
    if (!reply || reply->type != REDIS_REPLY_INTEGER)
        return redis_failure(context, reply, "the breaker reset script");
    if (reply->integer == 0) {
        fprintf(stderr, "ccx: no breaker for %s %s (nothing was recorded for it yet)\n", scope,
                name);
        return EXIT_NO_RESULT;
    }
    printf("reset the %s breaker of %s: CLOSED, window cleared\n", scope, name);
    return EXIT_STATUS_OK;
}

static int cmd_breaker(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "json", no_argument, NULL, 'j' },
        { "host", required_argument, NULL, 'H' },
        { "redis", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *redis_url = NULL, *host = NULL, *action;
    bool json = false;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(breaker_usage, stdout);
            return 0;
        }
        if (opt == 'j')
            json = true;
        else if (opt == 'H')
            host = optarg;
        else if (opt == 'r')
            redis_url = optarg;
        else
            return usage_error("Try 'ccx breaker --help'.");
    }

    if (optind >= argc)
        return usage_error("breaker: expected list or reset (try 'ccx breaker --help')");
    action = argv[optind++];

    if (strcmp(action, "list") == 0) {
        if (optind != argc || host)
            return usage_error("breaker list: takes no TENANT or --host");
        return breaker_list(redis_url, json);
    }
    if (strcmp(action, "reset") != 0)
        return usage_error("breaker: unknown action '%s' (list or reset)", action);
    if (json)
        return usage_error("breaker reset: --json is for list");
    if (host) {
        if (optind != argc)
            return usage_error("breaker reset: a TENANT or --host HOST, not both");
        if (!breaker_host_valid(host))
            return usage_error("breaker reset: '%s' is not a host name", host);
        return breaker_reset(redis_url, "host", host);
    }
    if (argc - optind != 1)
        return usage_error("breaker reset: expected one TENANT or --host HOST");
    if (!breaker_tenant_valid(argv[optind]))
        return usage_error("breaker reset: '%s' is not a tenant (1 to 64 of A-Z a-z 0-9 . _ -)",
                           argv[optind]);
    return breaker_reset(redis_url, "tenant", argv[optind]);
}

/* ---- ccx events ---- */

#define EVENTS_DEFAULT_COUNT 20
#define EVENTS_PAGE "200"
#define EVENTS_BLOCK_MS 5000
#define EVENTS_ID_SIZE 64

static const char events_usage[] =
    "usage: ccx events [--tenant T] [--kind K] [--job ID] [--count N] [--from-start]\n"
    "                  [--follow] [--redis URL]\n"
    "\n"
    "Prints the events on ccx:events (security, ops, breaker and job life events:\n"
    "docs/EVENTS.md) as JSON lines, each with its stream entry id as \"stream_id\".\n"
    "\n"
    "  --tenant T      only the events of tenant T\n"
    "  --kind K        only events of kind K (syscall_refused, breaker_opened, ...)\n"
    "  --job ID        only the events of job ID\n"
    "  --count N       at most N events (default 20; with --follow: the last N before\n"
    "                  following, default none)\n"
    "  --from-start    the oldest first, from the start of the stream, instead of the\n"
    "                  newest first\n"
    "  --follow        then wait for new events and print each as it comes, until killed;\n"
    "                  a lost Redis is reconnected to\n"
    "  --redis URL     Redis to use\n"
    "\n"
    "Exit status: 0 done, 2 usage error, 3 Redis failed (without --follow).\n";

struct events_options {
    const char *tenant;
    const char *kind;
    const char *job_id;
    const char *redis_url;
    uint64_t count;
    bool count_given;
    bool from_start;
    bool follow;
};

/* True when the object is a str equal to text. */
static bool object_is_text(const msgpack_object *obj, const char *text)
{
    return obj && obj->type == MSGPACK_OBJECT_STR && obj->via.str.size == strlen(text) &&
           memcmp(obj->via.str.ptr, text, obj->via.str.size) == 0;
}

static bool events_match(const struct events_options *opts, const msgpack_object *event)
{
    if (opts->tenant && !object_is_text(map_get(event, "tenant"), opts->tenant))
        return false;
    if (opts->kind && !object_is_text(map_get(event, "kind"), opts->kind))
        return false;
    if (opts->job_id && !object_is_text(map_get(event, "job_id"), opts->job_id))
        return false;
    return true;
}

/* Decodes one stream entry ([id, [field, value, ...]]) into a JSON line when it matches.
 * Returns 1 with *ret_text (free it), 0 when it does not (no event field, not a map,
 * filtered out), or -ENOMEM. The entry's id goes into last_id either way. */
static int events_entry_json(const struct events_options *opts, const redisReply *entry,
                             char **ret_text, char last_id[EVENTS_ID_SIZE])
{
    _cleanup_unpacked_ msgpack_unpacked unpacked;
    _cleanup_json_ json_t *json = NULL;
    const redisReply *fields, *value = NULL;

    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING ||
        entry->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    snprintf(last_id, EVENTS_ID_SIZE, "%s", entry->element[0]->str);

    fields = entry->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, KEY_EVENTS_FIELD) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            value = fields->element[i + 1];
    }
    if (!value)
        return 0;

    msgpack_unpacked_init(&unpacked);
    if (msgpack_unpack_next(&unpacked, value->str, value->len, NULL) != MSGPACK_UNPACK_SUCCESS ||
        unpacked.data.type != MSGPACK_OBJECT_MAP || !events_match(opts, &unpacked.data))
        return 0;

    json = msgpack_to_json(&unpacked.data);
    if (!json || json_object_set_new(json, "stream_id", json_string(entry->element[0]->str)) < 0)
        return -ENOMEM;
    *ret_text = json_dumps(json, JSON_COMPACT);
    return *ret_text ? 1 : -ENOMEM;
}

static void events_free_lines(char **lines, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(lines[i]);
    free(lines);
}

/* Prints up to opts->count matching events with ids up to upper ("+": all), newest first
 * (XREVRANGE) or from the start (XRANGE), reading the stream a page at a time. With
 * chronological, the newest ones are printed oldest first (the backlog of --follow).
 * Returns 0 or an exit status. */
static int events_print_range(redisContext *context, const struct events_options *opts,
                              bool newest_first, bool chronological, const char *upper)
{
    char cursor[EVENTS_ID_SIZE + 1], seen[EVENTS_ID_SIZE];
    char **lines = NULL;
    size_t count = 0;
    int ret = 0;

    snprintf(cursor, sizeof(cursor), "%s", newest_first ? upper : "-");
    while (count < opts->count && ret == 0) {
        _cleanup_reply_ redisReply *reply = NULL;

        seen[0] = '\0';
        if (newest_first)
            reply = redisCommand(context, "XREVRANGE %s %s - COUNT %s", KEY_EVENTS, cursor,
                                 EVENTS_PAGE);
        else
            reply = redisCommand(context, "XRANGE %s %s + COUNT %s", KEY_EVENTS, cursor,
                                 EVENTS_PAGE);
        if (!reply || reply->type != REDIS_REPLY_ARRAY) {
            ret = redis_failure(context, reply, newest_first ? "XREVRANGE" : "XRANGE");
            break;
        }

        for (size_t i = 0; i < reply->elements && count < opts->count; i++) {
            char *text = NULL;
            int r = events_entry_json(opts, reply->element[i], &text, seen);
            char **grown;

            if (r == 0)
                continue;
            grown = r > 0 ? reallocarray(lines, count + 1, sizeof(*lines)) : NULL;
            if (!grown) {
                free(text);
                fputs("ccx: out of memory\n", stderr);
                ret = EXIT_REDIS;
                break;
            }
            lines = grown;
            lines[count++] = text;
        }
        if (!seen[0])
            break;
        /* Exclusive bound: past the last entry seen. */
        snprintf(cursor, sizeof(cursor), "(%s", seen);
    }

    for (size_t i = 0; i < count && ret == 0; i++)
        puts(lines[chronological ? count - 1 - i : i]);
    fflush(stdout);
    events_free_lines(lines, count);
    return ret;
}

/* The id of the stream's newest entry into last_id ("0-0" when it is empty), so that a
 * follow starts after it. Returns 0 or an exit status. */
static int events_newest_id(redisContext *context, char last_id[EVENTS_ID_SIZE])
{
    _cleanup_reply_ redisReply *reply = redisCommand(context, "XREVRANGE %s + - COUNT 1",
                                                     KEY_EVENTS);
    const redisReply *entry;

    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return redis_failure(context, reply, "XREVRANGE");
    snprintf(last_id, EVENTS_ID_SIZE, "0-0");
    entry = reply->elements == 1 ? reply->element[0] : NULL;
    if (entry && entry->type == REDIS_REPLY_ARRAY && entry->elements == 2 &&
        entry->element[0]->type == REDIS_REPLY_STRING)
        snprintf(last_id, EVENTS_ID_SIZE, "%s", entry->element[0]->str);
    return 0;
}

/* One XREAD BLOCK after last_id. Returns 0 (printed what came, or nothing in the block
 * time) or -EIO when the connection failed or Redis answered an error. */
static int events_read_new(redisContext *context, const struct events_options *opts,
                           char last_id[EVENTS_ID_SIZE])
{
    _cleanup_reply_ redisReply *reply = NULL;
    const redisReply *entries;

    reply = redisCommand(context, "XREAD BLOCK %d STREAMS %s %s", EVENTS_BLOCK_MS, KEY_EVENTS,
                         last_id);
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        return -EIO;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1)
        return 0;
    if (reply->element[0]->type != REDIS_REPLY_ARRAY || reply->element[0]->elements != 2)
        return 0;

    entries = reply->element[0]->element[1];
    for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
        _cleanup_free_ char *text = NULL;
        int r = events_entry_json(opts, entries->element[i], &text, last_id);

        if (r < 0)
            return r;
        if (r > 0)
            puts(text);
    }
    fflush(stdout);
    return 0;
}

/* Tails the stream until killed. A lost connection is told once on stderr and tried again
 * with a growing pause; reading goes on after the last entry printed, so a Redis that
 * restarted (empty, or from its data) loses the follower nothing it still has. */
static int events_follow(redisContext **context, const char *url,
                         const struct events_options *opts, char last_id[EVENTS_ID_SIZE])
{
    struct timeval socket_timeout = { .tv_sec = EVENTS_BLOCK_MS / 1000 + SOCKET_SLACK_S };
    useconds_t backoff_us = 200000;
    bool lost = false;

    for (;;) {
        int r = -EIO;

        if (*context && redisSetTimeout(*context, socket_timeout) == REDIS_OK)
            r = events_read_new(*context, opts, last_id);
        if (r == -ENOMEM) {
            fputs("ccx: out of memory\n", stderr);
            return EXIT_REDIS;
        }
        if (r == 0) {
            if (lost)
                fputs("ccx: reconnected to Redis; following ccx:events again\n", stderr);
            lost = false;
            backoff_us = 200000;
            continue;
        }

        if (!lost)
            fputs("ccx: lost Redis while following ccx:events; reconnecting\n", stderr);
        lost = true;
        if (*context)
            redisFree(TAKE_PTR(*context));
        usleep(backoff_us);
        backoff_us = backoff_us < 2000000 ? backoff_us * 2 : backoff_us;
        if (redis_connect(url, CONNECT_TIMEOUT_MS, context) < 0)
            *context = NULL;
    }
}

static int events_parse(int argc, char **argv, struct events_options *opts)
{
    static const struct option long_options[] = {
        { "tenant", required_argument, NULL, 't' },
        { "kind", required_argument, NULL, 'k' },
        { "job", required_argument, NULL, 'J' },
        { "count", required_argument, NULL, 'n' },
        { "from-start", no_argument, NULL, 's' },
        { "follow", no_argument, NULL, 'f' },
        { "redis", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    opts->count = EVENTS_DEFAULT_COUNT;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(events_usage, stdout);
            return -1;
        case 't':
            opts->tenant = optarg;
            break;
        case 'k':
            opts->kind = optarg;
            break;
        case 'J':
            opts->job_id = optarg;
            break;
        case 'n':
            if (parse_u64(optarg, &opts->count) < 0)
                return usage_error("--count: expected a whole number, got '%s'", optarg);
            opts->count_given = true;
            break;
        case 's':
            opts->from_start = true;
            break;
        case 'f':
            opts->follow = true;
            break;
        case 'r':
            opts->redis_url = optarg;
            break;
        default:
            return usage_error("Try 'ccx events --help'.");
        }
    }
    if (optind != argc)
        return usage_error("events: unexpected argument '%s' (try 'ccx events --help')",
                           argv[optind]);
    if (opts->follow && opts->from_start)
        return usage_error("events: --follow starts at the newest events; --from-start "
                           "does not go with it");
    if (opts->follow && !opts->count_given)
        opts->count = 0;
    return 0;
}

static int cmd_events(int argc, char **argv)
{
    struct events_options opts = { 0 };
    _cleanup_redis_ redisContext *context = NULL;
    char last_id[EVENTS_ID_SIZE] = "0-0";
    int r;

    r = events_parse(argc, argv, &opts);
    if (r != 0)
        return r < 0 ? 0 : r;

    r = connect_redis(opts.redis_url, &context);
    if (r != 0)
        return r;

    if (!opts.follow)
        return events_print_range(context, &opts, !opts.from_start, false, "+");

    /* The newest id first: what is added while the backlog prints comes through XREAD. */
    r = events_newest_id(context, last_id);
    if (r == 0 && opts.count > 0)
        r = events_print_range(context, &opts, true, true, last_id);
    if (r != 0)
        return r;
    return events_follow(&context, redis_url_choose(opts.redis_url, NULL), &opts, last_id);
}

static int cmd_help(int argc, char **argv)
{
    fputs(main_usage, stdout);
    return 0;
}

struct command {
    const char *name;
    const char *prog; /* argv[0] of the command, which getopt puts in its messages */
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    { "submit", "ccx submit", cmd_submit },
    { "result", "ccx result", cmd_result },
    { "cancel", "ccx cancel", cmd_cancel },
    { "breaker", "ccx breaker", cmd_breaker },
    { "events", "ccx events", cmd_events },
    { "top", "ccx top", top_main },
    { "help", "ccx", cmd_help },
    { "--help", "ccx", cmd_help },
    { "-h", "ccx", cmd_help },
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_usage, stderr);
        return EXIT_USAGE;
    }

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        argv[1] = (char *)commands[i].prog;
        return commands[i].run(argc - 1, argv + 1);
    }

    return usage_error("unknown command '%s' (try 'ccx --help')", argv[1]);
}
