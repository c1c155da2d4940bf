/* Tenant parent cgroups against the real kernel: the directory names, the files a policy
 * lands in, a policy change, and removal when idle. Needs root for everything but the
 * names. The ccx parent is "ccx-$CCX_TEST_PREFIX" when that is set, as the fleets' are. */
#include <criterion/criterion.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker/cgroup.h"

#define MIB (UINT64_C(1) << 20)

static struct cg_system *cgroups;
static char parent[64];

static const struct limits step_limits = {
    .wall_ms = 10000, .cpu_ms = 10000, .memory_mb = 64, .pids = 16, .output_bytes = 4096,
    .disk_mb = 16,
};

static void setup(void)
{
    const char *prefix = getenv("CCX_TEST_PREFIX");
    int ret;

    if (geteuid() != 0)
        cr_skip_test("cgroups need root, as ccx-worker does");
    snprintf(parent, sizeof(parent), "%s%s%s", "ccx", prefix ? "-" : "", prefix ? prefix : "");
    ret = cg_system_new(parent, &cgroups);
    cr_assert_eq(ret, 0, "cg_system_new: %s", strerror(-ret));
}

/* The tenant parents go with cg_system_free; the ccx parent when no other test uses it. */
static void teardown(void)
{
    static const char *const controllers[] = {"memory", "pids", "cpu", "cpuacct", NULL};
    char path[512];

    cg_system_free(cgroups);
    for (const char *const *c = controllers; *c; c++) {
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s", *c, parent);
        rmdir(path);
    }
    snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", parent);
    rmdir(path);
}

/* The directory of tenant in the hierarchy that holds controller's files. */
static void tenant_path(const char *tenant, const char *controller, char *buf, size_t size)
{
    char dir[CG_TENANT_DIR_SIZE];

    cg_tenant_dir_name(tenant, dir);
    if (cg_system_mode(cgroups) == CG_MODE_V2)
        snprintf(buf, size, "/sys/fs/cgroup/%s/%s", parent, dir);
    else
        snprintf(buf, size, "/sys/fs/cgroup/%s/%s/%s", controller, parent, dir);
}

static bool tenant_exists(const char *tenant)
{
    char path[512];
    struct stat st;

    tenant_path(tenant, "memory", path, sizeof(path));
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A value of a tenant parent's file: "max", and v1's page-aligned huge number, as UINT64_MAX. */
static uint64_t tenant_value(const char *tenant, const char *controller, const char *file)
{
    char path[600], dir[512], text[64] = "";
    FILE *f;
    uint64_t value;

    tenant_path(tenant, controller, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "re");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_not_null(fgets(text, sizeof(text), f));
    fclose(f);
    if (strncmp(text, "max", 3) == 0)
        return UINT64_MAX;
    value = strtoull(text, NULL, 10);
    return value >= (UINT64_C(1) << 62) ? UINT64_MAX : value;
}

/* Asserts the memory, swap, pids and CPU files of tenant's parent. */
static void assert_tenant_files(const char *tenant, uint64_t memory_bytes, uint64_t pids,
                                uint32_t weight)
{
    if (cg_system_mode(cgroups) == CG_MODE_V2) {
        cr_assert_eq(tenant_value(tenant, "memory", "memory.max"), memory_bytes);
        cr_assert_eq(tenant_value(tenant, "memory", "memory.swap.max"),
                     memory_bytes == UINT64_MAX ? UINT64_MAX : 0);
        cr_assert_eq(tenant_value(tenant, "pids", "pids.max"), pids);
        cr_assert_eq(tenant_value(tenant, "cpu", "cpu.weight"), weight);
        return;
    }
    cr_assert_eq(tenant_value(tenant, "memory", "memory.limit_in_bytes"), memory_bytes,
                 "memory.limit_in_bytes %" PRIu64, tenant_value(tenant, "memory",
                                                                "memory.limit_in_bytes"));
    if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
        cr_assert_eq(tenant_value(tenant, "memory", "memory.memsw.limit_in_bytes"),
                     memory_bytes);
    cr_assert_eq(tenant_value(tenant, "pids", "pids.max"), pids);
    cr_assert_eq(tenant_value(tenant, "cpu", "cpu.shares"), (uint64_t)weight * 1024 / 100);
}

static struct cg_job *make_step(const char *tenant, const struct policy_cgroup *policy, int n)
{
    char name[64];
    struct cg_job *job = NULL;
    int ret;

    snprintf(name, sizeof(name), "w%d-t%d", (int)getpid(), n);
    ret = cg_job_create(cgroups, tenant, policy, name, &step_limits, 100, &job);
    cr_assert_eq(ret, 0, "cg_job_create(%s): %s", tenant, strerror(-ret));
    return job;
}

static void assert_safe_name(const char *tenant)
{
    char dir[CG_TENANT_DIR_SIZE];
    size_t len;

    cg_tenant_dir_name(tenant, dir);
    len = strlen(dir);
    cr_assert_lt(len, CG_TENANT_DIR_SIZE);
    cr_assert(strncmp(dir, "t-", 2) == 0, "%s", dir);
    cr_assert_eq(strspn(dir, "abcdefghijklmnopqrstuvwxyz0123456789_-"), len,
                 "unsafe byte in \"%s\"", dir);
    /* "-" and 8 hex digits of the hash end it. */
    cr_assert_eq(dir[len - 9], '-', "%s", dir);
    cr_assert_eq(strspn(dir + len - 8, "0123456789abcdef"), 8, "%s", dir);
}

Test(tenant_names, are_made_of_safe_bytes_whatever_the_tenant)
{
    char long_name[129];
    char dir[CG_TENANT_DIR_SIZE];

    memset(long_name, 'x', 128);
    long_name[128] = '\0';
    assert_safe_name("acme");
    assert_safe_name("../../../etc");
    assert_safe_name("a/b/c");
    assert_safe_name("with spaces\tand\ttabs\n");
    assert_safe_name("\xc3\xa9t\xc3\xa9 \xe5\x90\x8d\xe5\x89\x8d \xf0\x9f\x90\x8d");
    assert_safe_name(long_name);
    assert_safe_name("");

    cg_tenant_dir_name("../..", dir);
    cr_assert_null(strchr(dir, '/'));
    cr_assert_null(strchr(dir, '.'));
    cg_tenant_dir_name(long_name, dir);
    cr_assert_eq(strlen(dir), 2 + 32 + 1 + 8, "%s", dir);
    cg_tenant_dir_name("Acme Corp", dir);
    cr_assert(strncmp(dir, "t-acme_corp-", 12) == 0, "%s", dir);
}

Test(tenant_names, tell_apart_names_that_sanitize_alike)
{
    static const char *const pairs[][2] = {
        {"Acme", "acme"}, {"a/b", "a.b"}, {"a b", "a_b"}, {"\xc3\xa9", "__"}, {NULL, "Default"},
    };
    char first[CG_TENANT_DIR_SIZE], second[CG_TENANT_DIR_SIZE];
    char long_a[129], long_b[129];

    for (size_t i = 0; i < sizeof(pairs) / sizeof(*pairs); i++) {
        cg_tenant_dir_name(pairs[i][0], first);
        cg_tenant_dir_name(pairs[i][1], second);
        cr_assert_str_neq(first, second, "%s and %s share %s", pairs[i][0], pairs[i][1], first);
    }

    /* Past the 32 bytes kept, only the hash tells them apart. */
    memset(long_a, 'q', 128);
    memcpy(long_b, long_a, 128);
    long_a[128] = long_b[128] = '\0';
    long_b[127] = 'r';
    cg_tenant_dir_name(long_a, first);
    cg_tenant_dir_name(long_b, second);
    cr_assert_str_neq(first, second);

    /* Stable: the same on every call (and host), and NULL is "default". */
    cg_tenant_dir_name("default", first);
    cg_tenant_dir_name(NULL, second);
    cr_assert_str_eq(first, second);
}

TestSuite(tenant_cgroup, .init = setup, .fini = teardown, .timeout = 60);

Test(tenant_cgroup, parent_gets_the_policy_in_its_files)
{
    struct policy_cgroup policy = {.memory_mb = 256, .pids = 50, .cpu_weight = 200};
    struct cg_job *job = make_step("tcg-files", &policy, 1);
    char path[600], dir[512];
    struct stat st;

    assert_tenant_files("tcg-files", 256 * MIB, 50, 200);

    /* The step's own cgroup is below it, with the step's limits. */
    tenant_path("tcg-files", "memory", dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/w%d-t1", dir, (int)getpid());
    cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
    cr_assert_str_eq(cg_job_tenant_dir(job), strrchr(dir, '/') + 1);
    cg_job_destroy(job);
}

Test(tenant_cgroup, no_policy_means_no_limit_and_the_default_weight)
{
    struct cg_job *job = make_step("tcg-none", NULL, 1);
    struct policy_cgroup zero = {0};
    struct cg_job *other = make_step("tcg-zero", &zero, 2);

    assert_tenant_files("tcg-none", UINT64_MAX, UINT64_MAX, 100);
    assert_tenant_files("tcg-zero", UINT64_MAX, UINT64_MAX, 100);
    cg_job_destroy(job);
    cg_job_destroy(other);
}

Test(tenant_cgroup, two_tenants_get_two_parents)
{
    struct policy_cgroup small = {.memory_mb = 128, .pids = 20, .cpu_weight = 50};
    struct policy_cgroup large = {.memory_mb = 1024, .pids = 300, .cpu_weight = 400};
    struct cg_job *first = make_step("Tcg-Two", &small, 1);
    struct cg_job *second = make_step("tcg-two", &large, 2);

    cr_assert_str_neq(cg_job_tenant_dir(first), cg_job_tenant_dir(second));
    assert_tenant_files("Tcg-Two", 128 * MIB, 20, 50);
    assert_tenant_files("tcg-two", 1024 * MIB, 300, 400);
    cg_job_destroy(first);
    cg_job_destroy(second);
}

Test(tenant_cgroup, steps_of_one_tenant_share_its_parent)
{
    struct policy_cgroup policy = {.memory_mb = 300, .pids = 40, .cpu_weight = 100};
    struct cg_job *first = make_step("tcg-shared", &policy, 1);
    struct cg_job *second = make_step("tcg-shared", &policy, 2);

    cr_assert_str_eq(cg_job_tenant_dir(first), cg_job_tenant_dir(second));
    assert_tenant_files("tcg-shared", 300 * MIB, 40, 100);
    cg_job_destroy(first);
    assert_tenant_files("tcg-shared", 300 * MIB, 40, 100);
    cg_job_destroy(second);
}

/* Raising and lowering memory both work on v1, where memory plus swap must never be below
 * memory: the order of the two writes flips with the direction. */
Test(tenant_cgroup, limits_follow_a_policy_change)
{
    struct policy_cgroup first = {.memory_mb = 256, .pids = 50, .cpu_weight = 200};
    struct policy_cgroup raised = {.memory_mb = 2048, .pids = 0, .cpu_weight = 10000};
    struct policy_cgroup lowered = {.memory_mb = 96, .pids = 8, .cpu_weight = 1};
    struct cg_job *job = make_step("tcg-change", &first, 1);
    struct cg_tenant_values values;
    int ret;

    ret = cg_job_tenant_apply(job, &raised, &values);
    cr_assert_eq(ret, 0, "raise: %s", strerror(-ret));
    assert_tenant_files("tcg-change", 2048 * MIB, UINT64_MAX, 10000);
    cr_assert_eq(values.memory_bytes, 2048 * MIB);
    cr_assert_eq(values.pids, UINT64_MAX);

    ret = cg_job_tenant_apply(job, &lowered, &values);
    cr_assert_eq(ret, 0, "lower: %s", strerror(-ret));
    cr_assert_eq(values.memory_bytes, 96 * MIB);
    cr_assert_eq(values.pids, 8);
    assert_tenant_files("tcg-change", 96 * MIB, 8, 1);

    /* Back to no memory limit at all. */
    ret = cg_job_tenant_apply(job, NULL, &values);
    cr_assert_eq(ret, 0, "unlimit: %s", strerror(-ret));
    assert_tenant_files("tcg-change", UINT64_MAX, UINT64_MAX, 100);
    cg_job_destroy(job);
}

/* Over 10000 is 10000, as cgroup v2 would refuse more. */
Test(tenant_cgroup, cpu_weight_is_capped)
{
    struct policy_cgroup policy = {.memory_mb = 0, .pids = 0, .cpu_weight = 50000};
    struct cg_job *job = make_step("tcg-weight", &policy, 1);

    assert_tenant_files("tcg-weight", UINT64_MAX, UINT64_MAX, 10000);
    cg_job_destroy(job);
}

Test(tenant_cgroup, idle_parents_are_removed_and_busy_ones_kept)
{
    struct policy_cgroup policy = {.memory_mb = 64, .pids = 5, .cpu_weight = 100};
    struct cg_job *busy = make_step("tcg-busy", NULL, 1);
    struct cg_job *idle = make_step("tcg-idle", NULL, 2);

    /* Tests run side by side: another one's cg_system_free may remove it first. */
    cg_job_destroy(idle);
    cr_assert_geq(cg_tenant_remove_idle(cgroups), 0);
    cr_assert_not(tenant_exists("tcg-idle"));
    cr_assert(tenant_exists("tcg-busy"), "a parent with a step cgroup must stay");

    cg_job_destroy(busy);
    cg_tenant_remove_idle(cgroups);
    cr_assert_not(tenant_exists("tcg-busy"));

    /* A parent removed is made again, with its limits, for the tenant's next step. */
    busy = make_step("tcg-busy", &policy, 3);
    assert_tenant_files("tcg-busy", 64 * MIB, 5, 100);
    cg_job_destroy(busy);
}

/* Each step's memory and pids limits may be set above its tenant's: the kernel accepts it,
 * and the tenant's parent still bounds them. */
Test(tenant_cgroup, a_step_may_be_created_with_limits_above_its_tenant)
{
    struct policy_cgroup policy = {.memory_mb = 32, .pids = 4, .cpu_weight = 100};
    struct cg_job *job = make_step("tcg-above", &policy, 1);
    struct limits lower = step_limits;

    lower.memory_mb = 48;
    cr_assert_eq(cg_job_set_limits(job, &lower, 100), 0);
    assert_tenant_files("tcg-above", 32 * MIB, 4, 100);
    cg_job_destroy(job);
}
