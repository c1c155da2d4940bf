/* common/config.c: the shipped deploy/ccx.json, and one broken copy of it per check, written
 * to a temporary directory. Every failure must name the file and the field. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "common/config.h"

#define SHIPPED_CONFIG CCX_SOURCE_DIR "/deploy/ccx.json"

static char temp_dir[64];
static char temp_file[128];

static void make_temp_dir(void)
{
    size_t len;

    /* mkdtemp fills in the six 'X' that end its template. */
    snprintf(temp_dir, sizeof(temp_dir), "/tmp/ccx-test-config-");
    len = strlen(temp_dir);
    memset(temp_dir + len, 'X', 6);
    temp_dir[len + 6] = '\0';
    cr_assert_not_null(mkdtemp(temp_dir));
    snprintf(temp_file, sizeof(temp_file), "%s/ccx.json", temp_dir);
}

static void remove_temp_dir(void)
{
    unlink(temp_file);
    rmdir(temp_dir);
}

TestSuite(config, .init = make_temp_dir, .fini = remove_temp_dir);

/* The shipped config as a JSON tree, to be broken by a test. */
static json_t *shipped(void)
{
    json_error_t error;
    json_t *root = json_load_file(SHIPPED_CONFIG, 0, &error);

    cr_assert_not_null(root, "%s: %s", SHIPPED_CONFIG, error.text);
    return root;
}

/* The object at a dotted path such as "limits.memory_mb". */
static json_t *at(json_t *root, const char *path)
{
    char copy[256];
    json_t *node = root;

    snprintf(copy, sizeof(copy), "%s", path);
    for (char *part = strtok(copy, "."); part; part = strtok(NULL, ".")) {
        node = json_object_get(node, part);
        cr_assert_not_null(node, "no %s in the shipped config", path);
    }
    return node;
}

static int load_tree(json_t *root, char *err, size_t err_size)
{
    struct ccx_config *config = NULL;
    int r;

    cr_assert_eq(json_dump_file(root, temp_file, JSON_INDENT(2)), 0);
    json_decref(root);

    r = config_load(temp_file, &config, err, err_size);
    config_free(config);
    return r;
}

static int load_text(const char *text, char *err, size_t err_size)
{
    struct ccx_config *config = NULL;
    FILE *file = fopen(temp_file, "w");
    int r;

    cr_assert_not_null(file);
    fputs(text, file);
    fclose(file);

    r = config_load(temp_file, &config, err, err_size);
    config_free(config);
    return r;
}

/* Loads the broken tree and checks the error names the file, the field and the reason. */
static void expect_error(json_t *root, const char *field, const char *reason)
{
    char err[1024];
    int r = load_tree(root, err, sizeof(err));

    cr_assert_eq(r, -EINVAL, "loaded; expected an error about %s", field);
    cr_assert_not_null(strstr(err, temp_file), "file missing from: %s", err);
    cr_assert_not_null(strstr(err, field), "field %s missing from: %s", field, err);
    cr_assert_not_null(strstr(err, reason), "reason '%s' missing from: %s", reason, err);
}

Test(config, loads_shipped_file)
{
    struct ccx_config *config = NULL;
    char err[512];

    cr_assert_eq(config_load(SHIPPED_CONFIG, &config, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(config->path, SHIPPED_CONFIG);
    cr_assert_str_eq(config->redis_url, "redis://127.0.0.1:6379");
    cr_assert_eq(config->result_ttl_s, 86400);
    cr_assert_eq(config->events_maxlen, 100000);
    cr_assert_eq(config->max_job_bytes, 16777216);
    cr_assert_eq(config->max_files, 1000);
    cr_assert_eq(config->max_args, 256);
    cr_assert_eq(config->shutdown_grace_s, 360);
    cr_assert_eq(config->lease_ms, 15000);
    cr_assert_eq(config->max_attempts, 3);
    cr_assert_eq(config->retry_backoff_ms, 1000);
    cr_assert_eq(config->poison_deliveries, 2);
    config_free(config);
}

Test(config, missing_lease_ms_takes_default)
{
    struct ccx_config *config = NULL;
    json_t *root = shipped();
    char err[512];

    json_object_del(root, "lease_ms");
    cr_assert_eq(json_dump_file(root, temp_file, JSON_INDENT(2)), 0);
    json_decref(root);

    cr_assert_eq(config_load(temp_file, &config, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(config->lease_ms, 15000);
    config_free(config);
}

Test(config, reads_lease_ms)
{
    struct ccx_config *config = NULL;
    json_t *root = shipped();
    char err[512];

    json_object_set_new(root, "lease_ms", json_integer(3000));
    cr_assert_eq(json_dump_file(root, temp_file, JSON_INDENT(2)), 0);
    json_decref(root);

    cr_assert_eq(config_load(temp_file, &config, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(config->lease_ms, 3000);
    config_free(config);
}

Test(config, rejects_lease_ms_below_a_second)
{
    json_t *root = shipped();

    json_object_set_new(root, "lease_ms", json_integer(999));
    expect_error(root, "lease_ms", "must be at least 1000");
}

Test(config, rejects_lease_ms_above_ten_minutes)
{
    json_t *root = shipped();

    json_object_set_new(root, "lease_ms", json_integer(600001));
    expect_error(root, "lease_ms", "must be at most 600000");
}

Test(config, rejects_lease_ms_as_string)
{
    json_t *root = shipped();

    json_object_set_new(root, "lease_ms", json_string("15000"));
    expect_error(root, "lease_ms", "must be an integer");
}

Test(config, missing_retry_fields_take_defaults)
{
    struct ccx_config *config = NULL;
    json_t *root = shipped();
    char err[512];

    json_object_del(root, "max_attempts");
    json_object_del(root, "retry_backoff_ms");
    json_object_del(root, "poison_deliveries");
    cr_assert_eq(json_dump_file(root, temp_file, JSON_INDENT(2)), 0);
    json_decref(root);

    cr_assert_eq(config_load(temp_file, &config, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(config->max_attempts, 3);
    cr_assert_eq(config->retry_backoff_ms, 1000);
    cr_assert_eq(config->poison_deliveries, 2);
    config_free(config);
}

Test(config, reads_retry_fields)
{
    struct ccx_config *config = NULL;
    json_t *root = shipped();
    char err[512];

    json_object_set_new(root, "max_attempts", json_integer(5));
    json_object_set_new(root, "retry_backoff_ms", json_integer(0));
    json_object_set_new(root, "poison_deliveries", json_integer(5));
    cr_assert_eq(json_dump_file(root, temp_file, JSON_INDENT(2)), 0);
    json_decref(root);

    cr_assert_eq(config_load(temp_file, &config, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(config->max_attempts, 5);
    cr_assert_eq(config->retry_backoff_ms, 0);
    cr_assert_eq(config->poison_deliveries, 5);
    config_free(config);
}

Test(config, rejects_max_attempts_zero)
{
    json_t *root = shipped();

    json_object_set_new(root, "max_attempts", json_integer(0));
    expect_error(root, "max_attempts", "must be greater than 0");
}

Test(config, rejects_max_attempts_above_100)
{
    json_t *root = shipped();

    json_object_set_new(root, "max_attempts", json_integer(101));
    expect_error(root, "max_attempts", "must be at most 100");
}

Test(config, rejects_retry_backoff_above_the_cap)
{
    json_t *root = shipped();

    json_object_set_new(root, "retry_backoff_ms", json_integer(60001));
    expect_error(root, "retry_backoff_ms", "must be at most 60000");
}

Test(config, rejects_poison_deliveries_zero)
{
    json_t *root = shipped();

    json_object_set_new(root, "poison_deliveries", json_integer(0));
    expect_error(root, "poison_deliveries", "must be greater than 0");
}

Test(config, rejects_poison_deliveries_above_max_attempts)
{
    json_t *root = shipped();

    json_object_set_new(root, "max_attempts", json_integer(2));
    json_object_set_new(root, "poison_deliveries", json_integer(3));
    expect_error(root, "poison_deliveries", "must be at most max_attempts (2)");
}

Test(config, reads_limit_defaults_and_ceilings)
{
    struct ccx_config *config = NULL;
    char err[512];

    cr_assert_eq(config_load(SHIPPED_CONFIG, &config, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(config->limits_default.wall_ms, 10000);
    cr_assert_eq(config->limits_max.wall_ms, 300000);
    cr_assert_eq(config->limits_default.memory_mb, 256);
    cr_assert_eq(config->limits_max.memory_mb, 8192);
    cr_assert_eq(config->limits_default.output_bytes, 1048576);
    cr_assert_eq(config->limits_max.disk_mb, 1024);
    config_free(config);
}

Test(config, reads_sandbox_section)
{
    struct ccx_config *config = NULL;
    struct sandbox_config *sb;
    char err[512];

    cr_assert_eq(config_load(SHIPPED_CONFIG, &config, err, sizeof(err)), 0, "%s", err);
    sb = &config->sandbox;
    cr_assert_eq(sb->uid_base, 1900000);
    cr_assert_eq(sb->inner_uid, 1000);
    cr_assert_str_eq(sb->ro_binds[0], "/usr");
    cr_assert_str_eq(sb->ro_binds[3], "/etc/localtime");
    cr_assert_null(sb->ro_binds[4]);
    cr_assert_eq(sb->symlink_count, 4);
    cr_assert_str_eq(sb->symlinks[0].path, "/bin");
    cr_assert_str_eq(sb->symlinks[0].target, "usr/bin");
    cr_assert_eq(sb->tmp_mb, 64);
    cr_assert_eq(sb->inodes, 16384);
    cr_assert_eq(sb->open_files, 256);
    cr_assert_eq(sb->stack_mb, 64);
    cr_assert_eq(sb->cpu_quota_pct, 100);
    cr_assert_str_eq(sb->env_path, "/usr/local/bin:/usr/bin:/bin");
    cr_assert_str_eq(sb->env_home, "/work");
    cr_assert_str_eq(sb->env_lang, "C.UTF-8");
    cr_assert_str_eq(sb->hostname, "ccx");
    cr_assert_str_eq(sb->run_dir, "/run/ccx");
    cr_assert_str_eq(sb->cgroup_parent, "ccx");
    config_free(config);
}

Test(config, reads_languages_in_file_order)
{
    static const char *const names[] = { "python", "node", "c", "sh" };
    struct ccx_config *config = NULL;
    char err[512];

    cr_assert_eq(config_load(SHIPPED_CONFIG, &config, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(config->language_count, 4);
    for (size_t i = 0; i < 4; i++)
        cr_assert_str_eq(config->languages[i].name, names[i]);
    cr_assert_str_eq(config->languages[0].source_name, "main.py");
    cr_assert_str_eq(config->languages[0].run_argv[0], "/usr/bin/python3");
    cr_assert_str_eq(config->languages[0].run_argv[1], "{main}");
    cr_assert_null(config->languages[0].run_argv[2]);
    cr_assert_null(config->languages[0].compile_argv);
    config_free(config);
}

Test(config, compile_limits_fill_gaps_from_global_defaults)
{
    struct ccx_config *config = NULL;
    const struct language *c;
    char err[512];

    cr_assert_eq(config_load(SHIPPED_CONFIG, &config, err, sizeof(err)), 0, "%s", err);
    c = config_language(config, "c");
    cr_assert_not_null(c);
    cr_assert_str_eq(c->compile_argv[0], "/usr/bin/gcc");
    cr_assert_str_eq(c->run_argv[0], "./main");
    cr_assert_eq(c->compile_limits.wall_ms, 30000);
    cr_assert_eq(c->compile_limits.memory_mb, 512);
    cr_assert_eq(c->compile_limits.pids, 32);
    cr_assert_eq(c->compile_limits.output_bytes, 65536);
    cr_assert_eq(c->compile_limits.disk_mb, 64, "disk_mb should come from limits.disk_mb");
    config_free(config);
}

Test(config, language_lookup_returns_null_for_unknown)
{
    struct ccx_config *config = NULL;
    char err[512];

    cr_assert_eq(config_load(SHIPPED_CONFIG, &config, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(config_language(config, "sh")->source_name, "main.sh");
    cr_assert_null(config_language(config, "cobol"));
    cr_assert_null(config_language(config, NULL));
    config_free(config);
}

Test(config, default_path_follows_ccx_config_env)
{
    setenv("CCX_CONFIG", "/srv/ccx/other.json", 1);
    cr_assert_str_eq(config_default_path(), "/srv/ccx/other.json");
}

Test(config, default_path_without_env_is_compiled_in)
{
    unsetenv("CCX_CONFIG");
    cr_assert_eq(config_default_path()[0], '/');
    cr_assert_not_null(strstr(config_default_path(), ".json"));
}

Test(config, missing_redis_url_takes_default)
{
    json_t *root = shipped();
    struct ccx_config *config = NULL;
    char err[512];

    json_object_del(root, "redis_url");
    cr_assert_eq(json_dump_file(root, temp_file, 0), 0);
    json_decref(root);

    cr_assert_eq(config_load(temp_file, &config, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(config->redis_url, "redis://127.0.0.1:6379");
    config_free(config);
}

Test(config, missing_file_is_enoent_and_named)
{
    struct ccx_config *config = NULL;
    char err[512];

    cr_assert_eq(config_load("/nonexistent/ccx.json", &config, err, sizeof(err)), -ENOENT);
    cr_assert_not_null(strstr(err, "/nonexistent/ccx.json"), "%s", err);
    cr_assert_null(config);
}

Test(config, invalid_json_names_file_and_line)
{
    char err[512];
    char where[160];

    cr_assert_eq(load_text("{\n  \"redis_url\": \"x\",\n  oops\n}\n", err, sizeof(err)),
                 -EINVAL);
    snprintf(where, sizeof(where), "%s:3:", temp_file);
    cr_assert_not_null(strstr(err, where), "%s", err);
}

Test(config, duplicate_key_is_refused)
{
    char err[512];
    char text[64];

    snprintf(text, sizeof(text), "{\"max_files\": 1, \"max_files\": 2}");
    cr_assert_eq(load_text(text, err, sizeof(err)), -EINVAL);
    cr_assert_not_null(strstr(err, "max_files"), "%s", err);
}

Test(config, top_level_must_be_object)
{
    char err[512];

    cr_assert_eq(load_text("[1, 2]", err, sizeof(err)), -EINVAL);
    cr_assert_not_null(strstr(err, "must be a JSON object"), "%s", err);
}

Test(config, rejects_unknown_top_level_key)
{
    json_t *root = shipped();

    json_object_set_new(root, "redis_ulr", json_string("redis://x"));
    expect_error(root, "redis_ulr", "unknown field");
}

Test(config, rejects_unknown_sandbox_key)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "sandbox"), "tmp_mbb", json_integer(1));
    expect_error(root, "sandbox.tmp_mbb", "unknown field");
}

Test(config, rejects_unknown_limit_name)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "limits"), "threads", json_pack("{s:i,s:i}", "default", 1,
                                                                  "max", 2));
    expect_error(root, "limits.threads", "unknown field");
}

Test(config, rejects_unknown_key_in_limit_entry)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "limits.wall_ms"), "dflt", json_integer(5));
    expect_error(root, "limits.wall_ms.dflt", "unknown field");
}

Test(config, rejects_unknown_language_key)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "languages.python"), "compiler", json_string("x"));
    expect_error(root, "languages.python.compiler", "unknown field");
}

Test(config, rejects_default_above_max)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "limits.memory_mb"), "default", json_integer(9000));
    expect_error(root, "limits.memory_mb.default", "above max 8192");
}

Test(config, rejects_zero_limit)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "limits.pids"), "max", json_integer(0));
    expect_error(root, "limits.pids.max", "greater than 0");
}

Test(config, rejects_negative_limit)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "limits.cpu_ms"), "default", json_integer(-5));
    expect_error(root, "limits.cpu_ms.default", "greater than 0");
}

Test(config, rejects_missing_limit)
{
    json_t *root = shipped();

    json_object_del(at(root, "limits"), "disk_mb");
    expect_error(root, "limits.disk_mb", "is missing");
}

Test(config, rejects_string_where_integer_expected)
{
    json_t *root = shipped();

    json_object_set_new(root, "max_files", json_string("1000"));
    expect_error(root, "max_files", "must be an integer");
}

Test(config, rejects_empty_languages)
{
    json_t *root = shipped();

    json_object_set_new(root, "languages", json_object());
    expect_error(root, "languages", "at least one language");
}

Test(config, rejects_source_name_with_slash)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "languages.python"), "source_name", json_string("src/m.py"));
    expect_error(root, "languages.python.source_name", "plain file name");
}

Test(config, rejects_missing_source_name)
{
    json_t *root = shipped();

    json_object_del(at(root, "languages.node"), "source_name");
    expect_error(root, "languages.node.source_name", "is missing");
}

Test(config, rejects_empty_run_array)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "languages.python"), "run", json_array());
    expect_error(root, "languages.python.run", "must not be empty");
}

Test(config, rejects_non_string_in_run)
{
    json_t *root = shipped();

    json_array_set_new(at(root, "languages.python.run"), 1, json_integer(3));
    expect_error(root, "languages.python.run[1]", "must be a string");
}

Test(config, rejects_compile_without_run)
{
    json_t *root = shipped();

    json_object_del(at(root, "languages.c.compile"), "run");
    expect_error(root, "languages.c.compile.run", "is missing");
}

Test(config, rejects_zero_compile_limit)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "languages.c.compile.limits"), "memory_mb", json_integer(0));
    expect_error(root, "languages.c.compile.limits.memory_mb", "greater than 0");
}

Test(config, rejects_relative_ro_bind)
{
    json_t *root = shipped();

    json_array_set_new(at(root, "sandbox.ro_binds"), 1, json_string("etc/alternatives"));
    expect_error(root, "sandbox.ro_binds[1]", "absolute path");
}

Test(config, rejects_relative_symlink_path)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "sandbox.symlinks"), "lib32", json_string("usr/lib32"));
    expect_error(root, "sandbox.symlinks.lib32", "absolute path");
}

Test(config, rejects_env_without_lang)
{
    json_t *root = shipped();

    json_object_del(at(root, "sandbox.env"), "LANG");
    expect_error(root, "sandbox.env.LANG", "is missing");
}

Test(config, rejects_extra_env_variable)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "sandbox.env"), "LD_PRELOAD", json_string("/x.so"));
    expect_error(root, "sandbox.env.LD_PRELOAD", "unknown field");
}

Test(config, rejects_relative_run_dir)
{
    json_t *root = shipped();

    json_object_set_new(at(root, "sandbox"), "run_dir", json_string("run/ccx"));
    expect_error(root, "sandbox.run_dir", "absolute path");
}

Test(config, rejects_missing_sandbox_section)
{
    json_t *root = shipped();

    json_object_del(root, "sandbox");
    expect_error(root, "sandbox", "is missing");
}

Test(config, error_buffer_may_be_small)
{
    json_t *root = shipped();
    char err[8];

    json_object_set_new(root, "bogus", json_true());
    cr_assert_eq(load_tree(root, err, sizeof(err)), -EINVAL);
    cr_assert_eq(strlen(err), sizeof(err) - 1);
}
