/* Set-up and tear-down shared by the unit suites that run real sandboxes (test_sandbox,
 * test_breaker): the shipped config, a sandbox in a slot of the test process's own, and no
 * cgroup left behind. Each suite names its own cgroup parent between the two steps. Included
 * by one test file each, so its functions are static. */
#ifndef CCX_TESTS_SANDBOX_FIXTURE_H
#define CCX_TESTS_SANDBOX_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/config.h"
#include "worker/sandbox.h"

/* The shipped config; skips the test unless it runs as root. */
static struct ccx_config *fixture_config(void)
{
    struct ccx_config *config = NULL;
    char err[512];
    int ret;

    if (geteuid() != 0)
        cr_skip_test("the sandbox needs root, as ccx-worker does");
    ret = config_load(CCX_SOURCE_DIR "/deploy/ccx.json", &config, err, sizeof(err));
    cr_assert_eq(ret, 0, "config: %s", err);
    return config;
}

/* A sandbox of config. */
static struct sandbox *fixture_sandbox(const struct ccx_config *config)
{
    struct sandbox *sandbox = NULL;
    int ret;

    /* A slot of its own per test process, so that parallel tests never share a uid. */
    ret = sandbox_new(config, (int)(getpid() % 1000), &sandbox);
    cr_assert_eq(ret, 0, "sandbox_new: %s", strerror(-ret));
    return sandbox;
}

/* Frees both (either may be NULL) and leaves no cgroup of config's behind: the parent goes
 * when no other test still uses it. */
static void fixture_teardown(struct ccx_config *config, struct sandbox *sandbox)
{
    static const char *const controllers[] = {"memory", "pids", "cpu", "cpuacct", NULL};
    char path[512];

    sandbox_free(sandbox);
    for (const char *const *c = controllers; config && *c; c++) {
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s", *c, config->sandbox.cgroup_parent);
        rmdir(path);
    }
    if (config) {
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", config->sandbox.cgroup_parent);
        rmdir(path);
    }
    config_free(config);
}

#endif
