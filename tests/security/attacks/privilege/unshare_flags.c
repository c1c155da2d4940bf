// ccx-attack: unshare(2) and setns(2) into fresh or host namespaces, one flag at a time
// ccx-category: privilege
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWUSER raw_flags=0x10000000
// ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWNS raw_flags=0x20000
// ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWNET raw_flags=0x40000000
// ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWPID raw_flags=0x20000000
// ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWCGROUP
// ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWTIME
// ccx-event: syscall_refused ^syscall=unshare flags=CLONE_NEWNS\|CLONE_NEWUSER
// ccx-event: syscall_refused ^syscall=setns flags=CLONE_NEWUSER raw_flags=0x10000000
// ccx-event: syscall_refused ^syscall=setns flags=CLONE_NEWNET raw_flags=0x40000000
// ccx-steps: 12
// ccx-limits: wall_ms=30000
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
    int flags;
    const char *name;
} attempts[] = {
    {CLONE_NEWUSER, "CLONE_NEWUSER"},
    {CLONE_NEWNS, "CLONE_NEWNS"},
    {CLONE_NEWNET, "CLONE_NEWNET"},
    {CLONE_NEWPID, "CLONE_NEWPID"},
    {CLONE_NEWIPC, "CLONE_NEWIPC"},
    {CLONE_NEWUTS, "CLONE_NEWUTS"},
    {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
    {CLONE_NEWTIME, "CLONE_NEWTIME"},
    // A new user namespace first would make every other flag legal, if it were allowed.
    {CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET, "CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET"},
};

int main(void)
{
    for (size_t i = 0; i < sizeof(attempts) / sizeof(*attempts); i++) {
        if (unshare(attempts[i].flags) == 0)
            printf("ESCAPED: unshare(%s)\n", attempts[i].name);
        else
            printf("BLOCKED: unshare(%s): %s\n", attempts[i].name, strerror(errno));
    }

    // Joining a namespace: the init's (not even readable to the job) or the job's own,
    // which must fail in the filter before the kernel looks at it.
    static const struct {
        const char *path;
        int type;
    } targets[] = {
        {"/proc/1/ns/mnt", CLONE_NEWNS},
        {"/proc/self/ns/user", CLONE_NEWUSER},
        {"/proc/self/ns/net", CLONE_NEWNET},
    };

    for (size_t i = 0; i < sizeof(targets) / sizeof(*targets); i++) {
        int fd = open(targets[i].path, O_RDONLY);

        if (fd < 0) {
            printf("BLOCKED: setns(%s): open: %s\n", targets[i].path, strerror(errno));
        } else if (setns(fd, targets[i].type) == 0) {
            printf("ESCAPED: setns(%s)\n", targets[i].path);
        } else {
            printf("BLOCKED: setns(%s): %s\n", targets[i].path, strerror(errno));
        }
        if (fd >= 0)
            close(fd);
    }
    return 0;
}
