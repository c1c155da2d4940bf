/* Reading checked fields out of a JSON file with jansson, shared by the config and the policy
 * loaders: every error names the file, the field (as a dotted path) and the reason. */
#include "json_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

int jr_fail(struct jr_file *parser, const char *field, const char *fmt, ...)
{
    char reason[JR_FIELD_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);

    if (parser->err && parser->err_size > 0)
        snprintf(parser->err, parser->err_size, "%s: %s: %s", parser->path, field, reason);
    return -EINVAL;
}

int jr_oom(struct jr_file *parser)
{
    if (parser->err && parser->err_size > 0)
        snprintf(parser->err, parser->err_size, "%s: out of memory", parser->path);
    return -ENOMEM;
}

/* The path of key inside prefix: "limits" + "wall_ms" -> "limits.wall_ms". A path too long
 * for buf is cut: it only ever ends up in an error message. */
const char *jr_join(char buf[JR_FIELD_MAX], const char *prefix, const char *key)
{
    bool nested = prefix && prefix[0];
    int n = snprintf(buf, JR_FIELD_MAX, "%s%s%s", nested ? prefix : "", nested ? "." : "",
                     key);

    if (n < 0)
        buf[0] = '\0';
    return buf;
}

bool jr_name_in(const char *name, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(name, names[i]) == 0)
            return true;
    }
    return false;
}

/* Fails on the first key of obj that is not among allowed, naming the keys that are. */
int jr_check_keys(struct jr_file *parser, json_t *obj, const char *prefix,
                             const char *const *allowed, size_t count)
{
    const char *key;
    json_t *value;

    json_object_foreach(obj, key, value) {
        char field[JR_FIELD_MAX];
        char expected[JR_FIELD_MAX] = "";
        size_t len = 0;

        if (jr_name_in(key, allowed, count))
            continue;

        for (size_t i = 0; i < count && len < sizeof(expected); i++)
            len += (size_t)snprintf(expected + len, sizeof(expected) - len, "%s%s",
                                    i ? ", " : "", allowed[i]);
        return jr_fail(parser, jr_join(field, prefix, key),
                           "unknown field (expected one of: %s)", expected);
    }
    return 0;
}

int jr_want_object(struct jr_file *parser, json_t *value, const char *field)
{
    if (!value)
        return jr_fail(parser, field, "is missing");
    if (!json_is_object(value))
        return jr_fail(parser, field, "must be an object");
    return 0;
}

/* An integer in [min, max]. A missing field takes def, or is an error when required. */
int jr_u64(struct jr_file *parser, json_t *obj, const char *prefix,
                      const char *key, bool required, uint64_t def, uint64_t min, uint64_t max,
                      uint64_t *ret)
{
    json_t *value = json_object_get(obj, key);
    char field[JR_FIELD_MAX];
    json_int_t n;

    jr_join(field, prefix, key);
    if (!value) {
        if (required)
            return jr_fail(parser, field, "is missing");
        *ret = def;
        return 0;
    }

    if (!json_is_integer(value))
        return jr_fail(parser, field, "must be an integer");

    n = json_integer_value(value);
    if (n < 0 || (uint64_t)n < min) {
        if (min == 1)
            return jr_fail(parser, field, "must be greater than 0 (it is %lld)", n);
        return jr_fail(parser, field, "must be at least %llu (it is %lld)",
                           (unsigned long long)min, n);
    }
    if ((uint64_t)n > max)
        return jr_fail(parser, field, "must be at most %llu (it is %lld)",
                           (unsigned long long)max, n);

    *ret = (uint64_t)n;
    return 0;
}

/* A non-empty string, copied. A missing field takes a copy of def, or is an error when def is
 * NULL. */
int jr_string(struct jr_file *parser, json_t *obj, const char *prefix,
                         const char *key, const char *def, char **ret)
{
    json_t *value = json_object_get(obj, key);
    char field[JR_FIELD_MAX];
    const char *text;

    jr_join(field, prefix, key);
    if (!value && !def)
        return jr_fail(parser, field, "is missing");

    if (value && !json_is_string(value))
        return jr_fail(parser, field, "must be a string");

    text = value ? json_string_value(value) : def;
    if (text[0] == '\0')
        return jr_fail(parser, field, "must not be empty");
    if (value && strlen(text) != json_string_length(value))
        return jr_fail(parser, field, "must not contain NUL characters");

    *ret = strdup(text);
    if (!*ret)
        return jr_oom(parser);
    return 0;
}

/* True when one of path's components is "..". */
bool jr_path_has_dotdot(const char *path)
{
    const char *part = path;

    while (part) {
        const char *slash = strchr(part, '/');
        size_t len = slash ? (size_t)(slash - part) : strlen(part);

        if (len == 2 && part[0] == '.' && part[1] == '.')
            return true;
        part = slash ? slash + 1 : NULL;
    }
    return false;
}

int jr_absolute_path(struct jr_file *parser, const char *field,
                                const char *path)
{
    if (path[0] != '/')
        return jr_fail(parser, field, "must be an absolute path (it is \"%s\")", path);
    if (jr_path_has_dotdot(path))
        return jr_fail(parser, field, "must not contain \"..\" (it is \"%s\")", path);
    return 0;
}

void jr_strv_free(char **strv)
{
    if (!strv)
        return;

    for (size_t i = 0; strv[i]; i++)
        free(strv[i]);
    free(strv);
}

/* A JSON array of strings as a NULL-terminated copy. non_empty: at least one element, and the
 * first one (a program) not empty. */
int jr_strv(struct jr_file *parser, json_t *value, const char *field,
                       bool non_empty, char ***ret)
{
    char **strv;
    size_t count;

    if (!value)
        return jr_fail(parser, field, "is missing");
    if (!json_is_array(value))
        return jr_fail(parser, field, "must be an array of strings");

    count = json_array_size(value);
    if (non_empty && count == 0)
        return jr_fail(parser, field, "must not be empty");

    strv = calloc(count + 1, sizeof(*strv));
    if (!strv)
        return jr_oom(parser);

    for (size_t i = 0; i < count; i++) {
        json_t *item = json_array_get(value, i);
        char item_field[JR_FIELD_MAX];

        snprintf(item_field, sizeof(item_field), "%s[%zu]", field, i);
        if (!json_is_string(item)) {
            jr_strv_free(strv);
            return jr_fail(parser, item_field, "must be a string");
        }
        if (strlen(json_string_value(item)) != json_string_length(item) ||
            (i == 0 && non_empty && json_string_length(item) == 0)) {
            jr_strv_free(strv);
            return jr_fail(parser, item_field, "must be a non-empty string without NUL");
        }

        strv[i] = strdup(json_string_value(item));
        if (!strv[i]) {
            jr_strv_free(strv);
            return jr_oom(parser);
        }
    }

    *ret = strv;
    return 0;
}

int jr_bool(struct jr_file *parser, json_t *obj, const char *prefix, const char *key, bool def,
            bool *ret)
{
    json_t *value = json_object_get(obj, key);
    char field[JR_FIELD_MAX];

    if (!value) {
        *ret = def;
        return 0;
    }
    if (!json_is_boolean(value))
        return jr_fail(parser, jr_join(field, prefix, key), "must be true or false");

    *ret = json_is_true(value);
    return 0;
}

int jr_path_beside(struct jr_file *parser, const char *value, char **ret)
{
    const char *slash = strrchr(parser->path, '/');

    if (value[0] == '/' || !slash) {
        *ret = strdup(value);
        return *ret ? 0 : jr_oom(parser);
    }
    if (asprintf(ret, "%.*s/%s", (int)(slash - parser->path), parser->path, value) < 0) {
        *ret = NULL;
        return jr_oom(parser);
    }
    return 0;
}

int jr_load(struct jr_file *parser, json_t **ret_root)
{
    _cleanup_fclose_ FILE *file = NULL;
    json_error_t json_err;
    int r;

    if (parser->err && parser->err_size > 0)
        parser->err[0] = '\0';

    file = fopen(parser->path, "re");
    if (!file) {
        r = -errno;
        if (parser->err && parser->err_size > 0)
            snprintf(parser->err, parser->err_size, "%s: cannot open: %s", parser->path,
                     strerror(-r));
        return r;
    }

    /* Duplicate keys are rejected: with two values for one field, one would be ignored. */
    *ret_root = json_loadf(file, JSON_REJECT_DUPLICATES, &json_err);
    if (!*ret_root) {
        if (parser->err && parser->err_size > 0)
            snprintf(parser->err, parser->err_size, "%s:%d:%d: invalid JSON: %s", parser->path,
                     json_err.line, json_err.column, json_err.text);
        return -EINVAL;
    }
    return 0;
}
