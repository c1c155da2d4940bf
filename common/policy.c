/* Reading and checking the tenant policy file. A tenant's policy is built in three layers:
 * the built-in values (and the config's limits), then the file's "defaults", then the
 * tenant's own sections; each layer sets only the fields it names. Everything is checked
 * here, once, so that the worker and the intake can trust the structs. */
#include "policy.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanup.h"
#include "json_read.h"

#define POLICY_VERSION_MAX 64
#define POLICY_TENANT_MAX 64 /* as a job's tenant field (common/job.c) */
#define POLICY_BUILTIN_VERSION "builtin"

static const char *const policy_section_names[] = {
    "filesystem", "network", "processes", "resources", "modules", "code", "breaker", "quotas",
};

static void strv_free_null(char ***strv)
{
    jr_strv_free(*strv);
    *strv = NULL;
}

static int strv_copy(char *const *strv, char ***ret)
{
    size_t count = 0;
    char **copy;

    *ret = NULL;
    if (!strv)
        return 0;

    while (strv[count])
        count++;

    copy = calloc(count + 1, sizeof(*copy));
    if (!copy)
        return -ENOMEM;

    for (size_t i = 0; i < count; i++) {
        copy[i] = strdup(strv[i]);
        if (!copy[i]) {
            jr_strv_free(copy);
            return -ENOMEM;
        }
    }

    *ret = copy;
    return 0;
}

static void tenant_policy_clear(struct tenant_policy *tenant)
{
    free(tenant->name);
    strv_free_null(&tenant->denied_modules);
    strv_free_null(&tenant->languages);
    free(tenant->seccomp_profile);
    memset(tenant, 0, sizeof(*tenant));
}

/* A deep copy of base, named name. */
static int tenant_policy_copy(const struct tenant_policy *base, const char *name,
                              struct tenant_policy *ret)
{
    *ret = *base;
    ret->name = strdup(name);
    ret->denied_modules = NULL;
    ret->languages = NULL;
    ret->seccomp_profile = base->seccomp_profile ? strdup(base->seccomp_profile) : NULL;
    if (!ret->name || (base->seccomp_profile && !ret->seccomp_profile) ||
        strv_copy(base->denied_modules, &ret->denied_modules) < 0 ||
        strv_copy(base->languages, &ret->languages) < 0) {
        tenant_policy_clear(ret);
        return -ENOMEM;
    }
    return 0;
}

/* The built-in layer: what applies when the file says nothing. */
static int tenant_policy_builtin(const struct ccx_config *config, struct tenant_policy *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->name = strdup("defaults");
    if (!ret->name)
        return -ENOMEM;

    ret->tmp_mb = config->sandbox.tmp_mb;
    ret->children = true;
    ret->limits_default = config->limits_default;
    ret->limits_max = config->limits_max;
    ret->cgroup.cpu_weight = 100;
    ret->analysis = POLICY_ANALYSIS_REPORT;
    ret->reject_at = RISK_HIGH;
    ret->breaker = (struct policy_breaker){
        .enabled = true,
        .window_calls = 20,
        .window_ms = 60000,
        .min_calls = 5,
        .failure_pct = 50,
        .cooldown_ms = 30000,
        .probes = 2,
        .min_hosts = 2,
        .count_limits = false,
    };
    ret->quotas.weight = 1;
    return 0;
}

static int section_open(struct jr_file *parser, json_t *tenant_json, const char *prefix,
                        const char *name, const char *const *keys, size_t key_count,
                        json_t **ret_section, char field[JR_FIELD_MAX])
{
    *ret_section = json_object_get(tenant_json, name);
    jr_join(field, prefix, name);
    if (!*ret_section)
        return 0;

    if (!json_is_object(*ret_section))
        return jr_fail(parser, field, "must be an object");
    return jr_check_keys(parser, *ret_section, field, keys, key_count);
}

#define KEYS(...) (const char *const[]){ __VA_ARGS__ }, \
    sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)

/* A number already in *ret stays when the field is absent. */
static int read_u64(struct jr_file *parser, json_t *section, const char *field,
                    const char *key, uint64_t min, uint64_t max, uint64_t *ret)
{
    return jr_u64(parser, section, field, key, false, *ret, min, max, ret);
}

static int read_u32(struct jr_file *parser, json_t *section, const char *field,
                    const char *key, uint64_t min, uint64_t max, uint32_t *ret)
{
    uint64_t value = *ret;
    int r;

    r = jr_u64(parser, section, field, key, false, value, min, max, &value);
    if (r < 0)
        return r;

    *ret = (uint32_t)value;
    return 0;
}

enum policy_kind { POLICY_BOOL, POLICY_U32, POLICY_U64 };

/* One field of a section's struct, read over the value already there (the lower layer's). */
struct policy_field {
    const char *key;
    enum policy_kind kind;
    uint64_t min, max;  /* numbers only */
    size_t offset;      /* in the section's struct */
};

#define POLICY_FIELD_COUNT(fields) (sizeof(fields) / sizeof((fields)[0]))

/* The keys of fields into keys (room for count), for jr_check_keys. Returns count. */
static size_t policy_field_keys(const struct policy_field *fields, size_t count,
                                const char **keys)
{
    for (size_t i = 0; i < count; i++)
        keys[i] = fields[i].key;
    return count;
}

/* Reads each of fields present in obj (at field) into the struct at base; stops at the first
 * that fails. Returns 0 or -EINVAL (the parser has the message). */
static int policy_fields_read(struct jr_file *parser, json_t *obj, const char *field,
                              const struct policy_field *fields, size_t count, void *base)
{
    for (size_t i = 0; i < count; i++) {
        const struct policy_field *f = &fields[i];
        char *at = (char *)base + f->offset;
        int r = 0;

        switch (f->kind) {
        case POLICY_BOOL:
            r = jr_bool(parser, obj, field, f->key, *(bool *)at, (bool *)at);
            break;
        case POLICY_U32:
            r = read_u32(parser, obj, field, f->key, f->min, f->max, (uint32_t *)at);
            break;
        case POLICY_U64:
            r = read_u64(parser, obj, field, f->key, f->min, f->max, (uint64_t *)at);
            break;
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int read_filesystem(struct jr_file *parser, json_t *tenant_json, const char *prefix,
                           struct tenant_policy *tenant)
{
    char field[JR_FIELD_MAX];
    json_t *section;
    int r;

    r = section_open(parser, tenant_json, prefix, "filesystem", KEYS("tmp_mb"), &section, field);
    if (r < 0 || !section)
        return r;

    return read_u64(parser, section, field, "tmp_mb", 1, 1024 * 1024, &tenant->tmp_mb);
}

static int read_network(struct jr_file *parser, json_t *tenant_json, const char *prefix)
{
    char field[JR_FIELD_MAX], sub[JR_FIELD_MAX];
    bool allowed = false;
    json_t *section;
    int r;

    r = section_open(parser, tenant_json, prefix, "network", KEYS("allowed"), &section, field);
    if (r < 0 || !section)
        return r;

    r = jr_bool(parser, section, field, "allowed", false, &allowed);
    if (r < 0)
        return r;

    /* Saying no network is allowed documents the fact; asking for it must not pass silently. */
    if (allowed)
        return jr_fail(parser, jr_join(sub, field, "allowed"),
                       "ccx gives jobs no network: only false is accepted");
    return 0;
}

static int read_processes(struct jr_file *parser, json_t *tenant_json, const char *prefix,
                          struct tenant_policy *tenant)
{
    char field[JR_FIELD_MAX];
    json_t *section;
    int r;

    r = section_open(parser, tenant_json, prefix, "processes", KEYS("children"), &section,
                     field);
    if (r < 0 || !section)
        return r;

    return jr_bool(parser, section, field, "children", tenant->children, &tenant->children);
}

/* resources.limits: any of the limit names, each with "default" and/or "max", within the
 * config's ceiling. A lowered max pulls an inherited default down with it. */
static int read_limits(struct jr_file *parser, json_t *limits_json, const char *field,
                       const struct ccx_config *config, struct tenant_policy *tenant)
{
    int r;

    if (!json_is_object(limits_json))
        return jr_fail(parser, field, "must be an object");

    r = jr_check_keys(parser, limits_json, field, limits_field_names, LIMITS_FIELD_COUNT);
    if (r < 0)
        return r;

    for (int i = 0; i < LIMITS_FIELD_COUNT; i++) {
        json_t *entry = json_object_get(limits_json, limits_field_names[i]);
        uint64_t ceiling = limits_field_get(&config->limits_max, i);
        uint64_t *def = limits_field(&tenant->limits_default, i);
        uint64_t *max = limits_field(&tenant->limits_max, i);
        char entry_field[JR_FIELD_MAX], sub[JR_FIELD_MAX];

        if (!entry)
            continue;

        jr_join(entry_field, field, limits_field_names[i]);
        if (!json_is_object(entry))
            return jr_fail(parser, entry_field, "must be an object");

        r = jr_check_keys(parser, entry, entry_field, KEYS("default", "max"));
        if (r < 0)
            return r;

        r = read_u64(parser, entry, entry_field, "max", 1, ceiling, max);
        if (r < 0)
            return r;

        if (!json_object_get(entry, "default") && *def > *max)
            *def = *max;

        r = read_u64(parser, entry, entry_field, "default", 1, ceiling, def);
        if (r < 0)
            return r;

        if (*def > *max)
            return jr_fail(parser, jr_join(sub, entry_field, "default"),
                           "%llu is above max %llu", (unsigned long long)*def,
                           (unsigned long long)*max);
    }
    return 0;
}

static int read_cgroup(struct jr_file *parser, json_t *cgroup_json, const char *field,
                       struct tenant_policy *tenant)
{
    static const struct policy_field fields[] = {
        { "memory_mb", POLICY_U64, 0, 1024 * 1024 * 1024,
          offsetof(struct policy_cgroup, memory_mb) },
        { "pids", POLICY_U64, 0, 4194304, offsetof(struct policy_cgroup, pids) },
        { "cpu_weight", POLICY_U32, 1, 10000, offsetof(struct policy_cgroup, cpu_weight) },
    };
    const char *keys[POLICY_FIELD_COUNT(fields)];
    int r;

    if (!json_is_object(cgroup_json))
        return jr_fail(parser, field, "must be an object");

    r = jr_check_keys(parser, cgroup_json, field, keys,
                      policy_field_keys(fields, POLICY_FIELD_COUNT(fields), keys));
    if (r < 0)
        return r;

    return policy_fields_read(parser, cgroup_json, field, fields, POLICY_FIELD_COUNT(fields),
                              &tenant->cgroup);
}

static int read_resources(struct jr_file *parser, json_t *tenant_json, const char *prefix,
                          const struct ccx_config *config, struct tenant_policy *tenant)
{
    char field[JR_FIELD_MAX], sub[JR_FIELD_MAX];
    json_t *section, *value;
    int r;

    r = section_open(parser, tenant_json, prefix, "resources", KEYS("limits", "cgroup"),
                     &section, field);
    if (r < 0 || !section)
        return r;

    value = json_object_get(section, "limits");
    if (value) {
        r = read_limits(parser, value, jr_join(sub, field, "limits"), config, tenant);
        if (r < 0)
            return r;
    }

    value = json_object_get(section, "cgroup");
    if (value)
        return read_cgroup(parser, value, jr_join(sub, field, "cgroup"), tenant);
    return 0;
}

/* Module names as the languages spell them: letters, digits, . _ - / (node scopes). */
static bool module_name_valid(const char *name)
{
    if (!name[0] || strlen(name) > 128)
        return false;

    for (const char *c = name; *c; c++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/@", *c))
            return false;
    }
    return true;
}

static int read_modules(struct jr_file *parser, json_t *tenant_json, const char *prefix,
                        struct tenant_policy *tenant)
{
    char field[JR_FIELD_MAX], sub[JR_FIELD_MAX];
    char **deny = NULL;
    json_t *section;
    int r;

    r = section_open(parser, tenant_json, prefix, "modules", KEYS("deny"), &section, field);
    if (r < 0 || !section || !json_object_get(section, "deny"))
        return r;

    jr_join(sub, field, "deny");
    r = jr_strv(parser, json_object_get(section, "deny"), sub, false, &deny);
    if (r < 0)
        return r;

    for (size_t i = 0; deny[i]; i++) {
        if (!module_name_valid(deny[i])) {
            char item[JR_FIELD_MAX + 32];

            snprintf(item, sizeof(item), "%s[%zu]", sub, i);
            jr_strv_free(deny);
            return jr_fail(parser, item, "is not a module name");
        }
    }

    jr_strv_free(tenant->denied_modules);
    tenant->denied_modules = deny;
    return 0;
}

static int read_languages(struct jr_file *parser, json_t *value, const char *field,
                          const struct ccx_config *config, struct tenant_policy *tenant)
{
    char **languages = NULL;
    int r;

    r = jr_strv(parser, value, field, false, &languages);
    if (r < 0)
        return r;

    for (size_t i = 0; languages[i]; i++) {
        if (!config_language(config, languages[i])) {
            char item[JR_FIELD_MAX + 32];

            snprintf(item, sizeof(item), "%s[%zu]", field, i);
            r = jr_fail(parser, item, "\"%s\" is not a language of the config %s",
                        languages[i], config->path ? config->path : "");
            jr_strv_free(languages);
            return r;
        }
    }

    jr_strv_free(tenant->languages);
    tenant->languages = languages;
    return 0;
}

static int read_analysis(struct jr_file *parser, json_t *section, const char *field,
                         struct tenant_policy *tenant)
{
    static const char *const actions[] = { "off", "report", "reject" };
    _cleanup_free_ char *action = NULL;
    _cleanup_free_ char *level = NULL;
    char sub[JR_FIELD_MAX];
    int r;

    r = jr_string(parser, section, field, "analysis", actions[tenant->analysis], &action);
    if (r < 0)
        return r;

    for (size_t i = 0;; i++) {
        if (i == sizeof(actions) / sizeof(actions[0]))
            return jr_fail(parser, jr_join(sub, field, "analysis"),
                           "must be \"off\", \"report\" or \"reject\" (it is \"%s\")", action);
        if (strcmp(action, actions[i]) == 0) {
            tenant->analysis = (enum policy_analysis)i;
            break;
        }
    }

    r = jr_string(parser, section, field, "reject_at", risk_level_name(tenant->reject_at),
                  &level);
    if (r < 0)
        return r;

    r = risk_level_parse(level);
    if (r <= RISK_NONE)
        return jr_fail(parser, jr_join(sub, field, "reject_at"),
                       "must be \"low\", \"medium\", \"high\" or \"critical\" (it is \"%s\")",
                       level);
    tenant->reject_at = (enum risk_level)r;
    return 0;
}

static int read_code(struct jr_file *parser, json_t *tenant_json, const char *prefix,
                     const struct ccx_config *config, struct tenant_policy *tenant)
{
    char field[JR_FIELD_MAX], sub[JR_FIELD_MAX];
    _cleanup_free_ char *profile = NULL;
    json_t *section, *value;
    int r;

    r = section_open(parser, tenant_json, prefix, "code",
                     KEYS("languages", "seccomp_profile", "analysis", "reject_at"), &section,
                     field);
    if (r < 0 || !section)
        return r;

    value = json_object_get(section, "languages");
    if (value) {
        r = read_languages(parser, value, jr_join(sub, field, "languages"), config, tenant);
        if (r < 0)
            return r;
    }

    if (json_object_get(section, "seccomp_profile")) {
        r = jr_string(parser, section, field, "seccomp_profile", NULL, &profile);
        if (r < 0)
            return r;

        free(tenant->seccomp_profile);
        tenant->seccomp_profile = NULL;
        r = jr_path_beside(parser, profile, &tenant->seccomp_profile);
        if (r < 0)
            return r;
    }

    return read_analysis(parser, section, field, tenant);
}

static int read_breaker(struct jr_file *parser, json_t *tenant_json, const char *prefix,
                        struct tenant_policy *tenant)
{
    static const struct policy_field fields[] = {
        { "enabled", POLICY_BOOL, 0, 0, offsetof(struct policy_breaker, enabled) },
        { "window_calls", POLICY_U32, 1, 1000, offsetof(struct policy_breaker, window_calls) },
        { "window_ms", POLICY_U64, 1000, 86400000, offsetof(struct policy_breaker, window_ms) },
        { "min_calls", POLICY_U32, 1, 1000, offsetof(struct policy_breaker, min_calls) },
        { "failure_pct", POLICY_U32, 1, 100, offsetof(struct policy_breaker, failure_pct) },
        { "cooldown_ms", POLICY_U64, 100, 86400000, offsetof(struct policy_breaker, cooldown_ms) },
        { "probes", POLICY_U32, 1, 100, offsetof(struct policy_breaker, probes) },
        { "min_hosts", POLICY_U32, 1, 100, offsetof(struct policy_breaker, min_hosts) },
        { "count_limits", POLICY_BOOL, 0, 0, offsetof(struct policy_breaker, count_limits) },
    };
    struct policy_breaker *b = &tenant->breaker;
    const char *keys[POLICY_FIELD_COUNT(fields)];
    char field[JR_FIELD_MAX];
    json_t *section;
    int r;

    r = section_open(parser, tenant_json, prefix, "breaker", keys,
                     policy_field_keys(fields, POLICY_FIELD_COUNT(fields), keys), &section,
                     field);
    if (r < 0 || !section)
        return r;

    r = policy_fields_read(parser, section, field, fields, POLICY_FIELD_COUNT(fields), b);
    if (r < 0)
        return r;

    if (b->min_calls > b->window_calls) {
        char sub[JR_FIELD_MAX];

        return jr_fail(parser, jr_join(sub, field, "min_calls"),
                       "%u is above window_calls %u: the breaker could never open",
                       b->min_calls, b->window_calls);
    }
    return 0;
}

static int read_quotas(struct jr_file *parser, json_t *tenant_json, const char *prefix,
                       struct tenant_policy *tenant)
{
    static const struct policy_field fields[] = {
        { "concurrency", POLICY_U32, 0, 1000000, offsetof(struct policy_quotas, concurrency) },
        { "rate_per_s", POLICY_U32, 0, 1000000, offsetof(struct policy_quotas, rate_per_s) },
        { "burst", POLICY_U32, 0, 1000000, offsetof(struct policy_quotas, burst) },
        { "queued_jobs", POLICY_U64, 0, UINT32_MAX, offsetof(struct policy_quotas, queued_jobs) },
        { "queued_bytes", POLICY_U64, 0, INT64_MAX, offsetof(struct policy_quotas, queued_bytes) },
        { "weight", POLICY_U32, 1, 1000, offsetof(struct policy_quotas, weight) },
    };
    const char *keys[POLICY_FIELD_COUNT(fields)];
    char field[JR_FIELD_MAX];
    json_t *section;
    int r;

    r = section_open(parser, tenant_json, prefix, "quotas", keys,
                     policy_field_keys(fields, POLICY_FIELD_COUNT(fields), keys), &section,
                     field);
    if (r < 0 || !section)
        return r;

    return policy_fields_read(parser, section, field, fields, POLICY_FIELD_COUNT(fields),
                              &tenant->quotas);
}

/* Applies the sections of tenant_json (an object) at prefix over *tenant. */
static int read_tenant(struct jr_file *parser, json_t *tenant_json, const char *prefix,
                       const struct ccx_config *config, struct tenant_policy *tenant)
{
    int r;

    if (!json_is_object(tenant_json))
        return jr_fail(parser, prefix, "must be an object");

    r = jr_check_keys(parser, tenant_json, prefix, policy_section_names,
                      sizeof(policy_section_names) / sizeof(policy_section_names[0]));
    if (r == 0)
        r = read_filesystem(parser, tenant_json, prefix, tenant);
    if (r == 0)
        r = read_network(parser, tenant_json, prefix);
    if (r == 0)
        r = read_processes(parser, tenant_json, prefix, tenant);
    if (r == 0)
        r = read_resources(parser, tenant_json, prefix, config, tenant);
    if (r == 0)
        r = read_modules(parser, tenant_json, prefix, tenant);
    if (r == 0)
        r = read_code(parser, tenant_json, prefix, config, tenant);
    if (r == 0)
        r = read_breaker(parser, tenant_json, prefix, tenant);
    if (r == 0)
        r = read_quotas(parser, tenant_json, prefix, tenant);
    return r;
}

static bool tenant_name_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > POLICY_TENANT_MAX)
        return false;

    for (const char *c = name; *c; c++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *c))
            return false;
    }
    return true;
}

static int read_tenants(struct jr_file *parser, json_t *root, const struct ccx_config *config,
                        struct policy *policy)
{
    json_t *section = json_object_get(root, "tenants");
    const char *name;
    json_t *value;
    int r;

    if (!section)
        return 0;
    if (!json_is_object(section))
        return jr_fail(parser, "tenants", "must be an object (tenant name -> sections)");

    policy->tenants = calloc(json_object_size(section) + 1, sizeof(*policy->tenants));
    if (!policy->tenants)
        return jr_oom(parser);

    json_object_foreach(section, name, value) {
        struct tenant_policy *tenant = &policy->tenants[policy->tenant_count];
        char prefix[JR_FIELD_MAX];

        jr_join(prefix, "tenants", name);
        if (!tenant_name_valid(name))
            return jr_fail(parser, prefix,
                           "a tenant name is 1 to 64 characters from A-Z a-z 0-9 . _ -");

        if (tenant_policy_copy(&policy->defaults, name, tenant) < 0)
            return jr_oom(parser);
        policy->tenant_count++;

        r = read_tenant(parser, value, prefix, config, tenant);
        if (r < 0)
            return r;
    }
    return 0;
}

static int read_version(struct jr_file *parser, json_t *root, struct policy *policy)
{
    size_t len;
    int r;

    r = jr_string(parser, root, "", "version", NULL, &policy->version);
    if (r < 0)
        return r;

    /* It goes into every result and log line as it is: plain characters only. */
    len = strlen(policy->version);
    for (size_t i = 0; i < len; i++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:+-",
                    policy->version[i]))
            return jr_fail(parser, "version",
                           "must be made of A-Z a-z 0-9 . _ : + - (it is \"%s\")",
                           policy->version);
    }
    if (len > POLICY_VERSION_MAX)
        return jr_fail(parser, "version", "must be at most %d characters", POLICY_VERSION_MAX);
    return 0;
}

static int policy_read(struct jr_file *parser, json_t *root, const struct ccx_config *config,
                       struct policy *policy)
{
    json_t *defaults;
    int r;

    if (!json_is_object(root))
        return jr_fail(parser, "(top level)", "must be a JSON object");

    r = jr_check_keys(parser, root, "", KEYS("version", "comment", "defaults", "tenants"));
    if (r < 0)
        return r;

    r = read_version(parser, root, policy);
    if (r < 0)
        return r;

    r = tenant_policy_builtin(config, &policy->defaults);
    if (r < 0)
        return jr_oom(parser);

    defaults = json_object_get(root, "defaults");
    if (defaults) {
        r = read_tenant(parser, defaults, "defaults", config, &policy->defaults);
        if (r < 0)
            return r;
    }

    return read_tenants(parser, root, config, policy);
}

int policy_load(const char *path, const struct ccx_config *config, struct policy **ret_policy,
                char *err, size_t err_size)
{
    struct jr_file parser = { .path = path, .err = err, .err_size = err_size };
    json_auto_t *root = NULL;
    struct policy *policy;
    int r;

    r = jr_load(&parser, &root);
    if (r < 0)
        return r;

    policy = calloc(1, sizeof(*policy));
    if (!policy)
        return jr_oom(&parser);

    policy->path = strdup(path);
    if (!policy->path) {
        policy_free(policy);
        return jr_oom(&parser);
    }

    r = policy_read(&parser, root, config, policy);
    if (r < 0) {
        policy_free(policy);
        return r;
    }

    *ret_policy = policy;
    return 0;
}

int policy_builtin(const struct ccx_config *config, struct policy **ret_policy)
{
    struct policy *policy = calloc(1, sizeof(*policy));

    if (!policy)
        return -ENOMEM;

    policy->version = strdup(POLICY_BUILTIN_VERSION);
    if (!policy->version || tenant_policy_builtin(config, &policy->defaults) < 0) {
        policy_free(policy);
        return -ENOMEM;
    }

    *ret_policy = policy;
    return 0;
}

void policy_free(struct policy *policy)
{
    if (!policy)
        return;

    for (size_t i = 0; i < policy->tenant_count; i++)
        tenant_policy_clear(&policy->tenants[i]);
    free(policy->tenants);
    tenant_policy_clear(&policy->defaults);
    free(policy->version);
    free(policy->path);
    free(policy);
}

const struct tenant_policy *policy_tenant(const struct policy *policy, const char *tenant)
{
    for (size_t i = 0; tenant && i < policy->tenant_count; i++) {
        if (strcmp(policy->tenants[i].name, tenant) == 0)
            return &policy->tenants[i];
    }
    return &policy->defaults;
}

bool policy_language_allowed(const struct tenant_policy *tenant, const char *language)
{
    if (!tenant->languages)
        return true;
    if (!language)
        return false;

    for (size_t i = 0; tenant->languages[i]; i++) {
        if (strcmp(tenant->languages[i], language) == 0)
            return true;
    }
    return false;
}
