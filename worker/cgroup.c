#include "worker/cgroup.h"

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
};

struct cg_job {
    struct cg_system *system;
    struct cgroup *handle;
    char *name;          /* <parent>/<name>, relative to each hierarchy's root */
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

/* Creates (or finds) the parent with every controller attached, so that job cgroups can be
 * made beneath it. On v2, libcgroup enables the controllers in the parents' subtree_control. */
static int cg_parent_create(struct cg_system *system)
{
    struct cgroup *parent = cgroup_new_cgroup(system->parent);
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
        ret = cg_parent_create(system);
        if (ret != -ENOENT)
            break;
    }
    if (ret < 0) {
        log_err("cgroup_parent_create_failed", "parent=%s errno=%d", parent, -ret);
        cg_system_free(system);
        return ret;
    }

    system->has_swap_limit =
        cg_file_exists(system->memory_mount, system->parent, system->files->swap_limit);
    log_info("cgroup_mode", "mode=%s memory=%s/%s swap_limit=%s", cg_mode_name(system->mode),
             system->memory_mount, system->parent, system->has_swap_limit ? "yes" : "no");
    *ret_system = system;
    return 0;
}

void cg_system_free(struct cg_system *system)
{
    if (!system)
        return;
    free(system->parent);
    free(system->memory_mount);
    free(system->pids_mount);
    free(system->cpu_usage_mount);
    free(system->cpu_mount);
    free(system);
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

int cg_job_create(struct cg_system *system, const char *name, const struct limits *limits,
                  uint64_t cpu_quota_pct, struct cg_job **ret_job)
{
    struct cg_job *job = calloc(1, sizeof(*job));
    int ret;

    if (!job)
        return -ENOMEM;
    job->system = system;
    job->cpu_usage_fd = -1;
    if (asprintf(&job->name, "%s/%s", system->parent, name) < 0) {
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
        ret = cg_errno(cgroup_create_cgroup(job->handle, 0));
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
    const char *mounts[] = {job->system->memory_mount, job->system->pids_mount,
                            job->system->cpu_mount, job->system->cpu_usage_mount};
    int count = 0;

    for (size_t i = 0; i < sizeof(mounts) / sizeof(*mounts) && count < max; i++) {
        bool seen = false;

        /* v2, and v1 with co-mounted controllers, share a directory: name it once. */
        for (size_t j = 0; j < i; j++)
            seen = seen || strcmp(mounts[i], mounts[j]) == 0;
        if (seen)
            continue;
        if (cg_path(job->system, mounts[i], job->name, "cgroup.procs", paths[count],
                    PATH_MAX) < 0)
            return -ENAMETOOLONG;
        count++;
    }
    return count;
}

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
    char path[PATH_MAX];
    char text[4096];
    int ret = snprintf(path, sizeof(path), "%s/%s/%s", mount, name, file);

    if (ret < 0 || (size_t)ret >= sizeof(path))
        return -ENAMETOOLONG;
    ret = cg_read_file(path, text, sizeof(text));
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
    free(job);
}
