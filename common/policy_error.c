#include "policy_error.h"

#include <stdbool.h>
#include <string.h>

/* Field paths are made of names, dots and brackets; a reason such as "cannot open" has a
 * space, so it is never taken for one. */
static bool policy_error_is_field(const char *text, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._-[]", c)))
            return false;
    }
    return true;
}

void policy_error_split(const char *path, const char *err, char *field, size_t field_size,
                        const char **ret_reason)
{
    size_t path_len = path ? strlen(path) : 0;
    const char *rest = err;
    const char *colon;

    if (field_size > 0)
        field[0] = '\0';
    if (path_len > 0 && strncmp(err, path, path_len) == 0 && err[path_len] == ':')
        rest = err + path_len + 1;
    while (*rest == ' ' || (*rest >= '0' && *rest <= '9') || *rest == ':')
        rest++;

    colon = strstr(rest, ": ");
    if (colon && policy_error_is_field(rest, (size_t)(colon - rest)) &&
        (size_t)(colon - rest) < field_size) {
        memcpy(field, rest, (size_t)(colon - rest));
        field[colon - rest] = '\0';
        rest = colon + 2;
    }
    *ret_reason = rest;
}
