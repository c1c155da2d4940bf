/* common/policy.c: the shipped deploy/policy.json, layering (built-in, defaults, tenant),
 * and broken files, each of which must be refused with the file, the field and the reason. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/config.h"
#include "common/policy.h"

#define SHIPPED_CONFIG CCX_SOURCE_DIR "/deploy/ccx.json"
#define SHIPPED_POLICY CCX_SOURCE_DIR "/deploy/policy.json"

static struct ccx_config *config;
static char temp_dir[64];
static char temp_file[128];
static char err[1024];

static void setup(void)
{
    char config_err[512];

    cr_assert_eq(config_load(SHIPPED_CONFIG, &config, config_err, sizeof(config_err)), 0,
                 "%s", config_err);
    snprintf(temp_dir, sizeof(temp_dir), "/tmp/ccx-test-policy-XXXXXX");
    cr_assert_not_null(mkdtemp(temp_dir));
    snprintf(temp_file, sizeof(temp_file), "%s/policy.json", temp_dir);
}

static void teardown(void)
{
    config_free(config);
    unlink(temp_file);
    rmdir(temp_dir);
}

TestSuite(policy, .init = setup, .fini = teardown);

/* Writes text as the policy file and loads it. */
static int load_text(const char *text, struct policy **ret_policy)
{
    FILE *file = fopen(temp_file, "w");

    cr_assert_not_null(file);
    fputs(text, file);
    fclose(file);
    err[0] = '\0';
    return policy_load(temp_file, config, ret_policy, err, sizeof(err));
}

/* The file must be refused, and the message must name the file, the field and the reason. */
static void assert_refused(const char *text, const char *field, const char *reason)
{
    struct policy *policy = NULL;
    int r = load_text(text, &policy);

    cr_assert_eq(r, -EINVAL, "accepted: %s", text);
    cr_assert_null(policy);
    cr_assert(strstr(err, temp_file), "no file name in: %s", err);
    cr_assert(strstr(err, field), "no field %s in: %s", field, err);
    cr_assert(strstr(err, reason), "no reason \"%s\" in: %s", reason, err);
}

Test(policy, shipped_file_loads)
{
    struct policy *policy = NULL;
    const struct tenant_policy *judge;

    cr_assert_eq(policy_load(SHIPPED_POLICY, config, &policy, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(policy->version, "2026-12-04.1");

    judge = policy_tenant(policy, "example-judge");
    cr_assert_str_eq(judge->name, "example-judge");
    cr_assert_not(judge->children);
    cr_assert_eq(judge->limits_default.wall_ms, 5000);
    cr_assert_eq(judge->limits_max.wall_ms, 20000);
    cr_assert_eq(judge->analysis, POLICY_ANALYSIS_REJECT);
    cr_assert(policy_language_allowed(judge, "python"));
    cr_assert_not(policy_language_allowed(judge, "node"));
    cr_assert_str_eq(judge->denied_modules[0], "socket");
    cr_assert_eq(judge->quotas.concurrency, 8);
    cr_assert_eq(judge->cgroup.cpu_weight, 200);

    /* Not named in the file: the defaults, which follow the config's limits. */
    cr_assert_str_eq(policy_tenant(policy, "nobody")->name, "defaults");
    cr_assert_eq(policy_tenant(policy, "nobody")->limits_max.wall_ms, config->limits_max.wall_ms);
    cr_assert(policy_language_allowed(policy_tenant(policy, "nobody"), "node"));
    policy_free(policy);
}

Test(policy, builtin_policy)
{
    struct policy *policy = NULL;
    const struct tenant_policy *any;

    cr_assert_eq(policy_builtin(config, &policy), 0);
    cr_assert_str_eq(policy->version, "builtin");
    any = policy_tenant(policy, "acme");
    cr_assert(any->children);
    cr_assert_eq(any->analysis, POLICY_ANALYSIS_REPORT);
    cr_assert_eq(any->reject_at, RISK_HIGH);
    cr_assert_eq(any->quotas.weight, 1);
    cr_assert_eq(any->quotas.concurrency, 0);
    cr_assert_eq(any->tmp_mb, config->sandbox.tmp_mb);
    cr_assert(any->breaker.enabled);
    policy_free(policy);
}

Test(policy, tenant_fields_layer_over_defaults_field_by_field)
{
    struct policy *policy = NULL;
    const struct tenant_policy *acme;

    cr_assert_eq(load_text("{\"version\": \"v7\","
                           " \"defaults\": {\"quotas\": {\"concurrency\": 4, \"weight\": 3},"
                           "   \"breaker\": {\"failure_pct\": 80}},"
                           " \"tenants\": {\"acme\": {\"quotas\": {\"concurrency\": 1},"
                           "   \"resources\": {\"limits\": {\"wall_ms\": {\"max\": 500}}}}}}",
                           &policy),
                 0, "%s", err);

    acme = policy_tenant(policy, "acme");
    cr_assert_eq(acme->quotas.concurrency, 1);
    cr_assert_eq(acme->quotas.weight, 3, "a field the tenant leaves out comes from defaults");
    cr_assert_eq(acme->breaker.failure_pct, 80);
    cr_assert_eq(acme->breaker.cooldown_ms, 30000, "and past those, the built-in value");
    cr_assert_eq(acme->limits_max.wall_ms, 500);
    cr_assert_eq(acme->limits_default.wall_ms, 500, "a lowered max pulls the default down");
    cr_assert_eq(policy_tenant(policy, "other")->quotas.concurrency, 4);
    policy_free(policy);
}

Test(policy, seccomp_profile_is_taken_beside_the_file)
{
    struct policy *policy = NULL;
    char expected[256];

    cr_assert_eq(load_text("{\"version\": \"v1\", \"tenants\": {\"a\": {\"code\":"
                           " {\"seccomp_profile\": \"strict.json\"}}}}",
                           &policy),
                 0, "%s", err);
    snprintf(expected, sizeof(expected), "%s/strict.json", temp_dir);
    cr_assert_str_eq(policy_tenant(policy, "a")->seccomp_profile, expected);
    cr_assert_null(policy->defaults.seccomp_profile);
    policy_free(policy);
}

Test(policy, broken_files_are_refused_with_file_field_and_reason)
{
    assert_refused("{\"defaults\": {}}", "version", "is missing");
    assert_refused("{\"version\": \"a b\"}", "version", "must be made of");
    assert_refused("{\"version\": \"a\\\"b\"}", "version", "must be made of");
    assert_refused("{\"version\": \"v\", \"extra\": 1}", "extra", "unknown field");
    assert_refused("{\"version\": \"v\", \"tenants\": {\"a\": {\"quotas\": {\"burst\": -1}}}}",
                   "tenants.a.quotas.burst", "at least");
    assert_refused("{\"version\": \"v\", \"tenants\": {\"a\": {\"quotas\": {\"bursts\": 1}}}}",
                   "tenants.a.quotas.bursts", "unknown field");
    assert_refused("{\"version\": \"v\", \"defaults\": {\"network\": {\"allowed\": true}}}",
                   "defaults.network.allowed", "no network");
    assert_refused("{\"version\": \"v\", \"tenants\": {\"a\": {\"code\":"
                   " {\"languages\": [\"cobol\"]}}}}",
                   "tenants.a.code.languages[0]", "not a language");
    assert_refused("{\"version\": \"v\", \"tenants\": {\"a\": {\"code\":"
                   " {\"analysis\": \"block\"}}}}",
                   "tenants.a.code.analysis", "must be");
    assert_refused("{\"version\": \"v\", \"tenants\": {\"a\": {\"code\":"
                   " {\"reject_at\": \"none\"}}}}",
                   "tenants.a.code.reject_at", "must be");
    assert_refused("{\"version\": \"v\", \"tenants\": {\"a\": {\"resources\": {\"limits\":"
                   " {\"memory_mb\": {\"max\": 999999999}}}}}}",
                   "tenants.a.resources.limits.memory_mb.max", "at most");
    assert_refused("{\"version\": \"v\", \"tenants\": {\"a\": {\"resources\": {\"limits\":"
                   " {\"wall_ms\": {\"default\": 900, \"max\": 800}}}}}}",
                   "tenants.a.resources.limits.wall_ms.default", "above max");
    assert_refused("{\"version\": \"v\", \"tenants\": {\"a/b\": {}}}", "tenants.a/b",
                   "tenant name");
    assert_refused("{\"version\": \"v\", \"tenants\": {\"a\": {\"breaker\":"
                   " {\"min_calls\": 30, \"window_calls\": 20}}}}",
                   "tenants.a.breaker.min_calls", "never open");
    assert_refused("{\"version\": \"v\", \"tenants\": {\"a\": {\"modules\":"
                   " {\"deny\": [\"os; rm\"]}}}}",
                   "tenants.a.modules.deny[0]", "not a module name");
    assert_refused("{\"version\": \"v\", \"tenants\": {\"a\": {\"processes\":"
                   " {\"children\": \"no\"}}}}",
                   "tenants.a.processes.children", "true or false");
    assert_refused("{\"version\": \"v\", \"version\": \"w\"}", "", "duplicate");
    assert_refused("[1, 2]", "(top level)", "JSON object");
}

Test(policy, missing_file_is_enoent)
{
    struct policy *policy = NULL;

    cr_assert_eq(policy_load("/nonexistent/policy.json", config, &policy, err, sizeof(err)),
                 -ENOENT);
    cr_assert(strstr(err, "/nonexistent/policy.json"));
}
