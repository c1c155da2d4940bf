#include "worker/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/magic.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "worker/cgroup.h"
#include "worker/filter.h"
#include "worker/init_report.h"
#include "worker/notify.h"
#include "worker/profile.h"
#include "worker/uid_lease.h"

/* How often a running job's CPU time is checked against cpu_ms. */
#define CPU_POLL_INTERVAL_MS 20
#define WARM_CHILDREN 2

/* How long a child may take from the job's message to its exec: our set-up, not the job. */
#define SETUP_TIMEOUT_MS 10000
/* How many refused syscalls of one job become events; the rest are counted. */
#define REFUSED_EVENTS_MAX 16
/* After the job's init has died, how long its pipes may take to reach end of file. */
#define DRAIN_GRACE_MS 1000
#define READ_CHUNK_BYTES 65536

/* The devices a job gets: bound from the host, so nothing else of /dev is reachable. */
static const char *const sandbox_devices[] = {"null", "zero", "full", "random", "urandom", NULL};

/* The most bytes of argv (strings and their NULs) a job may pass: one message on the sync
 * socket, within its default buffer. */
#define ARGV_BYTES_MAX (128 * 1024)
#define ARGV_COUNT_MAX 1024

/* Parts of procfs a job has no use for, which describe the host (kernel symbols and command
 * line, timers, keys) or change it (sysrq, sysctl). Files are covered by /dev/null, listed
 * directories by an empty read-only tmpfs; the last group stays readable but read-only. */
enum proc_mask_kind {
    PROC_MASK_FILE,
    PROC_MASK_DIR,
    PROC_READ_ONLY,
};

static const struct {
    const char *path;
    enum proc_mask_kind kind;
} proc_masks[] = {
    {"kcore", PROC_MASK_FILE},        {"kallsyms", PROC_MASK_FILE},
    {"keys", PROC_MASK_FILE},         {"key-users", PROC_MASK_FILE},
    {"timer_list", PROC_MASK_FILE},   {"sched_debug", PROC_MASK_FILE},
    {"latency_stats", PROC_MASK_FILE}, {"sysrq-trigger", PROC_MASK_FILE},
    {"cmdline", PROC_MASK_FILE},      {"config.gz", PROC_MASK_FILE},
    {"kmsg", PROC_MASK_FILE},         {"acpi", PROC_MASK_DIR},
    {"scsi", PROC_MASK_DIR},          {"sys", PROC_READ_ONLY},
    {"bus", PROC_READ_ONLY},          {"irq", PROC_READ_ONLY},
    {"fs", PROC_READ_ONLY},
};
#define PROC_MASK_COUNT (sizeof(proc_masks) / sizeof(*proc_masks))

/* The stages of setting up a sandbox, named in logs when one fails. */
enum setup_stage {
    STAGE_CGROUP_JOIN,
    STAGE_WAIT_JOB,
    STAGE_CGROUP_NS,
    STAGE_HOSTNAME,
    STAGE_MOUNT_PRIVATE,
    STAGE_ROOT_TMPFS,
    STAGE_RO_BIND,
    STAGE_SYMLINK,
    STAGE_ETC_FILES,
    STAGE_PROC,
    STAGE_PROC_MASK,
    STAGE_DEV,
    STAGE_TMP,
    STAGE_WORKSPACE,
    STAGE_ROOT_READONLY,
    STAGE_PIVOT_ROOT,
    STAGE_RLIMITS,
    STAGE_STDIO,
    STAGE_USER_NS,
    STAGE_WAIT_ID_MAPS,
    STAGE_CREDENTIALS,
    STAGE_CAPABILITIES,
    STAGE_NO_NEW_PRIVS,
    STAGE_SECCOMP,
    STAGE_EXEC,
    STAGE_COUNT,
};

static const char *const setup_stage_names[STAGE_COUNT] = {
    [STAGE_CGROUP_JOIN] = "cgroup_join",     [STAGE_WAIT_JOB] = "wait_job",
    [STAGE_CGROUP_NS] = "cgroup_namespace",
    [STAGE_HOSTNAME] = "hostname",           [STAGE_MOUNT_PRIVATE] = "mount_private",
    [STAGE_ROOT_TMPFS] = "root_tmpfs",       [STAGE_RO_BIND] = "read_only_bind",
    [STAGE_SYMLINK] = "symlink",             [STAGE_ETC_FILES] = "etc_files",
    [STAGE_PROC] = "proc",                   [STAGE_PROC_MASK] = "proc_mask",
    [STAGE_DEV] = "dev",
    [STAGE_TMP] = "tmp",                     [STAGE_WORKSPACE] = "workspace",
    [STAGE_ROOT_READONLY] = "root_readonly", [STAGE_PIVOT_ROOT] = "pivot_root",
    [STAGE_RLIMITS] = "rlimits",             [STAGE_STDIO] = "stdio",
    [STAGE_USER_NS] = "user_namespace",      [STAGE_WAIT_ID_MAPS] = "wait_id_maps",
    [STAGE_CREDENTIALS] = "credentials",     [STAGE_CAPABILITIES] = "capabilities",
    [STAGE_NO_NEW_PRIVS] = "no_new_privs",   [STAGE_SECCOMP] = "seccomp",
    [STAGE_EXEC] = "exec",
};

/* Messages from the child on the sync socket. End of file means execve succeeded. */
enum child_message_kind {
    CHILD_USER_NS_READY = 1, /* write my uid and gid maps, then tell me to go on */
    CHILD_FAILED = 2,
    CHILD_LISTENER = 3,      /* my seccomp listener comes with this message (SCM_RIGHTS) */
};

struct child_message {
    int kind;
    int stage;
    int error;
};

/* The job, sent to a child that was cloned ahead of it: its limits and its argv, as
 * NUL-terminated strings one after the other. */
struct job_message {
    struct limits limits;
    int32_t filter_index;    /* in the sandbox's filter set; -1: the sandbox's own filter */
    char tmp_remount[64];    /* tmpfs options /tmp and /dev/shm get again ("size=8m"); "":
                              * they keep the config's */
    uint32_t argc;
    uint32_t argv_bytes;
    char argv[ARGV_BYTES_MAX];
};

/* A sandbox process cloned ahead of its job. Moving a process into a cgroup is the slow
 * part of starting a sandbox (the kernel waits for an RCU grace period), so the next child
 * is cloned, moved and given its root while the worker waits for work or runs a job. */
struct warm_child {
    pid_t pid;
    int pidfd;
    int sync_fd;             /* our end of the sync socket */
    int stdin_fd;            /* a memfd the child holds as well: filled when the job comes */
    int stdout_fd;           /* read ends of the job's pipes */
    int stderr_fd;
    int report_fd;           /* read end of init's report pipe */
    struct cg_job *cgroup;   /* created with the ceilings; the job's limits go in later */
};
/* A host path bound read-only at the same place inside, checked once per worker. */
struct ro_bind {
    const char *path;
    bool is_dir;
};

struct sandbox {
    const struct ccx_config *config;
    int slot;
    uid_t host_uid;          /* the job's uid and gid on the host, leased for our life */
    int uid_lock_fd;         /* holds the lease */
    int cap_last;            /* highest capability number this kernel knows */
    struct filter *filter;   /* from the config's profile, children allowed */
    const struct filter_set *filters; /* the worker's, for tenant policies; may be NULL */
    struct notifier *notifier;
    struct cg_system *cgroups;
    /* The tenant the waiting children are cloned for: the last step's. */
    char *warm_tenant;
    struct policy_cgroup warm_policy;
    bool warm_has_policy;
    /* What the last step's tenant parent held, for sandbox_describe_tenant. */
    char last_tenant_dir[CG_TENANT_DIR_SIZE];
    struct cg_tenant_values last_tenant_values;
    bool last_tenant_known;
    struct ro_bind *binds;
    size_t bind_count;
    bool proc_present[PROC_MASK_COUNT]; /* which of proc_masks this kernel has */
    char *envp[4];
    char passwd[256];        /* /etc/passwd and /etc/group inside */
    char group[256];
    char run_dir[PATH_MAX];  /* private tmpfs of this worker */
    char root_dir[PATH_MAX]; /* mount point of each job's new root */
    char work_dir[PATH_MAX]; /* the job's workspace tmpfs */
    bool workspace_mounted;
    uint64_t step_seq;
    /* Children waiting for the next steps, oldest first (NULL past the last). Two, so that
     * under a steady stream of jobs one is ready while the next is still moving into its
     * cgroup. */
    struct warm_child *warm[WARM_CHILDREN];
    int init_fd;             /* the ccx-init executable (O_PATH) */
    const volatile sig_atomic_t *abort_flag; /* owned by the worker; NULL: never aborted */
};

/* What the child needs, prepared before clone so that the child never allocates. */
struct child_context {
    const struct sandbox *sandbox;
    const struct limits *limits; /* in job_message, once the job came */
    const struct filter *filter; /* the step's, once the job came */
    const char *tmp_remount;     /* in job_message, once the job came */
    char *argv[ARGV_COUNT_MAX + 2]; /* "ccx-init", then the job's argv */
    int sync_fd;
    int report_fd;               /* write end of init's report pipe */
    int init_fd;                 /* the ccx-init executable, opened by the worker */
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    char tmp_options[128];
    char shm_options[128];
    char cgroup_procs[CG_PROCS_PATHS_MAX][PATH_MAX]; /* where the child moves itself */
    int cgroup_procs_count;
};

/* How the worker ended a run early, if it did. */
enum kill_reason {
    KILL_NONE,
    KILL_TIMEOUT,
    KILL_CPU,
    KILL_OUTPUT,
    KILL_POLICY,  /* a syscall of the profile's kill list, or a foreign ABI */
    KILL_ABORTED, /* the worker raised the abort flag: the job is no longer ours to run */
};

struct output_buffer {
    int fd;
    uint8_t *data;
    size_t size;
    uint64_t dropped;
    bool eof;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- The child: runs between clone and execve, so no malloc and no stdio. ---- */

static void __attribute__((noreturn)) child_fail(int sync_fd, enum setup_stage stage, int error)
{
    struct child_message message = {.kind = CHILD_FAILED, .stage = stage, .error = error};

    if (write(sync_fd, &message, sizeof(message)) < 0) {
        /* Nothing left to tell: the worker sees the exit status instead. */
    }
    _exit(127);
}

static void child_check(const struct child_context *ctx, enum setup_stage stage, int ret)
{
    if (ret < 0)
        child_fail(ctx->sync_fd, stage, errno);
}

static int child_join(char buf[PATH_MAX], const char *root, const char *path)
{
    size_t root_len = strlen(root);
    size_t path_len = strlen(path);

    if (root_len + path_len + 1 > PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, root, root_len);
    memcpy(buf + root_len, path, path_len + 1);
    return 0;
}

/* mkdir -p on a writable copy of the path. */
static int child_mkdir_parents(char *path, bool include_last)
{
    for (char *slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        int ret = mkdir(path, 0755);

        *slash = '/';
        if (ret < 0 && errno != EEXIST)
            return -1;
    }
    if (include_last && mkdir(path, 0755) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Creates the mount point for a bind of a directory or of a file. */
static int child_make_mount_point(char *path, bool is_dir)
{
    int fd;

    if (child_mkdir_parents(path, is_dir) < 0)
        return -1;
    if (is_dir)
        return 0;
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int child_bind_read_only(const char *source, char *target, bool is_dir,
                                unsigned long extra_flags)
{
    if (child_make_mount_point(target, is_dir) < 0)
        return -1;
    if (mount(source, target, NULL, MS_BIND, NULL) < 0)
        return -1;
    return mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | extra_flags, NULL);
}

static int child_write_file(const char *path, const char *text)
{
    size_t len = strlen(text);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    ssize_t written;

    if (fd < 0)
        return -1;
    written = write(fd, text, len);
    close(fd);
    if (written != (ssize_t)len) {
        errno = EIO;
        return -1;
    }
    return 0;
}

static void child_mask_proc(const struct child_context *ctx, const char *root)
{
    char path[PATH_MAX];

    for (size_t i = 0; i < PROC_MASK_COUNT; i++) {
        if (!ctx->sandbox->proc_present[i])
            continue;
        child_check(ctx, STAGE_PROC_MASK, child_join(path, root, "/proc/"));
        if (strlen(path) + strlen(proc_masks[i].path) >= PATH_MAX)
            child_fail(ctx->sync_fd, STAGE_PROC_MASK, ENAMETOOLONG);
        strcat(path, proc_masks[i].path);

        switch (proc_masks[i].kind) {
        case PROC_MASK_FILE:
            child_check(ctx, STAGE_PROC_MASK, mount("/dev/null", path, NULL, MS_BIND, NULL));
            break;
        case PROC_MASK_DIR:
            child_check(ctx, STAGE_PROC_MASK,
                        mount("ccx-masked", path, "tmpfs",
                              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0"));
            break;
        case PROC_READ_ONLY:
            child_check(ctx, STAGE_PROC_MASK, mount(path, path, NULL, MS_BIND | MS_REC, NULL));
            child_check(ctx, STAGE_PROC_MASK,
                        mount(NULL, path, NULL,
                              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
                                  MS_NOEXEC, NULL));
            break;
        }
    }
}

static void child_setup_dev(const struct child_context *ctx, const char *root)
{
    static const char *const links[][2] = {
        {"/dev/fd", "/proc/self/fd"},        {"/dev/stdin", "/proc/self/fd/0"},
        {"/dev/stdout", "/proc/self/fd/1"},  {"/dev/stderr", "/proc/self/fd/2"},
    };
    char path[PATH_MAX];
    char source[64];

    child_check(ctx, STAGE_DEV, child_join(path, root, "/dev"));
    child_check(ctx, STAGE_DEV, mkdir(path, 0755));
    child_check(ctx, STAGE_DEV, mount("ccx-dev", path, "tmpfs", MS_NOSUID | MS_NOEXEC,
                                      "mode=0755,size=64k,nr_inodes=64"));

    for (const char *const *device = sandbox_devices; *device; device++) {
        memcpy(source, "/dev/", 6);
        strncat(source, *device, sizeof(source) - 6);
        child_check(ctx, STAGE_DEV, child_join(path, root, source));
        child_check(ctx, STAGE_DEV, child_make_mount_point(path, false));
        child_check(ctx, STAGE_DEV, mount(source, path, NULL, MS_BIND, NULL));
    }
    for (size_t i = 0; i < sizeof(links) / sizeof(*links); i++) {
        child_check(ctx, STAGE_DEV, child_join(path, root, links[i][0]));
        child_check(ctx, STAGE_DEV, symlink(links[i][1], path));
    }

    child_check(ctx, STAGE_DEV, child_join(path, root, "/dev/shm"));
    child_check(ctx, STAGE_DEV, mkdir(path, 0755));
    child_check(ctx, STAGE_DEV, mount("ccx-shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                      ctx->shm_options));

    child_check(ctx, STAGE_DEV, child_join(path, root, "/dev"));
    child_check(ctx, STAGE_DEV, mount(NULL, path, NULL,
                                      MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
                                      NULL));
}

/* Builds the job's root on a fresh tmpfs at root_dir: read-only binds of what the language
 * runtimes need, a fresh /proc, a minimal /dev, /tmp, and the workspace at /work. */
static void child_build_root(const struct child_context *ctx)
{
    const struct sandbox *sandbox = ctx->sandbox;
    const struct sandbox_config *config = &sandbox->config->sandbox;
    const char *root = sandbox->root_dir;
    char path[PATH_MAX];

    child_check(ctx, STAGE_ROOT_TMPFS, mount("ccx-root", root, "tmpfs", MS_NOSUID | MS_NODEV,
                                             "mode=0755,size=1m,nr_inodes=4096"));
    child_check(ctx, STAGE_ROOT_TMPFS, mount(NULL, root, NULL, MS_PRIVATE, NULL));

    for (size_t i = 0; i < sandbox->bind_count; i++) {
        child_check(ctx, STAGE_RO_BIND, child_join(path, root, sandbox->binds[i].path));
        child_check(ctx, STAGE_RO_BIND,
                    child_bind_read_only(sandbox->binds[i].path, path, sandbox->binds[i].is_dir,
                                         MS_NOSUID | MS_NODEV));
    }
    for (size_t i = 0; i < config->symlink_count; i++) {
        child_check(ctx, STAGE_SYMLINK, child_join(path, root, config->symlinks[i].path));
        child_check(ctx, STAGE_SYMLINK, child_mkdir_parents(path, false));
        child_check(ctx, STAGE_SYMLINK, symlink(config->symlinks[i].target, path));
    }

    child_check(ctx, STAGE_ETC_FILES, child_join(path, root, "/etc"));
    child_check(ctx, STAGE_ETC_FILES, child_mkdir_parents(path, true));
    child_check(ctx, STAGE_ETC_FILES, child_join(path, root, "/etc/passwd"));
    child_check(ctx, STAGE_ETC_FILES, child_write_file(path, sandbox->passwd));
    child_check(ctx, STAGE_ETC_FILES, child_join(path, root, "/etc/group"));
    child_check(ctx, STAGE_ETC_FILES, child_write_file(path, sandbox->group));
    child_check(ctx, STAGE_ETC_FILES, child_join(path, root, "/etc/hosts"));
    child_check(ctx, STAGE_ETC_FILES,
                child_write_file(path, "127.0.0.1 localhost\n::1 localhost\n"));

    /* A fresh procfs: this process is init of a new pid namespace, so it shows the job only. */
    child_check(ctx, STAGE_PROC, child_join(path, root, "/proc"));
    child_check(ctx, STAGE_PROC, mkdir(path, 0555));
    child_check(ctx, STAGE_PROC,
                mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
    child_mask_proc(ctx, root);

    child_setup_dev(ctx, root);

    child_check(ctx, STAGE_TMP, child_join(path, root, "/tmp"));
    child_check(ctx, STAGE_TMP, mkdir(path, 0755));
    child_check(ctx, STAGE_TMP,
                mount("ccx-tmp", path, "tmpfs", MS_NOSUID | MS_NODEV, ctx->tmp_options));

    child_check(ctx, STAGE_WORKSPACE, child_join(path, root, "/work"));
    child_check(ctx, STAGE_WORKSPACE, mkdir(path, 0755));
}

/* Once the job came: its workspace, which the worker mounted after this child was cloned
 * and which reached us through mount propagation, goes to /work; then the root becomes
 * read-only. /work is made private so that nothing the worker mounts later reaches it. */
static void child_finish_root(const struct child_context *ctx)
{
    const struct sandbox *sandbox = ctx->sandbox;
    const char *root = sandbox->root_dir;
    char path[PATH_MAX];

    child_check(ctx, STAGE_WORKSPACE, child_join(path, root, "/work"));
    child_check(ctx, STAGE_WORKSPACE, mount(sandbox->work_dir, path, NULL, MS_BIND, NULL));
    child_check(ctx, STAGE_WORKSPACE, mount(NULL, path, NULL, MS_PRIVATE, NULL));
    child_check(ctx, STAGE_WORKSPACE,
                mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL));

    /* The root was built before the job's tenant was known: its /tmp and /dev/shm get the
     * tenant's size now. Flags are given again, since a remount replaces them. */
    if (ctx->tmp_remount[0]) {
        child_check(ctx, STAGE_TMP, child_join(path, root, "/tmp"));
        child_check(ctx, STAGE_TMP, mount(NULL, path, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV,
                                          ctx->tmp_remount));
        child_check(ctx, STAGE_TMP, child_join(path, root, "/dev/shm"));
        child_check(ctx, STAGE_TMP,
                    mount(NULL, path, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          ctx->tmp_remount));
    }

    child_check(ctx, STAGE_ROOT_READONLY,
                mount(NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                      NULL));
}

/* Makes the new root the root, and drops every path to the old one. */
static void child_pivot_root(const struct child_context *ctx)
{
    child_check(ctx, STAGE_PIVOT_ROOT, chdir(ctx->sandbox->root_dir));
    child_check(ctx, STAGE_PIVOT_ROOT, (int)syscall(SYS_pivot_root, ".", "."));
    child_check(ctx, STAGE_PIVOT_ROOT, umount2(".", MNT_DETACH));
    child_check(ctx, STAGE_PIVOT_ROOT, chdir("/work"));
}

static void child_set_rlimits(const struct child_context *ctx)
{
    const struct sandbox_config *config = &ctx->sandbox->config->sandbox;
    uint64_t cpu_s = (ctx->limits->cpu_ms + 999) / 1000;
    const struct {
        int resource;
        rlim_t soft;
        rlim_t hard;
    } table[] = {
        {RLIMIT_CORE, 0, 0},
        {RLIMIT_FSIZE, ctx->limits->disk_mb << 20, ctx->limits->disk_mb << 20},
        {RLIMIT_NOFILE, config->open_files, config->open_files},
        {RLIMIT_STACK, config->stack_mb << 20, config->stack_mb << 20},
        /* Per process only; the cgroup's usage, polled by the worker, covers the tree. */
        {RLIMIT_CPU, cpu_s + 1, cpu_s + 2},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++) {
        struct rlimit limit = {.rlim_cur = table[i].soft, .rlim_max = table[i].hard};

        child_check(ctx, STAGE_RLIMITS, setrlimit(table[i].resource, &limit));
    }
}

/* Puts the pipes on 0, 1 and 2, and closes every other descriptor but the sync socket
 * (close-on-exec): nothing of the worker's (Redis socket, config, another job's pipes)
 * stays open in the child, even while it waits for its job. */
static void child_setup_stdio(struct child_context *ctx)
{
    /* Out of the way first, so that no dup2 below lands on one of them. */
    int sync_fd = fcntl(ctx->sync_fd, F_DUPFD_CLOEXEC, 64);
    int report_fd = fcntl(ctx->report_fd, F_DUPFD_CLOEXEC, 64);
    int init_fd = fcntl(ctx->init_fd, F_DUPFD_CLOEXEC, 64);

    if (sync_fd < 0 || report_fd < 0 || init_fd < 0)
        child_fail(ctx->sync_fd, STAGE_STDIO, errno);
    ctx->sync_fd = sync_fd;

    child_check(ctx, STAGE_STDIO, dup2(ctx->stdin_fd, STDIN_FILENO));
    child_check(ctx, STAGE_STDIO, dup2(ctx->stdout_fd, STDOUT_FILENO));
    child_check(ctx, STAGE_STDIO, dup2(ctx->stderr_fd, STDERR_FILENO));

    /* 3 is init's report descriptor and must survive exec; the others close on it. */
    child_check(ctx, STAGE_STDIO, dup3(report_fd, INIT_REPORT_FD, 0));
    child_check(ctx, STAGE_STDIO, dup3(sync_fd, INIT_REPORT_FD + 1, O_CLOEXEC));
    child_check(ctx, STAGE_STDIO, dup3(init_fd, INIT_REPORT_FD + 2, O_CLOEXEC));
    ctx->sync_fd = INIT_REPORT_FD + 1;
    ctx->init_fd = INIT_REPORT_FD + 2;
    child_check(ctx, STAGE_STDIO,
                (int)syscall(SYS_close_range, INIT_REPORT_FD + 3, ~0U, 0));

    /* No controlling terminal: a new session that has none. */
    child_check(ctx, STAGE_STDIO, setsid());
}

/* Enters a new user namespace whose only id is inner_uid, mapped by the worker to the
 * slot's host uid. The mount, net, ipc and uts namespaces stay owned by the host's user
 * namespace, so nothing the job does as "its own root" could reconfigure them. */
static void child_enter_user_namespace(struct child_context *ctx)
{
    struct child_message message = {.kind = CHILD_USER_NS_READY};
    char go;

    child_check(ctx, STAGE_USER_NS, unshare(CLONE_NEWUSER));
    child_check(ctx, STAGE_USER_NS, (int)write(ctx->sync_fd, &message, sizeof(message)));
    if (read(ctx->sync_fd, &go, 1) != 1)
        child_fail(ctx->sync_fd, STAGE_WAIT_ID_MAPS, errno ? errno : EPIPE);
}

static void child_drop_privileges(struct child_context *ctx)
{
    uid_t uid = ctx->sandbox->config->sandbox.inner_uid;
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2] = {{0}};

    child_check(ctx, STAGE_CREDENTIALS, setgroups(0, NULL));
    child_check(ctx, STAGE_CREDENTIALS, setresgid(uid, uid, uid));

    for (int cap = 0; cap <= ctx->sandbox->cap_last; cap++)
        child_check(ctx, STAGE_CAPABILITIES, prctl(PR_CAPBSET_DROP, cap, 0, 0, 0));
    child_check(ctx, STAGE_CAPABILITIES, prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));

    /* Leaving uid 0 clears the permitted and effective sets; capset makes sure. */
    child_check(ctx, STAGE_CREDENTIALS, setresuid(uid, uid, uid));
    child_check(ctx, STAGE_CAPABILITIES, (int)syscall(SYS_capset, &header, data));

    /* Changing credentials cleared the parent-death signal: set it again, last. */
    child_check(ctx, STAGE_CREDENTIALS, prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0));
    child_check(ctx, STAGE_NO_NEW_PRIVS, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
}

/* Signal dispositions set to "ignore" and blocked signals survive execve: give the job
 * the defaults whatever the worker uses. */
static void child_reset_signals(void)
{
    sigset_t none;

    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Waits for the job and unpacks its argv into ctx. The buffer is static: in the child it is
 * a private copy, and the child must not allocate. */
static void child_receive_job(struct child_context *ctx)
{
    static struct job_message message;
    ssize_t n = recv(ctx->sync_fd, &message, sizeof(message), 0);
    size_t offset = 0;

    if (n <= 0)
        child_fail(ctx->sync_fd, STAGE_WAIT_JOB, n == 0 ? EPIPE : errno);
    if ((size_t)n < offsetof(struct job_message, argv) + message.argv_bytes ||
        message.argc == 0 || message.argc > ARGV_COUNT_MAX ||
        message.argv_bytes > ARGV_BYTES_MAX || message.argv[message.argv_bytes - 1] != '\0' ||
        memchr(message.tmp_remount, '\0', sizeof(message.tmp_remount)) == NULL)
        child_fail(ctx->sync_fd, STAGE_WAIT_JOB, EPROTO);

    /* The set is the one this child was cloned with: sandbox_set_filters drops children
     * cloned before it was replaced. */
    ctx->filter = message.filter_index < 0
                      ? ctx->sandbox->filter
                      : filter_set_get(ctx->sandbox->filters, (size_t)message.filter_index);
    if (!ctx->filter)
        child_fail(ctx->sync_fd, STAGE_WAIT_JOB, EPROTO);
    ctx->tmp_remount = message.tmp_remount;

    for (uint32_t i = 0; i < message.argc; i++) {
        if (offset >= message.argv_bytes)
            child_fail(ctx->sync_fd, STAGE_WAIT_JOB, EPROTO);
        ctx->argv[i + 1] = message.argv + offset;
        offset += strlen(ctx->argv[i + 1]) + 1;
    }
    ctx->argv[0] = "ccx-init";
    ctx->argv[message.argc + 1] = NULL;
    ctx->limits = &message.limits;
}

/* Moves this process into the cgroup libcgroup made for it. Done here rather than by the
 * worker, because the move waits for an RCU grace period: the worker goes on meanwhile. */
static void child_join_cgroup(const struct child_context *ctx)
{
    for (int i = 0; i < ctx->cgroup_procs_count; i++) {
        int fd = open(ctx->cgroup_procs[i], O_WRONLY | O_CLOEXEC);

        if (fd < 0)
            child_fail(ctx->sync_fd, STAGE_CGROUP_JOIN, errno);
        if (write(fd, "0", 1) != 1)
            child_fail(ctx->sync_fd, STAGE_CGROUP_JOIN, errno);
        close(fd);
    }
}

/* Installs the seccomp filter and hands its listener to the worker, which answers every call
 * the filter does not allow. The job must not keep the descriptor. */
static void child_install_filter(struct child_context *ctx)
{
    struct child_message message = {.kind = CHILD_LISTENER};
    struct iovec iov = {.iov_base = &message, .iov_len = sizeof(message)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control = {0};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    int listener = filter_install(ctx->filter);

    if (listener < 0)
        child_fail(ctx->sync_fd, STAGE_SECCOMP, -listener);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &listener, sizeof(int));

    child_check(ctx, STAGE_SECCOMP, (int)sendmsg(ctx->sync_fd, &msg, MSG_NOSIGNAL));
    close(listener);
}

static void __attribute__((noreturn)) child_main(struct child_context *ctx)
{
    /* The job's root is made by us: its directories and files must not take whatever umask
     * the worker was started with (systemd's UMask=0077, a strict login shell), or /etc is
     * created 0700 and the job can read neither /etc/passwd nor anything bound below it.
     * The job inherits this umask too, the same on every host. */
    umask(022);
    child_reset_signals();
    child_setup_stdio(ctx);

    /* If the worker dies before the job starts, so does the job. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    child_join_cgroup(ctx);

    /* In the job's cgroup now: make it our cgroup root. */
    child_check(ctx, STAGE_CGROUP_NS, unshare(CLONE_NEWCGROUP));
    child_check(ctx, STAGE_HOSTNAME, sethostname(ctx->sandbox->config->sandbox.hostname,
                                                 strlen(ctx->sandbox->config->sandbox.hostname)));

    /* A slave of the worker's mounts: the workspace it mounts for the job reaches us, and
     * nothing we mount reaches it. */
    child_check(ctx, STAGE_MOUNT_PRIVATE, mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL));
    child_build_root(ctx);

    child_receive_job(ctx);
    child_finish_root(ctx);
    child_pivot_root(ctx);
    child_set_rlimits(ctx);
    child_enter_user_namespace(ctx);
    child_drop_privileges(ctx);

    child_install_filter(ctx);
    /* ccx-init by descriptor: it lives outside the new root. It starts the job's program. */
    syscall(SYS_execveat, ctx->init_fd, "", ctx->argv, ctx->sandbox->envp, AT_EMPTY_PATH);
    child_fail(ctx->sync_fd, STAGE_EXEC, errno);
}

/* ---- The worker's side ---- */

static void warm_child_free(struct warm_child *warm);

/* Mounts this worker's private tmpfs on run_dir, shared so that the workspace mounted in it
 * later reaches the child cloned ahead of its job. */
static int sandbox_mount_run_dir(struct sandbox *sandbox)
{
    const char *run_dir = sandbox->config->sandbox.run_dir;

    if (mkdir(run_dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (mount("ccx-run", run_dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0700,size=64k,nr_inodes=64") < 0)
        return -errno;
    if (mount(NULL, run_dir, NULL, MS_SHARED, NULL) < 0)
        return -errno;

    snprintf(sandbox->run_dir, sizeof(sandbox->run_dir), "%s", run_dir);
    snprintf(sandbox->root_dir, sizeof(sandbox->root_dir), "%s/root", run_dir);
    snprintf(sandbox->work_dir, sizeof(sandbox->work_dir), "%s/work", run_dir);
    if (mkdir(sandbox->root_dir, 0700) < 0 || mkdir(sandbox->work_dir, 0700) < 0)
        return -errno;
    return 0;
}

static int sandbox_mount_private_run_dir(struct sandbox *sandbox)
{
    /* Our own mount namespace: what we mount below is invisible to the host and goes away
     * with this process, whatever way it ends. */
    if (unshare(CLONE_NEWNS) < 0)
        return -errno;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -errno;
    return sandbox_mount_run_dir(sandbox);
}

/* Removing run_dir on the host (another supervisor stopping, an administrator) takes our
 * private mount on it away with it, in every namespace. Notice, and mount it again. */
static int sandbox_check_run_dir(struct sandbox *sandbox)
{
    struct statfs fs;
    struct stat st;

    if (statfs(sandbox->run_dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC &&
        stat(sandbox->root_dir, &st) == 0)
        return 0;

    /* The child waiting for the next job saw the old mount: it would not see the workspace. */
    log_warn("run_dir_lost", "run_dir=%s action=mount_again", sandbox->run_dir);
    for (int i = 0; i < WARM_CHILDREN; i++)
        warm_child_free(TAKE_PTR(sandbox->warm[i]));
    return sandbox_mount_run_dir(sandbox);
}

/* Keeps the read-only binds that exist on this host, noting which are directories. */
/* Notes which of proc_masks exist here: mounting over a missing one would fail. */
static void sandbox_check_proc(struct sandbox *sandbox)
{
    char path[64];

    for (size_t i = 0; i < PROC_MASK_COUNT; i++) {
        snprintf(path, sizeof(path), "/proc/%s", proc_masks[i].path);
        sandbox->proc_present[i] = access(path, F_OK) == 0;
    }
}

static int sandbox_check_binds(struct sandbox *sandbox)
{
    char *const *paths = sandbox->config->sandbox.ro_binds;
    size_t count = 0;

    while (paths && paths[count])
        count++;
    sandbox->binds = calloc(count + 1, sizeof(*sandbox->binds));
    if (!sandbox->binds)
        return -ENOMEM;

    for (size_t i = 0; i < count; i++) {
        struct stat st;

        if (stat(paths[i], &st) < 0) {
            log_warn("sandbox_bind_missing", "path=%s errno=%d action=skipped", paths[i], errno);
            continue;
        }
        sandbox->binds[sandbox->bind_count].path = paths[i];
        sandbox->binds[sandbox->bind_count].is_dir = S_ISDIR(st.st_mode);
        sandbox->bind_count++;
    }
    return 0;
}

static int sandbox_read_cap_last(void)
{
    _cleanup_fclose_ FILE *file = fopen("/proc/sys/kernel/cap_last_cap", "re");
    int cap_last = CAP_LAST_CAP;

    if (file && fscanf(file, "%d", &cap_last) != 1)
        cap_last = CAP_LAST_CAP;
    return cap_last;
}

/* Descriptors 0-2 must be taken, or a pipe could land there and be closed by dup2. */
static void sandbox_ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) < 0)
            open("/dev/null", O_RDWR);
    }
}

static int sandbox_build_environment(struct sandbox *sandbox)
{
    const struct sandbox_config *config = &sandbox->config->sandbox;
    uid_t uid = config->inner_uid;

    if (asprintf(&sandbox->envp[0], "PATH=%s", config->env_path) < 0 ||
        asprintf(&sandbox->envp[1], "HOME=%s", config->env_home) < 0 ||
        asprintf(&sandbox->envp[2], "LANG=%s", config->env_lang) < 0)
        return -ENOMEM;

    snprintf(sandbox->passwd, sizeof(sandbox->passwd),
             "root:x:0:0:root:/root:/usr/sbin/nologin\n"
             "sandbox:x:%u:%u:ccx job:%s:/bin/sh\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
             uid, uid, config->env_home);
    snprintf(sandbox->group, sizeof(sandbox->group),
             "root:x:0:\nsandbox:x:%u:\nnogroup:x:65534:\n", uid);
    return 0;
}

/* Opens ccx-init: beside this executable when installed, else where the build put it. */
static int sandbox_open_init(struct sandbox *sandbox)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - sizeof("/ccx-init"));
    char *slash;

    if (n > 0) {
        path[n] = '\0';
        slash = strrchr(path, '/');
        if (slash) {
            strcpy(slash, "/ccx-init");
            sandbox->init_fd = open(path, O_PATH | O_CLOEXEC);
        }
    }
    if (sandbox->init_fd < 0)
        sandbox->init_fd = open(CCX_INIT_FALLBACK, O_PATH | O_CLOEXEC);
    if (sandbox->init_fd < 0) {
        log_err("sandbox_init_missing", "path=%s errno=%d", CCX_INIT_FALLBACK, errno);
        return -ENOENT;
    }
    return 0;
}

/* The seccomp filter, from the profile the config names. */
static int sandbox_build_filter(struct sandbox *sandbox)
{
    const char *path = sandbox->config->sandbox.seccomp_profile;
    struct profile *profile = NULL;
    char err[512];
    int ret;

    ret = profile_load(path, &profile, err, sizeof(err));
    if (ret < 0) {
        log_err("seccomp_profile_invalid", "path=%s errno=%d reason=\"%s\"", path, -ret, err);
        return ret;
    }
    ret = filter_new(profile, path, true, &sandbox->filter);
    profile_free(profile);
    return ret;
}

int sandbox_new(const struct ccx_config *config, int slot, struct sandbox **ret_sandbox)
{
    struct sandbox *sandbox = calloc(1, sizeof(*sandbox));
    int ret;

    if (!sandbox)
        return -ENOMEM;
    sandbox->config = config;
    sandbox->slot = slot;
    sandbox->cap_last = sandbox_read_cap_last();
    sandbox->init_fd = -1;
    sandbox->uid_lock_fd = -1;
    sandbox_ensure_std_fds();

    ret = uid_lease_claim(config->sandbox.uid_lock_dir, config->sandbox.uid_base,
                          (unsigned)config->sandbox.uid_count,
                          (unsigned)slot % (unsigned)config->sandbox.uid_count,
                          &sandbox->host_uid, &sandbox->uid_lock_fd);
    if (ret < 0) {
        log_err("uid_lease_failed", "dir=%s uid_base=%u uid_count=%" PRIu64 " errno=%d",
                config->sandbox.uid_lock_dir, (unsigned)config->sandbox.uid_base,
                config->sandbox.uid_count, -ret);
        free(sandbox);
        return ret;
    }

    ret = sandbox_build_environment(sandbox);
    if (ret == 0)
        ret = sandbox_check_binds(sandbox);
    sandbox_check_proc(sandbox);
    if (ret < 0) {
        sandbox_free(sandbox);
        return ret;
    }

    ret = sandbox_open_init(sandbox);
    if (ret == 0)
        ret = sandbox_build_filter(sandbox);
    if (ret == 0)
        ret = notify_new(&sandbox->notifier);
    if (ret < 0) {
        sandbox_free(sandbox);
        return ret;
    }

    ret = cg_system_new(config->sandbox.cgroup_parent, &sandbox->cgroups);
    if (ret < 0) {
        sandbox_free(sandbox);
        return ret;
    }

    ret = sandbox_mount_private_run_dir(sandbox);
    if (ret < 0) {
        log_err("sandbox_run_dir_failed", "run_dir=%s errno=%d", config->sandbox.run_dir, -ret);
        sandbox_free(sandbox);
        return ret;
    }

    log_info("sandbox_ready", "host_uid=%u cgroup=%s seccomp_profile=%s seccomp_allowed=%zu "
             "seccomp_instructions=%u binds=%zu",
             (unsigned)sandbox->host_uid, cg_mode_name(cg_system_mode(sandbox->cgroups)),
             config->sandbox.seccomp_profile, sandbox->filter->allow_count,
             (unsigned)sandbox->filter->program.len, sandbox->bind_count);
    *ret_sandbox = sandbox;
    return 0;
}

void sandbox_set_filters(struct sandbox *sandbox, const struct filter_set *set)
{
    sandbox->filters = set;
    for (int i = 0; i < WARM_CHILDREN; i++)
        warm_child_free(TAKE_PTR(sandbox->warm[i]));
}

void sandbox_set_abort_flag(struct sandbox *sandbox, const volatile sig_atomic_t *flag)
{
    sandbox->abort_flag = flag;
}

static bool sandbox_aborted(const struct sandbox *sandbox)
{
    return sandbox->abort_flag && *sandbox->abort_flag;
}

uid_t sandbox_host_uid(const struct sandbox *sandbox)
{
    return sandbox->host_uid;
}

void sandbox_free(struct sandbox *sandbox)
{
    if (!sandbox)
        return;
    for (int i = 0; i < WARM_CHILDREN; i++)
        warm_child_free(sandbox->warm[i]);
    sandbox_workspace_destroy(sandbox);
    if (sandbox->init_fd >= 0)
        close(sandbox->init_fd);
    filter_free(sandbox->filter);
    notify_free(sandbox->notifier);
    /* After the children's cgroups are gone: the tenant parents they used may be idle now. */
    cg_system_free(sandbox->cgroups);
    free(sandbox->warm_tenant);
    free(sandbox->binds);
    for (size_t i = 0; i < sizeof(sandbox->envp) / sizeof(*sandbox->envp); i++)
        free(sandbox->envp[i]);
    /* Last: every child that ran as the leased uid is reaped by now. */
    if (sandbox->uid_lock_fd >= 0)
        close(sandbox->uid_lock_fd);
    free(sandbox);
}

int sandbox_describe(const struct sandbox *sandbox, const struct filter *filter,
                     struct enforcement_list *out)
{
    const char *mode = cg_mode_name(cg_system_mode(sandbox->cgroups));
    bool v2 = cg_system_mode(sandbox->cgroups) == CG_MODE_V2;
    int ret = 0;

    if (!filter)
        filter = sandbox->filter;
    ret |= enforcement_list_set(out, "namespaces", "user,pid,mount,net,ipc,uts,cgroup");
    ret |= enforcement_list_set(out, "memory", "%s %s, swap included", mode,
                                v2 ? "memory.max + memory.swap.max=0" : "memory.limit_in_bytes"
                                                                        " + memory.memsw");
    ret |= enforcement_list_set(out, "pids", "%s pids.max", mode);
    ret |= enforcement_list_set(out, "cpu", "%s %s at %" PRIu64 "%% of one CPU; cpu_ms from the "
                                "cgroup's usage, polled every %d ms; RLIMIT_CPU per process", mode,
                                v2 ? "cpu.max" : "cpu.cfs_quota_us",
                                sandbox->config->sandbox.cpu_quota_pct, CPU_POLL_INTERVAL_MS);
    ret |= enforcement_list_set(out, "wall", "worker timer; SIGKILL to the job's pid namespace");
    ret |= enforcement_list_set(out, "output", "pipes, capped per stream");
    ret |= enforcement_list_set(out, "disk", "tmpfs size and nr_inodes on /work; RLIMIT_FSIZE");
    ret |= enforcement_list_set(out, "filesystem", "pivot_root onto a read-only tmpfs with "
                                "read-only binds; fresh /proc; minimal /dev; private /tmp");
    ret |= enforcement_list_set(out, "network", "empty network namespace; only AF_UNIX sockets");
    ret |= enforcement_list_set(out, "user", "uid %u in a user namespace = host uid %u; no "
                                "capabilities; no_new_privs", sandbox->config->sandbox.inner_uid,
                                (unsigned)sandbox->host_uid);
    ret |= enforcement_list_set(out, "seccomp", "allow-list of %zu syscalls from %s; the rest "
                                "refused with EPERM through user notification, each an event; "
                                "%zu and foreign ABIs kill the job; clone3 ENOSYS",
                                filter->allow_count, filter->source, filter->kill_count);
    ret |= enforcement_list_set(out, "children", "%s", filter->children
                                ? "allowed" : "refused: fork, vfork and clone without "
                                "CLONE_THREAD get EPERM through user notification, each an "
                                "event; threads allowed");
    return ret < 0 ? -ENOMEM : 0;
}

/* A limit as the result shows it: a number, or "max". */
static const char *sandbox_limit_text(char buf[32], uint64_t value, uint64_t divisor)
{
    if (value == UINT64_MAX)
        return "max";
    snprintf(buf, 32, "%" PRIu64, value / divisor);
    return buf;
}

int sandbox_describe_tenant(const struct sandbox *sandbox, struct enforcement_list *out)
{
    const struct cg_tenant_values *values = &sandbox->last_tenant_values;
    bool v2 = cg_system_mode(sandbox->cgroups) == CG_MODE_V2;
    char memory[32], pids[32];

    if (!sandbox->last_tenant_known)
        return 0;
    return enforcement_list_set(out, "tenant_cgroup", "%s %s/%s, shared by the tenant's jobs "
                                "on this host: memory_mb=%s (%s) pids=%s %s=%" PRIu64,
                                cg_mode_name(cg_system_mode(sandbox->cgroups)),
                                sandbox->config->sandbox.cgroup_parent, sandbox->last_tenant_dir,
                                sandbox_limit_text(memory, values->memory_bytes, 1024 * 1024),
                                v2 ? "memory.max + memory.swap.max"
                                   : "memory.limit_in_bytes + memsw",
                                sandbox_limit_text(pids, values->pids, 1),
                                v2 ? "cpu.weight" : "cpu.shares", values->cpu_weight);
}

/* ---- Workspace ---- */

/* Opens (creating when needed) each directory of a relative path below dir_fd, never
 * following a link, and returns the parent's fd and the last component's name. */
static int workspace_open_parent(int dir_fd, char *path, uid_t uid, char **ret_name)
{
    _cleanup_close_ int current = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
    char *name = path;

    if (current < 0)
        return -errno;
    for (char *slash = strchr(name, '/'); slash; slash = strchr(name, '/')) {
        int next;

        *slash = '\0';
        if (mkdirat(current, name, 0755) == 0) {
            if (fchownat(current, name, uid, uid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        } else if (errno != EEXIST) {
            return -errno;
        }
        next = openat(current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return -errno;
        close(current);
        current = next;
        name = slash + 1;
    }
    *ret_name = name;
    return TAKE_FD(current);
}

static int workspace_write_file(int dir_fd, const struct job_file *file, uid_t uid)
{
    _cleanup_free_ char *path = strdup(file->path);
    _cleanup_close_ int parent_fd = -1;
    _cleanup_close_ int fd = -1;
    char *name = NULL;
    size_t done = 0;

    if (!path)
        return -ENOMEM;
    parent_fd = workspace_open_parent(dir_fd, path, uid, &name);
    if (parent_fd < 0)
        return parent_fd;

    fd = openat(parent_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    while (done < file->size) {
        ssize_t n = write(fd, file->data + done, file->size - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        done += (size_t)n;
    }
    return fchown(fd, uid, uid) < 0 ? -errno : 0;
}

int sandbox_workspace_create(struct sandbox *sandbox, const struct job *job)
{
    _cleanup_close_ int dir_fd = -1;
    char options[256];
    int ret;

    /* A new job: what sandbox_describe_tenant reports comes from its own steps. */
    sandbox->last_tenant_known = false;
    sandbox_workspace_destroy(sandbox);
    ret = sandbox_check_run_dir(sandbox);
    if (ret < 0)
        return ret;

    /* The owner is set through the descriptor rather than as a mount option: the job reads
     * its mount options in /proc/self/mountinfo, and the host uid is ours, not its. */
    snprintf(options, sizeof(options), "size=%" PRIu64 "m,nr_inodes=%" PRIu64 ",mode=0700",
             job->limits.disk_mb, sandbox->config->sandbox.inodes);
    if (mount("ccx-work", sandbox->work_dir, "tmpfs", MS_NOSUID | MS_NODEV, options) < 0)
        return -errno;
    sandbox->workspace_mounted = true;

    dir_fd = open(sandbox->work_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir_fd < 0)
        return -errno;
    if (fchown(dir_fd, sandbox->host_uid, sandbox->host_uid) < 0)
        return -errno;

    /* No job code has run yet, and every step refuses links: nothing here can be steered
     * out of the workspace. */
    for (size_t i = 0; i < job->file_count; i++) {
        ret = workspace_write_file(dir_fd, &job->files[i], sandbox->host_uid);
        if (ret < 0)
            return ret;
    }
    return 0;
}

void sandbox_workspace_destroy(struct sandbox *sandbox)
{
    if (!sandbox->workspace_mounted)
        return;
    if (umount2(sandbox->work_dir, MNT_DETACH) < 0)
        log_warn("workspace_umount_failed", "path=%s errno=%d", sandbox->work_dir, errno);
    sandbox->workspace_mounted = false;
}

/* ---- Running a step ---- */

static int write_id_map(pid_t pid, const char *file, uid_t inner, uid_t outer)
{
    char path[64];
    char line[64];
    _cleanup_close_ int fd = -1;
    int len;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    len = snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)inner, (unsigned)outer);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return write(fd, line, len) == len ? 0 : -errno;
}

/* Receives one message from the child, and the descriptor that came with it, if any. */
static ssize_t sandbox_receive_message(int sync_fd, struct child_message *message,
                                       int *ret_fd)
{
    struct iovec iov = {.iov_base = message, .iov_len = sizeof(*message)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    ssize_t n = recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC);

    *ret_fd = -1;
    if (n < 0)
        return -errno;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
            cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(ret_fd, CMSG_DATA(cmsg), sizeof(int));
    }
    return n;
}

/* Talks the child through its set-up until it execs (end of file on the sync socket) or
 * fails. Returns 0 once exec happened, with *ret_listener_fd holding the job's seccomp
 * listener; -errno (and the stage) otherwise. */
static int sandbox_guide_child(struct sandbox *sandbox, pid_t pid, int sync_fd, uint64_t deadline,
                               enum setup_stage *ret_stage, int *ret_listener_fd)
{
    const uid_t inner = sandbox->config->sandbox.inner_uid;
    _cleanup_close_ int listener_fd = -1;

    *ret_stage = STAGE_WAIT_JOB;
    for (;;) {
        struct child_message message;
        struct pollfd pfd = {.fd = sync_fd, .events = POLLIN};
        uint64_t now = now_ms();
        _cleanup_close_ int fd = -1;
        ssize_t n;

        if (now >= deadline)
            return -ETIMEDOUT;
        if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
            return -errno;
        if (!pfd.revents)
            continue;

        n = sandbox_receive_message(sync_fd, &message, &fd);
        if (n == 0 && listener_fd < 0)
            return -EPROTO; /* exec without a listener: never, but never run unwatched */
        if (n == 0) {
            *ret_listener_fd = TAKE_FD(listener_fd);
            return 0;
        }
        if (n != (ssize_t)sizeof(message))
            return n < 0 ? (int)n : -EPROTO;

        if (message.kind == CHILD_FAILED) {
            *ret_stage = message.stage >= 0 && message.stage < STAGE_COUNT ? message.stage
                                                                          : STAGE_EXEC;
            return message.error > 0 ? -message.error : -EIO;
        }
        if (message.kind == CHILD_LISTENER) {
            *ret_stage = STAGE_EXEC;
            if (fd < 0 || listener_fd >= 0)
                return -EPROTO;
            listener_fd = TAKE_FD(fd);
            continue;
        }

        *ret_stage = STAGE_WAIT_ID_MAPS;
        int ret = write_id_map(pid, "uid_map", inner, sandbox->host_uid);

        if (ret == 0)
            ret = write_id_map(pid, "gid_map", inner, sandbox->host_uid);
        if (ret < 0)
            return ret;
        if (write(sync_fd, "g", 1) != 1)
            return -errno;
    }
}

/* Reads what is there; keeps the first `cap` bytes and counts the rest as dropped. */
static int output_read(struct output_buffer *out, uint64_t cap, uint8_t *chunk)
{
    ssize_t n = read(out->fd, chunk, READ_CHUNK_BYTES);

    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -errno;
    if (n == 0) {
        out->eof = true;
        return 0;
    }

    size_t room = out->size < cap ? (size_t)(cap - out->size) : 0;
    size_t keep = (size_t)n < room ? (size_t)n : room;

    if (keep > 0) {
        uint8_t *grown = realloc(out->data, out->size + keep);

        if (!grown)
            return -ENOMEM;
        memcpy(grown + out->size, chunk, keep);
        out->data = grown;
        out->size += keep;
    }
    out->dropped += (uint64_t)n - keep;
    return 0;
}

struct run_state {
    pid_t pid;
    int pidfd;
    bool exited;
    enum kill_reason kill_reason;
    const char *output_stream; /* the stream that went over its cap */
    uint64_t started_ms;
    uint64_t exited_ms;
    uint64_t cpu_before_ns;    /* the cgroup's CPU time when the job was handed over */
    struct output_buffer out[2];
    int listener_fd;           /* seccomp notifications of the job; -1 once it hung up */
    const struct filter *filter; /* the filter the job runs under */
    pid_t spawner;             /* the job's init until it started the program (notify.h) */
    /* The refusals reported as events this step: where each stands in the event list and
     * how many identical calls (same call, same decoded arguments) it stands for. Folding
     * repeats keeps one call made by every thread (glibc's set*id) from using up the cap. */
    size_t refused_event_index[REFUSED_EVENTS_MAX];
    uint64_t refused_event_calls[REFUSED_EVENTS_MAX];
    size_t refused_events;
    uint64_t refused_suppressed; /* refusals neither reported nor folded into a report */
    char policy_detail[NOTIFY_DETAIL_MAX]; /* the call that ended the job */
};

static void run_kill(struct run_state *state, enum kill_reason reason)
{
    /* An abort outranks the limit that may already have fired: the step is thrown away. */
    if (state->kill_reason == KILL_NONE || reason == KILL_ABORTED)
        state->kill_reason = reason;
    /* The job's init: when it dies, the kernel kills everything else in its namespace. */
    kill(state->pid, SIGKILL);
}

/* Records one refused call: a new event while fewer than REFUSED_EVENTS_MAX were reported
 * this step, one more call of an identical event already reported, or else only counted. */
static void sandbox_report_refusal(struct run_state *state, struct event_list *events,
                                   const char *detail)
{
    size_t detail_length = strlen(detail);

    for (size_t i = 0; i < state->refused_events; i++) {
        const char *reported = events->items[state->refused_event_index[i]].detail;

        if (strncmp(reported, detail, detail_length) == 0 &&
            strcmp(reported + detail_length, " errno=EPERM") == 0) {
            state->refused_event_calls[i]++;
            return;
        }
    }

    if (state->refused_events == REFUSED_EVENTS_MAX ||
        event_list_add(events, "syscall_refused", "%s errno=EPERM", detail) < 0) {
        state->refused_suppressed++;
        return;
    }
    state->refused_event_index[state->refused_events] = events->count - 1;
    state->refused_event_calls[state->refused_events++] = 1;
}

/* Appends "calls=N" to the refusal events that stand for more than one call. */
static void sandbox_count_refusals(const struct run_state *state, struct event_list *events)
{
    for (size_t i = 0; i < state->refused_events; i++) {
        struct sandbox_event *event = &events->items[state->refused_event_index[i]];
        char *counted = NULL;

        if (state->refused_event_calls[i] < 2)
            continue;
        if (asprintf(&counted, "%s calls=%" PRIu64, event->detail,
                     state->refused_event_calls[i]) < 0)
            continue; /* out of memory: the event stays, without its count */
        free(event->detail);
        event->detail = counted;
    }
}

/* Answers one call the job's filter sent us: refused (an event, up to REFUSED_EVENTS_MAX
 * distinct ones a step, then only counted) or the end of the job. */
static void sandbox_answer_call(struct sandbox *sandbox, struct run_state *state,
                                struct event_list *events)
{
    struct notify_call call;
    int ret = notify_answer(sandbox->notifier, state->listener_fd, state->filter,
                            &state->spawner, &call);

    if (ret == -ENOENT || ret == -EINTR)
        return;
    if (ret < 0) {
        /* The listener is broken: calls would hang. Ending the job is the safe answer. */
        log_warn("seccomp_notify_failed", "errno=%d", -ret);
        close(state->listener_fd);
        state->listener_fd = -1;
        run_kill(state, KILL_NONE);
        return;
    }

    if (call.action == NOTIFY_KILL) {
        if (state->kill_reason == KILL_NONE)
            memcpy(state->policy_detail, call.detail, sizeof(call.detail));
        run_kill(state, KILL_POLICY);
        return;
    }
    if (call.action == NOTIFY_ALLOWED)
        return;
    sandbox_report_refusal(state, events, call.detail);
}

/* Collects output, answers the filter's calls and watches the limits until the job's init
 * is gone and its pipes are closed. */
static int sandbox_supervise(struct sandbox *sandbox, struct cg_job *cgroup,
                             const struct limits *limits, struct run_state *state,
                             struct event_list *events)
{
    static const char *const stream_names[2] = {"stdout", "stderr"};
    _cleanup_free_ uint8_t *chunk = malloc(READ_CHUNK_BYTES);
    uint64_t deadline = state->started_ms + limits->wall_ms;
    uint64_t cpu_limit_ns = limits->cpu_ms * 1000000;

    if (!chunk)
        return -ENOMEM;

    while (!state->exited || !state->out[0].eof || !state->out[1].eof) {
        struct pollfd pfds[4];
        uint64_t now = now_ms();
        int wait_ms = CPU_POLL_INTERVAL_MS;
        nfds_t count = 0;
        int ret;

        if (state->exited && now > state->exited_ms + DRAIN_GRACE_MS)
            break;
        /* Checked every tick, and at once when the signal that raised it cut the poll
         * short: a job that is no longer ours must not go on. */
        if (!state->exited && state->kill_reason != KILL_ABORTED && sandbox_aborted(sandbox))
            run_kill(state, KILL_ABORTED);
        if (!state->exited && now >= deadline)
            run_kill(state, KILL_TIMEOUT);
        if (!state->exited && deadline > now && deadline - now < (uint64_t)wait_ms)
            wait_ms = (int)(deadline - now);

        for (int i = 0; i < 2; i++) {
            if (!state->out[i].eof)
                pfds[count++] = (struct pollfd){.fd = state->out[i].fd, .events = POLLIN};
        }
        if (!state->exited)
            pfds[count++] = (struct pollfd){.fd = state->pidfd, .events = POLLIN};
        if (state->listener_fd >= 0)
            pfds[count++] = (struct pollfd){.fd = state->listener_fd, .events = POLLIN};

        ret = poll(pfds, count, wait_ms);
        if (ret < 0 && errno != EINTR)
            return -errno;

        for (nfds_t p = 0; p < count; p++) {
            if (!pfds[p].revents)
                continue;
            if (pfds[p].fd == state->pidfd) {
                state->exited = true;
                state->exited_ms = now_ms();
                continue;
            }
            if (pfds[p].fd == state->listener_fd) {
                if (pfds[p].revents & POLLIN) {
                    sandbox_answer_call(sandbox, state, events);
                } else {
                    /* Every process under the filter is gone. */
                    close(state->listener_fd);
                    state->listener_fd = -1;
                }
                continue;
            }
            int i = pfds[p].fd == state->out[0].fd ? 0 : 1;

            ret = output_read(&state->out[i], limits->output_bytes, chunk);
            if (ret < 0)
                return ret;
            if (state->out[i].dropped > 0 && !state->exited && state->kill_reason == KILL_NONE) {
                state->output_stream = stream_names[i];
                run_kill(state, KILL_OUTPUT);
            }
        }

        if (!state->exited && state->kill_reason == KILL_NONE) {
            uint64_t usage_ns = 0;

            if (cg_job_cpu_usage_ns(cgroup, &usage_ns) == 0 &&
                usage_ns >= state->cpu_before_ns + cpu_limit_ns)
                run_kill(state, KILL_CPU);
        }
    }
    return 0;
}

/* Decides the step's status from how it ended and what the cgroup saw. A limit is named
 * only when the job did not succeed in spite of it; the event is recorded either way. */
static void classify(const struct run_state *state, const siginfo_t *info,
                     const struct cg_stats *stats, const struct limits *limits,
                     struct step_outcome *outcome, struct event_list *events)
{
    bool exited = info->si_code == CLD_EXITED;
    /* The CPU time is checked every tick and once more here: a job that went over between
     * two ticks and then finished is over all the same. SIGXCPU alone proves nothing (a
     * program can send it to itself); the cgroup's count does. */
    bool cpu_over = state->kill_reason == KILL_CPU ||
                    stats->cpu_usage_ns >= limits->cpu_ms * 1000000;
    bool ok = exited && info->si_status == 0 && state->kill_reason == KILL_NONE && !cpu_over;

    outcome->exit_code = exited ? info->si_status : -1;
    outcome->signal = exited ? 0 : info->si_status;

    if (stats->oom_kills > 0)
        event_list_add(events, "memory_limit", "memory_mb=%" PRIu64 " oom_kills=%" PRIu64,
                       limits->memory_mb, stats->oom_kills);
    else if (!ok && stats->memory_limit_hits > 0)
        event_list_add(events, "memory_pressure", "memory_mb=%" PRIu64 " limit_reached=%" PRIu64
                       " (no OOM kill: the job was reclaiming memory at its limit)",
                       limits->memory_mb, stats->memory_limit_hits);
    if (stats->pids_refused > 0)
        event_list_add(events, "pids_limit", "pids=%" PRIu64 " refused_forks=%" PRIu64,
                       limits->pids, stats->pids_refused);
    if (state->kill_reason == KILL_TIMEOUT)
        event_list_add(events, "timeout", "wall_ms=%" PRIu64, limits->wall_ms);
    if (cpu_over)
        event_list_add(events, "cpu_limit", "cpu_ms=%" PRIu64 " used_ms=%" PRIu64, limits->cpu_ms,
                       stats->cpu_usage_ns / 1000000);
    if (state->kill_reason == KILL_OUTPUT)
        event_list_add(events, "output_limit", "stream=%s output_bytes=%" PRIu64,
                       state->output_stream, limits->output_bytes);
    if (state->kill_reason == KILL_POLICY)
        event_list_add(events, "policy_violation", "%s", state->policy_detail);
    sandbox_count_refusals(state, events);
    if (state->refused_suppressed > 0)
        event_list_add(events, "syscall_refused_suppressed", "count=%" PRIu64 " reported=%zu",
                       state->refused_suppressed, state->refused_events);

    if (ok)
        outcome->status = JOB_STATUS_OK;
    else if (state->kill_reason == KILL_POLICY)
        outcome->status = JOB_STATUS_POLICY_VIOLATION;
    else if (stats->oom_kills > 0)
        outcome->status = JOB_STATUS_MEMORY_LIMIT;
    else if (stats->pids_refused > 0)
        outcome->status = JOB_STATUS_PIDS_LIMIT;
    else if (state->kill_reason == KILL_OUTPUT)
        outcome->status = JOB_STATUS_OUTPUT_LIMIT;
    else if (cpu_over)
        outcome->status = JOB_STATUS_CPU_LIMIT;
    else if (state->kill_reason == KILL_TIMEOUT)
        outcome->status = JOB_STATUS_TIMEOUT;
    else if (!exited)
        outcome->status = JOB_STATUS_SIGNALED;
    else
        outcome->status = JOB_STATUS_ERROR_EXIT;
}

/* Kills and reaps a child whose set-up failed. */
static void reap_failed_child(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static void close_pair(int fds[2])
{
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

/* ---- Children cloned ahead of their job ---- */

static void warm_child_free(struct warm_child *warm)
{
    if (!warm)
        return;
    if (warm->pid > 0)
        reap_failed_child(warm->pid);
    if (warm->pidfd >= 0)
        close(warm->pidfd);
    if (warm->sync_fd >= 0)
        close(warm->sync_fd);
    if (warm->stdin_fd >= 0)
        close(warm->stdin_fd);
    if (warm->stdout_fd >= 0)
        close(warm->stdout_fd);
    if (warm->stderr_fd >= 0)
        close(warm->stderr_fd);
    if (warm->report_fd >= 0)
        close(warm->report_fd);
    cg_job_destroy(warm->cgroup);
    free(warm);
}

/* Clones the next step's child into a fresh cgroup below the tenant's parent and lets it
 * build its root; it then waits for a job_message. Returns 0 and *ret_warm, or -errno
 * (logged). */
static int warm_child_new(struct sandbox *sandbox, const char *tenant,
                          const struct policy_cgroup *policy, struct warm_child **ret_warm)
{
    struct child_context ctx = {.sandbox = sandbox};
    int sync_pair[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    int report_pipe[2] = {-1, -1};
    struct warm_child *warm = calloc(1, sizeof(*warm));
    char cgroup_name[64];
    int ret;

    if (!warm)
        return -ENOMEM;
    *warm = (struct warm_child){.pidfd = -1, .sync_fd = -1, .stdin_fd = -1, .stdout_fd = -1,
                                .stderr_fd = -1, .report_fd = -1};

    /* Created with the ceilings: each job's own limits only ever lower them. */
    snprintf(cgroup_name, sizeof(cgroup_name), "w%d-%" PRIu64, (int)getpid(),
             ++sandbox->step_seq);
    ret = cg_job_create(sandbox->cgroups, tenant, policy, cgroup_name,
                        &sandbox->config->limits_max, sandbox->config->sandbox.cpu_quota_pct,
                        &warm->cgroup);
    if (ret < 0) {
        char quoted[LOG_QUOTE_SIZE];

        log_err("cgroup_create_failed", "cgroup=%s tenant=%s errno=%d", cgroup_name,
                log_quote(quoted, tenant ? tenant : "default"), -ret);
        free(warm);
        return ret;
    }

    warm->stdin_fd = memfd_create("ccx-stdin", MFD_CLOEXEC);
    if (warm->stdin_fd < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0 ||
        pipe2(report_pipe, O_CLOEXEC) < 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_pair) < 0) {
        ret = -errno;
        goto fail;
    }
    snprintf(ctx.tmp_options, sizeof(ctx.tmp_options),
             "mode=1777,size=%" PRIu64 "m,nr_inodes=%" PRIu64, sandbox->config->sandbox.tmp_mb,
             sandbox->config->sandbox.inodes);
    memcpy(ctx.shm_options, ctx.tmp_options, sizeof(ctx.shm_options));
    ctx.cgroup_procs_count = cg_job_procs_paths(warm->cgroup, ctx.cgroup_procs,
                                                CG_PROCS_PATHS_MAX);
    if (ctx.cgroup_procs_count <= 0) {
        ret = ctx.cgroup_procs_count < 0 ? ctx.cgroup_procs_count : -ENOENT;
        goto fail;
    }
    ctx.sync_fd = sync_pair[1];
    ctx.stdin_fd = warm->stdin_fd;
    ctx.stdout_fd = out_pipe[1];
    ctx.stderr_fd = err_pipe[1];
    ctx.report_fd = report_pipe[1];
    ctx.init_fd = sandbox->init_fd;

    warm->pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |
                               CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD,
                               NULL, &warm->pidfd, NULL, 0);
    if (warm->pid < 0) {
        ret = -errno;
        warm->pid = 0;
        log_err("sandbox_clone_failed", "errno=%d", -ret);
        goto fail;
    }
    if (warm->pid == 0)
        child_main(&ctx);

    warm->sync_fd = TAKE_FD(sync_pair[0]);
    warm->stdout_fd = TAKE_FD(out_pipe[0]);
    warm->stderr_fd = TAKE_FD(err_pipe[0]);
    warm->report_fd = TAKE_FD(report_pipe[0]);
    close_pair(sync_pair);
    close_pair(out_pipe);
    close_pair(err_pipe);
    close_pair(report_pipe);

    *ret_warm = warm;
    return 0;

fail:
    close_pair(sync_pair);
    close_pair(out_pipe);
    close_pair(err_pipe);
    close_pair(report_pipe);
    warm_child_free(warm);
    return ret;
}

/* True when the child died while it waited (it failed to build its root, or was killed). */
static bool warm_child_dead(const struct warm_child *warm)
{
    struct pollfd pfd = {.fd = warm->pidfd, .events = POLLIN};

    return poll(&pfd, 1, 0) != 0;
}

int sandbox_warm_up(struct sandbox *sandbox)
{
    int kept = 0;

    /* Drop the dead, keep the order of the living, then fill up behind them. */
    for (int i = 0; i < WARM_CHILDREN; i++) {
        struct warm_child *warm = TAKE_PTR(sandbox->warm[i]);

        if (warm && warm_child_dead(warm))
            warm_child_free(TAKE_PTR(warm));
        if (warm)
            sandbox->warm[kept++] = warm;
    }
    for (; kept < WARM_CHILDREN; kept++) {
        int ret = warm_child_new(sandbox, sandbox->warm_tenant,
                                 sandbox->warm_has_policy ? &sandbox->warm_policy : NULL,
                                 &sandbox->warm[kept]);

        if (ret < 0)
            return ret;
    }
    return 0;
}

/* True when the child waits in a cgroup below the step's tenant parent. */
static bool warm_child_fits(const struct warm_child *warm, const struct sandbox_step *step)
{
    char dir[CG_TENANT_DIR_SIZE];

    cg_tenant_dir_name(step->tenant, dir);
    return strcmp(dir, cg_job_tenant_dir(warm->cgroup)) == 0;
}

/* Takes the oldest waiting child for this step's tenant (the likeliest to be in its cgroup
 * by now), cloning one now if none is waiting. Children of another tenant are dropped: the
 * next warm-up clones them for this one. */
static int sandbox_take_warm(struct sandbox *sandbox, const struct sandbox_step *step,
                             struct warm_child **ret_warm)
{
    for (;;) {
        struct warm_child *warm = TAKE_PTR(sandbox->warm[0]);
        int ret;

        memmove(&sandbox->warm[0], &sandbox->warm[1],
                (WARM_CHILDREN - 1) * sizeof(sandbox->warm[0]));
        sandbox->warm[WARM_CHILDREN - 1] = NULL;

        if (warm && !warm_child_dead(warm) && warm_child_fits(warm, step)) {
            *ret_warm = warm;
            return 0;
        }
        warm_child_free(warm);
        if (!warm) {
            ret = warm_child_new(sandbox, step->tenant, step->tenant_cgroup, &warm);
            if (ret < 0)
                return ret;
            *ret_warm = warm;
            return 0;
        }
    }
}

/* The next warm-up clones its children for this step's tenant. Returns 0 or -ENOMEM. */
static int sandbox_remember_tenant(struct sandbox *sandbox, const struct sandbox_step *step)
{
    char *tenant = NULL;

    if (step->tenant) {
        tenant = strdup(step->tenant);
        if (!tenant)
            return -ENOMEM;
    }
    free(sandbox->warm_tenant);
    sandbox->warm_tenant = tenant;
    sandbox->warm_has_policy = step->tenant_cgroup != NULL;
    if (step->tenant_cgroup)
        sandbox->warm_policy = *step->tenant_cgroup;
    return 0;
}

/* Where the step's filter is for the child: -1 for the sandbox's own, its position in the
 * set, or -EINVAL when it is neither. */
static int sandbox_filter_index(const struct sandbox *sandbox, const struct filter *filter)
{
    size_t count = filter_set_count(sandbox->filters);

    if (!filter || filter == sandbox->filter)
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (filter_set_get(sandbox->filters, i) == filter)
            return (int)i;
    }
    return -EINVAL;
}

/* Packs the step for the child: its filter's place, the size of /tmp, the limits and argv.
 * Returns 0, -E2BIG when argv does not fit in one message, or -EINVAL for a filter the
 * sandbox was not given. */
static int job_message_fill(const struct sandbox *sandbox, struct job_message *message,
                            const struct sandbox_step *step)
{
    int filter_index = sandbox_filter_index(sandbox, step->filter);
    size_t offset = 0;
    uint32_t argc = 0;

    if (filter_index < -1)
        return filter_index;
    message->filter_index = filter_index;
    message->tmp_remount[0] = '\0';
    if (step->tmp_mb > 0 && step->tmp_mb != sandbox->config->sandbox.tmp_mb)
        snprintf(message->tmp_remount, sizeof(message->tmp_remount), "size=%" PRIu64 "m",
                 step->tmp_mb);

    message->limits = *step->limits;
    for (; step->argv[argc]; argc++) {
        size_t len = strlen(step->argv[argc]) + 1;

        if (argc >= ARGV_COUNT_MAX || offset + len > ARGV_BYTES_MAX)
            return -E2BIG;
        memcpy(message->argv + offset, step->argv[argc], len);
        offset += len;
    }
    if (argc == 0)
        return -EINVAL;
    message->argc = argc;
    message->argv_bytes = (uint32_t)offset;
    return 0;
}

/* Hands the job to the waiting child: limits on its cgroup, stdin in its memfd, then the
 * message. */
static int sandbox_start_job(struct sandbox *sandbox, struct warm_child *warm,
                             const struct sandbox_step *step, const struct job_message *message)
{
    size_t size = offsetof(struct job_message, argv) + message->argv_bytes;
    const struct policy_cgroup *tenant = step->tenant_cgroup;
    struct limits cgroup_limits = *step->limits;
    size_t done = 0;
    int ret;

    /* The policy may have changed since the child was cloned (a reload). */
    ret = cg_job_tenant_apply(warm->cgroup, tenant, &sandbox->last_tenant_values);
    if (ret < 0)
        return ret;
    snprintf(sandbox->last_tenant_dir, sizeof(sandbox->last_tenant_dir), "%s",
             cg_job_tenant_dir(warm->cgroup));
    sandbox->last_tenant_known = true;

    /* Within the tenant's: the kernel would stop the job at the tenant's limit anyway, but
     * then as one of the tenant's jobs, not at a limit of its own. */
    if (tenant && tenant->memory_mb && tenant->memory_mb < cgroup_limits.memory_mb)
        cgroup_limits.memory_mb = tenant->memory_mb;
    if (tenant && tenant->pids && tenant->pids < cgroup_limits.pids)
        cgroup_limits.pids = tenant->pids;
    ret = cg_job_set_limits(warm->cgroup, &cgroup_limits, sandbox->config->sandbox.cpu_quota_pct);
    if (ret < 0)
        return ret;

    while (done < step->stdin_size) {
        ssize_t n = write(warm->stdin_fd, step->stdin_data + done, step->stdin_size - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        done += (size_t)n;
    }
    /* The child holds the same open file, offset included. */
    if (lseek(warm->stdin_fd, 0, SEEK_SET) < 0)
        return -errno;

    if (send(warm->sync_fd, message, size, MSG_NOSIGNAL) != (ssize_t)size)
        return -errno;
    return 0;
}

/* Replaces init's own exit status in *info by the program's, as init reported it. When
 * init was killed (timeout, output limit, OOM) it reported nothing, and its status stands.
 * Returns 0, or -errno when the program could not be executed at all (our configuration's
 * fault, not the job's). */
static int init_read_report(struct warm_child *warm, siginfo_t *info)
{
    struct init_report report;
    int flags = fcntl(warm->report_fd, F_GETFL);

    if (flags < 0 || fcntl(warm->report_fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return 0;
    if (read(warm->report_fd, &report, sizeof(report)) != sizeof(report))
        return 0;

    if (report.kind == INIT_EXEC_FAILED)
        return report.value > 0 ? -report.value : -EIO;
    if (report.kind == INIT_EXITED) {
        info->si_code = CLD_EXITED;
        info->si_status = report.value;
    } else if (report.kind == INIT_SIGNALED) {
        info->si_code = CLD_KILLED;
        info->si_status = report.value;
    }
    return 0;
}

int sandbox_run(struct sandbox *sandbox, const struct sandbox_step *step,
                struct step_outcome *ret_outcome, struct event_list *events)
{
    const struct limits *limits = step->limits;
    _cleanup_free_ struct job_message *message = malloc(sizeof(*message));
    struct run_state state = {.pidfd = -1, .out = {{.fd = -1}, {.fd = -1}}, .listener_fd = -1};
    struct warm_child *warm = NULL;
    enum setup_stage stage = STAGE_WAIT_JOB;
    struct cg_stats stats = {0};
    siginfo_t info = {0};
    bool fork_refused = false;
    int ret;

    memset(ret_outcome, 0, sizeof(*ret_outcome));
    ret_outcome->exit_code = -1; /* until the program has exited */
    if (!message)
        return -ENOMEM;
    if (sandbox_aborted(sandbox))
        return -ECANCELED;
    ret = job_message_fill(sandbox, message, step);
    if (ret == 0)
        ret = sandbox_remember_tenant(sandbox, step);
    if (ret < 0)
        return ret;

    /* A waiting child that died or hung before it took the job (killed from the host, say)
     * costs the job nothing: a fresh child gets it. */
    for (int attempt = 0; attempt < 2; attempt++) {
        ret = sandbox_take_warm(sandbox, step, &warm);
        if (ret < 0)
            return ret;

        /* What the child used while it waited is not the job's. */
        cg_job_cpu_usage_ns(warm->cgroup, &state.cpu_before_ns);
        stage = STAGE_WAIT_JOB;
        ret = sandbox_start_job(sandbox, warm, step, message);
        if (ret == 0)
            ret = sandbox_guide_child(sandbox, warm->pid, warm->sync_fd,
                                      now_ms() + SETUP_TIMEOUT_MS, &stage, &state.listener_fd);
        if (ret == 0)
            break;

        log_write(LOG_LEVEL_ERR, step->job_id, step->tenant, "sandbox_setup_failed",
                  "stage=%s errno=%d attempt=%d", setup_stage_names[stage], -ret, attempt + 1);
        warm_child_free(TAKE_PTR(warm));
        if (stage != STAGE_WAIT_JOB)
            return ret;
    }
    if (ret < 0)
        return ret;

    /* The job's clock starts now: set-up time is ours, not the job's. */
    state.started_ms = now_ms();
    state.pid = warm->pid;
    state.pidfd = warm->pidfd;
    state.out[0].fd = warm->stdout_fd;
    state.out[1].fd = warm->stderr_fd;
    state.filter = step->filter ? step->filter : sandbox->filter;
    state.spawner = state.filter->children ? 0 : warm->pid;
    ret = sandbox_supervise(sandbox, warm->cgroup, limits, &state, events);
    if (ret < 0) {
        log_write(LOG_LEVEL_ERR, step->job_id, step->tenant, "sandbox_supervise_failed",
                  "errno=%d", -ret);
        run_kill(&state, KILL_NONE);
    }

    while (waitid(P_PID, state.pid, &info, WEXITED) < 0 && errno == EINTR)
        ;
    warm->pid = 0;
    if (ret == 0) {
        ret = init_read_report(warm, &info);
        /* init could not fork the program: no pid was left in the job's cgroup or, more
         * likely, in its tenant's, which the tenant's other jobs fill. The job's outcome,
         * not our failure (on v2 the refusal is counted in the tenant's cgroup only). */
        fork_refused = ret == -EAGAIN;
        if (fork_refused)
            ret = 0;
        if (ret < 0)
            log_write(LOG_LEVEL_ERR, step->job_id, step->tenant, "sandbox_setup_failed",
                      "stage=%s errno=%d", setup_stage_names[STAGE_EXEC], -ret);
    }
    ret_outcome->wall_ms = (state.exited ? state.exited_ms : now_ms()) - state.started_ms;
    if (ret == 0 && state.kill_reason == KILL_ABORTED) {
        /* The time used so far still counts: a job cancelled while it ran reports it. */
        if (cg_job_stats(warm->cgroup, &stats) == 0) {
            stats.cpu_usage_ns -= stats.cpu_usage_ns > state.cpu_before_ns ? state.cpu_before_ns
                                                                           : 0;
            ret_outcome->cpu_ms = stats.cpu_usage_ns / 1000000;
            ret_outcome->memory_peak_kb = stats.memory_peak_bytes / 1024;
        }
        ret = -ECANCELED;
    }

    if (ret == 0) {
        ret = cg_job_stats(warm->cgroup, &stats);
        if (ret < 0)
            log_write(LOG_LEVEL_ERR, step->job_id, step->tenant, "cgroup_stats_failed",
                      "errno=%d", -ret);
    }
    if (ret == 0) {
        if (fork_refused && stats.pids_refused == 0)
            stats.pids_refused = 1;
        stats.cpu_usage_ns -= stats.cpu_usage_ns > state.cpu_before_ns ? state.cpu_before_ns : 0;
        ret_outcome->cpu_ms = stats.cpu_usage_ns / 1000000;
        ret_outcome->memory_peak_kb = stats.memory_peak_bytes / 1024;
        classify(&state, &info, &stats, limits, ret_outcome, events);
        ret_outcome->stdout_data = TAKE_PTR(state.out[0].data);
        ret_outcome->stdout_size = state.out[0].size;
        ret_outcome->stdout_dropped = state.out[0].dropped;
        ret_outcome->stderr_data = TAKE_PTR(state.out[1].data);
        ret_outcome->stderr_size = state.out[1].size;
        ret_outcome->stderr_dropped = state.out[1].dropped;
    }

    free(state.out[0].data);
    free(state.out[1].data);
    if (state.listener_fd >= 0)
        close(state.listener_fd);
    warm_child_free(warm);
    return ret;
}
