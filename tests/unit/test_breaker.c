/* worker/breaker.c: what a result counts as for the circuit breakers (on hand-made results,
 * and on results of real jobs run in the real sandbox, as ccx-worker runs them), the settings
 * argument of breaker.lua, and the embedded library itself. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <criterion/criterion.h>
#include <msgpack.h>

#include "common/config.h"
#include "common/job.h"
#include "common/keys.h"
#include "worker/breaker.h"
#include "worker/runner.h"
#include "worker/sandbox.h"

#include "sandbox_fixture.h"

/* A result of status, with the given events (kinds only) and reason. */
static struct result result_of(enum job_status status, const char *reason, const char *kind1,
                               const char *kind2)
{
    struct result result = {.status = status, .reason = reason ? strdup(reason) : NULL};

    if (kind1)
        cr_assert_eq(event_list_add(&result.events, kind1, "syscall=x"), 0);
    if (kind2)
        cr_assert_eq(event_list_add(&result.events, kind2, "syscall=y"), 0);
    return result;
}

static void expect(enum job_status status, const char *reason, const char *kind, bool limits,
                   bool tenant_failed, bool host_failed)
{
    struct result result = result_of(status, reason, kind, NULL);
    struct brk_verdict verdict = brk_classify(&result, limits);

    cr_expect(verdict.counted, "%s (reason %s) is counted", job_status_name(status),
              reason ? reason : "-");

    cr_expect_eq(verdict.tenant_failed, tenant_failed, "%s (reason %s, event %s, limits %d): "
                 "tenant_failed %d", job_status_name(status), reason ? reason : "-",
                 kind ? kind : "-", limits, verdict.tenant_failed);
    cr_expect_eq(verdict.host_failed, host_failed, "%s (reason %s, event %s, limits %d): "
                 "host_failed %d", job_status_name(status), reason ? reason : "-",
                 kind ? kind : "-", limits, verdict.host_failed);
    result_clear(&result);
}

static void expect_uncounted(enum job_status status, const char *reason, const char *kind)
{
    struct result result = result_of(status, reason, kind, NULL);
    struct brk_verdict verdict = brk_classify(&result, true);

    cr_expect_not(verdict.counted, "%s (reason %s, event %s) is not counted",
                  job_status_name(status), reason ? reason : "-", kind ? kind : "-");
    cr_expect_not(verdict.tenant_failed || verdict.host_failed, "%s: a failure",
                  job_status_name(status));
    result_clear(&result);
}

Test(breaker, ordinary_outcomes_are_no_failure)
{
    expect(JOB_STATUS_OK, NULL, NULL, true, false, false);
    expect(JOB_STATUS_ERROR_EXIT, NULL, NULL, true, false, false);
    expect(JOB_STATUS_SIGNALED, NULL, NULL, true, false, false);
    expect(JOB_STATUS_COMPILE_ERROR, "compilation failed (exit code 1)", NULL, true, false,
           false);
}

Test(breaker, policy_violation_is_the_tenants_failure)
{
    expect(JOB_STATUS_POLICY_VIOLATION, NULL, "policy_violation", false, true, false);
    expect(JOB_STATUS_POLICY_VIOLATION, NULL, NULL, false, true, false);
}

Test(breaker, a_refused_escape_fails_the_tenant_whatever_the_status)
{
    expect(JOB_STATUS_OK, NULL, "syscall_refused", false, true, false);
    expect(JOB_STATUS_ERROR_EXIT, NULL, "syscall_refused", false, true, false);
    expect(JOB_STATUS_OK, NULL, "syscall_refused_suppressed", false, true, false);
    expect(JOB_STATUS_SIGNALED, NULL, "seccomp_kill", false, true, false);
    expect(JOB_STATUS_TIMEOUT, NULL, "syscall_refused", false, true, false);
}

Test(breaker, a_sigsys_kill_fails_the_tenant)
{
    struct result result = result_of(JOB_STATUS_SIGNALED, NULL, NULL, NULL);

    result.run.signal = SIGSYS;
    cr_assert(brk_classify(&result, false).tenant_failed);
    result.run.signal = SIGSEGV;
    cr_assert_not(brk_classify(&result, false).tenant_failed);
    result_clear(&result);
}

Test(breaker, limits_count_only_with_count_limits)
{
    static const enum job_status limits[] = {
        JOB_STATUS_TIMEOUT, JOB_STATUS_CPU_LIMIT, JOB_STATUS_MEMORY_LIMIT,
        JOB_STATUS_PIDS_LIMIT, JOB_STATUS_OUTPUT_LIMIT,
    };

    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        expect(limits[i], NULL, NULL, false, false, false);
        expect(limits[i], NULL, NULL, true, true, false);
    }
    /* A compile step stopped by a limit. */
    expect(JOB_STATUS_COMPILE_ERROR, "compilation stopped: memory_limit", "memory_limit", true,
           true, false);
    expect(JOB_STATUS_COMPILE_ERROR, "compilation stopped: memory_limit", "memory_limit", false,
           false, false);
    /* Memory pressure alone is no limit hit. */
    expect(JOB_STATUS_OK, NULL, "memory_pressure", true, false, false);
}

Test(breaker, internal_error_is_the_hosts_failure)
{
    expect(JOB_STATUS_INTERNAL_ERROR, "the run step's sandbox could not be set up (errno 12)",
           NULL, true, false, true);
    expect(JOB_STATUS_INTERNAL_ERROR, "the worker could not run the job: Out of memory", NULL,
           false, false, true);
    /* The worker stopping a step itself (lost lease, cancel) is nobody's failure. */
    expect_uncounted(JOB_STATUS_INTERNAL_ERROR, "the run step was stopped by the worker", NULL);
}

Test(breaker, dead_letters_by_cause)
{
    expect(JOB_STATUS_DEAD_LETTER,
           "quarantined as a poison job: 2 of its 2 attempts lost their holder (the worker "
           "died or the lease ran out); the last: holder lost: handed back: its worker died",
           NULL, false, true, false);
    expect(JOB_STATUS_DEAD_LETTER,
           "gave up after 3 attempts; the last: internal_error: the run step's sandbox could "
           "not be set up (errno 5)", NULL, false, false, true);
    expect(JOB_STATUS_DEAD_LETTER,
           "gave up after 3 attempts; the last: holder lost: lease expired", NULL, false, false,
           false);
}

Test(breaker, jobs_that_never_ran_are_not_counted)
{
    static const enum job_status never_ran[] = {
        JOB_STATUS_REJECTED, JOB_STATUS_CANCELLED, JOB_STATUS_EXPIRED, JOB_STATUS_CIRCUIT_OPEN,
    };

    for (size_t i = 0; i < sizeof(never_ran) / sizeof(never_ran[0]); i++) {
        expect_uncounted(never_ran[i], "whatever", NULL);
        /* A cancelled run that had refusals is not counted either. */
        expect_uncounted(never_ran[i], "whatever", "syscall_refused");
    }
}

Test(breaker, circuit_open_is_a_status)
{
    cr_assert_str_eq(job_status_name(JOB_STATUS_CIRCUIT_OPEN), "circuit_open");
    cr_assert_eq(job_status_parse("circuit_open"), JOB_STATUS_CIRCUIT_OPEN);
}

static const struct policy_breaker builtin = {
    .enabled = true, .window_calls = 20, .window_ms = 60000, .min_calls = 5,
    .failure_pct = 50, .cooldown_ms = 30000, .probes = 2, .min_hosts = 2,
    .count_limits = false,
};

Test(breaker, settings_name_every_field)
{
    struct brk_fleet fleet = {.live_ms = 45000, .probe_ttl_ms = 360000, .events_maxlen = 100000};
    char buf[BRK_SETTINGS_SIZE];
    int n = brk_settings_format(&builtin, &fleet, buf, sizeof(buf));

    cr_assert_gt(n, 0);
    cr_assert_eq((size_t)n, strlen(buf));
    cr_assert_str_eq(buf, "enabled=1 window_calls=20 window_ms=60000 min_calls=5 failure_pct=50 "
                          "cooldown_ms=30000 probes=2 min_hosts=2 count_limits=0 live_ms=45000 "
                          "probe_ttl_ms=360000 events_maxlen=100000");
}

Test(breaker, settings_fit_the_buffer_at_their_largest)
{
    struct policy_breaker big = {
        .enabled = true, .window_calls = UINT32_MAX, .window_ms = UINT64_MAX,
        .min_calls = UINT32_MAX, .failure_pct = 100, .cooldown_ms = UINT64_MAX,
        .probes = UINT32_MAX, .min_hosts = UINT32_MAX, .count_limits = true,
    };
    struct brk_fleet fleet = {UINT64_MAX, UINT64_MAX, UINT64_MAX};
    char buf[BRK_SETTINGS_SIZE];

    cr_assert_gt(brk_settings_format(&big, &fleet, buf, sizeof(buf)), 0);
}

Test(breaker, settings_refuse_what_cannot_work)
{
    struct brk_fleet fleet = {45000, 360000, 0};
    struct policy_breaker bad = builtin;
    char buf[BRK_SETTINGS_SIZE];

    bad.window_calls = 0;
    cr_assert_eq(brk_settings_format(&bad, &fleet, buf, sizeof(buf)), -EINVAL);
    bad = builtin;
    bad.probes = 0;
    cr_assert_eq(brk_settings_format(&bad, &fleet, buf, sizeof(buf)), -EINVAL);
    bad = builtin;
    bad.failure_pct = 101;
    cr_assert_eq(brk_settings_format(&bad, &fleet, buf, sizeof(buf)), -EINVAL);
    cr_assert_eq(brk_settings_format(&builtin, &fleet, buf, 16), -ENOSPC);
}

/* The library builds its key names itself: they must be common/keys.h's. */
Test(breaker, library_uses_the_protocol_key_names)
{
    static const char library[] = BREAKER_LUA;

    cr_assert_not_null(strstr(library, "'" KEY_EVENTS "'"));
    cr_assert_not_null(strstr(library, "'" KEY_EVENTS_FIELD "'"));
    cr_assert_not_null(strstr(library, "'" KEY_HOSTS "'"));
    cr_assert_not_null(strstr(library, "'" KEY_BREAKER_PREFIX "'"));
}

/* The embedded library is the file, byte for byte. */
Test(breaker, embedded_library_is_the_lua_file)
{
    FILE *file = fopen(CCX_SOURCE_DIR "/worker/breaker.lua", "re");
    static const char embedded[] = BREAKER_LUA;
    char *text;
    long size;

    cr_assert_not_null(file);
    cr_assert_eq(fseek(file, 0, SEEK_END), 0);
    size = ftell(file);
    rewind(file);
    text = malloc((size_t)size + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)size, file), (size_t)size);
    text[size] = '\0';
    fclose(file);

    cr_assert_eq(sizeof(embedded) - 1, (size_t)size);
    cr_assert_str_eq(embedded, text);
    free(text);
}

/* ==== Results of real jobs ==== */

static struct ccx_config *config;
static struct sandbox *sandbox;

/* The cgroup parent and run dir of this test process: CCX_TEST_PREFIX keeps them apart
 * from other test runs on the host, as tests/integration/fleet.py does for fleets. */
static void real_names(char cgroup_parent[64], char run_dir[80])
{
    const char *prefix = getenv("CCX_TEST_PREFIX");

    snprintf(cgroup_parent, 64, "ccx%s%.40s", prefix ? "-" : "", prefix ? prefix : "");
    snprintf(run_dir, 80, "/run/%s", cgroup_parent);
}

static void real_setup(void)
{
    char cgroup_parent[64], run_dir[80];

    config = fixture_config();
    real_names(cgroup_parent, run_dir);
    free(config->sandbox.cgroup_parent);
    free(config->sandbox.run_dir);
    config->sandbox.cgroup_parent = strdup(cgroup_parent);
    config->sandbox.run_dir = strdup(run_dir);
    cr_assert(config->sandbox.cgroup_parent && config->sandbox.run_dir);
    sandbox = fixture_sandbox(config);
}

static void real_teardown(void)
{
    fixture_teardown(config, sandbox);
}

static void pack_text(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* Runs a Python program as a job (memory_mb set when nonzero) and returns its result. */
static void real_run(const char *source, uint64_t memory_mb, struct result *result)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;
    struct job *job = NULL;
    int ret;

    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    pack_text(&pk, "id");
    pack_text(&pk, "breaker-job");
    pack_text(&pk, "tenant");
    pack_text(&pk, "acme");
    pack_text(&pk, "language");
    pack_text(&pk, "python");
    pack_text(&pk, "source");
    pack_text(&pk, source);
    pack_text(&pk, "limits");
    msgpack_pack_map(&pk, memory_mb ? 2 : 1);
    pack_text(&pk, "wall_ms");
    msgpack_pack_uint64(&pk, 30000);
    if (memory_mb) {
        pack_text(&pk, "memory_mb");
        msgpack_pack_uint64(&pk, memory_mb);
    }

    ret = job_decode(buf.data, buf.size, "1-1", config, &job);
    msgpack_sbuffer_destroy(&buf);
    cr_assert_eq(ret, 0);
    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);

    ret = runner_run(sandbox, config, job, NULL, NULL, result);
    cr_assert_eq(ret, 0, "runner_run: %d", ret);
    result->meta = NULL; /* borrowed from the job */
    job_free(job);
}

static void expect_real(const char *source, uint64_t memory_mb, enum job_status status,
                        bool count_limits, bool tenant_failed)
{
    struct result result;
    struct brk_verdict verdict;

    real_run(source, memory_mb, &result);
    cr_assert_eq(result.status, status, "status %s, expected %s; stderr %.*s",
                 job_status_name(result.status), job_status_name(status),
                 (int)result.run.stderr_size, (const char *)result.run.stderr_data);
    verdict = brk_classify(&result, count_limits);
    cr_expect(verdict.counted);
    cr_expect_eq(verdict.tenant_failed, tenant_failed, "%s: tenant_failed %d",
                 job_status_name(status), verdict.tenant_failed);
    cr_expect_not(verdict.host_failed);
    result_clear(&result);
}

TestSuite(breaker_real, .init = real_setup, .fini = real_teardown, .timeout = 120);

Test(breaker_real, a_job_that_runs_well_is_a_success)
{
    expect_real("print('hello')\n", 0, JOB_STATUS_OK, true, false);
}

Test(breaker_real, a_nonzero_exit_is_a_success)
{
    expect_real("import sys\nsys.exit(3)\n", 0, JOB_STATUS_ERROR_EXIT, true, false);
}

Test(breaker_real, a_refused_socket_fails_the_tenant_though_the_job_ends_ok)
{
    expect_real("import socket\n"
                "try:\n    socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
                "except OSError:\n    pass\n",
                0, JOB_STATUS_OK, false, true);
}

Test(breaker_real, a_policy_violation_fails_the_tenant)
{
    expect_real("import ctypes\nctypes.CDLL(None).syscall(175, 0, 0, 0)\n", 0,
                JOB_STATUS_POLICY_VIOLATION, false, true);
}

Test(breaker_real, a_memory_limit_fails_the_tenant_only_with_count_limits)
{
    static const char hog[] = "b = bytearray(256 * 1024 * 1024)\nfor i in range(0, len(b), 4096):"
                              "\n    b[i] = 1\n";

    expect_real(hog, 64, JOB_STATUS_MEMORY_LIMIT, false, false);
    expect_real(hog, 64, JOB_STATUS_MEMORY_LIMIT, true, true);
}
