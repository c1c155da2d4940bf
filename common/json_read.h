/* Reading checked fields out of a JSON file (jansson), for the config and the policy loaders.
 * Every failure writes "<file>: <field>: <reason>" into the reader's error buffer, with the
 * field as a dotted path ("tenants.acme.quotas.burst"), and returns -EINVAL (-ENOMEM for
 * memory). Fields are looked up in obj under prefix, the path of obj itself. */
#ifndef CCX_COMMON_JSON_READ_H
#define CCX_COMMON_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define JR_FIELD_MAX 512

/* The file being read and where its errors go. */
struct jr_file {
    const char *path;
    char *err;
    size_t err_size;
};

/* Opens and parses the file (duplicate keys refused). Returns 0 and *ret_root (json_decref
 * it), or -errno with the message written. */
int jr_load(struct jr_file *parser, json_t **ret_root);

/* Writes the message and returns -EINVAL. */
int jr_fail(struct jr_file *parser, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int jr_oom(struct jr_file *parser);

/* "limits" + "wall_ms" -> "limits.wall_ms" in buf (cut when too long: it only ever ends up
 * in a message). Returns buf. */
const char *jr_join(char buf[JR_FIELD_MAX], const char *prefix, const char *key);

bool jr_name_in(const char *name, const char *const *names, size_t count);

/* Fails on the first key of obj that is not among allowed, naming the keys that are. */
int jr_check_keys(struct jr_file *parser, json_t *obj, const char *prefix,
                  const char *const *allowed, size_t count);

/* Fails unless value is an object ("is missing" when it is NULL). */
int jr_want_object(struct jr_file *parser, json_t *value, const char *field);

/* An integer in [min, max]. A missing field takes def, or is an error when required. */
int jr_u64(struct jr_file *parser, json_t *obj, const char *prefix, const char *key,
           bool required, uint64_t def, uint64_t min, uint64_t max, uint64_t *ret);

/* A non-empty string without NUL, copied. A missing field takes a copy of def, or is an
 * error when def is NULL. */
int jr_string(struct jr_file *parser, json_t *obj, const char *prefix, const char *key,
              const char *def, char **ret);

/* true or false; a missing field takes def. */
int jr_bool(struct jr_file *parser, json_t *obj, const char *prefix, const char *key, bool def,
            bool *ret);

/* A JSON array of strings as a NULL-terminated copy (free with jr_strv_free). non_empty: at
 * least one element, and the first one (a program) not empty. */
int jr_strv(struct jr_file *parser, json_t *value, const char *field, bool non_empty,
            char ***ret);
void jr_strv_free(char **strv);

/* True when one of path's components is "..". */
bool jr_path_has_dotdot(const char *path);

/* Fails unless path is absolute and free of "..". */
int jr_absolute_path(struct jr_file *parser, const char *field, const char *path);

/* value as a path: a relative one is taken from the directory of the file being read, so
 * that a file and the files it names travel together. */
int jr_path_beside(struct jr_file *parser, const char *value, char **ret);

#endif
