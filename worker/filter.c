#include "worker/filter.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/seccomp.h>
#include <seccomp.h>

#include "common/cleanup.h"
#include "common/log.h"

/* Syscalls a job has no business making: they fail with EPERM, so that a program probing
 * them gets an ordinary error instead of dying. Namespace, mount and tracing calls would
 * each undo a layer of the sandbox; the rest reach kernel surfaces (keyrings, BPF, perf,
 * io_uring, userfaultfd) with a long record of privilege escalations. */
static const char *const filter_refused[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr",
    "unshare", "setns",
    "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "open_by_handle_at", "name_to_handle_at",
    "swapon", "swapoff", "acct", "quotactl", "syslog", "vhangup",
    "fanotify_init", "lookup_dcookie", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "sethostname", "setdomainname", "iopl", "ioperm", "memfd_secret",
    NULL,
};

/* Syscalls with no legitimate use in a job at all: the job is killed, and the result says
 * policy_violation. */
static const char *const filter_killing[] = {
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    NULL,
};

/* clone flags that create namespaces: refused, whatever else the call asks for. */
static const unsigned long filter_namespace_flags[] = {
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
    CLONE_NEWCGROUP,
};

/* Terminal ioctls that push input into, or read from, a terminal the job does not own. */
static const unsigned long filter_refused_ioctls[] = {TIOCSTI, TIOCLINUX};

static int filter_add(scmp_filter_ctx ctx, uint32_t action, const char *name,
                      unsigned int arg_count, const struct scmp_arg_cmp *args)
{
    int nr = seccomp_syscall_resolve_name(name);
    int ret;

    /* An unknown name is a typo or a kernel too old to have the call: say which. */
    if (nr == __NR_SCMP_ERROR) {
        log_err("seccomp_unknown_syscall", "syscall=%s", name);
        return -EINVAL;
    }
    ret = seccomp_rule_add_array(ctx, action, nr, arg_count, args);
    if (ret < 0)
        log_err("seccomp_rule_failed", "syscall=%s errno=%d", name, -ret);
    return ret;
}

static int filter_add_rules(scmp_filter_ctx ctx, struct filter *filter)
{
    int ret;

    for (const char *const *name = filter_refused; *name; name++) {
        ret = filter_add(ctx, SCMP_ACT_ERRNO(EPERM), *name, 0, NULL);
        if (ret < 0)
            return ret;
        filter->refused_count++;
    }
    for (const char *const *name = filter_killing; *name; name++) {
        ret = filter_add(ctx, SCMP_ACT_KILL_PROCESS, *name, 0, NULL);
        if (ret < 0)
            return ret;
        filter->killing_count++;
    }

    for (size_t i = 0; i < sizeof(filter_namespace_flags) / sizeof(*filter_namespace_flags); i++) {
        unsigned long flag = filter_namespace_flags[i];
        struct scmp_arg_cmp arg = SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag);

        ret = filter_add(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &arg);
        if (ret < 0)
            return ret;
    }

    /* clone3 passes its flags in memory, where seccomp cannot look: answering ENOSYS makes
     * libc fall back to clone, whose flags the rules above do see. */
    ret = filter_add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
    if (ret < 0)
        return ret;

    for (size_t i = 0; i < sizeof(filter_refused_ioctls) / sizeof(*filter_refused_ioctls); i++) {
        struct scmp_arg_cmp arg = SCMP_A1(SCMP_CMP_EQ, filter_refused_ioctls[i]);

        ret = filter_add(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &arg);
        if (ret < 0)
            return ret;
    }

    /* Resource limits of other processes: the job's init is one, and it is ours. */
    {
        struct scmp_arg_cmp arg = SCMP_A0(SCMP_CMP_NE, 0);

        ret = filter_add(ctx, SCMP_ACT_ERRNO(EPERM), "prlimit64", 1, &arg);
        if (ret < 0)
            return ret;
    }

    /* A job has no network: only local (AF_UNIX) sockets may be made at all. */
    {
        struct scmp_arg_cmp arg = SCMP_A0(SCMP_CMP_NE, AF_UNIX);

        ret = filter_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, &arg);
        if (ret < 0)
            return ret;
        ret = filter_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socketpair", 1, &arg);
    }
    return ret;
}

/* libseccomp 2.5 exports BPF only to a file descriptor: go through a memfd. */
static int filter_export(scmp_filter_ctx ctx, struct filter *filter)
{
    _cleanup_close_ int fd = memfd_create("ccx-seccomp", MFD_CLOEXEC);
    struct stat st;
    void *code;
    int ret;

    if (fd < 0)
        return -errno;
    ret = seccomp_export_bpf(ctx, fd);
    if (ret < 0)
        return ret;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_size == 0 || st.st_size % sizeof(struct sock_filter) != 0)
        return -EINVAL;

    code = malloc(st.st_size);
    if (!code)
        return -ENOMEM;
    if (pread(fd, code, st.st_size, 0) != st.st_size) {
        free(code);
        return -EIO;
    }
    filter->program.filter = code;
    filter->program.len = st.st_size / sizeof(struct sock_filter);
    return 0;
}

int filter_new(struct filter **ret_filter)
{
    struct filter *filter = calloc(1, sizeof(*filter));
    scmp_filter_ctx ctx;
    int ret;

    if (!filter)
        return -ENOMEM;

    /* Allowed by default for now; every foreign ABI (i386, x32) kills the process, since
     * its syscall numbers would slip past rules written for the native table. */
    ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        free(filter);
        return -ENOMEM;
    }
    ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (ret == 0)
        ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (ret == 0)
        ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (ret == 0)
        ret = filter_add_rules(ctx, filter);
    if (ret == 0)
        ret = filter_export(ctx, filter);
    seccomp_release(ctx);

    if (ret < 0) {
        log_err("seccomp_build_failed", "errno=%d", -ret);
        filter_free(filter);
        return ret;
    }
    log_debug("seccomp_built", "instructions=%u refused=%zu killing=%zu",
              (unsigned)filter->program.len, filter->refused_count, filter->killing_count);
    *ret_filter = filter;
    return 0;
}

void filter_free(struct filter *filter)
{
    if (!filter)
        return;
    free(filter->program.filter);
    free(filter);
}

int filter_install(const struct filter *filter)
{
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter->program) < 0)
        return -errno;
    return 0;
}
