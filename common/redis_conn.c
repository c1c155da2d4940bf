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

#define REDIS_DEFAULT_URL "redis://127.0.0.1:6379"
#define REDIS_DEFAULT_PORT 6379

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
static int parse_unix(const char *rest, struct redis_url *url)
{
    const char *query = strchr(rest, '?');
    size_t path_len = query ? (size_t)(query - rest) : strlen(rest);

    if (path_len == 0 || rest[0] != '/')
        return -EINVAL;
    if (copy_part(url->socket_path, sizeof(url->socket_path), rest, path_len) < 0)
        return -EINVAL;

    if (!query)
        return 0;
    if (strncmp(query, "?db=", 4) != 0)
        return -EINVAL;
    return parse_number(query + 4, strlen(query + 4), 0, INT_MAX, &url->db);
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

/* host, host:port, [v6], [v6]:port */
static int parse_hostport(const char *text, size_t len, struct redis_url *url)
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

    if (host_len == 0 || copy_part(url->host, sizeof(url->host), host, host_len) < 0)
        return -EINVAL;

    if (!port)
        return 0;
    return parse_number(port, (size_t)(text + len - port), 1, 65535, &url->port);
}

/* redis://[userinfo@]host[:port][/db] */
static int parse_tcp(const char *rest, struct redis_url *url)
{
    const char *slash = strchr(rest, '/');
    size_t authority_len = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *at = NULL;
    int r;

    /* The last '@' ends the user part: an unencoded '@' in a password still parses. */
    for (size_t i = 0; i < authority_len; i++) {
        if (rest[i] == '@')
            at = rest + i;
    }

    if (at) {
        r = parse_userinfo(rest, (size_t)(at - rest), url);
        if (r < 0)
            return r;
        authority_len -= (size_t)(at + 1 - rest);
        rest = at + 1;
    }

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

int redis_connect(const char *url, int timeout_ms, redisContext **ret_context)
{
    struct timeval timeout = {
        .tv_sec = timeout_ms / 1000,
        .tv_usec = (timeout_ms % 1000) * 1000,
    };
    struct redis_url parsed;
    redisContext *context;
    char db[16];
    int r;

    r = redis_url_parse(url, &parsed);
    if (r < 0)
        return r;

    if (parsed.socket_path[0])
        context = redisConnectUnixWithTimeout(parsed.socket_path, timeout);
    else
        context = redisConnectWithTimeout(parsed.host, parsed.port, timeout);
    if (!context)
        return -ENOMEM;

    r = redis_error_to_errno(context);
    if (r >= 0 && redisSetTimeout(context, timeout) != REDIS_OK)
        r = -EIO;

    if (r >= 0 && parsed.password[0])
        r = redis_simple_command(context, -EACCES, "AUTH %s", parsed.password);

    if (r >= 0 && parsed.db != 0) {
        snprintf(db, sizeof(db), "%d", parsed.db);
        r = redis_simple_command(context, -EINVAL, "SELECT %s", db);
    }

    if (r < 0) {
        redisFree(context);
        return r;
    }

    *ret_context = context;
    return 0;
}
