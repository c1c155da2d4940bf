#include "worker/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <libcgroup.h>
#include <linux/magic.h>

#include "common/cleanup.h"
#include "common/log.h"

#define CPU_PERIOD_US 100000
#define CG_PARENT_CREATE_ATTEMPTS 5

/* Tenant directory names: "t-" + up to this many bytes of the name + "-" + 8 hex digits. */
#define CG_TENANT_NAME_BYTES 32
#define CG_TENANT_CPU_WEIGHT_DEFAULT 100
#define CG_TENANT_CPU_WEIGHT_MAX 10000
/* v1 reports "no memory limit" as the largest page-aligned counter, not as -1: anything this
 * high is no limit. */
#define CG_V1_MEMORY_UNLIMITED_MIN (UINT64_C(1) << 62)

/* The files each hierarchy keeps the figures in. v1 splits controllers across mounts;
 * v2 has them all in one directory. */
struct cg_files {
    const char *memory_limit;
    const char *swap_limit;     /* memory+swap in v1, swap alone in v2 */
    const char *memory_peak;
    const char *oom_file;       /* a "key value" file holding oom_kill */
    const char *limit_hits;     /* how often the limit was reached: a number, or a key */
    const char *limit_hits_key; /* NULL when limit_hits is one number */
    const char *pids_max;
    const char *pids_events;    /* a "key value" file holding max */
    const char *cpu_usage;
    const char *cpu_usage_key;  /* NULL: the file is one number in ns; else a key in usec */
    const char *cpu_controller; /* the controller whose directory holds cpu_usage */
};

static const struct cg_files cg_v1_files = {
    .memory_limit = "memory.limit_in_bytes",
    .swap_limit = "memory.memsw.limit_in_bytes",
    .memory_peak = "memory.max_usage_in_bytes",
    .oom_file = "memory.oom_control",
    .limit_hits = "memory.failcnt",
    .limit_hits_key = NULL,
    .pids_max = "pids.max",
    .pids_events = "pids.events",
    .cpu_usage = "cpuacct.usage",
    .cpu_usage_key = NULL,
    .cpu_controller = "cpuacct",
};

static const struct cg_files cg_v2_files = {
    .memory_limit = "memory.max",
    .swap_limit = "memory.swap.max",
    .memory_peak = "memory.peak",
    .oom_file = "memory.events",
    .limit_hits = "memory.events",
    .limit_hits_key = "max",
    .pids_max = "pids.max",
    .pids_events = "pids.events",
    .cpu_usage = "cpu.stat",
    .cpu_usage_key = "usage_usec",
    .cpu_controller = "cpu",
};

static const char *const cg_v1_controllers[] = {"memory", "pids", "cpu", "cpuacct", NULL};
static const char *const cg_v2_controllers[] = {"memory", "pids", "cpu", NULL};

struct cg_system {
    enum cg_mode mode;
    const struct cg_files *files;
    const char *const *controllers;
    char *parent;
    char *memory_mount; /* where the memory controller's hierarchy is mounted */
    char *pids_mount;
    char *cpu_usage_mount;
    char *cpu_mount;
    bool has_swap_limit; /* v1 without swap accounting has no memory.memsw.* */
    bool parent_ready;   /* the ccx parent exists: tenant parents below it may be removed */
};

struct cg_job {
    struct cg_system *system;
    struct cgroup *handle;
    char *name;          /* <parent>/<tenant dir>/<name>, relative to each hierarchy's root */
    char *tenant_path;   /* <parent>/<tenant dir> */
    char tenant_dir[CG_TENANT_DIR_SIZE];
    int cpu_usage_fd;
};

const char *cg_mode_name(enum cg_mode mode)
{
    return mode == CG_MODE_V2 ? "cgroup_v2" : "cgroup_v1";
}

enum cg_mode cg_system_mode(const struct cg_system *system)
{
    return system->mode;
}

/* libcgroup returns its own positive ECG* codes; ECGOTHER means "see the saved errno". */
static int cg_errno(int ret)
{
    if (ret == 0)
        return 0;
    if (ret == ECGOTHER) {
        int saved = cgroup_get_last_errno();

        return saved > 0 ? -saved : -EIO;
    }
    if (ret == ECGROUPNOTEXIST || ret == ECGROUPSUBSYSNOTMOUNTED)
        return -ENOENT;
    if (ret == ECGROUPNOTOWNER || ret == ECGROUPNOTALLOWED)
        return -EPERM;
    return -EIO;
}

static int cg_mount_point(const char *controller, char **ret_path)
{
    char *path = NULL;
    int ret = cgroup_get_subsys_mount_point(controller, &path);

    if (ret != 0)
        return cg_errno(ret) == -EIO ? -ENOENT : cg_errno(ret);
    *ret_path = path;
    return 0;
}

static int cg_path(const struct cg_system *system, const char *mount, const char *name,
                   const char *file, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s/%s", mount, name, file);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static bool cg_file_exists(const char *mount, const char *dir, const char *file)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s/%s", mount, dir, file);

    return n > 0 && (size_t)n < sizeof(path) && access(path, F_OK) == 0;
}

/* Creates (or finds) the cgroup name with every controller attached, so that cgroups can be
 * made beneath it. On v2, libcgroup enables the controllers in the parents' subtree_control.
 * Finding it made already (another worker) is success. */
static int cg_parent_create(struct cg_system *system, const char *name)
{
    struct cgroup *parent = cgroup_new_cgroup(name);
    int ret;

    if (!parent)
        return -ENOMEM;

    for (const char *const *c = system->controllers; *c; c++) {
        if (!cgroup_add_controller(parent, *c)) {
            cgroup_free(&parent);
            return -ENOMEM;
        }
    }

    ret = cg_errno(cgroup_create_cgroup(parent, 0));
    cgroup_free(&parent);
    return ret;
}

int cg_system_new(const char *parent, struct cg_system **ret_system)
{
    struct cg_system *system;
    struct statfs fs;
    int ret;

    ret = cg_errno(cgroup_init());
    if (ret < 0) {
        log_err("cgroup_init_failed", "errno=%d", -ret);
        return ret;
    }

    system = calloc(1, sizeof(*system));
    if (!system)
        return -ENOMEM;
    system->parent = strdup(parent);
    if (!system->parent) {
        cg_system_free(system);
        return -ENOMEM;
    }

    /* The memory controller decides the mode: where it lives, the others must too. */
    ret = cg_mount_point("memory", &system->memory_mount);
    if (ret < 0) {
        log_err("cgroup_controller_missing", "controller=memory errno=%d", -ret);
        cg_system_free(system);
        return ret;
    }
    if (statfs(system->memory_mount, &fs) < 0) {
        ret = -errno;
        cg_system_free(system);
        return ret;
    }
    system->mode = fs.f_type == CGROUP2_SUPER_MAGIC ? CG_MODE_V2 : CG_MODE_V1;
    system->files = system->mode == CG_MODE_V2 ? &cg_v2_files : &cg_v1_files;
    system->controllers = system->mode == CG_MODE_V2 ? cg_v2_controllers : cg_v1_controllers;

    ret = cg_mount_point("pids", &system->pids_mount);
    if (ret == 0)
        ret = cg_mount_point(system->files->cpu_controller, &system->cpu_usage_mount);
    if (ret == 0)
        ret = cg_mount_point("cpu", &system->cpu_mount);
    if (ret < 0) {
        log_err("cgroup_controller_missing", "controller=pids_or_cpu errno=%d", -ret);
        cg_system_free(system);
        return ret;
    }

    /* Another ccx on this host that stops removes the parent once it is empty; when it does
     * so while we create it, a controller's directory vanishes under us (ENOENT). */
    for (int attempt = 0; attempt < CG_PARENT_CREATE_ATTEMPTS; attempt++) {
        ret = cg_parent_create(system, system->parent);
        if (ret != -ENOENT)
            break;
    }
    if (ret < 0) {
        log_err("cgroup_parent_create_failed", "parent=%s errno=%d", parent, -ret);
        cg_system_free(system);
        return ret;
    }

    /* v1 shows swap accounting at the root; v2 has no memory files there. The root does not
     * vanish while another ccx removes an idle parent. */
    system->parent_ready = true;
    system->has_swap_limit =
        cg_file_exists(system->memory_mount, system->mode == CG_MODE_V1 ? "." : system->parent,
                       system->files->swap_limit);
    log_info("cgroup_mode", "mode=%s memory=%s/%s swap_limit=%s", cg_mode_name(system->mode),
             system->memory_mount, system->parent, system->has_swap_limit ? "yes" : "no");

    /* Left by workers that stopped, or that died before they could remove them. */
    cg_tenant_remove_idle(system);
    *ret_system = system;
    return 0;
}

void cg_system_free(struct cg_system *system)
{
    if (!system)
        return;
    if (system->parent_ready)
        cg_tenant_remove_idle(system);
    free(system->parent);
    free(system->memory_mount);
    free(system->pids_mount);
    free(system->cpu_usage_mount);
    free(system->cpu_mount);
    free(system);
}

/* ---- Tenant parents ---- */

static int cg_read_file(const char *path, char *buf, size_t size)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, buf, size - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return 0;
}

/* The directory of each hierarchy the ccx cgroups span, each named once (v2, and v1 with
 * co-mounted controllers, share one). Returns how many. */
static int cg_unique_mounts(const struct cg_system *system, const char *ret_mounts[4])
{
    const char *mounts[] = {system->memory_mount, system->pids_mount, system->cpu_mount,
                            system->cpu_usage_mount};
    int count = 0;

    for (size_t i = 0; i < sizeof(mounts) / sizeof(*mounts); i++) {
        bool seen = false;

        for (int j = 0; j < count; j++)
            seen = seen || strcmp(mounts[i], ret_mounts[j]) == 0;
        if (!seen)
            ret_mounts[count++] = mounts[i];
    }
    return count;
}

void cg_tenant_dir_name(const char *tenant, char buf[CG_TENANT_DIR_SIZE])
{
    const unsigned char *name = (const unsigned char *)(tenant ? tenant : "default");
    uint32_t hash = 2166136261u; /* FNV-1a, 32 bits: stable across hosts and builds */
    size_t out = 0;

    for (const unsigned char *c = name; *c; c++) {
        hash = (hash ^ *c) * 16777619u;
        if (c - name >= CG_TENANT_NAME_BYTES)
            continue;
        if (*c >= 'A' && *c <= 'Z')
            buf[2 + out++] = (char)(*c - 'A' + 'a');
        else if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')
            buf[2 + out++] = (char)*c;
        else
            buf[2 + out++] = '_';
    }
    buf[0] = 't';
    buf[1] = '-';
    snprintf(buf + 2 + out, CG_TENANT_DIR_SIZE - 2 - out, "-%08" PRIx32, hash);
}

/* Removes the idle tenant parents in one hierarchy. Each hierarchy is listed on its own: on
 * v1 a race with a worker creating a step can leave a tenant parent in some hierarchies and
 * not in others. Returns how many were removed. */
static int cg_tenant_remove_idle_in(const struct cg_system *system, const char *mount)
{
    char path[PATH_MAX];
    DIR *dir;
    struct dirent *entry;
    int removed = 0;

    if (snprintf(path, sizeof(path), "%s/%s", mount, system->parent) >= (int)sizeof(path))
        return 0;
    dir = opendir(path);
    if (!dir)
        return 0;

    /* A step cgroup below one (EBUSY) means a worker uses it: it stays. */
    while ((entry = readdir(dir))) {
        if (entry->d_type != DT_DIR || strncmp(entry->d_name, "t-", 2) != 0)
            continue;
        if (unlinkat(dirfd(dir), entry->d_name, AT_REMOVEDIR) < 0)
            continue;
        removed++;
        log_info("cgroup_tenant_removed", "mode=%s cgroup=%s/%s hierarchy=%s",
                 cg_mode_name(system->mode), system->parent, entry->d_name, mount);
    }
    closedir(dir);
    return removed;
}

int cg_tenant_remove_idle(struct cg_system *system)
{
    const char *mounts[4];
    int mount_count = cg_unique_mounts(system, mounts);
    int removed = 0;

    for (int i = 0; i < mount_count; i++) {
        int n = cg_tenant_remove_idle_in(system, mounts[i]);

        /* The memory hierarchy decides the mode and names the tenants: count those. */
        if (i == 0)
            removed = n;
    }
    return removed;
}

/* Reads mount/name/file into text, as cg_read_file does; -ENAMETOOLONG when the path is. */
static int cg_read_at(const char *mount, const char *name, const char *file, char *text,
                      size_t size)
{
    char path[PATH_MAX];
    int ret = snprintf(path, sizeof(path), "%s/%s/%s", mount, name, file);

    if (ret < 0 || (size_t)ret >= sizeof(path))
        return -ENAMETOOLONG;
    return cg_read_file(path, text, size);
}

/* A limit as the files spell it: "max" (v2, pids) and v1's huge memory value are no limit. */
static int cg_read_limit(const char *mount, const char *name, const char *file,
                         uint64_t *ret_value)
{
    char text[64];
    int ret = cg_read_at(mount, name, file, text, sizeof(text));

    if (ret < 0)
        return ret;
    if (strncmp(text, "max", 3) == 0)
        *ret_value = UINT64_MAX;
    else
        *ret_value = strtoull(text, NULL, 10);
    if (*ret_value >= CG_V1_MEMORY_UNLIMITED_MIN)
        *ret_value = UINT64_MAX;
    return 0;
}

static int cg_write_limit(const struct cg_system *system, const char *mount, const char *name,
                          const char *file, uint64_t value)
{
    char path[PATH_MAX];
    char text[32];
    _cleanup_close_ int fd = -1;
    int n = snprintf(path, sizeof(path), "%s/%s/%s", mount, name, file);

    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    if (value != UINT64_MAX)
        n = snprintf(text, sizeof(text), "%" PRIu64, value);
    else if (system->mode == CG_MODE_V1 && strncmp(file, "memory.", 7) == 0)
        n = snprintf(text, sizeof(text), "-1");
    else
        n = snprintf(text, sizeof(text), "max");

    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (write(fd, text, (size_t)n) != n)
        return -errno;
    return 0;
}

/* A limit for a log line: the number, or "max". */
static const char *cg_limit_text(char buf[24], uint64_t value)
{
    if (value == UINT64_MAX)
        return "max";
    snprintf(buf, 24, "%" PRIu64, value);
    return buf;
}

/* The values a policy asks for, in the spelling of this hierarchy. */
static struct cg_tenant_values cg_tenant_wanted(const struct cg_system *system,
                                                const struct policy_cgroup *policy)
{
    struct cg_tenant_values wanted = {UINT64_MAX, UINT64_MAX, CG_TENANT_CPU_WEIGHT_DEFAULT};

    if (policy && policy->memory_mb)
        wanted.memory_bytes = policy->memory_mb * 1024 * 1024;
    if (policy && policy->pids)
        wanted.pids = policy->pids;
    if (policy && policy->cpu_weight)
        wanted.cpu_weight = policy->cpu_weight > CG_TENANT_CPU_WEIGHT_MAX
                                ? CG_TENANT_CPU_WEIGHT_MAX
                                : policy->cpu_weight;
    /* v1 has shares, 1024 the default as weight 100 is v2's: weight 1 is 10 shares, above
     * the kernel's least (2). */
    if (system->mode == CG_MODE_V1)
        wanted.cpu_weight = wanted.cpu_weight * 1024 / 100;
    return wanted;
}

static const char *cg_cpu_weight_file(const struct cg_system *system)
{
    return system->mode == CG_MODE_V2 ? "cpu.weight" : "cpu.shares";
}

static int cg_tenant_read(const struct cg_system *system, const char *tenant_path,
                          struct cg_tenant_values *ret_values)
{
    int ret = cg_read_limit(system->memory_mount, tenant_path, system->files->memory_limit,
                            &ret_values->memory_bytes);

    if (ret == 0)
        ret = cg_read_limit(system->pids_mount, tenant_path, system->files->pids_max,
                            &ret_values->pids);
    if (ret == 0)
        ret = cg_read_limit(system->cpu_mount, tenant_path, cg_cpu_weight_file(system),
                            &ret_values->cpu_weight);
    return ret;
}

/* Memory, and swap beside it: on v1 memory plus swap may never be below memory, so it goes
 * up first and down last; on v2 swap is its own limit, kept at 0 under a memory limit as
 * each step's is. EBUSY (memory below what the tenant uses now, and nothing reclaimable)
 * leaves the old limit, logged. */
static int cg_tenant_write_memory(const struct cg_system *system, const char *tenant_path,
                                  uint64_t current, uint64_t wanted)
{
    const char *mount = system->memory_mount;
    const struct cg_files *files = system->files;
    int ret = 0;

    if (system->mode == CG_MODE_V2) {
        ret = cg_write_limit(system, mount, tenant_path, files->memory_limit, wanted);
        if (ret == 0 && system->has_swap_limit)
            ret = cg_write_limit(system, mount, tenant_path, files->swap_limit,
                                 wanted == UINT64_MAX ? UINT64_MAX : 0);
    } else if (!system->has_swap_limit) {
        ret = cg_write_limit(system, mount, tenant_path, files->memory_limit, wanted);
    } else if (wanted > current) {
        ret = cg_write_limit(system, mount, tenant_path, files->swap_limit, wanted);
        if (ret == 0)
            ret = cg_write_limit(system, mount, tenant_path, files->memory_limit, wanted);
    } else {
        ret = cg_write_limit(system, mount, tenant_path, files->memory_limit, wanted);
        if (ret == 0)
            ret = cg_write_limit(system, mount, tenant_path, files->swap_limit, wanted);
    }

    if (ret == -EBUSY) {
        log_warn("cgroup_tenant_limit_kept", "mode=%s cgroup=%s file=%s errno=%d "
                 "reason=usage_above_limit", cg_mode_name(system->mode), tenant_path,
                 files->memory_limit, EBUSY);
        return 0;
    }
    return ret;
}

int cg_job_tenant_apply(struct cg_job *job, const struct policy_cgroup *policy,
                        struct cg_tenant_values *ret_values)
{
    const struct cg_system *system = job->system;
    struct cg_tenant_values wanted = cg_tenant_wanted(system, policy);
    struct cg_tenant_values current;
    int ret = cg_tenant_read(system, job->tenant_path, &current);
    bool changed = false;

    if (ret < 0)
        return ret;

    if (current.memory_bytes != wanted.memory_bytes) {
        ret = cg_tenant_write_memory(system, job->tenant_path, current.memory_bytes,
                                     wanted.memory_bytes);
        changed = true;
    }
    if (ret == 0 && current.pids != wanted.pids) {
        ret = cg_write_limit(system, system->pids_mount, job->tenant_path,
                             system->files->pids_max, wanted.pids);
        changed = true;
    }
    if (ret == 0 && current.cpu_weight != wanted.cpu_weight) {
        ret = cg_write_limit(system, system->cpu_mount, job->tenant_path,
                             cg_cpu_weight_file(system), wanted.cpu_weight);
        changed = true;
    }
    if (ret == 0 && changed)
        ret = cg_tenant_read(system, job->tenant_path, &current);
    if (ret < 0)
        return ret;

    if (changed) {
        char memory[24], pids[24];

        log_info("cgroup_tenant_limits", "mode=%s cgroup=%s memory_bytes=%s pids=%s %s=%" PRIu64,
                 cg_mode_name(system->mode), job->tenant_path,
                 cg_limit_text(memory, current.memory_bytes), cg_limit_text(pids, current.pids),
                 cg_cpu_weight_file(system), current.cpu_weight);
    }
    if (ret_values)
        *ret_values = current;
    return 0;
}

const char *cg_job_tenant_dir(const struct cg_job *job)
{
    return job->tenant_dir;
}

/* Adds the limit values in the hierarchy's own spelling. */
static int cg_add_limits(struct cg_system *system, struct cgroup *cg, const struct limits *limits,
                         uint64_t cpu_quota_pct)
{
    const struct cg_files *files = system->files;
    struct cgroup_controller *memory = cgroup_add_controller(cg, "memory");
    struct cgroup_controller *pids = cgroup_add_controller(cg, "pids");
    struct cgroup_controller *cpu = cgroup_add_controller(cg, "cpu");
    uint64_t memory_bytes = limits->memory_mb * 1024 * 1024;
    uint64_t quota_us = CPU_PERIOD_US * cpu_quota_pct / 100;
    char cpu_max[64];
    int ret = 0;

    if (!memory || !pids || !cpu)
        return -ENOMEM;
    if (system->mode == CG_MODE_V1 && !cgroup_add_controller(cg, "cpuacct"))
        return -ENOMEM;

    /* Order matters in v1: memsw may never be below the memory limit. */
    ret |= cgroup_add_value_uint64(memory, files->memory_limit, memory_bytes);
    if (system->has_swap_limit) {
        uint64_t swap = system->mode == CG_MODE_V2 ? 0 : memory_bytes;

        ret |= cgroup_add_value_uint64(memory, files->swap_limit, swap);
    }
    if (system->mode == CG_MODE_V2)
        ret |= cgroup_add_value_string(memory, "memory.oom.group", "1");
    /* One more than the job's: ccx-init, pid 1 of every job, is ours, not the job's. */
    ret |= cgroup_add_value_uint64(pids, files->pids_max, limits->pids + 1);

    if (system->mode == CG_MODE_V2) {
        snprintf(cpu_max, sizeof(cpu_max), "%" PRIu64 " %d", quota_us, CPU_PERIOD_US);
        ret |= cgroup_add_value_string(cpu, "cpu.max", cpu_max);
    } else {
        ret |= cgroup_add_value_uint64(cpu, "cpu.cfs_period_us", CPU_PERIOD_US);
        ret |= cgroup_add_value_uint64(cpu, "cpu.cfs_quota_us", quota_us);
    }
    return ret ? -ENOMEM : 0;
}

static int cg_open_cpu_usage(struct cg_job *job)
{
    char path[PATH_MAX];
    int ret = cg_path(job->system, job->system->cpu_usage_mount, job->name,
                      job->system->files->cpu_usage, path, sizeof(path));

    if (ret < 0)
        return ret;
    job->cpu_usage_fd = open(path, O_RDONLY | O_CLOEXEC);
    return job->cpu_usage_fd < 0 ? -errno : 0;
}

/* Makes the tenant's parent and the step cgroup below it. Another worker that removes the
 * tenant parent as idle between the two (or another ccx that stops and removes the ccx
 * parent) makes the second fail: ENOENT, or EPERM, since libcgroup reports a mkdir that
 * found no parent as ECGROUPNOTALLOWED. Then all of them are made again, a few times at
 * most: each such removal needs the parent empty, and the step cgroup, once made, keeps it
 * from being removed. */
static int cg_job_make(struct cg_job *job, const char *tenant, const struct policy_cgroup *policy)
{
    struct cg_system *system = job->system;
    char quoted[LOG_QUOTE_SIZE];
    int ret = 0;

    for (int attempt = 0; attempt < CG_PARENT_CREATE_ATTEMPTS; attempt++) {
        bool existed = cg_file_exists(system->memory_mount, job->tenant_path, "");

        ret = attempt > 0 ? cg_parent_create(system, system->parent) : 0;
        if (ret == 0)
            ret = cg_parent_create(system, job->tenant_path);
        if (ret == 0 && !existed)
            log_info("cgroup_tenant_created", "mode=%s tenant=%s cgroup=%s",
                     cg_mode_name(system->mode), log_quote(quoted, tenant ? tenant : "default"),
                     job->tenant_path);
        if (ret == 0)
            ret = cg_errno(cgroup_create_cgroup(job->handle, 0));
        /* The step cgroup now keeps the tenant parent from being removed: its limits stay. */
        if (ret == 0)
            ret = cg_job_tenant_apply(job, policy, NULL);
        if (ret != -ENOENT && ret != -EPERM)
            break;
    }
    return ret;
}

int cg_job_create(struct cg_system *system, const char *tenant, const struct policy_cgroup *policy,
                  const char *name, const struct limits *limits, uint64_t cpu_quota_pct,
                  struct cg_job **ret_job)
{
    struct cg_job *job = calloc(1, sizeof(*job));
    int ret;

    if (!job)
        return -ENOMEM;
    job->system = system;
    job->cpu_usage_fd = -1;
    cg_tenant_dir_name(tenant, job->tenant_dir);
    if (asprintf(&job->tenant_path, "%s/%s", system->parent, job->tenant_dir) < 0) {
        job->tenant_path = NULL;
        cg_job_destroy(job);
        return -ENOMEM;
    }
    if (asprintf(&job->name, "%s/%s", job->tenant_path, name) < 0) {
        job->name = NULL;
        cg_job_destroy(job);
        return -ENOMEM;
    }

    job->handle = cgroup_new_cgroup(job->name);
    if (!job->handle) {
        cg_job_destroy(job);
        return -ENOMEM;
    }
    ret = cg_add_limits(system, job->handle, limits, cpu_quota_pct);
    if (ret == 0)
        ret = cg_job_make(job, tenant, policy);
    if (ret == 0)
        ret = cg_open_cpu_usage(job);
    if (ret < 0) {
        cg_job_destroy(job);
        return ret;
    }

    *ret_job = job;
    return 0;
}

int cg_job_set_limits(struct cg_job *job, const struct limits *limits, uint64_t cpu_quota_pct)
{
    struct cgroup *update = cgroup_new_cgroup(job->name);
    struct cgroup_controller *memory;
    int ret;

    if (!update)
        return -ENOMEM;

    ret = cg_add_limits(job->system, update, limits, cpu_quota_pct);
    memory = cgroup_get_controller(update, "memory");
    if (ret == 0 && job->system->mode == CG_MODE_V1 && memory &&
        cgroup_add_value_string(memory, job->system->files->memory_peak, "0") != 0)
        ret = -ENOMEM;
    if (ret == 0)
        ret = cg_errno(cgroup_modify_cgroup(update));

    cgroup_free(&update);
    return ret;
}

int cg_job_procs_paths(const struct cg_job *job, char (*paths)[PATH_MAX], int max)
{
    const char *mounts[4];
    int mount_count = cg_unique_mounts(job->system, mounts);
    int count = 0;

    for (int i = 0; i < mount_count && count < max; i++) {
        if (cg_path(job->system, mounts[i], job->name, "cgroup.procs", paths[count],
                    PATH_MAX) < 0)
            return -ENAMETOOLONG;
        count++;
    }
    return count;
}

/* Finds "key N" in a flat keyed file such as memory.events or pids.events. */
static int cg_keyed_value(const char *text, const char *key, uint64_t *ret_value)
{
    size_t key_len = strlen(key);

    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, key, key_len) == 0 && line[key_len] == ' ') {
            *ret_value = strtoull(line + key_len + 1, NULL, 10);
            return 0;
        }
    }
    return -ENOENT;
}

static int cg_read_number(const char *mount, const char *name, const char *file, const char *key,
                          uint64_t *ret_value)
{
    char text[4096];
    int ret = cg_read_at(mount, name, file, text, sizeof(text));

    if (ret < 0)
        return ret;
    if (key)
        return cg_keyed_value(text, key, ret_value);
    *ret_value = strtoull(text, NULL, 10);
    return 0;
}

int cg_job_cpu_usage_ns(struct cg_job *job, uint64_t *ret_usage_ns)
{
    const char *key = job->system->files->cpu_usage_key;
    char text[4096];
    uint64_t value = 0;
    ssize_t n = pread(job->cpu_usage_fd, text, sizeof(text) - 1, 0);
    int ret = 0;

    if (n < 0)
        return -errno;
    text[n] = '\0';

    if (key) {
        ret = cg_keyed_value(text, key, &value);
        value *= 1000;
    } else {
        value = strtoull(text, NULL, 10);
    }
    *ret_usage_ns = value;
    return ret;
}

int cg_job_stats(struct cg_job *job, struct cg_stats *ret_stats)
{
    const struct cg_files *files = job->system->files;
    struct cg_stats stats = {0};
    int ret;

    ret = cg_job_cpu_usage_ns(job, &stats.cpu_usage_ns);
    if (ret == 0)
        ret = cg_read_number(job->system->memory_mount, job->name, files->oom_file, "oom_kill",
                             &stats.oom_kills);
    if (ret == 0)
        ret = cg_read_number(job->system->pids_mount, job->name, files->pids_events, "max",
                             &stats.pids_refused);
    if (ret == 0)
        ret = cg_read_number(job->system->memory_mount, job->name, files->limit_hits,
                             files->limit_hits_key, &stats.memory_limit_hits);
    if (ret < 0)
        return ret;

    /* memory.peak arrived in Linux 5.19; without it the peak is unknown, not an error. */
    if (cg_read_number(job->system->memory_mount, job->name, files->memory_peak, NULL,
                       &stats.memory_peak_bytes) < 0)
        stats.memory_peak_bytes = 0;

    *ret_stats = stats;
    return 0;
}

/* Kills every process still listed in the cgroup. The job's pid namespace normally takes
 * them all down with its init; this is the backstop. */
static void cg_kill_remaining(struct cg_job *job)
{
    char path[PATH_MAX];
    _cleanup_fclose_ FILE *procs = NULL;
    int pid;

    if (cg_path(job->system, job->system->pids_mount, job->name, "cgroup.procs", path,
                sizeof(path)) < 0)
        return;
    procs = fopen(path, "re");
    if (!procs)
        return;
    while (fscanf(procs, "%d", &pid) == 1)
        kill(pid, SIGKILL);
}

void cg_job_destroy(struct cg_job *job)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 2 * 1000 * 1000};
    int ret = 0;

    if (!job)
        return;
    if (job->cpu_usage_fd >= 0)
        close(job->cpu_usage_fd);

    if (job->handle) {
        /* Processes killed a moment ago may still be leaving: rmdir answers EBUSY. */
        for (int attempt = 0; attempt < 500; attempt++) {
            cg_kill_remaining(job);
            ret = cg_errno(cgroup_delete_cgroup_ext(job->handle, CGFLAG_DELETE_IGNORE_MIGRATION));
            if (ret == 0 || ret == -ENOENT)
                break;
            nanosleep(&pause, NULL);
        }
        if (ret < 0 && ret != -ENOENT)
            log_warn("cgroup_remove_failed", "cgroup=%s errno=%d", job->name, -ret);
        cgroup_free(&job->handle);
    }

    free(job->name);
    free(job->tenant_path);
    free(job);
}
