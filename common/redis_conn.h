/* Connecting to Redis from a URL, shared by the worker, the supervisor and the CLI. */
#ifndef CCX_COMMON_REDIS_CONN_H
#define CCX_COMMON_REDIS_CONN_H

#include <hiredis/hiredis.h>

struct redis_url {
    char host[256];      /* empty for a unix socket */
    int port;
    char socket_path[256]; /* set for unix:///path */
    char password[256];  /* empty when none */
    int db;
};

/* Parses redis://[:password@]host[:port][/db] and unix:///path[?db=N]. Returns 0 or -EINVAL. */
int redis_url_parse(const char *url, struct redis_url *ret_url);

/* The URL to use: the given one, else $CCX_REDIS_URL, else the config's, else
 * redis://127.0.0.1:6379. Never NULL. */
const char *redis_url_choose(const char *given, const char *from_config);

/* Connects, authenticates and selects the database; every later command times out after
 * timeout_ms. Returns 0 and *ret_context, or -errno (-ECONNREFUSED, -ETIMEDOUT, -EACCES for a
 * refused password, -EINVAL for a bad URL, -EIO otherwise). Does not log. */
int redis_connect(const char *url, int timeout_ms, redisContext **ret_context);

/* hiredis's ctx->err mapped to -errno. */
int redis_error_to_errno(const redisContext *context);

#endif
