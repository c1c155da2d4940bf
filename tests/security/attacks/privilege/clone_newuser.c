// ccx-attack: clone(2) children into new user (and other) namespaces, through raw clone
// ccx-category: privilege
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=clone flags=CLONE_NEWUSER raw_flags=0x10000011
// ccx-event: syscall_refused ^syscall=clone flags=CLONE_NEWUSER\|CLONE_NEWPID\|CLONE_NEWNET
// ccx-event: syscall_refused ^syscall=clone flags=CLONE_NEWNS raw_flags=0x20011
// ccx-event: syscall_refused ^syscall=clone flags=CLONE_NEWUSER raw_flags=0xdeadbeef10000011
// ccx-steps: 4
// ccx-limits: wall_ms=30000
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
    unsigned long flags;
    const char *name;
} attempts[] = {
    {CLONE_NEWUSER, "CLONE_NEWUSER"},
    {CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET, "CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET"},
    {CLONE_NEWNS, "CLONE_NEWNS"},
    // The kernel drops the upper 32 bits of clone's flags; the filter must not be fooled.
    {0xdeadbeef00000000UL | CLONE_NEWUSER, "0xdeadbeef00000000|CLONE_NEWUSER"},
};

int main(void)
{
    for (size_t i = 0; i < sizeof(attempts) / sizeof(*attempts); i++) {
        // No stack: the child runs on a copy of ours, like fork.
        long pid = syscall(SYS_clone, attempts[i].flags | SIGCHLD, 0, 0, 0, 0);

        if (pid == 0)
            _exit(0);
        if (pid < 0) {
            printf("BLOCKED: clone(%s): %s\n", attempts[i].name, strerror(errno));
            continue;
        }
        waitpid(pid, NULL, 0);
        printf("ESCAPED: clone(%s) made child %ld\n", attempts[i].name, pid);
    }
    return 0;
}
