/* Reading and checking the JSON configuration. Every field is checked here, once, so that the
 * worker and the supervisor can trust the struct; a typo in a key is an error rather than a
 * silently ignored setting. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanup.h"
#include "json_read.h"

#ifndef CCX_DEFAULT_CONFIG
#define CCX_DEFAULT_CONFIG "/etc/ccx/ccx.json"
#endif

#define CONFIG_DEFAULT_REDIS_URL "redis://127.0.0.1:6379"

/* Redis refuses bulk strings above 512 MiB, so a larger job could never arrive. */
#define CONFIG_MAX_JOB_BYTES_CEILING (512ULL * 1024 * 1024)

/* uid_base + slot must stay a valid uid, with room for many slots. */
#define CONFIG_UID_CEILING 4000000000ULL

static int config_read_limits(struct jr_file *parser, json_t *root,
                              struct ccx_config *config)
{
    json_t *section = json_object_get(root, "limits");
    int r;

    r = jr_want_object(parser, section, "limits");
    if (r < 0)
        return r;

    r = jr_check_keys(parser, section, "limits", limits_field_names, LIMITS_FIELD_COUNT);
    if (r < 0)
        return r;

    for (int i = 0; i < LIMITS_FIELD_COUNT; i++) {
        static const char *const keys[] = { "default", "max" };
        const char *name = limits_field_names[i];
        json_t *entry = json_object_get(section, name);
        uint64_t *def = limits_field(&config->limits_default, i);
        uint64_t *max = limits_field(&config->limits_max, i);
        char field[JR_FIELD_MAX];

        jr_join(field, "limits", name);
        r = jr_want_object(parser, entry, field);
        if (r < 0)
            return r;

        r = jr_check_keys(parser, entry, field, keys, 2);
        if (r < 0)
            return r;

        r = jr_u64(parser, entry, field, "default", true, 0, 1, INT64_MAX, def);
        if (r < 0)
            return r;

        r = jr_u64(parser, entry, field, "max", true, 0, 1, INT64_MAX, max);
        if (r < 0)
            return r;

        if (*def > *max) {
            char sub[JR_FIELD_MAX];

            return jr_fail(parser, jr_join(sub, field, "default"),
                               "%llu is above max %llu", (unsigned long long)*def,
                               (unsigned long long)*max);
        }
    }
    return 0;
}

static int config_read_symlinks(struct jr_file *parser, json_t *sandbox_json,
                                struct sandbox_config *sandbox)
{
    json_t *section = json_object_get(sandbox_json, "symlinks");
    const char *key;
    json_t *value;
    size_t count;

    if (!section)
        return 0;
    if (!json_is_object(section))
        return jr_fail(parser, "sandbox.symlinks", "must be an object (path -> target)");

    count = json_object_size(section);
    sandbox->symlinks = calloc(count ? count : 1, sizeof(*sandbox->symlinks));
    if (!sandbox->symlinks)
        return jr_oom(parser);

    json_object_foreach(section, key, value) {
        struct sandbox_symlink *link = &sandbox->symlinks[sandbox->symlink_count];
        char field[JR_FIELD_MAX];
        int r;

        jr_join(field, "sandbox.symlinks", key);
        r = jr_absolute_path(parser, field, key);
        if (r < 0)
            return r;

        if (!json_is_string(value) || json_string_length(value) == 0 ||
            strlen(json_string_value(value)) != json_string_length(value))
            return jr_fail(parser, field, "target must be a non-empty string");

        link->path = strdup(key);
        link->target = strdup(json_string_value(value));
        sandbox->symlink_count++;
        if (!link->path || !link->target)
            return jr_oom(parser);
    }
    return 0;
}

static int config_read_env(struct jr_file *parser, json_t *sandbox_json,
                           struct sandbox_config *sandbox)
{
    static const char *const keys[] = { "PATH", "HOME", "LANG" };
    json_t *env = json_object_get(sandbox_json, "env");
    int r;

    r = jr_want_object(parser, env, "sandbox.env");
    if (r < 0)
        return r;

    /* The job's whole environment is these three: anything else would be silently dropped. */
    r = jr_check_keys(parser, env, "sandbox.env", keys, 3);
    if (r < 0)
        return r;

    r = jr_string(parser, env, "sandbox.env", "PATH", NULL, &sandbox->env_path);
    if (r < 0)
        return r;

    r = jr_string(parser, env, "sandbox.env", "HOME", NULL, &sandbox->env_home);
    if (r < 0)
        return r;

    return jr_string(parser, env, "sandbox.env", "LANG", NULL, &sandbox->env_lang);
}

/* The plain numbers of the sandbox section, with their defaults and bounds. */
struct config_number {
    const char *key;
    uint64_t def;
    uint64_t min;
    uint64_t max;
    size_t offset;
};

static int config_read_sandbox_numbers(struct jr_file *parser, json_t *section,
                                       struct sandbox_config *sandbox)
{
    static const struct config_number numbers[] = {
        { "tmp_mb", 64, 1, 1024 * 1024, offsetof(struct sandbox_config, tmp_mb) },
        { "inodes", 16384, 1, UINT32_MAX, offsetof(struct sandbox_config, inodes) },
        { "open_files", 256, 1, 1024 * 1024, offsetof(struct sandbox_config, open_files) },
        { "stack_mb", 64, 1, 1024 * 1024, offsetof(struct sandbox_config, stack_mb) },
        { "cpu_quota_pct", 100, 1, 100 * 1024,
          offsetof(struct sandbox_config, cpu_quota_pct) },
        { "uid_count", 4096, 1, 1000000, offsetof(struct sandbox_config, uid_count) },
    };
    uint64_t uid_base;
    uint64_t inner_uid;
    int r;

    r = jr_u64(parser, section, "sandbox", "uid_base", false, 1900000, 1,
                   CONFIG_UID_CEILING, &uid_base);
    if (r < 0)
        return r;

    r = jr_u64(parser, section, "sandbox", "inner_uid", false, 1000, 0, UINT32_MAX - 1,
                   &inner_uid);
    if (r < 0)
        return r;

    sandbox->uid_base = (uid_t)uid_base;
    sandbox->inner_uid = (uid_t)inner_uid;

    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        const struct config_number *n = &numbers[i];
        uint64_t *field = (uint64_t *)((char *)sandbox + n->offset);

        r = jr_u64(parser, section, "sandbox", n->key, false, n->def, n->min, n->max, field);
        if (r < 0)
            return r;
    }
    if (uid_base + sandbox->uid_count > CONFIG_UID_CEILING)
        return jr_fail(parser, "sandbox.uid_count", "uid_base + uid_count must stay below %llu",
                           CONFIG_UID_CEILING);
    return 0;
}

/* The seccomp profile's path; a relative one is taken from the config file's directory, so
 * that a config and its profile travel together. */
static int config_read_profile_path(struct jr_file *parser, json_t *section,
                                    struct sandbox_config *sandbox)
{
    _cleanup_free_ char *value = NULL;
    int r;

    r = jr_string(parser, section, "sandbox", "seccomp_profile", "seccomp.json", &value);
    if (r < 0)
        return r;

    return jr_path_beside(parser, value, &sandbox->seccomp_profile);
}

static int config_read_sandbox(struct jr_file *parser, json_t *root,
                               struct sandbox_config *sandbox)
{
    static const char *const keys[] = {
        "uid_base", "inner_uid", "ro_binds", "symlinks", "tmp_mb", "inodes", "open_files",
        "stack_mb", "cpu_quota_pct", "env", "hostname", "run_dir", "cgroup_parent",
        "seccomp_profile", "uid_count", "uid_lock_dir",
    };
    json_t *section = json_object_get(root, "sandbox");
    int r;

    r = jr_want_object(parser, section, "sandbox");
    if (r < 0)
        return r;

    r = jr_check_keys(parser, section, "sandbox", keys, sizeof(keys) / sizeof(keys[0]));
    if (r < 0)
        return r;

    r = config_read_sandbox_numbers(parser, section, sandbox);
    if (r < 0)
        return r;

    r = jr_strv(parser, json_object_get(section, "ro_binds"), "sandbox.ro_binds", false,
                    &sandbox->ro_binds);
    if (r < 0)
        return r;

    for (size_t i = 0; sandbox->ro_binds[i]; i++) {
        char field[JR_FIELD_MAX];

        snprintf(field, sizeof(field), "sandbox.ro_binds[%zu]", i);
        r = jr_absolute_path(parser, field, sandbox->ro_binds[i]);
        if (r < 0)
            return r;
    }

    r = config_read_symlinks(parser, section, sandbox);
    if (r < 0)
        return r;

    r = config_read_env(parser, section, sandbox);
    if (r < 0)
        return r;

    r = jr_string(parser, section, "sandbox", "hostname", "ccx", &sandbox->hostname);
    if (r < 0)
        return r;
    if (strlen(sandbox->hostname) > 64)
        return jr_fail(parser, "sandbox.hostname", "must be at most 64 characters");

    r = jr_string(parser, section, "sandbox", "run_dir", "/run/ccx", &sandbox->run_dir);
    if (r < 0)
        return r;

    r = jr_absolute_path(parser, "sandbox.run_dir", sandbox->run_dir);
    if (r < 0)
        return r;

    r = jr_string(parser, section, "sandbox", "uid_lock_dir", "/run/ccx-uids",
                      &sandbox->uid_lock_dir);
    if (r < 0)
        return r;

    r = jr_absolute_path(parser, "sandbox.uid_lock_dir", sandbox->uid_lock_dir);
    if (r < 0)
        return r;

    r = jr_string(parser, section, "sandbox", "cgroup_parent", "ccx",
                      &sandbox->cgroup_parent);
    if (r < 0)
        return r;

    /* It names a subtree under the worker's own cgroup, never a path elsewhere. */
    if (sandbox->cgroup_parent[0] == '/' || jr_path_has_dotdot(sandbox->cgroup_parent))
        return jr_fail(parser, "sandbox.cgroup_parent",
                           "must be a relative cgroup name without \"..\"");

    return config_read_profile_path(parser, section, sandbox);
}

/* Language names show up in job messages, logs and error texts: keep them plain. */
static bool language_name_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > 32)
        return false;

    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '+' || c == '.'))
            return false;
    }
    return true;
}

static int config_read_compile(struct jr_file *parser, json_t *compile,
                               const char *prefix, const struct ccx_config *config,
                               struct language *language)
{
    static const char *const keys[] = { "run", "limits" };
    char field[JR_FIELD_MAX];
    json_t *limits;
    int r;

    language->compile_limits = config->limits_default;
    if (!compile)
        return 0;

    r = jr_want_object(parser, compile, prefix);
    if (r < 0)
        return r;

    r = jr_check_keys(parser, compile, prefix, keys, 2);
    if (r < 0)
        return r;

    r = jr_strv(parser, json_object_get(compile, "run"), jr_join(field, prefix, "run"),
                    true, &language->compile_argv);
    if (r < 0)
        return r;

    limits = json_object_get(compile, "limits");
    if (!limits)
        return 0;

    jr_join(field, prefix, "limits");
    r = jr_want_object(parser, limits, field);
    if (r < 0)
        return r;

    r = jr_check_keys(parser, limits, field, limits_field_names, LIMITS_FIELD_COUNT);
    if (r < 0)
        return r;

    /* Fields left out keep the global defaults. The ceilings bound what clients ask for, not
     * what the operator sets here, so they are not applied. */
    for (int i = 0; i < LIMITS_FIELD_COUNT; i++) {
        uint64_t *value = limits_field(&language->compile_limits, i);

        r = jr_u64(parser, limits, field, limits_field_names[i], false, *value, 1, INT64_MAX,
                       value);
        if (r < 0)
            return r;
    }
    return 0;
}

static int config_read_language(struct jr_file *parser, const char *name, json_t *obj,
                                const struct ccx_config *config, struct language *language)
{
    static const char *const keys[] = { "source_name", "compile", "run" };
    char prefix[JR_FIELD_MAX];
    char field[JR_FIELD_MAX];
    int r;

    jr_join(prefix, "languages", name);
    if (!language_name_valid(name))
        return jr_fail(parser, prefix,
                           "a language name is 1 to 32 characters of A-Z a-z 0-9 _ - + .");

    r = jr_want_object(parser, obj, prefix);
    if (r < 0)
        return r;

    r = jr_check_keys(parser, obj, prefix, keys, 3);
    if (r < 0)
        return r;

    language->name = strdup(name);
    if (!language->name)
        return jr_oom(parser);

    r = jr_string(parser, obj, prefix, "source_name", NULL, &language->source_name);
    if (r < 0)
        return r;

    if (strchr(language->source_name, '/') || strcmp(language->source_name, ".") == 0 ||
        strcmp(language->source_name, "..") == 0 || strlen(language->source_name) > 255)
        return jr_fail(parser, jr_join(field, prefix, "source_name"),
                           "must be a plain file name (no '/'), not \"%s\"",
                           language->source_name);

    r = config_read_compile(parser, json_object_get(obj, "compile"),
                            jr_join(field, prefix, "compile"), config, language);
    if (r < 0)
        return r;

    return jr_strv(parser, json_object_get(obj, "run"), jr_join(field, prefix, "run"),
                       true, &language->run_argv);
}

static int config_read_languages(struct jr_file *parser, json_t *root,
                                 struct ccx_config *config)
{
    json_t *section = json_object_get(root, "languages");
    const char *name;
    json_t *value;
    size_t count;
    int r;

    r = jr_want_object(parser, section, "languages");
    if (r < 0)
        return r;

    count = json_object_size(section);
    if (count == 0)
        return jr_fail(parser, "languages", "must name at least one language");

    config->languages = calloc(count, sizeof(*config->languages));
    if (!config->languages)
        return jr_oom(parser);

    json_object_foreach(section, name, value) {
        struct language *language = &config->languages[config->language_count];

        /* Counted before reading so that config_free releases a half-read entry. */
        config->language_count++;
        r = config_read_language(parser, name, value, config, language);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The tenant policy file, beside the config when relative; absent: the built-in policy. */
static int config_read_policy_path(struct jr_file *parser, json_t *root,
                                   struct ccx_config *config)
{
    _cleanup_free_ char *value = NULL;
    int r;

    if (!json_object_get(root, "policy"))
        return 0;

    r = jr_string(parser, root, "", "policy", NULL, &value);
    if (r < 0)
        return r;

    return jr_path_beside(parser, value, &config->policy_path);
}

static int config_read_top(struct jr_file *parser, json_t *root, struct ccx_config *config)
{
    static const char *const keys[] = {
        "redis_url", "result_ttl_s", "events_maxlen", "max_job_bytes", "max_files",
        "max_args", "shutdown_grace_s", "lease_ms", "max_attempts", "retry_backoff_ms",
        "poison_deliveries", "limits", "sandbox", "languages", "policy",
    };
    static const struct config_number numbers[] = {
        { "result_ttl_s", 86400, 1, INT32_MAX, offsetof(struct ccx_config, result_ttl_s) },
        { "events_maxlen", 100000, 1, INT64_MAX, offsetof(struct ccx_config, events_maxlen) },
        { "max_job_bytes", 16 * 1024 * 1024, 1, CONFIG_MAX_JOB_BYTES_CEILING,
          offsetof(struct ccx_config, max_job_bytes) },
        { "max_files", 1000, 1, 100000, offsetof(struct ccx_config, max_files) },
        { "max_args", 256, 0, 100000, offsetof(struct ccx_config, max_args) },
        { "shutdown_grace_s", 360, 0, 86400, offsetof(struct ccx_config, shutdown_grace_s) },
        /* Renewed every third of it: below a second the beat nears a Redis round trip under
         * load; above ten minutes a host that died holds its jobs too long. */
        { "lease_ms", 15000, 1000, 600000, offsetof(struct ccx_config, lease_ms) },
        /* Runs of one job, counting every holder; 100 is far past any useful retry. */
        { "max_attempts", 3, 1, 100, offsetof(struct ccx_config, max_attempts) },
        /* 0 retries at once; the doubled wait stops at CONFIG_RETRY_BACKOFF_CAP_MS anyway. */
        { "retry_backoff_ms", 1000, 0, CONFIG_RETRY_BACKOFF_CAP_MS,
          offsetof(struct ccx_config, retry_backoff_ms) },
        { "poison_deliveries", 2, 1, 100, offsetof(struct ccx_config, poison_deliveries) },
    };
    int r;

    if (!json_is_object(root))
        return jr_fail(parser, "(top level)", "must be a JSON object");

    r = jr_check_keys(parser, root, "", keys, sizeof(keys) / sizeof(keys[0]));
    if (r < 0)
        return r;

    r = jr_string(parser, root, "", "redis_url", CONFIG_DEFAULT_REDIS_URL,
                      &config->redis_url);
    if (r < 0)
        return r;

    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        const struct config_number *n = &numbers[i];
        uint64_t *field = (uint64_t *)((char *)config + n->offset);

        r = jr_u64(parser, root, "", n->key, false, n->def, n->min, n->max, field);
        if (r < 0)
            return r;
    }

    /* A job quarantined only after it ran out of attempts would never be quarantined. */
    if (config->poison_deliveries > config->max_attempts)
        return jr_fail(parser, "poison_deliveries",
                           "must be at most max_attempts (%llu)",
                           (unsigned long long)config->max_attempts);

    r = config_read_policy_path(parser, root, config);
    if (r < 0)
        return r;

    r = config_read_limits(parser, root, config);
    if (r < 0)
        return r;

    r = config_read_sandbox(parser, root, &config->sandbox);
    if (r < 0)
        return r;

    return config_read_languages(parser, root, config);
}

int config_load(const char *path, struct ccx_config **ret_config, char *err, size_t err_size)
{
    struct jr_file parser = { .path = path, .err = err, .err_size = err_size };
    json_auto_t *root = NULL;
    struct ccx_config *config;
    int r;

    r = jr_load(&parser, &root);
    if (r < 0)
        return r;

    config = calloc(1, sizeof(*config));
    if (!config)
        return jr_oom(&parser);

    config->path = strdup(path);
    if (!config->path) {
        config_free(config);
        return jr_oom(&parser);
    }

    r = config_read_top(&parser, root, config);
    if (r < 0) {
        config_free(config);
        return r;
    }

    *ret_config = config;
    return 0;
}

static void language_clear(struct language *language)
{
    free(language->name);
    free(language->source_name);
    jr_strv_free(language->compile_argv);
    jr_strv_free(language->run_argv);
}

void config_free(struct ccx_config *config)
{
    struct sandbox_config *sandbox;

    if (!config)
        return;

    sandbox = &config->sandbox;
    jr_strv_free(sandbox->ro_binds);
    for (size_t i = 0; i < sandbox->symlink_count; i++) {
        free(sandbox->symlinks[i].path);
        free(sandbox->symlinks[i].target);
    }
    free(sandbox->symlinks);
    free(sandbox->env_path);
    free(sandbox->env_home);
    free(sandbox->env_lang);
    free(sandbox->hostname);
    free(sandbox->run_dir);
    free(sandbox->cgroup_parent);
    free(sandbox->seccomp_profile);
    free(sandbox->uid_lock_dir);

    for (size_t i = 0; i < config->language_count; i++)
        language_clear(&config->languages[i]);
    free(config->languages);

    free(config->path);
    free(config->policy_path);
    free(config->redis_url);
    free(config);
}

const struct language *config_language(const struct ccx_config *config, const char *name)
{
    if (!config || !name)
        return NULL;

    for (size_t i = 0; i < config->language_count; i++) {
        if (strcmp(config->languages[i].name, name) == 0)
            return &config->languages[i];
    }
    return NULL;
}

const char *config_default_path(void)
{
    const char *env = getenv("CCX_CONFIG");

    if (env && env[0])
        return env;
    return CCX_DEFAULT_CONFIG;
}
