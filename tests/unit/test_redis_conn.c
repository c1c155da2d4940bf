/* common/redis_conn.c: URL parsing, the choice between URLs, and the failures that need no
 * server (a bad URL, a closed port). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/redis_conn.h"

static struct redis_url parse_ok(const char *text)
{
    struct redis_url url;

    memset(&url, 0x5a, sizeof(url));
    cr_assert_eq(redis_url_parse(text, &url), 0, "refused %s", text);
    return url;
}

Test(redis_conn, parses_host_and_port)
{
    struct redis_url url = parse_ok("redis://127.0.0.1:6380");

    cr_assert_str_eq(url.host, "127.0.0.1");
    cr_assert_eq(url.port, 6380);
    cr_assert_str_empty(url.password);
    cr_assert_str_empty(url.socket_path);
    cr_assert_eq(url.db, 0);
}

Test(redis_conn, port_defaults_to_6379)
{
    struct redis_url url = parse_ok("redis://cache.internal");

    cr_assert_str_eq(url.host, "cache.internal");
    cr_assert_eq(url.port, 6379);
}

Test(redis_conn, parses_database_number)
{
    struct redis_url url = parse_ok("redis://localhost:6379/3");

    cr_assert_str_eq(url.host, "localhost");
    cr_assert_eq(url.db, 3);
}

Test(redis_conn, trailing_slash_means_database_zero)
{
    cr_assert_eq(parse_ok("redis://localhost/").db, 0);
}

Test(redis_conn, parses_password_without_user)
{
    struct redis_url url = parse_ok("redis://:s3cret@db.example:7000/2");

    cr_assert_str_eq(url.password, "s3cret");
    cr_assert_str_eq(url.host, "db.example");
    cr_assert_eq(url.port, 7000);
    cr_assert_eq(url.db, 2);
}

Test(redis_conn, accepts_default_user)
{
    cr_assert_str_eq(parse_ok("redis://default:pw@h").password, "pw");
}

Test(redis_conn, decodes_percent_escapes_in_password)
{
    cr_assert_str_eq(parse_ok("redis://:p%40ss%3Aw%2fd@h").password, "p@ss:w/d");
}

Test(redis_conn, last_at_sign_ends_the_password)
{
    struct redis_url url = parse_ok("redis://:a@b@host");

    cr_assert_str_eq(url.password, "a@b");
    cr_assert_str_eq(url.host, "host");
}

Test(redis_conn, parses_bracketed_ipv6)
{
    struct redis_url url = parse_ok("redis://[::1]:6390");

    cr_assert_str_eq(url.host, "::1");
    cr_assert_eq(url.port, 6390);
}

Test(redis_conn, parses_unix_socket)
{
    struct redis_url url = parse_ok("unix:///run/redis/redis.sock");

    cr_assert_str_eq(url.socket_path, "/run/redis/redis.sock");
    cr_assert_str_empty(url.host);
    cr_assert_eq(url.db, 0);
}

Test(redis_conn, parses_unix_socket_database)
{
    struct redis_url url = parse_ok("unix:///tmp/r.sock?db=5");

    cr_assert_str_eq(url.socket_path, "/tmp/r.sock");
    cr_assert_eq(url.db, 5);
}

Test(redis_conn, rejects_malformed_urls)
{
    static const char *const bad[] = {
        "",
        "localhost:6379",
        "http://localhost",
        "rediss://localhost",
        "redis://",
        "redis://:6379",
        "redis://host:0",
        "redis://host:65536",
        "redis://host:port",
        "redis://host:",
        "redis://host/db",
        "redis://host/-1",
        "redis://host/99999999999",
        "redis://alice:pw@host",
        "redis://:p%4@host",
        "redis://:p%00@host",
        "redis://[::1",
        "redis://[::1]x",
        "unix://relative.sock",
        "unix://",
        "unix:///tmp/r.sock?database=1",
        "unix:///tmp/r.sock?db=x",
    };
    struct redis_url url;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(redis_url_parse(bad[i], &url), -EINVAL, "accepted \"%s\"", bad[i]);
    cr_assert_eq(redis_url_parse(NULL, &url), -EINVAL);
}

Test(redis_conn, rejects_host_too_long)
{
    char text[400] = "redis://";
    struct redis_url url;

    memset(text + 8, 'h', 300);
    text[308] = '\0';
    cr_assert_eq(redis_url_parse(text, &url), -EINVAL);
}

Test(redis_conn, failed_parse_leaves_output_untouched)
{
    struct redis_url url;

    memset(&url, 0x5a, sizeof(url));
    cr_assert_eq(redis_url_parse("redis://host:0", &url), -EINVAL);
    cr_assert_eq((unsigned char)url.host[0], 0x5a);
}

Test(redis_conn, choose_prefers_given_url)
{
    setenv("CCX_REDIS_URL", "redis://env", 1);
    cr_assert_str_eq(redis_url_choose("redis://given", "redis://config"), "redis://given");
}

Test(redis_conn, choose_prefers_env_over_config)
{
    setenv("CCX_REDIS_URL", "redis://env", 1);
    cr_assert_str_eq(redis_url_choose(NULL, "redis://config"), "redis://env");
    cr_assert_str_eq(redis_url_choose("", "redis://config"), "redis://env");
}

Test(redis_conn, choose_falls_back_to_config_then_default)
{
    unsetenv("CCX_REDIS_URL");
    cr_assert_str_eq(redis_url_choose(NULL, "redis://config"), "redis://config");
    cr_assert_str_eq(redis_url_choose(NULL, NULL), "redis://127.0.0.1:6379");
    cr_assert_str_eq(redis_url_choose("", ""), "redis://127.0.0.1:6379");
}

Test(redis_conn, connect_with_bad_url_is_einval)
{
    redisContext *context = NULL;

    cr_assert_eq(redis_connect("redis://host:0", 100, &context), -EINVAL);
    cr_assert_null(context);
}

/* A loopback port nobody listens on: bound, read back, then closed again. */
static int closed_port(void)
{
    struct sockaddr_in addr = { .sin_family = AF_INET };
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert_geq(fd, 0);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

Test(redis_conn, connect_to_closed_port_is_econnrefused)
{
    redisContext *context = NULL;
    char url[64];

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", closed_port());
    cr_assert_eq(redis_connect(url, 1000, &context), -ECONNREFUSED);
    cr_assert_null(context);
}

Test(redis_conn, connect_to_missing_socket_is_enoent)
{
    redisContext *context = NULL;

    cr_assert_eq(redis_connect("unix:///nonexistent/ccx-redis.sock", 1000, &context), -ENOENT);
    cr_assert_null(context);
}

Test(redis_conn, error_mapping_of_context_codes)
{
    redisContext context = { 0 };

    cr_assert_eq(redis_error_to_errno(&context), 0);
    context.err = REDIS_ERR_OOM;
    cr_assert_eq(redis_error_to_errno(&context), -ENOMEM);
    context.err = REDIS_ERR_PROTOCOL;
    cr_assert_eq(redis_error_to_errno(&context), -EPROTO);
    context.err = REDIS_ERR_EOF;
    cr_assert_eq(redis_error_to_errno(&context), -EIO);
    context.err = REDIS_ERR_IO;
    snprintf(context.errstr, sizeof(context.errstr), "%s", strerror(EAGAIN));
    cr_assert_eq(redis_error_to_errno(&context), -ETIMEDOUT);
    snprintf(context.errstr, sizeof(context.errstr), "%s", strerror(ECONNREFUSED));
    cr_assert_eq(redis_error_to_errno(&context), -ECONNREFUSED);
    cr_assert_eq(redis_error_to_errno(NULL), -ENOMEM);
}

Test(redis_conn, parses_sentinel_list_and_master_name)
{
    struct redis_url url = parse_ok("redis-sentinel://h1:26380,10.0.0.2,[::1]:5000/mymaster");

    cr_assert_str_eq(url.master_name, "mymaster");
    cr_assert_eq(url.sentinel_count, 3);
    cr_assert_str_eq(url.sentinels[0].host, "h1");
    cr_assert_eq(url.sentinels[0].port, 26380);
    cr_assert_str_eq(url.sentinels[1].host, "10.0.0.2");
    cr_assert_eq(url.sentinels[1].port, 26379);
    cr_assert_str_eq(url.sentinels[2].host, "::1");
    cr_assert_eq(url.sentinels[2].port, 5000);
    cr_assert_str_empty(url.host);
    cr_assert_str_empty(url.socket_path);
    cr_assert_str_empty(url.password);
    cr_assert_eq(url.db, 0);
}

Test(redis_conn, parses_sentinel_password_and_database)
{
    struct redis_url url = parse_ok("redis-sentinel://:p%40ss@s1:1/cache-1.eu_w?db=3");

    cr_assert_str_eq(url.password, "p@ss");
    cr_assert_eq(url.sentinel_count, 1);
    cr_assert_str_eq(url.sentinels[0].host, "s1");
    cr_assert_eq(url.sentinels[0].port, 1);
    cr_assert_str_eq(url.master_name, "cache-1.eu_w");
    cr_assert_eq(url.db, 3);
}

Test(redis_conn, plain_urls_have_no_master_name)
{
    cr_assert_str_empty(parse_ok("redis://127.0.0.1:6380").master_name);
    cr_assert_eq(parse_ok("unix:///tmp/r.sock").sentinel_count, 0);
}

Test(redis_conn, rejects_malformed_sentinel_urls)
{
    static const char *const bad[] = {
        "redis-sentinel://",
        "redis-sentinel://h1",             /* no master name */
        "redis-sentinel://h1/",            /* empty name */
        "redis-sentinel:///mymaster",      /* no sentinel */
        "redis-sentinel://h1,/mymaster",   /* trailing comma */
        "redis-sentinel://,h1/mymaster",   /* empty first host */
        "redis-sentinel://h1,,h2/mymaster",
        "redis-sentinel://h1:0/mymaster",
        "redis-sentinel://h1:65536/mymaster",
        "redis-sentinel://h1:/mymaster",
        "redis-sentinel://h1/my master",
        "redis-sentinel://h1/my/master",
        "redis-sentinel://h1/mymaster?db=",
        "redis-sentinel://h1/mymaster?db=x",
        "redis-sentinel://h1/mymaster?timeout=1",
        "redis-sentinel://bob:pw@h1/mymaster",
        "redis-sentinel://a,b,c,d,e,f,g,h,i/mymaster", /* more than REDIS_SENTINELS_MAX */
    };
    struct redis_url url;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(redis_url_parse(bad[i], &url), -EINVAL, "accepted \"%s\"", bad[i]);
}

Test(redis_conn, sentinel_list_of_the_most_sentinels_parses)
{
    cr_assert_eq(parse_ok("redis-sentinel://a,b,c,d,e,f,g,h/m").sentinel_count, 8);
}

Test(redis_conn, no_sentinel_answering_is_ehostunreach)
{
    redisContext *context = NULL;
    char url[96];

    snprintf(url, sizeof(url), "redis-sentinel://127.0.0.1:%d,127.0.0.1:%d/mymaster",
             closed_port(), closed_port());
    cr_assert_eq(redis_connect(url, 1000, &context), -EHOSTUNREACH);
    cr_assert_null(context);
}

Test(redis_conn, failover_replies_are_recognised)
{
    cr_assert(redis_reply_means_failover("READONLY You can't write against a read only "
                                         "replica."));
    cr_assert(redis_reply_means_failover("LOADING Redis is loading the dataset in memory"));
    cr_assert(redis_reply_means_failover("MASTERDOWN Link with MASTER is down"));
    cr_assert(redis_reply_means_failover("READONLY"));
    cr_assert_not(redis_reply_means_failover("READONLYX"));
    cr_assert_not(redis_reply_means_failover("ERR unknown command"));
    cr_assert_not(redis_reply_means_failover("WRONGTYPE Operation against a key"));
    cr_assert_not(redis_reply_means_failover(NULL));
}
