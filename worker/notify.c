#include "worker/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <linux/audit.h>
#include <seccomp.h>

/* x32 calls come in as the native architecture with this bit set in the number. */
#define NOTIFY_X32_SYSCALL_BIT 0x40000000

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct notifier {
    struct seccomp_notif *request;
    struct seccomp_notif_resp *response;
};

struct flag_name {
    uint64_t flag;
    const char *name;
};

static const struct flag_name notify_namespace_flags[] = {
    {CLONE_NEWNS, "CLONE_NEWNS"},         {CLONE_NEWUTS, "CLONE_NEWUTS"},
    {CLONE_NEWIPC, "CLONE_NEWIPC"},       {CLONE_NEWUSER, "CLONE_NEWUSER"},
    {CLONE_NEWPID, "CLONE_NEWPID"},       {CLONE_NEWNET, "CLONE_NEWNET"},
    {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"}, {CLONE_NEWTIME, "CLONE_NEWTIME"},
};

static const char *const notify_families[] = {
    [AF_UNIX] = "AF_UNIX",       [AF_INET] = "AF_INET",       [AF_AX25] = "AF_AX25",
    [AF_IPX] = "AF_IPX",         [AF_APPLETALK] = "AF_APPLETALK", [AF_X25] = "AF_X25",
    [AF_INET6] = "AF_INET6",     [AF_KEY] = "AF_KEY",         [AF_NETLINK] = "AF_NETLINK",
    [AF_PACKET] = "AF_PACKET",   [AF_RDS] = "AF_RDS",         [AF_CAN] = "AF_CAN",
    [AF_TIPC] = "AF_TIPC",       [AF_BLUETOOTH] = "AF_BLUETOOTH", [AF_ALG] = "AF_ALG",
    [AF_VSOCK] = "AF_VSOCK",     [AF_XDP] = "AF_XDP",
};

static const char *const notify_socket_types[] = {
    [SOCK_STREAM] = "SOCK_STREAM", [SOCK_DGRAM] = "SOCK_DGRAM",
    [SOCK_RAW] = "SOCK_RAW",       [SOCK_RDM] = "SOCK_RDM",
    [SOCK_SEQPACKET] = "SOCK_SEQPACKET", [SOCK_PACKET] = "SOCK_PACKET",
};

int notify_new(struct notifier **ret_notifier)
{
    struct notifier *notifier = calloc(1, sizeof(*notifier));
    int ret;

    if (!notifier)
        return -ENOMEM;
    ret = seccomp_notify_alloc(&notifier->request, &notifier->response);
    if (ret < 0) {
        free(notifier);
        return ret;
    }
    *ret_notifier = notifier;
    return 0;
}

void notify_free(struct notifier *notifier)
{
    if (!notifier)
        return;
    seccomp_notify_free(notifier->request, notifier->response);
    free(notifier);
}

/* Appends to buf at *used, never past size. */
static void notify_append(char *buf, size_t size, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void notify_append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*used >= size)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = *used + (size_t)n < size ? *used + (size_t)n : size;
}

static void notify_append_table(char *buf, size_t size, size_t *used, const char *key,
                                const char *const *table, size_t table_size, uint64_t value)
{
    if (value < table_size && table[value])
        notify_append(buf, size, used, " %s=%s", key, table[value]);
    else
        notify_append(buf, size, used, " %s=%" PRIu64, key, value);
}

/* The namespace flags among flags by name, then the whole value. */
static void notify_append_flags(char *buf, size_t size, size_t *used, uint64_t flags)
{
    const char *separator = " flags=";
    size_t count = sizeof(notify_namespace_flags) / sizeof(*notify_namespace_flags);

    for (size_t i = 0; i < count; i++) {
        if (flags & notify_namespace_flags[i].flag) {
            notify_append(buf, size, used, "%s%s", separator, notify_namespace_flags[i].name);
            separator = "|";
        }
    }
    notify_append(buf, size, used, " raw_flags=0x%" PRIx64, flags);
}

static void notify_append_arguments(char *buf, size_t size, size_t *used, const char *name,
                                    const uint64_t *args)
{
    if (strcmp(name, "socket") == 0 || strcmp(name, "socketpair") == 0) {
        notify_append_table(buf, size, used, "family", notify_families,
                            sizeof(notify_families) / sizeof(*notify_families), args[0]);
        notify_append_table(buf, size, used, "type", notify_socket_types,
                            sizeof(notify_socket_types) / sizeof(*notify_socket_types),
                            args[1] & 0xf);
        notify_append(buf, size, used, " protocol=%" PRIu64, args[2]);
    } else if (strcmp(name, "clone") == 0 || strcmp(name, "unshare") == 0) {
        notify_append_flags(buf, size, used, args[0]);
    } else if (strcmp(name, "setns") == 0) {
        notify_append_flags(buf, size, used, args[1]);
    } else if (strcmp(name, "fork") == 0 || strcmp(name, "vfork") == 0) {
        /* No arguments: what is left in the registers says nothing. */
    } else if (strcmp(name, "ioctl") == 0) {
        /* The kernel reads the request as 32 bits: name what it would have done. */
        uint32_t request = (uint32_t)args[1];

        notify_append(buf, size, used, " fd=%" PRId32 " request=%s raw_request=0x%" PRIx64,
                      (int32_t)args[0], request == TIOCSTI     ? "TIOCSTI"
                                        : request == TIOCLINUX ? "TIOCLINUX"
                                                               : "other",
                      args[1]);
    } else if (strcmp(name, "prctl") == 0) {
        notify_append(buf, size, used, " option=%s raw_option=0x%" PRIx64,
                      (uint32_t)args[0] == PR_SET_SECCOMP ? "PR_SET_SECCOMP" : "other", args[0]);
    } else if (strcmp(name, "fadvise64") == 0) {
        notify_append(buf, size, used, " fd=%" PRId32 " advice=%s raw_advice=0x%" PRIx64,
                      (int32_t)args[0],
                      (uint32_t)args[3] == POSIX_FADV_DONTNEED ? "DONTNEED" : "other", args[3]);
    } else if (strcmp(name, "personality") == 0) {
        notify_append(buf, size, used, " persona=0x%" PRIx64, args[0]);
    } else if (strcmp(name, "prlimit64") == 0) {
        notify_append(buf, size, used, " pid=%" PRId32 " resource=%" PRIu64, (int32_t)args[0],
                      args[1]);
    } else if (strcmp(name, "ptrace") == 0) {
        notify_append(buf, size, used, " request=%" PRIu64 " pid=%" PRId32, args[0],
                      (int32_t)args[1]);
    } else if (strcmp(name, "process_vm_readv") == 0 ||
               strcmp(name, "process_vm_writev") == 0 || strcmp(name, "kcmp") == 0) {
        notify_append(buf, size, used, " pid=%" PRId32, (int32_t)args[0]);
    } else if (strcmp(name, "pidfd_getfd") == 0) {
        notify_append(buf, size, used, " pidfd=%" PRId32 " fd=%" PRId32, (int32_t)args[0],
                      (int32_t)args[1]);
    } else if (strcmp(name, "bpf") == 0 || strcmp(name, "keyctl") == 0) {
        notify_append(buf, size, used, " cmd=%" PRIu64, args[0]);
    } else {
        notify_append(buf, size, used, " args=0x%" PRIx64 ",0x%" PRIx64 ",0x%" PRIx64, args[0],
                      args[1], args[2]);
    }
}

void notify_describe(const struct seccomp_data *data, char *buf, size_t size,
                     bool *ret_foreign_abi)
{
    const char *abi = NULL;
    uint32_t arch = SCMP_ARCH_X86_64;
    int nr = data->nr;
    char *name;
    size_t used = 0;

    if (size == 0)
        return;
    buf[0] = '\0';

    /* Which table the number belongs to decides its name. */
    if (data->arch == AUDIT_ARCH_X86_64 && (nr & NOTIFY_X32_SYSCALL_BIT)) {
        abi = "x32";
        arch = SCMP_ARCH_X32;
    } else if (data->arch == AUDIT_ARCH_I386) {
        abi = "i386";
        arch = SCMP_ARCH_X86;
    } else if (data->arch != AUDIT_ARCH_X86_64) {
        abi = "unknown";
    }
    *ret_foreign_abi = abi != NULL;

    name = abi && strcmp(abi, "unknown") == 0 ? NULL : seccomp_syscall_resolve_num_arch(arch, nr);
    notify_append(buf, size, &used, "syscall=%s", name ? name : "unknown");
    if (abi) {
        notify_append(buf, size, &used, " abi=%s arch=0x%" PRIx32 " nr=%d", abi, data->arch,
                      nr);
    } else {
        const uint64_t *args = (const uint64_t *)data->args;

        notify_append_arguments(buf, size, &used, name ? name : "", args);
    }
    free(name);
}

/* Lets the call run as if the filter allowed it. Safe for this one use only: the call is a
 * process start by ccx-init, whose arguments are in registers (nothing in memory another
 * thread could change after the check), and init has no other thread. */
static int notify_continue(int listener_fd, struct seccomp_notif_resp *response, uint64_t id)
{
    memset(response, 0, sizeof(*response));
    response->id = id;
    response->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_SEND, response) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int notify_answer(struct notifier *notifier, int listener_fd, const struct filter *filter,
                  pid_t *spawner, struct notify_call *ret_call)
{
    struct seccomp_notif *request = notifier->request;
    struct seccomp_notif_resp *response = notifier->response;
    bool foreign_abi = false;
    bool starts_process;

    /* Straight ioctls rather than libseccomp's wrappers, which fold every errno into
     * -ECANCELED: ENOENT (the caller is gone) must be told from a real failure. */
    memset(request, 0, sizeof(*request));
    if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_RECV, request) < 0)
        return -errno;

    notify_describe(&request->data, ret_call->detail, sizeof(ret_call->detail), &foreign_abi);
    if (foreign_abi || filter_kills(filter, request->data.nr)) {
        /* Left unanswered: the call never runs, and the job dies before it could. */
        ret_call->action = NOTIFY_KILL;
        return 0;
    }

    /* Only a filter without children sends these here: it refuses them to the program. */
    starts_process = !filter->children &&
                     filter_starts_process(request->data.nr, request->data.args[0]);
    if (starts_process && *spawner > 0 && request->pid == (uint32_t)*spawner) {
        *spawner = 0;
        ret_call->action = NOTIFY_ALLOWED;
        return notify_continue(listener_fd, response, request->id);
    }
    if (starts_process) {
        size_t used = strlen(ret_call->detail);

        snprintf(ret_call->detail + used, sizeof(ret_call->detail) - used, " children=refused");
    }

    ret_call->action = NOTIFY_REFUSED;
    memset(response, 0, sizeof(*response));
    response->id = request->id;
    response->error = -EPERM;
    /* ENOENT: the thread was killed meanwhile (the job ended); the call did not run. */
    if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_SEND, response) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}
