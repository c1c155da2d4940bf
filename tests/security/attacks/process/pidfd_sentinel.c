// ccx-attack: pidfd_open the host sentinel and the job's init, signal them, steal init's fds
// ccx-category: process
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-event: syscall_refused ^syscall=pidfd_getfd pidfd=[0-9]+ fd=[0-2] errno=EPERM$
// ccx-steps: 4
// ccx-args: {sentinel_pid}
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    pid_t sentinel = argc > 1 ? atoi(argv[1]) : 0;
    char path[64];
    int fd, init_fd, stolen;

    snprintf(path, sizeof(path), "/proc/%d", sentinel);
    fd = syscall(SYS_pidfd_open, sentinel, 0);
    if (fd < 0)
        printf("BLOCKED: pidfd_open(host pid %d): %s\n", sentinel, strerror(errno));
    else if (access(path, F_OK) == 0)
        printf("BLOCKED: pidfd_open(%d): a pid of the job's own namespace\n", sentinel);
    else if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == 0)
        printf("ESCAPED: pidfd_send_signal(SIGKILL) to host pid %d\n", sentinel);
    else
        printf("BLOCKED: pidfd_send_signal(host pid %d): %s\n", sentinel, strerror(errno));

    init_fd = syscall(SYS_pidfd_open, 1, 0);
    if (init_fd < 0) {
        printf("BLOCKED: pidfd_open(1): %s\n", strerror(errno));
        printf("BLOCKED: pidfd_send_signal(init): no pidfd\n");
        printf("BLOCKED: pidfd_getfd(init): no pidfd\n");
        return 0;
    }
    printf("BLOCKED: pidfd_open(1): a pidfd for the job's own init (fd %d), nothing more\n",
           init_fd);
    // The kernel drops SIGKILL sent to a pid namespace's init from inside it.
    syscall(SYS_pidfd_send_signal, init_fd, SIGKILL, NULL, 0);
    usleep(100000);
    if (kill(1, 0) == 0)
        printf("BLOCKED: pidfd_send_signal(init, SIGKILL): init still runs\n");
    else
        printf("ESCAPED: pidfd_send_signal killed init: %s\n", strerror(errno));
    // init's descriptors would be the worker's pipes: it must not hand them over.
    for (int target = 0; target < 3; target++) {
        stolen = syscall(SYS_pidfd_getfd, init_fd, target, 0);
        if (stolen >= 0) {
            printf("ESCAPED: pidfd_getfd took fd %d of init\n", target);
            return 0;
        }
    }
    printf("BLOCKED: pidfd_getfd(init, 0..2): %s\n", strerror(errno));
    return 0;
}
