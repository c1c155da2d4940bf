/* Connecting to Redis from a URL, shared by the worker, the supervisor and the CLI. */
#ifndef CCX_COMMON_REDIS_CONN_H
#define CCX_COMMON_REDIS_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#define REDIS_SENTINELS_MAX 8
#define REDIS_MASTER_NAME_SIZE 128

struct redis_endpoint {
    char host[256];
    int port;
};

struct redis_url {
    char host[256];      /* empty for a unix socket and for Sentinel */
    int port;
    char socket_path[256]; /* set for unix:///path */
    char password[256];  /* empty when none; the master's, never sent to a sentinel */
    int db;
    /* redis-sentinel://: the master's name and the sentinels to ask, in order. */
    char master_name[REDIS_MASTER_NAME_SIZE]; /* empty unless Sentinel */
    size_t sentinel_count;
    struct redis_endpoint sentinels[REDIS_SENTINELS_MAX];
};

/* Parses redis://[:password@]host[:port][/db], unix:///path[?db=N] and
 * redis-sentinel://[:password@]host[:port][,host[:port]...]/name[?db=N] (sentinel port
 * 26379 by default). Returns 0 or -EINVAL. */
int redis_url_parse(const char *url, struct redis_url *ret_url);

/* The URL to use: the given one, else $CCX_REDIS_URL, else the config's, else
 * redis://127.0.0.1:6379. Never NULL. */
const char *redis_url_choose(const char *given, const char *from_config);

/* Connects, authenticates and selects the database; every later command times out after
 * timeout_ms. Returns 0 and *ret_context, or -errno (-ECONNREFUSED, -ETIMEDOUT, -EACCES for a
 * refused password, -EINVAL for a bad URL, -EIO otherwise).
 * With a Sentinel URL, asks the sentinels in turn for the master's address, connects to it
 * and checks with ROLE that it is a master (a sentinel may not have seen a failover yet);
 * -EHOSTUNREACH when no sentinel named a master that says so. Logs nothing, except
 * event=redis_master_changed once when this process finds the master at another address
 * than the last time. */
int redis_connect(const char *url, int timeout_ms, redisContext **ret_context);

/* Whether an error reply says this server cannot serve ccx now but a master elsewhere may:
 * READONLY (a replica), LOADING, MASTERDOWN. Callers drop the connection; the next
 * redis_connect finds the master again. */
bool redis_reply_means_failover(const char *text);

/* How many master changes this process has seen (event=redis_master_changed). */
unsigned redis_master_changes(void);

/* hiredis's ctx->err mapped to -errno. */
int redis_error_to_errno(const redisContext *context);

#endif
