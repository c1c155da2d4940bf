/* common/log.c: line format, quoting, levels and the journald form. Criterion runs each test
 * in its own process, so the environment and the logger's state do not leak between tests. */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/log.h"

/* Everything written to fd 2 between capture_begin and capture_end. */
struct capture {
    int saved_fd;
    FILE *file;
    char text[2 * PIPE_BUF];
};

static void capture_begin(struct capture *cap)
{
    cap->file = tmpfile();
    cr_assert_not_null(cap->file);
    cap->saved_fd = dup(STDERR_FILENO);
    cr_assert_geq(cap->saved_fd, 0);
    cr_assert_geq(dup2(fileno(cap->file), STDERR_FILENO), 0);
}

static const char *capture_end(struct capture *cap)
{
    size_t n;

    dup2(cap->saved_fd, STDERR_FILENO);
    close(cap->saved_fd);
    rewind(cap->file);
    n = fread(cap->text, 1, sizeof(cap->text) - 1, cap->file);
    cap->text[n] = '\0';
    fclose(cap->file);
    return cap->text;
}

static size_t count_char(const char *text, char c)
{
    size_t n = 0;

    for (; *text; text++)
        n += *text == c;
    return n;
}

static void unset_log_env(void)
{
    unsetenv("JOURNAL_STREAM");
    unsetenv("CCX_LOG_LEVEL");
}

TestSuite(log, .init = unset_log_env);

Test(log, quote_wraps_plain_value_in_quotes)
{
    char buf[LOG_QUOTE_SIZE];

    cr_assert_str_eq(log_quote(buf, "acme"), "\"acme\"");
}

Test(log, quote_returns_its_buffer)
{
    char buf[LOG_QUOTE_SIZE];

    cr_assert_eq(log_quote(buf, "x"), buf);
}

Test(log, quote_escapes_quotes_and_backslashes)
{
    char buf[LOG_QUOTE_SIZE];

    cr_assert_str_eq(log_quote(buf, "a\"b\\c"), "\"a\\\"b\\\\c\"");
}

Test(log, quote_escapes_newline_and_control_bytes)
{
    char buf[LOG_QUOTE_SIZE];

    cr_assert_str_eq(log_quote(buf, "a\nb\x01" "c\x7f"), "\"a\\nb\\x01c\\x7f\"");
}

Test(log, quote_of_null_is_empty_string)
{
    char buf[LOG_QUOTE_SIZE];

    cr_assert_str_eq(log_quote(buf, NULL), "\"\"");
}

Test(log, quote_caps_long_value_at_256_bytes)
{
    char buf[LOG_QUOTE_SIZE];
    char value[1000];
    char expected[300];

    memset(value, 'a', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    expected[0] = '"';
    memset(expected + 1, 'a', 256);
    strcpy(expected + 257, "...\"");

    cr_assert_str_eq(log_quote(buf, value), expected);
}

Test(log, quote_keeps_value_of_exactly_256_bytes_whole)
{
    char buf[LOG_QUOTE_SIZE];
    char value[257];

    memset(value, 'b', 256);
    value[256] = '\0';
    log_quote(buf, value);

    cr_assert_eq(strlen(buf), 258);
    cr_assert_null(strstr(buf, "..."));
}

Test(log, quote_of_control_bytes_stays_inside_buffer)
{
    char buf[LOG_QUOTE_SIZE + 16];
    char value[400];

    memset(buf, 'Z', sizeof(buf));
    memset(value, '\x02', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    log_quote(buf, value);

    cr_assert_lt(strlen(buf), LOG_QUOTE_SIZE);
    cr_assert_eq(buf[LOG_QUOTE_SIZE], 'Z', "wrote past LOG_QUOTE_SIZE");
    cr_assert_str_eq(buf + strlen(buf) - 4, "...\"");
}

Test(log, level_parse_knows_the_four_names)
{
    cr_assert_eq(log_level_parse("err"), LOG_LEVEL_ERR);
    cr_assert_eq(log_level_parse("warn"), LOG_LEVEL_WARN);
    cr_assert_eq(log_level_parse("info"), LOG_LEVEL_INFO);
    cr_assert_eq(log_level_parse("debug"), LOG_LEVEL_DEBUG);
}

Test(log, level_parse_rejects_other_names)
{
    cr_assert_eq(log_level_parse("warning"), -EINVAL);
    cr_assert_eq(log_level_parse(""), -EINVAL);
    cr_assert_eq(log_level_parse(NULL), -EINVAL);
}

Test(log, env_level_overrides_caller_level)
{
    setenv("CCX_LOG_LEVEL", "debug", 1);
    log_init("worker", 1, LOG_LEVEL_WARN);

    cr_assert_eq(log_max_level, LOG_LEVEL_DEBUG);
}

Test(log, bad_env_level_keeps_caller_level)
{
    setenv("CCX_LOG_LEVEL", "loud", 1);
    log_init("worker", 1, LOG_LEVEL_WARN);

    cr_assert_eq(log_max_level, LOG_LEVEL_WARN);
}

Test(log, line_has_every_key_in_order)
{
    struct capture cap;
    regex_t re;
    const char *line;

    log_init("worker", 3, LOG_LEVEL_INFO);
    capture_begin(&cap);
    log_write(LOG_LEVEL_WARN, "9c1e", "acme", "cgroup_write_failed", "file=%s errno=%d",
              "memory.max", 16);
    line = capture_end(&cap);

    cr_assert_eq(regcomp(&re,
                         "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                         "level=warn comp=worker worker=3 job_id=\"9c1e\" tenant=\"acme\" "
                         "event=cgroup_write_failed file=memory.max errno=16\n$",
                         REG_EXTENDED | REG_NOSUB),
                 0);
    cr_assert_eq(regexec(&re, line, 0, NULL, 0), 0, "line: %s", line);
    regfree(&re);
}

Test(log, line_leaves_out_worker_when_slot_is_negative)
{
    struct capture cap;
    const char *line;

    log_init("supervisor", -1, LOG_LEVEL_INFO);
    capture_begin(&cap);
    log_info("started", "workers=%d", 4);
    line = capture_end(&cap);

    cr_assert_not_null(strstr(line, "level=info comp=supervisor event=started workers=4\n"),
                       "line: %s", line);
    cr_assert_null(strstr(line, "worker="));
}

Test(log, line_without_fmt_ends_after_event)
{
    struct capture cap;
    const char *line;

    log_init("worker", 0, LOG_LEVEL_INFO);
    capture_begin(&cap);
    log_write(LOG_LEVEL_INFO, NULL, NULL, "idle", NULL);
    line = capture_end(&cap);

    cr_assert_not_null(strstr(line, "event=idle\n"), "line: %s", line);
}

Test(log, journal_stream_drops_ts_and_adds_priority)
{
    struct capture cap;
    const char *line;

    setenv("JOURNAL_STREAM", "8:12345", 1);
    log_init("worker", 2, LOG_LEVEL_INFO);
    capture_begin(&cap);
    log_warn("slow_job", "wall_ms=%d", 900);
    line = capture_end(&cap);

    cr_assert_str_eq(line, "<4>level=warn comp=worker worker=2 event=slow_job wall_ms=900\n");
}

Test(log, level_above_max_writes_nothing)
{
    struct capture cap;
    const char *text;

    log_init("worker", 0, LOG_LEVEL_INFO);
    capture_begin(&cap);
    log_debug("noise", "n=%d", 1);
    text = capture_end(&cap);

    cr_assert_str_empty(text);
}

Test(log, job_macro_adds_quoted_id_and_tenant)
{
    struct {
        const char *id;
        const char *tenant;
    } job = { "job\n1", "ac\"me" };
    struct capture cap;
    const char *line;

    log_init("worker", 0, LOG_LEVEL_INFO);
    capture_begin(&cap);
    log_job(&job, LOG_LEVEL_INFO, "job_done", "status=%s", "ok");
    line = capture_end(&cap);

    cr_assert_not_null(strstr(line, "job_id=\"job\\n1\" tenant=\"ac\\\"me\" event=job_done"),
                       "line: %s", line);
    cr_assert_eq(count_char(line, '\n'), 1, "a client value split the line");
}

Test(log, long_line_is_cut_to_one_atomic_write)
{
    struct capture cap;
    char big[3 * PIPE_BUF];
    const char *line;
    size_t len;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_init("worker", 0, LOG_LEVEL_INFO);
    capture_begin(&cap);
    log_info("big", "data=%s", big);
    line = capture_end(&cap);
    len = strlen(line);

    cr_assert_leq(len, PIPE_BUF);
    cr_assert_str_eq(line + len - 4, "...\n");
    cr_assert_eq(count_char(line, '\n'), 1);
}

Test(log, write_keeps_errno)
{
    struct capture cap;

    log_init("worker", 0, LOG_LEVEL_INFO);
    capture_begin(&cap);
    errno = EBUSY;
    log_info("x", NULL);
    cr_assert_eq(errno, EBUSY);
    capture_end(&cap);
}
