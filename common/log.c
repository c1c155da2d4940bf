/* Logging: key=value lines on stderr, one write(2) per line. */
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How much of a client value log_quote copies, and how much room its escaped form may take:
 * the opening quote, "...", the closing quote and the NUL fit in the rest of the buffer. */
#define QUOTE_INPUT_MAX 256
#define QUOTE_ESCAPED_MAX (LOG_QUOTE_SIZE - 6)

/* A line is written with one write(2). Up to PIPE_BUF bytes that write is atomic on a pipe,
 * so lines from the supervisor and its workers sharing one stderr never interleave. */
#define LOG_LINE_MAX PIPE_BUF

enum log_level log_max_level = LOG_LEVEL_INFO;

static char log_component[32] = "ccx";
static int log_worker_slot = -1;

static const char *log_level_name(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_ERR:
        return "err";
    case LOG_LEVEL_WARN:
        return "warn";
    case LOG_LEVEL_INFO:
        return "info";
    case LOG_LEVEL_DEBUG:
        return "debug";
    }
    return "info";
}

int log_level_parse(const char *name)
{
    static const enum log_level levels[] = {
        LOG_LEVEL_ERR,
        LOG_LEVEL_WARN,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
    };

    if (!name)
        return -EINVAL;

    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcmp(name, log_level_name(levels[i])) == 0)
            return levels[i];
    }
    return -EINVAL;
}

void log_init(const char *component, int worker_slot, enum log_level max_level)
{
    const char *env = getenv("CCX_LOG_LEVEL");
    int parsed;

    snprintf(log_component, sizeof(log_component), "%s", component ? component : "ccx");
    log_worker_slot = worker_slot;
    log_max_level = max_level;

    /* An unparsable CCX_LOG_LEVEL keeps the caller's level: logging must not be the reason a
     * binary fails to start. */
    parsed = log_level_parse(env);
    if (parsed >= 0)
        log_max_level = (enum log_level)parsed;
}

/* The escaped form of one byte, written to out (room for 4 bytes). Returns its length. */
static size_t quote_byte(unsigned char c, char *out)
{
    static const char hex[] = "0123456789abcdef";

    switch (c) {
    case '"':
    case '\\':
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    case '\n':
        memcpy(out, "\\n", 2);
        return 2;
    case '\r':
        memcpy(out, "\\r", 2);
        return 2;
    case '\t':
        memcpy(out, "\\t", 2);
        return 2;
    }

    if (c < 0x20 || c == 0x7f) {
        out[0] = '\\';
        out[1] = 'x';
        out[2] = hex[c >> 4];
        out[3] = hex[c & 0xf];
        return 4;
    }

    out[0] = (char)c;
    return 1;
}

const char *log_quote(char buf[LOG_QUOTE_SIZE], const char *value)
{
    size_t in = 0;
    size_t out = 0;

    buf[out++] = '"';

    /* Stop at 256 bytes of input, or earlier when the escaped form would overflow buf (a value
     * made only of control bytes takes four bytes per input byte). */
    while (value && value[in] && in < QUOTE_INPUT_MAX) {
        char escaped[4];
        size_t len = quote_byte((unsigned char)value[in], escaped);

        if (out - 1 + len > QUOTE_ESCAPED_MAX)
            break;
        memcpy(buf + out, escaped, len);
        out += len;
        in++;
    }

    if (value && value[in]) {
        memcpy(buf + out, "...", 3);
        out += 3;
    }

    buf[out++] = '"';
    buf[out] = '\0';
    return buf;
}

/* Appends to a line buffer; once it is full, later appends do nothing. */
struct log_line {
    char buf[LOG_LINE_MAX];
    size_t len;
    bool truncated;
};

static void line_vappend(struct log_line *line, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void line_vappend(struct log_line *line, const char *fmt, va_list ap)
{
    size_t room = sizeof(line->buf) - line->len;
    int n;

    if (line->truncated)
        return;

    n = vsnprintf(line->buf + line->len, room, fmt, ap);
    if (n < 0)
        return;

    if ((size_t)n >= room) {
        line->len = sizeof(line->buf) - 1;
        line->truncated = true;
        return;
    }
    line->len += (size_t)n;
}

static void line_append(struct log_line *line, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void line_append(struct log_line *line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    line_vappend(line, fmt, ap);
    va_end(ap);
}

static void line_append_timestamp(struct log_line *line)
{
    struct timespec now;
    struct tm tm;
    char stamp[32];

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    line_append(line, "ts=%s.%03ldZ ", stamp, now.tv_nsec / 1000000);
}

/* Ends the line with a newline; a cut line ends in "..." so that readers see it was cut. */
static void line_finish(struct log_line *line)
{
    if (line->truncated)
        line->len = sizeof(line->buf) - 5;

    while (line->len > 0 && line->buf[line->len - 1] == ' ')
        line->len--;

    if (line->truncated) {
        memcpy(line->buf + line->len, "...", 3);
        line->len += 3;
    }
    line->buf[line->len++] = '\n';
}

static void line_write(const struct log_line *line)
{
    size_t done = 0;

    while (done < line->len) {
        ssize_t n = write(STDERR_FILENO, line->buf + done, line->len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        done += (size_t)n;
    }
}

void log_write(enum log_level level, const char *job_id, const char *tenant, const char *event,
               const char *fmt, ...)
{
    int saved_errno = errno;
    struct log_line line = { .len = 0 };
    char quoted[LOG_QUOTE_SIZE];
    const char *journal = getenv("JOURNAL_STREAM");

    /* Under journald the journal stamps each line itself and reads the priority prefix. */
    if (journal && journal[0])
        line_append(&line, "<%d>", (int)level);
    else
        line_append_timestamp(&line);

    line_append(&line, "level=%s comp=%s ", log_level_name(level), log_component);
    if (log_worker_slot >= 0)
        line_append(&line, "worker=%d ", log_worker_slot);
    if (job_id)
        line_append(&line, "job_id=%s ", log_quote(quoted, job_id));
    if (tenant)
        line_append(&line, "tenant=%s ", log_quote(quoted, tenant));
    line_append(&line, "event=%s ", event ? event : "unknown");

    if (fmt) {
        va_list ap;

        va_start(ap, fmt);
        line_vappend(&line, fmt, ap);
        va_end(ap);
    }

    line_finish(&line);
    line_write(&line);
    errno = saved_errno;
}
