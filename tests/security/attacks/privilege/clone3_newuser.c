// ccx-attack: clone3 with CLONE_NEWUSER in clone_args, where seccomp cannot read the flags
// ccx-category: privilege
// ccx-status: ok
// ccx-no-event: syscall_refused
// ccx-no-event: policy_violation
// ccx-steps: 3
// ccx-limits: wall_ms=30000
// The filter answers every clone3 ENOSYS at once (libc then falls back to clone, whose
// flags it can see): no event, and no child may appear in a new namespace.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static ino_t namespace_inode(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static void try_clone3(const char *name, uint64_t flags)
{
    struct clone_args args = {.flags = flags, .exit_signal = SIGCHLD};
    ino_t before = namespace_inode("/proc/self/ns/user");
    long pid = syscall(SYS_clone3, &args, sizeof(args));

    if (pid == 0) {
        // The child says whether its user namespace is new; the parent reads the answer.
        _exit(namespace_inode("/proc/self/ns/user") != before ? 42 : 0);
    }
    if (pid < 0 && errno == ENOSYS) {
        printf("BLOCKED: clone3(%s): %s (the filter's answer)\n", name, strerror(errno));
        return;
    }
    if (pid < 0) {
        // The kernel itself answered: the call got past the filter.
        printf("ESCAPED: clone3(%s) reached the kernel: %s\n", name, strerror(errno));
        return;
    }
    int status = 0;

    waitpid(pid, &status, 0);
    printf("ESCAPED: clone3(%s) made child %ld (%s)\n", name, pid,
           WIFEXITED(status) && WEXITSTATUS(status) == 42 ? "in a new user namespace"
                                                          : "same namespace");
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int main(void)
{
    try_clone3("CLONE_NEWUSER", CLONE_NEWUSER);
    try_clone3("CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET",
               CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET);
    // A time namespace can be asked for only through clone3 or unshare, never clone.
    try_clone3("CLONE_NEWUSER|CLONE_NEWTIME", CLONE_NEWUSER | CLONE_NEWTIME);
    return 0;
}
