/* Redis URLs and blocking connections (hiredis 0.14). */
#include "redis_conn.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cleanup.h"
#include "keys.h"
#include "log.h"

#define REDIS_DEFAULT_URL "redis://127.0.0.1:6379"
#define REDIS_DEFAULT_PORT 6379
#define REDIS_SENTINEL_DEFAULT_PORT 26379
/* A sentinel answers from memory: a slow one is as good as a dead one, ask the next. */
#define REDIS_SENTINEL_TIMEOUT_MS 500

/* Copies len bytes into a fixed field. Returns 0, or -EINVAL when they do not fit. */
static int copy_part(char *dst, size_t dst_size, const char *src, size_t len)
{
    if (len >= dst_size)
        return -EINVAL;

    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Copies a percent-encoded URL part, decoded: passwords may hold '@', ':' or '/'. */
static int copy_decoded(char *dst, size_t dst_size, const char *src, size_t len)
{
    size_t out = 0;

    for (size_t i = 0; i < len; i++) {
        char c = src[i];

        if (c == '%') {
            int hi = i + 2 < len ? hex_value(src[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(src[i + 2]) : -1;

            if (hi < 0 || lo < 0)
                return -EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0' || out + 1 >= dst_size)
            return -EINVAL;
        dst[out++] = c;
    }
    dst[out] = '\0';
    return 0;
}

/* A decimal number in [min, max] made of exactly len digits. */
static int parse_number(const char *text, size_t len, long min, long max, int *ret)
{
    long value = 0;

    if (len == 0 || len > 10)
        return -EINVAL;

    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -EINVAL;
        value = value * 10 + (text[i] - '0');
    }
    if (value < min || value > max)
        return -EINVAL;

    *ret = (int)value;
    return 0;
}

/* unix:///path/to/socket[?db=N] */
/* The optional "?db=N" that ends a URL; query is NULL or points at the '?'. */
static int parse_db_query(const char *query, struct redis_url *url)
{
    if (!query)
        return 0;
    if (strncmp(query, "?db=", 4) != 0)
        return -EINVAL;
    return parse_number(query + 4, strlen(query + 4), 0, INT_MAX, &url->db);
}

static int parse_unix(const char *rest, struct redis_url *url)
{
    const char *query = strchr(rest, '?');
    size_t path_len = query ? (size_t)(query - rest) : strlen(rest);

    if (path_len == 0 || rest[0] != '/')
        return -EINVAL;
    if (copy_part(url->socket_path, sizeof(url->socket_path), rest, path_len) < 0)
        return -EINVAL;

    return parse_db_query(query, url);
}

/* The part before '@': ":password", "password" or "default:password". Other user names
 * need Redis ACLs, which this struct cannot carry: refused rather than ignored. */
static int parse_userinfo(const char *info, size_t len, struct redis_url *url)
{
    const char *colon = memchr(info, ':', len);
    size_t user_len;

    if (!colon)
        return copy_decoded(url->password, sizeof(url->password), info, len);

    user_len = (size_t)(colon - info);
    if (user_len != 0 && !(user_len == 7 && memcmp(info, "default", 7) == 0))
        return -EINVAL;

    return copy_decoded(url->password, sizeof(url->password), colon + 1,
                        len - user_len - 1);
}

/* host, host:port, [v6], [v6]:port; *port is left as it is when none is given. */
static int parse_endpoint(const char *text, size_t len, char *host_out, size_t host_size,
                          int *port_out)
{
    const char *port = NULL;
    size_t host_len = len;
    const char *host = text;

    if (len > 0 && text[0] == '[') {
        const char *close = memchr(text, ']', len);

        if (!close)
            return -EINVAL;
        host = text + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < text + len) {
            if (close[1] != ':')
                return -EINVAL;
            port = close + 2;
        }
    } else {
        const char *colon = memchr(text, ':', len);

        if (colon) {
            host_len = (size_t)(colon - text);
            port = colon + 1;
        }
    }

    if (host_len == 0 || copy_part(host_out, host_size, host, host_len) < 0)
        return -EINVAL;

    if (!port)
        return 0;
    return parse_number(port, (size_t)(text + len - port), 1, 65535, port_out);
}

static int parse_hostport(const char *text, size_t len, struct redis_url *url)
{
    return parse_endpoint(text, len, url->host, sizeof(url->host), &url->port);
}

/* The part before the last '@' of an authority, if any: moves *rest and *len past it. */
static int parse_authority_user(const char **rest, size_t *len, struct redis_url *url)
{
    const char *at = NULL;
    int r;

    /* The last '@' ends the user part: an unencoded '@' in a password still parses. */
    for (size_t i = 0; i < *len; i++) {
        if ((*rest)[i] == '@')
            at = *rest + i;
    }
    if (!at)
        return 0;

    r = parse_userinfo(*rest, (size_t)(at - *rest), url);
    if (r < 0)
        return r;
    *len -= (size_t)(at + 1 - *rest);
    *rest = at + 1;
    return 0;
}

static bool master_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

/* redis-sentinel://[userinfo@]host[:port][,host[:port]...]/name[?db=N]. The name goes into
 * a SENTINEL command as one argument, but a plain charset keeps logs and typos readable. */
static int parse_sentinel(const char *rest, struct redis_url *url)
{
    const char *slash = strchr(rest, '/');
    const char *name, *query;
    size_t authority_len, name_len;
    int r;

    if (!slash)
        return -EINVAL;
    authority_len = (size_t)(slash - rest);

    r = parse_authority_user(&rest, &authority_len, url);
    if (r < 0)
        return r;

    for (;;) {
        const char *comma = memchr(rest, ',', authority_len);
        size_t part_len = comma ? (size_t)(comma - rest) : authority_len;
        struct redis_endpoint *endpoint;

        if (url->sentinel_count == REDIS_SENTINELS_MAX)
            return -EINVAL;
        endpoint = &url->sentinels[url->sentinel_count++];
        endpoint->port = REDIS_SENTINEL_DEFAULT_PORT;
        r = parse_endpoint(rest, part_len, endpoint->host, sizeof(endpoint->host),
                           &endpoint->port);
        if (r < 0)
            return r;
        if (!comma)
            break;
        /* A trailing comma leaves an empty host, which parse_endpoint refuses. */
        authority_len -= part_len + 1;
        rest = comma + 1;
        if (authority_len == 0)
            return -EINVAL;
    }

    name = slash + 1;
    query = strchr(name, '?');
    name_len = query ? (size_t)(query - name) : strlen(name);
    if (name_len == 0)
        return -EINVAL;
    for (size_t i = 0; i < name_len; i++) {
        if (!master_name_char(name[i]))
            return -EINVAL;
    }
    if (copy_part(url->master_name, sizeof(url->master_name), name, name_len) < 0)
        return -EINVAL;

    return parse_db_query(query, url);
}

/* redis://[userinfo@]host[:port][/db] */
static int parse_tcp(const char *rest, struct redis_url *url)
{
    const char *slash = strchr(rest, '/');
    size_t authority_len = slash ? (size_t)(slash - rest) : strlen(rest);
    int r;

    r = parse_authority_user(&rest, &authority_len, url);
    if (r < 0)
        return r;

    r = parse_hostport(rest, authority_len, url);
    if (r < 0)
        return r;

    if (!slash || slash[1] == '\0')
        return 0;
    return parse_number(slash + 1, strlen(slash + 1), 0, INT_MAX, &url->db);
}

int redis_url_parse(const char *url, struct redis_url *ret_url)
{
    struct redis_url parsed = { .port = REDIS_DEFAULT_PORT };
    int r;

    if (!url)
        return -EINVAL;

    if (strncmp(url, "unix://", 7) == 0) {
        parsed.port = 0;
        r = parse_unix(url + 7, &parsed);
    } else if (strncmp(url, "redis://", 8) == 0) {
        r = parse_tcp(url + 8, &parsed);
    } else if (strncmp(url, "redis-sentinel://", 17) == 0) {
        parsed.port = 0;
        r = parse_sentinel(url + 17, &parsed);
    } else {
        r = -EINVAL;
    }
    if (r < 0)
        return r;

    *ret_url = parsed;
    return 0;
}

const char *redis_url_choose(const char *given, const char *from_config)
{
    const char *env = getenv("CCX_REDIS_URL");

    if (given && given[0])
        return given;
    if (env && env[0])
        return env;
    if (from_config && from_config[0])
        return from_config;
    return REDIS_DEFAULT_URL;
}

/* hiredis 0.14 keeps only strerror()'s text of an I/O error, not errno: match it back. */
static int errno_from_text(const char *text)
{
    static const int candidates[] = {
        ECONNREFUSED, ETIMEDOUT, EAGAIN, ENOENT, EACCES, ECONNRESET, EPIPE, EHOSTUNREACH,
        ENETUNREACH, EADDRNOTAVAIL,
    };

    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (strcmp(text, strerror(candidates[i])) == 0)
            return candidates[i] == EAGAIN ? ETIMEDOUT : candidates[i];
    }
    return EIO;
}

int redis_error_to_errno(const redisContext *context)
{
    if (!context)
        return -ENOMEM;

    switch (context->err) {
    case 0:
        return 0;
    case REDIS_ERR_IO:
        /* A read that timed out shows up as EAGAIN on a blocking socket with SO_RCVTIMEO. */
        return -errno_from_text(context->errstr);
    case REDIS_ERR_OOM:
        return -ENOMEM;
    case REDIS_ERR_PROTOCOL:
        return -EPROTO;
    case REDIS_ERR_EOF:
    case REDIS_ERR_OTHER:
    default:
        return -EIO;
    }
}

/* Runs a command whose only acceptable answer is a status reply (AUTH, SELECT).
 * Returns 0, on_error for an error reply, or the connection's -errno. */
static int redis_simple_command(redisContext *context, int on_error, const char *fmt,
                                const char *arg)
{
    _cleanup_reply_ redisReply *reply = redisCommand(context, fmt, arg);

    if (!reply) {
        int r = redis_error_to_errno(context);

        return r < 0 ? r : -EIO;
    }
    if (reply->type == REDIS_REPLY_ERROR)
        return on_error;
    return 0;
}

static struct timeval timeval_of_ms(int timeout_ms)
{
    return (struct timeval){ .tv_sec = timeout_ms / 1000,
                             .tv_usec = (timeout_ms % 1000) * 1000 };
}

/* Opens one TCP or unix connection with timeout_ms for the connect and every command.
 * Returns 0 and *ret_context, or -errno. */
static int open_context(const char *host, int port, const char *socket_path, int timeout_ms,
                        redisContext **ret_context)
{
    struct timeval timeout = timeval_of_ms(timeout_ms);
    redisContext *context;
    int r;

    if (socket_path && socket_path[0])
        context = redisConnectUnixWithTimeout(socket_path, timeout);
    else
        context = redisConnectWithTimeout(host, port, timeout);
    if (!context)
        return -ENOMEM;

    r = redis_error_to_errno(context);
    if (r >= 0 && redisSetTimeout(context, timeout) != REDIS_OK)
        r = -EIO;
    if (r < 0) {
        redisFree(context);
        return r;
    }
    *ret_context = context;
    return 0;
}

/* AUTH and SELECT as the URL asks. Returns 0 or -errno. */
static int prepare_context(redisContext *context, const struct redis_url *parsed)
{
    char db[16];
    int r = 0;

    if (parsed->password[0])
        r = redis_simple_command(context, -EACCES, "AUTH %s", parsed->password);

    if (r >= 0 && parsed->db != 0) {
        snprintf(db, sizeof(db), "%d", parsed->db);
        r = redis_simple_command(context, -EINVAL, "SELECT %s", db);
    }
    return r;
}

bool redis_reply_means_failover(const char *text)
{
    static const char *const codes[] = { "READONLY", "LOADING", "MASTERDOWN" };

    if (!text)
        return false;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        size_t len = strlen(codes[i]);

        if (strncmp(text, codes[i], len) == 0 && (text[len] == ' ' || text[len] == '\0'))
            return true;
    }
    return false;
}

/* The master this process last connected to through Sentinel ("" before the first), the
 * number of changes seen, and the sentinel that answered last: asked first next time, so
 * that a dead sentinel early in the list does not cost its timeout on every reconnect.
 * The binaries connect from one thread only. */
static char sentinel_last_master[300];
static unsigned sentinel_master_changes;
static size_t sentinel_preferred;

unsigned redis_master_changes(void)
{
    return sentinel_master_changes;
}

/* Asks one sentinel for the master's address. Returns 0 with host and port, -ENOENT when
 * the sentinel does not know the name, or -errno. */
static int sentinel_ask(const struct redis_endpoint *sentinel, const char *name,
                        int timeout_ms, char *ret_host, size_t host_size, int *ret_port)
{
    redisContext *context = NULL;
    redisReply *reply;
    int r;

    r = open_context(sentinel->host, sentinel->port, NULL, timeout_ms, &context);
    if (r < 0)
        return r;

    reply = redisCommand(context, "SENTINEL get-master-addr-by-name %s", name);
    if (!reply) {
        r = redis_error_to_errno(context);
        r = r < 0 ? r : -EIO;
    } else if (reply->type == REDIS_REPLY_NIL) {
        r = -ENOENT;
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
               reply->element[0]->type != REDIS_REPLY_STRING ||
               reply->element[1]->type != REDIS_REPLY_STRING) {
        r = -EPROTO;
    } else if (copy_part(ret_host, host_size, reply->element[0]->str,
                         reply->element[0]->len) < 0 ||
               parse_number(reply->element[1]->str, reply->element[1]->len, 1, 65535,
                            ret_port) < 0) {
        r = -EPROTO;
    }

    if (reply)
        freeReplyObject(reply);
    redisFree(context);
    return r;
}

/* 0 when ROLE says master, -EROFS when it names another role, else -errno. */
static int check_master_role(redisContext *context)
{
    _cleanup_reply_ redisReply *reply = redisCommand(context, "ROLE");
    int r;

    if (!reply) {
        r = redis_error_to_errno(context);
        return r < 0 ? r : -EIO;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return -EPROTO;
    return strcmp(reply->element[0]->str, "master") == 0 ? 0 : -EROFS;
}

/* Replication is asynchronous: a promoted replica may not have seen the last fencing
 * tokens the old master handed out, and would hand the same numbers out again. Moving the
 * counter this far ahead keeps every new token above any the old master gave (unless more
 * than this many were lost, which no replication lag comes near). */
#define REDIS_FAILOVER_TOKEN_STEP "4294967296"

static void sentinel_advance_tokens(redisContext *context)
{
    _cleanup_reply_ redisReply *reply =
        redisCommand(context, "INCRBY %s %s", KEY_TOKEN, REDIS_FAILOVER_TOKEN_STEP);

    /* A failure shows in the next command on this connection; nothing else to do here. */
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        log_debug("redis_token_advance_failed", "error=%s",
                  reply ? reply->str : context->errstr);
}

static void sentinel_note_master(const struct redis_url *parsed, redisContext *context,
                                 const char *host, int port)
{
    char address[sizeof(sentinel_last_master)];

    snprintf(address, sizeof(address), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if (strcmp(address, sentinel_last_master) == 0)
        return;

    if (sentinel_last_master[0]) {
        sentinel_master_changes++;
        sentinel_advance_tokens(context);
        log_info("redis_master_changed", "name=%s old=%s new=%s", parsed->master_name,
                 sentinel_last_master, address);
    }
    snprintf(sentinel_last_master, sizeof(sentinel_last_master), "%s", address);
}

/* One round over the sentinels, from the one that answered last. A sentinel that names a
 * server which is not a master (it has not seen the failover yet, or the old master came
 * back as a replica) is passed over for the next. Returns 0 and *ret_context, or -errno:
 * -EACCES at once for a refused password, else -EHOSTUNREACH. */
static int sentinel_connect(const struct redis_url *parsed, int timeout_ms,
                            redisContext **ret_context)
{
    int ask_ms = timeout_ms < REDIS_SENTINEL_TIMEOUT_MS ? timeout_ms : REDIS_SENTINEL_TIMEOUT_MS;

    for (size_t n = 0; n < parsed->sentinel_count; n++) {
        size_t i = (sentinel_preferred + n) % parsed->sentinel_count;
        redisContext *context = NULL;
        char host[256];
        int port, r;

        r = sentinel_ask(&parsed->sentinels[i], parsed->master_name, ask_ms, host,
                         sizeof(host), &port);
        if (r < 0)
            continue;

        r = open_context(host, port, NULL, timeout_ms, &context);
        if (r < 0)
            continue;

        r = prepare_context(context, parsed);
        if (r >= 0)
            r = check_master_role(context);
        if (r < 0) {
            redisFree(context);
            if (r == -EACCES)
                return r;
            continue;
        }

        sentinel_preferred = i;
        sentinel_note_master(parsed, context, host, port);
        *ret_context = context;
        return 0;
    }
    return -EHOSTUNREACH;
}

int redis_connect(const char *url, int timeout_ms, redisContext **ret_context)
{
    struct redis_url parsed;
    redisContext *context = NULL;
    int r;

    r = redis_url_parse(url, &parsed);
    if (r < 0)
        return r;

    if (parsed.master_name[0])
        return sentinel_connect(&parsed, timeout_ms, ret_context);

    r = open_context(parsed.host, parsed.port, parsed.socket_path, timeout_ms, &context);
    if (r < 0)
        return r;

    r = prepare_context(context, &parsed);
    if (r < 0) {
        redisFree(context);
        return r;
    }

    *ret_context = context;
    return 0;
}
